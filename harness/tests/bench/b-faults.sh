#!/usr/bin/env bash
# The fault catalog's cost (issue "Fault injection"): `vecs run --faults` over every
# fault cell in the fast profile, J workers (J = $VECS_BENCH_JOBS, default 2 = the cores
# of the reference machine), each with a stack of its own. Prints the wall time and its
# ratio to the 15 min goal, the cells' results, and the mean time per cell by layer.
# A bench, not a test: it takes 15+ minutes. VECS_BENCH_FAULTS_ONLY=GLOB runs a subset.
set -eu
BIN=${VECS_BIN:-build/bin}
VECS="$BIN/vecs"
J=${VECS_BENCH_JOBS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }

only=()
[ -n "${VECS_BENCH_FAULTS_ONLY:-}" ] && only=(--only "$VECS_BENCH_FAULTS_ONLY")
t0=$(now)
"$VECS" run --faults --seed 0123456789abcdef --jobs "$J" "${only[@]}" \
	--json "$tmp/faults.json" 2>"$tmp/faults.log" || true
t1=$(now)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
if [ ! -s "$tmp/faults.json" ]; then
	tail -20 "$tmp/faults.log"
	echo "faults: the run wrote no results"
	exit 1
fi
jq -r '.summary | "  cells: \(.pass) passed, \(.fail) failed, \(.skip) skipped"' "$tmp/faults.json"
jq -r '.cells | group_by(.operation | split("-")[0])
       | map("  \(.[0].operation | split("-")[0]): \(length) cells, mean \((map(.timings.setup_ms + .timings.steps_ms + .timings.teardown_ms) | add) / length / 1000 | . * 10 | floor / 10) s")
       | .[]' "$tmp/faults.json"
echo "  wall time (--jobs $J, fast profile, stack start and stop included): ${wall} s"
echo "faults: full catalog $(awk -v a="$wall" 'BEGIN { printf "%.2f", a / 900 }')x the 900 s goal"
