#!/usr/bin/env bash
# The emulated PowerFlex gateway (reference-impl/storage/README.md, build/bin/vecs-scaleio-gw)
# driven with curl as CloudStack's ScaleIOGatewayClientImpl drives it: sessions, volumes on
# real loop devices exposed to SDCs as by-id links, cryptsetup LUKS1 and QEMU's luks driver
# on the mapped device, resize, snapshot, PowerFlex error objects, restart and reap.
. "$(dirname "$0")/lib.sh"

GW="$VECS_BIN/vecs-scaleio-gw"
SYS=0123456789abcdef

# gw_start [ARGS...]: start a gateway on $T/data with SDCs h1 and h2; sets U (API URL),
# PID. Granularity 1 MiB keeps the volumes small (PowerFlex itself: 8 GiB).
gw_start() {
	[ -f "$T/pw" ] || { printf 'gw-password' >"$T/pw"; chmod 600 "$T/pw"; }
	rm -f "$T/url"
	"$GW" --data-dir "$T/data" --system-id $SYS --password-file "$T/pw" \
		--sdc "h1=$T/hosts/h1/dev/disk/by-id" --sdc "h2@127.0.1.22=$T/hosts/h2/dev/disk/by-id" \
		--granularity-kb 1024 --capacity-gb 100 --url-file "$T/url" "$@" \
		>/dev/null 2>>"$T/gw.log" &
	PID=$!
	echo "$PID" >"$T/gw.pid"
	for _ in $(seq 100); do [ -s "$T/url" ] && break; sleep 0.05; done
	[ -s "$T/url" ] || fail "gateway did not start: $(cat "$T/gw.log")"
	U=$(cat "$T/url")
}

# gw_stop [SIGNAL]: stop the gateway this test started (by its recorded pid) and wait.
gw_stop() {
	kill -"${1:-TERM}" "$PID"
	wait "$PID" || [ "${1:-TERM}" = KILL ]
	rm -f "$T/gw.pid"
}

# Runs after every test, in the parent shell: the gateway this test started, if still
# running, and everything of its ledger.
sio_cleanup() {
	local pid
	pid=$(cat "$T/gw.pid" 2>/dev/null) || pid=
	if [ -n "$pid" ] && grep -qz vecs-scaleio-gw "/proc/$pid/cmdline" 2>/dev/null; then
		kill -KILL "$pid"
		sleep 0.1
	fi
	"$GW" --reap --data-dir "$T/data" 2>/dev/null || true
}
T_CLEANUP='sio_cleanup'

login() { TOK=$(curl -sf -u "admin:$(cat "$T/pw")" "$U/login" | tr -d '"'); [ -n "$TOK" ]; }

# api METHOD PATH [JSON]: body to $T/out, HTTP status to stdout.
api() {
	local m=$1 p=$2
	shift 2
	if [ "$m" = POST ]; then
		curl -s -o "$T/out" -w '%{http_code}' -u "admin:$TOK" -H 'Content-Type: application/json' \
			-d "${1:-}" "$U$p"
	else
		curl -s -o "$T/out" -w '%{http_code}' -u "admin:$TOK" "$U$p"
	fi
}

# ok METHOD PATH [JSON]: must answer 200.
ok() {
	local s
	s=$(api "$@")
	[ "$s" = 200 ] || fail "$1 $2: HTTP $s: $(cat "$T/out")"
}

# refused STATUS ERRORCODE METHOD PATH [JSON]: PowerFlex's error object, exactly.
refused() {
	local want=$1 code=$2 s
	shift 2
	s=$(api "$@")
	[ "$s" = "$want" ] || fail "$1 $2: expected HTTP $want, got $s: $(cat "$T/out")"
	jq_true "$T/out" ".httpStatusCode == $want and .errorCode == $code and (.message | length > 0)"
}

pool_id() { ok GET /types/StoragePool/instances; jq -r '.[0].id' "$T/out"; }
sdc_id() { ok GET /types/Sdc/instances; jq -r ".[] | select(.name == \"$1\") | .id" "$T/out"; }
create() {
	ok POST /types/Volume/instances \
		"{\"name\":\"$1\",\"volumeSizeInKb\":\"$2\",\"storagePoolId\":\"$POOL\",\"volumeType\":\"ThinProvisioned\"}"
	jq -r .id "$T/out"
}
map() { ok POST "/instances/Volume::$1/action/addMappedSdc" "{\"sdcId\":\"$2\",\"allowMultipleMappings\":\"TRUE\"}"; }
unmap() { ok POST "/instances/Volume::$1/action/removeMappedSdc" "{\"sdcId\":\"$2\"}"; }
link_of() { echo "$T/hosts/$1/dev/disk/by-id/emc-vol-$SYS-$2"; }

# dev_of HOST VOLUME: the block device the SDC link points at (checked to be one).
dev_of() {
	local l dev
	l=$(link_of "$1" "$2")
	[ -L "$l" ] || fail "no SDC link $l"
	dev=$(readlink "$l")
	[ -b "$dev" ] || fail "$l -> $dev is not a block device"
	echo "$dev"
}

# assert_gone: no loop device, link or file of this test's gateway is left.
assert_gone() {
	! losetup -a | grep -q "$T/" || fail "loop devices left: $(losetup -a | grep "$T/")"
	[ ! -e "$T/data" ] || fail "data dir left: $(ls -la "$T/data")"
	[ -z "$(find "$T/hosts" -mindepth 1 2>/dev/null)" ] || fail "SDC links left: $(find "$T/hosts")"
}

test_sessions_and_errors() {
	gw_start --token-ttl 2
	[ "$(curl -s -o /dev/null -w '%{http_code}' -u admin:wrong "$U/login")" = 401 ] ||
		fail "a wrong password logged in"
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$U/types/Volume/instances")" = 401 ] ||
		fail "no credentials were accepted"
	login
	TOK_REAL=$TOK
	TOK=not-a-token
	refused 401 0 GET /version
	TOK=$TOK_REAL
	ok GET /version
	[ "$(cat "$T/out")" = '"3.6"' ] || fail "version: $(cat "$T/out")"
	POOL=$(pool_id)
	ok GET "/instances/StoragePool::$POOL"
	jq_true "$T/out" '.statistics.maxCapacityInKb == "209715200" and .protectionDomainId != null'
	ok GET /types/Sdc/instances
	jq_true "$T/out" 'length == 2 and (.[1].sdcIp == "127.0.1.22") and all(.[]; .mdmConnectionState == "Connected" and (.id | test("^[0-9a-f]{16}$")) and (.sdcGuid | length) == 36)'
	ok POST /types/Sdc/instances/action/queryIdByKey '{"ip":"127.0.1.22"}'
	[ "$(jq -r . "$T/out")" = "$(sdc_id h2)" ] || fail "SDC query by IP"

	# sizes round up to the granularity; CloudStack's volumeSizeInGb is accepted too
	v=$(create vol-a 1500)
	ok GET "/instances/Volume::$v"
	jq_true "$T/out" ".id == \"$v\" and .name == \"vol-a\" and .sizeInKb == 2048 and .volumeType == \"ThinProvisioned\" and .mappedSdcInfo == null and .storagePoolId == \"$POOL\""
	ok POST /types/Volume/instances "{\"name\":\"vol-gb\",\"volumeSizeInGb\":\"1\",\"storagePoolId\":\"$POOL\"}"
	ok GET "/instances/Volume::$(jq -r .id "$T/out")"
	jq_true "$T/out" '.sizeInKb == 1048576'
	ok POST /types/Volume/instances/action/queryIdByKey '{"name":"vol-a"}'
	[ "$(cat "$T/out")" = "\"$v\"" ] || fail "queryIdByKey: $(cat "$T/out")"

	h1=$(sdc_id h1)
	refused 500 99 POST /types/Volume/instances "{\"name\":\"vol-a\",\"volumeSizeInKb\":\"1024\",\"storagePoolId\":\"$POOL\"}"
	refused 500 3 POST /types/Volume/instances "{\"name\":\"vol-x\",\"volumeSizeInKb\":\"1024\",\"storagePoolId\":\"ffffffffffffffff\"}"
	refused 400 0 POST /types/Volume/instances '{"name": "vol-x", '
	refused 400 0 POST /types/Volume/instances "{\"name\":\"vol-x\",\"volumeSizeInKb\":\"-5\",\"storagePoolId\":\"$POOL\"}"
	refused 500 79 GET /instances/Volume::00000000deadbeef
	refused 500 79 POST /instances/Volume::00000000deadbeef/action/removeVolume '{"removeMode":"ONLY_ME"}'
	refused 500 79 POST /types/Volume/instances/action/queryIdByKey '{"name":"nope"}'
	refused 500 3 POST "/instances/Volume::$v/action/addMappedSdc" '{"sdcId":"0000000000000000"}'
	refused 500 84 POST "/instances/Volume::$v/action/removeMappedSdc" "{\"sdcId\":\"$h1\"}"
	map "$v" "$h1"
	refused 500 81 POST "/instances/Volume::$v/action/addMappedSdc" "{\"sdcId\":\"$h1\",\"allowMultipleMappings\":\"TRUE\"}"
	refused 500 81 POST "/instances/Volume::$v/action/addMappedSdc" "{\"sdcId\":\"$(sdc_id h2)\"}"
	refused 500 104 POST "/instances/Volume::$v/action/removeVolume" '{"removeMode":"ONLY_ME"}'
	ok POST "/instances/Volume::$v/action/setVolumeSize" '{"sizeInGB":"2"}'
	refused 500 133 POST "/instances/Volume::$v/action/setVolumeSize" '{"sizeInGB":"1"}'
	refused 404 0 GET /instances/Nothing::1

	# fault hook: the next 2 requests fail with 500, then all is well again
	ok POST /vecs/faults '{"failNext":2}'
	refused 500 500 GET /version
	refused 500 500 GET /version
	ok GET /version
	# fault hook: the SDC loses the device behind the client's back
	ok POST /vecs/faults "{\"unmapVolumeId\":\"$v\"}"
	[ ! -e "$(link_of h1 "$v")" ] || fail "unmapVolumeId left the link"
	ok GET "/instances/Volume::$v"
	jq_true "$T/out" '.mappedSdcInfo == null'

	# an idle token expires (401) and the client logs in again, as CloudStack does
	sleep 3
	refused 401 0 GET /version
	login
	ok GET /version
	grep -q "$TOK" "$T/gw.log" && fail "a token was logged"
	grep -q gw-password "$T/gw.log" && fail "the password was logged"
	gw_stop
	"$GW" --reap --data-dir "$T/data"
	assert_gone
}

test_luks_on_mapped_volume() {
	local seed=7341 k=$T/key v1 v2 snap h1 h2 dev dev2 sdev
	umask 077
	head -c 48 /dev/urandom | base64 -w0 >"$k"
	gw_start
	login
	POOL=$(pool_id)
	h1=$(sdc_id h1)
	h2=$(sdc_id h2)
	v1=$(create data-1 16384)
	v2=$(create data-2 16384)
	map "$v1" "$h1"
	ok GET "/instances/Volume::$v1"
	jq_true "$T/out" ".mappedSdcInfo | length == 1 and .[0].sdcId == \"$h1\" and .[0].sdcIp == \"127.0.1.1\""
	dev=$(dev_of h1 "$v1")
	[ "$(blockdev --getsize64 "$dev")" = $((16 << 20)) ] || fail "$dev is not 16 MiB"
	losetup -a | grep -q "^$dev: .*($T/data/$v1.vol)" || fail "$dev does not back $v1: $(losetup -a)"
	[ ! -e "$(link_of h2 "$v1")" ] || fail "an unmapped SDC sees the volume"

	# CloudStack on a ScaleIO data disk: cryptsetup LUKS1, data through QEMU's luks driver
	cryptsetup luksFormat -q --type luks1 --pbkdf-force-iterations 1000 --key-file "$k" "$dev"
	"$VECS" inspect --json --passphrase-file "$k" "$(link_of h1 "$v1")" >"$T/inspect.json"
	jq_true "$T/inspect.json" '.luks.version == 1 and .passphrase.keyslot == 0 and .findings == []'
	"$VECS" canary --seed $seed --size 8M >"$T/canary.raw"
	qemu_img convert -n -f raw --object "secret,file=$k,id=sec0" \
		--target-image-opts "$T/canary.raw" "driver=luks,key-secret=sec0,file.driver=host_device,file.filename=$dev"
	expect_exit 0 "$VECS" scan --seed $seed "$dev" "$T/data/$v1.vol"
	qemu_img convert -O raw --object "secret,file=$k,id=sec0" \
		--image-opts "driver=luks,key-secret=sec0,file.driver=host_device,file.filename=$dev" "$T/back.raw"
	cmp -n $((8 << 20)) "$T/back.raw" "$T/canary.raw" || fail "read back through LUKS is not the canary"

	# resize grows the device in place
	ok POST "/instances/Volume::$v1/action/setVolumeSize" '{"sizeInGB":"1"}'
	[ "$(blockdev --getsize64 "$dev")" = $((1 << 30)) ] || fail "$dev did not grow to 1 GiB"
	ok GET "/instances/Volume::$v1"
	jq_true "$T/out" '.sizeInKb == 1048576'

	# snapshot: a new volume with the same bytes, in the same VTree
	ok POST /instances/System/action/snapshotVolumes "{\"snapshotDefs\":[{\"volumeId\":\"$v1\",\"snapshotName\":\"snap-1\"}]}"
	jq_true "$T/out" '.snapshotGroupId != null and (.volumeIdList | length == 1)'
	snap=$(jq -r '.volumeIdList[0]' "$T/out")
	ok GET "/instances/Volume::$snap"
	jq_true "$T/out" ".volumeType == \"Snapshot\" and .ancestorVolumeId == \"$v1\" and .vtreeId == \"$v1\" and .name == \"snap-1\" and .sizeInKb == 1048576"
	map "$snap" "$h2"
	sdev=$(dev_of h2 "$snap")
	cmp "$dev" "$sdev" || fail "the snapshot's bytes differ from the volume's"
	"$VECS" inspect --passphrase-file "$k" "$sdev" >/dev/null

	# unmap removes the link; map to another host shows the same device there
	unmap "$v1" "$h1"
	[ ! -e "$(link_of h1 "$v1")" ] || fail "unmap left $(link_of h1 "$v1")"
	map "$v1" "$h2"
	[ "$(dev_of h2 "$v1")" = "$dev" ] || fail "h2 sees another device"
	"$VECS" inspect --passphrase-file "$k" "$(link_of h2 "$v1")" >/dev/null

	# delete: loop detached, file gone
	dev2=$(losetup -a | awk -F: -v f="($T/data/$v2.vol)" 'index($0, f) { print $1 }')
	[ -n "$dev2" ] || fail "volume $v2 has no loop device"
	ok POST "/instances/Volume::$v2/action/removeVolume" '{"removeMode":"ONLY_ME"}'
	[ ! -e "$T/data/$v2.vol" ] || fail "removeVolume left the file"
	! losetup -a | grep -q "$T/data/$v2.vol" || fail "removeVolume left the loop device"
	refused 500 79 GET "/instances/Volume::$v2"
	gw_stop
	# SIGTERM: devices and links gone, volumes kept
	! losetup -a | grep -q "$T/" || fail "a clean stop left loop devices"
	[ -z "$(find "$T/hosts" -type l)" ] || fail "a clean stop left links"
	[ -f "$T/data/$v1.vol" ] && [ -f "$T/data/$snap.vol" ] || fail "a clean stop lost volumes"
	"$GW" --reap --data-dir "$T/data"
	assert_gone
}

test_restart_keeps_volumes_and_reap_cleans() {
	local k=$T/key v h1 dev
	umask 077
	head -c 48 /dev/urandom | base64 -w0 >"$k"
	gw_start
	login
	POOL=$(pool_id)
	h1=$(sdc_id h1)
	v=$(create keep-me 8192)
	map "$v" "$h1"
	cryptsetup luksFormat -q --type luks1 --pbkdf-force-iterations 1000 --key-file "$k" "$(dev_of h1 "$v")"

	# clean restart: re-attached, re-linked, same bytes; old tokens are gone
	gw_stop
	gw_start
	refused 401 0 GET /version
	login
	ok GET "/instances/Volume::$v"
	jq_true "$T/out" ".name == \"keep-me\" and .sizeInKb == 8192 and (.mappedSdcInfo | length == 1)"
	dev=$(dev_of h1 "$v")
	"$VECS" inspect --passphrase-file "$k" "$dev" >/dev/null

	# kill -9: the next start adopts the loop device and link it left
	gw_stop KILL
	losetup -a | grep -q "^$dev: .*$T/data/$v.vol" || fail "kill -9 should leave the device"
	gw_start
	[ "$(dev_of h1 "$v")" = "$dev" ] || fail "restart after kill -9 did not adopt $dev"
	[ "$(losetup -a | grep -c "$T/data/$v.vol")" = 1 ] || fail "two loop devices on one volume"
	# a second gateway on the same data dir is refused
	expect_exit 2 "$GW" --data-dir "$T/data" --system-id $SYS --password-file "$T/pw"
	expect_exit 2 "$GW" --reap --data-dir "$T/data"

	# kill -9, then --reap: nothing left
	gw_stop KILL
	"$GW" --reap --data-dir "$T/data"
	assert_gone
}

run_tests
