#!/usr/bin/env bash
# The `cloudstack` target against a deployment it did not start: a reference stack
# brought up on its own with `vecs stack up`, described by `vecs stack config`. The same
# cells (one supported and one refused per storage type) run through --target
# cloudstack --target-config F and through --target reference --stack-dir D must give
# the same status per cell.
. "$(dirname "$0")/lib.sh"

STACK=$(mktemp -d "${TMPDIR:-/tmp}/vecs-it-cs.XXXXXX")
# the directory goes only when down succeeded: it holds the ledger that names what runs
trap '"$VECS" stack down --dir "$STACK" >/dev/null 2>&1 && rm -rf "$STACK"' EXIT
if ! "$VECS" stack up --dir "$STACK" 2>"$STACK.log"; then
	echo "  FAIL t-target-cloudstack: stack did not come up: $(tail -5 "$STACK.log")"
	echo "fail t-target-cloudstack/stack" >>"$VECS_IT_RESULTS"
	rm -f "$STACK.log"
	exit 1
fi
rm -f "$STACK.log"
CELLS='resize-volume/*,download-volume/*'

write_config() {
	(umask 077; "$VECS" stack config --dir "$STACK" >"$1")
}

test_config_describes_the_stack() {
	write_config target.json
	[ "$(stat -c %a target.json)" = 600 ] || fail "config mode $(stat -c %a target.json)"
	jq_true target.json '.format == "vecs-target-1"'
	jq -e --slurpfile s "$STACK/stack.json" '.api_url == $s[0].api_url and .api_key == $s[0].api_key and .secret_key == $s[0].secret_key' target.json >/dev/null ||
		fail "api fields differ from stack.json"
	jq_true target.json "[.hosts[] | .name, .libvirt_uri] | length == 4"
	jq_true target.json ".scan.at_rest == [\"$STACK\"] and .scan.logs == [\"$STACK/logs\", \"$STACK/hosts\"]"
	jq_true target.json "(.pools[] | select(.type == \"scaleio\") | .probe.state_file) == \"$STACK/scaleio/state.json\""
	jq_true target.json '[.pools[].type] | unique == ["local", "nfs", "scaleio", "smp"] or unique == ["local", "scaleio", "smp"]'
	jq_true target.json '.db.kind == "sqlite" and .db.encryptor_version == "V2"'
}

test_same_results_as_reference() {
	write_config target.json
	"$VECS" run --target cloudstack --target-config target.json --only "$CELLS" \
		--seed 0123456789abcdef --json cs.json 2>cs.log || true
	"$VECS" run --target reference --stack-dir "$STACK" --only "$CELLS" \
		--seed 0123456789abcdef --json ref.json 2>ref.log || true
	jq_true cs.json '.run.target == "cloudstack" and (.cells | length) == 8'
	jq_true ref.json '.run.target == "reference" and (.cells | length) == 8'
	jq -r '.cells[] | "\(.id) \(.status)"' cs.json >cs.txt
	jq -r '.cells[] | "\(.id) \(.status)"' ref.json >ref.txt
	diff ref.txt cs.txt || fail "per-cell statuses differ (reference < > cloudstack): $(grep -E '^\[' cs.log)"
	# supported and refused rows both passed: the comparison is of real results
	jq_true cs.json '[.cells[] | select(.status == "pass")] | length >= 6'
	jq_true cs.json '[.cells[] | select(.expected == "refused" and .status == "pass")] | length >= 3'
	# the cloudstack target never stops what it did not start
	"$VECS" stack status --dir "$STACK" >status.txt || fail "stack down after the cloudstack run: $(cat status.txt)"
}

# The probes are what the configuration says: one without the stack directory in
# scan.at_rest cannot find a canary left there, one with it does.
test_scan_paths_come_from_the_config() {
	write_config target.json
	"$VECS" canary --seed 0123456789abcdef --size 1M >"$STACK/secondary/stray-canary.raw"
	expect_exit 1 "$VECS" run --target cloudstack --target-config target.json \
		--only 'download-volume/smp/*' --seed 0123456789abcdef 2>found.log
	jq '.scan.at_rest = []' target.json >blind.json
	chmod 600 blind.json
	"$VECS" run --target cloudstack --target-config blind.json \
		--only 'download-volume/smp/*' --seed 0123456789abcdef 2>blind.log || {
		rm -f "$STACK/secondary/stray-canary.raw"
		fail "without scan paths: $(cat blind.log)"
	}
	rm -f "$STACK/secondary/stray-canary.raw"
	grep -q 'no_plaintext_at_rest broken' found.log || fail "$(grep -E '^\[' found.log)"
}

test_bad_configs_are_refused() {
	write_config target.json
	chmod 644 target.json
	expect_exit 2 "$VECS" run --target cloudstack --target-config target.json --only 'download-volume/smp/*' 2>err
	grep -q 'readable by others' err || fail "$(cat err)"
	jq 'del(.db)' target.json >nodb.json
	chmod 600 nodb.json
	expect_exit 2 "$VECS" run --target cloudstack --target-config nodb.json --only 'download-volume/smp/*' 2>err
	grep -q 'db needs kind' err || fail "$(cat err)"
	chmod 600 target.json
	expect_exit 2 "$VECS" run --target cloudstack --target-config target.json --jobs 2 --only 'download-volume/smp/*' 2>err
	grep -q 'share one deployment' err || fail "$(cat err)"
}

run_tests
