#!/usr/bin/env bash
# Simulated KVM hosts (reference-impl/agent/host.h, build/bin/vecs-host): two hosts
# with their own libvirtd, an encrypted volume on a shared directory, a domain with a
# LUKS disk and an ephemeral private secret (CLOUDSTACK.md, "KVM agent"), real live
# migration between the hosts' namespaces; and nothing left behind afterwards, also
# when `vecs-host up` is killed or the run's owner dies.
. "$(dirname "$0")/lib.sh"

HOST="$VECS_BIN/vecs-host"

# down_at_exit D: whatever happens to the test, its hosts go down when its subshell
# exits (run_tests' T_CLEANUP is set in the parent, out of a test's reach).
down_at_exit() {
	trap "'$HOST' down --dir '$1' >/dev/null 2>&1 || true" EXIT
}

uri_of() { echo "qemu+unix:///system?socket=$1/$2/run/libvirt/libvirt-sock"; }

# uuid3 STRING: name-based MD5 UUID, as Java's UUID.nameUUIDFromBytes (CloudStack
# names a volume's libvirt secret so).
uuid3() {
	local h b6 b8
	h=$(printf %s "$1" | md5sum | cut -c1-32)
	b6=$(printf %02x $(((0x${h:12:2} & 0x0f) | 0x30)))
	b8=$(printf %02x $(((0x${h:16:2} & 0x3f) | 0x80)))
	h="${h:0:12}$b6${h:14:2}$b8${h:18}"
	echo "${h:0:8}-${h:8:4}-${h:12:4}-${h:16:4}-${h:20:12}"
}

# proc_alive PID START: that process (not a successor with its pid) runs, not a zombie.
proc_alive() {
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${stat##*) }
	# $1 = START, then /proc/PID/stat from field 3 (state) on: field N is ${N-1}
	set -- "$2" $rest
	[ "${21}" = "$1" ] && [ "$2" != Z ] && [ "$2" != X ]
}

# snapshot D: what must be gone after down/reap: run id, recorded processes, and every
# process inside the run's namespaces (QEMU), each as PID:START.
snapshot() {
	local d=$1 ns pid st
	RUN=$(awk -F'\t' '$1 == "run" { print $2; exit }' "$d/vecs.ledger")
	[ -n "$RUN" ] || fail "no run record in $d/vecs.ledger"
	LEDGER_PIDS=$(awk -F'\t' '$1 == "process" { print $2 ":" $3 }' "$d/vecs.ledger")
	PIDS=$LEDGER_PIDS
	for ns in $(ip netns list | awk '{print $1}' | grep "^$RUN-" || true); do
		for pid in $(ip netns pids "$ns"); do
			st=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$pid/stat" 2>/dev/null) || continue
			PIDS="$PIDS $pid:$st"
		done
	done
}

# assert_all_alive N: the ledger records at least N processes, all alive (so that
# assert_clean's "not alive" means something). Processes in the namespaces may be
# short-lived (libvirtd's QEMU probes) and are not checked here.
assert_all_alive() {
	local p n=0
	for p in $LEDGER_PIDS; do
		proc_alive "${p%%:*}" "${p##*:}" || fail "process ${p%%:*} of the run is not alive"
		n=$((n + 1))
	done
	[ "$n" -ge "$1" ] || fail "expected at least $1 processes of the run, found $n"
}

# assert_clean D: nothing of the run is left.
assert_clean() {
	local d=$1 p
	[ ! -e "$d/vecs.ledger" ] || fail "ledger left: $(cat "$d/vecs.ledger")"
	! ip netns list | grep -q "$RUN" || fail "netns left: $(ip netns list | grep "$RUN")"
	for p in $PIDS; do
		! proc_alive "${p%%:*}" "${p##*:}" || fail "process ${p%%:*} still alive"
	done
	! grep -q " $T" /proc/self/mountinfo || fail "mount under $T left"
	! losetup -a 2>/dev/null | grep -q "$T" || fail "loop device on $T left"
	! ls -d "$d"/h* "$d/qemu-caps" 2>/dev/null | grep -q . || fail "host dirs left: $(ls "$d")"
	! ip -o addr | grep -q '10\.251\.' || fail "an address of the run leaked into the root netns"
}

test_two_hosts_live_migration() {
	local d=$T/stack u1 u2 vol key uuid type=qemu
	mkdir -m 0700 "$d" "$T/smp"
	down_at_exit "$d"
	"$HOST" up --dir "$d" --name h1 --index 1 >/dev/null
	"$HOST" up --dir "$d" --name h2 --index 2 >/dev/null
	snapshot "$d"
	u1=$(uri_of "$d" h1)
	u2=$(uri_of "$d" h2)
	[ "$(jq -r .uri "$d/h1/host.json")" = "$u1" ] || fail "host.json uri differs"

	# Distinct hosts: host UUIDs, hostnames, addresses; no address in the root netns.
	virsh -c "$u1" capabilities | grep -m1 -o '<uuid>[^<]*' >h1.uuid
	virsh -c "$u2" capabilities | grep -m1 -o '<uuid>[^<]*' >h2.uuid
	[ -s h1.uuid ] && ! cmp -s h1.uuid h2.uuid || fail "host UUIDs not distinct"
	grep -q "$(jq -r .host_uuid "$d/h1/host.json")" h1.uuid || fail "h1 host_uuid not applied"
	[ "$(virsh -c "$u1" hostname)" = "$RUN-h1" ] || fail "h1 hostname: $(virsh -c "$u1" hostname)"
	ip -n "$RUN-h2" -o addr show dev eth0 | grep -q ' 10\.251\.1\.12/24' || fail "h2 address"
	! ip -o addr | grep -q '10\.251\.' || fail "10.251 address in the root netns"

	# An encrypted volume on a directory both hosts see (SharedMountPoint style).
	vol=$T/smp/vol-$RUN.qcow2
	key=$T/key
	(umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' >"$key")
	[ "$(wc -c <"$key")" -eq 64 ]
	qemu_img create -q --object "secret,file=$key,id=sec0" \
		-o encrypt.format=luks,encrypt.key-secret=sec0 -f qcow2 "$vol" 64M
	uuid=$(uuid3 "$vol")
	cat >secret.xml <<-XML
		<secret ephemeral='yes' private='yes'><uuid>$uuid</uuid><usage type='volume'><volume>$vol</volume></usage></secret>
	XML
	[ -e /dev/kvm ] && type=kvm
	cat >dom.xml <<-XML
		<domain type='$type'>
		  <name>vm-$RUN</name>
		  <memory unit='MiB'>64</memory>
		  <vcpu>1</vcpu>
		  <os><type arch='x86_64' machine='pc'>hvm</type></os>
		  <devices>
		    <disk type='file' device='disk'>
		      <driver name='qemu' type='qcow2' cache='none'/>
		      <source file='$vol'>
		        <encryption format='luks'><secret type='passphrase' uuid='$uuid'/></encryption>
		      </source>
		      <target dev='vda' bus='virtio'/>
		    </disk>
		  </devices>
		</domain>
	XML
	virsh -q -c "$u1" secret-define secret.xml >/dev/null
	virsh -q -c "$u1" secret-set-value "$uuid" --file "$key" --plain >/dev/null
	# private: the value cannot be read back
	! virsh -q -c "$u1" secret-get-value "$uuid" >/dev/null 2>&1 || fail "secret is readable"
	virsh -q -c "$u1" create dom.xml >/dev/null
	[ "$(virsh -c "$u1" domstate "vm-$RUN")" = running ] || fail "domain not running on h1"
	! virsh -c "$u1" dumpxml "vm-$RUN" | grep -qF "$(cat "$key")" || fail "passphrase in domain XML"

	# Prepare the destination (secret first), live-migrate over the namespaces' TCP
	# (peer to peer: h1's libvirtd talks to h2's), undefine on the source after.
	virsh -q -c "$u2" secret-define secret.xml >/dev/null
	virsh -q -c "$u2" secret-set-value "$uuid" --file "$key" --plain >/dev/null
	virsh -q -c "$u1" migrate --live --p2p --unsafe "vm-$RUN" \
		"$(jq -r .tcp_uri "$d/h2/host.json")" >migrate.out 2>&1 || fail "migration: $(cat migrate.out)"
	[ "$(virsh -c "$u2" domstate "vm-$RUN")" = running ] || fail "domain not running on h2"
	! virsh -q -c "$u1" list --all --name | grep -q . || fail "domain still on h1"
	virsh -q -c "$u1" secret-undefine "$uuid" >/dev/null
	[ -z "$(virsh -q -c "$u1" secret-list)" ] || fail "secret left on h1"
	# QEMU of the migrated domain runs inside h2's namespace
	[ -n "$(ip netns pids "$RUN-h2")" ] || fail "no QEMU in h2's netns"
	snapshot "$d"
	assert_all_alive 2
	[ "$(echo $PIDS | wc -w)" -ge 3 ] || fail "QEMU missing from the snapshot: $PIDS"

	# Leave the domain and secret on h2 to the reaper, as a crashed agent would: the
	# ledger names them (fields are percent-encoded; these URIs need no escapes).
	printf 'libvirt_secret\t%s\t%s\t\t.\n' "$u2" "$uuid" >>"$d/vecs.ledger"
	printf 'libvirt_domain\t%s\t%s\t\t.\n' "$u2" "vm-$RUN" >>"$d/vecs.ledger"
	rm -f "$key"
	"$HOST" down --dir "$d" 2>down.log || fail "down: $(cat down.log)"
	grep -q "removed libvirt_domain $u2 vm-$RUN" down.log || fail "domain not reaped: $(cat down.log)"
	grep -q "removed libvirt_secret $u2 $uuid" down.log || fail "secret not reaped: $(cat down.log)"
	assert_clean "$d"
}

# kill -9 of `vecs-host up` while libvirtd is still starting: reap removes it all.
test_killed_up_is_reaped() {
	local d=$T/stack pid i
	mkdir -m 0700 "$d"
	down_at_exit "$d"
	"$HOST" up --dir "$d" --name h1 --index 1 >/dev/null 2>up.log &
	pid=$!
	# libvirtd runs (its socket exists) but is still probing QEMU: up is waiting on it
	for i in $(seq 200); do
		[ -S "$d/h1/run/libvirt/libvirt-sock" ] && break
		sleep 0.05
	done
	[ -S "$d/h1/run/libvirt/libvirt-sock" ] || fail "libvirtd never started: $(cat up.log)"
	kill -0 "$pid" 2>/dev/null || fail "up finished before it could be killed"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	snapshot "$d"
	assert_all_alive 1 # libvirtd outlived the killed up
	"$HOST" reap --dir "$d" 2>reap.log || fail "reap: $(cat reap.log)"
	assert_clean "$d"
	# idempotent
	"$HOST" reap --dir "$d"
}

# The run's owner dies after a successful up (a crashed `vecs run`): the next up in
# the same directory reaps the leftovers first, and starts a new run.
test_dead_owner_leftovers_reaped_at_start() {
	local d=$T/stack owner old_run old_pids
	mkdir -m 0700 "$d"
	sleep 300 &
	owner=$!
	trap "kill -9 $owner 2>/dev/null || true; '$HOST' down --dir '$d' >/dev/null 2>&1 || true" EXIT
	"$HOST" up --dir "$d" --name h1 --index 1 --owner "$owner" >/dev/null
	snapshot "$d"
	old_run=$RUN
	old_pids=$PIDS
	kill -9 "$owner"
	wait "$owner" 2>/dev/null || true
	"$HOST" up --dir "$d" --name h1 --index 1 >/dev/null 2>up.log || fail "up: $(cat up.log)"
	grep -q "reaping the leftovers of dead run $old_run" up.log || fail "no reap: $(cat up.log)"
	snapshot "$d"
	[ "$RUN" != "$old_run" ] || fail "run id reused"
	! ip netns list | grep -q "$old_run" || fail "old netns left"
	for p in $old_pids; do
		! proc_alive "${p%%:*}" "${p##*:}" || fail "old libvirtd ${p%%:*} alive"
	done
	"$HOST" down --dir "$d"
	assert_clean "$d"
}

run_tests
