#!/usr/bin/env bash
# The tiny guest (fixtures/make-guest, build/guest): a domain on a simulated host
# (build/bin/vecs-host) boots it by direct kernel boot, says "vecs-guest: up" on its
# serial console, sees a hot-plugged virtio disk, and releases it on detach: the
# hot-unplug is acknowledged (domblklist loses it), which a VM without an OS never
# does. Once with i440fx (ACPI PCI hotplug, acpiphp), once with the agent's q35 layout
# (PCIe root ports, native hotplug, pciehp). Domains are TCG (type qemu) unless
# VECS_GUEST_KVM=1 (and /dev/kvm): under this sandbox's nested KVM the cloud kernel
# hangs before its first message (libvirt type kvm, and plain QEMU with its default CPU
# model; -cpu host aborts on MSR 0x10a). Under TCG it is up in ~2.5 s.
# VECS_GUEST_DIR names another guest directory, VECS_GUEST_BOOT_TIMEOUT (30) the wait.
. "$(dirname "$0")/lib.sh"

HOST="$VECS_BIN/vecs-host"
GUEST=${VECS_GUEST_DIR:-$TOP/build/guest}
BOOT_TIMEOUT=${VECS_GUEST_BOOT_TIMEOUT:-30}


# note TEXT: a measurement, on the script's output (a test's own output is kept only
# when it fails)
exec 3>&1
note() { echo "       $*" >&3; }

uri_of() { echo "qemu+unix:///system?socket=$1/$2/run/libvirt/libvirt-sock"; }

domtype() {
	if [ "${VECS_GUEST_KVM:-0}" = 1 ] && [ -e /dev/kvm ]; then echo kvm; else echo qemu; fi
}

# wait_for FILE PATTERN SECONDS: PATTERN (grep -E) appears in FILE in time
wait_for() {
	local i
	for i in $(seq $(($3 * 10))); do
		grep -aqE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# hot_unplug MACHINE LIMIT [CMDLINE]: boot the guest, attach vdb, detach it; the disk must be gone
# from the live domain within LIMIT seconds of the detach, and from the guest.
hot_unplug() {
	local machine=$1 limit=$2 cmdline=${3-console=ttyS0} d=$T/stack u dom t0 t1 i gone=
	[ -f "$GUEST/vmlinuz" ] && [ -f "$GUEST/initrd.img" ] ||
		fail "$GUEST has no vmlinuz/initrd.img (make build/guest/vmlinuz)"
	mkdir -m 0700 "$d"
	trap "'$HOST' down --dir '$d' >/dev/null 2>&1 || true" EXIT
	"$HOST" up --dir "$d" --name h1 --index 1 >/dev/null
	u=$(uri_of "$d" h1)
	dom=guest-$(basename "$T")
	local run
	run=$(awk -F'\t' '$1 == "run" { print $2; exit }' "$d/vecs.ledger")

	{
		cat <<-XML
			<domain type='$(domtype)'>
			  <name>$dom</name>
			  <memory unit='MiB'>128</memory>
			  <vcpu>1</vcpu>
			  <os>
			    <type arch='x86_64' machine='$machine'>hvm</type>
			    <kernel>$GUEST/vmlinuz</kernel>
			    <initrd>$GUEST/initrd.img</initrd>
			    <cmdline>$cmdline</cmdline>
			  </os>
			  <features><acpi/><apic/></features>
			  <on_poweroff>destroy</on_poweroff>
			  <devices>
		XML
		if [ "$machine" = q35 ]; then
			# as reference-impl/agent/agent_xml.c: root ports, PCIe native hotplug
			echo "    <controller type='pci' model='pcie-root'/>"
			for _ in 1 2 3 4; do echo "    <controller type='pci' model='pcie-root-port'/>"; done
		fi
		cat <<-XML
			    <serial type='file'><source path='$T/serial.log'/><target port='0'/></serial>
			    <memballoon model='none'/>
			  </devices>
		XML
		if [ "$machine" = q35 ]; then
			cat <<-XML
				  <qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
				    <qemu:arg value='-global'/>
				    <qemu:arg value='ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off'/>
				  </qemu:commandline>
			XML
		fi
		echo "</domain>"
	} >dom.xml
	qemu-img create -q -f qcow2 "$T/data.qcow2" 16M

	virsh -q -c "$u" define dom.xml >/dev/null
	t0=$(date +%s%N)
	virsh -q -c "$u" start "$dom" >/dev/null
	wait_for "$T/serial.log" '^vecs-guest: disks:' "$BOOT_TIMEOUT" ||
		fail "no 'vecs-guest: up' within ${BOOT_TIMEOUT}s: $(tail -c 3000 "$T/serial.log")"
	t1=$(date +%s%N)
	note "$machine/$(domtype): booted in $(((t1 - t0) / 1000000)) ms" \
		"($(grep -a -m1 '^vecs-guest: up' "$T/serial.log"))"

	virsh -q -c "$u" attach-disk "$dom" "$T/data.qcow2" vdb --live --subdriver qcow2 \
		--targetbus virtio >/dev/null
	virsh -q -c "$u" domblklist "$dom" | grep -q '^ *vdb ' || fail "vdb not attached"
	wait_for "$T/serial.log" '^vecs-guest: \+vda' 15 ||
		fail "the guest never saw the disk: $(tail -c 3000 "$T/serial.log")"

	# detach-disk returns when QEMU says DEVICE_DELETED, or after libvirt's own 5 s wait
	t0=$(date +%s%N)
	virsh -q -c "$u" detach-disk "$dom" vdb --live >/dev/null
	while :; do
		virsh -q -c "$u" domblklist "$dom" | grep -q '^ *vdb ' || { gone=1; break; }
		[ $(($(date +%s%N) - t0)) -lt $((limit * 1000000000)) ] || break
		sleep 0.1
	done
	t1=$(date +%s%N)
	[ -n "$gone" ] ||
		fail "the guest did not release vdb within $limit s: $(tail -c 3000 "$T/serial.log")"
	note "$machine/$(domtype): vdb released in $(((t1 - t0) / 1000000)) ms"
	wait_for "$T/serial.log" '^vecs-guest: -vda' 5 || fail "the guest still has the disk"
	[ "$(virsh -c "$u" domstate "$dom")" = running ] || fail "domain not running"

	virsh -q -c "$u" destroy "$dom" >/dev/null
	virsh -q -c "$u" undefine "$dom" >/dev/null
	"$HOST" down --dir "$d" 2>down.log || fail "down: $(cat down.log)"
	[ ! -e "$d/vecs.ledger" ] || fail "ledger left: $(cat "$d/vecs.ledger")"
	! ip netns list | grep -q "$run" || fail "netns left: $(ip netns list | grep "$run")"
	! pgrep -f "guest=$dom" >/dev/null || fail "QEMU of $dom left"
	! ls -d "$d"/h* 2>/dev/null | grep -q . || fail "host dirs left: $(ls "$d")"
}

test_hot_unplug_i440fx_acpiphp() {
	hot_unplug pc 5
}

test_hot_unplug_q35_pciehp() {
	# Linux's pciehp waits 5 s after the attention button (a window to cancel) before it
	# powers the slot off: ~5.5 s. The agent's detach_volume allows libvirt's 5 s wait
	# plus 5 s of polling (reference-impl/agent/COMMANDS.md).
	hot_unplug q35 10
}

# As mgmt starts a VM from a template with details kernel/initrd and nothing else: no
# kernel command line (the guest's /init still writes its lines to ttyS0).
test_hot_unplug_q35_no_cmdline() {
	hot_unplug q35 10 ""
}

run_tests
