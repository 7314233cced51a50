#!/usr/bin/env bash
# The scenario engine's command line: `vecs list`, `vecs run --dry-run`, the refusal of
# a real run while no target exists, and the report goldens against their schemas.
. "$(dirname "$0")/lib.sh"

test_list_json_has_19_operations() {
	"$VECS" list --json >list.json
	jq_true list.json '.scenarios | length == 19'
	jq_true list.json '[.scenarios[].operation] | unique | length == 19'
	jq_true list.json '[.scenarios[] | select(.expected == "refused")] | length == 7'
	jq_true list.json '.scenarios[] | select(.operation == "migrate-volume") | .expected == "supported" and .needs.pools == 2'
	jq_true list.json '.scenarios[] | select(.operation == "migrate-instance") | .needs.hosts == 2'
	jq_true list.json '.scenarios[] | select(.operation == "instance-snapshot") | .expected == "refused"'
	jq_true list.json '[.scenarios[].storage | length == 4] | all'
	jq_true list.json '[.profiles[] | select(.default)] | map(.id) == ["cloudstack-4.18"]'
	"$VECS" list >list.txt
	grep -q '^resize-volume  *supported  *nfs,local,smp,scaleio' list.txt || fail "text listing: $(cat list.txt)"
}

test_list_faults_is_not_implemented() {
	expect_exit 2 "$VECS" list --faults 2>err
	grep -q 'fault catalog is not implemented yet' err || fail "message: $(cat err)"
}

test_dry_run_resize_nfs() {
	"$VECS" run --dry-run --storage nfs --only 'resize-volume/*' --seed 0123456789abcdef >out
	grep -q '^vecs run --dry-run: 1 cell of 76 ' out || fail "header: $(head -3 out)"
	grep -q '^run seed: 0123456789abcdef' out || fail "no run seed"
	grep -q '^cell resize-volume/nfs/cloudstack-4.18  seed [0-9a-f]\{16\}$' out || fail "no cell line"
	[ "$(grep -c '^cell ' out)" -eq 1 ] || fail "more than one cell"
	# bound names are printed as the step fields they stand for; cell values filled in
	grep -q 'id=${steps.create-data.volume.id}$' out || fail "reference not resolved symbolically"
	grep -q 'name=vecs-resize-volume-nfs-cloudstack-4-18-root$' out || fail "cell.slug not filled in"
	grep -q 'resize: resizeVolume (async)  <- operation' out || fail "operation step"
	grep -q 'expect volume.size == 2147483648' out || fail "field check"
	grep -q "checkpoint verify_canary 'data'" out || fail "verify checkpoint"
	grep -q '^qemu-img: ' out || fail "component versions"
	# the same seed gives the same cell seed
	"$VECS" run --dry-run --storage nfs --only 'resize-volume/*' --seed 0123456789abcdef >out2
	cmp -s out out2 || fail "dry run not reproducible"
}

test_dry_run_refused_row_shows_message() {
	"$VECS" run --dry-run --only 'download-volume/scaleio/*' --seed 0123456789abcdef >out
	grep -q 'expect refused: 431 "Extraction of encrypted volumes is unsupported"' out || fail "$(cat out)"
	grep -q "checkpoint verify_unchanged 'before'" out || fail "no unchanged check"
}

test_dry_run_counts() {
	n=$("$VECS" run --dry-run --seed 0123456789abcdef | grep -c '^cell ')
	[ "$n" -eq 76 ] || fail "full matrix: $n cells"
	n=$("$VECS" run --dry-run --seed 0123456789abcdef --profile cloudstack-4.18,cloudstack-4.18-production | grep -c '^cell ')
	[ "$n" -eq 152 ] || fail "two profiles: $n cells"
	total=0
	for s in 1 2 3; do
		k=$("$VECS" run --dry-run --seed 0123456789abcdef --shard $s/3 | grep -c '^cell ' || true)
		total=$((total + k))
	done
	[ "$total" -eq 76 ] || fail "shards cover $total cells"
}

# Only the reference target exists; a run against another is a clear usage error.
test_run_unknown_target_exits_2() {
	echo "{}" >target.json
	expect_exit 2 "$VECS" run --storage nfs --target cloudstack --target-config target.json 2>err
	grep -q 'only --target reference is implemented' err || fail "message: $(cat err)"
}

# A run against a stack directory with no stack in it says so (exit 2), touching nothing.
test_run_against_missing_stack() {
	mkdir empty-stack
	expect_exit 2 "$VECS" run --only 'download-volume/local/*' --stack-dir "$PWD/empty-stack" 2>err
	grep -q 'is the stack up' err || fail "message: $(cat err)"
	[ -z "$(ls -A empty-stack)" ] || fail "files appeared in the stack dir"
}

test_run_usage_errors() {
	expect_exit 2 "$VECS" run --dry-run --shard 0/4 2>err
	grep -q 'must be I/N' err || fail "$(cat err)"
	expect_exit 2 "$VECS" run --dry-run --storage ceph 2>err
	grep -q "unknown storage type 'ceph'" err || fail "$(cat err)"
	expect_exit 2 "$VECS" run --dry-run --only 'nothing/*' 2>err
	grep -q 'no cell matches' err || fail "$(cat err)"
	expect_exit 2 "$VECS" run --dry-run --profile nope 2>err
	grep -q "no profile 'nope'" err || fail "$(cat err)"
	expect_exit 2 "$VECS" run --dry-run --seed xyz 2>err
	expect_exit 2 "$VECS" run --faults --dry-run 2>err
	grep -q 'fault catalog is not implemented yet' err || fail "$(cat err)"
	expect_exit 2 "$VECS" run --target cloudstack --dry-run 2>err
	grep -q 'needs --target-config' err || fail "$(cat err)"
	"$VECS" run --help | grep -q -- '--shard I/N' || fail "--help"
}

# A vendor's typo is an error with file:line:column, not a silently skipped check.
test_scenario_typo_is_an_error() {
	cp -r "$TOP/scenarios" sc
	sed -i 's/^    checkpoint: verify_canary$/    checkpiont: verify_canary/' sc/matrix/resize-volume.yaml
	expect_exit 2 "$VECS" list --scenarios sc 2>err
	grep -q "sc/matrix/resize-volume.yaml:[0-9]*:5: unknown key 'checkpiont'" err || fail "$(cat err)"
}

test_report_goldens_are_valid() {
	g="$TOP/harness/tests/golden"
	command -v xmllint >/dev/null || fail "xmllint missing (ci/install-deps installs libxml2-utils)"
	xmllint --noout --schema "$g/junit.xsd" "$g/report.junit.xml"
	xmllint --html --noout "$g/report.index.html" "$g/report.cell.html"
	jq_true "$g/report.json" '(.cells | length) == 4 and ([.cells[] | has("operation", "storage", "expected", "status", "reason", "timings", "evidence", "seed")] | all)'
	head -1 "$g/report.tap" | grep -qx 'TAP version 13'
	grep -q '^1\.\.4$' "$g/report.tap"
}

run_tests
