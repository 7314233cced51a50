#!/usr/bin/env bash
# vecs-mgmt over real HTTP: driven by a CloudStack client we did not write
# (python3-cs, configured through a 0600 file named by CLOUDSTACK_CONFIG) and by curl
# for what a well-behaved client never sends.
. "$(dirname "$0")/lib.sh"

MGMT="$VECS_BIN/vecs-mgmt"
# Debian's python3-cs has no `cs` script; run the module with the system python (a
# pyenv python earlier in PATH would not see Debian's dist-packages).
cs() { CLOUDSTACK_CONFIG="$T/cs.ini" /usr/bin/python3 -m cs "$@"; }

# start_mgmt: a server on 127.0.0.1, port 0, everything under $T; sets URL, PID, KEY.
start_mgmt() {
	if [ ! -f "$T/key.props" ]; then
		(umask 077; printf 'db.cloud.encrypt.secret=it-%s\n' "$RANDOM$RANDOM" >"$T/key.props")
	fi
	printf 'kvm-enc ip=10.1.0.1 host.volume.encryption=true cpu.sockets=1\nkvm-plain ip=10.1.0.2\n' >"$T/hosts"
	# t-mariadb.sh runs this file again with VECS_IT_MGMT_DB_SOCKET: one database per test
	local db="sqlite:$T/mgmt.db"
	if [ -n "${VECS_IT_MGMT_DB_SOCKET:-}" ]; then
		db="mariadb:socket=$VECS_IT_MGMT_DB_SOCKET;database=it_$(basename "$T" | tr -c 'A-Za-z0-9_\n' _)"
	fi
	"$MGMT" --listen 127.0.0.1:0 --db "$db" --key-file "$T/key.props" \
		--credentials-out "$T/creds" --url-file "$T/url" --log "$T/mgmt.log" \
		--hosts "$T/hosts" >"$T/stdout" 2>"$T/stderr" &
	echo $! >"$T/pid"
	PID=$(cat "$T/pid")
	for _ in $(seq 100); do
		[ -s "$T/url" ] && break
		kill -0 "$PID" 2>/dev/null || fail "vecs-mgmt exited: $(cat "$T/stderr")"
		sleep 0.05
	done
	[ -s "$T/url" ] || fail "vecs-mgmt did not start"
	URL=$(cat "$T/url")
	curl -sf "${URL%/client/api}/vecs/ready" >/dev/null || fail "not ready"
	[ "$(stat -c %a "$T/creds")" = 600 ] || fail "credentials file is not 0600"
	KEY=$(sed -n 's/^api_key=//p' "$T/creds")
	local secret
	secret=$(sed -n 's/^secret_key=//p' "$T/creds")
	(umask 077; printf '[cloudstack]\nendpoint = %s\nkey = %s\nsecret = %s\ntimeout = 10\nmethod = get\npoll_interval = 0.1\n' \
		"$URL" "$KEY" "$secret" >"$T/cs.ini")
}

stop_mgmt() {
	[ -f "$T/pid" ] || return 0
	local pid
	pid=$(cat "$T/pid")
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fail "vecs-mgmt ignored SIGTERM"; fi
	rm -f "$T/pid"
}
T_CLEANUP='[ -f "$T/pid" ] && kill -KILL "$(cat "$T/pid")" 2>/dev/null'

# sign QUERY [SECRET]: QUERY plus its CloudStack signature (python3 hmac, independent of
# the server's C code). Values in QUERY must already be URL-encoded.
sign() {
	local secret=${2:-$(sed -n 's/^secret_key=//p' "$T/creds")}
	/usr/bin/python3 - "$1" "$secret" <<'PY'
import base64, hashlib, hmac, sys
from urllib.parse import parse_qsl, quote
q, secret = sys.argv[1], sys.argv[2]
pairs = sorted(parse_qsl(q, keep_blank_values=True))
s = "&".join(k + "=" + quote(v, safe="*").replace("~", "%7E") for k, v in pairs).lower()
sig = base64.b64encode(hmac.new(secret.encode(), s.encode(), hashlib.sha1).digest()).decode()
print(q + "&signature=" + quote(sig, safe=""))
PY
}

# api_curl OUT QUERY [curl args]: GET, body in OUT, prints the HTTP status.
api_curl() {
	local out=$1 q=$2
	shift 2
	curl -s -o "$out" -w '%{http_code}' "$@" "$URL?$q"
}

test_cs_client_round_trips() {
	start_mgmt
	cs listZones >zones.json
	jq_true zones.json '.count == 1 and (.zone[0].name == "vecs-zone-1")'
	cs createDiskOffering name=plain-do displaytext=plain disksize=1 >do1.json
	jq_true do1.json '.diskoffering.encrypt == false and .diskoffering.disksize == 1'
	cs --post createDiskOffering name=enc-do disksize=2 encrypt=true >do2.json
	jq_true do2.json '.diskoffering.encrypt == true and .diskoffering.name == "enc-do"'
	cs listDiskOfferings encrypt=true >enc.json
	jq_true enc.json '.count == 1 and .diskoffering[0].encrypt == true and .diskoffering[0].name == "enc-do"'
	cs listDiskOfferings encrypt=false >plain.json
	jq_true plain.json '.count == 1 and .diskoffering[0].name == "plain-do"'
	cs createServiceOffering name=so-enc cpunumber=1 cpuspeed=1000 memory=512 encryptroot=true >so1.json
	jq_true so1.json '.serviceoffering.encryptroot == true and .serviceoffering.memory == 512'
	cs createServiceOffering name=so-by-do encryptroot=false \
		diskofferingid="$(jq -r .diskoffering.id do2.json)" >so2.json
	jq_true so2.json '.serviceoffering.encryptroot == true'
	cs createServiceOffering name=so-plain >so3.json
	jq_true so3.json '.serviceoffering.encryptroot == false'
	cs listServiceOfferings encryptroot=true >soenc.json
	jq_true soenc.json '.count == 2 and ([.serviceoffering[].encryptroot] | all)'
	cs listServiceOfferings encryptroot=false >soplain.json
	jq_true soplain.json '.count == 1 and .serviceoffering[0].name == "so-plain"'
	# the service offering's own disk offering is compute-only: still 2 listed
	cs listDiskOfferings >all.json
	jq_true all.json '.count == 2'
	cs listHosts >hosts.json
	jq_true hosts.json '.count == 2'
	jq_true hosts.json '[.host[] | select(.name == "kvm-enc")][0] | .encryptionsupported == true and .details == {"cpu.sockets": "1"}'
	jq_true hosts.json '[.host[] | select(.name == "kvm-plain")][0].encryptionsupported == false'
	stop_mgmt
}

test_cs_async_job() {
	start_mgmt
	local host
	host=$(cs listHosts name=kvm-plain | jq -r '.host[0].id')
	# cs polls queryAsyncJobResult until jobstatus != 0 and prints the jobresult
	cs prepareHostForMaintenance id="$host" >job.json
	jq_true job.json '.host.resourcestate == "Maintenance" and .host.id == "'"$host"'"'
	# the raw async answer, then queryAsyncJobResult by hand
	cs --async cancelHostMaintenance id="$host" >async.json
	jq_true async.json '.jobid | test("^[0-9a-f-]{36}$")'
	for _ in $(seq 50); do
		cs queryAsyncJobResult jobid="$(jq -r .jobid async.json)" >q.json
		jq -e '.jobstatus != 0' q.json >/dev/null && break
		sleep 0.1
	done
	jq_true q.json '.jobstatus == 1 and .jobresultcode == 0 and .jobresult.host.resourcestate == "Enabled"'
	# a failing job: jobstatus 2 with errortext (cs reports the failed job)
	cs --async cancelHostMaintenance id="$host" >async2.json
	sleep 0.3
	cs queryAsyncJobResult jobid="$(jq -r .jobid async2.json)" >q2.json
	jq_true q2.json '.jobstatus == 2 and .jobresultcode == 530 and (.jobresult.errortext | test("Cannot perform cancelMaintenance"))'
	stop_mgmt
}

test_refusals_over_http() {
	start_mgmt
	local code q
	# unsigned
	code=$(api_curl r.json "command=listZones&response=json&apiKey=$KEY")
	[ "$code" = 401 ] || fail "unsigned: $code"
	jq_true r.json '.listzonesresponse.errorcode == 401 and .listzonesresponse.errortext == "unable to verify user credentials and/or request signature"'
	# forged: signed with another secret
	code=$(api_curl r.json "$(sign "command=listZones&response=json&apiKey=$KEY" not-the-secret)")
	[ "$code" = 401 ] || fail "forged: $code"
	# tampered after signing
	q=$(sign "command=listDiskOfferings&response=json&apiKey=$KEY&encrypt=true")
	code=$(api_curl r.json "${q/encrypt=true/encrypt=false}")
	[ "$code" = 401 ] || fail "tampered: $code"
	# expired signatureVersion=3, and a valid one
	code=$(api_curl r.json "$(sign "command=listZones&response=json&apiKey=$KEY&signatureVersion=3&expires=2020-01-01T00%3A00%3A00%2B0000")")
	[ "$code" = 401 ] || fail "expired: $code"
	code=$(api_curl r.json "$(sign "command=listZones&response=json&apiKey=$KEY&signatureVersion=3&expires=$(date -u -d '+5 min' +%Y-%m-%dT%H%%3A%M%%3A%S%%2B0000)")")
	[ "$code" = 200 ] || fail "valid v3: $code $(cat r.json)"
	# missing parameter: 431 naming it
	code=$(api_curl r.json "$(sign "command=createDiskOffering&response=json&apiKey=$KEY&disksize=1")")
	[ "$code" = 431 ] || fail "missing: $code"
	jq_true r.json '.creatediskofferingresponse.errortext == "Unable to execute API command creatediskoffering due to missing parameter name" and .creatediskofferingresponse.errorcode == 431'
	# malformed value
	code=$(api_curl r.json "$(sign "command=createDiskOffering&response=json&apiKey=$KEY&name=a&disksize=big")")
	[ "$code" = 431 ] || fail "malformed: $code"
	jq_true r.json '.creatediskofferingresponse.errortext | test("Invalid parameter disksize value=big")'
	# unknown command (signed)
	code=$(api_curl r.json "$(sign "command=formatAllDisks&response=json&apiKey=$KEY")")
	[ "$code" = 401 ] || fail "unknown command: $code"
	jq_true r.json '.formatalldisksresponse.errortext == "The given command does not exist or it is not available for user"'
	# oversized body: 413 without reading it
	head -c 2000000 /dev/zero | tr '\0' 'a' >big
	code=$(curl -s -o r.json -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
		--data-binary @big "$URL")
	[ "$code" = 413 ] || fail "oversized: $code"
	# malformed encoding and too many parameters: 431, server still up
	code=$(api_curl r.json "command=listZones&response=json&name=%zz")
	[ "$code" = 431 ] || fail "bad escape: $code"
	q=$(seq 300 | sed 's/.*/p&=1/' | paste -sd'&')
	code=$(curl -s -o r.json -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
		--data "command=listZones&response=json&$q" "$URL")
	[ "$code" = 431 ] || fail "too many parameters: $code"
	# response=xml: a clear refusal in XML
	code=$(api_curl r.xml "$(sign "command=listZones&response=xml&apiKey=$KEY")")
	[ "$code" = 432 ] || fail "xml: $code"
	grep -q '<errorcode>432</errorcode>' r.xml || fail "xml body: $(cat r.xml)"
	# signed POST form
	code=$(curl -s -o r.json -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
		--data "$(sign "command=listHosts&response=json&apiKey=$KEY&name=kvm-enc")" "$URL")
	[ "$code" = 200 ] || fail "POST: $code"
	jq_true r.json '.listhostsresponse.host[0].encryptionsupported == true'
	kill -0 "$PID" || fail "server died"
	# secrets never in the log, stdout or stderr
	local secret
	secret=$(sed -n 's/^secret_key=//p' "$T/creds")
	! grep -qF "$secret" "$T/mgmt.log" "$T/stdout" "$T/stderr" || fail "secret key leaked"
	! grep -qF "$(sed 's/^db.cloud.encrypt.secret=//' "$T/key.props")" "$T/mgmt.log" "$T/stdout" "$T/stderr" || fail "db key leaked"
	! grep -qiE 'signature=|apikey=' "$T/mgmt.log" || fail "query string in the log"
	stop_mgmt
}

test_sql_names_are_data() {
	start_mgmt
	local name="x'); DROP TABLE disk_offering;-- \"q\" données"
	cs createDiskOffering name="$name" disksize=3 >c.json
	cs listDiskOfferings name="$name" >l.json
	jq -e --arg n "$name" '.count == 1 and .diskoffering[0].name == $n and .diskoffering[0].disksize == 3' l.json >/dev/null \
		|| fail "name not stored verbatim: $(cat l.json)"
	cs listDiskOfferings >all.json
	jq_true all.json '.count == 1'
	stop_mgmt
}

test_restart_keeps_data_and_keys() {
	start_mgmt
	cs createDiskOffering name=persist disksize=1 encrypt=true >/dev/null
	cp "$T/creds" creds.first
	stop_mgmt
	rm -f "$T/url"
	start_mgmt
	cmp -s "$T/creds" creds.first || fail "credentials rewritten on restart"
	cs listDiskOfferings name=persist >p.json
	jq_true p.json '.count == 1 and .diskoffering[0].encrypt == true'
	cs listHosts >h.json
	jq_true h.json '.count == 2'
	stop_mgmt
}

# A key file whose db.cloud.encrypt.secret is not the database's: exit 2 at start, with
# a message naming the key file, before listening; neither key is ever printed.
test_wrong_db_key_refused_at_start() {
	local db pid rc=0 old
	start_mgmt
	stop_mgmt
	rm -f "$T/url"
	old=$(sed 's/^db.cloud.encrypt.secret=//' "$T/key.props")
	(umask 077; printf 'db.cloud.encrypt.secret=wrong-%s\n' "$RANDOM$RANDOM" >"$T/key.props")
	db="sqlite:$T/mgmt.db"
	if [ -n "${VECS_IT_MGMT_DB_SOCKET:-}" ]; then
		db="mariadb:socket=$VECS_IT_MGMT_DB_SOCKET;database=it_$(basename "$T" | tr -c 'A-Za-z0-9_\n' _)"
	fi
	"$MGMT" --listen 127.0.0.1:0 --db "$db" --key-file "$T/key.props" \
		--credentials-out "$T/creds" --url-file "$T/url" --log "$T/mgmt.log" \
		>"$T/stdout" 2>"$T/stderr" &
	pid=$!
	echo "$pid" >"$T/pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "vecs-mgmt runs with a wrong database key"
	wait "$pid" || rc=$?
	rm -f "$T/pid"
	[ "$rc" -eq 2 ] || fail "exit status $rc, want 2: $(cat "$T/stderr")"
	[ ! -s "$T/url" ] || fail "it listened: $(cat "$T/url")"
	grep -qF "$T/key.props" "$T/stderr" || fail "the message does not name the key file: $(cat "$T/stderr")"
	grep -q 'does not decrypt the database' "$T/stderr" || fail "message: $(cat "$T/stderr")"
	! grep -qF -e "$old" -e "$(sed 's/^db.cloud.encrypt.secret=//' "$T/key.props")" \
		"$T/stderr" "$T/stdout" "$T/mgmt.log" || fail "key material printed"
}

run_tests
