#include "db/volume_dao.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/passphrase.h"

#define VOLUME_COLUMNS                                                                   \
	"id, uuid, name, volume_type, pool_id, instance_id, path, format, size, state,"  \
	" disk_offering_id, passphrase_id, encrypt_format, removed IS NOT NULL,"        \
	" data_center_id, device_id, template_id, created"

static int read_row(struct db_stmt *st, struct volume_record *v, struct vecs_err *err)
{
	int r;

	memset(v, 0, sizeof(*v));
	v->id = db_column_int64(st, 0);
	if ((r = db_column_copy(st, 1, v->uuid, sizeof(v->uuid), err)) < 0 ||
	    (r = db_column_copy(st, 2, v->name, sizeof(v->name), err)) < 0 ||
	    (r = db_column_copy(st, 3, v->volume_type, sizeof(v->volume_type), err)) < 0 ||
	    (r = db_column_copy(st, 6, v->path, sizeof(v->path), err)) < 0 ||
	    (r = db_column_copy(st, 7, v->format, sizeof(v->format), err)) < 0 ||
	    (r = db_column_copy(st, 9, v->state, sizeof(v->state), err)) < 0 ||
	    (r = db_column_copy(st, 12, v->encrypt_format, sizeof(v->encrypt_format), err)) < 0)
		return r;
	v->pool_id = db_column_id(st, 4);
	v->instance_id = db_column_id(st, 5);
	v->size = (uint64_t)db_column_int64(st, 8);
	v->disk_offering_id = db_column_int64(st, 10);
	v->passphrase_id = db_column_id(st, 11);
	v->removed = db_column_int64(st, 13) != 0;
	v->zone_id = db_column_id(st, 14);
	v->has_device_id = !db_column_is_null(st, 15);
	v->device_id = db_column_id(st, 15);
	v->template_id = db_column_id(st, 16);
	return db_column_copy(st, 17, v->created, sizeof(v->created), err);
}

static const char *or_null(const char *s)
{
	return s && *s ? s : NULL;
}

int volume_insert(struct db *db, struct volume_record *v, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	if (!v->uuid[0] && (r = db_uuid_v4(v->uuid, err)) < 0)
		return r;
	if (!v->volume_type[0])
		return vecs_err_set(err, -EINVAL, "volume %s has no volume_type (ROOT or DATADISK)",
				    v->uuid);
	r = db_prepare(db,
		       "INSERT INTO volumes (uuid, name, volume_type, pool_id, instance_id, path,"
		       " format, size, state, disk_offering_id, passphrase_id, encrypt_format,"
		       " data_center_id, device_id, template_id, created)"
		       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, v->uuid, err)) < 0 ||
	    (r = db_bind_text(st, 2, v->name, err)) < 0 ||
	    (r = db_bind_text(st, 3, v->volume_type, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 4, v->pool_id, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 5, v->instance_id, err)) < 0 ||
	    (r = db_bind_text(st, 6, or_null(v->path), err)) < 0 ||
	    (r = db_bind_text(st, 7, or_null(v->format), err)) < 0 ||
	    (r = db_bind_int64(st, 8, (int64_t)v->size, err)) < 0 ||
	    (r = db_bind_text(st, 9, or_null(v->state), err)) < 0 ||
	    (r = db_bind_int64(st, 10, v->disk_offering_id, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 11, v->passphrase_id, err)) < 0 ||
	    (r = db_bind_text(st, 12, or_null(v->encrypt_format), err)) < 0 ||
	    (r = db_bind_id_or_null(st, 13, v->zone_id, err)) < 0 ||
	    (r = v->has_device_id ? db_bind_int64(st, 14, v->device_id, err)
				  : db_bind_null(st, 14, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 15, v->template_id, err)) < 0 ||
	    (r = db_step(st, err)) < 0) {
		db_finalize(st);
		return r;
	}
	db_finalize(st);
	v->id = db_last_insert_id(db);
	return 0;
}

static int get_one(struct db *db, const char *sql, int64_t id, const char *uuid,
		   struct volume_record *out, struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_select_by_key(db, sql, id, uuid, &st, err);

	if (r == DB_DONE) {
		r = uuid ? vecs_err_set(err, -ENOENT, "volume %s does not exist", uuid)
			 : vecs_err_set(err, -ENOENT, "volume %lld does not exist", (long long)id);
	} else if (r == DB_ROW) {
		r = read_row(st, out, err);
	}
	db_finalize(st);
	return r;
}

int volume_get(struct db *db, int64_t id, struct volume_record *out, struct vecs_err *err)
{
	return get_one(db, "SELECT " VOLUME_COLUMNS " FROM volumes WHERE id = ?", id, NULL, out,
		       err);
}

int volume_get_by_uuid(struct db *db, const char *uuid, struct volume_record *out,
		       struct vecs_err *err)
{
	return get_one(db, "SELECT " VOLUME_COLUMNS " FROM volumes WHERE uuid = ?", 0, uuid, out,
		       err);
}

static int set_text(struct db *db, const char *sql, int64_t id, const char *text,
		    struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	r = db_prepare(db, sql, &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, text, err)) == 0 && (r = db_bind_int64(st, 2, id, err)) == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r < 0)
		return r;
	if (db_changes(db) == 0)
		return vecs_err_set(err, -ENOENT, "volume %lld does not exist", (long long)id);
	return 0;
}

int volume_set_state(struct db *db, int64_t id, const char *state, struct vecs_err *err)
{
	return set_text(db, "UPDATE volumes SET state = ? WHERE id = ?", id, state, err);
}

int volume_set_encrypt_format(struct db *db, int64_t id, const char *format, struct vecs_err *err)
{
	return set_text(db, "UPDATE volumes SET encrypt_format = ? WHERE id = ?", id, format, err);
}

int volume_remove(struct db *db, int64_t id, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	r = db_begin(db, err);
	if (r < 0)
		return r;
	r = passphrase_release_for_volume(db, id, NULL, err);
	if (r < 0)
		goto fail;
	r = db_prepare(db,
		       "UPDATE volumes SET removed = CURRENT_TIMESTAMP, state = 'Expunged'"
		       " WHERE id = ? AND removed IS NULL",
		       &st, err);
	if (r < 0)
		goto fail;
	if ((r = db_bind_int64(st, 1, id, err)) == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r < 0)
		goto fail;
	return db_commit(db, err);
fail:
	db_rollback(db);
	return r;
}

int volume_list(struct db *db, const struct volume_filter *f,
		int (*cb)(void *ctx, const struct volume_record *v), void *ctx,
		struct vecs_err *err)
{
	struct volume_record *v = malloc(sizeof(*v));
	struct db_stmt *st;
	int r;

	if (!v)
		return vecs_err_set(err, -ENOMEM, "out of memory listing volumes");
	r = db_prepare(db,
		       "SELECT " VOLUME_COLUMNS " FROM volumes WHERE removed IS NULL"
		       " AND (? IS NULL OR uuid = ?) AND (? IS NULL OR name = ?)"
		       " AND (? IS NULL OR volume_type = ?) AND (? IS NULL OR instance_id = ?)"
		       " AND (? IS NULL OR pool_id = ?)"
		       " AND (? < 0 OR (? = 1 AND passphrase_id IS NOT NULL)"
		       "  OR (? = 0 AND passphrase_id IS NULL))"
		       " ORDER BY id",
		       &st, err);
	if (r < 0)
		goto out;
	if ((r = db_bind_text(st, 1, f->uuid, err)) < 0 || (r = db_bind_text(st, 2, f->uuid, err)) < 0 ||
	    (r = db_bind_text(st, 3, f->name, err)) < 0 || (r = db_bind_text(st, 4, f->name, err)) < 0 ||
	    (r = db_bind_text(st, 5, f->type, err)) < 0 || (r = db_bind_text(st, 6, f->type, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 7, f->instance_id, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 8, f->instance_id, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 9, f->pool_id, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 10, f->pool_id, err)) < 0 ||
	    (r = db_bind_int64(st, 11, f->encrypted, err)) < 0 ||
	    (r = db_bind_int64(st, 12, f->encrypted, err)) < 0 ||
	    (r = db_bind_int64(st, 13, f->encrypted, err)) < 0)
		goto done;
	while ((r = db_step(st, err)) == DB_ROW) {
		if ((r = read_row(st, v, err)) < 0 || (r = cb(ctx, v)) != 0)
			break;
	}
done:
	db_finalize(st);
out:
	free(v);
	return r < 0 || r > 0 ? r : 0;
}

static int exec_changed(struct db_stmt *st, struct db *db, int64_t id, int r,
			struct vecs_err *err)
{
	if (r == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r < 0)
		return r;
	if (db_changes(db) == 0)
		return vecs_err_set(err, -ENOENT, "volume %lld does not exist", (long long)id);
	return 0;
}

int volume_set_placement(struct db *db, int64_t id, int64_t pool_id, const char *path,
			 const char *format, uint64_t size, const char *state,
			 struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db,
			   "UPDATE volumes SET pool_id = ?, path = ?, format = ?, size = ?, state = ?"
			   " WHERE id = ?",
			   &st, err);

	if (r < 0)
		return r;
	if ((r = db_bind_id_or_null(st, 1, pool_id, err)) == 0 &&
	    (r = db_bind_text(st, 2, or_null(path), err)) == 0 &&
	    (r = db_bind_text(st, 3, or_null(format), err)) == 0 &&
	    (r = db_bind_int64(st, 4, (int64_t)size, err)) == 0 &&
	    (r = db_bind_text(st, 5, state, err)) == 0)
		r = db_bind_int64(st, 6, id, err);
	return exec_changed(st, db, id, r, err);
}

int volume_set_instance(struct db *db, int64_t id, int64_t instance_id, int64_t device_id,
			struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db, "UPDATE volumes SET instance_id = ?, device_id = ? WHERE id = ?",
			   &st, err);

	if (r < 0)
		return r;
	if ((r = db_bind_id_or_null(st, 1, instance_id, err)) == 0 &&
	    (r = instance_id ? db_bind_int64(st, 2, device_id, err) : db_bind_null(st, 2, err)) == 0)
		r = db_bind_int64(st, 3, id, err);
	return exec_changed(st, db, id, r, err);
}

static int set_int(struct db *db, const char *sql, int64_t id, int64_t v, struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db, sql, &st, err);

	if (r < 0)
		return r;
	if ((r = db_bind_int64(st, 1, v, err)) == 0)
		r = db_bind_int64(st, 2, id, err);
	return exec_changed(st, db, id, r, err);
}

int volume_set_size(struct db *db, int64_t id, uint64_t size, struct vecs_err *err)
{
	return set_int(db, "UPDATE volumes SET size = ? WHERE id = ?", id, (int64_t)size, err);
}

int volume_set_disk_offering(struct db *db, int64_t id, int64_t disk_offering_id,
			     struct vecs_err *err)
{
	return set_int(db, "UPDATE volumes SET disk_offering_id = ? WHERE id = ?", id,
		       disk_offering_id, err);
}

int volume_change_state(struct db *db, int64_t id, const char *from, const char *to,
			struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db, "UPDATE volumes SET state = ? WHERE id = ? AND state = ?", &st,
			   err);

	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, to, err)) == 0 && (r = db_bind_int64(st, 2, id, err)) == 0 &&
	    (r = db_bind_text(st, 3, from, err)) == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r < 0)
		return r;
	if (db_changes(db) == 0)
		return vecs_err_set(err, -EAGAIN, "volume %lld is not %s", (long long)id, from);
	return 0;
}
