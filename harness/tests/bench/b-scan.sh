#!/usr/bin/env bash
# `vecs scan` throughput against a plain sequential read of the same page-cached file
# (1 GiB of random data with a few canary pieces). Goal: ratio >= 0.8, i.e. the
# oracle costs little more than reading the bytes.
set -euo pipefail
VECS_BIN=${VECS_BIN:-build/bin}
VECS="$(cd "$VECS_BIN" && pwd)/vecs"
SIZE_MB=${BENCH_SCAN_MB:-1024}
REPS=${BENCH_REPS:-5}
dir=$(mktemp -d "${TMPDIR:-/tmp}/vecs-bench-scan.XXXXXX")
trap 'rm -rf "$dir"' EXIT
f=$dir/data.img

head -c "${SIZE_MB}M" /dev/urandom >"$f"
for off in 1000003 $((SIZE_MB * 524288 + 7)) $((SIZE_MB * 1048576 - 5000)); do
	"$VECS" canary --seed bench --size 4K |
		dd of="$f" bs=4K seek="$off" oflag=seek_bytes conv=notrunc status=none
done
cat "$f" >/dev/null # into the page cache

# best of REPS wall-clock runs, in nanoseconds
best_ns() {
	local best=0 s e i
	for i in $(seq "$REPS"); do
		s=$(date +%s%N)
		"$@" >/dev/null || [ $? -eq 1 ]
		e=$(date +%s%N)
		if [ "$best" -eq 0 ] || [ $((e - s)) -lt "$best" ]; then best=$((e - s)); fi
	done
	echo "$best"
}

# the scan must find the three pieces, or its speed means nothing
hits=$("$VECS" scan --seed bench --json "$f" | jq '.hits_total') || true
[ "$hits" = 3 ] || { echo "b-scan: expected 3 hits, got '$hits'" >&2; exit 1; }

read_ns=$(best_ns dd if="$f" of=/dev/null bs=4M status=none)
scan_ns=$(best_ns "$VECS" scan --seed bench "$f")
nohex_ns=$(best_ns "$VECS" scan --seed bench --no-hex "$f")
mbps() { awk -v b=$((SIZE_MB * 1048576)) -v ns="$1" 'BEGIN { printf "%.0f", b * 1000 / ns }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "file: ${SIZE_MB} MiB, page-cached, best of $REPS"
printf 'read (dd bs=4M):     %6s MB/s\n' "$(mbps "$read_ns")"
printf 'vecs scan:           %6s MB/s  ratio %s\n' "$(mbps "$scan_ns")" \
	"$(ratio "$read_ns" "$scan_ns")"
printf 'vecs scan --no-hex:  %6s MB/s  ratio %s\n' "$(mbps "$nohex_ns")" \
	"$(ratio "$read_ns" "$nohex_ns")"
awk -v a="$read_ns" -v b="$scan_ns" 'BEGIN { exit !(a / b >= 0.8) }' ||
	echo "b-scan: below the 0.8 goal" >&2
