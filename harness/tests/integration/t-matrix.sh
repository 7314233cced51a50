#!/usr/bin/env bash
# The quick subset of the support matrix that `make check` runs: a few cells on local
# and SMP storage against a real reference stack, with every report written and read
# back. (`make run` runs all 76 cells.)
. "$(dirname "$0")/lib.sh"

STACK=$(mktemp -d "${TMPDIR:-/tmp}/vecs-it-matrix.XXXXXX")
# the directory goes only when down succeeded: it holds the ledger that names what runs
trap '"$VECS" stack down --dir "$STACK" >/dev/null 2>&1 && rm -rf "$STACK"' EXIT
if ! "$VECS" stack up --dir "$STACK" 2>"$STACK.log"; then
	echo "  FAIL t-matrix: stack did not come up: $(tail -5 "$STACK.log")"
	echo "fail t-matrix/stack" >>"$VECS_IT_RESULTS"
	rm -f "$STACK.log"
	exit 1
fi
rm -f "$STACK.log"

test_quick_subset_passes_with_reports() {
	"$VECS" run --stack-dir "$STACK" --storage local,smp --seed 0123456789abcdef \
		--only 'start-stop-instance/*,download-volume/*,resize-volume/*,volume-snapshot-running/*' \
		--junit junit.xml --json results.json --report html --tap >tap.txt 2>run.log ||
		fail "cells failed: $(grep -E '^\[' run.log)"
	# 4 operations x 2 storage types, all passed, the refusals included
	jq_true results.json '(.cells | length) == 8 and all(.cells[]; .status == "pass")'
	jq_true results.json '[.cells[] | select(.expected == "refused")] | length == 4'
	jq_true results.json '.run.seed == "0123456789abcdef" and .kdf == "fast" and .summary.all_passed'
	grep -q '^1\.\.8$' tap.txt || fail "TAP plan: $(head -3 tap.txt)"
	[ "$(grep -c '^ok ' tap.txt)" -eq 8 ] || fail "TAP: $(grep -v '^ok' tap.txt | head)"
	grep -q 'tests="8"' junit.xml || grep -q "tests='8'" junit.xml || fail "JUnit: $(head -5 junit.xml)"
	grep -q 'failures="0"' junit.xml || fail "JUnit failures: $(grep -o 'failures="[0-9]*"' junit.xml)"
	[ -s html/index.html ] && ls html/cells/*.html >/dev/null || fail "no HTML matrix"
	grep -q 'resize-volume' html/index.html || fail "HTML grid lacks resize-volume"
	# the stack holds no canary of this run, and no volume is left after the cells
	expect_exit 0 "$VECS" scan --seed 0123456789abcdef "$STACK/pools" "$STACK/secondary"
}

# A target that accepts what must be refused fails the cell: the harness checks itself
# by running a refused scenario against an expectation it cannot meet (a wrong code).
test_wrong_expectation_fails() {
	mkdir -p sc/matrix sc/profiles
	cp "$TOP/scenarios/profiles/"*.yaml sc/profiles/
	sed 's/errorcode: 431/errorcode: 432/' "$TOP/scenarios/matrix/download-volume.yaml" \
		>sc/matrix/download-volume.yaml
	expect_exit 1 "$VECS" run --stack-dir "$STACK" --scenarios sc --storage smp \
		--only 'download-volume/*' 2>run.log
	grep -q 'refused with 431' run.log || fail "$(grep -E '^\[' run.log)"
}

# migrateVolume onto PowerFlex (seed: "Migrate Volume to another Primary Storage: Yes";
# CLOUDSTACK.md documents no refusal): the stack has one ScaleIO pool, so the
# migrate-volume scenario's smp cell is pointed at it. The volume moves with its data
# (verify_canary), a LUKS header on the gateway volume and the same passphrase
# (luks_header_conformant, api_vs_storage, no orphan on either pool).
test_migrate_volume_onto_powerflex() {
	local sio
	(umask 077; jq -r '"[cloudstack]\nendpoint = \(.api_url)\nkey = \(.api_key)\nsecret = \(.secret_key)\ntimeout = 30\nmethod = get"' \
		"$STACK/stack.json" >cs.ini)
	sio=$(CLOUDSTACK_CONFIG=cs.ini /usr/bin/python3 -m cs listStoragePools |
		jq -r '.storagepool[] | select(.type == "PowerFlex") | .id' | head -1)
	[ -n "$sio" ] || fail "the stack has no PowerFlex pool"
	mkdir -p sc/matrix sc/profiles
	cp "$TOP/scenarios/profiles/"*.yaml sc/profiles/
	sed "s/\${env.otherpoolid}/$sio/g" "$TOP/scenarios/matrix/migrate-volume.yaml" \
		>sc/matrix/migrate-volume.yaml
	"$VECS" run --stack-dir "$STACK" --scenarios sc --storage smp --only 'migrate-volume/*' \
		--json results.json 2>run.log || fail "$(grep -E '^\[' run.log)"
	jq_true results.json '(.cells | length) == 1 and .cells[0].status == "pass"'
	rm -f cs.ini
}

# A libvirt secret that no running domain uses is a leak the invariant must name.
test_stray_libvirt_secret_is_caught() {
	local uri
	uri=$(jq -r '.hosts[0].libvirt_uri' "$STACK/stack.json")
	printf "<secret ephemeral='yes' private='yes'><uuid>11111111-2222-3333-4444-555555555555</uuid><usage type='volume'><volume>/vecs-stray</volume></usage></secret>" >stray.xml
	virsh -c "$uri" secret-define stray.xml >/dev/null
	expect_exit 1 "$VECS" run --stack-dir "$STACK" --storage smp --only 'download-volume/*' 2>run.log ||
		{ virsh -c "$uri" secret-undefine 11111111-2222-3333-4444-555555555555 >/dev/null; false; }
	virsh -c "$uri" secret-undefine 11111111-2222-3333-4444-555555555555 >/dev/null
	grep -q 'no_libvirt_secret_left broken: host h1 keeps libvirt secret 11111111-2222-3333-4444-555555555555' run.log ||
		fail "$(grep -E '^\[' run.log)"
}

run_tests
