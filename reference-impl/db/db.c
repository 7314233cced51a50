#include "db/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "db/db_backend.h"

int db_open(struct db **out, const char *kind, const char *target, struct vecs_err *err)
{
	const struct db_ops *ops;
	struct db *db;
	int r;

	*out = NULL;
	if (!kind || strcmp(kind, "sqlite") == 0)
		ops = &db_sqlite_ops;
	else if (strcmp(kind, "mariadb") == 0)
		ops = &db_mariadb_ops;
	else
		return vecs_err_set(err, -EINVAL,
				    "unknown database kind '%s'; expected sqlite or mariadb", kind);
	if (!target || !*target)
		return vecs_err_set(err, -EINVAL, "no database path given for the %s backend",
				    ops->name);
	db = calloc(1, sizeof(*db));
	if (!db)
		return vecs_err_set(err, -ENOMEM, "out of memory opening the database");
	db->ops = ops;
	r = ops->open(db, target, err);
	if (r < 0) {
		free(db);
		return r;
	}
	*out = db;
	return 0;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	while (db->tx_depth > 0)
		db_rollback(db);
	db->ops->close(db);
	free(db);
}

const char *db_kind(const struct db *db)
{
	return db->ops->name;
}

int db_revive(struct db *db, struct vecs_err *err)
{
	return db->ops->revive ? db->ops->revive(db, err) : 0;
}

int db_exec(struct db *db, const char *sql, struct vecs_err *err)
{
	return db->ops->exec(db, sql, err);
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return vecs_err_set(err, -ENOMEM, "out of memory preparing a statement");
	st->db = db;
	r = db->ops->prepare(db, sql, st, err);
	if (r < 0) {
		free(st);
		return r;
	}
	*out = st;
	return 0;
}

int db_bind_int64(struct db_stmt *st, int idx, int64_t v, struct vecs_err *err)
{
	return st->db->ops->bind_int64(st, idx, v, err);
}

int db_bind_text(struct db_stmt *st, int idx, const char *s, struct vecs_err *err)
{
	if (!s)
		return st->db->ops->bind_null(st, idx, err);
	return st->db->ops->bind_text(st, idx, s, err);
}

int db_bind_null(struct db_stmt *st, int idx, struct vecs_err *err)
{
	return st->db->ops->bind_null(st, idx, err);
}

int db_bind_id_or_null(struct db_stmt *st, int idx, int64_t v, struct vecs_err *err)
{
	return v ? db_bind_int64(st, idx, v, err) : db_bind_null(st, idx, err);
}

int db_step(struct db_stmt *st, struct vecs_err *err)
{
	return st->db->ops->step(st, err);
}

int64_t db_column_int64(struct db_stmt *st, int col)
{
	return st->db->ops->column_int64(st, col);
}

const char *db_column_text(struct db_stmt *st, int col)
{
	return st->db->ops->column_text(st, col);
}

int db_column_is_null(struct db_stmt *st, int col)
{
	return st->db->ops->column_is_null(st, col);
}

int db_column_copy(struct db_stmt *st, int col, char *buf, size_t size, struct vecs_err *err)
{
	const char *s = db_column_text(st, col);
	size_t n = s ? strlen(s) : 0;

	if (n >= size)
		return vecs_err_set(err, -ENAMETOOLONG,
				    "a database value in column %d is %zu bytes, longer than the "
				    "%zu this code keeps; the schema and the code disagree",
				    col, n, size - 1);
	memcpy(buf, s ? s : "", n);
	buf[n] = '\0';
	return 0;
}

int db_reset(struct db_stmt *st, struct vecs_err *err)
{
	return st->db->ops->reset(st, err);
}

void db_finalize(struct db_stmt *st)
{
	if (!st)
		return;
	st->db->ops->finalize(st);
	free(st);
}

int64_t db_last_insert_id(struct db *db)
{
	return db->ops->last_insert_id(db);
}

int db_select_by_key(struct db *db, const char *sql, int64_t id, const char *uuid,
		     struct db_stmt **st, struct vecs_err *err)
{
	int r = db_prepare(db, sql, st, err);

	if (r < 0) {
		*st = NULL;
		return r;
	}
	r = uuid ? db_bind_text(*st, 1, uuid, err) : db_bind_int64(*st, 1, id, err);
	return r < 0 ? r : db_step(*st, err);
}

int db_insert_finish(struct db *db, struct db_stmt *st, int r, int64_t *id,
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

int64_t db_column_id(struct db_stmt *st, int col)
{
	return db_column_is_null(st, col) ? 0 : db_column_int64(st, col);
}

int64_t db_changes(struct db *db)
{
	return db->ops->changes(db);
}

int db_begin(struct db *db, struct vecs_err *err)
{
	int r;

	if (db->tx_depth > 0) {
		if (db->tx_failed)
			return vecs_err_set(err, -ECANCELED,
					    "the enclosing database transaction was already rolled "
					    "back; finish it before starting more work");
		db->tx_depth++;
		return 0;
	}
	r = db->ops->exec(db, db->ops->dialect->begin_sql, err);
	if (r < 0)
		return r;
	db->tx_depth = 1;
	db->tx_failed = 0;
	return 0;
}

int db_commit(struct db *db, struct vecs_err *err)
{
	int r;

	if (db->tx_depth == 0)
		return vecs_err_set(err, -EINVAL, "commit without an open database transaction");
	db->tx_depth--;
	if (db->tx_failed) {
		if (db->tx_depth == 0)
			db->tx_failed = 0;
		return vecs_err_set(err, -ECANCELED,
				    "the database transaction was rolled back by an inner "
				    "operation; nothing of it was kept");
	}
	if (db->tx_depth > 0)
		return 0;
	r = db->ops->exec(db, "COMMIT", err);
	if (r < 0) {
		struct vecs_err ignored;
		(void)db->ops->exec(db, "ROLLBACK", &ignored);
	}
	return r;
}

void db_rollback(struct db *db)
{
	struct vecs_err ignored;

	if (db->tx_depth == 0)
		return;
	if (!db->tx_failed)
		(void)db->ops->exec(db, "ROLLBACK", &ignored);
	/* The enclosing levels still call commit or rollback; the mark makes their commits
	 * fail instead of pretending their part was kept. */
	db->tx_failed = 1;
	if (--db->tx_depth == 0)
		db->tx_failed = 0;
}

int db_uuid_v4(char out[37], struct vecs_err *err)
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vecs_err_set(err, -errno, "getrandom failed while making a uuid: %s",
					    strerror(errno));
		}
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
	return 0;
}
