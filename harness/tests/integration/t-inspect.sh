#!/usr/bin/env bash
# `vecs inspect` on images made by the real tools (fixtures/make-luks-images):
# conformant images, passphrases, profiles, keyslots, containers, block devices, usage
# errors and secret hygiene. Damaged headers: t-inspect-damage.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inspect-lib.sh"
inspect_images

# The conformant cryptsetup image: both oracles open keyslot 0; every header field is
# what cryptsetup luksDump prints.
test_conformant_cryptsetup_image() {
	inspect_json out.json 0 --passphrase-file "$IMG/pass.key" "$IMG/luks1.img"
	expect_ids out.json ""
	expect_oracles out.json unlocked unlocked 0
	jq_true out.json '.container == "raw" and .encrypted and .profile == "cloudstack-4.18"
		and .libcryptsetup_load == "ok" and (has("qcow2") | not)'
	jq_true out.json ".size == $(stat -c %s "$IMG/luks1.img")"
	jq_true out.json '.luks | .version == 1 and .cipher_name == "aes"
		and .cipher_mode == "xts-plain64" and .hash_spec == "sha256" and .key_bytes == 64
		and .active_keyslots == 1 and .keyslots[0].active and .keyslots[0].iterations == 1000
		and .payload_offset == 4096'
	expect_luksdump out.json "$IMG/luks1.img"
}

# Without a passphrase only the header is judged; the oracles do not run.
test_header_only() {
	inspect_json out.json 0 "$IMG/luks1.img"
	expect_ids out.json ""
	jq_true out.json '(.passphrase.checked | not) and (.passphrase.unlocks | not)
		and .passphrase.oracles.native.status == "not_run"
		and .passphrase.oracles.libcryptsetup.status == "not_run" and .libcryptsetup_load == "ok"'
	expect_luksdump out.json "$IMG/luks1.img"
}

# QEMU's qcow2 LUKS: the header sits at the FDE extension's offset; the fields match
# both qemu-img info and cryptsetup luksDump of the extracted region.
test_conformant_qemu_qcow2() {
	local off len info
	inspect_json out.json 0 --passphrase-file "$IMG/pass.key" "$IMG/qemu.qcow2"
	expect_ids out.json ""
	expect_oracles out.json unlocked unlocked 0
	off=$("$DAMAGE" "$IMG/qemu.qcow2" qcow2 luks_offset)
	jq_true out.json ".container == \"qcow2\" and .encrypted and .qcow2.version == 3
		and .qcow2.crypt_method == 2 and .qcow2.luks_offset == $off
		and .qcow2.virtual_size == 16777216 and .qcow2.cluster_bits == 16"
	len=$(jq .qcow2.luks_length out.json)
	dd if="$IMG/qemu.qcow2" of=region bs=65536 iflag=skip_bytes,count_bytes skip="$off" \
		count="$len" status=none
	expect_luksdump out.json region
	info=$(LD_PRELOAD=$SHIM qemu-img info --output=json "$IMG/qemu.qcow2" |
		jq -c '.["format-specific"].data.encrypt')
	jq -e --argjson q "$info" '.luks as $l | $q.format == "luks" and $q.uuid == $l.uuid
		and $q["cipher-alg"] == "aes-256" and $q["cipher-mode"] == "xts"
		and $q["ivgen-alg"] == "plain64" and $q["hash-alg"] == $l.hash_spec
		and $q["payload-offset"] == $l.payload_offset * 512
		and $q["master-key-iters"] == $l.mk_digest_iterations
		and ([range(8)] | all(. as $i | $q.slots[$i].active == $l.keyslots[$i].active
			and $q.slots[$i]["key-offset"] == $l.keyslots[$i].key_material_offset * 512
			and (($q.slots[$i].active | not) or $q.slots[$i].iters == $l.keyslots[$i].iterations)))' \
		out.json >/dev/null || fail "inspect $(jq -c .luks out.json) differs from qemu-img info $info"
}

test_conformant_qemu_raw_luks() {
	inspect_json out.json 0 --passphrase-file "$IMG/pass.key" "$IMG/qemu-raw.luks"
	expect_ids out.json ""
	expect_oracles out.json unlocked unlocked 0
	jq_true out.json '.container == "raw" and .luks.payload_offset == 4040'
	expect_luksdump out.json "$IMG/qemu-raw.luks"
}

# A wrong passphrase: exit 1, both oracles say not_unlocked, on every container.
test_wrong_passphrase() {
	local img
	for img in luks1.img qemu.qcow2 qemu-raw.luks luks1-2slots.img; do
		inspect_json out.json 1 --passphrase-file "$IMG/wrong.key" "$IMG/$img"
		case $img in
		luks1-2slots.img) expect_ids out.json "passphrase.no_unlock profile.keyslot_count" ;;
		*) expect_ids out.json "passphrase.no_unlock" ;;
		esac
		expect_oracles out.json not_unlocked not_unlocked
		expect_exit 2 cryptsetup open --test-passphrase --key-file "$IMG/wrong.key" "$IMG/luks1.img"
	done
	# The text report says so too, and still exits 1.
	expect_exit 1 "$VECS" inspect --passphrase-file "$IMG/wrong.key" "$IMG/luks1.img" >out.txt
	grep -q 'passphrase: does NOT unlock' out.txt || fail "text report: $(cat out.txt)"
	grep -q '^verdict: FAIL' out.txt || fail "text report: $(cat out.txt)"
}

# The passphrase file is used byte for byte: a trailing newline makes another
# passphrase, for inspect as for cryptsetup and QEMU.
test_trailing_newline_is_another_passphrase() {
	[ "$(wc -c <"$IMG/pass-newline.key")" -eq 65 ] || fail "fixture pass-newline.key is not 65 bytes"
	expect_exit 0 cryptsetup open --test-passphrase --key-file "$IMG/pass.key" "$IMG/luks1.img"
	expect_exit 2 cryptsetup open --test-passphrase --key-file "$IMG/pass-newline.key" "$IMG/luks1.img"
	for img in luks1.img qemu.qcow2; do
		inspect_json out.json 1 --passphrase-file "$IMG/pass-newline.key" "$IMG/$img"
		expect_ids out.json "passphrase.no_unlock"
		expect_oracles out.json not_unlocked not_unlocked
	done
}

# Hash and key-size variants: LUKS1-valid (the luks1 profile passes them) but not what
# CloudStack 4.18 writes; the right profile.* ids, and both oracles still open them.
test_profile_variants() {
	local img ids
	while read -r img ids; do
		inspect_json out.json 1 --passphrase-file "$IMG/pass.key" "$IMG/$img"
		expect_ids out.json "${ids//,/ }"
		expect_oracles out.json unlocked unlocked 0
		expect_luksdump out.json "$IMG/$img"
		inspect_json out.json 0 --profile luks1 --passphrase-file "$IMG/pass.key" "$IMG/$img"
		expect_ids out.json ""
		expect_oracles out.json unlocked unlocked 0
		jq_true out.json '.profile == "luks1"'
	done <<-'EOF'
		luks1-sha1.img profile.hash_spec
		luks1-sha512.img profile.hash_spec
		luks1-xts256.img profile.key_bytes
		luks1-sha1-xts256.img profile.hash_spec,profile.key_bytes
		luks1-cbc-essiv.img profile.cipher_mode,profile.key_bytes
	EOF
	jq_true out.json '.luks.cipher_mode == "cbc-essiv:sha256" and .luks.key_bytes == 32'
}

# The profile message names what was found and what is required.
test_profile_messages() {
	inspect_json out.json 1 "$IMG/luks1-sha1-xts256.img"
	jq_true out.json '.findings[] | select(.id == "profile.key_bytes")
		| .severity == "error" and (.message | test("256") and test("512"))'
	jq_true out.json '.findings[] | select(.id == "profile.hash_spec")
		| (.message | test("sha1") and test("sha256"))'
}

# --key-slot 3: conformant; both oracles name keyslot 3.
test_keyslot_position() {
	inspect_json out.json 0 --passphrase-file "$IMG/pass.key" "$IMG/luks1-slot3.img"
	expect_ids out.json ""
	expect_oracles out.json unlocked unlocked 3
	jq_true out.json '[.luks.keyslots[] | select(.active) | .index] == [3]'
	expect_luksdump out.json "$IMG/luks1-slot3.img"
}

# luksAddKey: two enabled keyslots break "exactly one"; each passphrase opens its own.
test_two_keyslots() {
	inspect_json out.json 1 --passphrase-file "$IMG/pass.key" "$IMG/luks1-2slots.img"
	expect_ids out.json "profile.keyslot_count"
	expect_oracles out.json unlocked unlocked 0
	jq_true out.json '.luks.active_keyslots == 2'
	jq_true out.json '.findings[0].message | test("2")'
	inspect_json out.json 1 --passphrase-file "$IMG/pass2.key" "$IMG/luks1-2slots.img"
	expect_ids out.json "profile.keyslot_count"
	expect_oracles out.json unlocked unlocked 1
	expect_luksdump out.json "$IMG/luks1-2slots.img"
	inspect_json out.json 0 --profile luks1 --passphrase-file "$IMG/pass2.key" "$IMG/luks1-2slots.img"
	expect_ids out.json ""
}

# luksKillSlot: the killed passphrase opens nothing, the remaining one opens keyslot 1.
test_killed_keyslot() {
	inspect_json out.json 1 --passphrase-file "$IMG/pass.key" "$IMG/luks1-killed.img"
	expect_ids out.json "passphrase.no_unlock"
	expect_oracles out.json not_unlocked not_unlocked
	inspect_json out.json 0 --passphrase-file "$IMG/pass2.key" "$IMG/luks1-killed.img"
	expect_oracles out.json unlocked unlocked 1
	jq_true out.json '.luks.keyslots[0].active == false and .luks.keyslots[0].state == 57005
		and .luks.keyslots[1].state == 11301363'
	expect_luksdump out.json "$IMG/luks1-killed.img"
}

# The last keyslot killed: no passphrase can open the volume.
test_no_active_keyslot() {
	inspect_json out.json 1 "$IMG/luks1-noslot.img"
	expect_ids out.json "luks.no_active_keyslot profile.keyslot_count"
	inspect_json out.json 1 --profile luks1 "$IMG/luks1-noslot.img"
	expect_ids out.json "luks.no_active_keyslot"
	expect_luksdump out.json "$IMG/luks1-noslot.img"
}

test_luks2() {
	inspect_json out.json 1 --passphrase-file "$IMG/pass.key" "$IMG/luks2.img"
	expect_ids out.json "luks.version2"
	jq_true out.json '.encrypted and .luks.version == 2 and (.passphrase.checked | not)'
	inspect_json out.json 1 --profile luks1 "$IMG/luks2.img"
	expect_ids out.json "luks.version2"
}

# Containers that are not LUKS-encrypted, with and without a passphrase.
test_not_encrypted() {
	local img ids
	while read -r img ids; do
		inspect_json out.json 1 "$IMG/$img"
		expect_ids out.json "$ids"
		jq_true out.json '(.encrypted | not) and .luks == null and .libcryptsetup_load == null'
		inspect_json out.json 1 --passphrase-file "$IMG/pass.key" "$IMG/$img"
		expect_ids out.json "$ids"
		jq_true out.json '(.passphrase.checked | not) and (.passphrase.unlocks | not)'
	done <<-'EOF'
		plain.qcow2 qcow2.not_encrypted
		aes.qcow2 qcow2.legacy_aes
		zero.img container.not_encrypted
	EOF
	jq_true out.json '.container == "raw"'
	inspect_json out.json 1 "$IMG/aes.qcow2"
	jq_true out.json '.container == "qcow2" and .qcow2.crypt_method == 1 and (.qcow2 | has("luks_offset") | not)'
	head -c 1000000 /dev/zero | openssl enc -aes-128-ctr -K 000102030405060708090a0b0c0d0e0f \
		-iv 00000000000000000000000000000000 >garbage.img
	inspect_json out.json 1 --passphrase-file "$IMG/pass.key" garbage.img
	expect_ids out.json "container.not_encrypted"
	: >empty.img
	inspect_json out.json 1 empty.img
	expect_ids out.json "container.not_encrypted"
	jq_true out.json '.size == 0'
}

# The same images through loop block devices (read-only): same verdicts, same header.
# shellcheck disable=SC2016,SC2034 # evaluated by run_tests after each test
T_CLEANUP='for l in $(cat "$T/loops" 2>/dev/null); do losetup -d "$l" 2>/dev/null; done'
test_block_device() {
	local loop
	command -v losetup >/dev/null || fail "losetup is missing (util-linux)"
	loop=$(losetup -r -f --show "$IMG/luks1.img") ||
		fail "cannot attach a loop device (needs root and /dev/loop-control)"
	echo "$loop" >>loops
	[ -b "$loop" ] || fail "$loop is not a block device"
	inspect_json out.json 0 --passphrase-file "$IMG/pass.key" "$loop"
	expect_ids out.json ""
	expect_oracles out.json unlocked unlocked 0
	jq_true out.json ".path == \"$loop\" and .container == \"raw\" and .size == $(stat -c %s "$IMG/luks1.img")"
	expect_luksdump out.json "$loop"
	inspect_json out.json 1 --passphrase-file "$IMG/wrong.key" "$loop"
	expect_ids out.json "passphrase.no_unlock"
	expect_oracles out.json not_unlocked not_unlocked
	# A qcow2 file on a block device is still a qcow2 container.
	loop=$(losetup -r -f --show "$IMG/qemu.qcow2")
	echo "$loop" >>loops
	inspect_json out.json 0 --passphrase-file "$IMG/pass.key" "$loop"
	expect_oracles out.json unlocked unlocked 0
	jq_true out.json '.container == "qcow2"'
	# A damaged header on a block device: the oracles agree it does not open.
	copy_damaged "$IMG/luks1.img" dmg.img mk_digest flip
	loop=$(losetup -r -f --show dmg.img)
	echo "$loop" >>loops
	inspect_json out.json 1 --passphrase-file "$IMG/pass.key" "$loop"
	expect_ids out.json "passphrase.no_unlock"
	expect_oracles out.json not_unlocked not_unlocked
}

test_help() {
	expect_exit 0 "$VECS" inspect --help >help.txt 2>help.err
	grep -q '^usage: vecs inspect \[--passphrase-file F\] \[--profile P\] \[--json\] PATH' help.txt ||
		fail "--help: $(cat help.txt)"
	grep -q 'cloudstack-4.18' help.txt || fail "--help does not name the default profile"
	grep -q 'Exit status' help.txt || fail "--help does not document the exit status"
	[ ! -s help.err ] || fail "--help wrote to stderr"
}

# Usage and environment errors: exit 2, nothing on stdout, a message that names the
# problem on stderr.
test_usage_errors() {
	usage_case() {
		local want=$1
		shift
		expect_exit 2 "$VECS" inspect "$@" >out.txt 2>err.txt
		[ ! -s out.txt ] || fail "vecs inspect $* printed on stdout: $(cat out.txt)"
		grep -q -- "$want" err.txt || fail "vecs inspect $*: stderr lacks '$want': $(cat err.txt)"
	}
	usage_case "cannot open $T/missing.img: No such file or directory" "$T/missing.img"
	usage_case "cannot open $T/missing.img" --json "$T/missing.img"
	usage_case "neither a regular file nor a block device" "$T"
	usage_case "neither a regular file nor a block device" --json /dev/null
	usage_case "unrecognized option '--bogus'" --bogus "$IMG/luks1.img"
	usage_case "usage: vecs inspect" --bogus "$IMG/luks1.img"
	usage_case "unknown profile 'nope'; known: cloudstack-4.18, luks1" --profile nope "$IMG/luks1.img"
	usage_case "exactly one PATH is needed (got 0)"
	usage_case "exactly one PATH is needed (got 2)" "$IMG/luks1.img" "$IMG/luks1.img"
	usage_case "cannot open passphrase file $T/nokey" --passphrase-file "$T/nokey" "$IMG/luks1.img"
	usage_case "passphrase file $T is not a regular file" --passphrase-file "$T" "$IMG/luks1.img"
	usage_case "requires an argument" "$IMG/luks1.img" --passphrase-file
	touch unreadable.img && chmod 000 unreadable.img
	if [ "$(id -u)" -ne 0 ]; then
		usage_case "Permission denied" unreadable.img
	fi
}

# Secret hygiene: neither the passphrase nor the volume key appears in any output,
# text or JSON, stdout or stderr, whatever the outcome.
test_secret_hygiene() {
	local pass mk key img fmt
	pass=$(cat "$IMG/pass.key")
	mk=$(cryptsetup luksDump -q --dump-volume-key --key-file "$IMG/pass.key" "$IMG/luks1.img" |
		awk '/^MK dump:/ { on = 1; sub(/^MK dump:/, "") } on && /^[ \t]*$/ { on = 0 } on' |
		tr -d ' \t\n')
	[ "${#mk}" -eq 128 ] || fail "could not read the volume key with cryptsetup (got '${#mk}' hex digits)"
	copy_damaged "$IMG/luks1.img" dmg.img payload_offset 100000
	for img in "$IMG/luks1.img" "$IMG/qemu.qcow2" dmg.img "$IMG/luks1-2slots.img"; do
		for key in pass.key pass-newline.key pass2.key; do
			for fmt in --json ""; do
				"$VECS" inspect $fmt --passphrase-file "$IMG/$key" "$img" >>all.out 2>&1 || true
			done
		done
	done
	"$VECS" inspect --passphrase-file "$IMG/pass.key" missing.img >>all.out 2>&1 || true
	[ -s all.out ] || fail "no output to check"
	grep -qF "$pass" all.out && fail "the passphrase appears in inspect's output"
	grep -qF "${pass:0:16}" all.out && fail "part of the passphrase appears in inspect's output"
	grep -qiF "$mk" all.out && fail "the volume key (hex) appears in inspect's output"
	grep -qiF "${mk:0:32}" all.out && fail "part of the volume key (hex) appears in inspect's output"
	# The passphrase file is only read: same bytes, same mode.
	[ "$(stat -c %a "$IMG/pass.key")" = 600 ] || fail "pass.key changed mode"
	[ "$(cat "$IMG/pass.key")" = "$pass" ] || fail "pass.key changed"
}

# The generated fixtures are what the profile says CloudStack writes.
test_fixture_passphrases() {
	local k
	for k in pass.key pass2.key wrong.key; do
		[ "$(stat -c %a "$IMG/$k")" = 600 ] || fail "$k is not mode 0600"
		[ "$(wc -c <"$IMG/$k")" -eq 64 ] || fail "$k is not 64 bytes"
		grep -qE '^[A-Za-z0-9+/]{64}$' "$IMG/$k" || fail "$k is not 64 base64 characters"
		[ "$(base64 -d "$IMG/$k" | wc -c)" -eq 48 ] || fail "$k does not decode to 48 bytes"
	done
	[ "$(cat "$IMG/pass.key")" != "$(cat "$IMG/pass2.key")" ] || fail "pass.key == pass2.key"
}

run_tests
