/* Start-up reconciliation after a crash (RECOVERY.md): every object a killed server
 * left in a transitional state is brought back to a state the storage agrees with,
 * then the pending jobs are failed. Runs before the job workers and the HTTP server
 * start, so no request sees the half-done state and /vecs/ready means "reconciled". */
#include "mgmt/recovery.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/async_job_dao.h"
#include "db/host_dao.h"
#include "db/vm_dao.h"
#include "db/volume_dao.h"
#include "mgmt/agent_channel.h"
#include "mgmt/cloud_ops.h"
#include "mgmt/volume_ops.h"

#define MAX_IDS 4096

struct ids {
	size_t n;
	int64_t v[MAX_IDS];
};

static void ids_add(struct ids *s, int64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == id)
			return;
	if (s->n < MAX_IDS)
		s->v[s->n++] = id;
}

/* ids of a constant query's first column */
static int select_ids(struct db *db, const char *sql, struct ids *out, struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db, sql, &st, err);

	if (r < 0)
		return r;
	while ((r = db_step(st, err)) == DB_ROW)
		ids_add(out, db_column_int64(st, 0));
	db_finalize(st);
	return r < 0 ? r : 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Agents reconnect by themselves after a server restart (100 ms to 2 s backoff): an
 * operation that needs one is retried until the deadline while no agent is there. */
static bool agent_missing(int r)
{
	return r == -EHOSTDOWN || r == -ENODEV || r == -ENOSPC;
}

static int discard_with_wait(struct recovery *rc, struct db *db, const struct volume_record *v,
			     struct vecs_err *err)
{
	int r;

	if (!rc->m->agents)
		return vecs_err_set(err, -EHOSTDOWN, "no agent channel: storage not checked");
	for (;;) {
		r = volume_ops_discard_storage(rc->m, db, v, err);
		if (!agent_missing(r) || now_ms() >= rc->deadline_ms)
			return r;
		usleep(100 * 1000);
	}
}

/* Creating: the create may or may not have reached storage. Roll back: remove what may
 * exist, back to Allocated (the passphrase stays with the volume). */
static void recover_creating(struct recovery *rc, struct db *db, struct volume_record *v)
{
	struct vecs_err err = { 0 };
	int r = discard_with_wait(rc, db, v, &err);

	if (r < 0) {
		mgmt_log(rc->m, "recovery: volume %s (Creating): storage not cleaned: %s; left "
				"Creating for the next start", v->uuid, err.msg);
		rc->left++;
		return;
	}
	if (volume_set_placement(db, v->id, 0, "", "", v->size, "Allocated", &err) < 0) {
		mgmt_log(rc->m, "recovery: volume %s: %s", v->uuid, err.msg);
		rc->left++;
		return;
	}
	mgmt_log(rc->m, "recovery: volume %s: Creating -> Allocated (storage removed)", v->uuid);
	rc->volumes++;
}

/* Destroy (a delete or the source of a committed migration) and Migrating (the
 * destination of an uncommitted one): finish the removal, storage first. */
static void recover_removal(struct recovery *rc, struct db *db, struct volume_record *v)
{
	struct vecs_err err = { 0 };
	int r = discard_with_wait(rc, db, v, &err);

	if (r < 0) {
		mgmt_log(rc->m, "recovery: volume %s (%s): storage not removed: %s; left for the "
				"next start", v->uuid, v->state, err.msg);
		rc->left++;
		return;
	}
	if (volume_remove(db, v->id, &err) < 0) {
		mgmt_log(rc->m, "recovery: volume %s: %s", v->uuid, err.msg);
		rc->left++;
		return;
	}
	mgmt_log(rc->m, "recovery: volume %s: %s -> Expunged (storage removed)", v->uuid,
		 v->state);
	rc->volumes++;
}

static int recover_volumes(struct recovery *rc, struct db *db, struct vecs_err *err)
{
	struct ids *ids = calloc(1, sizeof(*ids));
	struct volume_record v;
	int r;

	if (!ids)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	r = select_ids(db,
		       "SELECT id FROM volumes WHERE removed IS NULL AND state IN"
		       " ('Creating', 'Destroy', 'Migrating') ORDER BY id",
		       ids, err);
	for (size_t i = 0; r == 0 && i < ids->n; i++) {
		if (volume_get(db, ids->v[i], &v, err) < 0)
			continue;
		if (!strcmp(v.state, "Creating"))
			recover_creating(rc, db, &v);
		else
			recover_removal(rc, db, &v);
	}
	free(ids);
	return r;
}

struct host_names {
	size_t n;
	char name[64][256];
};

static int host_name_cb(void *ctx, const struct host_record *h)
{
	struct host_names *k = ctx;

	if (k->n < 64)
		snprintf(k->name[k->n++], sizeof(k->name[0]), "%s", h->name);
	return 0;
}

/* stop_vm on every host, waiting for each agent until the deadline: the domain may run
 * where the database never recorded it (a start that answered after the crash).
 * "not running" (or was_running false) is the answer wanted. 0 when every host answered. */
static int stop_everywhere(struct recovery *rc, const struct host_names *hosts,
			   const char *name)
{
	int bad = 0;

	for (size_t i = 0; i < hosts->n; i++) {
		struct vecs_err err = { 0 };
		json_t *res = NULL, *args = json_pack("{s:s}", "name", name);
		int r;

		for (;;) {
			r = agent_call(rc->m->agents, hosts->name[i], "stop_vm", args, AGENT_TIMEOUT_MS,
				       &res, &err);
			if (r != -EHOSTDOWN || now_ms() >= rc->deadline_ms)
				break;
			usleep(100 * 1000);
		}
		json_decref(args);
		/* an agent answers a domain it does not have as stopped (was_running false) */
		if (r == 0 && !json_is_false(json_object_get(res, "was_running")))
			mgmt_log(rc->m, "recovery: VM %s was running on host %s: stopped", name,
				 hosts->name[i]);
		json_decref(res);
		if (r == 0)
			continue;
		if (!(r == -EREMOTEIO && strstr(err.msg, "not running"))) {
			mgmt_log(rc->m, "recovery: stop_vm %s on host %s: %s", name, hosts->name[i],
				 err.msg);
			bad = 1;
		}
	}
	return bad ? -EIO : 0;
}

/* VM ids named by pending jobs ({"vm": uuid} in job_cmd_info) */
static int pending_vm_jobs(struct db *db, struct ids *out, struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db,
			   "SELECT job_cmd_info FROM async_job WHERE job_status = 0 AND"
			   " instance_type = 'VirtualMachine'",
			   &st, err);

	if (r < 0)
		return r;
	while ((r = db_step(st, err)) == DB_ROW) {
		const char *info = db_column_text(st, 0);
		json_t *a = info ? json_loads(info, 0, NULL) : NULL;
		const char *uuid = json_string_value(json_object_get(a, "vm"));
		struct vm_record vm;
		struct vecs_err e2 = { 0 };

		if (uuid && vm_get_by_uuid(db, uuid, &vm, &e2) == 0)
			ids_add(out, vm.id);
		json_decref(a);
	}
	db_finalize(st);
	return r < 0 ? r : 0;
}

/* A VM in Starting/Stopping/Migrating, or named by a job that never finished, ends
 * Stopped with no domain anywhere; Expunging goes back to Destroyed (its volumes were
 * handled one by one above), so expunge can be asked again. */
static int recover_vms(struct recovery *rc, struct db *db, struct vecs_err *err)
{
	struct ids *ids = calloc(1, sizeof(*ids));
	struct host_names *hosts = calloc(1, sizeof(*hosts));
	struct host_filter hf = { 0 };
	struct vm_record vm;
	int r = -ENOMEM;

	if (!ids || !hosts)
		goto out;
	r = select_ids(db,
		       "SELECT id FROM vm_instance WHERE removed IS NULL AND state IN"
		       " ('Starting', 'Stopping', 'Migrating', 'Expunging') ORDER BY id",
		       ids, err);
	if (r == 0)
		r = pending_vm_jobs(db, ids, err);
	if (r == 0 && ids->n && rc->m->agents)
		r = host_list(db, &hf, host_name_cb, hosts, err);
	for (size_t i = 0; r == 0 && i < ids->n; i++) {
		struct vecs_err e2 = { 0 };
		const char *to = "Stopped";

		if (vm_get(db, ids->v[i], &vm, &e2) < 0 || vm.removed)
			continue;
		if (!strcmp(vm.state, "Expunging") || !strcmp(vm.state, "Destroyed"))
			to = "Destroyed";
		/* a Stopped VM named by a pending start may run all the same: stop it too */
		if (!rc->m->agents || stop_everywhere(rc, hosts, vm.instance_name) < 0) {
			mgmt_log(rc->m, "recovery: VM %s (%s): not every host answered; left %s",
				 vm.uuid, vm.instance_name, vm.state);
			rc->left++;
			continue;
		}
		if (vm.host_id)
			volume_ops_pfx_vm(rc->m, db, vm.id, vm.host_id, false, (char[128]){ 0 }, 128);
		if (strcmp(vm.state, to) && vm_transition(db, vm.id, vm.state, to, 0, &e2) < 0) {
			mgmt_log(rc->m, "recovery: VM %s: %s", vm.uuid, e2.msg);
			rc->left++;
			continue;
		}
		mgmt_log(rc->m, "recovery: VM %s: %s -> %s", vm.uuid, vm.state, to);
		rc->vms++;
	}
out:
	free(ids);
	free(hosts);
	return r;
}

/* A snapshot still Allocated: the agent may have written its file. Remove the file
 * where this server would have asked for it and retire the row as Error. */
static int recover_snapshots(struct recovery *rc, struct db *db, struct vecs_err *err)
{
	struct ids *ids = calloc(1, sizeof(*ids));
	int r;

	if (!ids)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	r = select_ids(db,
		       "SELECT id FROM snapshots WHERE removed IS NULL AND status NOT IN"
		       " ('BackedUp', 'Error') ORDER BY id",
		       ids, err);
	for (size_t i = 0; r == 0 && i < ids->n; i++) {
		struct snapshot_record s;
		struct volume_record v;
		struct vecs_err e2 = { 0 };
		char path[512];

		if (snapshot_get(db, ids->v[i], &s, &e2) < 0)
			continue;
		if (rc->m->secondary && volume_get(db, s.volume_id, &v, &e2) == 0) {
			snprintf(path, sizeof(path), "%s/snapshots/%s/%s.qcow2", rc->m->secondary,
				 v.uuid, s.uuid);
			if (unlink(path) == 0)
				mgmt_log(rc->m, "recovery: snapshot %s: partial file removed", s.uuid);
		}
		if (snapshot_set_result(db, s.id, "Error", NULL, 0, &e2) < 0 ||
		    snapshot_remove(db, s.id, &e2) < 0) {
			mgmt_log(rc->m, "recovery: snapshot %s: %s", s.uuid, e2.msg);
			rc->left++;
			continue;
		}
		mgmt_log(rc->m, "recovery: snapshot %s: %s -> Error, removed", s.uuid, s.status);
		rc->snapshots++;
	}
	free(ids);
	return r;
}

/* No passphrase row without a volume; no encrypted volume past Allocated without its
 * passphrase (its data could never be opened again: Error, said loudly). */
static int check_passphrases(struct recovery *rc, struct db *db, struct vecs_err *err)
{
	struct ids *ids = calloc(1, sizeof(*ids));
	int r;

	if (!ids)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	r = db_exec(db,
		    "DELETE FROM passphrase WHERE NOT EXISTS"
		    " (SELECT 1 FROM volumes WHERE volumes.passphrase_id = passphrase.id)",
		    err);
	if (r == 0 && (rc->passphrases = db_changes(db)) > 0)
		mgmt_log(rc->m, "recovery: %lld passphrase rows referenced by no volume deleted",
			 (long long)rc->passphrases);
	if (r == 0)
		r = select_ids(db,
			       "SELECT v.id FROM volumes v JOIN disk_offering d ON d.id ="
			       " v.disk_offering_id WHERE v.removed IS NULL AND d.encrypt = 1 AND"
			       " v.passphrase_id IS NULL AND v.state NOT IN ('Allocated', 'Error')",
			       ids, err);
	for (size_t i = 0; r == 0 && i < ids->n; i++) {
		struct vecs_err e2 = { 0 };

		mgmt_log(rc->m, "recovery: volume id %lld is encrypted but has no passphrase: Error",
			 (long long)ids->v[i]);
		volume_set_state(db, ids->v[i], "Error", &e2);
		rc->left++;
	}
	free(ids);
	return r;
}

int mgmt_recover(struct mgmt *m, unsigned wait_ms, struct recovery *rc, struct vecs_err *err)
{
	struct db *db = db_pool_get(m->pool);
	int64_t lost = 0;
	int r;

	memset(rc, 0, sizeof(*rc));
	rc->m = m;
	rc->deadline_ms = now_ms() + wait_ms;
	r = recover_volumes(rc, db, err);
	if (r == 0)
		r = recover_vms(rc, db, err);
	if (r == 0)
		r = recover_snapshots(rc, db, err);
	if (r == 0)
		r = check_passphrases(rc, db, err);
	if (r == 0)
		r = async_job_fail_pending(db,
					   "{\"errorcode\":530,\"errortext\":\"the management "
					   "server restarted before the job finished\"}",
					   &lost, err);
	rc->jobs = lost;
	db_pool_put(m->pool, db);
	if (r == 0 && (rc->volumes || rc->vms || rc->snapshots || rc->passphrases || rc->jobs ||
		       rc->left))
		mgmt_log(m,
			 "recovery: %d volumes, %d VMs, %d snapshots reconciled; %lld orphan "
			 "passphrases; %lld pending jobs failed; %d objects left for the next start",
			 rc->volumes, rc->vms, rc->snapshots, (long long)rc->passphrases,
			 (long long)rc->jobs, rc->left);
	return r;
}
