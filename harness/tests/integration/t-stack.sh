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

# The small-filesystem pool: its own 64 MiB ext4 on a loop device, the same filesystem in
# the root namespace and in every host's, registered with its own tag, and really full
# when filled (ENOSPC from the kernel); down removes the mount, the loop device and the
# backing file.
test_small_pool_real_full_disk() {
	"$VECS" stack up --dir "$T/stack" 2>up.log || fail "up: $(cat up.log)"
	local s="$T/stack" j="$T/stack/stack.json" p="$T/stack/pools/smp-small" run dev size h lp
	run=$(jq -r .run_id "$j")
	jq_true "$j" "[.pools[] | select(.name == \"smp-small\")] | length == 1"
	jq_true "$j" ".pools[] | select(.name == \"smp-small\") | .type == \"smp\" and .full_disk == true and .probe.path == \"$p\""
	# the matrix's smp pools are plain directories without the flag
	jq_true "$j" '[.pools[] | select(.type == "smp" and (.full_disk | not)) | .name] == ["smp", "smp2"]'
	size=$(jq -r '.pools[] | select(.name == "smp-small") | .size_bytes' "$j")
	# a separate filesystem: ext4 from a loop device on the 64 MiB file, of the size recorded
	awk -v m="$p" '$5 == m' /proc/self/mountinfo >mi.txt
	[ "$(wc -l <mi.txt)" = 1 ] || fail "not one mount at $p: $(cat mi.txt)"
	dev=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 2); exit } }' mi.txt)
	grep -q ' - ext4 /dev/loop' mi.txt || fail "not ext4 on a loop device: $(cat mi.txt)"
	[ "$(losetup -n -O BACK-FILE "$dev")" = "$s/smp-small.img" ] || fail "$dev: $(losetup "$dev")"
	[ "$(stat -c %s "$s/smp-small.img")" = 67108864 ] || fail "image is not 64 MiB"
	[ "$(stat -f -c %i "$p")" != "$(stat -f -c %i "$s/pools/smp")" ] || fail "smp-small is not its own filesystem"
	[ "$(($(stat -f -c '%b * %S' "$p")))" = "$size" ] || fail "stat -f: $(stat -f "$p"), size_bytes $size"
	[ "$size" -gt $((48 << 20)) ] && [ "$size" -le $((64 << 20)) ] || fail "size_bytes $size"
	# the objects are in the ledger
	for o in "dir	$p" "file	$s/smp-small.img" "loop	$dev	$s/smp-small.img" "mount	$p"; do
		grep -qF "$o	" "$s/stack.ledger" || fail "not in stack.ledger: $o"
	done
	# registered with its own tag, the matrix's tag elsewhere
	api listStoragePools >sp.json
	jq_true sp.json "[.storagepool[] | select(.name == \"smp-small\")] | length == 1 and .[0].tags == \"vecs-smp-full\" and .[0].type == \"SharedMountPoint\" and .[0].path == \"$p\""
	jq_true sp.json '[.storagepool[] | select(.tags == "vecs-smp") | .name] | sort == ["smp", "smp2"]'
	# each host's mount namespace (libvirtd's, hence QEMU's) has the same filesystem
	for h in h1 h2; do
		lp=$(jq -r .libvirtd_pid "$s/hosts/$h/host.json")
		[ "$(readlink /proc/"$lp"/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || fail "$h shares our mount ns"
		[ "$(nsenter -t "$lp" -m stat -f -c %i "$p")" = "$(stat -f -c %i "$p")" ] || fail "$h sees another fs"
		nsenter -t "$lp" -m sh -c "echo written-in-$h >$p/from-$h"
		[ "$(cat "$p/from-$h")" = "written-in-$h" ] || fail "a write in $h's namespace is not seen"
	done
	echo written-in-root >"$p/from-root"
	[ "$(nsenter -t "$lp" -m cat "$p/from-root")" = written-in-root ] || fail "a root write is not seen in h2"
	rm -f "$p"/from-*
	# filling it: the kernel says ENOSPC to a real write; the big pools have room
	! dd if=/dev/zero of="$p/fill" bs=1M 2>dd.txt || fail "dd filled no disk"
	grep -q 'No space left on device' dd.txt || fail "dd: $(cat dd.txt)"
	# (ext4 keeps a little back for metadata: less than 1 MiB is left)
	[ "$(($(stat -f -c '%a * %S' "$p")))" -lt $((1 << 20)) ] || fail "still $(stat -f -c %a "$p") blocks free"
	[ "$(stat -c %s "$p/fill")" -gt $((40 << 20)) ] || fail "only $(stat -c %s "$p/fill") bytes fitted"
	! head -c 1M /dev/zero >"$p/more" 2>w.txt || fail "a 1 MiB write to the full pool succeeded"
	grep -q 'No space left' w.txt || fail "$(cat w.txt)"
	echo room >"$s/pools/smp/room" && rm "$s/pools/smp/room"
	"$VECS" stack down --dir "$s" 2>down.log || fail "down: $(cat down.log)"
	! awk -v m="$p" '$5 == m' /proc/self/mountinfo | grep -q . || fail "$p is still mounted"
	[ "$(losetup -n -O BACK-FILE "$dev" 2>/dev/null)" != "$s/smp-small.img" ] || fail "$dev still attached"
	[ ! -e "$s/smp-small.img" ] || fail "the image file is left"
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
