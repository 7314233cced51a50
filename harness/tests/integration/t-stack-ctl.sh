#!/usr/bin/env bash
# `vecs stack ctl`: services of a running stack stopped, killed, started and restarted
# (with extra environment) through the keeper's control socket, each proven to work
# afterwards on the same addresses; the ledger follows the new pids, so `down` (also
# after kill -9 of the keeper) leaves nothing behind. One shared stack for most tests;
# the last test brings its own (MariaDB, one host) and kills its keeper.
. "$(dirname "$0")/lib.sh"

STACK=$(mktemp -d "${TMPDIR:-/tmp}/vecs-it-ctl.XXXXXX")
# the directory goes only once down has removed what it records (its ledgers are in it)
trap '"$VECS" stack down --dir "$STACK" >/dev/null 2>&1 && rm -rf "$STACK"' EXIT
if ! "$VECS" stack up --dir "$STACK" 2>"$STACK.log"; then
	echo "  FAIL t-stack-ctl: stack did not come up: $(tail -5 "$STACK.log")"
	echo "fail t-stack-ctl/stack" >>"$VECS_IT_RESULTS"
	rm -f "$STACK.log"
	exit 1
fi
rm -f "$STACK.log"
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1

ctl() { "$VECS" stack ctl --dir "$STACK" "$@"; }

# alive PID: it runs (a zombie does not: daemons whose parent exited are left unreaped
# by this machine's PID 1)
alive() { [ -n "$(ps -o stat= -p "$1" 2>/dev/null | grep -v '^Z')" ]; }

# pid_of SERVICE: its pid in `ctl status` (0 when none runs)
pid_of() { ctl status | awk -v s="$1" '$1 == s { print $2 }'; }
state_of() { ctl status | awk -v s="$1" '$1 == s { print $3 }'; }

api() { # api COMMAND [k=v...]: one signed call with the keys of stack.json
	local d=${API_DIR:-$STACK}
	(umask 077; jq -r '"[cloudstack]\nendpoint = \(.api_url)\nkey = \(.api_key)\nsecret = \(.secret_key)"' \
		"$d/stack.json" >"$T/cs.ini")
	CLOUDSTACK_CONFIG="$T/cs.ini" /usr/bin/python3 -m cs "$@"
	rm -f "$T/cs.ini"
}

# host_state hN: its state in listHosts
host_state() { api listHosts type=Routing name="$1" | jq -r '.host[0].state'; }

# the pid has an open process record in stack.ledger (what `stack status` lists) or,
# for libvirtd and nfs-ganesha, in the hosts' ledger
assert_recorded() {
	local pid=$1
	if "$VECS" stack status --dir "$STACK" | grep -qE "pid $pid +running"; then return 0; fi
	awk -F'\t' -v p="$pid" '$1 == "process" && $2 == p { f = 1 } END { exit !f }' \
		"$STACK/hosts/vecs.ledger" || fail "pid $pid is in no ledger"
}

# restart SERVICE: a new pid, recorded, the old one gone and no longer listed
restart_ok() {
	local svc=$1 old new
	old=$(pid_of "$svc")
	[ "$old" -gt 0 ] || fail "$svc does not run before the restart: $(ctl status)"
	ctl restart "$svc" >out.txt || fail "restart $svc failed"
	grep -qE "^$svc [0-9]+ running$" out.txt || fail "restart $svc said: $(cat out.txt)"
	new=$(pid_of "$svc")
	[ "$new" -gt 0 ] && [ "$new" != "$old" ] || fail "$svc: pid $old -> $new"
	! alive "$old" || fail "old $svc $old runs"
	assert_recorded "$new"
	! "$VECS" stack status --dir "$STACK" | grep -qE "pid $old +" || fail "old $svc pid still listed"
	echo "$new"
}

# in_host hN CMD...: run CMD in host hN's network namespace
in_host() {
	local h=$1
	shift
	ip netns exec "$(jq -r .netns "$STACK/hosts/$h/host.json")" "$@"
}

test_a_status_lists_every_service() {
	ctl status >st.txt
	for s in mgmt agent-h1 agent-h2 libvirtd-h1 libvirtd-h2 nfs scaleio; do
		grep -qE "^$s [1-9][0-9]* running$" st.txt || fail "$s: $(cat st.txt)"
	done
	! grep -q mariadb st.txt || fail "mariadb listed in a sqlite stack"
	jq_true "$STACK/stack.json" ".faults.control == \"$STACK/control.sock\" and .faults.iofault_rules == \"$STACK/faults/iofault.rules\""
	[ "$(stat -c %a "$STACK/control.sock")" = 600 ] || fail "control.sock is not 0600"
	[ "$(stat -c %a "$STACK/faults")" = 700 ] || fail "faults/ is not 0700"
	grep -qF "$STACK/control.sock" "$STACK/stack.ledger" || fail "control.sock not in the ledger"
}

test_b_restart_mgmt_same_port_agents_back() {
	local url before1 before2
	url=$(jq -r .api_url "$STACK/stack.json")
	before1=$(grep -c 'registered with the management server' "$STACK/logs/agent-h1.log")
	before2=$(grep -c 'registered with the management server' "$STACK/logs/agent-h2.log")
	restart_ok mgmt >/dev/null
	[ "$(head -1 "$STACK/mgmt/url")" = "$url" ] || fail "mgmt moved: $(cat "$STACK/mgmt/url") != $url"
	api listZones >z.json
	jq_true z.json '.count == 1'
	# both agents reconnected by themselves, and mgmt shows them Up
	[ "$(grep -c 'registered with the management server' "$STACK/logs/agent-h1.log")" -gt "$before1" ] ||
		fail "agent h1 did not reconnect"
	[ "$(grep -c 'registered with the management server' "$STACK/logs/agent-h2.log")" -gt "$before2" ] ||
		fail "agent h2 did not reconnect"
	[ "$(host_state h1)" = Up ] && [ "$(host_state h2)" = Up ] || fail "hosts not Up: $(api listHosts)"
}

test_c_restart_agent_is_seen_again() {
	restart_ok agent-h1 >/dev/null
	[ "$(host_state h1)" = Up ] || fail "h1 is $(host_state h1)"
	# the hooks: emulator wrapper, shim preload (when built) and rules path
	local p
	p=$(pid_of agent-h1)
	tr '\0' ' ' </proc/"$p"/cmdline | grep -q -- "--emulator $STACK/hosts/h1/qemu-wrapper" ||
		fail "no --emulator: $(tr '\0' ' ' </proc/"$p"/cmdline)"
	tr '\0' '\n' </proc/"$p"/environ | grep -qx "VECS_IOFAULT_RULES=$STACK/faults/iofault.rules" ||
		fail "no VECS_IOFAULT_RULES in the agent's environment"
	if [ -e "$VECS_BIN/../lib/libvecs-iofault.so" ]; then
		tr '\0' '\n' </proc/"$p"/environ | grep -q '^LD_PRELOAD=.*libvecs-iofault.so' ||
			fail "the agent lacks the I/O shim preload"
		# the wrapper preloads it into QEMU even from libvirt's empty environment
		env -i LD_DEBUG=libs "$STACK/hosts/h1/qemu-wrapper" -version 2>&1 |
			grep -q 'calling init: .*libvecs-iofault.so' || fail "the QEMU wrapper does not preload the shim"
	fi
	env -i "$STACK/hosts/h1/qemu-wrapper" -version | grep -q 'QEMU emulator' || fail "wrapper does not run QEMU"
}

test_d_restart_libvirtd_same_namespace() {
	local old_ns new
	old_ns=$(ip netns identify "$(pid_of libvirtd-h2)")
	new=$(restart_ok libvirtd-h2)
	[ "$(ip netns identify "$new")" = "$old_ns" ] || fail "libvirtd left netns $old_ns"
	virsh -c "$(jq -r '.hosts[1].libvirt_uri' "$STACK/stack.json")" list --all >list.txt ||
		fail "virsh list after the restart"
	grep -q 'Id' list.txt || fail "$(cat list.txt)"
	# its TCP listener is back on the host's address (migrations come in there)
	in_host h1 virsh -c qemu+tcp://10.251.1.12/system version >/dev/null || fail "tcp listener of h2 not back"
}

# A domain running on h2 outlives its libvirtd: the restarted daemon re-attaches to it
# (status XML in the host's private /run, QEMU's monitor socket), lists it and stops it.
# An ephemeral secret lives only in the old daemon's memory: after the restart it is
# gone, as with a real libvirtd (what the agent's stop_vm then finds, COMMANDS.md).
test_dd_restart_libvirtd_keeps_running_domain() {
	local u name=ctl-dom-$$ type=qemu qpid old uuid
	u=$(jq -r '.hosts[1].libvirt_uri' "$STACK/stack.json")
	[ -e /dev/kvm ] && type=kvm
	cat >dom.xml <<-XML
		<domain type='$type'>
		  <name>$name</name>
		  <memory unit='MiB'>32</memory>
		  <vcpu>1</vcpu>
		  <os><type arch='x86_64' machine='pc'>hvm</type></os>
		  <devices><emulator>$STACK/hosts/h2/qemu-wrapper</emulator></devices>
		</domain>
	XML
	uuid=$(cat /proc/sys/kernel/random/uuid)
	echo "<secret ephemeral='yes' private='yes'><uuid>$uuid</uuid></secret>" >secret.xml
	# the reaper destroys it should the test stop half-way
	printf 'libvirt_domain\t%s\t%s\t\t.\n' "$u" "$name" >>"$STACK/hosts/vecs.ledger"
	virsh -q -c "$u" create dom.xml >/dev/null
	virsh -q -c "$u" secret-define secret.xml >/dev/null
	qpid=$(cat "$STACK/hosts/h2/run/libvirt/qemu/$name.pid")
	alive "$qpid" || fail "no QEMU for $name"
	old=$(pid_of libvirtd-h2)
	ctl restart libvirtd-h2 >out.txt || fail "restart libvirtd-h2 failed"
	[ "$(pid_of libvirtd-h2)" != "$old" ] || fail "libvirtd-h2 was not restarted"
	# the same QEMU, known to the new daemon, answering through its monitor
	alive "$qpid" || fail "QEMU $qpid died with the old libvirtd"
	[ -f "$STACK/hosts/h2/run/libvirt/qemu/$name.xml" ] || fail "status XML of $name is gone"
	virsh -q -c "$u" list --name >list.txt
	grep -qx "$name" list.txt || fail "the restarted libvirtd does not list $name: $(cat list.txt)"
	[ "$(virsh -c "$u" domstate "$name")" = running ] || fail "$name: $(virsh -c "$u" domstate "$name")"
	[ "$(virsh -c "$u" domid "$name")" -gt 0 ] || fail "no domain id"
	virsh -q -c "$u" suspend "$name" >/dev/null || fail "cannot suspend $name after the restart"
	[ "$(virsh -c "$u" domstate "$name")" = paused ] || fail "$name not paused"
	virsh -q -c "$u" resume "$name" >/dev/null
	# ephemeral secrets do not survive a libvirtd restart (expected)
	! virsh -q -c "$u" secret-list | grep -q "$uuid" || fail "ephemeral secret $uuid survived"
	virsh -q -c "$u" destroy "$name" >/dev/null || fail "virsh destroy $name after the restart"
	for _ in $(seq 50); do alive "$qpid" || break; sleep 0.1; done
	! alive "$qpid" || fail "QEMU $qpid survived virsh destroy"
	! virsh -q -c "$u" list --all --name | grep -qx "$name" || fail "$name still listed"
}

test_e_restart_nfs_keeps_data_and_serves() {
	local exp="$STACK/hosts/nfs/export"
	qemu-img create -q -f qcow2 "$exp/ctl-before.qcow2" 1M
	restart_ok nfs >/dev/null
	in_host h1 nfs-ls nfs://10.251.1.1/export >ls.txt || fail "nfs-ls after the restart"
	grep -q ctl-before.qcow2 ls.txt || fail "the export lost its file: $(cat ls.txt)"
	# a volume created through the server and removed again
	in_host h1 qemu-img create -q -f qcow2 nfs://10.251.1.1/export/ctl-after.qcow2 2M
	[ -f "$exp/ctl-after.qcow2" ] || fail "qemu-img over NFS wrote nothing"
	in_host h2 qemu-img info --output=json nfs://10.251.1.1/export/ctl-after.qcow2 >info.json
	jq_true info.json '."virtual-size" == 2097152'
	rm -f "$exp/ctl-before.qcow2" "$exp/ctl-after.qcow2"
}

# sio METHOD PATH [BODY]: the gateway's REST API as admin (password from stdin: no argv)
sio() {
	local url token
	url=$(jq -r '.pools[] | select(.type == "scaleio") | .probe.gateway_url' "$STACK/stack.json")
	token=$(printf 'user = "admin:%s"\n' "$(cat "$STACK/secrets/scaleio.pass")" |
		curl -sf -K - "$url/login" | jq -r .)
	[ -n "$token" ] || fail "no ScaleIO login"
	printf 'user = "admin:%s"\n' "$token" |
		curl -sf -K - -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} "$url${2#/api}"
}

test_f_restart_scaleio_same_port_volume_create() {
	local url id
	url=$(jq -r '.pools[] | select(.type == "scaleio") | .probe.gateway_url' "$STACK/stack.json")
	restart_ok scaleio >/dev/null
	[ "$(cat "$STACK/scaleio/url")" = "$url" ] || fail "gateway moved to $(cat "$STACK/scaleio/url")"
	pool=$(sio GET /api/types/StoragePool/instances | jq -r '.[0].id')
	id=$(sio POST /api/types/Volume/instances \
		"{\"name\":\"ctl-vol\",\"storagePoolId\":\"$pool\",\"volumeSizeInKb\":\"1024\"}" | jq -r .id)
	[ -n "$id" ] && [ "$id" != null ] || fail "no volume created after the restart"
	sio GET "/api/instances/Volume::$id" | jq -e '.name == "ctl-vol"' >/dev/null || fail "volume $id unknown"
	sio POST "/api/instances/Volume::$id/action/removeVolume" '{"removeMode":"ONLY_ME"}' >/dev/null ||
		fail "cannot remove volume $id"
}

test_g_kill_then_start() {
	local old
	old=$(pid_of agent-h2)
	ctl kill agent-h2 >/dev/null
	[ "$(state_of agent-h2)" = killed ] || fail "$(ctl status)"
	[ "$(pid_of agent-h2)" = 0 ] || fail "agent-h2 still has a pid"
	! alive "$old" || fail "agent-h2 $old survived SIGKILL"
	# the management server sees the agent gone
	for _ in $(seq 50); do [ "$(host_state h2)" != Up ] && break; sleep 0.1; done
	[ "$(host_state h2)" != Up ] || fail "h2 still Up after its agent was killed"
	# the keeper does not bring it back by itself
	sleep 2
	[ "$(state_of agent-h2)" = killed ] || fail "$(ctl status)"
	ctl start agent-h2 >/dev/null
	[ "$(state_of agent-h2)" = running ] && [ "$(host_state h2)" = Up ] || fail "$(ctl status)"
	assert_recorded "$(pid_of agent-h2)"
	# the same with a stop, and libvirtd killed
	ctl stop nfs >/dev/null
	[ "$(state_of nfs)" = stopped ] || fail "$(ctl status)"
	ctl start nfs >/dev/null
	in_host h2 nfs-ls nfs://10.251.1.1/export >/dev/null || fail "nfs-ls after stop/start"
	ctl kill libvirtd-h1 >/dev/null
	[ "$(state_of libvirtd-h1)" = killed ] || fail "$(ctl status)"
	ctl start libvirtd-h1 >/dev/null
	virsh -c "$(jq -r '.hosts[0].libvirt_uri' "$STACK/stack.json")" list >/dev/null || fail "virsh h1"
	# start of a running service is refused, unknown ones are named
	expect_exit 1 "$VECS" stack ctl --dir "$STACK" start mgmt 2>e.txt
	grep -q 'is running' e.txt || fail "$(cat e.txt)"
	expect_exit 1 "$VECS" stack ctl --dir "$STACK" restart nosuch 2>e.txt
	grep -q 'agent-h1' e.txt || fail "$(cat e.txt)"
	expect_exit 1 "$VECS" stack ctl --dir "$STACK" restart mgmt --env '1BAD=x' 2>e.txt
	expect_exit 2 "$VECS" stack ctl --dir "$STACK"
}

# Clock fault: mgmt two hours ahead refuses a signatureVersion 3 request whose expiry is
# ten minutes ahead of the real clock; a plain restart restores it.
test_h_faketime_env_and_clear() {
	[ -e "$FAKETIME_LIB" ] || fail "$FAKETIME_LIB missing: run ci/install-deps (libfaketime)"
	cat >sign3.py <<'EOF'
import base64, hashlib, hmac, json, sys, time, urllib.error, urllib.parse, urllib.request
st = json.load(open(sys.argv[1]))
exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + int(sys.argv[2])))
p = {"command": "listZones", "response": "json", "apiKey": st["api_key"],
     "signatureVersion": "3", "expires": exp}
q = "&".join("%s=%s" % (k, urllib.parse.quote(p[k], safe="*-._")) for k in sorted(p, key=str.lower))
sig = base64.b64encode(hmac.new(st["secret_key"].encode(), q.lower().encode(), hashlib.sha1).digest()).decode()
try:
    with urllib.request.urlopen(st["api_url"] + "?" + q + "&signature=" + urllib.parse.quote(sig, safe=""), timeout=10) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
EOF
	[ "$(python3 sign3.py "$STACK/stack.json" 600)" = 200 ] || fail "a valid v3 request is refused"
	ctl restart mgmt --env LD_PRELOAD="$FAKETIME_LIB" --env FAKETIME=+2h >/dev/null
	tr '\0' '\n' </proc/"$(pid_of mgmt)"/environ | grep -qx 'FAKETIME=+2h' || fail "no FAKETIME in mgmt"
	[ "$(python3 sign3.py "$STACK/stack.json" 600)" = 401 ] || fail "mgmt 2 h ahead accepts an expiry 10 min ahead"
	[ "$(python3 sign3.py "$STACK/stack.json" 10800)" = 200 ] || fail "mgmt 2 h ahead refuses an expiry 3 h ahead"
	grep -q 'request refused (401): expired' "$STACK/logs/mgmt.log" || fail "mgmt did not log the expiry"
	# the environment is kept across stop/start, cleared by a plain restart
	ctl stop mgmt >/dev/null
	ctl start mgmt >/dev/null
	[ "$(python3 sign3.py "$STACK/stack.json" 600)" = 401 ] || fail "FAKETIME lost across stop/start"
	ctl restart mgmt >/dev/null
	! tr '\0' '\n' </proc/"$(pid_of mgmt)"/environ | grep -q FAKETIME || fail "FAKETIME not cleared"
	[ "$(python3 sign3.py "$STACK/stack.json" 600)" = 200 ] || fail "mgmt still refuses after the plain restart"
	# two preloads on an agent: faketime joined with the I/O shim
	if [ -e "$VECS_BIN/../lib/libvecs-iofault.so" ]; then
		ctl restart agent-h2 --env LD_PRELOAD="$FAKETIME_LIB" --env FAKETIME=+1h >/dev/null
		tr '\0' '\n' </proc/"$(pid_of agent-h2)"/environ |
			grep -qx "LD_PRELOAD=$FAKETIME_LIB:$(cd "$VECS_BIN/../lib" && pwd)/libvecs-iofault.so" ||
			fail "preloads not joined: $(tr '\0' '\n' </proc/"$(pid_of agent-h2)"/environ | grep LD_PRELOAD)"
		ctl restart agent-h2 >/dev/null
	fi
}

# Capability fault: an agent restarted with a qemu-img that lists no LUKS reports no
# encryption support; a plain restart brings it back.
test_i_qemu_img_hook() {
	cat >no-luks <<'EOF'
#!/bin/sh
/usr/bin/qemu-img "$@" | sed 's/ luks//g'
EOF
	chmod 755 no-luks
	ctl restart agent-h1 --env VECS_QEMU_IMG="$T/no-luks" >/dev/null
	tr '\0' ' ' </proc/"$(pid_of agent-h1)"/cmdline | grep -q -- "--qemu-img $T/no-luks" || fail "no --qemu-img"
	api listHosts type=Routing name=h1 >h.json
	jq_true h.json '.host[0].encryptionsupported == false'
	grep -q "capability probe: $T/no-luks luks no" "$STACK/logs/agent-h1.log" || fail "probe did not use the wrapper"
	ctl restart agent-h1 >/dev/null
	api listHosts type=Routing name=h1 >h.json
	jq_true h.json '.host[0].encryptionsupported == true'
}

# After every restart above: domains start through the QEMU wrapper, migrate between
# the restarted libvirtds, and use the restarted NFS server and ScaleIO gateway.
test_x_cells_pass_after_restarts() {
	"$VECS" run --stack-dir "$STACK" --seed 0123456789abcdef --json results.json \
		--only 'migrate-instance/local/*,start-stop-instance/nfs/*,start-stop-instance/scaleio/*' \
		2>run.log || fail "cells failed: $(grep -E '^\[' run.log)"
	jq_true results.json '(.cells | length) == 3 and all(.cells[]; .status == "pass")'
	grep -lq "$STACK/hosts/h[12]/qemu-wrapper" "$STACK"/hosts/h*/log/qemu/*.log ||
		fail "no domain ran through the QEMU wrapper"
}

# nothing of run $1 in dir $2 is left: no netns, no process, no loop device, no mount
assert_nothing_left() {
	local run=$1 dir=$2
	! ip netns list | grep -q "$run" || fail "netns of $run left: $(ip netns list | grep "$run")"
	! grep -q "$dir" /proc/mounts || fail "mounts left: $(grep "$dir" /proc/mounts)"
	! losetup -a | grep -q "$dir" || fail "loop devices left: $(losetup -a | grep "$dir")"
	[ -z "$(ls -A "$dir")" ] || fail "files left: $(ls -A "$dir")"
}

test_y_down_after_restarts_leaves_nothing() {
	local run pids
	run=$(jq -r .run_id "$STACK/stack.json")
	restart_ok agent-h2 >/dev/null
	restart_ok libvirtd-h1 >/dev/null
	pids=$(ctl status | awk '$2 > 0 { print $2 }')
	"$VECS" stack down --dir "$STACK" 2>down.log || fail "down: $(cat down.log)"
	for p in $pids; do ! alive "$p" || fail "pid $p survived down"; done
	assert_nothing_left "$run" "$STACK"
}

# Own stack: MariaDB restarted (same socket, data kept), then the keeper killed with -9
# after restarts; `down` still removes the restarted processes.
test_z_mariadb_restart_and_killed_keeper() {
	local d="$T/s" run keeper pids
	"$VECS" stack up --dir "$d" --db mariadb --hosts 1 2>up.log || fail "up: $(cat up.log)"
	run=$(jq -r .run_id "$d/stack.json")
	API_DIR=$d api createDiskOffering name=ctl-before displaytext=x disksize=1 >/dev/null
	"$VECS" stack ctl --dir "$d" restart mariadb >out.txt || fail "restart mariadb"
	grep -qE '^mariadb [0-9]+ running$' out.txt || fail "$(cat out.txt)"
	API_DIR=$d api listDiskOfferings name=ctl-before >l.json
	jq_true l.json '.count == 1'
	"$VECS" stack ctl --dir "$d" restart agent-h1 >/dev/null
	"$VECS" stack ctl --dir "$d" restart libvirtd-h1 >/dev/null
	pids=$("$VECS" stack ctl --dir "$d" status | awk '$2 > 0 { print $2 }')
	keeper=$(awk -F'\t' '$1 == "run" { print $3; exit }' "$d/stack.ledger")
	kill -KILL "$keeper"
	"$VECS" stack down --dir "$d" 2>down.log || fail "down: $(cat down.log)"
	for p in $pids; do ! alive "$p" || fail "pid $p survived down after kill -9 of the keeper"; done
	assert_nothing_left "$run" "$d"
}

run_tests
