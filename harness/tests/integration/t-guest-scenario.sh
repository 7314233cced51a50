#!/usr/bin/env bash
# The guest-transparency scenario (scenarios/guest/guest-transparency.yaml) against a
# real reference stack whose agents make TCG domains (VECS_DOMAIN_TYPE=qemu: the tiny
# guest hangs under this sandbox's nested KVM): on every storage type a booted guest
# writes the cell's canary to its encrypted data disk, reads it back and reports on its
# serial console (checkpoint guest_report), the harness reads the same bytes through
# LUKS from outside (verify_canary) and finds them nowhere in clear (no_plaintext_at_rest).
# Then three scenarios that must fail, each at the check it is about: a guest writing
# another seed's bytes (guest_report), a guest writing another disk (verify_canary), and
# an unencrypted data disk (no_plaintext_at_rest).
. "$(dirname "$0")/lib.sh"

GUEST=${VECS_GUEST_DIR:-$TOP/build/guest}
STACK=$(mktemp -d "${TMPDIR:-/tmp}/vecs-it-guest.XXXXXX")
# the directory goes only when down succeeded: it holds the ledger that names what runs
trap '"$VECS" stack down --dir "$STACK" >/dev/null 2>&1 && rm -rf "$STACK"' EXIT
if [ ! -f "$GUEST/vmlinuz" ] || [ ! -f "$GUEST/disk.qcow2" ]; then
	echo "  FAIL t-guest-scenario: no tiny guest in $GUEST (make build/guest/vmlinuz)"
	echo "fail t-guest-scenario/guest" >>"$VECS_IT_RESULTS"
	exit 1
fi
if ! VECS_DOMAIN_TYPE=qemu "$VECS" stack up --dir "$STACK" 2>"$STACK.log"; then
	echo "  FAIL t-guest-scenario: stack did not come up: $(tail -5 "$STACK.log")"
	echo "fail t-guest-scenario/stack" >>"$VECS_IT_RESULTS"
	rm -f "$STACK.log"
	exit 1
fi
rm -f "$STACK.log"

# variant SED: scenarios/ with the guest scenario edited by SED, in ./sc
variant() {
	mkdir -p sc/matrix sc/guest sc/profiles
	cp "$TOP/scenarios/profiles/"*.yaml sc/profiles/
	sed "$1" "$TOP/scenarios/guest/guest-transparency.yaml" >sc/guest/guest-transparency.yaml
	! cmp -s sc/guest/guest-transparency.yaml "$TOP/scenarios/guest/guest-transparency.yaml" ||
		fail "the edit '$1' changed nothing"
}

test_guest_transparency_on_every_storage() {
	"$VECS" run --stack-dir "$STACK" --seed 5eed5eed5eed5eed --only 'guest-transparency/*' \
		--json results.json 2>run.log || fail "cells failed: $(grep -E '^\[' run.log)"
	jq_true results.json '(.cells | length) == 4 and all(.cells[]; .status == "pass")'
	jq_true results.json '[.cells[].storage] | sort == ["local", "nfs", "scaleio", "smp"]'
	# each guest said so on its serial console, in the agent's serial log
	[ "$(cat "$STACK"/hosts/h*/serial/*.log | grep -ac '^vecs-guest: read ok')" -ge 4 ] ||
		fail "serial logs: $(grep -ah 'vecs-guest' "$STACK"/hosts/h*/serial/*.log | head -20)"
	grep -aq '^vecs-guest: wrote 1048576 bytes ok sha256=[0-9a-f]\{64\}' "$STACK"/hosts/h*/serial/*.log ||
		fail "no 'wrote' line"
	# nothing of the cells' canaries in clear anywhere in the stack
	for s in $(jq -r '.cells[].seed' results.json); do
		expect_exit 0 "$VECS" scan --seed "$s" "$STACK/pools" "$STACK/secondary"
	done
}

test_guest_writing_another_seed_fails_guest_report() {
	variant 's/vecs\.seed=\${cell\.seed}/vecs.seed=x${cell.seed}/'
	expect_exit 1 "$VECS" run --stack-dir "$STACK" --scenarios sc --only 'guest-transparency/local/*' 2>run.log
	grep -q 'step guest-io: guest_report: the guest wrote 1048576 bytes with sha256 [0-9a-f]*; the canary of this cell' run.log ||
		fail "$(grep -E '^\[' run.log)"
}

test_guest_writing_another_disk_fails_verify_from_outside() {
	variant 's/vecs\.disk=vdb/vecs.disk=vda/'
	expect_exit 1 "$VECS" run --stack-dir "$STACK" --scenarios sc --only 'guest-transparency/smp/*' 2>run.log
	grep -q 'step verify-outside: verify_canary: the canary read back through LUKS differs' run.log ||
		fail "$(grep -E '^\[' run.log)"
}

test_unencrypted_data_disk_fails_plaintext_invariant() {
	variant 's/^      encrypt: true/      encrypt: false/; s/diskoffering.encrypt: true/diskoffering.encrypt: false/'
	expect_exit 1 "$VECS" run --stack-dir "$STACK" --scenarios sc --only 'guest-transparency/local/*' 2>run.log
	grep -q 'after step guest-io: invariant no_plaintext_at_rest broken: canary plaintext of this cell at rest' run.log ||
		fail "$(grep -E '^\[' run.log)"
}

run_tests
