#!/usr/bin/env bash
# NFS primary storage (reference-impl/storage/nfs_server.h, build/bin/vecs-nfs): a real
# nfs-ganesha + rpcbind in the run's stack netns, reached from the simulated hosts'
# namespaces by QEMU's NFS driver (libnfs) and by a libvirt network disk with a LUKS
# qcow2 volume; bytes at rest checked on the server side with `vecs inspect`/`vecs
# scan` and through libnfs (nfs-cat); live migration without --unsafe, and the
# "Secret not found" failure of CloudStack bug #8255 when the destination lacks the
# secret; nothing left afterwards, also when the daemons or the run's owner are killed.
. "$(dirname "$0")/lib.sh"

HOST="$VECS_BIN/vecs-host"
NFS="$VECS_BIN/vecs-nfs"
ADDR=10.251.1.1

# down_at_exit D: whatever happens to the test, the server and hosts go down when its
# subshell exits.
down_at_exit() {
	trap "'$NFS' down --dir '$1' >/dev/null 2>&1 || true; '$HOST' down --dir '$1' >/dev/null 2>&1 || true" EXIT
}

uri_of() { echo "qemu+unix:///system?socket=$1/$2/run/libvirt/libvirt-sock"; }

# proc_alive PID START: that process (not a successor with its pid) runs, not a zombie.
proc_alive() {
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${stat##*) }
	set -- "$2" $rest
	[ "${21}" = "$1" ] && [ "$2" != Z ] && [ "$2" != X ]
}

# in_host D NAME CMD...: run CMD in host NAME's network namespace (a client's view).
in_host() {
	local d=$1 n=$2
	shift 2
	ip netns exec "$(jq -r .netns "$d/$n/host.json")" "$@"
}

# nfs_pids D: "PID:START" of the NFS server's recorded processes.
nfs_pids() {
	awk -F'\t' '$1 == "process" && $4 ~ /^nfs:/ { print $2 ":" $3 }' "$1/vecs.ledger"
}

# all_pids D: every recorded process and every process in the run's namespaces.
all_pids() {
	local d=$1 run ns pid st
	run=$(awk -F'\t' '$1 == "run" { print $2; exit }' "$d/vecs.ledger")
	awk -F'\t' '$1 == "process" { print $2 ":" $3 }' "$d/vecs.ledger"
	for ns in $(ip netns list | awk '{print $1}' | grep "^$run-" || true); do
		for pid in $(ip netns pids "$ns"); do
			st=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$pid/stat" 2>/dev/null) || continue
			echo "$pid:$st"
		done
	done
}

# wait_dead PID:START...: until a SIGKILL has landed (at most 5 s).
wait_dead() {
	local p i
	for p in "$@"; do
		for i in $(seq 100); do
			proc_alive "${p%%:*}" "${p##*:}" || break
			sleep 0.05
		done
	done
}

assert_dead() {
	local p
	for p in "$@"; do
		! proc_alive "${p%%:*}" "${p##*:}" || fail "process ${p%%:*} still alive"
	done
}

# assert_clean D RUN PIDS...: nothing of the run is left.
assert_clean() {
	local d=$1 run=$2
	shift 2
	[ ! -e "$d/vecs.ledger" ] || fail "ledger left: $(cat "$d/vecs.ledger")"
	[ ! -e "$d/nfs" ] || fail "server dir left: $(ls -R "$d/nfs" | head)"
	! ip netns list | grep -q "$run" || fail "netns left: $(ip netns list | grep "$run")"
	assert_dead "$@"
	! grep -q " $T" /proc/self/mountinfo || fail "mount under $T left"
	! ip -o addr | grep -q '10\.251\.' || fail "an address of the run leaked into the root netns"
}

# new_key FILE: a CloudStack-style passphrase (64 base64 characters of 48 bytes), 0600.
new_key() {
	(umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' >"$1")
	[ "$(wc -c <"$1")" -eq 64 ]
}

test_nfs_volume_luks_and_live_migration() {
	local d=$T/stack u1 u2 url g gpid run exp key uuid type=qemu opts f mode
	mkdir -m 0700 "$d"
	down_at_exit "$d"
	"$HOST" up --dir "$d" --name h1 --index 1 >/dev/null
	"$HOST" up --dir "$d" --name h2 --index 2 >/dev/null
	url=$("$NFS" up --dir "$d" 2>up.log) || fail "vecs-nfs up: $(cat up.log)"
	[ "$url" = "nfs://$ADDR/export" ] || fail "url: $url"
	jq_true "$d/nfs/nfs.json" ".url == \"$url\" and .export == \"/export\""
	run=$(jq -r .run_id "$d/nfs/nfs.json")
	exp=$d/nfs/export
	# a second up is refused while the server runs
	expect_exit 1 "$NFS" up --dir "$d" 2>/dev/null

	# The daemons run in the stack netns, each in a mount namespace of its own with a
	# private /run; nothing listens in the root namespace.
	for g in $(nfs_pids "$d"); do
		gpid=${g%%:*}
		proc_alive "$gpid" "${g##*:}" || fail "NFS daemon $gpid not alive"
		[ "$(stat -L -c %i "/proc/$gpid/ns/net")" = "$(stat -L -c %i "/run/netns/$run-stack")" ] ||
			fail "daemon $gpid is not in the stack netns"
		[ "$(stat -L -c %i "/proc/$gpid/ns/mnt")" != "$(stat -L -c %i /proc/self/ns/mnt)" ] ||
			fail "daemon $gpid shares the root mount namespace"
		awk '$5 == "/run"' "/proc/$gpid/mountinfo" | grep -q . || fail "daemon $gpid has no private /run"
	done
	[ "$(nfs_pids "$d" | wc -l)" -eq 2 ] || fail "expected rpcbind and ganesha: $(nfs_pids "$d")"
	# A daemon's private mounts are recorded before the daemon, so the reaper (newest
	# first) stops it before it could see the machine's /run (and unregister from the
	# machine's rpcbind) as it shuts down.
	awk -F'\t' '$4 == "nfs" && $1 == "mount" { m[$3]++ }
		$1 == "process" && $4 ~ /^nfs:/ { if (m[$2 ":" $3] != 2) bad = 1 }
		END { exit bad }' "$d/vecs.ledger" || fail "NFS mounts not recorded before their daemon"
	[ -S "$d/nfs/run/rpcbind.sock" ] || fail "rpcbind's socket is not in the private /run"
	! ip -o addr | grep -q '10\.251\.' || fail "10.251 address in the root netns"

	# A host sees NFSv3 and v4 over TCP, and the mount protocol, through rpcbind.
	in_host "$d" h1 rpcinfo -p "$ADDR" >rpcinfo.out
	grep -Eq '100003 +3 +tcp +2049' rpcinfo.out || fail "no NFSv3/tcp: $(cat rpcinfo.out)"
	grep -Eq '100003 +4 +tcp +2049' rpcinfo.out || fail "no NFSv4/tcp: $(cat rpcinfo.out)"
	grep -Eq '100005 +3 +tcp' rpcinfo.out || fail "no mountd v3: $(cat rpcinfo.out)"

	# qemu-img in a host's netns creates a LUKS qcow2 through QEMU's NFS driver.
	key=$T/key
	new_key "$key"
	in_host "$d" h1 env LD_PRELOAD="$SHIM" qemu-img create -q \
		--object "secret,file=$key,id=sec0" -o encrypt.format=luks,encrypt.key-secret=sec0 \
		-f qcow2 "$url/vol.qcow2" 64M
	f=$exp/vol.qcow2
	[ -f "$f" ] || fail "vol.qcow2 not in the export: $(ls -la "$exp")"
	[ "$(stat -c %u:%g "$f")" = 0:0 ] || fail "owner $(stat -c %u:%g "$f") (root squashed?)"
	mode=$(stat -c %a "$f")
	[ $((0$mode & 022)) -eq 0 ] || fail "volume mode $mode is group/other writable"
	"$VECS" inspect --passphrase-file "$key" "$f" >inspect.out || fail "inspect: $(cat inspect.out)"
	grep -q 'verdict: PASS' inspect.out || fail "inspect: $(cat inspect.out)"
	grep -q 'passphrase: unlocks' inspect.out || fail "passphrase: $(cat inspect.out)"

	# A canary written through the LUKS layer over NFS is ciphertext at rest, and reads
	# back through the LUKS layer from the other host.
	"$VECS" canary --seed 7 --size 1048576 >canary.bin
	expect_exit 1 "$VECS" scan --seed 7 canary.bin >/dev/null # the scan can fail
	opts="driver=qcow2,encrypt.key-secret=sec0,file.driver=nfs,file.server.type=inet"
	opts="$opts,file.server.host=$ADDR,file.path=/export/vol.qcow2"
	in_host "$d" h1 env LD_PRELOAD="$SHIM" qemu-img convert -n -f raw canary.bin \
		--object "secret,file=$key,id=sec0" --target-image-opts "$opts"
	"$VECS" scan --seed 7 "$exp" >scan.out || fail "canary plaintext at rest: $(cat scan.out)"
	grep -q 'no canary found' scan.out || fail "scan: $(cat scan.out)"
	in_host "$d" h2 qemu-img convert --object "secret,file=$key,id=sec0" \
		--image-opts "$opts" -O raw back.raw
	head -c 1048576 back.raw | cmp - canary.bin || fail "canary does not read back over NFS"
	# libnfs sees the same bytes as the server's disk (how a black-box target's NFS
	# pool is inspected)
	in_host "$d" h1 nfs-cat "$url/vol.qcow2" | cmp - "$f" || fail "nfs-cat differs from the export"
	in_host "$d" h1 nfs-ls "$url" | grep -q ' vol.qcow2$' || fail "nfs-ls does not list the volume"

	# A libvirt network disk with an ephemeral private secret.
	u1=$(uri_of "$d" h1)
	u2=$(uri_of "$d" h2)
	uuid=$(cat /proc/sys/kernel/random/uuid)
	cat >secret.xml <<-XML
		<secret ephemeral='yes' private='yes'><uuid>$uuid</uuid><usage type='volume'><volume>$url/vol.qcow2</volume></usage></secret>
	XML
	[ -e /dev/kvm ] && type=kvm
	cat >dom.xml <<-XML
		<domain type='$type'>
		  <name>vm-$run</name>
		  <memory unit='MiB'>64</memory>
		  <vcpu>1</vcpu>
		  <os><type arch='x86_64' machine='pc'>hvm</type></os>
		  <devices>
		    <disk type='network' device='disk'>
		      <driver name='qemu' type='qcow2' cache='none'/>
		      <source protocol='nfs' name='/export/vol.qcow2'>
		        <host name='$ADDR'/>
		        <encryption format='luks'><secret type='passphrase' uuid='$uuid'/></encryption>
		      </source>
		      <target dev='vda' bus='virtio'/>
		    </disk>
		  </devices>
		</domain>
	XML
	virsh -q -c "$u1" secret-define secret.xml >/dev/null
	virsh -q -c "$u1" secret-set-value "$uuid" --file "$key" --plain >/dev/null
	virsh -q -c "$u1" create dom.xml >/dev/null
	[ "$(virsh -c "$u1" domstate "vm-$run")" = running ] || fail "domain not running on h1"
	virsh -c "$u1" dumpxml "vm-$run" >live.xml
	grep -q "protocol='nfs'" live.xml || fail "not a network disk: $(cat live.xml)"
	! grep -qF "$(cat "$key")" live.xml || fail "passphrase in domain XML"

	# CloudStack bug #8255: migrating to a host that lacks the volume's secret fails
	# with libvirt's "Secret not found", and the domain stays on the source. The agent
	# must define the secret on the destination first.
	! virsh -q -c "$u1" migrate --live --p2p "vm-$run" "$(jq -r .tcp_uri "$d/h2/host.json")" \
		>mig-nosecret.out 2>&1 || fail "migration without the destination's secret succeeded"
	grep -q "Secret not found: no secret with matching uuid '$uuid'" mig-nosecret.out ||
		fail "unexpected failure: $(cat mig-nosecret.out)"
	[ "$(virsh -c "$u1" domstate "vm-$run")" = running ] || fail "domain lost on h1"
	! virsh -q -c "$u2" list --all --name | grep -q . || fail "a domain was left on h2"

	# With the secret on the destination, live migration passes without --unsafe
	# (DESIGN.md, "Hazards": NFS network disks are safe for libvirt).
	virsh -q -c "$u2" secret-define secret.xml >/dev/null
	virsh -q -c "$u2" secret-set-value "$uuid" --file "$key" --plain >/dev/null
	virsh -q -c "$u1" migrate --live --p2p "vm-$run" "$(jq -r .tcp_uri "$d/h2/host.json")" \
		>migrate.out 2>&1 || fail "migration: $(cat migrate.out)"
	[ "$(virsh -c "$u2" domstate "vm-$run")" = running ] || fail "domain not running on h2"
	! virsh -q -c "$u1" list --all --name | grep -q . || fail "domain still on h1"
	virsh -q -c "$u1" secret-undefine "$uuid" >/dev/null
	[ -n "$(ip netns pids "$run-h2")" ] || fail "no QEMU in h2's netns"
	virsh -q -c "$u2" destroy "vm-$run" >/dev/null
	virsh -q -c "$u2" secret-undefine "$uuid" >/dev/null
	rm -f "$key"
	# the volume is intact after it all
	"$VECS" scan --seed 7 "$exp" >/dev/null || fail "canary plaintext at rest after migration"

	# vecs-nfs down stops the server only; the hosts stay up.
	g=$(nfs_pids "$d")
	"$NFS" down --dir "$d" 2>down.log || fail "down: $(cat down.log)"
	assert_dead $g
	[ ! -e "$d/nfs" ] || fail "D/nfs left"
	virsh -q -c "$u1" version >/dev/null || fail "host h1 went down with the server"
	"$NFS" down --dir "$d" # idempotent
	g="$g $(all_pids "$d")"
	"$HOST" down --dir "$d"
	assert_clean "$d" "$run" $g
}

# vecs-host down (the whole stack) removes the server with the hosts, and the server
# needs a live run to join.
test_host_down_takes_the_server() {
	local d=$T/stack run pids
	mkdir -m 0700 "$d"
	down_at_exit "$d"
	expect_exit 2 "$NFS" up --dir "$d" 2>nohost.err
	grep -q 'bring a host up first' nohost.err || fail "message: $(cat nohost.err)"
	expect_exit 2 "$NFS" up --dir "$d" --export 'bad path' 2>/dev/null
	"$HOST" up --dir "$d" --name h1 --index 1 >/dev/null
	[ "$("$NFS" up --dir "$d" --export /primary/a-1)" = "nfs://$ADDR/primary/a-1" ] ||
		fail "custom export"
	in_host "$d" h1 nfs-ls "nfs://$ADDR/primary/a-1" >/dev/null || fail "custom export not served"
	run=$(jq -r .run_id "$d/nfs/nfs.json")
	pids=$(all_pids "$d")
	[ "$(echo $pids | wc -w)" -ge 3 ] || fail "expected libvirtd, rpcbind, ganesha: $pids"
	"$HOST" down --dir "$d" 2>down.log || fail "down: $(cat down.log)"
	grep -q "removed dir $d/nfs" down.log || fail "D/nfs not reaped: $(cat down.log)"
	assert_clean "$d" "$run" $pids
}

# kill -9 of everything (the daemons and the run's owner): `vecs-nfs up` refuses the
# dead run, `vecs-nfs down` removes the server's leftovers, `vecs-host reap` the rest;
# daemons killed under a live run are replaced by the next `vecs-nfs up`.
test_killed_stack_is_reaped() {
	local d=$T/stack owner run pids g
	mkdir -m 0700 "$d"
	sleep 300 &
	owner=$!
	trap "kill -9 $owner 2>/dev/null || true; '$NFS' down --dir '$d' >/dev/null 2>&1 || true; '$HOST' down --dir '$d' >/dev/null 2>&1 || true" EXIT
	"$HOST" up --dir "$d" --name h1 --index 1 --owner "$owner" >/dev/null
	"$NFS" up --dir "$d" >/dev/null
	run=$(jq -r .run_id "$d/nfs/nfs.json")

	# daemons crash under a live run: the next up cleans up and starts afresh
	g=$(nfs_pids "$d")
	for p in $g; do kill -9 "${p%%:*}"; done
	wait_dead $g
	"$NFS" up --dir "$d" >/dev/null 2>up2.log || fail "up after a crash: $(cat up2.log)"
	grep -q 'removing the leftovers' up2.log || fail "no cleanup: $(cat up2.log)"
	assert_dead $g
	in_host "$d" h1 nfs-ls "nfs://$ADDR/export" >/dev/null || fail "restarted server not serving"

	# now the whole thing dies at once
	pids=$(all_pids "$d")
	kill -9 "$owner" $(for p in $pids; do echo "${p%%:*}"; done) 2>/dev/null || true
	wait "$owner" 2>/dev/null || true
	expect_exit 2 "$NFS" up --dir "$d" 2>dead.err
	grep -q 'is dead' dead.err || fail "message: $(cat dead.err)"
	"$NFS" down --dir "$d" 2>down.log || fail "nfs down: $(cat down.log)"
	[ ! -e "$d/nfs" ] || fail "D/nfs left after nfs down"
	"$HOST" reap --dir "$d" 2>reap.log || fail "reap: $(cat reap.log)"
	assert_clean "$d" "$run" $pids
}

run_tests
