# shellcheck shell=bash
# Helpers for the `vecs inspect` integration tests (t-inspect*.sh); sourced after lib.sh.
#
# inspect_images: make the generated images once per script (fixtures/make-luks-images)
# into $IMG, removed when the script exits. Tests copy an image into $T before
# damaging it, never damage $IMG itself.

DAMAGE="$TOP/fixtures/damage"

inspect_images() {
	IMG=$(mktemp -d "${TMPDIR:-/tmp}/vecs-it-img.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$IMG'" EXIT
	VECS_SHIM="$SHIM" "$TOP/fixtures/make-luks-images" "$IMG" >"$IMG.log" 2>&1 || {
		echo "fixtures/make-luks-images failed:" >&2
		cat "$IMG.log" >&2
		rm -f "$IMG.log"
		exit 1
	}
	rm -f "$IMG.log"
}

# inspect_json OUT RC ARGS...: `vecs inspect --json ARGS` must exit RC and print one
# JSON object (verdict "pass" for 0, "fail" for 1) into OUT; its stderr goes to OUT.err
# and must be empty.
inspect_json() {
	local out=$1 want=$2 got=0
	shift 2
	"$VECS" inspect --json "$@" >"$out" 2>"$out.err" || got=$?
	[ "$got" -eq "$want" ] ||
		fail "vecs inspect --json $* exited $got, expected $want: $(head -c 3000 "$out") $(cat "$out.err")"
	[ ! -s "$out.err" ] || fail "vecs inspect --json $* wrote to stderr: $(cat "$out.err")"
	jq -e --argjson rc "$want" 'type == "object" and .verdict == (if $rc == 0 then "pass" else "fail" end)' \
		"$out" >/dev/null 2>&1 || fail "vecs inspect --json $* printed no JSON object with the right verdict: $(head -c 2000 "$out")"
}

# ids_json "A B C": the words as a JSON array of strings (no jq process).
ids_json() {
	local w out=
	for w in $1; do out+="${out:+,}\"$w\""; done
	echo "[$out]"
}

# expect_ids FILE "REQUIRED IDS" ["ALSO ALLOWED IDS"]: every required finding id is
# present, and no id outside REQUIRED + ALLOWED is. With no ALLOWED the set is exact.
expect_ids() {
	local f=$1 req allowed
	req=$(ids_json "$2")
	allowed=$(ids_json "$2 ${3:-}")
	jq -r --argjson req "$req" --argjson ok "$allowed" \
		'([.findings[].id] | unique) as $got
		 | if ($req - $got) == [] and ($got - $ok) == [] then "ok"
		   else "finding ids are \($got); required \($req), allowed \($ok | unique) (\([.findings[] | .id + ": " + .message]))" end' \
		"$f" >"$f.ids" || fail "$f is not JSON"
	[ "$(cat "$f.ids")" = ok ] || fail "$(cat "$f.ids")"
}

# expect_oracles FILE NATIVE LIBCRYPTSETUP [KEYSLOT]: the two oracles' statuses (a
# status may be "a|b": either), the keyslot an unlocking oracle reports (null when
# omitted), the combined .passphrase answer, and never an oracle.disagreement.
expect_oracles() {
	local f=$1 n=$2 l=$3 ks=${4:-null}
	jq -r --arg n "$n" --arg l "$l" --argjson ks "$ks" '
		.passphrase as $p | $p.oracles.native as $N | $p.oracles.libcryptsetup as $L
		| [ (if ($N.status | IN($n | split("|")[])) and ($L.status | IN($l | split("|")[])) then empty
		     else "oracles are native \($N.status), libcryptsetup \($L.status); expected \($n), \($l)" end),
		    (if $N.status == "unlocked" and $N.keyslot != $ks then "native opened keyslot \($N.keyslot), not \($ks)" else empty end),
		    (if $L.status == "unlocked" and $L.keyslot != $ks then "libcryptsetup opened keyslot \($L.keyslot), not \($ks)" else empty end),
		    (if $N.status == "unlocked" and $L.status == "unlocked"
		        and ($p.checked and $p.unlocks and $p.keyslot == $ks | not)
		     then "both oracles unlocked but passphrase is \($p | del(.oracles))" else empty end),
		    (if $N.status == "not_unlocked" and $L.status == "not_unlocked"
		        and ($p.checked and ($p.unlocks | not) and $p.keyslot == null | not)
		     then "both oracles say not_unlocked but passphrase is \($p | del(.oracles))" else empty end),
		    (if [.findings[].id] | index("oracle.disagreement") then "oracle.disagreement: \(.findings)" else empty end)
		  ] | if . == [] then "ok" else join("; ") + " (oracles: \($p.oracles))" end' "$f" >"$f.or" ||
		fail "$f is not JSON"
	[ "$(cat "$f.or")" = ok ] || fail "$(cat "$f.or")"
}

# luksdump_json DEV: what `cryptsetup luksDump` says about a LUKS1 header, as JSON in
# the shape of inspect's .luks (keyslot details only for enabled keyslots).
luksdump_json() {
	cryptsetup luksDump "$1" | awk '
		function val(s) { sub(/^[^:]*:[ \t]*/, "", s); return s }
		function q(s) { return "\"" s "\"" }
		/^Version:/        { printf "{\"version\":%s", val($0) }
		/^Cipher name:/    { printf ",\"cipher_name\":%s", q(val($0)) }
		/^Cipher mode:/    { printf ",\"cipher_mode\":%s", q(val($0)) }
		/^Hash spec:/      { printf ",\"hash_spec\":%s", q(val($0)) }
		/^Payload offset:/ { printf ",\"payload_offset\":%s", val($0) }
		/^MK bits:/        { printf ",\"key_bytes\":%d", val($0) / 8 }
		/^MK iterations:/  { printf ",\"mk_digest_iterations\":%s", val($0) }
		/^MK salt:/        { salt = val($0); insalt = 1; next }
		insalt && /^[ \t]+[0-9a-f][0-9a-f] / { salt = salt $0; next }
		insalt             { gsub(/[ \t]/, "", salt); printf ",\"mk_digest_salt\":%s", q(salt); insalt = 0 }
		/^UUID:/           { printf ",\"uuid\":%s,\"keyslots\":[", q(val($0)) }
		/^Key Slot [0-7]:/ {
			if (slot != "") printf "%s},", slot
			n = $3; sub(/:/, "", n)
			slot = "{\"index\":" n ",\"active\":" ($4 == "ENABLED" ? "true" : "false")
		}
		/^\tIterations:/          { slot = slot ",\"iterations\":" val($0) }
		/^\tKey material offset:/ { slot = slot ",\"key_material_offset\":" val($0) }
		/^\tAF stripes:/          { slot = slot ",\"stripes\":" val($0) }
		END { printf "%s}]}\n", slot }'
}

# expect_luksdump JSONFILE DEV: inspect's .luks equals luksDump field by field.
expect_luksdump() {
	local f=$1 dev=$2 dump
	dump=$(luksdump_json "$dev") || fail "cryptsetup luksDump $dev failed"
	echo "$dump" | jq -e . >/dev/null || fail "could not parse luksDump of $dev: $dump"
	jq -e --argjson d "$dump" '
		.luks as $l
		| ([ "version", "cipher_name", "cipher_mode", "hash_spec", "payload_offset",
		     "key_bytes", "mk_digest_iterations", "mk_digest_salt", "uuid" ]
		   | all(. as $k | $l[$k] == $d[$k]))
		and ($d.keyslots | length) == 8
		and ($l.keyslots | length) == 8
		and ($l.active_keyslots == ([$d.keyslots[] | select(.active)] | length))
		and ([range(8)] | all(. as $i | $d.keyslots[$i] as $e | $l.keyslots[$i] as $g
			| $g.index == $i and $g.active == $e.active
			and (($e.active | not) or ($g.iterations == $e.iterations
				and $g.key_material_offset == $e.key_material_offset
				and $g.stripes == $e.stripes))))' "$f" >/dev/null ||
		fail "inspect's header fields differ from cryptsetup luksDump of $dev: inspect $(jq -c '.luks' "$f"); luksDump $dump"
}

# copy_damaged SRC DST [--base N|--qcow2] FIELD ARGS...: a damaged copy of SRC.
copy_damaged() {
	local src=$1 dst=$2
	shift 2
	cp "$src" "$dst"
	local opts=()
	while [ $# -gt 0 ]; do
		case $1 in
		--qcow2) opts+=("$1"); shift ;;
		--base) opts+=("$1" "$2"); shift 2 ;;
		*) break ;;
		esac
	done
	"$DAMAGE" "${opts[@]}" "$dst" "$@" 2>/dev/null || fail "fixtures/damage ${opts[*]} $dst $* failed"
}

# no_control_bytes FILE: FILE holds no byte below 0x20 other than newline and tab.
no_control_bytes() {
	! LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n\t' <"$1") ||
		fail "$1 holds control characters: $(cat -v "$1" | grep -m3 '\^')"
}
