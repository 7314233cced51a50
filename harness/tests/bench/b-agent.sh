#!/usr/bin/env bash
# vecs-agent per command and pool type, next to the baseline of the same run: the raw
# qemu-img / cryptsetup / virsh calls that do the same work, run directly with the same
# KDF profile (--kdf fast: qemu-img with the getrusage shim, cryptsetup with 1000 PBKDF2
# iterations). One simulated host (vecs-host), vecs-nfs, the ScaleIO gateway with an
# SDC, one agent registered through vecs-agent-drive (as t-agent.sh drives it).
#
# Printed per command and pool: the raw calls' time, the agent's own time for the
# command (its log line "command X (seq N): ok in M ms": parse, key file, the same
# calls, answer) and end to end (vecs-agent-drive call: + a process start and two
# socket hops), each the best of BENCH_REPS (3); the ratio is agent / raw. Goal: the
# agent adds <= 10% (ratio <= 1.10) to the work it delegates. BENCH_ONLY=REGEX picks
# rows by "command/pool"; VECS_AGENT_PROG=PATH benches another vecs-agent build (a
# before/after comparison). Sub-10 ms commands (resize) are at the log's 1 ms
# resolution, and a loaded machine moves every row: compare rows of one run.
set -eu
REPS=${BENCH_REPS:-3}
ONLY=${BENCH_ONLY:-.}
AGENT_STACK_NAME=vecs-bagent
VECS_AGENT_ARGS=${BENCH_AGENT_ARGS:-}
. "$(dirname "$0")/../agent-stack.sh"
now_ns() { date +%s%N; }

# --- measuring ----------------------------------------------------------------------------
# agent CMD JQ: the command through the drive; AGENT_MS (the agent's own time, from its
# log) and E2E_MS (the drive call, end to end)
agent() {
	local t0 t1 line
	(umask 077; jq -n --rawfile p "$S/pp" "$2" >"$S/args.json")
	t0=$(now_ns)
	"$BIN/vecs-agent-drive" call --ctl "$CTL" --host h1 --name "$1" --args "$S/args.json" \
		>"$T/out.json" 2>"$T/err.txt" || { rm -f "$S/args.json"; die "$1: $(cat "$T/err.txt")"; }
	t1=$(now_ns)
	rm -f "$S/args.json"
	E2E_MS=$(((t1 - t0) / 1000000))
	line=$(grep "command $1 (seq" "$AGENT_LOG" | tail -n1)
	AGENT_MS=$(echo "$line" | sed -n 's/.*: ok in \([0-9]*\) ms.*/\1/p')
	[ -n "$AGENT_MS" ] || die "$1: no duration in the agent's log ($line)"
}
# raw CMD...: RAW_MS of the command (its output to $T/logs/raw.log)
raw() {
	local t0 t1
	t0=$(now_ns)
	"$@" >>"$T/logs/raw.log" 2>&1 || die "raw: $* failed: $(tail -n3 "$T/logs/raw.log")"
	t1=$(now_ns)
	RAW_MS=$(((t1 - t0) / 1000000))
}
qimg() { LD_PRELOAD=$SHIM qemu-img "$@"; }
nqimg() { ip netns exec "$NETNS" env LD_PRELOAD="$SHIM" qemu-img "$@"; }
luks_format() {
	cryptsetup luksFormat -q --type luks1 --cipher aes-xts-plain64 --key-size 512 --hash sha256 \
		--pbkdf-force-iterations 1000 --key-file "$S/pp" "$1"
}

# row NAME SETUP AGENT_FN RAW_FN CLEAN: best of REPS for each side, one line; each rep
# runs SETUP, AGENT_FN, CLEAN, SETUP, RAW_FN, CLEAN. row2 NAME A_PRE A_FN R_PRE R_FN:
# each rep runs A_PRE, A_FN, R_PRE, R_FN; only the first command of A_FN and R_FN
# ("CMD;AFTER") is measured.
worst=0
row() { row2 "$1" "$2" "$3;$5" "$2" "$4;$5"; }
row2() {
	local name=$1 i a=999999 e=999999 r=999999
	echo "$name" | grep -qE "$ONLY" || return 0
	for i in $(seq "$REPS"); do
		REP=$i
		eval "$2"
		eval "${3%%;*}"
		[ "$AGENT_MS" -lt "$a" ] && a=$AGENT_MS
		[ "$E2E_MS" -lt "$e" ] && e=$E2E_MS
		[ "$3" = "${3#*;}" ] || eval "${3#*;}"
		eval "$4"
		eval "${5%%;*}"
		[ "$RAW_MS" -lt "$r" ] && r=$RAW_MS
		[ "$5" = "${5#*;}" ] || eval "${5#*;}"
	done
	printf '  %-26s raw %6d ms   agent %6d ms  (end to end %6d ms)   %s\n' "$name" "$r" "$a" "$e" \
		"$(awk -v a="$a" -v r="$r" 'BEGIN { printf "%.2fx", r ? a / r : 0 }')"
	worst=$(awk -v w="$worst" -v a="$a" -v r="$r" 'BEGIN { x = r ? a / r : 0; print (x > w) ? x : w }')
}
noop() { :; }

SECRET_OPT="secret,id=sec0,file=$S/pp"
ENC_OPTS="encrypt.format=luks,encrypt.key-secret=sec0"
SIZE=67108864
NFS='{type:"nfs", uuid:"nfs1", name:"nfs1", host:"10.251.1.1", path:"/export"}'
pool_of() {
	case $1 in
	local) echo "{type:\"local\", uuid:\"l1\", path:\"$T/local\"}" ;;
	smp) echo "{type:\"smp\", uuid:\"s1\", path:\"$T/smp\"}" ;;
	nfs) echo "$NFS" ;;
	scaleio) echo "{type:\"scaleio\", uuid:\"sio\", system_id:\"$SYS\"}" ;;
	esac
}
encvol() { echo "{name:\"$1\", pool:$(pool_of "$2"), path:\"$3\", size:${4:-0}, encrypt_format:\"luks\", passphrase:\$p}"; }
# where a file volume of pool P lives, for the raw calls
file_of() {
	case $1 in
	local) echo "$T/local/$2" ;;
	smp) echo "$T/smp/$2" ;;
	nfs) echo "nfs://10.251.1.1/export/$2" ;;
	esac
}
qi() { if [ "$P" = nfs ]; then nqimg "$@"; else qimg "$@"; fi; }
rmvol() {
	case $P in
	# through the server (libnfs, as the agent deletes): a file removed under
	# nfs-ganesha's feet makes its next CREATE fail with NFS3ERR_STALE
	nfs) ip netns exec "$NETNS" "$BIN/vecs-agent" --nfs-helper rm 10.251.1.1 /export "$1" ;;
	scaleio) ;;
	*) rm -f "$(file_of "$P" "$1")" ;;
	esac
}
"$BIN/vecs" canary --seed bench --size 4M >"$T/secondary/tpl.raw"

# --- create_volume, empty -----------------------------------------------------------------
ce_setup() { if [ "$P" = scaleio ]; then SV=$(sio_vol "ce$REP$RANDOM"); fi; }
ce_agent() {
	if [ "$P" = scaleio ]; then agent create_volume "{volume: $(encvol v scaleio "$SV")}"
	else agent create_volume "{volume: $(encvol v "$P" v.qcow2 $SIZE)}"; fi
}
ce_raw() {
	if [ "$P" = scaleio ]; then raw luks_format "$(sio_dev "$SV")"
	else raw qi create -q -f qcow2 --object "$SECRET_OPT" -o "$ENC_OPTS" "$(file_of "$P" v.qcow2)" $SIZE; fi
}
ce_clean() { rmvol v.qcow2; }

# --- create_volume from a template --------------------------------------------------------
ct_agent() {
	if [ "$P" = scaleio ]; then
		agent create_volume "{volume: $(encvol v scaleio "$SV"), template:{path:\"$T/secondary/tpl.raw\", format:\"raw\"}}"
	else
		agent create_volume "{volume: $(encvol v "$P" v.qcow2 $SIZE), template:{path:\"$T/secondary/tpl.raw\", format:\"raw\"}}"
	fi
}
ct_raw_steps() {
	if [ "$P" = scaleio ]; then
		luks_format "$(sio_dev "$SV")"
		qimg convert -n -f raw --object "$SECRET_OPT" "$T/secondary/tpl.raw" \
			--target-image-opts "driver=luks,key-secret=sec0,file.driver=host_device,file.filename=$(sio_dev "$SV")"
	else
		qi convert -f raw -O qcow2 --object "$SECRET_OPT" -o "$ENC_OPTS" "$T/secondary/tpl.raw" "$(file_of "$P" v.qcow2)"
		qi resize --object "$SECRET_OPT" --image-opts \
			"driver=qcow2,encrypt.key-secret=sec0,$(fileopt v.qcow2)" $SIZE
	fi
}
ct_raw() { raw ct_raw_steps; }
fileopt() {
	if [ "$P" = nfs ]; then echo "file.driver=nfs,file.server.type=inet,file.server.host=10.251.1.1,file.path=/export/$1"
	else echo "file.filename=$(file_of "$P" "$1")"; fi
}

# --- resize_volume offline (file pools; ScaleIO: the gateway grows it) ----------------------
rs_setup() { qi create -q -f qcow2 --object "$SECRET_OPT" -o "$ENC_OPTS" "$(file_of "$P" r.qcow2)" $SIZE; }
rs_agent() { agent resize_volume "{volume: $(encvol r "$P" r.qcow2), new_size: $((SIZE * 2))}"; }
rs_raw() { raw qi resize --object "$SECRET_OPT" --image-opts "driver=qcow2,encrypt.key-secret=sec0,$(fileopt r.qcow2)" $((SIZE * 2)); }
rs_clean() { rmvol r.qcow2; }

# --- snapshot_volume to secondary storage -------------------------------------------------
sn_agent() {
	if [ "$P" = scaleio ]; then agent snapshot_volume "{volume: $(encvol s scaleio "$SIO_SRC"), snapshot:{path:\"$T/secondary/snap.qcow2\"}}"
	else agent snapshot_volume "{volume: $(encvol s "$P" src.qcow2), snapshot:{path:\"$T/secondary/snap.qcow2\"}}"; fi
}
sn_raw() {
	local src
	if [ "$P" = scaleio ]; then src="driver=luks,key-secret=sec0,file.driver=host_device,file.filename=$(sio_dev "$SIO_SRC")"
	else src="driver=qcow2,encrypt.key-secret=sec0,$(fileopt src.qcow2)"; fi
	raw qi convert -U -O qcow2 --object "$SECRET_OPT" -o "$ENC_OPTS" --image-opts "$src" "$T/secondary/snap.qcow2"
}
sn_clean() { rm -f "$T/secondary/snap.qcow2"; }

# --- copy_volume (migrate volume): the pool's volume to a new LUKS qcow2 on local ----------
cp_agent() {
	if [ "$P" = scaleio ]; then agent copy_volume "{src: $(encvol s scaleio "$SIO_SRC"), dst: $(encvol c local c.qcow2)}"
	else agent copy_volume "{src: $(encvol s "$P" src.qcow2), dst: $(encvol c local c.qcow2)}"; fi
}
cp_raw() {
	local src
	if [ "$P" = scaleio ]; then src="driver=luks,key-secret=sec0,file.driver=host_device,file.filename=$(sio_dev "$SIO_SRC")"
	else src="driver=qcow2,encrypt.key-secret=sec0,$(fileopt src.qcow2)"; fi
	raw qi convert -U -O qcow2 --object "$SECRET_OPT" -o "$ENC_OPTS" --image-opts "$src" "$T/local/c.qcow2"
}
cp_clean() { rm -f "$T/local/c.qcow2"; }

# --- start_vm / stop_vm: secret defined + value set + transient domain; destroyed, undefined
vm_arg() {
	if [ "$P" = scaleio ]; then echo "{name:\"bvm\", memory_mb:64, vcpus:1, disks:[{device:\"vda\", volume:$(encvol s scaleio "$SIO_SRC")}]}"
	else echo "{name:\"bvm\", memory_mb:64, vcpus:1, disks:[{device:\"vda\", volume:$(encvol s "$P" src.qcow2)}]}"; fi
}
# the agent's own domain and secret XML, captured once per pool for the raw calls
capture_vm_xml() {
	agent start_vm "{vm: $(vm_arg)}"
	virsh -q -c "$URI" dumpxml bvm >"$T/dom.xml"
	virsh -q -c "$URI" secret-list | awk '{print $1}' | head -n1 >"$T/secret.uuid"
	virsh -q -c "$URI" secret-dumpxml "$(cat "$T/secret.uuid")" >"$T/secret.xml"
	agent stop_vm '{name:"bvm"}'
	# the value as virsh takes it from a file: the passphrase's bytes (--plain)
}
st_agent() { agent start_vm "{vm: $(vm_arg)}"; }
st_raw() {
	raw virsh -q -c "$URI" "secret-define $T/secret.xml; secret-set-value $(cat "$T/secret.uuid") --file $S/pp --plain; create $T/dom.xml"
}
st_clean() {
	virsh -q -c "$URI" destroy bvm >/dev/null 2>&1 || true
	virsh -q -c "$URI" secret-undefine "$(cat "$T/secret.uuid")" >/dev/null 2>&1 || true
}
sp_agent() { agent stop_vm '{name:"bvm"}'; }
sp_raw() { raw virsh -q -c "$URI" "destroy bvm; secret-undefine $(cat "$T/secret.uuid")"; }

# --- attach_volume / detach_volume on a running domain (local) ------------------------------
at_vol() { encvol a local a.qcow2; }
at_agent() { agent attach_volume "{name:\"bvm\", volume:$(at_vol), device:\"vdb\"}"; }
dt_agent() { agent detach_volume "{name:\"bvm\", volume:$(at_vol), device:\"vdb\"}"; }
capture_disk_xml() {
	at_agent
	virsh -q -c "$URI" dumpxml bvm | awk '/<disk/ { d = "" } /<disk/,/<\/disk>/ { d = d $0 "\n" } /<\/disk>/ && d ~ /vdb/ { printf "%s", d }' |
		sed "/<alias/d; /<address/d" >"$T/disk.xml"
	virsh -q -c "$URI" secret-list | awk '{print $1}' | grep -v "$(cat "$T/secret.uuid")" | head -n1 >"$T/secret2.uuid"
	virsh -q -c "$URI" secret-dumpxml "$(cat "$T/secret2.uuid")" >"$T/secret2.xml"
	dt_agent
}
at_raw() {
	raw virsh -q -c "$URI" "secret-define $T/secret2.xml; secret-set-value $(cat "$T/secret2.uuid") --file $S/pp --plain; attach-device bvm $T/disk.xml --live"
}
dt_raw_steps() {
	virsh -q -c "$URI" detach-device bvm "$T/disk.xml" --live
	for _ in $(seq 50); do virsh -q -c "$URI" domblklist bvm | grep -q '^ *vdb ' || break; sleep 0.1; done
	virsh -q -c "$URI" secret-undefine "$(cat "$T/secret2.uuid")" >/dev/null
}
dt_raw() { raw dt_raw_steps; }
at_clean() {
	virsh -q -c "$URI" detach-device bvm "$T/disk.xml" --live >/dev/null 2>&1 || true
	for _ in $(seq 50); do virsh -q -c "$URI" domblklist bvm | grep -q '^ *vdb ' || break; sleep 0.1; done
	virsh -q -c "$URI" secret-undefine "$(cat "$T/secret2.uuid")" >/dev/null 2>&1 || true
}

echo "  (best of $REPS; agent: its own time for the command; raw: the same qemu-img/cryptsetup/virsh calls run directly)"
for P in local smp nfs scaleio; do
	row "create_volume/$P" ce_setup ce_agent ce_raw ce_clean
	row "create_from_template/$P" ce_setup ct_agent ct_raw ce_clean
	if [ "$P" != scaleio ]; then
		row "resize_volume/$P" rs_setup rs_agent rs_raw rs_clean
		qi create -q -f qcow2 --object "$SECRET_OPT" -o "$ENC_OPTS" "$(file_of "$P" src.qcow2)" $SIZE
		qi convert -n -f raw --object "$SECRET_OPT" "$T/secondary/tpl.raw" --target-image-opts \
			"driver=qcow2,encrypt.key-secret=sec0,$(fileopt src.qcow2)"
	else
		SIO_SRC=$(sio_vol src)
		luks_format "$(sio_dev "$SIO_SRC")"
	fi
	row "snapshot_volume/$P" noop sn_agent sn_raw sn_clean
	row "copy_volume/$P" noop cp_agent cp_raw cp_clean
	if echo "start_vm/$P stop_vm/$P attach_volume/$P detach_volume/$P" | grep -qE "$ONLY"; then
		capture_vm_xml
		row "start_vm/$P" noop st_agent st_raw st_clean
		# stop: the agent's and the raw calls each stop a domain the agent started
		row2 "stop_vm/$P" st_agent sp_agent st_agent sp_raw
		if [ "$P" = local ]; then
			qimg create -q -f qcow2 --object "$SECRET_OPT" -o "$ENC_OPTS" "$T/local/a.qcow2" $SIZE
			st_agent
			capture_disk_xml
			row "attach_volume/local" noop at_agent at_raw at_clean
			row2 "detach_volume/local" at_agent dt_agent "at_raw" dt_raw
			agent stop_vm '{name:"bvm"}'
		fi
	fi
	if [ "$P" = scaleio ]; then :; else rmvol src.qcow2; fi
done
echo "agent: worst ratio ${worst}x its raw calls (goal <= 1.10x)"
