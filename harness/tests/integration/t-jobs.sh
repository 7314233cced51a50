#!/usr/bin/env bash
# `vecs run --jobs N`: N workers, each with a stack of its own, give the same results
# as one worker, in the same cell order; a killed run leaves no stack behind.
. "$(dirname "$0")/lib.sh"

CELLS='resize-volume/*,download-volume/*,attach-detach-volume/*'

# run_recording_stacks LOG ARGS...: vecs run ARGS in the background; while it runs,
# record the run id of every stack its workers start (in runs.txt).
run_recording_stacks() {
	local log=$1 pid work="" rc=0 f
	shift
	"$VECS" run "$@" 2>"$log" &
	pid=$!
	: >runs.txt
	while kill -0 "$pid" 2>/dev/null; do
		for d in /tmp/vecs-run.*; do
			[ -f "$d/owner" ] && [ "$(cut -d' ' -f1 "$d/owner")" = "$pid" ] && work=$d
		done
		for f in ${work:+"$work"/stack*/stack.json}; do
			[ -s "$f" ] && jq -r .run_id "$f" 2>/dev/null >>runs.txt
		done
		sleep 0.2
	done
	wait "$pid" || rc=$?
	sort -u runs.txt -o runs.txt
	return $rc
}

test_jobs_2_same_results_as_jobs_1() {
	local r
	"$VECS" run --storage local,smp --only "$CELLS" --seed 0123456789abcdef --jobs 1 \
		--json j1.json 2>j1.log || true
	run_recording_stacks j2.log --storage local,smp --only "$CELLS" --seed 0123456789abcdef \
		--jobs 2 --json j2.json || true
	grep -q '2 jobs' j2.log || fail "$(head -3 j2.log)"
	[ "$(wc -l <runs.txt)" -eq 2 ] || fail "expected 2 stacks, saw: $(cat runs.txt)"
	jq_true j1.json '(.cells | length) == 6'
	jq -r '.cells[] | "\(.id) \(.status) \(.seed) \(.reason)"' j1.json >j1.txt
	jq -r '.cells[] | "\(.id) \(.status) \(.seed) \(.reason)"' j2.json >j2.txt
	diff j1.txt j2.txt || fail "--jobs 2 differs from --jobs 1"
	jq_true j2.json 'all(.cells[]; .status == "pass")'
	# per-cell time accounting: API + probes + harness = the cell's time (to the
	# millisecond the separate roundings allow), and the API part is real
	jq_true j2.json 'all(.cells[]; .timings | ((.api_ms + .probe_ms + .harness_ms) - (.setup_ms + .steps_ms + .teardown_ms)) | (if . < 0 then -. else . end) <= 2)'
	jq_true j2.json 'all(.cells[] | select(.status == "pass"); .timings.api_ms > 0 and .timings.probe_ms > 0)'
	# both stacks gone: no netns of theirs, no work directory
	for r in $(cat runs.txt); do
		! ip netns list | grep -q "$r" || fail "netns of $r left: $(ip netns list | grep "$r")"
	done
	! grep -qs "$(cat runs.txt | head -1)" /tmp/vecs-run.*/stack*/stack.json || fail "work dir left"
}

# Killed with -9 while its two stacks run: the workers die with it, each stack stops
# itself when its owner (a worker) is gone.
test_killed_run_stops_both_stacks() {
	local pid work="" n
	"$VECS" run --storage smp --only "$CELLS" --jobs 2 >run.log 2>&1 &
	pid=$!
	for _ in $(seq 600); do
		for d in /tmp/vecs-run.*; do
			[ -f "$d/owner" ] && [ "$(cut -d' ' -f1 "$d/owner")" = "$pid" ] && work=$d
		done
		[ -n "$work" ] && [ -s "$work/stack-1/stack.json" ] && [ -s "$work/stack-2/stack.json" ] && break
		sleep 0.1
	done
	[ -n "$work" ] && [ -s "$work/stack-2/stack.json" ] || { kill -KILL "$pid"; fail "no two stacks: $(cat run.log)"; }
	local runs
	runs=$(jq -r .run_id "$work"/stack-*/stack.json)
	kill -KILL "$pid"
	for _ in $(seq 300); do
		[ -f "$work/stack-1/stack.ledger" ] || [ -f "$work/stack-2/stack.ledger" ] || break
		sleep 0.1
	done
	n=$(ls "$work"/stack-*/stack.ledger 2>/dev/null | wc -l)
	[ "$n" -eq 0 ] || fail "$n stacks of a killed run still up after 30 s"
	for r in $runs; do
		! ip netns list | grep -q "$r" || fail "netns of $r left"
	done
	rm -rf "$work"
}

test_jobs_usage() {
	expect_exit 2 "$VECS" run --jobs 0 --dry-run 2>err
	grep -q -- '--jobs must be a whole number' err || fail "$(cat err)"
	mkdir s
	expect_exit 2 "$VECS" run --jobs 2 --stack-dir "$PWD/s" --only 'download-volume/smp/*' 2>err
	grep -q 'share one deployment' err || fail "$(cat err)"
}

run_tests
