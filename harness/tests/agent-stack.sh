# A one-host agent stack for scripts that drive vecs-agent directly (sourced by
# harness/tests/bench/b-agent.sh and harness/tests/sanitize/agent-pools.sh): a simulated
# host h1 (vecs-host), vecs-nfs, the ScaleIO gateway with h1's SDC, vecs-agent-drive (the
# management server's channel end) and one vecs-agent (--kdf fast) registered through it.
# Everything started is recorded ($T/pids) and removed by the EXIT trap.
#
# In:  VECS_BIN (build/bin), AGENT_STACK_NAME (temp dir prefix), VECS_AGENT_WRAP (a
#      command the agent runs under, e.g. valgrind ...), VECS_AGENT_ARGS (more options),
#      VECS_AGENT_PROG (another vecs-agent, e.g. an older build to compare; its
#      getrusage-shim.so must lie beside it).
# Out: BIN, SHIM, T (work dir), D (the run's stack dir), S (0700 secrets: pp is the
#      passphrase), NETNS, URI (h1's libvirt), CTL, AGENT_LOG, AGENT_PID; functions
#      die, start, api, sio_vol NAME, sio_dev ID, stop_agent (SIGTERM, waits, returns its
#      exit status).
set -eu
BIN=${VECS_BIN:-build/bin}
BIN=$(cd "$BIN" && pwd)
SHIM=$BIN/getrusage-shim.so
SYS=0123456789abcdef
T=$(mktemp -d "/tmp/${AGENT_STACK_NAME:-vecs-agent-stack}.XXXXXX")
D=$T/stack
S=$T/secrets
mkdir -m 0700 "$D" "$S" "$T/pids" "$T/logs" "$T/run" "$T/local" "$T/smp" "$T/secondary"

agent_stack_cleanup() {
	local f pid
	for f in "$T"/pids/*; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	"$BIN/vecs-nfs" down --dir "$D" >/dev/null 2>&1 || true
	"$BIN/vecs-scaleio-gw" --reap --data-dir "$T/gw" >/dev/null 2>&1 || true
	"$BIN/vecs-host" down --dir "$D" >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap agent_stack_cleanup EXIT
die() { echo "${AGENT_STACK_NAME:-agent-stack}: $*" >&2; exit 1; }
start() {
	local n=$1
	shift
	"$@" >>"$T/logs/$n.out" 2>>"$T/logs/$n.err" &
	echo $! >"$T/pids/$n"
}

(umask 077
 head -c 48 /dev/urandom | base64 -w0 >"$S/pp"
 printf 'db.cloud.encrypt.secret=b-%s\n' "$RANDOM$RANDOM" >"$S/key.props"
 od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$S/token"
 printf 'h1 %s\n' "$(cat "$S/token")" >"$S/tokens"
 printf 'gw-pw-%s' "$RANDOM" >"$S/gwpw")
"$BIN/vecs-host" up --dir "$D" --name h1 --index 1 >/dev/null
NETNS=$(jq -r .netns "$D/h1/host.json")
URI=$(jq -r .uri "$D/h1/host.json")
"$BIN/vecs-nfs" up --dir "$D" >"$T/logs/nfs.out" 2>&1 || die "vecs-nfs up: $(cat "$T/logs/nfs.out")"
CTL=$T/run/drive.sock
start drive "$BIN/vecs-agent-drive" serve --socket "$T/run/agent.sock" --tokens "$S/tokens" \
	--db "$T/mgmt.db" --key-file "$S/key.props" --ctl "$CTL" --log "$T/logs/drive.log"
for _ in $(seq 100); do [ -S "$CTL" ] && break; sleep 0.05; done
AGENT_LOG=$T/logs/agent.log
# shellcheck disable=SC2086 # the wrapper and extra options are word lists
start agent ${VECS_AGENT_WRAP:-} "${VECS_AGENT_PROG:-$BIN/vecs-agent}" --host-dir "$D/h1" --mgmt-socket "$T/run/agent.sock" \
	--token-file "$S/token" --kdf fast --log "$AGENT_LOG" ${VECS_AGENT_ARGS:-}
AGENT_PID=$(cat "$T/pids/agent")
"$BIN/vecs-agent-drive" wait --ctl "$CTL" --host h1 --timeout 60 ||
	die "agent did not register: $(tail -n 5 "$T/logs/agent.err")"
start gw "$BIN/vecs-scaleio-gw" --data-dir "$T/gw" --system-id $SYS --password-file "$S/gwpw" \
	--sdc "h1=$D/h1/dev/disk/by-id" --granularity-kb 1024 --capacity-gb 10 --url-file "$T/gw.url"
for _ in $(seq 100); do [ -s "$T/gw.url" ] && break; sleep 0.05; done
U=$(cat "$T/gw.url")
TOK=$(curl -sf -u "admin:$(cat "$S/gwpw")" "$U/login" | tr -d '"')
api() { curl -sf -u "admin:$TOK" -H 'Content-Type: application/json' ${2:+-d "$2"} "$U$1"; }
SDC=$(api /types/Sdc/instances | jq -r '.[] | select(.name == "h1") | .id')
SPOOL=$(api /types/StoragePool/instances | jq -r '.[0].id')
# sio_vol NAME [KB]: a ScaleIO volume (64 MiB) mapped to h1; its id
sio_vol() {
	local id
	id=$(api /types/Volume/instances "{\"name\":\"$1\",\"volumeSizeInKb\":\"${2:-65536}\",\"storagePoolId\":\"$SPOOL\",\"volumeType\":\"ThinProvisioned\"}" | jq -r .id)
	api "/instances/Volume::$id/action/addMappedSdc" "{\"sdcId\":\"$SDC\",\"allowMultipleMappings\":\"TRUE\"}" >/dev/null
	for _ in $(seq 50); do [ -e "$D/h1/dev/disk/by-id/emc-vol-$SYS-$id" ] && break; sleep 0.1; done
	echo "$id"
}
sio_dev() { readlink -f "$D/h1/dev/disk/by-id/emc-vol-$SYS-$1"; }
# stop_agent: SIGTERM, wait up to 60 s; the agent's exit status (valgrind's
# --error-exitcode, ASan's exitcode)
stop_agent() {
	local rc=0
	kill -TERM "$AGENT_PID"
	for _ in $(seq 600); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$AGENT_PID" || rc=$?
	rm -f "$T/pids/agent"
	return $rc
}
