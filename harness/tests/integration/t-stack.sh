#!/usr/bin/env bash
# `vecs stack up|status|down`: the reference deployment as a whole, its stack.json
# contract, and nothing left behind, also after the keeper is killed with -9.
. "$(dirname "$0")/lib.sh"

T_CLEANUP='"$VECS" stack down --dir "$T/stack" >/dev/null 2>&1'

# nothing of run $1 is left: no netns, no process recorded, no loop device, no mount
assert_nothing_left() {
	local run=$1
	! ip netns list | grep -q "$run" || fail "netns of $run left: $(ip netns list | grep "$run")"
	! grep -q "$T/stack" /proc/mounts || fail "mounts left: $(grep "$T/stack" /proc/mounts)"
	! losetup -a | grep -q "$T/stack" || fail "loop devices left: $(losetup -a | grep "$T/stack")"
	[ -z "$(ls -A "$T/stack")" ] || fail "files left: $(ls -A "$T/stack")"
}

api() { # api COMMAND [k=v...]: one signed call with the keys of stack.json
	local url key secret
	url=$(jq -r .api_url "$T/stack/stack.json")
	key=$(jq -r .api_key "$T/stack/stack.json")
	secret=$(jq -r .secret_key "$T/stack/stack.json")
	(umask 077; printf '[cloudstack]\nendpoint = %s\nkey = %s\nsecret = %s\n' "$url" "$key" "$secret" >"$T/cs.ini")
	CLOUDSTACK_CONFIG="$T/cs.ini" /usr/bin/python3 -m cs "$@"
}

test_up_status_down() {
	"$VECS" stack up --dir "$T/stack" 2>up.log || fail "up: $(cat up.log; cat "$T/stack/keeper.log")"
	local j="$T/stack/stack.json" run
	[ "$(stat -c %a "$j")" = 600 ] || fail "stack.json is not 0600"
	jq_true "$j" '.api_url | startswith("http://127.0.0.1:")'
	jq_true "$j" '(.api_key | length) > 20 and (.secret_key | length) > 20'
	jq_true "$j" '.db.kind == "sqlite" and (.db.path | endswith("cloud.db")) and .db.encryptor_version == "V2" and (.db.encryption_key | length) == 64'
	jq_true "$j" '[.hosts[].name] == ["h1", "h2"] and all(.hosts[]; .libvirt_uri | startswith("qemu+unix://"))'
	jq_true "$j" 'all(.hosts[]; .encryptionsupported == true)'
	jq_true "$j" '[.pools[].type] | contains(["local", "smp", "scaleio"])'
	jq_true "$j" '.pools[] | select(.type == "scaleio") | .probe.gateway_url | startswith("http://127.0.0.1:")'
	run=$(jq -r .run_id "$j")
	# the API answers with the keys of stack.json, signed by a client we did not write
	api listZones >zones.json
	jq_true zones.json '.count == 1'
	# each host's libvirtd answers on its URI
	for uri in $(jq -r '.hosts[].libvirt_uri' "$j"); do
		virsh -c "$uri" version >/dev/null || fail "libvirtd at $uri does not answer"
	done
	"$VECS" stack status --dir "$T/stack" >status.txt || fail "status: $(cat status.txt)"
	grep -q 'all running' status.txt || fail "$(cat status.txt)"
	# a second up on a running stack is refused
	expect_exit 2 "$VECS" stack up --dir "$T/stack" 2>again.txt
	grep -q 'already running' again.txt || fail "$(cat again.txt)"
	# the secret key and the database key appear in no log
	local secret dbkey
	secret=$(jq -r .secret_key "$j")
	dbkey=$(jq -r .db.encryption_key "$j")
	! grep -rqF -e "$secret" -e "$dbkey" "$T/stack/logs" "$T/stack/keeper.log" ||
		fail "a key appears in the stack's logs"
	"$VECS" stack down --dir "$T/stack" 2>down.log || fail "down: $(cat down.log)"
	assert_nothing_left "$run"
}

test_killed_keeper_is_cleaned_up() {
	"$VECS" stack up --dir "$T/stack" 2>up.log || fail "up: $(cat up.log)"
	local run keeper
	run=$(jq -r .run_id "$T/stack/stack.json")
	keeper=$(awk -F'\t' '$1 == "run" { print $3; exit }' "$T/stack/stack.ledger")
	kill -KILL "$keeper"
	expect_exit 1 "$VECS" stack status --dir "$T/stack" >status.txt
	grep -q 'keeper .* DOWN' status.txt || fail "$(cat status.txt)"
	# a new up reaps the dead run first, then starts afresh
	"$VECS" stack up --dir "$T/stack" 2>up2.log || fail "second up: $(cat up2.log)"
	grep -q 'reaping what an earlier' up2.log || fail "no reap reported: $(cat up2.log)"
	! ip netns list | grep -q "$run" || fail "old run's netns survived the second up"
	[ "$(jq -r .run_id "$T/stack/stack.json")" != "$run" ] || fail "same run id"
	run=$(jq -r .run_id "$T/stack/stack.json")
	kill -KILL "$(awk -F'\t' '$1 == "run" { print $3; exit }' "$T/stack/stack.ledger")"
	"$VECS" stack down --dir "$T/stack" 2>down.log || fail "down: $(cat down.log)"
	assert_nothing_left "$run"
}

test_mariadb_stack() {
	"$VECS" stack up --dir "$T/stack" --db mariadb --hosts 1 2>up.log ||
		fail "up: $(cat up.log; tail -20 "$T/stack/keeper.log")"
	jq_true "$T/stack/stack.json" '.db.kind == "mariadb" and (.db.dsn | startswith("socket="))'
	api listZones >zones.json
	jq_true zones.json '.count == 1'
	local run
	run=$(jq -r .run_id "$T/stack/stack.json")
	"$VECS" stack down --dir "$T/stack" 2>down.log || fail "down: $(cat down.log)"
	assert_nothing_left "$run"
	! pgrep -f "$T/stack/mariadb" >/dev/null || fail "mariadbd survived"
}

# A `vecs run` killed while its own stack runs: the stack notices its owner is gone and
# stops itself (nothing waits for an operator).
test_killed_run_stops_its_stack() {
	local pid work="" run
	"$VECS" run --only 'download-volume/smp/*' >run.log 2>&1 &
	pid=$!
	for _ in $(seq 600); do
		for d in /tmp/vecs-run.*; do
			[ -f "$d/owner" ] && [ "$(cut -d' ' -f1 "$d/owner")" = "$pid" ] && work=$d
		done
		[ -n "$work" ] && [ -s "$work/stack/stack.json" ] && break
		sleep 0.1
	done
	[ -n "$work" ] && [ -s "$work/stack/stack.json" ] || { kill -KILL "$pid"; fail "no stack: $(cat run.log)"; }
	run=$(jq -r .run_id "$work/stack/stack.json")
	kill -KILL "$pid"
	for _ in $(seq 300); do
		[ -f "$work/stack/stack.ledger" ] || break
		sleep 0.1
	done
	[ ! -f "$work/stack/stack.ledger" ] || fail "the stack of a killed run is still up after 30 s"
	! ip netns list | grep -q "$run" || fail "netns of $run left"
	rm -rf "$work"
}

test_usage() {
	expect_exit 2 "$VECS" stack
	expect_exit 2 "$VECS" stack up
	expect_exit 2 "$VECS" stack up --dir x --db oracle
	expect_exit 2 "$VECS" stack status --dir "$T/none"
	"$VECS" stack --help | grep -q 'stack.json' || fail "help does not mention stack.json"
}

run_tests
