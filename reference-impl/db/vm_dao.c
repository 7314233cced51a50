#include "db/vm_dao.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int finish(struct db *db, struct db_stmt *st, int r, const char *what, int64_t id,
		  struct vecs_err *err)
{
	if (r == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r < 0)
		return r;
	if (db_changes(db) == 0)
		return vecs_err_set(err, -ENOENT, "%s %lld does not exist", what, (long long)id);
	return 0;
}

int vm_insert(struct db *db, struct vm_record *v, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	if (!v->uuid[0] && (r = db_uuid_v4(v->uuid, err)) < 0)
		return r;
	if ((r = db_begin(db, err)) < 0)
		return r;
	/* instance_name needs the id: a placeholder first, then i-2-<id>-VM. */
	r = db_prepare(db,
		       "INSERT INTO vm_instance (uuid, name, instance_name, display_name, state,"
		       " host_id, last_host_id, data_center_id, service_offering_id, vm_template_id,"
		       " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
		       &st, err);
	if (r < 0)
		goto fail;
	if ((r = db_bind_text(st, 1, v->uuid, err)) < 0 || (r = db_bind_text(st, 2, v->name, err)) < 0 ||
	    (r = db_bind_text(st, 3, v->uuid, err)) < 0 ||
	    (r = db_bind_text(st, 4, v->display_name[0] ? v->display_name : v->name, err)) < 0 ||
	    (r = db_bind_text(st, 5, v->state, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 6, v->host_id, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 7, v->last_host_id, err)) < 0 ||
	    (r = db_bind_int64(st, 8, v->zone_id, err)) < 0 ||
	    (r = db_bind_int64(st, 9, v->service_offering_id, err)) < 0 ||
	    (r = db_bind_int64(st, 10, v->template_id, err)) < 0 || (r = db_step(st, err)) < 0) {
		db_finalize(st);
		goto fail;
	}
	db_finalize(st);
	v->id = db_last_insert_id(db);
	snprintf(v->instance_name, sizeof(v->instance_name), "i-2-%lld-VM", (long long)v->id);
	r = db_prepare(db, "UPDATE vm_instance SET instance_name = ? WHERE id = ?", &st, err);
	if (r < 0)
		goto fail;
	if ((r = db_bind_text(st, 1, v->instance_name, err)) == 0)
		r = db_bind_int64(st, 2, v->id, err);
	if ((r = finish(db, st, r, "instance", v->id, err)) < 0)
		goto fail;
	return db_commit(db, err);
fail:
	db_rollback(db);
	return r;
}

#define VM_SELECT                                                                          \
	"SELECT id, uuid, name, instance_name, display_name, state, host_id, last_host_id,"  \
	" data_center_id, service_offering_id, vm_template_id, removed IS NOT NULL, created" \
	" FROM vm_instance"

static int read_vm(struct db_stmt *st, struct vm_record *v, struct vecs_err *err)
{
	int r;

	memset(v, 0, sizeof(*v));
	v->id = db_column_int64(st, 0);
	if ((r = db_column_copy(st, 1, v->uuid, sizeof(v->uuid), err)) < 0 ||
	    (r = db_column_copy(st, 2, v->name, sizeof(v->name), err)) < 0 ||
	    (r = db_column_copy(st, 3, v->instance_name, sizeof(v->instance_name), err)) < 0 ||
	    (r = db_column_copy(st, 4, v->display_name, sizeof(v->display_name), err)) < 0 ||
	    (r = db_column_copy(st, 5, v->state, sizeof(v->state), err)) < 0 ||
	    (r = db_column_copy(st, 12, v->created, sizeof(v->created), err)) < 0)
		return r;
	v->host_id = db_column_id(st, 6);
	v->last_host_id = db_column_id(st, 7);
	v->zone_id = db_column_int64(st, 8);
	v->service_offering_id = db_column_int64(st, 9);
	v->template_id = db_column_int64(st, 10);
	v->removed = db_column_int64(st, 11) != 0;
	return 0;
}

static int get_vm(struct db *db, const char *sql, int64_t id, const char *uuid,
		  struct vm_record *out, struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_select_by_key(db, sql, id, uuid, &st, err);

	if (r == DB_DONE)
		r = vecs_err_set(err, -ENOENT, "instance %s does not exist", uuid ? uuid : "(id)");
	else if (r == DB_ROW)
		r = read_vm(st, out, err);
	db_finalize(st);
	return r;
}

int vm_get(struct db *db, int64_t id, struct vm_record *out, struct vecs_err *err)
{
	return get_vm(db, VM_SELECT " WHERE id = ?", id, NULL, out, err);
}

int vm_get_by_uuid(struct db *db, const char *uuid, struct vm_record *out, struct vecs_err *err)
{
	return get_vm(db, VM_SELECT " WHERE uuid = ? AND removed IS NULL", 0, uuid, out, err);
}

int vm_list(struct db *db, const struct vm_filter *f,
	    int (*cb)(void *ctx, const struct vm_record *v), void *ctx, struct vecs_err *err)
{
	struct vm_record v;
	struct db_stmt *st = NULL;
	int r = db_prepare(db,
			   VM_SELECT " WHERE removed IS NULL AND (? IS NULL OR uuid = ?)"
				     " AND (? IS NULL OR name = ?) AND (? IS NULL OR state = ?)"
				     " AND (? IS NULL OR host_id = ?) ORDER BY id",
			   &st, err);

	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, f->uuid, err)) < 0 || (r = db_bind_text(st, 2, f->uuid, err)) < 0 ||
	    (r = db_bind_text(st, 3, f->name, err)) < 0 || (r = db_bind_text(st, 4, f->name, err)) < 0 ||
	    (r = db_bind_text(st, 5, f->state, err)) < 0 ||
	    (r = db_bind_text(st, 6, f->state, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 7, f->host_id, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 8, f->host_id, err)) < 0)
		goto out;
	while ((r = db_step(st, err)) == DB_ROW)
		if ((r = read_vm(st, &v, err)) < 0 || (r = cb(ctx, &v)) != 0)
			break;
out:
	db_finalize(st);
	return r == DB_ROW ? 0 : r;
}

int vm_transition(struct db *db, int64_t id, const char *from, const char *to, int64_t host_id,
		  struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db,
			   "UPDATE vm_instance SET state = ?,"
			   " last_host_id = CASE WHEN host_id IS NOT NULL THEN host_id"
			   "  ELSE last_host_id END,"
			   " host_id = ? WHERE id = ? AND state = ? AND removed IS NULL",
			   &st, err);

	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, to, err)) == 0 &&
	    (r = db_bind_id_or_null(st, 2, host_id, err)) == 0 &&
	    (r = db_bind_int64(st, 3, id, err)) == 0 && (r = db_bind_text(st, 4, from, err)) == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r < 0)
		return r;
	if (db_changes(db) == 0)
		return vecs_err_set(err, -EAGAIN, "instance %lld is not %s", (long long)id, from);
	return 0;
}

int vm_set_service_offering(struct db *db, int64_t id, int64_t offering_id,
			    struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db, "UPDATE vm_instance SET service_offering_id = ? WHERE id = ?", &st,
			   err);

	if (r < 0)
		return r;
	if ((r = db_bind_int64(st, 1, offering_id, err)) == 0)
		r = db_bind_int64(st, 2, id, err);
	return finish(db, st, r, "instance", id, err);
}

int vm_mark_expunged(struct db *db, int64_t id, struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db,
			   "UPDATE vm_instance SET state = 'Expunged', removed = CURRENT_TIMESTAMP,"
			   " host_id = NULL WHERE id = ? AND removed IS NULL",
			   &st, err);

	if (r < 0)
		return r;
	r = db_bind_int64(st, 1, id, err);
	return finish(db, st, r, "instance", id, err);
}

/* --- snapshots ---------------------------------------------------------------------- */

int snapshot_insert(struct db *db, struct snapshot_record *s, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	if (!s->uuid[0] && (r = db_uuid_v4(s->uuid, err)) < 0)
		return r;
	r = db_prepare(db,
		       "INSERT INTO snapshots (uuid, name, data_center_id, volume_id, status, path,"
		       " snapshot_type, type_description, size, created)"
		       " VALUES (?, ?, ?, ?, ?, ?, 0, 'MANUAL', ?, CURRENT_TIMESTAMP)",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, s->uuid, err)) == 0 && (r = db_bind_text(st, 2, s->name, err)) == 0 &&
	    (r = db_bind_int64(st, 3, s->zone_id, err)) == 0 &&
	    (r = db_bind_int64(st, 4, s->volume_id, err)) == 0 &&
	    (r = db_bind_text(st, 5, s->status, err)) == 0 &&
	    (r = db_bind_text(st, 6, s->path[0] ? s->path : NULL, err)) == 0)
		r = db_bind_int64(st, 7, (int64_t)s->size, err);
	return db_insert_finish(db, st, r, &s->id, err);
}

#define SNAP_SELECT                                                                       \
	"SELECT id, uuid, name, data_center_id, volume_id, status, path, size,"           \
	" removed IS NOT NULL, created FROM snapshots"

static int read_snap(struct db_stmt *st, struct snapshot_record *s, struct vecs_err *err)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->id = db_column_int64(st, 0);
	if ((r = db_column_copy(st, 1, s->uuid, sizeof(s->uuid), err)) < 0 ||
	    (r = db_column_copy(st, 2, s->name, sizeof(s->name), err)) < 0 ||
	    (r = db_column_copy(st, 5, s->status, sizeof(s->status), err)) < 0 ||
	    (r = db_column_copy(st, 6, s->path, sizeof(s->path), err)) < 0 ||
	    (r = db_column_copy(st, 9, s->created, sizeof(s->created), err)) < 0)
		return r;
	s->zone_id = db_column_int64(st, 3);
	s->volume_id = db_column_int64(st, 4);
	s->size = (uint64_t)db_column_int64(st, 7);
	s->removed = db_column_int64(st, 8) != 0;
	return 0;
}

static int get_snap(struct db *db, const char *sql, int64_t id, const char *uuid,
		    struct snapshot_record *out, struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_select_by_key(db, sql, id, uuid, &st, err);

	if (r == DB_DONE)
		r = vecs_err_set(err, -ENOENT, "snapshot does not exist");
	else if (r == DB_ROW)
		r = read_snap(st, out, err);
	db_finalize(st);
	return r;
}

int snapshot_get_by_uuid(struct db *db, const char *uuid, struct snapshot_record *out,
			 struct vecs_err *err)
{
	return get_snap(db, SNAP_SELECT " WHERE uuid = ? AND removed IS NULL", 0, uuid, out, err);
}

int snapshot_get(struct db *db, int64_t id, struct snapshot_record *out, struct vecs_err *err)
{
	return get_snap(db, SNAP_SELECT " WHERE id = ?", id, NULL, out, err);
}

int snapshot_list(struct db *db, const char *uuid, int64_t volume_id,
		  int (*cb)(void *ctx, const struct snapshot_record *s), void *ctx,
		  struct vecs_err *err)
{
	struct snapshot_record s;
	struct db_stmt *st = NULL;
	int r = db_prepare(db,
			   SNAP_SELECT " WHERE removed IS NULL AND (? IS NULL OR uuid = ?)"
				       " AND (? IS NULL OR volume_id = ?) ORDER BY id",
			   &st, err);

	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, uuid, err)) < 0 || (r = db_bind_text(st, 2, uuid, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 3, volume_id, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 4, volume_id, err)) < 0)
		goto out;
	while ((r = db_step(st, err)) == DB_ROW)
		if ((r = read_snap(st, &s, err)) < 0 || (r = cb(ctx, &s)) != 0)
			break;
out:
	db_finalize(st);
	return r == DB_ROW ? 0 : r;
}

int snapshot_set_result(struct db *db, int64_t id, const char *status, const char *path,
			uint64_t size, struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db, "UPDATE snapshots SET status = ?, path = ?, size = ? WHERE id = ?",
			   &st, err);

	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, status, err)) == 0 &&
	    (r = db_bind_text(st, 2, path && *path ? path : NULL, err)) == 0 &&
	    (r = db_bind_int64(st, 3, (int64_t)size, err)) == 0)
		r = db_bind_int64(st, 4, id, err);
	return finish(db, st, r, "snapshot", id, err);
}

int snapshot_remove(struct db *db, int64_t id, struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db,
			   "UPDATE snapshots SET removed = CURRENT_TIMESTAMP, status = 'Destroyed'"
			   " WHERE id = ? AND removed IS NULL",
			   &st, err);

	if (r < 0)
		return r;
	r = db_bind_int64(st, 1, id, err);
	return finish(db, st, r, "snapshot", id, err);
}

int snapshot_policy_insert(struct db *db, struct snapshot_policy_record *p,
			   struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	if (!p->uuid[0] && (r = db_uuid_v4(p->uuid, err)) < 0)
		return r;
	r = db_prepare(db,
		       "INSERT INTO snapshot_policy (uuid, volume_id, schedule, timezone, `interval`,"
		       " max_snaps, active) VALUES (?, ?, ?, ?, ?, ?, 1)",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, p->uuid, err)) == 0 &&
	    (r = db_bind_int64(st, 2, p->volume_id, err)) == 0 &&
	    (r = db_bind_text(st, 3, p->schedule, err)) == 0 &&
	    (r = db_bind_text(st, 4, p->timezone, err)) == 0 &&
	    (r = db_bind_int64(st, 5, p->interval, err)) == 0)
		r = db_bind_int64(st, 6, p->max_snaps, err);
	return db_insert_finish(db, st, r, &p->id, err);
}
