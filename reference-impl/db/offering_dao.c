#include "db/offering_dao.h"

#include <errno.h>
#include <string.h>

static int finish_insert(struct db *db, struct db_stmt *st, int r, int64_t *id,
			 struct vecs_err *err)
{
	if (r == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r < 0)
		return r;
	*id = db_last_insert_id(db);
	return 0;
}

int disk_offering_insert(struct db *db, struct disk_offering_record *o, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	if (!o->uuid[0] && (r = db_uuid_v4(o->uuid, err)) < 0)
		return r;
	r = db_prepare(db,
		       "INSERT INTO disk_offering (uuid, name, display_text, disk_size, encrypt,"
		       " created) VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, o->uuid, err)) == 0 &&
	    (r = db_bind_text(st, 2, o->name, err)) == 0 &&
	    (r = db_bind_text(st, 3, o->display_text[0] ? o->display_text : o->name, err)) == 0 &&
	    (r = db_bind_int64(st, 4, (int64_t)o->disk_size, err)) == 0)
		r = db_bind_int64(st, 5, o->encrypt ? 1 : 0, err);
	return finish_insert(db, st, r, &o->id, err);
}

int disk_offering_get(struct db *db, int64_t id, struct disk_offering_record *out,
		      struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_prepare(db,
		       "SELECT id, uuid, name, display_text, disk_size, encrypt, removed IS NOT NULL"
		       " FROM disk_offering WHERE id = ?",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_int64(st, 1, id, err)) == 0)
		r = db_step(st, err);
	if (r == DB_DONE)
		r = vecs_err_set(err, -ENOENT, "disk offering %lld does not exist", (long long)id);
	else if (r == DB_ROW) {
		out->id = db_column_int64(st, 0);
		if ((r = db_column_copy(st, 1, out->uuid, sizeof(out->uuid), err)) == 0 &&
		    (r = db_column_copy(st, 2, out->name, sizeof(out->name), err)) == 0)
			r = db_column_copy(st, 3, out->display_text, sizeof(out->display_text), err);
		out->disk_size = (uint64_t)db_column_int64(st, 4);
		out->encrypt = db_column_int64(st, 5) != 0;
		out->removed = db_column_int64(st, 6) != 0;
	}
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
		       " created) VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, o->uuid, err)) == 0 &&
	    (r = db_bind_text(st, 2, o->name, err)) == 0 &&
	    (r = db_bind_int64(st, 3, o->cpu, err)) == 0 &&
	    (r = db_bind_int64(st, 4, o->ram_size, err)) == 0)
		r = db_bind_id_or_null(st, 5, o->disk_offering_id, err);
	return finish_insert(db, st, r, &o->id, err);
}

int service_offering_get(struct db *db, int64_t id, struct service_offering_record *out,
			 struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_prepare(db,
		       "SELECT id, uuid, name, cpu, ram_size, disk_offering_id, encrypt_root,"
		       " removed IS NOT NULL FROM service_offering_view WHERE id = ?",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_int64(st, 1, id, err)) == 0)
		r = db_step(st, err);
	if (r == DB_DONE)
		r = vecs_err_set(err, -ENOENT, "service offering %lld does not exist", (long long)id);
	else if (r == DB_ROW) {
		out->id = db_column_int64(st, 0);
		if ((r = db_column_copy(st, 1, out->uuid, sizeof(out->uuid), err)) == 0)
			r = db_column_copy(st, 2, out->name, sizeof(out->name), err);
		out->cpu = (unsigned)db_column_int64(st, 3);
		out->ram_size = (unsigned)db_column_int64(st, 4);
		out->disk_offering_id = db_column_is_null(st, 5) ? 0 : db_column_int64(st, 5);
		/* NULL (no disk offering) reads as 0: not encrypted. */
		out->encrypt_root = db_column_int64(st, 6) != 0;
		out->removed = db_column_int64(st, 7) != 0;
	}
	db_finalize(st);
	return r;
}
