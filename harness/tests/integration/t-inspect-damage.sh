#!/usr/bin/env bash
# `vecs inspect` on damaged headers: one field of a generated image rewritten with
# fixtures/damage, then the finding ids, the exit status and both oracles' answers.
#
# A case:  dcase NAME SRC "DAMAGE ARGS" RC "REQUIRED IDS" "ALSO ALLOWED IDS" NATIVE LCS [KEYSLOT]
#   SRC is an image of fixtures/make-luks-images, opened with pass.key (pass2.key for
#   SRC:pass2); an oracle status may be "a|b". Where libcryptsetup refuses to load a
#   header the native parser reads, inspect says oracle.libcryptsetup_failed (a warning)
#   and lets the native oracle decide: those cases allow that id.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inspect-lib.sh"
inspect_images

declare -A DC
# shellcheck disable=SC2034 # DC is read through eval in the generated test_damage_* functions
dcase() {
	local name=$1
	shift
	DC[$name]=$(printf '%q ' "$@")
	eval "test_damage_${name}() { eval run_damage_case \${DC[$name]}; }"
}

run_damage_case() {
	local src=$1 args=$2 rc=$3 req=$4 allowed=$5 native=$6 lcs=$7 ks=${8:-null} key=pass.key
	local hrc=0
	case $src in *:pass2) src=${src%:pass2} key=pass2.key ;; esac
	# shellcheck disable=SC2086
	copy_damaged "$IMG/$src" "dmg-$src" $args
	inspect_json out.json "$rc" --passphrase-file "$IMG/$key" "dmg-$src"
	expect_ids out.json "$req" "$allowed"
	expect_oracles out.json "$native" "$lcs" "$ks"
	# The header alone (no passphrase): the same structural ids, and exit 1 exactly
	# when some finding is an error.
	"$VECS" inspect --json "dmg-$src" >hdr.json 2>hdr.err || hrc=$?
	[ ! -s hdr.err ] || fail "header-only run wrote to stderr: $(cat hdr.err)"
	jq -r --slurpfile w out.json --argjson rc "$hrc" '
		def structural: [.findings[].id | select(test("^(luks|qcow2|container)[.]"))] | unique;
		if (structural) != ($w[0] | structural) then
			"header-only findings \([.findings[].id]) differ from \([$w[0].findings[].id])"
		elif (any(.findings[]; .severity == "error") | if . then 1 else 0 end) != $rc then
			"header-only run exited \($rc) with findings \(.findings)"
		elif any(.findings[], $w[0].findings[]; (.severity | IN("error", "warning", "info") | not)
			or (.message | length) == 0) then "a finding lacks a severity or a message"
		else "ok" end' hdr.json >hdr.chk || fail "header-only run printed no JSON (exit $hrc)"
	[ "$(cat hdr.chk)" = ok ] || fail "$(cat hdr.chk)"
}

LF=oracle.libcryptsetup_failed

# LUKS1 phdr fields of the conformant cryptsetup image.
dcase magic              luks1.img "magic 4c554b53babf"        1 "container.not_encrypted" "" not_run not_run
dcase magic_zero         luks1.img "magic 000000000000"        1 "container.not_encrypted" "" not_run not_run
dcase version_0          luks1.img "version 0"                 1 "luks.version" "" not_run not_run
dcase version_3          luks1.img "version 3"                 1 "luks.version" "" not_run not_run
dcase version_2          luks1.img "version 2"                 1 "luks.version2" "" not_run not_run
dcase cipher_name_unterminated luks1.img "cipher_name :unterminated" 1 "luks.cipher_name profile.cipher_name passphrase.undecided" "" unsupported error
dcase cipher_name_empty  luks1.img "cipher_name :empty"        1 "luks.cipher_name profile.cipher_name passphrase.undecided" "" unsupported error
dcase cipher_name_nonprint luks1.img "cipher_name :nonprint"   1 "luks.cipher_name profile.cipher_name passphrase.undecided" "" unsupported error
dcase cipher_mode_unterminated luks1.img "cipher_mode :unterminated" 1 "luks.cipher_mode profile.cipher_mode passphrase.undecided" "luks.key_bytes" unsupported error
dcase cipher_mode_empty  luks1.img "cipher_mode :empty"        1 "luks.cipher_mode profile.cipher_mode passphrase.undecided" "luks.key_bytes" unsupported error
dcase cipher_mode_nonprint luks1.img "cipher_mode :nonprint"   1 "luks.cipher_mode profile.cipher_mode passphrase.undecided" "luks.key_bytes" unsupported error
dcase hash_spec_unterminated luks1.img "hash_spec :unterminated" 1 "luks.hash_spec profile.hash_spec passphrase.undecided" "" unsupported error
dcase hash_spec_empty    luks1.img "hash_spec :empty"          1 "luks.hash_spec profile.hash_spec passphrase.undecided" "" unsupported error
dcase hash_spec_nonprint luks1.img "hash_spec :nonprint"       1 "luks.hash_spec profile.hash_spec passphrase.undecided" "" unsupported error
# Another valid hash: the digest no longer matches; both oracles say so.
dcase hash_spec_other    luks1.img "hash_spec sha1"            1 "profile.hash_spec passphrase.no_unlock" "" not_unlocked not_unlocked
dcase payload_offset_beyond luks1.img "payload_offset 100000"  1 "luks.payload_offset" "" unlocked unlocked 0
dcase key_bytes_0        luks1.img "key_bytes 0"               1 "luks.key_bytes profile.key_bytes passphrase.undecided" "" error error
dcase key_bytes_33       luks1.img "key_bytes 33"              1 "luks.key_bytes profile.key_bytes passphrase.undecided" "" unsupported error
dcase key_bytes_1000     luks1.img "key_bytes 1000"            1 "luks.key_bytes profile.key_bytes passphrase.undecided" "luks.keyslot_payload_overlap luks.device_size luks.keyslot_overlap" error error
# A legal but wrong key size: the keyslot decrypts to garbage.
dcase key_bytes_32       luks1.img "key_bytes 32"              1 "profile.key_bytes passphrase.no_unlock" "" not_unlocked not_unlocked
dcase mk_digest_flip     luks1.img "mk_digest flip"            1 "passphrase.no_unlock" "" not_unlocked not_unlocked
dcase mk_digest_iterations_0 luks1.img "mk_digest_iterations 0" 1 "luks.mk_digest_iterations passphrase.undecided" "" error error
dcase uuid_nonprint      luks1.img "uuid :nonprint"            1 "luks.uuid" "" unlocked unlocked 0
dcase uuid_unterminated  luks1.img "uuid :unterminated"        1 "luks.uuid" "" unlocked unlocked 0
dcase uuid_empty         luks1.img "uuid :empty"               1 "luks.uuid" "" unlocked unlocked 0
dcase uuid_not_hex       luks1.img "uuid zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz" 1 "luks.uuid" "" unlocked unlocked 0
dcase uuid_short         luks1.img "uuid 1234"                 1 "luks.uuid" "" unlocked unlocked 0

# Keyslots.
dcase keyslot_state_unused luks1.img "keyslot 1 active 0x12345678" 1 "luks.keyslot_state" "" unlocked unlocked 0
dcase keyslot_state_used luks1.img "keyslot 0 active 0x12345678" 1 "luks.keyslot_state luks.no_active_keyslot profile.keyslot_count passphrase.no_unlock" "$LF" not_unlocked "not_unlocked|error"
dcase keyslot_iterations_0 luks1.img "keyslot 0 iterations 0"  1 "luks.keyslot_iterations passphrase.no_unlock" "$LF" not_unlocked "not_unlocked|error"
dcase keyslot_stripes_0  luks1.img "keyslot 0 stripes 0"       1 "luks.keyslot_stripes passphrase.no_unlock" "$LF" not_unlocked "not_unlocked|error"
dcase keyslot_stripes_3999 luks1.img "keyslot 0 stripes 3999"  1 "luks.keyslot_stripes passphrase.no_unlock" "$LF" not_unlocked "not_unlocked|error"
dcase keyslot_stripes_unused luks1.img "keyslot 5 stripes 0"   1 "luks.keyslot_stripes" "$LF" unlocked "unlocked|error" 0
dcase keyslot_offset_0   luks1.img "keyslot 0 key_material_offset 0" 1 "luks.keyslot_offset passphrase.no_unlock" "$LF" not_unlocked "not_unlocked|error"
dcase keyslot_offset_1   luks1.img "keyslot 0 key_material_offset 1" 1 "luks.keyslot_offset passphrase.no_unlock" "$LF" not_unlocked "not_unlocked|error"
dcase keyslot_into_payload luks1.img "keyslot 0 key_material_offset 5000" 1 "luks.keyslot_payload_overlap passphrase.no_unlock" "$LF" not_unlocked "not_unlocked|error"
dcase keyslot_beyond_device luks1.img "keyslot 7 key_material_offset 6100" 1 "luks.keyslot_payload_overlap luks.device_size" "$LF" unlocked "unlocked|error" 0
# Keyslot 1's area moved onto keyslot 0's: the passphrase in keyslot 0 still opens.
dcase keyslot_overlap    luks1.img "keyslot 1 key_material_offset 100" 1 "luks.keyslot_overlap" "$LF" unlocked "unlocked|error" 0
dcase keyslot_overlap_same luks1-2slots.img "keyslot 1 key_material_offset 8" 1 "luks.keyslot_overlap profile.keyslot_count" "$LF" unlocked "unlocked|error" 0
dcase keyslot_material_flip luks1.img "keyslot 0 material flip" 1 "passphrase.no_unlock" "" not_unlocked not_unlocked
# A damaged keyslot does not hide a good one.
dcase keyslot_material_flip_other luks1-2slots.img:pass2 "keyslot 0 material flip" 1 "profile.keyslot_count" "" unlocked unlocked 1
dcase keyslot_material_flip_own luks1-2slots.img:pass2 "keyslot 1 material flip" 1 "profile.keyslot_count passphrase.no_unlock" "" not_unlocked not_unlocked

# Short files.
dcase truncated_header   luks1.img "truncate 300"              1 "luks.truncated" "" not_run not_run
dcase truncated_header_591 luks1.img "truncate 591"            1 "luks.truncated" "" not_run not_run
dcase truncated_key_material luks1.img "truncate 100000"       1 "luks.device_size luks.payload_offset passphrase.undecided" "" error error
dcase truncated_in_slot0 luks1.img "truncate 200000"           1 "luks.device_size luks.payload_offset passphrase.undecided" "" error error

# qcow2 headers of the qemu-img LUKS qcow2.
dcase qcow2_crypt_method_0 qemu.qcow2 "qcow2 crypt_method 0"   1 "qcow2.not_encrypted qcow2.fde_unexpected" "" unlocked unlocked 0
dcase qcow2_crypt_method_1 qemu.qcow2 "qcow2 crypt_method 1"   1 "qcow2.legacy_aes qcow2.fde_unexpected" "" unlocked unlocked 0
dcase qcow2_crypt_method_7 qemu.qcow2 "qcow2 crypt_method 7"   1 "qcow2.crypt_method qcow2.fde_unexpected" "" unlocked unlocked 0
dcase qcow2_fde_beyond_file qemu.qcow2 "qcow2 fde_offset 99942400" 1 "qcow2.fde_bounds" "" not_run not_run
dcase qcow2_fde_at_eof   qemu.qcow2 "qcow2 fde_offset 2359296" 1 "qcow2.fde_bounds" "" not_run not_run
dcase qcow2_fde_wraps    qemu.qcow2 "qcow2 fde_offset 0xffffffffffff0000" 1 "qcow2.fde_bounds" "" not_run not_run
dcase qcow2_fde_unaligned qemu.qcow2 "qcow2 fde_offset 262145" 1 "qcow2.fde_bounds" "" not_run not_run
dcase qcow2_fde_offset_0 qemu.qcow2 "qcow2 fde_offset 0"       1 "qcow2.fde_bounds" "" not_run not_run
dcase qcow2_fde_length_huge qemu.qcow2 "qcow2 fde_length 0xffffffffffffffff" 1 "qcow2.fde_bounds" "" not_run not_run
dcase qcow2_fde_ext_length_24 qemu.qcow2 "qcow2 fde_ext_length 24" 1 "qcow2.fde_bounds" "" not_run not_run
dcase qcow2_ext_past_cluster qemu.qcow2 "qcow2 fde_ext_length 65535" 1 "qcow2.extension" "" not_run not_run
dcase qcow2_fde_missing  plain.qcow2 "qcow2 crypt_method 2"    1 "qcow2.fde_missing" "" not_run not_run
dcase qcow2_version_5    qemu.qcow2 "u32 4 5"                  1 "qcow2.header" "" not_run not_run
dcase qcow2_cluster_bits_30 qemu.qcow2 "u32 20 30"             1 "qcow2.header" "" not_run not_run
# A region too short for a LUKS1 header: some finding must say so (which one is open).
dcase qcow2_fde_length_100 qemu.qcow2 "qcow2 fde_length 100"   1 "" "qcow2.fde_bounds luks.truncated" not_run not_run
dcase qcow2_fde_length_0 qemu.qcow2 "qcow2 fde_length 0"       1 "" "qcow2.fde_bounds luks.magic luks.truncated" not_run not_run
# The LUKS header inside the qcow2 (--qcow2 takes its base from the FDE extension).
dcase qcow2_luks_magic   qemu.qcow2 "--qcow2 magic 000000000000" 1 "luks.magic" "" not_run not_run
dcase qcow2_luks_version qemu.qcow2 "--qcow2 version 3"        1 "luks.version" "" not_run not_run
dcase qcow2_luks_mk_digest qemu.qcow2 "--qcow2 mk_digest flip" 1 "passphrase.no_unlock" "" not_unlocked not_unlocked
dcase qcow2_luks_material qemu.qcow2 "--qcow2 keyslot 0 material flip" 1 "passphrase.no_unlock" "" not_unlocked not_unlocked
dcase qcow2_luks_key_bytes qemu.qcow2 "--qcow2 key_bytes 33"   1 "luks.key_bytes profile.key_bytes passphrase.undecided" "" unsupported error
dcase qcow2_luks_keyslot_state qemu.qcow2 "--qcow2 keyslot 2 active 0x12345678" 1 "luks.keyslot_state" "" unlocked unlocked 0
dcase qcow2_luks_payload_offset qemu.qcow2 "--qcow2 payload_offset 100000" 1 "luks.payload_offset" "" unlocked unlocked 0
dcase qcow2_luks_stripes qemu.qcow2 "--qcow2 keyslot 0 stripes 3999" 1 "luks.keyslot_stripes passphrase.no_unlock" "$LF" not_unlocked "not_unlocked|error"
# qemu-img's raw luks.
dcase raw_luks_mk_digest qemu-raw.luks "mk_digest flip"        1 "passphrase.no_unlock" "" not_unlocked not_unlocked
dcase raw_luks_uuid      qemu-raw.luks "uuid :nonprint"        1 "luks.uuid" "" unlocked unlocked 0

# Text mode on damaged headers: same exit status, nothing on stderr, no crash.
test_text_mode_on_damage() {
	local spec rc
	while read -r rc spec; do
		# shellcheck disable=SC2086
		copy_damaged "$IMG/luks1.img" d.img $spec
		expect_exit "$rc" "$VECS" inspect --passphrase-file "$IMG/pass.key" d.img >out.txt 2>err.txt
		[ ! -s err.txt ] || fail "$spec: text mode wrote to stderr: $(cat err.txt)"
		grep -q '^verdict: FAIL (profile cloudstack-4.18)$' out.txt || fail "$spec: $(cat out.txt)"
	done <<-'EOF'
		1 key_bytes 1000
		1 keyslot 0 stripes 3999
		1 cipher_name :unterminated
		1 uuid :unterminated
		1 truncate 300
		1 mk_digest flip
	EOF
}

# The damaged cipher name is judged, and the text report survives it.
test_cipher_name_unterminated_reported() {
	copy_damaged "$IMG/luks1.img" d.img cipher_name :unterminated
	inspect_json out.json 1 d.img
	jq_true out.json '.findings[] | select(.id == "luks.cipher_name") | .message | test("NUL")'
	jq_true out.json '.luks.cipher_name == ("A" * 32)'
}

# Where libcryptsetup refuses a header, inspect records why.
test_libcryptsetup_refusal_recorded() {
	copy_damaged "$IMG/luks1.img" d.img keyslot 0 stripes 3999
	inspect_json out.json 1 --passphrase-file "$IMG/pass.key" d.img
	jq_true out.json '.libcryptsetup_load != "ok" and .libcryptsetup_load != null'
	jq_true out.json '.findings[] | select(.id == "oracle.libcryptsetup_failed") | .severity == "warning"'
	expect_exit 1 cryptsetup open --test-passphrase --key-file "$IMG/pass.key" d.img 2>/dev/null
}

# A header libcryptsetup refuses but the native parser accepts is a finding of its own
# (here: hash md5, which OpenSSL knows but cryptsetup refuses for LUKS1, under the
# format-only profile). An unknown hash name is the parser's own luks.hash_spec.
test_load_disagreement() {
	copy_damaged "$IMG/luks1.img" d.img hash_spec md5
	inspect_json out.json 1 --profile luks1 d.img
	expect_ids out.json "oracle.load_disagreement"
	jq_true out.json '.findings[0].message | test("refuses")'
	copy_damaged "$IMG/luks1.img" d.img hash_spec nohash
	inspect_json out.json 1 --profile luks1 d.img
	expect_ids out.json "luks.hash_spec"
	copy_damaged "$IMG/luks1.img" d.img hash_spec md5
	inspect_json out.json 1 --profile luks1 --passphrase-file "$IMG/pass.key" d.img
	expect_ids out.json "oracle.load_disagreement oracle.libcryptsetup_failed passphrase.no_unlock"
	jq_true out.json '[.findings[].id] | index("oracle.disagreement") | not'
}

# Random bytes behind a valid LUKS1 magic and version: a clean verdict, never a crash.
test_random_header_after_magic() {
	local seed rc
	for seed in 01 02 03 04 05 06 07 08; do
		head -c 2200000 /dev/zero |
			openssl enc -aes-128-ctr -K "${seed}0102030405060708090a0b0c0d0e0f" \
				-iv 00000000000000000000000000000000 >r.img
		printf 'LUKS\272\276\000\001' | dd of=r.img conv=notrunc status=none
		rc=0
		"$VECS" inspect --json --passphrase-file "$IMG/pass.key" r.img >out.json 2>err.txt || rc=$?
		[ "$rc" -eq 1 ] || fail "seed $seed: exit $rc: $(cat err.txt)"
		jq_true out.json '.verdict == "fail" and any(.findings[]; .id | startswith("luks."))'
		jq_true out.json '[.findings[].id] | index("oracle.disagreement") | not'
		rc=0
		"$VECS" inspect r.img >out.txt 2>&1 || rc=$?
		[ "$rc" -eq 1 ] || fail "seed $seed, text: exit $rc"
	done
}

# Damage in one copy never leaks into another inspect run (the input is not written).
test_input_not_modified() {
	local before
	copy_damaged "$IMG/luks1.img" d.img keyslot 0 stripes 0
	before=$(sha256sum <d.img)
	"$VECS" inspect --passphrase-file "$IMG/pass.key" d.img >/dev/null || true
	"$VECS" inspect --json --passphrase-file "$IMG/pass.key" "$IMG/qemu.qcow2" >/dev/null
	[ "$(sha256sum <d.img)" = "$before" ] || fail "inspect modified its input"
	[ "$(sha256sum <"$IMG/luks1.img")" != "$before" ] || fail "the damage did not change anything"
}

run_tests
