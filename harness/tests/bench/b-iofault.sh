#!/usr/bin/env bash
# The I/O fault shim's cost when nothing fires (goal <= 1.05): `qemu-img convert` of a
# 256 MiB raw image to raw (pure I/O, the most sensitive case) without the shim, with
# the shim and a disarmed rules file, and (for information) with a rule armed for
# another path, which makes every write take the matching path. Medians of interleaved rounds. Also
# per-call: dd of 1M 512-byte blocks (2M intercepted calls).
set -eu
BIN=${VECS_BIN:-build/bin}
BIN=$(cd "$BIN" && pwd)
IOF=$BIN/../lib/libvecs-iofault.so
[ -f "$IOF" ] || { echo "b-iofault: $IOF is missing; run make" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 256M /dev/urandom >"$tmp/src.raw"
"$BIN/vecs" iofault arm "$tmp/rules" 'path=*/elsewhere op=write action=errno:EIO'
"$BIN/vecs" iofault disarm "$tmp/rules"
cp "$tmp/rules" "$tmp/armed"
"$BIN/vecs" iofault arm "$tmp/armed" 'path=*/elsewhere op=write action=errno:EIO'

# cpu_ms CMD...: user+system CPU milliseconds of CMD. CPU time, not wall time: this
# machine is shared, and waiting for a core says nothing about the shim.
cpu_ms() {
	local TIMEFORMAT='%3U %3S' t
	t=$({ time "$@" >/dev/null; } 2>&1)
	awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%d\n", (a[1] + a[2]) * 1000 }'
}

# one_ms ENV...: one convert with these environment settings
one_ms() {
	rm -f "$tmp/out.raw"
	cpu_ms env "$@" qemu-img convert -f raw -O raw "$tmp/src.raw" "$tmp/out.raw"
}

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Rounds interleave the variants so that page cache and CPU frequency drift hit all of
# them alike; each variant's median over the rounds counts.
one_ms VECS_IOFAULT_NONE=1 >/dev/null # warm the page cache
for f in base idle unset armedt ddb ddi; do : >"$tmp/$f"; done
for _ in 1 2 3 4 5 6 7; do
	one_ms VECS_IOFAULT_NONE=1 >>"$tmp/base"
	one_ms LD_PRELOAD="$IOF" VECS_IOFAULT_RULES="$tmp/rules" >>"$tmp/idle"
	one_ms LD_PRELOAD="$IOF" >>"$tmp/unset"
	one_ms LD_PRELOAD="$IOF" VECS_IOFAULT_RULES="$tmp/armed" >>"$tmp/armedt"
done
base=$(median <"$tmp/base") idle=$(median <"$tmp/idle")
unset_env=$(median <"$tmp/unset") armed=$(median <"$tmp/armedt")

# Per call: dd moves 1M blocks of 512 bytes from /dev/zero to a file, two intercepted
# calls per block, so the wrapper's own cost is not drowned by big transfers.
dd_ms() {
	cpu_ms env "$@" dd if=/dev/zero of="$tmp/dd.out" bs=512 count=1M status=none
}
for _ in 1 2 3 4 5; do
	dd_ms VECS_IOFAULT_NONE=1 >>"$tmp/ddb"
	dd_ms LD_PRELOAD="$IOF" VECS_IOFAULT_RULES="$tmp/rules" >>"$tmp/ddi"
done
ddb=$(median <"$tmp/ddb") ddi=$(median <"$tmp/ddi")
[ "$(grep -vc '^#' "$tmp/armed.log" || true)" = 0 ] || { echo "b-iofault: the rule for another path fired" >&2; exit 1; }
ratio=$(awk -v a="$base" -v b="$idle" 'BEGIN { printf "%.3f", b / (a ? a : 1) }')
ratio_unset=$(awk -v a="$base" -v b="$unset_env" 'BEGIN { printf "%.3f", b / (a ? a : 1) }')
ratio_armed=$(awk -v a="$base" -v b="$armed" 'BEGIN { printf "%.3f", b / (a ? a : 1) }')
echo "  convert 256 MiB: ${base} ms CPU without the shim, ${idle} ms disarmed (ratio $ratio), ${unset_env} ms without VECS_IOFAULT_RULES (ratio $ratio_unset), ${armed} ms with a non-matching rule (ratio $ratio_armed)"
echo "  dd 1M x 512 B: ${ddb} ms CPU without the shim, ${ddi} ms disarmed (ratio $(awk -v a="$ddb" -v b="$ddi" 'BEGIN { printf "%.3f", b / (a ? a : 1) }'))"
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.05) ? "goal met" : "GOAL MISSED" }')
echo "iofault: disarmed shim / no shim ratio $ratio (goal <= 1.05): $verdict"
