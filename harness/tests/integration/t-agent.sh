#!/usr/bin/env bash
# vecs-agent (reference-impl/agent/README.md, COMMANDS.md) on real components: two
# simulated hosts (vecs-host: a libvirtd each), the emulated ScaleIO gateway with an
# SDC per host, one vecs-agent per host registered over the real channel. Commands are
# sent through build/bin/vecs-agent-drive, whose server side is the management server's
# own channel code (mgmt/agent_channel.c), until the API commands drive the agents.
# Bytes are judged by `vecs inspect` (both oracles) and `vecs scan`; nothing may hold a
# passphrase outside the agents' key directories, and everything is removed afterwards.
. "$(dirname "$0")/lib.sh"

HOST="$VECS_BIN/vecs-host"
AGENT="$VECS_BIN/vecs-agent"
DRIVE="$VECS_BIN/vecs-agent-drive"
GW="$VECS_BIN/vecs-scaleio-gw"
SYS=0123456789abcdef
SEED=4242

# Everything this script started, by recorded pid, then the hosts and the gateway's
# leftovers (run in the parent shell after the test, pass or fail).
agent_cleanup() {
	local f pid
	for f in "$T"/pids/*; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	"$GW" --reap --data-dir "$T/gw" >/dev/null 2>&1 || true
	"$HOST" down --dir "$T/stack" >/dev/null 2>&1 || true
}
T_CLEANUP='agent_cleanup'

# start NAME CMD...: a background process, its pid in $T/pids/NAME.
start() {
	local n=$1
	shift
	"$@" >>"$T/logs/$n.out" 2>>"$T/logs/$n.err" &
	echo $! >"$T/pids/$n"
}

# stop NAME: SIGTERM to the recorded pid, wait for it to exit.
stop() {
	local pid
	pid=$(cat "$T/pids/$1")
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$pid" 2>/dev/null || fail "$1 (pid $pid) ignored SIGTERM"
	rm -f "$T/pids/$1"
}

# call HOST COMMAND JQ: run COMMAND on HOST's agent with the args the jq program JQ
# builds; $p in it is the passphrase, read from its file by jq (never in argv). The
# answer's result is in $T/out.json. CALL_TIMEOUT=SECONDS: give up waiting after that.
call() {
	(umask 077; jq -n --rawfile p "$S/pp" "$3" >"$S/args.json")
	"$DRIVE" call --ctl "$CTL" --host "$1" --name "$2" --args "$S/args.json" ${CALL_TIMEOUT:+--timeout "$CALL_TIMEOUT"} \
		>"$T/out.json" 2>"$T/err.txt" || { rm -f "$S/args.json"; return 1; }
	rm -f "$S/args.json"
}
must() { call "$@" || fail "$2 on $1: $(cat "$T/err.txt")"; }

# jq expressions of pools and encrypted volumes
local_pool() { echo "{type:\"local\", uuid:\"local-$1\", path:\"$T/local-$1\"}"; }
SMP_POOL=
sio_pool() { echo "{type:\"scaleio\", uuid:\"sio\", system_id:\"$SYS\"}"; }
encvol() { echo "{name:\"$1\", pool:$2, path:\"$3\", size:${4:-0}, encrypt_format:\"luks\", passphrase:\$p}"; }

# Gateway calls, as the control plane's PowerFlex driver makes them.
login() { TOK=$(curl -sf -u "admin:$(cat "$T/gwpw")" "$U/login" | tr -d '"'); }
api() { curl -sf -u "admin:$TOK" -H 'Content-Type: application/json' ${2:+-d "$2"} "$U$1"; }
sdc_id() { api /types/Sdc/instances | jq -r ".[] | select(.name == \"$1\") | .id"; }
sio_create() {
	api /types/Volume/instances "{\"name\":\"$1\",\"volumeSizeInKb\":\"$2\",\"storagePoolId\":\"$(api /types/StoragePool/instances | jq -r '.[0].id')\",\"volumeType\":\"ThinProvisioned\"}" | jq -r .id
}
sio_map() { api "/instances/Volume::$1/action/addMappedSdc" "{\"sdcId\":\"$(sdc_id "$2")\",\"allowMultipleMappings\":\"TRUE\"}" >/dev/null; }
sio_unmap() { api "/instances/Volume::$1/action/removeMappedSdc" "{\"sdcId\":\"$(sdc_id "$2")\"}" >/dev/null; }
sio_dev() { readlink -f "$D/$1/dev/disk/by-id/emc-vol-$SYS-$2"; }

uri() { jq -r .uri "$D/$1/host.json"; }
tcp_uri() { jq -r .tcp_uri "$D/$1/host.json"; }
uuid3() {
	python3 -c 'import hashlib,sys,uuid; h=bytearray(hashlib.md5(sys.argv[1].encode()).digest()); h[6]=(h[6]&0x0f)|0x30; h[8]=(h[8]&0x3f)|0x80; print(uuid.UUID(bytes=bytes(h)))' "$1"
}

# read_back FILE|DEV KIND OUT: the plaintext through QEMU's LUKS layer, with the key file
read_back() {
	local drv
	if [ "$2" = qcow2 ]; then drv="driver=qcow2,encrypt.key-secret=sec0,file.filename=$1"
	else drv="driver=luks,key-secret=sec0,file.driver=host_device,file.filename=$1"; fi
	qemu_img convert -U -O raw --object "secret,file=$S/pp,id=sec0" --image-opts "$drv" "$3"
}

# inspect_ok PATH: conformant LUKS1, the passphrase opens it (both oracles agree)
inspect_ok() {
	"$VECS" inspect --json --passphrase-file "$S/pp" "$1" >"$T/inspect.json" ||
		fail "vecs inspect $1: $(jq -c '.findings, .passphrase' "$T/inspect.json")"
	jq_true "$T/inspect.json" '.luks.version == 1 and .passphrase.unlocks == true and .findings == []'
}

# vm_json NAME VOLEXPR: a domain with one data disk vda
vm_json() { echo "{name:\"$1\", memory_mb:64, vcpus:1, serial_log:\"$T/serial-$1.log\", disks:[{device:\"vda\", volume:$2}]}"; }

running_on() { [ "$(virsh -c "$(uri "$1")" domstate "$2" 2>/dev/null)" = running ]; }
has_secret() { virsh -c "$(uri "$1")" secret-list 2>/dev/null | grep -q "$2"; }

# check_vm HOST NAME VOLPATH: running, secret defined and private, no passphrase in the
# domain XML or in QEMU's command line
check_vm() {
	local u
	u=$(uuid3 "$3")
	running_on "$1" "$2" || fail "$2 not running on $1"
	has_secret "$1" "$u" || fail "secret $u of $3 not defined on $1"
	! virsh -c "$(uri "$1")" secret-get-value "$u" >/dev/null 2>&1 || fail "secret $u is not private"
	virsh -c "$(uri "$1")" secret-dumpxml "$u" | grep -q "ephemeral='yes' private='yes'" ||
		fail "secret $u not ephemeral and private"
	virsh -c "$(uri "$1")" dumpxml "$2" >"$T/dom.xml"
	grep -q "<secret type='passphrase' uuid='$u'/>" "$T/dom.xml" || fail "$2: no LUKS secret in the XML"
	! grep -qF -e "$(cat "$S/pp")" "$T/dom.xml" || fail "passphrase in the domain XML of $2"
	local pid pids
	pids=$(pgrep -f "guest=$2," || true)
	[ -n "$pids" ] || fail "no QEMU process of $2"
	for pid in $pids; do
		! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -e "$(cat "$S/pp")" || fail "passphrase in QEMU's argv"
		cat "/proc/$pid/cmdline" >>"$T/qemu-cmdlines"
	done
}

# migrate SRC DST NAME VM_JQ [MIGRATE_EXTRA_JQ]: prepare on DST, migrate from SRC, post on SRC
migrate() {
	must "$2" prepare_migration "{vm: $4}"
	must "$1" migrate_vm "{name:\"$3\", dest_uri:\"$(tcp_uri "$2")\"${5:+, $5}}"
	must "$1" post_migration "{name:\"$3\"}"
	running_on "$2" "$3" || fail "$3 not running on $2 after migration"
	! running_on "$1" "$3" || fail "$3 still on $1"
}

test_agent_commands_on_every_pool() {
	local t0 h v u sio sio2 vol
	t0=$(date +%s)
	D=$T/stack
	S=$T/secrets
	mkdir -m 0700 "$D" "$S" "$T/pids" "$T/logs" "$T/run" "$T/local-h1" "$T/local-h2" "$T/smp" "$T/secondary"
	SMP_POOL="{type:\"smp\", uuid:\"smp\", path:\"$T/smp\"}"
	(umask 077; head -c 48 /dev/urandom | base64 -w0 >"$S/pp")
	[ "$(wc -c <"$S/pp")" = 64 ] || fail "passphrase is not 64 characters"

	"$HOST" up --dir "$D" --name h1 --index 1 >/dev/null
	"$HOST" up --dir "$D" --name h2 --index 2 >/dev/null
	echo "hosts up after $(($(date +%s) - t0)) s"

	# the channel server, and an agent per host
	(umask 077
	 printf 'db.cloud.encrypt.secret=it-%s\n' "$RANDOM$RANDOM" >"$S/key.props"
	 for h in h1 h2; do od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$S/token-$h"; done
	 printf 'h1 %s\nh2 %s\n' "$(cat "$S/token-h1")" "$(cat "$S/token-h2")" >"$S/tokens")
	CTL=$T/run/drive.sock
	start drive "$DRIVE" serve --socket "$T/run/agent.sock" --tokens "$S/tokens" --db "$T/mgmt.db" \
		--key-file "$S/key.props" --ctl "$CTL" --log "$T/logs/drive.log"
	for _ in $(seq 100); do [ -S "$CTL" ] && break; sleep 0.05; done
	for h in h1 h2; do
		start "agent-$h" "$AGENT" --host-dir "$D/$h" --mgmt-socket "$T/run/agent.sock" \
			--token-file "$S/token-$h" --kdf fast --log "$T/logs/agent-$h.log"
	done
	for h in h1 h2; do
		"$DRIVE" wait --ctl "$CTL" --host $h --timeout 20 || fail "agent $h did not register: $(cat "$T/logs/agent-$h.err")"
		must $h host_info '{}'
		jq_true "$T/out.json" ".encryptionsupported == true and .kdf == \"fast\" and (.qemu_img_version | startswith(\"qemu-img\"))"
	done
	sqlite3 "$T/mgmt.db" "SELECT d.value FROM host_details d JOIN host h ON h.id = d.host_id WHERE h.name = 'h1' AND d.name = 'host.volume.encryption'" 2>/dev/null | grep -qx true ||
		echo "(host_details not checked: no sqlite3 or another schema)"

	# the ScaleIO gateway, an SDC per host
	(umask 077; printf 'gw-pw-%s' "$RANDOM" >"$T/gwpw")
	start gw "$GW" --data-dir "$T/gw" --system-id $SYS --password-file "$T/gwpw" \
		--sdc "h1=$D/h1/dev/disk/by-id" --sdc "h2=$D/h2/dev/disk/by-id" \
		--granularity-kb 1024 --capacity-gb 10 --url-file "$T/gw.url"
	for _ in $(seq 100); do [ -s "$T/gw.url" ] && break; sleep 0.05; done
	U=$(cat "$T/gw.url")
	login
	echo "stack up after $(($(date +%s) - t0)) s"

	# --- create: empty on local, from a canary template on smp and ScaleIO -------------
	"$VECS" canary --seed $SEED --size 4M >"$T/secondary/tpl.raw"
	must h1 create_volume "{volume: $(encvol vol-local "$(local_pool h1)" vol-local.qcow2 33554432)}"
	jq_true "$T/out.json" '.size == 33554432 and .format == "qcow2" and .encrypt_format == "luks"'
	inspect_ok "$T/local-h1/vol-local.qcow2"
	must h1 create_volume "{volume: $(encvol vol-smp "$SMP_POOL" vol-smp.qcow2 16777216), template:{path:\"$T/secondary/tpl.raw\", format:\"raw\"}}"
	jq_true "$T/out.json" '.size == 16777216'
	inspect_ok "$T/smp/vol-smp.qcow2"
	expect_exit 0 "$VECS" scan --seed $SEED "$T/smp/vol-smp.qcow2" >/dev/null
	read_back "$T/smp/vol-smp.qcow2" qcow2 "$T/back.raw"
	cmp -n $((4 << 20)) "$T/back.raw" "$T/secondary/tpl.raw" || fail "smp volume does not read back as the template"
	# the scan finds the canary where it is in clear (so its silence above means something)
	expect_exit 1 "$VECS" scan --seed $SEED "$T/back.raw" >/dev/null

	sio=$(sio_create vol-sio 32768)
	sio_map "$sio" h1
	must h1 create_volume "{volume: $(encvol vol-sio "$(sio_pool)" "$sio"), template:{path:\"$T/secondary/tpl.raw\", format:\"raw\"}}"
	jq_true "$T/out.json" '.format == "raw" and .encrypt_format == "luks"'
	inspect_ok "$(sio_dev h1 "$sio")"
	expect_exit 0 "$VECS" scan --seed $SEED "$(sio_dev h1 "$sio")" "$T/gw/$sio.vol" >/dev/null
	read_back "$(sio_dev h1 "$sio")" luks "$T/back.raw"
	cmp -n $((4 << 20)) "$T/back.raw" "$T/secondary/tpl.raw" || fail "ScaleIO volume does not read back as the template"
	echo "creates done after $(($(date +%s) - t0)) s"

	# --- resize offline: grows, still opens ------------------------------------------------
	must h1 resize_volume "{volume: $(encvol vol-local "$(local_pool h1)" vol-local.qcow2), new_size: 50331648}"
	jq_true "$T/out.json" '.size == 50331648'
	[ "$(qemu-img info --output=json "$T/local-h1/vol-local.qcow2" | jq '."virtual-size"')" = 50331648 ] || fail "not resized"
	inspect_ok "$T/local-h1/vol-local.qcow2"
	! call h1 resize_volume "{volume: $(encvol vol-local "$(local_pool h1)" vol-local.qcow2), new_size: 1048576}" ||
		fail "a shrink was accepted"

	# --- copy local -> smp: same passphrase, new header -----------------------------------
	must h1 copy_volume "{src: $(encvol vol-smp "$SMP_POOL" vol-smp.qcow2), dst: $(encvol vol-copy "$(local_pool h1)" vol-copy.qcow2)}"
	inspect_ok "$T/local-h1/vol-copy.qcow2"
	u=$(jq -r .luks.uuid "$T/inspect.json")
	inspect_ok "$T/smp/vol-smp.qcow2"
	[ "$u" != "$(jq -r .luks.uuid "$T/inspect.json")" ] || fail "the copy kept the LUKS header UUID"
	read_back "$T/local-h1/vol-copy.qcow2" qcow2 "$T/back.raw"
	cmp -n $((4 << 20)) "$T/back.raw" "$T/secondary/tpl.raw" || fail "the copy lost the data"
	expect_exit 0 "$VECS" scan --seed $SEED "$T/local-h1/vol-copy.qcow2" >/dev/null

	# --- snapshot to secondary storage, damage, revert ---------------------------------------
	must h1 snapshot_volume "{volume: $(encvol vol-smp "$SMP_POOL" vol-smp.qcow2), snapshot:{path:\"$T/secondary/snap-1.qcow2\"}}"
	inspect_ok "$T/secondary/snap-1.qcow2"
	expect_exit 0 "$VECS" scan --seed $SEED "$T/secondary/snap-1.qcow2" >/dev/null
	head -c 4M /dev/zero >"$T/zero.raw"
	qemu_img convert -n -f raw --object "secret,file=$S/pp,id=sec0" "$T/zero.raw" \
		--target-image-opts "driver=qcow2,encrypt.key-secret=sec0,file.filename=$T/smp/vol-smp.qcow2"
	read_back "$T/smp/vol-smp.qcow2" qcow2 "$T/back.raw"
	! cmp -s -n $((4 << 20)) "$T/back.raw" "$T/secondary/tpl.raw" || fail "the volume was not overwritten"
	must h1 revert_snapshot "{volume: $(encvol vol-smp "$SMP_POOL" vol-smp.qcow2), snapshot:{path:\"$T/secondary/snap-1.qcow2\"}}"
	inspect_ok "$T/smp/vol-smp.qcow2"
	read_back "$T/smp/vol-smp.qcow2" qcow2 "$T/back.raw"
	cmp -n $((4 << 20)) "$T/back.raw" "$T/secondary/tpl.raw" || fail "revert did not bring the data back"
	echo "volume commands done after $(($(date +%s) - t0)) s"

	# --- a create whose caller gave up (timed out) goes on: a delete_volume sent right
	# after waits for it and removes its file; a retry with replace:true replaces what
	# such a create left, where a plain retry fails with "already exists" -------------------
	head -c 300M /dev/urandom >"$T/secondary/big.raw"
	local slow_vol slow
	slow_vol=$(encvol v-slow "$(local_pool h1)" v-slow.qcow2)
	slow="volume: $slow_vol, template:{path:\"$T/secondary/big.raw\", format:\"raw\"}"
	# 50 ms: copying and encrypting 300 MiB takes far longer, also on a fast machine
	! CALL_TIMEOUT=0.05 call h1 create_volume "{$slow}" || fail "the slow create answered within 50 ms"
	grep -q 'did not answer' "$T/err.txt" || fail "slow create: $(cat "$T/err.txt")"
	must h1 delete_volume "{volume: $slow_vol}"
	[ "$(grep -c 'create_volume v-slow on' "$T/logs/agent-h1.log")" -eq 1 ] ||
		fail "delete_volume did not wait for the create on the same path"
	[ ! -e "$T/local-h1/v-slow.qcow2" ] || fail "delete after a timed-out create left the file"
	# 50 ms: copying and encrypting 300 MiB takes far longer, also on a fast machine
	! CALL_TIMEOUT=0.05 call h1 create_volume "{$slow}" || fail "the slow create answered within 50 ms"
	for _ in $(seq 300); do
		[ "$(grep -c 'create_volume v-slow on' "$T/logs/agent-h1.log")" -eq 2 ] && break
		sleep 0.1
	done
	[ -f "$T/local-h1/v-slow.qcow2" ] || fail "the abandoned create made no file"
	! call h1 create_volume "{$slow}" || fail "create over a leftover file succeeded without replace"
	grep -q 'already exists' "$T/err.txt" || fail "retry: $(cat "$T/err.txt")"
	must h1 create_volume "{$slow, replace: true}"
	grep -q 'create_volume v-slow: replacing what an earlier attempt left' "$T/logs/agent-h1.log" ||
		fail "replace not logged"
	inspect_ok "$T/local-h1/v-slow.qcow2"
	must h1 delete_volume "{volume: $slow_vol}"
	rm -f "$T/secondary/big.raw"

	# --- VMs: one per pool type on h1; stop removes the secret -----------------------------
	must h1 start_vm "{vm: $(vm_json vm-local "$(encvol vol-local "$(local_pool h1)" vol-local.qcow2 50331648)")}"
	check_vm h1 vm-local "$T/local-h1/vol-local.qcow2"
	must h1 start_vm "{vm: $(vm_json vm-smp "$(encvol vol-smp "$SMP_POOL" vol-smp.qcow2)")}"
	check_vm h1 vm-smp "$T/smp/vol-smp.qcow2"
	must h1 start_vm "{vm: $(vm_json vm-sio "$(encvol vol-sio "$(sio_pool)" "$sio")")}"
	check_vm h1 vm-sio "/dev/disk/by-id/emc-vol-$SYS-$sio"
	must h1 start_vm "{vm: $(vm_json vm-stop "$(encvol vol-copy "$(local_pool h1)" vol-copy.qcow2)")}"
	check_vm h1 vm-stop "$T/local-h1/vol-copy.qcow2"
	must h1 stop_vm '{name:"vm-stop"}'
	! has_secret h1 "$(uuid3 "$T/local-h1/vol-copy.qcow2")" || fail "stop_vm left the secret"
	! running_on h1 vm-stop || fail "vm-stop still runs"
	# a domain gone behind the agent's back (QEMU died): stop_vm succeeds and still
	# undefines the secret it defined; a second stop_vm succeeds too (idempotent)
	must h1 start_vm "{vm: $(vm_json vm-stop "$(encvol vol-copy "$(local_pool h1)" vol-copy.qcow2)")}"
	virsh -q -c "$(uri h1)" destroy vm-stop >/dev/null || fail "virsh destroy vm-stop"
	has_secret h1 "$(uuid3 "$T/local-h1/vol-copy.qcow2")" || fail "the secret went with the domain"
	must h1 stop_vm '{name:"vm-stop"}'
	jq_true "$T/out.json" '.was_running == false and .secrets_undefined == 1'
	! has_secret h1 "$(uuid3 "$T/local-h1/vol-copy.qcow2")" || fail "stop_vm of a gone domain left the secret"
	must h1 stop_vm '{name:"vm-stop"}'
	jq_true "$T/out.json" '.was_running == false and .secrets_undefined == 0'
	echo "VMs started after $(($(date +%s) - t0)) s"

	# --- live migration h1 -> h2 on each pool type -----------------------------------------
	migrate h1 h2 vm-smp "$(vm_json vm-smp "$(encvol vol-smp "$SMP_POOL" vol-smp.qcow2)")"
	! has_secret h1 "$(uuid3 "$T/smp/vol-smp.qcow2")" || fail "smp secret left on h1"
	check_vm h2 vm-smp "$T/smp/vol-smp.qcow2"

	sio_map "$sio" h2 # the control plane maps the volume to the destination first
	migrate h1 h2 vm-sio "$(vm_json vm-sio "$(encvol vol-sio "$(sio_pool)" "$sio")")"
	sio_unmap "$sio" h1
	! has_secret h1 "$(uuid3 "/dev/disk/by-id/emc-vol-$SYS-$sio")" || fail "ScaleIO secret left on h1"
	check_vm h2 vm-sio "/dev/disk/by-id/emc-vol-$SYS-$sio"

	migrate h1 h2 vm-local "$(vm_json vm-local "$(encvol vol-local "$(local_pool h2)" vol-local.qcow2 50331648)")" \
		"copy_storage: true, vm: $(vm_json vm-local "$(encvol vol-local "$(local_pool h1)" vol-local.qcow2)"), dest_vm: $(vm_json vm-local "$(encvol vol-local "$(local_pool h2)" vol-local.qcow2)")"
	! has_secret h1 "$(uuid3 "$T/local-h1/vol-local.qcow2")" || fail "local secret left on h1"
	check_vm h2 vm-local "$T/local-h2/vol-local.qcow2"
	inspect_ok "$T/local-h2/vol-local.qcow2"
	echo "migrations done after $(($(date +%s) - t0)) s"

	# --- hygiene while everything runs -------------------------------------------------------
	[ -z "$(find "$D"/h*/agent-keys -type f)" ] || fail "key files left: $(find "$D"/h*/agent-keys -type f)"
	[ "$(stat -c %a "$D/h1/agent-keys")" = 700 ] || fail "key dir not 0700"
	if grep -rlF -e "$(cat "$S/pp")" "$D" "$T/logs" "$T"/serial-*.log "$T/qemu-cmdlines" 2>/dev/null; then
		fail "the passphrase is in the files above"
	fi
	if grep -rlF -e "$(cut -c 9-40 "$S/pp")" "$D" "$T/logs" 2>/dev/null; then
		fail "part of the passphrase is in the files above"
	fi

	# --- stop, delete ---------------------------------------------------------------------------
	for v in vm-smp vm-sio vm-local; do must h2 stop_vm "{name:\"$v\"}"; done
	[ -z "$(virsh -q -c "$(uri h2)" secret-list)" ] || fail "secrets left on h2: $(virsh -c "$(uri h2)" secret-list)"
	[ -z "$(virsh -q -c "$(uri h1)" secret-list)" ] || fail "secrets left on h1"
	must h1 delete_volume "{volume: $(encvol vol-local "$(local_pool h1)" vol-local.qcow2)}"
	must h2 delete_volume "{volume: $(encvol vol-local "$(local_pool h2)" vol-local.qcow2)}"
	must h1 delete_volume "{volume: $(encvol vol-copy "$(local_pool h1)" vol-copy.qcow2)}"
	must h1 delete_volume "{volume: $(encvol vol-smp "$SMP_POOL" vol-smp.qcow2)}"
	must h2 delete_volume "{volume: $(encvol vol-sio "$(sio_pool)" "$sio")}"
	expect_exit 1 "$VECS" inspect --passphrase-file "$S/pp" "$(sio_dev h2 "$sio")" >/dev/null
	[ -z "$(find "$T"/local-h* "$T/smp" -type f)" ] || fail "volumes left: $(find "$T"/local-h* "$T/smp" -type f)"
	# --- NFS: vecs-nfs in the run; qemu-img and QEMU reach it from the hosts' netns ----------
	local nfs_pool='{type:"nfs", uuid:"nfs1", name:"nfs1", host:"10.251.1.1", path:"/export"}'
	"$VECS_BIN/vecs-nfs" up --dir "$D" >"$T/logs/nfs-up.out" 2>&1 || fail "vecs-nfs up: $(cat "$T/logs/nfs-up.out")"
	must h1 create_volume "{volume: $(encvol v-nfs "$nfs_pool" v-nfs.qcow2 67108864)}"
	[ -f "$D/nfs/export/v-nfs.qcow2" ] || fail "nfs: no v-nfs.qcow2 on the server"
	inspect_ok "$D/nfs/export/v-nfs.qcow2"
	! call h1 create_volume "{volume: $(encvol v-nfs "$nfs_pool" v-nfs.qcow2 67108864)}" || fail "nfs: create over an existing volume"
	grep -q 'already exists' "$T/err.txt" || fail "nfs: $(cat "$T/err.txt")"
	must h1 start_vm "{vm: $(vm_json vm-nfs "$(encvol v-nfs "$nfs_pool" v-nfs.qcow2)")}"
	check_vm h1 vm-nfs /mnt/nfs1/v-nfs.qcow2
	grep -q "protocol='nfs' name='/export/v-nfs.qcow2'" "$T/dom.xml" || fail "vm-nfs: not an NFS network disk"
	migrate h1 h2 vm-nfs "$(vm_json vm-nfs "$(encvol v-nfs "$nfs_pool" v-nfs.qcow2)")"
	check_vm h2 vm-nfs /mnt/nfs1/v-nfs.qcow2
	! has_secret h1 "$(uuid3 /mnt/nfs1/v-nfs.qcow2)" || fail "nfs: secret left on h1 after migration"
	must h2 stop_vm '{name:"vm-nfs"}'
	must h2 resize_volume "{volume: $(encvol v-nfs "$nfs_pool" v-nfs.qcow2), new_size: 134217728}"
	jq_true "$T/out.json" '.size == 134217728'
	inspect_ok "$D/nfs/export/v-nfs.qcow2"
	must h2 delete_volume "{volume: $(encvol v-nfs "$nfs_pool" v-nfs.qcow2)}"
	[ ! -e "$D/nfs/export/v-nfs.qcow2" ] || fail "nfs: v-nfs.qcow2 left after delete_volume"
	[ -z "$(virsh -q -c "$(uri h2)" secret-list)" ] || fail "nfs: secrets left on h2"
	"$VECS_BIN/vecs-nfs" down --dir "$D" >/dev/null 2>&1 || fail "vecs-nfs down"

	grep -c 'Unable to get accurate CPU usage' "$T"/logs/agent-h*.log || true
	stop agent-h1
	stop agent-h2
	[ ! -e "$D/h1/agent-keys" ] || fail "agent-keys left after stop"
	stop gw
	stop drive
	"$HOST" down --dir "$D" 2>"$T/down.log" || fail "down: $(cat "$T/down.log")"
	"$GW" --reap --data-dir "$T/gw"
	echo "total $(($(date +%s) - t0)) s"
}

# --no-encryption: the capability is reported false and encrypted volumes are refused.
test_host_without_encryption() {
	D=$T/stack
	S=$T/secrets
	mkdir -m 0700 "$D" "$S" "$T/pids" "$T/logs" "$T/run" "$T/local-h1"
	(umask 077; head -c 48 /dev/urandom | base64 -w0 >"$S/pp"
	 printf 'db.cloud.encrypt.secret=it-%s\n' "$RANDOM" >"$S/key.props"
	 od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$S/token-h1"
	 printf 'h1 %s\n' "$(cat "$S/token-h1")" >"$S/tokens")
	"$HOST" up --dir "$D" --name h1 --index 1 >/dev/null
	CTL=$T/run/drive.sock
	start drive "$DRIVE" serve --socket "$T/run/agent.sock" --tokens "$S/tokens" --db "$T/mgmt.db" \
		--key-file "$S/key.props" --ctl "$CTL"
	for _ in $(seq 100); do [ -S "$CTL" ] && break; sleep 0.05; done
	start agent-h1 "$AGENT" --host-dir "$D/h1" --mgmt-socket "$T/run/agent.sock" \
		--token-file "$S/token-h1" --kdf fast --no-encryption --log "$T/logs/agent-h1.log"
	"$DRIVE" wait --ctl "$CTL" --host h1 --timeout 20
	must h1 host_info '{}'
	jq_true "$T/out.json" '.encryptionsupported == false'
	! call h1 create_volume "{volume: $(encvol v "$(local_pool h1)" v.qcow2 1048576)}" || fail "encrypted volume accepted"
	grep -q 'does not support volume encryption' "$T/err.txt" || fail "refusal: $(cat "$T/err.txt")"
	[ -z "$(ls -A "$T/local-h1")" ] || fail "a refused create left a file"
	must h1 create_volume "{volume:{name:\"plain\", pool:$(local_pool h1), path:\"plain.qcow2\", size:1048576}}"
	jq_true "$T/out.json" '.encrypt_format == null'
	stop agent-h1
	stop drive
	"$HOST" down --dir "$D"
}

run_tests
