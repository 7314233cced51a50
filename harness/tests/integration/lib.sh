# Shared by the integration test scripts (harness/tests/integration/t-*.sh).
#
# A script defines functions named test_*; `run_tests` runs each in its own subshell
# with `set -e` and a private scratch directory ($T), records pass/fail in
# $VECS_IT_RESULTS, and prints one line per test. A test fails when any command in it
# fails, or when it calls `fail "why"`. Helpers below turn expectations into commands.
# T_CLEANUP, set at script level (not inside a test: tests run in subshells), is eval'd
# by run_tests after every test, pass or fail, with $T still naming that test's
# directory: record what a test creates under $T (a pid file, a loop device name) and
# undo it there.

set -u
VECS_BIN=${VECS_BIN:-build/bin}
VECS_BIN=$(cd "$VECS_BIN" && pwd)
VECS="$VECS_BIN/vecs"
SHIM="$VECS_BIN/getrusage-shim.so"
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
SHARED_FIXTURES=${VECS_SHARED_FIXTURES:-$TOP/../shared/fixtures}
: "${VECS_IT_RESULTS:=/dev/null}"

fail() {
	echo "    FAIL: $*" >&2
	exit 1
}

# expect_exit N CMD...: run CMD, which must exit with status N.
expect_exit() {
	local want=$1 got=0
	shift
	"$@" || got=$?
	[ "$got" -eq "$want" ] || fail "expected exit $want, got $got: $*"
}

# jq_true FILE EXPR: the jq expression must be true for the JSON in FILE.
jq_true() {
	jq -e "$2" "$1" >/dev/null || fail "jq '$2' is not true for $1: $(head -c 2000 "$1")"
}

# qemu_img ARGS...: qemu-img with the fast-KDF shim (DESIGN.md, "Hazards").
qemu_img() {
	LD_PRELOAD="$SHIM" qemu-img "$@"
}

run_tests() {
	local script fn rc passed=0 failed=0
	script=$(basename "$0" .sh)
	for fn in $(declare -F | awk '{print $3}' | grep '^test_'); do
		T=$(mktemp -d "${TMPDIR:-/tmp}/vecs-it.XXXXXX")
		rc=0
		( set -e; cd "$T"; "$fn" ) >"$T.log" 2>&1 || rc=$?
		if [ "$rc" -eq 0 ]; then
			echo "  ok   $script/$fn"
			echo "pass $script/$fn" >>"$VECS_IT_RESULTS"
			passed=$((passed + 1))
		else
			echo "  FAIL $script/$fn (exit $rc)"
			sed 's/^/       | /' "$T.log" | tail -n 40
			echo "fail $script/$fn" >>"$VECS_IT_RESULTS"
			failed=$((failed + 1))
		fi
		if [ -n "${T_CLEANUP:-}" ]; then eval "$T_CLEANUP" || true; fi
		rm -rf "$T" "$T.log"
	done
	[ "$failed" -eq 0 ]
}
