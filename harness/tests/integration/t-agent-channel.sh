#!/usr/bin/env bash
# The management server <-> agent channel between real processes: vecs-mgmt with
# --agent-socket/--agent-tokens, two build/bin/vecs-test-agent processes, and listHosts
# through python3-cs showing what the agents reported, as they die, come back, and as
# the server restarts under them. Processes are stopped by their recorded pids only.
. "$(dirname "$0")/lib.sh"

MGMT="$VECS_BIN/vecs-mgmt"
AGENT="$VECS_BIN/vecs-test-agent"
cs() { CLOUDSTACK_CONFIG="$T/cs.ini" /usr/bin/python3 -m cs "$@"; }

new_token() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

# setup: the installation key, one token per host in the server's file and in each
# agent's own file, all 0600.
setup() {
	(umask 077
	 printf 'db.cloud.encrypt.secret=it-%s\n' "$RANDOM$RANDOM" >"$T/key.props"
	 TOK_A=$(new_token); TOK_B=$(new_token)
	 printf '%s\n' "$TOK_A" >"$T/token-kvm-a"
	 printf '%s\n' "$TOK_B" >"$T/token-kvm-b"
	 new_token >"$T/token-wrong"
	 printf '# agents allowed to connect\nkvm-a %s\nkvm-b %s\n' "$TOK_A" "$TOK_B" >"$T/agent-tokens")
}

start_mgmt() {
	"$MGMT" --listen 127.0.0.1:0 --db "sqlite:$T/mgmt.db" --key-file "$T/key.props" \
		--credentials-out "$T/creds" --url-file "$T/url" --log "$T/mgmt.log" \
		--agent-socket "$T/run/agent.sock" --agent-tokens "$T/agent-tokens" \
		>>"$T/mgmt.stdout" 2>>"$T/mgmt.stderr" &
	echo $! >"$T/mgmt.pid"
	for _ in $(seq 100); do
		[ -s "$T/url" ] && break
		kill -0 "$(cat "$T/mgmt.pid")" 2>/dev/null || fail "vecs-mgmt exited: $(cat "$T/mgmt.stderr")"
		sleep 0.05
	done
	[ -s "$T/url" ] || fail "vecs-mgmt did not start"
	(umask 077; printf '[cloudstack]\nendpoint = %s\nkey = %s\nsecret = %s\ntimeout = 10\nmethod = get\n' \
		"$(cat "$T/url")" "$(sed -n 's/^api_key=//p' "$T/creds")" \
		"$(sed -n 's/^secret_key=//p' "$T/creds")" >"$T/cs.ini")
}

stop_pidfile() {
	local f=$1 pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill -TERM "$pid" 2>/dev/null || { rm -f "$f"; return 0; }
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fail "$f: pid $pid ignored SIGTERM"; fi
	rm -f "$f"
}

stop_mgmt() { stop_pidfile "$T/mgmt.pid"; rm -f "$T/url"; }

# start_agent NAME ENCRYPTION [TOKEN_FILE]
start_agent() {
	"$AGENT" --socket "$T/run/agent.sock" --host "$1" --token-file "${3:-$T/token-$1}" \
		--encryption "$2" --ip "10.1.0.$((RANDOM % 200 + 2))" --libvirt-uri "qemu:///system" \
		--log "$T/agent-$1.log" 2>>"$T/agent-$1.stderr" &
	echo $! >"$T/agent-$1.pid"
}

T_CLEANUP='for f in "$T"/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done'

# wait_state NAME STATE SECONDS: listHosts shows NAME in STATE within SECONDS.
wait_state() {
	local i
	for i in $(seq $(($3 * 10))); do
		cs listHosts name="$1" >"$T/h.json" 2>/dev/null || true
		if jq -e --arg s "$2" '.host[0].state == $s' "$T/h.json" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	fail "host $1 not $2 within $3 s: $(cat "$T/h.json")"
}

test_agents_register_drop_and_return() {
	setup
	start_mgmt
	[ "$(stat -c %a "$T/run")" = 700 ] || fail "socket directory is not 0700"
	[ "$(stat -c %a "$T/run/agent.sock")" = 600 ] || fail "socket is not 0600"
	start_agent kvm-a true
	start_agent kvm-b false
	wait_state kvm-a Up 10
	wait_state kvm-b Up 10
	cs listHosts >hosts.json
	jq_true hosts.json '.count == 2'
	jq_true hosts.json '[.host[] | select(.name == "kvm-a")][0] | .encryptionsupported == true and .details["agent.kind"] == "test" and (.ipaddress | startswith("10.1.0."))'
	jq_true hosts.json '[.host[] | select(.name == "kvm-b")][0].encryptionsupported == false'

	# kill -9: the kernel closes the socket; the server notices at once (keepalive
	# covers a hung agent)
	local t0 t1
	t0=$(date +%s%N)
	kill -KILL "$(cat "$T/agent-kvm-a.pid")"
	rm -f "$T/agent-kvm-a.pid"
	wait_state kvm-a Disconnected 5
	t1=$(date +%s%N)
	echo "kvm-a Disconnected after $(((t1 - t0) / 1000000)) ms"
	cs listHosts name=kvm-b | jq -e '.host[0].state == "Up"' >/dev/null || fail "kvm-b changed too"
	start_agent kvm-a true
	wait_state kvm-a Up 10
	cs listHosts name=kvm-a | jq -e '.host[0].encryptionsupported == true' >/dev/null

	# the server restarts: the agents come back by themselves
	stop_mgmt
	[ ! -e "$T/run/agent.sock" ] || fail "socket left behind by a clean stop"
	start_mgmt
	wait_state kvm-a Up 15
	wait_state kvm-b Up 15
	for h in kvm-a kvm-b; do
		kill -0 "$(cat "$T/agent-$h.pid")" || fail "agent $h died with the server"
		[ "$(grep -c 'registered with the management server' "$T/agent-$h.log")" -ge 2 ] ||
			fail "agent $h did not register again: $(cat "$T/agent-$h.log")"
	done
	grep -q 'agent channel: host kvm-a disconnected' "$T/mgmt.log" || fail "no disconnect logged"

	# a wrong token is refused and logged, without the token
	start_agent kvm-wrong true "$T/token-wrong"
	for _ in $(seq 50); do
		grep -q 'refused: host not in the tokens file' "$T/mgmt.log" && break
		sleep 0.1
	done
	grep -q 'hello of host kvm-wrong (pid [0-9]*) refused: host not in the tokens file' "$T/mgmt.log" ||
		fail "unknown host not refused: $(tail -5 "$T/mgmt.log")"
	stop_pidfile "$T/agent-kvm-wrong.pid"
	"$AGENT" --socket "$T/run/agent.sock" --host kvm-b --token-file "$T/token-wrong" \
		--encryption false --log "$T/agent-impostor.log" 2>/dev/null &
	echo $! >"$T/agent-impostor.pid"
	for _ in $(seq 50); do
		grep -q 'host kvm-b (pid [0-9]*) refused: wrong token' "$T/mgmt.log" && break
		sleep 0.1
	done
	grep -q 'host kvm-b (pid [0-9]*) refused: wrong token' "$T/mgmt.log" || fail "wrong token not refused"
	grep -q 'refused by the management server: authentication failed' "$T/agent-impostor.log" ||
		fail "the impostor was not told"
	stop_pidfile "$T/agent-impostor.pid"
	# the real kvm-b was not displaced by the impostor
	cs listHosts name=kvm-b | jq -e '.host[0].state == "Up"' >/dev/null || fail "impostor displaced kvm-b"

	stop_pidfile "$T/agent-kvm-a.pid"
	stop_pidfile "$T/agent-kvm-b.pid"
	wait_state kvm-b Disconnected 5
	stop_mgmt

	# no token in any log, output or error stream
	local tok
	for tok in $(cat "$T/token-kvm-a" "$T/token-kvm-b" "$T/token-wrong"); do
		if grep -l "$tok" "$T"/*.log "$T"/*.stdout "$T"/*.stderr 2>/dev/null; then
			fail "a token leaked into the files above"
		fi
		if grep -l "${tok:10:16}" "$T"/*.log "$T"/*.stdout "$T"/*.stderr 2>/dev/null; then
			fail "part of a token leaked into the files above"
		fi
	done
}

test_bad_configuration_refused() {
	setup
	chmod 644 "$T/agent-tokens"
	expect_exit 2 "$MGMT" --listen 127.0.0.1:0 --db "sqlite:$T/mgmt.db" --key-file "$T/key.props" \
		--credentials-out "$T/creds" --agent-socket "$T/run/agent.sock" \
		--agent-tokens "$T/agent-tokens" 2>err.txt
	grep -q 'chmod 600' err.txt || fail "no advice: $(cat err.txt)"
	chmod 600 "$T/agent-tokens"
	expect_exit 2 "$MGMT" --listen 127.0.0.1:0 --db "sqlite:$T/mgmt.db" --key-file "$T/key.props" \
		--credentials-out "$T/creds" --agent-socket "$T/run/agent.sock" 2>err.txt
	grep -q 'go together' err.txt
	mkdir -m 755 "$T/open"
	expect_exit 2 "$MGMT" --listen 127.0.0.1:0 --db "sqlite:$T/mgmt.db" --key-file "$T/key.props" \
		--credentials-out "$T/creds" --agent-socket "$T/open/agent.sock" \
		--agent-tokens "$T/agent-tokens" 2>err.txt
	grep -q 'mode 0700' err.txt || fail "open socket directory accepted: $(cat err.txt)"
	chmod 640 "$T/token-kvm-a"
	expect_exit 2 "$AGENT" --socket "$T/run/agent.sock" --host kvm-a --token-file "$T/token-kvm-a" 2>err.txt
	grep -q 'chmod 600' err.txt || fail "agent took a readable token file: $(cat err.txt)"
}

run_tests
