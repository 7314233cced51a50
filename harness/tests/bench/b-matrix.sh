#!/usr/bin/env bash
# The support matrix's cost (issue "scenario engine: execution"), in three numbers:
#  1. the full matrix wall time in the fast profile (all cells, `vecs run --jobs J`,
#     J = $VECS_BENCH_JOBS, default 2 = the cores of the reference machine), printed in
#     seconds and as a ratio to the 300 s goal;
#  2. the harness's own overhead per cell from that run's JSON bundle: time outside the
#     target's API calls and probes (timings.harness_ms) as a fraction of the cell's
#     time, over all cells and for the worst cell (goal <= 5%);
#  3. the speed-up of --jobs 2 over --jobs 1 on one subset (8 cells).
# A bench, not a test: it takes ~10 minutes. VECS_BENCH_FULL=0 skips 1 and 2. Bundles
# and logs are kept in $VECS_BENCH_OUT (default reports/out/bench).
set -eu
BIN=${VECS_BIN:-build/bin}
VECS="$BIN/vecs"
J=${VECS_BENCH_JOBS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the bundles and logs stay for a look afterwards
out=${VECS_BENCH_OUT:-reports/out/bench}
mkdir -p "$out"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

if [ "${VECS_BENCH_FULL:-1}" != 0 ]; then
	t0=$(now)
	"$VECS" run --seed 0123456789abcdef --jobs "$J" --json "$tmp/full.json" 2>"$tmp/full.log" || true
	t1=$(now)
	full=$(secs "$t0" "$t1")
	cp "$tmp/full.json" "$out/matrix-full.json"
	cp "$tmp/full.log" "$out/matrix-full.log"
	jq -r '.summary | "  cells: \(.pass) passed, \(.fail) failed, \(.skip) skipped"' "$tmp/full.json"
	echo "  full matrix (--jobs $J, fast profile): ${full} s"
	echo "matrix: full matrix $(awk -v a="$full" 'BEGIN { printf "%.2f", a / 300 }')x the 300 s goal"
	jq -r '
	  [.cells[] | .timings | select(.api_ms != null)] as $t
	  | ($t | map(.setup_ms + .steps_ms + .teardown_ms) | add) as $all
	  | ($t | map(.api_ms) | add) as $api
	  | ($t | map(.probe_ms) | add) as $probe
	  | ($t | map(.harness_ms) | add) as $own
	  | ($t | map(if (.setup_ms + .steps_ms + .teardown_ms) > 0
	              then .harness_ms / (.setup_ms + .steps_ms + .teardown_ms) else 0 end) | max) as $worst
	  | "  cell time \($all / 1000 | floor) s: API \($api * 100 / $all | floor)%, probes \($probe * 100 / $all | floor)%, harness \($own * 1000 / $all | floor / 10)%",
	    "matrix: harness overhead \($own / $all * 100 | . * 100 | round / 100)% of cell time (worst cell \($worst * 100 | . * 100 | round / 100)%), \($own / $all / 0.05 | . * 10000 | round / 10000)x the 5% goal"
	' "$tmp/full.json"
fi

SUB='resize-volume/*,download-volume/*,attach-detach-volume/*,start-stop-instance/*'
declare -A took
for j in 1 2; do
	t0=$(now)
	"$VECS" run --storage local,smp --only "$SUB" --seed 0123456789abcdef --jobs "$j" \
		--json "$tmp/sub$j.json" 2>"$tmp/sub$j.log" || true
	t1=$(now)
	took[$j]=$(secs "$t0" "$t1")
	cp "$tmp/sub$j.json" "$out/matrix-jobs$j.json"
	echo "  subset of $(jq '.cells | length' "$tmp/sub$j.json") cells, --jobs $j: ${took[$j]} s ($(jq -r '.summary | "\(.pass) passed, \(.fail) failed"' "$tmp/sub$j.json"))"
done
echo "matrix: --jobs 2 is $(awk -v a="${took[1]}" -v b="${took[2]}" 'BEGIN { printf "%.2f", a / b }')x as fast as --jobs 1 (stack start-up included)"
