#!/usr/bin/env bash
# The database layer and the API server on a real MariaDB: one mariadbd for this
# script, started on a private socket with networking off, stopped by its recorded pid.
. "$(dirname "$0")/lib.sh"

MDB=$(mktemp -d "${TMPDIR:-/tmp}/vecs-it-mariadb.XXXXXX")
MDB_PID=""
stop_mariadb() {
	if [ -n "$MDB_PID" ] && kill -0 "$MDB_PID" 2>/dev/null; then
		kill -TERM "$MDB_PID"
		for _ in $(seq 100); do kill -0 "$MDB_PID" 2>/dev/null || break; sleep 0.05; done
		kill -0 "$MDB_PID" 2>/dev/null && kill -KILL "$MDB_PID"
	fi
	rm -rf "$MDB"
}
trap stop_mariadb EXIT

start_mariadb() {
	mariadb-install-db --no-defaults --datadir="$MDB/data" --user=root \
		--auth-root-authentication-method=socket --skip-test-db >"$MDB/install.log" 2>&1 ||
		{ echo "mariadb-install-db failed: $(tail -5 "$MDB/install.log")"; return 1; }
	mariadbd --no-defaults --datadir="$MDB/data" --socket="$MDB/sock" --skip-networking \
		--user=root --pid-file="$MDB/pid" --log-error="$MDB/err.log" \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=16M 2>"$MDB/stderr" &
	MDB_PID=$!
	for _ in $(seq 200); do
		[ -S "$MDB/sock" ] && mariadb --no-defaults -S "$MDB/sock" -e 'SELECT 1' >/dev/null 2>&1 && return 0
		kill -0 "$MDB_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "mariadbd did not start: $(tail -5 "$MDB/err.log")"
	return 1
}

if ! start_mariadb; then
	echo "  FAIL t-mariadb: mariadbd could not be started"
	echo "fail t-mariadb/start" >>"$VECS_IT_RESULTS"
	exit 1
fi

# The same CUnit suites as on SQLite (test_helpers.c switches on the variable).
test_db_suites_on_mariadb() {
	VECS_TEST_MARIADB_SOCKET="$MDB/sock" "$VECS_BIN/vecs-ref-tests" db_ >out.txt 2>&1 ||
		fail "suites failed on MariaDB: $(grep -A2 FAILED out.txt | head -20)"
	# the summary line "tests Total Ran Passed Failed Inactive" must show work done
	awk '$1 == "tests" && $4 >= 40 && $5 == 0 { ok = 1 } END { exit !ok }' out.txt ||
		fail "unexpected summary: $(grep -E '^ +tests' out.txt)"
	# InnoDB really holds the tables (a MyISAM fallback would ignore foreign keys)
	mariadb --no-defaults -S "$MDB/sock" -N -e \
		"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema LIKE 'vt\\_%' AND engine <> 'InnoDB' AND table_type = 'BASE TABLE'" >engines.txt
	[ "$(cat engines.txt)" = 0 ] || fail "tables not on InnoDB: $(cat engines.txt)"
}

# The referenced passphrase cannot be deleted: checked in SQL, against the server.
test_foreign_key_enforced_by_server() {
	VECS_TEST_MARIADB_SOCKET="$MDB/sock" "$VECS_BIN/vecs-ref-tests" db_passphrase >out.txt 2>&1 ||
		fail "$(grep -A2 FAILED out.txt | head)"
	mariadb --no-defaults -S "$MDB/sock" -N -e "SELECT constraint_name FROM information_schema.referential_constraints WHERE constraint_name = 'fk_volumes__passphrase_id' LIMIT 1" >fk.txt
	grep -qx fk_volumes__passphrase_id fk.txt || fail "fk_volumes__passphrase_id missing on MariaDB"
}

# The whole API test file, with vecs-mgmt on MariaDB.
test_mgmt_api_on_mariadb() {
	VECS_IT_RESULTS=/dev/null VECS_IT_MGMT_DB_SOCKET="$MDB/sock" \
		bash "$(dirname "${BASH_SOURCE[0]}")/t-mgmt-api.sh" >api.txt 2>&1 ||
		fail "API tests failed on MariaDB: $(grep -A12 FAIL api.txt | head -30)"
	grep -c '^  ok' api.txt >n.txt
	[ "$(cat n.txt)" -ge 5 ] || fail "only $(cat n.txt) API tests ran"
}

run_tests
