#!/usr/bin/env bash
# The database layer and the API server on a real MariaDB: one mariadbd for this
# script, started on a private socket with networking off, stopped by its recorded pid.
. "$(dirname "$0")/lib.sh"

MDB=$(mktemp -d "${TMPDIR:-/tmp}/vecs-it-mariadb.XXXXXX")
# The running mariadbd's pid is kept in $MDB/mdb.pid (a test restarts it in a subshell,
# so a shell variable would not reach the EXIT trap).
mdb_pid() { cat "$MDB/mdb.pid" 2>/dev/null || true; }
# stop_mariadbd [SIGNAL]: stop the recorded mariadbd and wait for it to exit.
stop_mariadbd() {
	local pid
	pid=$(mdb_pid)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -"${1:-TERM}" "$pid"
		for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	fi
	rm -f "$MDB/mdb.pid"
}
stop_mariadb() {
	stop_mariadbd TERM
	rm -rf "$MDB"
}
trap stop_mariadb EXIT

start_mariadb() {
	mariadb-install-db --no-defaults --datadir="$MDB/data" --user=root \
		--auth-root-authentication-method=socket --skip-test-db >"$MDB/install.log" 2>&1 ||
		{ echo "mariadb-install-db failed: $(tail -5 "$MDB/install.log")"; return 1; }
	run_mariadbd
}

# run_mariadbd: start mariadbd on the installed datadir and wait until it answers.
run_mariadbd() {
	local MDB_PID
	mariadbd --no-defaults --datadir="$MDB/data" --socket="$MDB/sock" --skip-networking \
		--user=root --pid-file="$MDB/pid" --log-error="$MDB/err.log" \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=16M 2>"$MDB/stderr" &
	MDB_PID=$!
	echo "$MDB_PID" >"$MDB/mdb.pid"
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
	VECS_BIN="$VECS_BIN" VECS_IT_RESULTS=/dev/null VECS_IT_MGMT_DB_SOCKET="$MDB/sock" \
		bash "$(dirname "${BASH_SOURCE[0]}")/t-mgmt-api.sh" >api.txt 2>&1 ||
		fail "API tests failed on MariaDB: $(grep -A12 FAIL api.txt | head -30)"
	grep -c '^  ok' api.txt >n.txt
	[ "$(cat n.txt)" -ge 5 ] || fail "only $(cat n.txt) API tests ran"
}

# vecs-mgmt survives a MariaDB restart: requests while the server is down fail with
# CloudStack's 530 and write nothing; once it is back every pooled connection
# reconnects by itself; a stream of writes across a kill -9 of mariadbd gets only 200
# or 530 answers, and exactly the answered-200 rows exist afterwards.
test_mgmt_survives_mariadb_restart() {
	(umask 077; printf 'db.cloud.encrypt.secret=it-%s\n' "$RANDOM$RANDOM" >"$T/key.props")
	"$VECS_BIN/vecs-mgmt" --listen 127.0.0.1:0 --db "mariadb:socket=$MDB/sock;database=it_reconnect" \
		--key-file "$T/key.props" --credentials-out "$T/creds" --url-file "$T/url" \
		--log "$T/mgmt.log" --http-threads 2 --job-workers 1 >"$T/stdout" 2>"$T/stderr" &
	echo $! >"$T/mgmt.pid"
	for _ in $(seq 100); do [ -s "$T/url" ] && break; sleep 0.05; done
	[ -s "$T/url" ] || fail "vecs-mgmt did not start: $(cat "$T/stderr")"
	# call NAME QUERY: signed GET (python3 hmac, not the server's code); writes NAME.json,
	# prints the HTTP status
	call() {
		/usr/bin/python3 - "$(cat "$T/url")" "$T/creds" "$2" "$1.json" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse, urllib.request, urllib.error
url, creds, query, out = sys.argv[1:]
kv = dict(l.strip().split("=", 1) for l in open(creds) if "=" in l)
params = dict(urllib.parse.parse_qsl(query))
params.update(response="json", apiKey=kv["api_key"])
canon = "&".join(k + "=" + urllib.parse.quote(params[k], safe="").replace("+", "%20")
                 for k in sorted(params)).lower()
sig = base64.b64encode(hmac.new(kv["secret_key"].encode(), canon.encode(), hashlib.sha1).digest())
params["signature"] = sig.decode()
try:
    r = urllib.request.urlopen(url + "?" + urllib.parse.urlencode(params), timeout=20)
    code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
except Exception as e:
    code, body = 0, str(e).encode()
open(out, "wb").write(body)
print(code)
PY
	}
	[ "$(call before 'command=createDiskOffering&name=before&disksize=1')" = 200 ] ||
		fail "create before the restart: $(cat before.json)"
	# down: a request fails with 530, cleanly, and the server stays up
	stop_mariadbd TERM
	[ "$(call down 'command=createDiskOffering&name=during&disksize=1')" = 530 ] ||
		fail "not 530 while MariaDB is down: $(cat down.json)"
	jq_true down.json '.creatediskofferingresponse.errorcode == 530'
	[ "$(call down2 'command=listDiskOfferings')" = 530 ] || fail "list while down: $(cat down2.json)"
	kill -0 "$(cat "$T/mgmt.pid")" || fail "vecs-mgmt died with MariaDB"
	# back: more requests than pooled connections, all answered
	run_mariadbd >/dev/null || fail "mariadbd did not come back"
	for i in 1 2 3 4 5 6 7 8; do
		[ "$(call l$i 'command=listDiskOfferings')" = 200 ] || fail "request $i after the restart: $(cat l$i.json)"
	done
	jq_true l8.json '[.listdiskofferingsresponse.diskoffering[].name] == ["before"]'
	[ "$(call after 'command=createDiskOffering&name=after&disksize=1')" = 200 ] ||
		fail "create after the restart: $(cat after.json)"
	# writes in flight across a kill -9 of mariadbd: 200 or 530, nothing else, nothing half
	for i in $(seq 1 40); do
		echo "w$i $(call w$i "command=createDiskOffering&name=w$i&disksize=1")"
	done >answers.txt &
	local writer=$!
	sleep 0.3
	stop_mariadbd KILL
	sleep 0.3
	run_mariadbd >/dev/null || fail "mariadbd did not come back after kill -9"
	wait "$writer"
	! grep -v -E ' (200|530)$' answers.txt || fail "answers other than 200/530: $(grep -v -E ' (200|530)$' answers.txt)"
	grep -q ' 530$' answers.txt || echo "    note: no write met the restart (all 200)"
	[ "$(call final 'command=listDiskOfferings')" = 200 ] || fail "list at the end: $(cat final.json)"
	jq -r '.listdiskofferingsresponse.diskoffering[].name' final.json | sort >have.txt
	{ echo before; echo after; awk '$2 == 200 { print $1 }' answers.txt; } | sort >want.txt
	diff want.txt have.txt >diff.txt || fail "rows differ from the 200 answers: $(cat diff.txt)"
	grep -q 'database' "$T/mgmt.log" || fail "the lost connection is not in the log"
	kill -TERM "$(cat "$T/mgmt.pid")"
	for _ in $(seq 100); do kill -0 "$(cat "$T/mgmt.pid")" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$(cat "$T/mgmt.pid")" 2>/dev/null || fail "vecs-mgmt ignored SIGTERM"
	rm -f "$T/mgmt.pid"
}
T_CLEANUP='[ -f "$T/mgmt.pid" ] && kill -KILL "$(cat "$T/mgmt.pid")" 2>/dev/null'

run_tests
