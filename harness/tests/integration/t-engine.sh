#!/usr/bin/env bash
# The scenario engine's command line: `vecs list`, `vecs run --dry-run`, usage errors
# of a real run, and the report goldens against their schemas.
. "$(dirname "$0")/lib.sh"

test_list_json_has_19_operations() {
	"$VECS" list --json >list.json
	# 19 matrix rows, and guest/guest-transparency (no matrix row)
	jq_true list.json '[.scenarios[] | select(.matrix_row != null)] | length == 19'
	jq_true list.json '[.scenarios[].operation] | unique | length == 20'
	jq_true list.json '.scenarios[] | select(.operation == "guest-transparency") | .matrix_row == null and .needs.guest'
	jq_true list.json '[.scenarios[] | select(.expected == "refused")] | length == 7'
	jq_true list.json '.scenarios[] | select(.operation == "migrate-volume") | .expected == "supported" and .needs.pools == 2'
	jq_true list.json '.scenarios[] | select(.operation == "migrate-instance") | .needs.hosts == 2'
	jq_true list.json '.scenarios[] | select(.operation == "instance-snapshot") | .expected == "refused"'
	jq_true list.json '[.scenarios[].storage | length == 4] | all'
	jq_true list.json '[.profiles[] | select(.default)] | map(.id) == ["cloudstack-4.18"]'
	"$VECS" list >list.txt
	grep -q '^resize-volume  *supported  *nfs,local,smp,scaleio' list.txt || fail "text listing: $(cat list.txt)"
}

# The fault catalog: at least 40 kinds over six layers, each with where it applies and
# the scenario step it is armed around (harness/faults/catalog.c); the fault cells.
test_list_faults() {
	"$VECS" list --faults --json >faults.json
	jq_true faults.json '.fault_kinds >= 40 and (.faults | length) == .fault_kinds'
	jq_true faults.json '[.faults[].layer] | unique == ["capability","clock","corruption","crash","io","service"]'
	jq_true faults.json '[.faults[] | (.storage | length) > 0 and .scenario != null and .at_step != null] | all'
	jq_true faults.json '[.faults[] | select((.storage | length) < 4) | .storage_note != null] | all'
	jq_true faults.json '.faults[] | select(.id == "crash-sweep-create") | .sweep_points >= 11'
	cells=$(jq .cells faults.json)
	"$VECS" list --faults >faults.txt
	grep -q "^io-eio-write-deploy  *io  *nfs,local,smp,scaleio  *fails " faults.txt ||
		fail "text listing: $(head -3 faults.txt)"
	grep -q "fault kinds (.*), $cells cells per profile" faults.txt || fail "$(tail -4 faults.txt)"
	# the fault cells: ids with sweep points, seeds printed, the step they are armed at
	"$VECS" run --faults --dry-run --seed 0123456789abcdef --only 'crash-sweep-create@2/*' >dry
	grep -q "^vecs run --dry-run: 4 cells of $cells " dry || fail "$(head -2 dry)"
	grep -q '^cell crash-sweep-create@2/nfs/cloudstack-4.18  seed [0-9a-f]\{16\}$' dry ||
		fail "$(grep '^cell' dry)"
	# faults reach into the deployment: not against a cloudstack target
	expect_exit 2 "$VECS" run --faults --target cloudstack --target-config /dev/null 2>err
	grep -q 'reference only' err || fail "$(cat err)"
}

test_dry_run_resize_nfs() {
	"$VECS" run --dry-run --storage nfs --only 'resize-volume/*' --seed 0123456789abcdef >out
	grep -q '^vecs run --dry-run: 1 cell of 80 ' out || fail "header: $(head -3 out)"
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
	# 19 matrix scenarios and guest/guest-transparency, on 4 storage types
	[ "$n" -eq 80 ] || fail "full matrix: $n cells"
	n=$("$VECS" run --dry-run --seed 0123456789abcdef --profile cloudstack-4.18,cloudstack-4.18-production | grep -c '^cell ')
	[ "$n" -eq 160 ] || fail "two profiles: $n cells"
	total=0
	for s in 1 2 3; do
		k=$("$VECS" run --dry-run --seed 0123456789abcdef --shard $s/3 | grep -c '^cell ' || true)
		total=$((total + k))
	done
	[ "$total" -eq 80 ] || fail "shards cover $total cells"
}

# A cloudstack target configuration that is not one is a clear usage error, before
# anything is contacted (the target itself: t-target-cloudstack.sh).
test_run_bad_target_config_exits_2() {
	echo "{}" >target.json
	expect_exit 2 "$VECS" run --storage nfs --target cloudstack --target-config target.json 2>err
	grep -q 'readable by others' err || fail "message: $(cat err)"
	chmod 600 target.json
	expect_exit 2 "$VECS" run --storage nfs --target cloudstack --target-config target.json 2>err
	grep -q '"format" must be "vecs-target-1"' err || fail "message: $(cat err)"
	expect_exit 2 "$VECS" run --storage nfs --target unknown 2>err
	grep -q 'must be reference or cloudstack' err || fail "message: $(cat err)"
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
