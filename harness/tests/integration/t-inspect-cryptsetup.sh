#!/usr/bin/env bash
# `vecs inspect` on cryptsetup's own LUKS1 test images (../shared/fixtures/cryptsetup,
# README there): known-answer images opened by keyfile1, and hostile headers. They are
# unpacked once into a per-script directory, never into the repository.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inspect-lib.sh"

CS_SRC="$SHARED_FIXTURES/cryptsetup"
[ -f "$CS_SRC/luks1-images.tar.xz" ] || {
	echo "  FAIL t-inspect-cryptsetup: $CS_SRC/luks1-images.tar.xz is missing (set VECS_SHARED_FIXTURES)"
	echo "fail t-inspect-cryptsetup/fixtures" >>"$VECS_IT_RESULTS"
	exit 1
}
CS=$(mktemp -d "${TMPDIR:-/tmp}/vecs-it-cs.XXXXXX")
trap 'rm -rf "$CS"' EXIT
tar -xJf "$CS_SRC/luks1-images.tar.xz" -C "$CS"
for f in "$CS_SRC"/evil_hdr-*.xz; do
	xz -dc "$f" >"$CS/$(basename "$f" .xz)"
done
KEY="$CS/luks1-images/keyfile1"
IMGS=$(cd "$CS/luks1-images" && ls luks1_*.img)

# Header fields of every image equal cryptsetup luksDump's; the profile ids follow from
# how each differs from aes xts-plain64 / 512 bits / sha256.
test_shared_headers_and_profile_ids() {
	local img want
	[ "$(echo "$IMGS" | wc -l)" -eq 12 ] || fail "expected 12 images, found: $IMGS"
	for img in $IMGS; do
		inspect_json out.json 1 "$CS/luks1-images/$img"
		expect_luksdump out.json "$CS/luks1-images/$img"
		want=$(jq -r '.luks | [ (if .cipher_name != "aes" then "profile.cipher_name" else empty end),
			(if .cipher_mode != "xts-plain64" then "profile.cipher_mode" else empty end),
			(if .hash_spec != "sha256" then "profile.hash_spec" else empty end),
			(if .key_bytes != 64 then "profile.key_bytes" else empty end)] | join(" ")' out.json)
		expect_ids out.json "$want"
		jq_true out.json '.libcryptsetup_load == "ok" and .luks.active_keyslots == 1'
		inspect_json out.json 0 --profile luks1 "$CS/luks1-images/$img"
		expect_ids out.json ""
	done
	inspect_json out.json 1 "$CS/luks1-images/luks1_aes-xts-plain64-sha256.img"
	expect_ids out.json "profile.key_bytes"
}

# keyfile1 (25000 bytes) is a passphrase cryptsetup accepts as a key file.
test_shared_keyfile1_accepted() {
	expect_exit 0 cryptsetup open --test-passphrase --key-file "$KEY" \
		"$CS/luks1-images/luks1_aes-xts-plain64-sha256.img"
	inspect_json out.json 1 --passphrase-file "$KEY" "$CS/luks1-images/luks1_aes-xts-plain64-sha256.img"
}

# The one image whose cipher, mode and hash match the profile: both oracles open it;
# the profile fails it only for its 256-bit key.
test_shared_aes_xts_sha256_unlocks() {
	inspect_json out.json 1 --passphrase-file "$KEY" "$CS/luks1-images/luks1_aes-xts-plain64-sha256.img"
	expect_ids out.json "profile.key_bytes"
	expect_oracles out.json unlocked unlocked 0
	inspect_json out.json 0 --profile luks1 --passphrase-file "$KEY" \
		"$CS/luks1-images/luks1_aes-xts-plain64-sha256.img"
	expect_oracles out.json unlocked unlocked 0
}

# keyfile1 opens every image. What the native oracle implements (aes in xts-plain64 and
# cbc-essiv; sha1, sha256, whirlpool) both oracles open; elsewhere the native oracle
# says unsupported and libcryptsetup decides alone (oracle.native_unsupported). On a
# kernel without that cipher in its crypto API and without device-mapper, libcryptsetup
# cannot decide either: then passphrase.undecided, never a wrong answer.
test_shared_keyfile1_opens_every_image() {
	local img errors=
	for img in $IMGS; do
		"$VECS" inspect --json --profile luks1 --passphrase-file "$KEY" "$CS/luks1-images/$img" \
			>out.json 2>err.txt || true
		[ ! -s err.txt ] || { errors+=" $img: stderr $(cat err.txt);"; continue; }
		case $img in
		luks1_aes-xts-plain64-* | luks1_aes-cbc-essiv-*)
			(expect_ids out.json "" && expect_oracles out.json unlocked unlocked 0 &&
				jq_true out.json '.verdict == "pass"') 2>err.txt ||
				errors+=" $img: $(head -c 600 err.txt);"
			;;
		*)
			(expect_oracles out.json unsupported "unlocked|error" 0 &&
				jq_true out.json '
				if .passphrase.oracles.libcryptsetup.status == "unlocked"
				then .passphrase.unlocks and .passphrase.keyslot == 0 and .verdict == "pass"
					and ([.findings[] | .id + ":" + .severity] == ["oracle.native_unsupported:info"])
				else ([.findings[].id] == ["passphrase.undecided"])
					and (.passphrase.oracles.libcryptsetup.message | test("device-mapper"))
				end') 2>err.txt || errors+=" $img: $(head -c 600 err.txt);"
			;;
		esac
	done
	[ -z "$errors" ] || fail "$errors"
}

# A wrong passphrase on a known-answer image.
test_shared_wrong_passphrase() {
	head -c 48 /dev/urandom | base64 -w0 >wrong.key
	inspect_json out.json 1 --passphrase-file wrong.key "$CS/luks1-images/luks1_aes-xts-plain64-sha256.img"
	expect_ids out.json "profile.key_bytes passphrase.no_unlock"
	expect_oracles out.json not_unlocked not_unlocked
}

# Hostile headers: exit 1, the luks.* finding that names what is wrong, libcryptsetup
# refuses them too (and names the same keyslot), no crash, with or without a passphrase.
test_shared_evil_headers() {
	local name id slot lmsg
	head -c 48 /dev/urandom | base64 -w0 >pass.key
	while read -r name id slot; do
		[ -f "$CS/$name" ] || fail "$name is missing"
		inspect_json out.json 1 "$CS/$name"
		jq_true out.json "[.findings[].id] | index(\"$id\")"
		jq_true out.json '.libcryptsetup_load != "ok" and .libcryptsetup_load != null'
		jq_true out.json 'all(.findings[]; .id | test("^(luks|profile)[.]"))'
		expect_exit 1 cryptsetup luksDump "$CS/$name" >/dev/null 2>&1
		lmsg=$(jq -r '.passphrase.oracles.libcryptsetup.message // ""' out.json)
		if [ "$slot" != - ]; then
			echo "$lmsg" | grep -q "LUKS keyslot $slot is invalid" ||
				fail "$name: libcryptsetup said '$lmsg'"
			jq_true out.json "any(.findings[]; .id == \"$id\" and (.message | test(\"keyslot(s)? $slot \")))"
		fi
		inspect_json out.json 1 --profile luks1 "$CS/$name"
		jq_true out.json "[.findings[].id] | index(\"$id\")"
		# With a passphrase: no oracle may claim to open it, nor may they disagree.
		inspect_json out.json 1 --passphrase-file pass.key "$CS/$name"
		jq_true out.json '(.passphrase.unlocks | not) and ([.findings[].id] | index("oracle.disagreement") | not)'
		expect_exit 1 "$VECS" inspect "$CS/$name" >/dev/null
	done <<-'EOF'
		evil_hdr-keyslot_overlap luks.keyslot_overlap 1
		evil_hdr-luks_hdr_damage luks.keyslot_offset 2
		evil_hdr-payload_overwrite luks.keyslot_payload_overlap 3
		evil_hdr-small_luks_device luks.device_size -
		evil_hdr-stripes_payload_dmg luks.keyslot_stripes 5
	EOF
	jq_true out.json '.luks.keyslots[5].stripes == 44944'
	inspect_json out.json 1 "$CS/evil_hdr-small_luks_device"
	expect_ids out.json "luks.payload_offset luks.device_size luks.no_active_keyslot" \
		"profile.cipher_mode profile.key_bytes profile.hash_spec profile.keyslot_count"
}

run_tests
