/* SQLite backend. Foreign keys are off by default in SQLite and are a per-connection
 * setting, so every open turns them on and reads the setting back: a library built
 * without them (SQLITE_OMIT_FOREIGN_KEY) is refused rather than silently trusted. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "db/db_backend.h"

#define SQLITE_BUSY_MS 5000

static const struct db_dialect sqlite_dialect = {
	/* AUTOINCREMENT: ids are never reused after a delete, as with InnoDB. */
	.id_pk = "INTEGER PRIMARY KEY AUTOINCREMENT",
	.table_options = "",
	/* IMMEDIATE takes the write lock at once, so two writers never deadlock on the
	 * read-to-write upgrade; the busy timeout makes the second one wait. */
	.begin_sql = "BEGIN IMMEDIATE",
};

static int sqlite_errno(int ext)
{
	switch (ext) {
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return -EPERM;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_ROWID:
		return -EEXIST;
	default:
		break;
	}
	switch (ext & 0xff) {
	case SQLITE_CONSTRAINT:
		return -EINVAL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
	case SQLITE_AUTH:
		return -EACCES;
	default:
		return -EIO;
	}
}

/* sqlite3_errmsg names the constraint ("FOREIGN KEY constraint failed", "UNIQUE
 * constraint failed: volumes.uuid"), never bound values; the SQL text is a constant of
 * this code with `?` placeholders. */
static int sqlite_fail(sqlite3 *h, const char *sql, struct vecs_err *err)
{
	int ext = sqlite3_extended_errcode(h);

	return vecs_err_set(err, sqlite_errno(ext), "SQLite refused `%.160s`: %s", sql ? sql : "",
			    sqlite3_errmsg(h));
}

static int sqlite_exec(struct db *db, const char *sql, struct vecs_err *err)
{
	sqlite3 *h = db->impl;

	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sqlite_fail(h, sql, err);
	return 0;
}

static int sqlite_fk_enabled(sqlite3 *h, int *on, struct vecs_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(h, "PRAGMA foreign_keys", -1, &st, NULL) != SQLITE_OK)
		return sqlite_fail(h, "PRAGMA foreign_keys", err);
	rc = sqlite3_step(st);
	*on = rc == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
	sqlite3_finalize(st);
	return 0;
}

static int sqlite_open(struct db *db, const char *target, struct vecs_err *err)
{
	sqlite3 *h = NULL;
	int fk = 0, r;

	if (sqlite3_open_v2(target, &h,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		r = vecs_err_set(err, h ? sqlite_errno(sqlite3_extended_errcode(h)) : -ENOMEM,
				 "cannot open SQLite database %s: %s; check the directory exists "
				 "and is writable",
				 target, h ? sqlite3_errmsg(h) : "out of memory");
		sqlite3_close(h);
		return r;
	}
	db->impl = h;
	sqlite3_extended_result_codes(h, 1);
	sqlite3_busy_timeout(h, SQLITE_BUSY_MS);
	/* Refuse writes to sqlite_master and similar foot-guns. */
	(void)sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	r = sqlite_exec(db, "PRAGMA foreign_keys = ON", err);
	if (r == 0)
		r = sqlite_fk_enabled(h, &fk, err);
	if (r == 0 && !fk)
		r = vecs_err_set(err, -ENOTSUP,
				 "SQLite database %s: foreign keys could not be enabled (library "
				 "built without them); the schema's constraints would not hold",
				 target);
	if (r == 0 && strcmp(target, ":memory:") != 0)
		r = sqlite_exec(db, "PRAGMA journal_mode = WAL", err);
	if (r < 0) {
		sqlite3_close(h);
		db->impl = NULL;
		return r;
	}
	return 0;
}

static void sqlite_close(struct db *db)
{
	/* sqlite3_close (not _v2) fails loudly in a debugger if a statement leaked. */
	if (db->impl && sqlite3_close(db->impl) != SQLITE_OK)
		fprintf(stderr, "db: SQLite connection closed with unfinalized statements\n");
	db->impl = NULL;
}

static int sqlite_prepare(struct db *db, const char *sql, struct db_stmt *st,
			  struct vecs_err *err)
{
	sqlite3_stmt *s = NULL;
	const char *tail = NULL;

	if (sqlite3_prepare_v2(db->impl, sql, -1, &s, &tail) != SQLITE_OK)
		return sqlite_fail(db->impl, sql, err);
	if (tail && *tail) {
		/* One statement per prepare: a second one would never run. */
		while (*tail == ' ' || *tail == '\n' || *tail == '\t' || *tail == ';')
			tail++;
		if (*tail) {
			sqlite3_finalize(s);
			return vecs_err_set(err, -EINVAL,
					    "more than one SQL statement given to one prepare: `%.160s`",
					    sql);
		}
	}
	st->impl = s;
	return 0;
}

static int sqlite_bind_rc(struct db_stmt *st, int rc, struct vecs_err *err)
{
	if (rc == SQLITE_OK)
		return 0;
	return sqlite_fail(st->db->impl, sqlite3_sql(st->impl), err);
}

static int sqlite_bind_int64(struct db_stmt *st, int idx, int64_t v, struct vecs_err *err)
{
	return sqlite_bind_rc(st, sqlite3_bind_int64(st->impl, idx, v), err);
}

static int sqlite_bind_text(struct db_stmt *st, int idx, const char *s, struct vecs_err *err)
{
	return sqlite_bind_rc(st, sqlite3_bind_text(st->impl, idx, s, -1, SQLITE_TRANSIENT), err);
}

static int sqlite_bind_null(struct db_stmt *st, int idx, struct vecs_err *err)
{
	return sqlite_bind_rc(st, sqlite3_bind_null(st->impl, idx), err);
}

static int sqlite_step(struct db_stmt *st, struct vecs_err *err)
{
	int rc = sqlite3_step(st->impl);

	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	return sqlite_fail(st->db->impl, sqlite3_sql(st->impl), err);
}

static int64_t sqlite_column_int64(struct db_stmt *st, int col)
{
	return sqlite3_column_int64(st->impl, col);
}

static const char *sqlite_column_text(struct db_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st->impl, col);
}

static int sqlite_column_is_null(struct db_stmt *st, int col)
{
	return sqlite3_column_type(st->impl, col) == SQLITE_NULL;
}

static int sqlite_reset(struct db_stmt *st, struct vecs_err *err)
{
	/* sqlite3_reset repeats the last step's error; the step already reported it. */
	(void)sqlite3_reset(st->impl);
	return 0;
}

static void sqlite_finalize(struct db_stmt *st)
{
	sqlite3_finalize(st->impl);
	st->impl = NULL;
}

static int64_t sqlite_last_insert_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->impl);
}

static int64_t sqlite_changes(struct db *db)
{
	return sqlite3_changes64(db->impl);
}

const struct db_ops db_sqlite_ops = {
	.name = "sqlite",
	.dialect = &sqlite_dialect,
	.open = sqlite_open,
	.close = sqlite_close,
	.exec = sqlite_exec,
	.prepare = sqlite_prepare,
	.bind_int64 = sqlite_bind_int64,
	.bind_text = sqlite_bind_text,
	.bind_null = sqlite_bind_null,
	.step = sqlite_step,
	.column_int64 = sqlite_column_int64,
	.column_text = sqlite_column_text,
	.column_is_null = sqlite_column_is_null,
	.reset = sqlite_reset,
	.finalize = sqlite_finalize,
	.last_insert_id = sqlite_last_insert_id,
	.changes = sqlite_changes,
};
