#include "db/offering_dao.h"

#include <errno.h>
#include <string.h>

int disk_offering_insert(struct db *db, struct disk_offering_record *o, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	if (!o->uuid[0] && (r = db_uuid_v4(o->uuid, err)) < 0)
		return r;
	r = db_prepare(db,
		       "INSERT INTO disk_offering (uuid, name, display_text, disk_size, encrypt,"
		       " compute_only, tags, use_local_storage, created)"
		       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, o->uuid, err)) == 0 &&
	    (r = db_bind_text(st, 2, o->name, err)) == 0 &&
	    (r = db_bind_text(st, 3, o->display_text[0] ? o->display_text : o->name, err)) == 0 &&
	    (r = db_bind_int64(st, 4, (int64_t)o->disk_size, err)) == 0 &&
	    (r = db_bind_int64(st, 5, o->encrypt ? 1 : 0, err)) == 0 &&
	    (r = db_bind_int64(st, 6, o->compute_only ? 1 : 0, err)) == 0 &&
	    (r = db_bind_text(st, 7, o->tags[0] ? o->tags : NULL, err)) == 0)
		r = db_bind_int64(st, 8, o->use_local_storage ? 1 : 0, err);
	return db_insert_finish(db, st, r, &o->id, err);
}

#define DISK_OFFERING_COLUMNS                                                           \
	"id, uuid, name, display_text, disk_size, encrypt, removed IS NOT NULL,"        \
	" compute_only, created, tags, use_local_storage"

static int disk_offering_row(struct db_stmt *st, struct disk_offering_record *out,
			     struct vecs_err *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->id = db_column_int64(st, 0);
	if ((r = db_column_copy(st, 1, out->uuid, sizeof(out->uuid), err)) == 0 &&
	    (r = db_column_copy(st, 2, out->name, sizeof(out->name), err)) == 0 &&
	    (r = db_column_copy(st, 3, out->display_text, sizeof(out->display_text), err)) == 0 &&
	    (r = db_column_copy(st, 8, out->created, sizeof(out->created), err)) == 0)
		r = db_column_copy(st, 9, out->tags, sizeof(out->tags), err);
	out->use_local_storage = db_column_int64(st, 10) != 0;
	out->disk_size = (uint64_t)db_column_int64(st, 4);
	out->encrypt = db_column_int64(st, 5) != 0;
	out->removed = db_column_int64(st, 6) != 0;
	out->compute_only = db_column_int64(st, 7) != 0;
	return r;
}

int disk_offering_get(struct db *db, int64_t id, struct disk_offering_record *out,
		      struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_select_by_key(db, "SELECT " DISK_OFFERING_COLUMNS " FROM disk_offering WHERE id = ?",
			     id, NULL, &st, err);
	if (r == DB_DONE)
		r = vecs_err_set(err, -ENOENT, "disk offering %lld does not exist", (long long)id);
	else if (r == DB_ROW)
		r = disk_offering_row(st, out, err);
	db_finalize(st);
	return r;
}

int service_offering_insert(struct db *db, struct service_offering_record *o,
			    struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	if (!o->uuid[0] && (r = db_uuid_v4(o->uuid, err)) < 0)
		return r;
	r = db_prepare(db,
		       "INSERT INTO service_offering (uuid, name, cpu, ram_size, disk_offering_id,"
		       " display_text, speed, created)"
		       " VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, o->uuid, err)) == 0 &&
	    (r = db_bind_text(st, 2, o->name, err)) == 0 &&
	    (r = db_bind_int64(st, 3, o->cpu, err)) == 0 &&
	    (r = db_bind_int64(st, 4, o->ram_size, err)) == 0 &&
	    (r = db_bind_id_or_null(st, 5, o->disk_offering_id, err)) == 0 &&
	    (r = db_bind_text(st, 6, o->display_text[0] ? o->display_text : o->name, err)) == 0)
		r = db_bind_int64(st, 7, o->speed, err);
	return db_insert_finish(db, st, r, &o->id, err);
}

#define SERVICE_OFFERING_COLUMNS                                                        \
	"id, uuid, name, cpu, ram_size, disk_offering_id, encrypt_root,"                \
	" removed IS NOT NULL, display_text, speed, created, disk_offering_uuid"

static int service_offering_row(struct db_stmt *st, struct service_offering_record *out,
				struct vecs_err *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->id = db_column_int64(st, 0);
	if ((r = db_column_copy(st, 1, out->uuid, sizeof(out->uuid), err)) == 0 &&
	    (r = db_column_copy(st, 2, out->name, sizeof(out->name), err)) == 0 &&
	    (r = db_column_copy(st, 8, out->display_text, sizeof(out->display_text), err)) == 0 &&
	    (r = db_column_copy(st, 10, out->created, sizeof(out->created), err)) == 0)
		r = db_column_copy(st, 11, out->disk_offering_uuid, sizeof(out->disk_offering_uuid),
				   err);
	out->cpu = (unsigned)db_column_int64(st, 3);
	out->ram_size = (unsigned)db_column_int64(st, 4);
	out->disk_offering_id = db_column_id(st, 5);
	/* NULL (no disk offering) reads as 0: not encrypted. */
	out->encrypt_root = db_column_int64(st, 6) != 0;
	out->removed = db_column_int64(st, 7) != 0;
	out->speed = (unsigned)db_column_int64(st, 9);
	return r;
}

int service_offering_get(struct db *db, int64_t id, struct service_offering_record *out,
			 struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_select_by_key(db,
			     "SELECT " SERVICE_OFFERING_COLUMNS " FROM service_offering_view WHERE id = ?",
			     id, NULL, &st, err);
	if (r == DB_DONE)
		r = vecs_err_set(err, -ENOENT, "service offering %lld does not exist", (long long)id);
	else if (r == DB_ROW)
		r = service_offering_row(st, out, err);
	db_finalize(st);
	return r;
}

/* Optional filters as constant SQL: `(? IS NULL OR col = ?)` with the same value bound
 * twice, NULL meaning "any". */
static int bind_filter_text(struct db_stmt *st, int idx, const char *v, struct vecs_err *err)
{
	int r = db_bind_text(st, idx, v, err);
	return r < 0 ? r : db_bind_text(st, idx + 1, v, err);
}

static int bind_filter_bool(struct db_stmt *st, int idx, int v, struct vecs_err *err)
{
	int r;

	if (v < 0) {
		r = db_bind_null(st, idx, err);
		return r < 0 ? r : db_bind_null(st, idx + 1, err);
	}
	r = db_bind_int64(st, idx, v ? 1 : 0, err);
	return r < 0 ? r : db_bind_int64(st, idx + 1, v ? 1 : 0, err);
}

int disk_offering_list(struct db *db, const struct disk_offering_filter *f,
		       disk_offering_cb cb, void *ctx, struct vecs_err *err)
{
	struct disk_offering_record rec;
	struct db_stmt *st;
	int r;

	r = db_prepare(db,
		       "SELECT " DISK_OFFERING_COLUMNS " FROM disk_offering"
		       " WHERE removed IS NULL AND compute_only = 0"
		       " AND (? IS NULL OR uuid = ?) AND (? IS NULL OR name = ?)"
		       " AND (? IS NULL OR COALESCE(encrypt, 0) = ?) ORDER BY id",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = bind_filter_text(st, 1, f->uuid, err)) == 0 &&
	    (r = bind_filter_text(st, 3, f->name, err)) == 0)
		r = bind_filter_bool(st, 5, f->encrypt, err);
	while (r == 0 && (r = db_step(st, err)) == DB_ROW) {
		r = disk_offering_row(st, &rec, err);
		if (r == 0)
			r = cb(ctx, &rec);
	}
	db_finalize(st);
	return r == DB_DONE ? 0 : r;
}

int service_offering_list(struct db *db, const struct service_offering_filter *f,
			  service_offering_cb cb, void *ctx, struct vecs_err *err)
{
	struct service_offering_record rec;
	struct db_stmt *st;
	int r;

	r = db_prepare(db,
		       "SELECT " SERVICE_OFFERING_COLUMNS " FROM service_offering_view"
		       " WHERE removed IS NULL"
		       " AND (? IS NULL OR uuid = ?) AND (? IS NULL OR name = ?)"
		       " AND (? IS NULL OR COALESCE(encrypt_root, 0) = ?) ORDER BY id",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = bind_filter_text(st, 1, f->uuid, err)) == 0 &&
	    (r = bind_filter_text(st, 3, f->name, err)) == 0)
		r = bind_filter_bool(st, 5, f->encrypt_root, err);
	while (r == 0 && (r = db_step(st, err)) == DB_ROW) {
		r = service_offering_row(st, &rec, err);
		if (r == 0)
			r = cb(ctx, &rec);
	}
	db_finalize(st);
	return r == DB_DONE ? 0 : r;
}

int disk_offering_id_by_uuid(struct db *db, const char *uuid, int64_t *id,
			     struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	*id = 0;
	r = db_prepare(db, "SELECT id FROM disk_offering WHERE uuid = ? AND removed IS NULL", &st,
		       err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, uuid, err)) == 0)
		r = db_step(st, err);
	if (r == DB_ROW) {
		*id = db_column_int64(st, 0);
		r = 0;
	} else if (r == DB_DONE) {
		r = vecs_err_set(err, -ENOENT, "no disk offering has the given uuid");
	}
	db_finalize(st);
	return r;
}
