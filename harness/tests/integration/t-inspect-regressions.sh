#!/usr/bin/env bash
# Regression tests: `vecs inspect` behaviour found wrong while the t-inspect*.sh suites
# were written, each fixed in the commit that added its test. The comments describe
# the bug as it was.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inspect-lib.sh"
inspect_images

# A raw volume whose payload starts at sector 0 writes guest data over its own header
# and keyslots. luks1_validate() skips the check for payload_offset 0 (meant for a
# detached header), but inspect's PATH is always a whole volume. Expected: a
# luks.payload_offset (or luks.keyslot_payload_overlap) error. Actual: verdict pass.
test_payload_offset_0_overlaps_header() {
	copy_damaged "$IMG/luks1.img" d.img payload_offset 0
	inspect_json out.json 1 --passphrase-file "$IMG/pass.key" d.img
	expect_ids out.json "" "luks.payload_offset luks.keyslot_payload_overlap"
}

# Header text fields are printed raw in the text report (and in finding messages): a
# hostile header can put terminal escape sequences on the operator's terminal.
# Expected: non-printable bytes escaped (as the JSON writer does). Actual: raw ESC bytes.
test_text_report_escapes_header_strings() {
	copy_damaged "$IMG/luks1.img" d.img bytes 8 1b5b33316d4556494c1b5b306d00
	expect_exit 1 "$VECS" inspect d.img >out.txt
	no_control_bytes out.txt
	copy_damaged "$IMG/luks1.img" d.img cipher_mode :nonprint
	expect_exit 1 "$VECS" inspect d.img >out.txt
	no_control_bytes out.txt
}

# PATH is opened before its type is checked: a FIFO blocks open(2) forever.
# Expected: exit 2 "neither a regular file nor a block device" at once. Actual: hangs.
test_fifo_path_does_not_hang() {
	local rc=0
	mkfifo fifo
	timeout 2 "$VECS" inspect fifo >out.txt 2>err.txt || rc=$?
	[ "$rc" -ne 124 ] || fail "vecs inspect on a FIFO hung (killed after 2 s)"
	[ "$rc" -eq 2 ] || fail "exit $rc: $(cat err.txt)"
	grep -q 'neither a regular file nor a block device' err.txt || fail "$(cat err.txt)"
}

# libcryptsetup answers -ENOENT when no keyslot is usable (none enabled). inspect maps
# only -EPERM to not_unlocked, so a volume cryptsetup itself made (luksKillSlot of the
# last keyslot) gets oracle.libcryptsetup_failed. Expected: both oracles not_unlocked.
test_no_usable_keyslot_is_not_unlocked() {
	inspect_json out.json 1 --passphrase-file "$IMG/pass.key" "$IMG/luks1-noslot.img"
	expect_ids out.json "luks.no_active_keyslot profile.keyslot_count passphrase.no_unlock"
	expect_oracles out.json not_unlocked not_unlocked
}

# passphrase.no_unlock says "(both oracles agree)" even when one oracle failed and the
# other decided alone (judge_passphrase in oracle/inspect.c).
test_no_unlock_message_is_accurate() {
	copy_damaged "$IMG/luks1.img" d.img keyslot 0 iterations 0
	inspect_json out.json 1 --passphrase-file "$IMG/pass.key" d.img
	jq_true out.json '.passphrase.oracles.libcryptsetup.status != "not_unlocked"'
	jq_true out.json '.findings[] | select(.id == "passphrase.no_unlock") | .message | test("both") | not'
}

# A file cut inside the LUKS1 magic's version field (6 or 7 bytes: "LUKS\xba\xbe" + 0/1
# byte) is reported as not encrypted. Expected: luks.truncated.
test_truncated_to_7_bytes() {
	copy_damaged "$IMG/luks1.img" d.img truncate 7
	inspect_json out.json 1 d.img
	expect_ids out.json "luks.truncated"
}

# An unknown hash name is the parser's own finding, not only libcryptsetup's refusal.
test_unknown_hash_is_a_header_finding() {
	copy_damaged "$IMG/luks1.img" d.img hash_spec nohash
	inspect_json out.json 1 --profile luks1 d.img
	expect_ids out.json "luks.hash_spec"
}

# A hostile iteration count (2^32-1) must not make inspect run for hours.
test_huge_iterations_not_tried() {
	copy_damaged "$IMG/luks1.img" d.img keyslot 0 iterations 4294967295
	local start=$SECONDS
	inspect_json out.json 1 --passphrase-file "$IMG/pass.key" d.img
	[ $((SECONDS - start)) -lt 10 ] || fail "inspect took $((SECONDS - start)) s"
	expect_ids out.json "passphrase.iterations_limit"
	jq_true out.json '.passphrase.unlocks == false'
}

# An FDE region too small for a LUKS1 header is the qcow2 header's fault.
test_fde_region_smaller_than_header() {
	cp "$IMG/qemu.qcow2" d.qcow2
	"$TOP/fixtures/damage" d.qcow2 qcow2 fde_length 100 >/dev/null
	inspect_json out.json 1 d.qcow2
	expect_ids out.json "qcow2.fde_bounds"
}

# An empty passphrase file is a usage error, not an empty passphrase.
test_empty_passphrase_file() {
	: >empty.key
	expect_exit 2 "$VECS" inspect --passphrase-file empty.key "$IMG/luks1.img" 2>err.txt
	grep -q "empty" err.txt || fail "$(cat err.txt)"
}

run_tests
