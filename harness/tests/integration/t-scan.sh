#!/usr/bin/env bash
# `vecs canary` and `vecs scan` on real files, qcow2 images (plain and LUKS-encrypted,
# written by qemu-img), and a loop device.
. "$(dirname "$0")/lib.sh"

# A loop device attached by a test is recorded in $T/loopdev and detached here even if
# the test failed half way.
T_CLEANUP='[ -s "$T/loopdev" ] && losetup -d "$(cat "$T/loopdev")"'

SEED=it-scan
KAT64=c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3a6af306e00000000debb64bad6c43220c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3a6af306e010000002f3126a13d28a5bd

# put_canary FILE OFFSET SIZE: write SIZE bytes of canary at byte OFFSET of FILE
put_canary() {
	"$VECS" canary --seed "$SEED" --size "$3" >piece
	dd if=piece of="$1" bs=64K seek="$2" oflag=seek_bytes conv=notrunc status=none
}

test_canary_cli() {
	[ "$("$VECS" canary --seed kat --size 64 | od -An -tx1 -v | tr -d ' \n')" = "$KAT64" ] ||
		fail "canary for seed kat differs from the known answer"
	[ "$("$VECS" canary --seed x --size 1K | wc -c)" -eq 1024 ] || fail "--size 1K"
	[ "$("$VECS" canary --seed x --size 77 | wc -c)" -eq 77 ] || fail "--size 77"
	expect_exit 2 "$VECS" canary --seed x --size 12Q
	expect_exit 2 "$VECS" canary --size 1K
	"$VECS" canary --help | grep -q 'Exit status' || fail "canary --help has no exit status"
}

test_sparse_64m_odd_offset() {
	truncate -s 64M sparse.img
	put_canary sparse.img 33554433 100K
	expect_exit 1 "$VECS" scan --seed "$SEED" --json sparse.img >out.json
	jq_true out.json '.found and (.hits | length) == 1'
	jq_true out.json '.hits[0] | .offset == 33554433 and .length == 102400 and
		.canary_offset == 0 and .kind == "match" and .records == 3200'
	jq_true out.json '.bytes_skipped_holes > 60000000 and .bytes_scanned < 4200000'
	jq_true out.json '.bytes_scanned + .bytes_skipped_holes == 67108864'
}

test_clean_random_file() {
	head -c 8M /dev/urandom >clean.img
	expect_exit 0 "$VECS" scan --seed "$SEED" clean.img >out.txt
	grep -q 'no canary found' out.txt || fail "summary: $(cat out.txt)"
	# another seed's canary is not ours, and one lone record of it is no proof
	"$VECS" canary --seed other --size 32 >>clean.img
	expect_exit 0 "$VECS" scan --seed "$SEED" clean.img
}

test_foreign_seed_found() {
	head -c 1M /dev/urandom >f.img
	"$VECS" canary --seed someone-else --size 4K >piece
	dd if=piece of=f.img bs=4K seek=100 oflag=seek_bytes conv=notrunc status=none
	expect_exit 1 "$VECS" scan --seed "$SEED" --json f.img >out.json
	jq_true out.json '.hits[0].kind == "foreign" and .hits[0].offset == 100 and .hits[0].records == 128'
}

test_qcow2_plain_found() {
	head -c 16M /dev/urandom >raw.img
	put_canary raw.img $((3 * 1048576 + 5)) 64K
	qemu-img convert -f raw -O qcow2 raw.img plain.qcow2
	expect_exit 1 "$VECS" scan --seed "$SEED" --json plain.qcow2 >out.json
	jq_true out.json '.found and .hits[0].kind == "match"'
	# the plaintext clusters hold all of it (ranges may split at cluster boundaries)
	jq_true out.json '[.hits[] | .length] | add == 65536'
}

test_qcow2_luks_not_found_until_decrypted() {
	head -c 16M /dev/urandom >raw.img
	put_canary raw.img $((3 * 1048576 + 5)) 64K
	( umask 077; head -c 48 /dev/urandom | base64 -w0 >pass )
	qemu_img convert --object secret,id=sec0,file=pass -f raw -O qcow2 \
		-o encrypt.format=luks,encrypt.key-secret=sec0 raw.img enc.qcow2
	expect_exit 0 "$VECS" scan --seed "$SEED" enc.qcow2
	qemu_img convert --object secret,id=sec0,file=pass \
		--image-opts driver=qcow2,encrypt.key-secret=sec0,file.filename=enc.qcow2 \
		-O raw back.raw
	rm -f pass
	expect_exit 1 "$VECS" scan --seed "$SEED" --json back.raw >out.json
	jq_true out.json '.hits[0].offset == 3145733 and .hits[0].length == 65536'
}

test_loop_device_found() {
	head -c 8M /dev/urandom >disk.img
	put_canary disk.img 4099 1K
	dev=$(losetup -f --show disk.img)
	echo "$dev" >"$T/loopdev"
	expect_exit 1 "$VECS" scan --seed "$SEED" --json "$dev" >out.json
	jq_true out.json ".hits[0].path == \"$dev\" and .hits[0].offset == 4099 and .hits[0].length == 1024"
}

test_directory_with_hex_log() {
	mkdir -p tree/logs tree/data
	head -c 64K /dev/urandom >tree/data/a
	"$VECS" canary --seed "$SEED" --size 64 | od -An -tx1 -v | tr -d ' \n' >hex
	printf '2024-05-01 agent: wrote %s to disk\n' "$(cat hex)" >tree/logs/agent.log
	ln -s /etc/passwd tree/link
	expect_exit 1 "$VECS" scan --seed "$SEED" --json tree >out.json
	jq_true out.json '.hits | length == 1'
	jq_true out.json '.hits[0] | .kind == "hex" and (.path | endswith("logs/agent.log")) and
		.offset == 24 and .length == 128 and .records == 2'
	jq_true out.json '.files_scanned == 2 and .files_skipped == 1'
}

test_errors_and_usage() {
	expect_exit 2 "$VECS" scan --seed "$SEED" missing.img 2>err.txt
	grep -q 'missing.img' err.txt || fail "error does not name the path: $(cat err.txt)"
	expect_exit 2 "$VECS" scan missing.img
	expect_exit 2 "$VECS" scan --seed "$SEED"
	expect_exit 2 "$VECS" scan --seed "$SEED" --bogus x
	expect_exit 2 "$VECS" scan --seed "$SEED" /dev/null
	"$VECS" scan --help | grep -q 'Exit status' || fail "scan --help has no exit status"
	# found wins over an unreadable path
	put_canary some.img 0 64
	expect_exit 1 "$VECS" scan --seed "$SEED" missing.img some.img
}

run_tests
