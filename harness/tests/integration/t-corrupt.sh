#!/usr/bin/env bash
# `vecs corrupt` against the real stack: every target, on a qcow2 with LUKS made by
# qemu-img and on a raw LUKS1 file made by cryptsetup luksFormat, each with data
# written through the encryption layer (qemu-io). For every seed in $SEEDS the flip is
# applied, then the observed behaviour is asserted:
#   (a) `vecs inspect --json --passphrase-file`: exit status and finding ids;
#   (b) qemu-io (open + read -P of the written patterns) and qemu-img convert with the
#       right secret: refused with the error in the table, or reading the same bytes as
#       before (harmless), or opening and reading other bytes (undetectable);
#   (c) raw only: cryptsetup luksDump and luksOpen --test-passphrase (exit status and
#       message; no mapping is ever activated: this kernel has no device-mapper);
# then `vecs corrupt --restore` must give back a file with the same sha256.
# The expectation column must equal the library's own table (`vecs corrupt --list`), so
# a change in QEMU, cryptsetup, inspect or the table turns this red.
# faults/README.md ("Corruption") is this table in prose.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inspect-lib.sh" # expect_ids

SEEDS=${VECS_CORRUPT_SEEDS:-"1 2 3"}

# The clean volumes, made once per script into $VOLS (removed on exit); tests copy them.
make_volumes() {
	VOLS=$(mktemp -d "${TMPDIR:-/tmp}/vecs-it-corrupt.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$VOLS'" EXIT
	(
		set -e
		umask 077
		head -c 48 /dev/urandom | base64 -w0 >"$VOLS/pass.key"
		sec=(--object "secret,id=s0,file=$VOLS/pass.key")
		for try in 1 2 3; do
			err=$(qemu_img create -q "${sec[@]}" -f qcow2 \
				-o encrypt.format=luks,encrypt.key-secret=s0 "$VOLS/q.qcow2" 16M 2>&1) && break
			case $err in *"Unable to get accurate CPU usage"*) [ "$try" -lt 3 ] && continue ;; esac
			echo "qemu-img create: $err" >&2
			exit 1
		done
		truncate -s 8M "$VOLS/r.luks"
		cryptsetup luksFormat -q --type luks1 --pbkdf-force-iterations 1000 --cipher aes-xts-plain64 \
			--key-size 512 --hash sha256 --key-file "$VOLS/pass.key" "$VOLS/r.luks"
		for k in q r; do
			qemu-io "${sec[@]}" --image-opts "$(opts $k "$VOLS/$(vol $k)")" \
				-c 'write -P 0x5a 0 128k' -c 'write -P 0xa5 1M 64k' >/dev/null
			# the plaintext every harmless corruption must still read
			qemu-img convert "${sec[@]}" --image-opts "$(opts $k "$VOLS/$(vol $k)")" -O raw "$VOLS/$k.plain"
		done
		"$VECS" corrupt --list --json >"$VOLS/targets.json"
	) || {
		echo "t-corrupt: could not make the volumes (qemu-img, qemu-io, cryptsetup, $SHIM)" >&2
		exit 1
	}
}

vol() { if [ "$1" = q ]; then echo q.qcow2; else echo r.luks; fi; }

# opts q|r FILE: the --image-opts that open FILE through the encryption layer.
opts() {
	if [ "$1" = q ]; then
		echo "driver=qcow2,file.filename=$2,encrypt.key-secret=s0"
	else
		echo "driver=luks,file.filename=$2,key-secret=s0"
	fi
}

make_volumes

declare -A CC
# ccase KIND TARGET EXPECT INSPECT_RC "REQUIRED IDS" "ALLOWED IDS" QEMU_ERROR_RE [DUMP_RC TEST_RC TEST_RE]
#   KIND q (qcow2) or r (raw LUKS1); EXPECT refused|harmless|undetectable; an rc may be
#   "a|b"; QEMU_ERROR_RE is the open error (refused) as an extended regex.
# shellcheck disable=SC2034 # CC is read through eval in the generated test functions
ccase() {
	local name="${1}_${2//./_}"
	CC[$name]=$(printf '%q ' "$@")
	eval "test_${name}() { eval run_case \${CC[$name]}; }"
}

NOKEY="Invalid password, cannot unlock any keyslot"
CS_NOKEY="No key available with this passphrase"
BADPW="passphrase.no_unlock"
KEYOFF_IDS="passphrase.no_unlock passphrase.undecided luks.keyslot_payload_overlap luks.device_size luks.keyslot_overlap luks.keyslot_offset oracle.libcryptsetup_failed"
KEYOFF_QEMU="Keyslots [0-7] and [0-7] are overlapping in the header|Keyslot 0 is overlapping with the (encrypted payload|LUKS header)"
KEYBYTES_QEMU="Keyslots [0-7] and [0-7] are overlapping in the header|Keyslot [0-7] is overlapping with the encrypted payload|Algorithm 'aes' with key size [0-9]+ bytes not supported"
MODE_QEMU="(Cipher mode|IV generator) '.*' not supported|Unexpected cipher mode string format"
# cryptsetup checks an unknown cipher by setting up a device-mapper table; this kernel
# has none, so that is the message here (with dm-crypt it would name the cipher).
NODM="Cannot initialize device-mapper"

for k in q r; do
	if [ $k = q ]; then magic_ids=luks.magic po_rc=1 po_ids=luks.payload_offset po_exp=harmless
	else magic_ids=container.not_encrypted po_rc=0 po_ids="" po_exp=undetectable; fi
	ccase $k luks.magic refused 1 "$magic_ids" "" "Volume is not in LUKS format" \
		1 1 "is not a valid LUKS device"
	ccase $k luks.version refused 1 "luks.version" "" "LUKS version [0-9]+ is not supported" \
		1 1 "Unsupported LUKS version [0-9]+|is not a valid LUKS device"
	ccase $k luks.cipher_name refused 1 "profile.cipher_name passphrase.undecided" "luks.cipher_name" \
		"Algorithm '.*' with key size 32 bytes not supported" 0 1 "$NODM"
	ccase $k luks.cipher_mode refused 1 "profile.cipher_mode passphrase.undecided" "luks.cipher_mode luks.key_bytes" \
		"$MODE_QEMU" 0 1 "$NODM"
	ccase $k luks.hash_spec refused 1 "luks.hash_spec profile.hash_spec passphrase.undecided" "" \
		"Hash algorithm '.*' not supported" 1 1 "Requested LUKS hash .* is not supported"
	# raw: a real finding. The payload moves, nobody notices, reads return other bytes.
	ccase $k luks.payload_offset $po_exp $po_rc "$po_ids" "" "" 0 0 ""
	ccase $k luks.key_bytes refused 1 "luks.key_bytes profile.key_bytes passphrase.undecided" \
		"luks.keyslot_payload_overlap luks.device_size luks.keyslot_overlap" "$KEYBYTES_QEMU" \
		1 1 "LUKS keyslot [0-7] is invalid|is not a valid LUKS device"
	ccase $k luks.mk_digest refused 1 "$BADPW" "" "$NOKEY" 0 2 "$CS_NOKEY"
	ccase $k luks.mk_digest_salt refused 1 "$BADPW" "" "$NOKEY" 0 2 "$CS_NOKEY"
	ccase $k luks.mk_digest_iter refused 1 "$BADPW" "" "$NOKEY" 0 2 "$CS_NOKEY"
	ccase $k luks.uuid harmless "0|1" "" "luks.uuid" "" 0 0 ""
	ccase $k luks.ks0.active refused 1 "luks.keyslot_state luks.no_active_keyslot profile.keyslot_count $BADPW" "" \
		"Keyslot 0 state \(active/disable\) is corrupted" 0 1 "No usable keyslot is available"
	ccase $k luks.ks0.iterations refused 1 "$BADPW" "" "$NOKEY" 0 2 "$CS_NOKEY"
	ccase $k luks.ks0.salt refused 1 "$BADPW" "" "$NOKEY" 0 2 "$CS_NOKEY"
	ccase $k luks.ks0.key_offset refused 1 "" "$KEYOFF_IDS" "$KEYOFF_QEMU" \
		"0|1" "1|2" "LUKS keyslot [0-7] is invalid|$CS_NOKEY"
	ccase $k luks.ks0.stripes refused 1 "luks.keyslot_stripes $BADPW" "oracle.libcryptsetup_failed" \
		"Keyslot 0 is corrupted \(stripes [0-9]+ != 4000\)" 1 1 "LUKS keyslot 0 is invalid"
	ccase $k luks.ks0.material refused 1 "$BADPW" "" "$NOKEY" 0 2 "$CS_NOKEY"
	ccase $k luks.ks1.active harmless 1 "profile.keyslot_count" "" "" 0 0 ""
	ccase $k ciphertext undetectable 0 "" "" "" 0 0 ""
done
ccase q qcow2.crypt_method refused 1 "qcow2.crypt_method qcow2.fde_unexpected" "" "Unsupported encryption method [0-9]+"
ccase q qcow2.crypto_ext refused 1 "" "qcow2.fde_bounds luks.magic" \
	"Volume is not in LUKS format|Encryption header offset '[0-9]+' is not a multiple of cluster size"
# QEMU does not check the region's length against the file: it opens and reads as before.
ccase q qcow2.crypto_ext_length harmless 1 "qcow2.fde_bounds" "" ""

# rc_in RC "A|B": RC is one of the alternatives.
rc_in() {
	case "|$2|" in *"|$1|"*) return 0 ;; esac
	return 1
}

# check_inspect RC "REQUIRED" "ALLOWED" EXPECT TARGET
check_inspect() {
	local want=$1 req=$2 allowed=$3 expect=$4 target=$5 got=0
	"$VECS" inspect --json --passphrase-file "$VOLS/pass.key" vol >i.json 2>i.err || got=$?
	rc_in "$got" "$want" || fail "vecs inspect exited $got, expected $want: $(head -c 2000 i.json) $(cat i.err)"
	[ ! -s i.err ] || fail "vecs inspect wrote to stderr: $(cat i.err)"
	expect_ids i.json "$req" "$allowed"
	# exit 1 exactly when a finding is an error (the uuid case may go either way)
	jq -e --argjson rc "$got" '(any(.findings[]; .severity == "error")) == ($rc == 1)' i.json >/dev/null ||
		fail "inspect exit $got does not match its findings: $(jq -c .findings i.json)"
	# A refused LUKS header must not unlock in inspect either. (qcow2.crypt_method
	# leaves the LUKS header intact: inspect fails the image and still says it unlocks.)
	case $expect:$target in
	refused:luks.*)
		jq -e '.passphrase.unlocks != true' i.json >/dev/null ||
			fail "inspect says the passphrase unlocks a header the stack refuses"
		;;
	esac
}

# check_qemu KIND EXPECT QEMU_ERROR_RE
check_qemu() {
	local k=$1 expect=$2 re=$3 qrc=0 crc=0
	local sec=(--object "secret,id=s0,file=$VOLS/pass.key")
	timeout 60 qemu-io "${sec[@]}" --image-opts "$(opts "$k" vol)" \
		-c 'read -P 0x5a 0 128k' -c 'read -P 0xa5 1M 64k' >q.out 2>&1 || qrc=$?
	timeout 60 qemu-img convert "${sec[@]}" --image-opts "$(opts "$k" vol)" -O raw conv.raw \
		>c.out 2>&1 || crc=$?
	case $expect in
	refused)
		[ "$qrc" -ne 0 ] || fail "qemu-io opened and read a volume it must refuse: $(cat -v q.out)"
		LC_ALL=C grep -aEq "can't open: ($re)" q.out || fail "qemu-io refused with another error than /$re/: $(cat -v q.out)"
		[ "$crc" -ne 0 ] || fail "qemu-img convert read a volume it must refuse"
		LC_ALL=C grep -aEq "Could not open .*: ($re)" c.out ||
			fail "qemu-img convert refused with another error than /$re/: $(cat -v c.out)"
		;;
	harmless)
		if [ "$qrc" -ne 0 ] || grep -aq "Pattern verification failed" q.out; then
			fail "qemu-io does not read the written data back (exit $qrc): $(cat -v q.out)"
		fi
		[ "$crc" -eq 0 ] || fail "qemu-img convert failed: $(cat -v c.out)"
		cmp -s conv.raw "$VOLS/$k.plain" || fail "qemu-img convert reads other bytes than before the corruption"
		;;
	undetectable)
		! grep -aq "can't open" q.out || fail "qemu-io refused to open (expected it to read other bytes): $(cat -v q.out)"
		grep -aq "Pattern verification failed" q.out ||
			fail "qemu-io read the written data unchanged (expected other bytes): $(cat -v q.out)"
		[ "$crc" -eq 0 ] || fail "qemu-img convert refused (expected other bytes): $(cat -v c.out)"
		! cmp -s conv.raw "$VOLS/$k.plain" || fail "qemu-img convert reads the same bytes as before"
		;;
	esac
	rm -f conv.raw
}

# check_cryptsetup DUMP_RC TEST_RC TEST_RE
check_cryptsetup() {
	local want_d=$1 want_t=$2 re=$3 d=0 t=0
	cryptsetup luksDump vol >dump.out 2>&1 || d=$?
	rc_in "$d" "$want_d" || fail "cryptsetup luksDump exited $d, expected $want_d: $(head -5 dump.out | cat -v)"
	cryptsetup luksOpen --test-passphrase --key-file "$VOLS/pass.key" vol >open.out 2>&1 || t=$?
	rc_in "$t" "$want_t" ||
		fail "cryptsetup luksOpen --test-passphrase exited $t, expected $want_t: $(cat -v open.out)"
	if [ -n "$re" ]; then
		LC_ALL=C grep -aEq "$re" open.out || fail "cryptsetup luksOpen --test-passphrase said $(cat -v open.out), not /$re/"
	fi
}

run_case() {
	local k=$1 target=$2 expect=$3 irc=$4 req=$5 allowed=$6 qre=$7
	local drc=${8:-} trc=${9:-} cre=${10:-} key sum0 seed
	[ "$k" = q ] && key=expect_qcow2 || key=expect_raw
	jq -e --arg t "$target" --arg k "$key" --arg e "$expect" \
		'any(.[]; .id == $t and .[$k] == $e)' "$VOLS/targets.json" >/dev/null ||
		fail "vecs corrupt --list does not say $target is $expect ($key): $(jq -c --arg t "$target" '.[] | select(.id == $t)' "$VOLS/targets.json")"
	cp --sparse=always "$VOLS/$(vol "$k")" vol
	sum0=$(sha256sum <vol)
	for seed in $SEEDS; do
		echo "--- $target seed $seed"
		"$VECS" corrupt --json --target "$target" --seed "$seed" --undo-file undo vol >apply.json ||
			fail "vecs corrupt --target $target --seed $seed failed"
		jq -e --arg e "$expect" --arg c "$([ "$k" = q ] && echo qcow2 || echo raw)" \
			'.expect == $e and .container == $c and (.old != .new)' apply.json >/dev/null ||
			fail "unexpected apply report: $(cat apply.json)"
		[ "$(sha256sum <vol)" != "$sum0" ] || fail "the volume did not change"
		[ "$(stat -c %a undo)" = 600 ] || fail "undo file mode is $(stat -c %a undo), not 600"
		check_inspect "$irc" "$req" "$allowed" "$expect" "$target"
		check_qemu "$k" "$expect" "$qre"
		[ "$k" = q ] || check_cryptsetup "$drc" "$trc" "$cre"
		"$VECS" corrupt --restore undo vol >/dev/null || fail "vecs corrupt --restore failed"
		[ "$(sha256sum <vol)" = "$sum0" ] || fail "restore did not give back the same bytes (sha256)"
		rm -f undo
	done
}

# qcow2-only targets on raw LUKS1: refused with a clear message, nothing written.
test_r_qcow2_targets_refused() {
	local t sum0
	cp --sparse=always "$VOLS/r.luks" vol
	sum0=$(sha256sum <vol)
	for t in qcow2.crypt_method qcow2.crypto_ext qcow2.crypto_ext_length; do
		expect_exit 2 "$VECS" corrupt --target "$t" --seed 1 vol 2>err.txt
		grep -q "raw LUKS1, not qcow2" err.txt || fail "unclear refusal: $(cat err.txt)"
		jq -e --arg t "$t" 'any(.[]; .id == $t and .expect_raw == "n/a")' "$VOLS/targets.json" >/dev/null ||
			fail "$t is not n/a on raw in --list"
	done
	[ "$(sha256sum <vol)" = "$sum0" ] || fail "a refused corruption changed the volume"
}

# A second write after the flip: restore refuses (exit 1) and leaves the bytes alone.
test_q_restore_refuses_changed_bytes() {
	local off
	cp --sparse=always "$VOLS/q.qcow2" vol
	"$VECS" corrupt --json --target luks.ks0.salt --seed 9 --undo-file undo vol >apply.json
	off=$(jq -r .offset apply.json)
	printf '\x00\x11' | dd of=vol bs=1 seek="$off" conv=notrunc status=none
	expect_exit 1 "$VECS" corrupt --restore undo vol 2>err.txt
	grep -q "not restored" err.txt || fail "unclear refusal: $(cat err.txt)"
	[ "$(od -An -tx1 -j "$off" -N2 vol | tr -d ' ')" = 0011 ] || fail "restore wrote over the newer bytes"
}

# A block device (how ScaleIO volumes reach the host): the flip, QEMU (luks over
# host_device) and cryptsetup refusing, restore, and QEMU reading the data again.
# shellcheck disable=SC2016,SC2034 # eval'd by run_tests (lib.sh)
T_CLEANUP='for l in $(cat "$T/loops" 2>/dev/null); do losetup -d "$l" 2>/dev/null; done'
test_r_block_device() {
	local loop sec=(--object "secret,id=s0,file=$VOLS/pass.key") qrc=0 t=0
	command -v losetup >/dev/null || fail "losetup is missing (util-linux)"
	cp --sparse=always "$VOLS/r.luks" vol
	loop=$(losetup -f --show "$T/vol") || fail "losetup could not attach $T/vol"
	echo "$loop" >>"$T/loops"
	"$VECS" corrupt --json --target luks.mk_digest --seed 1 --undo-file undo "$loop" >apply.json
	jq -e '.container == "raw" and .expect == "refused"' apply.json >/dev/null || fail "$(cat apply.json)"
	qemu-io "${sec[@]}" --image-opts "driver=luks,file.driver=host_device,file.filename=$loop,key-secret=s0" \
		-c 'read -P 0x5a 0 128k' >q.out 2>&1 || qrc=$?
	if [ "$qrc" -eq 0 ] || ! grep -q "can't open: $NOKEY" q.out; then
		fail "qemu-io on $loop did not refuse with '$NOKEY': $(cat q.out)"
	fi
	cryptsetup luksOpen --test-passphrase --key-file "$VOLS/pass.key" "$loop" 2>/dev/null || t=$?
	[ "$t" -eq 2 ] || fail "cryptsetup --test-passphrase on $loop exited $t, not 2"
	"$VECS" corrupt --restore undo "$loop" >/dev/null
	qemu-io "${sec[@]}" --image-opts "driver=luks,file.driver=host_device,file.filename=$loop,key-secret=s0" \
		-c 'read -P 0x5a 0 128k' -c 'read -P 0xa5 1M 64k' >q.out 2>&1 || fail "qemu-io after restore: $(cat q.out)"
	! grep -q "Pattern verification failed" q.out || fail "data differs after restore: $(cat q.out)"
	losetup -d "$loop"
	: >"$T/loops"
	cmp -s vol "$VOLS/r.luks" || fail "the volume differs from the original after restore"
}

# Every target of the library has a case here, on both kinds.
test_every_target_covered() {
	local t
	for t in $(jq -r '.[].id' "$VOLS/targets.json"); do
		case $t in qcow2.*) ;; *) [ -n "${CC[r_${t//./_}]:-}" ] || fail "no raw case for $t" ;; esac
		[ -n "${CC[q_${t//./_}]:-}" ] || fail "no qcow2 case for $t"
	done
}

run_tests
