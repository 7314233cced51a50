/* The contract between db.c and a backend (db_sqlite.c, db_mariadb.c).
 *
 * A backend maps its own error codes to the errno values documented in db.h, never
 * copies bound values into messages, and supplies the dialect words the schema text
 * needs (schema.c substitutes them), so one schema serves every backend. */
#ifndef VECS_REF_DB_BACKEND_H
#define VECS_REF_DB_BACKEND_H

#include "db/db.h"

struct db_dialect {
	/* Column definition of an auto-increment primary key `id`. */
	const char *id_pk;
	/* Appended after the closing parenthesis of every CREATE TABLE. */
	const char *table_options;
	/* Starts a write transaction. */
	const char *begin_sql;
};

struct db_ops {
	const char *name;
	const struct db_dialect *dialect;
	int (*open)(struct db *db, const char *target, struct vecs_err *err);
	void (*close)(struct db *db);
	int (*exec)(struct db *db, const char *sql, struct vecs_err *err);
	int (*prepare)(struct db *db, const char *sql, struct db_stmt *st, struct vecs_err *err);
	int (*bind_int64)(struct db_stmt *st, int idx, int64_t v, struct vecs_err *err);
	int (*bind_text)(struct db_stmt *st, int idx, const char *s, struct vecs_err *err);
	int (*bind_null)(struct db_stmt *st, int idx, struct vecs_err *err);
	int (*step)(struct db_stmt *st, struct vecs_err *err);
	int64_t (*column_int64)(struct db_stmt *st, int col);
	const char *(*column_text)(struct db_stmt *st, int col);
	int (*column_is_null)(struct db_stmt *st, int col);
	int (*reset)(struct db_stmt *st, struct vecs_err *err);
	void (*finalize)(struct db_stmt *st);
	int64_t (*last_insert_id)(struct db *db);
	int64_t (*changes)(struct db *db);
	/* Optional: check the connection before a unit of work and re-establish it if the
	 * server dropped it (MariaDB restart). NULL: nothing to check (SQLite). */
	int (*revive)(struct db *db, struct vecs_err *err);
};

struct db {
	const struct db_ops *ops;
	void *impl;
	int tx_depth;
	int tx_failed; /* rolled back at an inner level: every enclosing commit refuses */
};

struct db_stmt {
	struct db *db;
	void *impl;
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_mariadb_ops;

#endif
