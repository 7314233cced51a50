#!/usr/bin/env bash
# vecs-mgmt crash recovery (reference-impl/mgmt/RECOVERY.md): the server is killed
# with SIGKILL at a test crash point (VECS_MGMT_CRASHPOINT) between a database write and
# an agent command or after the agent answered, restarted with the same arguments, and
# then the database and the storage must agree, no passphrase row may be orphaned, the
# job is failed 530, the agent is back by itself, and the same operation succeeds when
# retried. The agent is vecs-test-agent --store: volumes are files in the pool's
# directory, running VMs files in $T/dom (no libvirt: what is tested is the control
# plane's bookkeeping).
. "$(dirname "$0")/lib.sh"

cs() { CLOUDSTACK_CONFIG="$T/cs.ini" /usr/bin/python3 -m cs "$@"; }
sql() { /usr/bin/python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join("|".join("" if v is None else str(v) for v in r) for r in c.execute(sys.argv[2])))' "$T/mgmt.db" "$1"; }

# start_mgmt [CRASHPOINT]: vecs-mgmt with the same arguments every time
start_mgmt() {
	rm -f "$T/url"
	VECS_MGMT_CRASHPOINT=${1:-} "$VECS_BIN/vecs-mgmt" --listen 127.0.0.1:0 --db "sqlite:$T/mgmt.db" \
		--key-file "$T/key.props" --credentials-out "$T/creds" --url-file "$T/url" \
		--log "$T/mgmt.log" --agent-socket "$T/agents/sock" --agent-tokens "$T/tokens" \
		--recovery-wait-ms 8000 >>"$T/stdout" 2>>"$T/stderr" &
	echo $! >"$T/mgmt.pid"
	for _ in $(seq 300); do
		[ -s "$T/url" ] && break
		kill -0 "$(cat "$T/mgmt.pid")" 2>/dev/null || fail "vecs-mgmt exited: $(tail -3 "$T/stderr")"
		sleep 0.05
	done
	[ -s "$T/url" ] || fail "vecs-mgmt did not start"
	(umask 077; printf '[cloudstack]\nendpoint = %s\nkey = %s\nsecret = %s\ntimeout = 20\nmethod = get\npoll_interval = 0.1\n' \
		"$(cat "$T/url")" "$(sed -n 's/^api_key=//p' "$T/creds")" \
		"$(sed -n 's/^secret_key=//p' "$T/creds")" >"$T/cs.ini")
}

# wait_killed: the armed server reached its crash point and died of SIGKILL
wait_killed() {
	local pid
	pid=$(cat "$T/mgmt.pid")
	for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$pid" 2>/dev/null || fail "vecs-mgmt did not reach crash point $1"
	grep -q "test crash point $1 reached" "$T/mgmt.log" || fail "no crash point $1 in the log"
	rm -f "$T/mgmt.pid"
}

wait_host_up() {
	for _ in $(seq 100); do
		cs listHosts name=kvm1 >h.json 2>/dev/null && jq -e '.host[0].state == "Up"' h.json >/dev/null && return 0
		sleep 0.1
	done
	fail "the agent did not come back: $(cat h.json)"
}

setup() {
	mkdir -p "$T/pool" "$T/dom" "$T/agents"
	chmod 700 "$T/agents"
	(umask 077; printf 'db.cloud.encrypt.secret=it-%s\n' "$RANDOM$RANDOM" >"$T/key.props")
	local tok
	tok=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
	(umask 077; echo "kvm1 $tok" >"$T/tokens"; echo "$tok" >"$T/agent.token")
	start_mgmt
	"$VECS_BIN/vecs-test-agent" --socket "$T/agents/sock" --host kvm1 --token-file "$T/agent.token" \
		--encryption true --store "$T/dom" --record "$T/rec.jsonl" --log "$T/agent.log" &
	echo $! >"$T/agent.pid"
	wait_host_up
	ZONE=$(cs listZones | jq -r '.zone[0].id')
	cs createStoragePool name=smp1 zoneid="$ZONE" url="SharedMountPoint://localhost$T/pool" >/dev/null
	echo tpl >"$T/tpl.qcow2"
	TPL=$(cs registerTemplate name=t url="file://$T/tpl.qcow2" format=QCOW2 hypervisor=KVM zoneid="$ZONE" |
		jq -r '.template[0].id // .template.id')
	SO=$(cs createServiceOffering name=enc cpunumber=1 cpuspeed=100 memory=64 encryptroot=true |
		jq -r .serviceoffering.id)
	DO=$(cs createDiskOffering name=encdata disksize=1 encrypt=true | jq -r .diskoffering.id)
}

# consistent: the DB and the files agree; no orphan passphrase, no encrypted volume
# past Allocated without one; no pending job
assert_consistent() {
	local f path
	sql "SELECT path FROM volumes WHERE removed IS NULL AND state NOT IN ('Allocated') AND path IS NOT NULL" | sed "/^$/d" | sort >db-files.txt
	(cd "$T/pool" && ls) | sort >files.txt
	diff db-files.txt files.txt >d.txt || fail "database and pool differ: $(cat d.txt)"
	sql "SELECT instance_name FROM vm_instance WHERE state = 'Running'" | sed "/^$/d" | sort >db-vms.txt
	(cd "$T/dom" && ls) | sort >vms.txt
	diff db-vms.txt vms.txt >d.txt || fail "database and running VMs differ: $(cat d.txt)"
	[ "$(sql 'SELECT COUNT(*) FROM passphrase WHERE id NOT IN (SELECT passphrase_id FROM volumes WHERE passphrase_id IS NOT NULL)')" = 0 ] ||
		fail "orphan passphrase rows"
	[ "$(sql "SELECT COUNT(*) FROM volumes v JOIN disk_offering d ON d.id = v.disk_offering_id WHERE v.removed IS NULL AND d.encrypt = 1 AND v.passphrase_id IS NULL AND v.state <> 'Allocated'")" = 0 ] ||
		fail "an encrypted volume without its passphrase"
	[ "$(sql "SELECT COUNT(*) FROM volumes WHERE removed IS NULL AND state IN ('Creating','Destroy','Migrating')")" = 0 ] ||
		fail "volumes left in a transitional state: $(sql "SELECT uuid, state FROM volumes WHERE state IN ('Creating','Destroy','Migrating')")"
	[ "$(sql 'SELECT COUNT(*) FROM async_job WHERE job_status = 0')" = 0 ] || fail "pending jobs after recovery"
}

# crash_restart POINT API-ARGS...: arm POINT, run the call, wait for the kill, restart
crash_restart() {
	local point=$1
	shift
	kill -TERM "$(cat "$T/mgmt.pid")"
	for _ in $(seq 100); do kill -0 "$(cat "$T/mgmt.pid")" 2>/dev/null || break; sleep 0.05; done
	start_mgmt "$point"
	wait_host_up
	cs --async "$@" >async.json || true
	JOB=$(jq -r '.jobid // empty' async.json)
	wait_killed "$point"
	start_mgmt
	wait_host_up
	grep -q 'recovery:' "$T/mgmt.log" || fail "no recovery logged"
	if [ -n "$JOB" ]; then
		cs queryAsyncJobResult jobid="$JOB" >job.json
		jq_true job.json '.jobstatus == 2 and .jobresultcode == 530'
	fi
}

test_crash_points_recover() {
	setup
	# create_volume:after_agent during deploy: the file exists, the row says Creating
	crash_restart create_volume:after_agent deployVirtualMachine serviceofferingid="$SO" \
		templateid="$TPL" zoneid="$ZONE" name=vm1
	assert_consistent
	VM=$(cs listVirtualMachines name=vm1 | jq -r '.virtualmachine[0].id')
	cs listVirtualMachines id="$VM" >vm.json
	jq_true vm.json '.virtualmachine[0].state == "Stopped"'
	[ -z "$(ls "$T/pool")" ] || fail "the created file survived the rollback: $(ls "$T/pool")"
	grep -q 'Creating -> Allocated' "$T/mgmt.log" || fail "no rollback of the Creating volume logged"
	# the retry succeeds: the volume keeps the passphrase it got before the crash
	local pp_before
	pp_before=$(sql "SELECT passphrase_id FROM volumes WHERE volume_type = 'ROOT'")
	[ -n "$pp_before" ] || fail "the root volume lost its passphrase"
	cs startVirtualMachine id="$VM" >start.json
	jq_true start.json '.virtualmachine.state == "Running"'
	[ "$(sql "SELECT passphrase_id FROM volumes WHERE volume_type = 'ROOT'")" = "$pp_before" ] ||
		fail "the retry made a new passphrase"
	assert_consistent

	# start_vm:after_agent: the domain runs, the row says Stopped
	cs stopVirtualMachine id="$VM" >/dev/null
	crash_restart start_vm:after_agent startVirtualMachine id="$VM"
	assert_consistent
	jq_true <(cs listVirtualMachines id="$VM") '.virtualmachine[0].state == "Stopped"'
	grep -q "VM .* was running on host kvm1: stopped" "$T/mgmt.log" || fail "the running domain was not stopped"
	cs startVirtualMachine id="$VM" >/dev/null
	assert_consistent

	# create_volume:before_agent on attach: nothing on storage yet
	VOL=$(cs createVolume name=d1 diskofferingid="$DO" zoneid="$ZONE" | jq -r '.volume.id')
	crash_restart create_volume:before_agent attachVolume id="$VOL" virtualmachineid="$VM"
	assert_consistent
	jq_true <(cs listVolumes id="$VOL") '.volume[0].state == "Allocated"'
	cs attachVolume id="$VOL" virtualmachineid="$VM" >att.json
	jq_true att.json '.volume.state == "Ready"'
	assert_consistent

	# delete_volume:after_agent: the file is gone, the row still says Destroy
	cs detachVolume id="$VOL" >/dev/null
	local pp
	pp=$(sql "SELECT passphrase_id FROM volumes WHERE uuid = '$VOL'")
	kill -TERM "$(cat "$T/mgmt.pid")"
	for _ in $(seq 100); do kill -0 "$(cat "$T/mgmt.pid")" 2>/dev/null || break; sleep 0.05; done
	start_mgmt delete_volume:after_agent
	wait_host_up
	cs deleteVolume id="$VOL" >/dev/null 2>&1 || true
	wait_killed delete_volume:after_agent
	[ "$(sql "SELECT state FROM volumes WHERE uuid = '$VOL'")" = Destroy ] || fail "not in Destroy after the kill"
	start_mgmt
	wait_host_up
	assert_consistent
	[ "$(sql "SELECT state FROM volumes WHERE uuid = '$VOL'")" = Expunged ] || fail "the delete was not finished"
	[ "$(sql "SELECT COUNT(*) FROM passphrase WHERE id = $pp")" = 0 ] || fail "its passphrase row survived"

	# the passphrase travelled only with volume commands (the real agent refuses
	# detach/delete of an encrypted volume without it), never with stop_vm
	jq -r 'select((.secrets | length) > 0) | .cmd' "$T/rec.jsonl" | sort -u >with-secret.txt
	! grep -v -x -E 'create_volume|start_vm|attach_volume|detach_volume|delete_volume' with-secret.txt ||
		fail "a passphrase went with: $(cat with-secret.txt)"
	jq -r 'select((.secrets | length) == 0) | .cmd' "$T/rec.jsonl" | sort -u >without.txt
	grep -qx stop_vm without.txt || fail "stop_vm not seen keyless: $(cat without.txt)"
	# where it went: the volume object of create/attach, each disk of start_vm
	jq -r 'select(.cmd == "start_vm") | .secrets[]' "$T/rec.jsonl" | sort -u >sv.txt
	grep -qE '^vm\.disks\.[0-9]+\.volume\.passphrase$' sv.txt || fail "start_vm secrets at: $(cat sv.txt)"
	jq -r 'select(.cmd == "create_volume" or .cmd == "attach_volume") | .secrets[]' "$T/rec.jsonl" | sort -u >cv.txt
	[ "$(cat cv.txt)" = volume.passphrase ] || fail "create/attach secrets at: $(cat cv.txt)"
	# and never into a log or the record
	local key
	key=$(sed -n 's/^db.cloud.encrypt.secret=//p' "$T/key.props")
	! grep -qF "$key" "$T/mgmt.log" "$T/agent.log" "$T/rec.jsonl" || fail "the database key leaked"
	! grep -q '"passphrase"' "$T/rec.jsonl" || fail "a passphrase field reached a handler"
}

T_CLEANUP='for p in mgmt agent; do [ -f "$T/$p.pid" ] && kill -KILL "$(cat "$T/$p.pid")" 2>/dev/null; done'

run_tests
