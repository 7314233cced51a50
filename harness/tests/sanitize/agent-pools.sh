#!/usr/bin/env bash
# vecs-agent's volume and VM commands on every pool type (local, smp, nfs, scaleio), for
# the sanitizer targets: `make asan` runs it with the ASan/UBSan build (VECS_BIN=
# build/asan/bin), `make valgrind` with the agent under valgrind (VECS_AGENT_WRAP). Per
# pool: create_volume empty and from a template, resize_volume, snapshot_volume,
# copy_volume, revert_snapshot, start_vm/stop_vm, delete_volume; each answer is checked
# (vecs inspect: conformant, the passphrase unlocks; the template's bytes read back
# through LUKS). The agent is stopped with SIGTERM at the end: exit 0 only when it
# exited 0 (a sanitizer or valgrind error makes its exit status non-zero).
AGENT_STACK_NAME=vecs-san-agent
. "$(dirname "$0")/../agent-stack.sh"
VECS=$BIN/vecs

fail() { echo "agent-pools: FAIL: $*" >&2; exit 1; }
call() {
	(umask 077; jq -n --rawfile p "$S/pp" "$2" >"$S/args.json")
	"$BIN/vecs-agent-drive" call --ctl "$CTL" --host h1 --name "$1" --args "$S/args.json" \
		--timeout 300 >"$T/out.json" 2>"$T/err.txt" || { rm -f "$S/args.json"; fail "$1: $(cat "$T/err.txt")"; }
	rm -f "$S/args.json"
}
pool_of() {
	case $1 in
	local) echo "{type:\"local\", uuid:\"l1\", path:\"$T/local\"}" ;;
	smp) echo "{type:\"smp\", uuid:\"s1\", path:\"$T/smp\"}" ;;
	nfs) echo '{type:"nfs", uuid:"nfs1", name:"nfs1", host:"10.251.1.1", path:"/export"}' ;;
	scaleio) echo "{type:\"scaleio\", uuid:\"sio\", system_id:\"$SYS\"}" ;;
	esac
}
encvol() { echo "{name:\"$1\", pool:$(pool_of "$2"), path:\"$3\", size:${4:-0}, encrypt_format:\"luks\", passphrase:\$p}"; }
# where the bytes of volume PATH of pool P are, for inspect and read-back
bytes_of() {
	case $1 in
	local) echo "$T/local/$2" ;;
	smp) echo "$T/smp/$2" ;;
	nfs) echo "$D/nfs/export/$2" ;;
	scaleio) sio_dev "$2" ;;
	esac
}
inspect_ok() {
	"$VECS" inspect --json --passphrase-file "$S/pp" "$1" >"$T/inspect.json" ||
		fail "vecs inspect $1: $(jq -c '.findings, .passphrase' "$T/inspect.json")"
}
read_back() { # FILE|DEV qcow2|luks OUT
	local drv
	if [ "$2" = qcow2 ]; then drv="driver=qcow2,encrypt.key-secret=sec0,file.filename=$1"
	else drv="driver=luks,key-secret=sec0,file.driver=host_device,file.filename=$1"; fi
	LD_PRELOAD=$SHIM qemu-img convert -U -O raw --object "secret,file=$S/pp,id=sec0" --image-opts "$drv" "$3"
}
"$VECS" canary --seed san --size 4M >"$T/secondary/tpl.raw"
TPL="template:{path:\"$T/secondary/tpl.raw\", format:\"raw\"}"

for P in local smp nfs scaleio; do
	t0=$(date +%s)
	if [ "$P" = scaleio ]; then
		a=$(sio_vol "a-$P") b=$(sio_vol "b-$P") c=$(sio_vol "c-$P")
		kind=luks
	else
		a=a.qcow2 b=b.qcow2 c=c.qcow2
		kind=qcow2
	fi
	call create_volume "{volume: $(encvol a "$P" "$a" 33554432)}"
	inspect_ok "$(bytes_of "$P" "$a")"
	call create_volume "{volume: $(encvol b "$P" "$b" 33554432), $TPL}"
	inspect_ok "$(bytes_of "$P" "$b")"
	if [ "$P" = scaleio ]; then
		# the gateway grows the volume (the control plane's PowerFlex driver), the agent
		# reports the device's size
		api "/instances/Volume::$a/action/setVolumeSize" '{"sizeInGB":"1"}' >/dev/null ||
			fail "gateway resize of $a"
		call resize_volume "{volume: $(encvol a "$P" "$a"), new_size: 1073741824}"
	else
		call resize_volume "{volume: $(encvol a "$P" "$a"), new_size: 50331648}"
		jq -e '.size == 50331648' "$T/out.json" >/dev/null || fail "$P resize: $(cat "$T/out.json")"
	fi
	inspect_ok "$(bytes_of "$P" "$a")"
	call snapshot_volume "{volume: $(encvol b "$P" "$b"), snapshot:{path:\"$T/secondary/snap-$P.qcow2\"}}"
	inspect_ok "$T/secondary/snap-$P.qcow2"
	read_back "$T/secondary/snap-$P.qcow2" qcow2 "$T/back.raw"
	cmp -n $((4 << 20)) "$T/back.raw" "$T/secondary/tpl.raw" || fail "$P snapshot lost the template's bytes"
	call copy_volume "{src: $(encvol b "$P" "$b"), dst: $(encvol c "$P" "$c")}"
	inspect_ok "$(bytes_of "$P" "$c")"
	call revert_snapshot "{volume: $(encvol c "$P" "$c"), snapshot:{path:\"$T/secondary/snap-$P.qcow2\"}}"
	read_back "$(bytes_of "$P" "$c")" "$kind" "$T/back.raw"
	cmp -n $((4 << 20)) "$T/back.raw" "$T/secondary/tpl.raw" || fail "$P copy/revert lost the template's bytes"
	call start_vm "{vm: {name:\"vm-$P\", memory_mb:64, vcpus:1, disks:[{device:\"vda\", volume:$(encvol b "$P" "$b")}]}}"
	jq -e '.serial_log | endswith("/serial/vm-'"$P"'.log")' "$T/out.json" >/dev/null || fail "start_vm: $(cat "$T/out.json")"
	call stop_vm "{name:\"vm-$P\"}"
	for v in "$a" "$b" "$c"; do
		n=$(basename "$v" .qcow2)
		call delete_volume "{volume: $(encvol "$n" "$P" "$v")}"
	done
	[ "$P" = scaleio ] || [ ! -e "$(bytes_of "$P" "$a")" ] || fail "$P: delete_volume left $a"
	echo "  ok   $P: create, create from template, resize, snapshot, copy, revert, start/stop, delete ($(($(date +%s) - t0)) s)"
done
rc=0
stop_agent || rc=$?
[ "$rc" -eq 0 ] || fail "the agent exited with status $rc: $(tail -n 30 "$T/logs/agent.err")"
echo "agent-pools: every command on every pool type; the agent exited 0"
