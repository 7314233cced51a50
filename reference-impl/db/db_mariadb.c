/* MariaDB backend (MariaDB Connector/C), for the real-database configuration: the stack
 * starts mariadbd on a private socket and the control plane connects here.
 *
 * Target: "socket=PATH;database=NAME[;user=NAME]". The user defaults to root, which
 * MariaDB authenticates by the connecting process's uid (unix_socket), so no password
 * exists to leak. Tables are InnoDB, so foreign keys are enforced; every connection
 * checks @@foreign_key_checks and refuses to run without it, as the SQLite backend
 * does with PRAGMA foreign_keys.
 *
 * Statements are server-side prepared; results are stored client-side at the first
 * step, so a caller may run other statements between steps as it can with SQLite.
 * Every column is fetched as text (numbers are parsed on demand). */
#include <ctype.h>
#include <errmsg.h>
#include <errno.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_backend.h"

#define MARIADB_TEXT_INITIAL 256

static const struct db_dialect mariadb_dialect = {
	.id_pk = "bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY",
	/* binary collation: comparisons and UNIQUE behave as in SQLite (case matters) */
	.table_options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	.begin_sql = "START TRANSACTION",
};

struct target {
	char socket[256];
	char database[65];
	char user[81];
};

/* broken: the server went away (restart, kill): the next statement outside a
 * transaction reconnects first; inside one it fails, since the server has rolled the
 * transaction back and the caller must start over. */
struct mariadb_conn {
	MYSQL *m;
	struct target t;
	bool broken;
	int64_t last_insert_id;
	int64_t changes;
};

struct mariadb_stmt {
	MYSQL_STMT *s;
	unsigned nparams, ncols;
	MYSQL_BIND *params;
	long long *param_ints;
	char **param_texts;
	unsigned long *param_lens;
	MYSQL_BIND *cols;
	char **col_bufs;
	unsigned long *col_lens;
	my_bool *col_null;
	int executed; /* execute happened since the last reset */
	int has_result;
};

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_rc;

static void library_init(void)
{
	library_rc = mysql_library_init(0, NULL, NULL);
}

static int mariadb_errno(unsigned code)
{
	switch (code) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_CONNECTION_ERROR:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
		return -ENOTCONN;
	case ER_ROW_IS_REFERENCED:
	case ER_ROW_IS_REFERENCED_2:
	case ER_NO_REFERENCED_ROW:
	case ER_NO_REFERENCED_ROW_2:
		return -EPERM;
	case ER_DUP_ENTRY:
	case ER_DUP_KEY:
		return -EEXIST;
	case ER_BAD_NULL_ERROR:
	case ER_NO_DEFAULT_FOR_FIELD:
	case ER_DATA_TOO_LONG:
	case ER_WARN_DATA_OUT_OF_RANGE:
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
	case ER_CONSTRAINT_FAILED:
	case ER_PARSE_ERROR: /* includes a second statement in one prepare */
		return -EINVAL;
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_LOCK_DEADLOCK:
		return -EBUSY;
	case ER_ACCESS_DENIED_ERROR:
	case ER_DBACCESS_DENIED_ERROR:
		return -EACCES;
	default:
		return -EIO;
	}
}

/* MariaDB's messages name the constraint or column, and for a duplicate key the
 * duplicate value: that value is an id or a name, never a passphrase (passphrase
 * columns have no unique key). */
static int mariadb_fail(unsigned code, const char *msg, const char *sql, struct vecs_err *err)
{
	return vecs_err_set(err, mariadb_errno(code), "MariaDB refused `%.160s`: %s (error %u)",
			    sql ? sql : "", msg, code);
}

static int conn_fail(struct mariadb_conn *c, const char *sql, struct vecs_err *err)
{
	int r = mariadb_fail(mysql_errno(c->m), mysql_error(c->m), sql, err);

	if (r == -ENOTCONN)
		c->broken = true;
	return r;
}

static int stmt_fail(struct db_stmt *st, const char *what, struct vecs_err *err)
{
	struct mariadb_stmt *ms = st->impl;
	struct mariadb_conn *c = st->db->impl;
	int r = mariadb_fail(mysql_stmt_errno(ms->s), mysql_stmt_error(ms->s), what, err);

	if (r == -ENOTCONN && c)
		c->broken = true;
	return r;
}

static int session_open(struct mariadb_conn *c, struct vecs_err *err);

/* Before a statement: a connection the server dropped is replaced, outside a
 * transaction only (inside one, the work so far is gone with the old session). */
static int conn_ready(struct db *db, struct vecs_err *err)
{
	struct mariadb_conn *c = db->impl;

	if (!c->broken)
		return 0;
	if (db->tx_depth > 0)
		return vecs_err_set(err, -ENOTCONN,
				    "the MariaDB connection was lost inside a transaction; "
				    "nothing of it was kept");
	if (c->m)
		mysql_close(c->m);
	c->m = mysql_init(NULL);
	if (!c->m)
		return vecs_err_set(err, -ENOMEM, "out of memory reconnecting to MariaDB");
	return session_open(c, err);
}

/* Run a statement that may return rows, and drop them. */
static int raw_exec(struct mariadb_conn *c, const char *sql, struct vecs_err *err)
{
	MYSQL_RES *res;

	if (mysql_real_query(c->m, sql, strlen(sql)) != 0)
		return conn_fail(c, sql, err);
	res = mysql_store_result(c->m);
	if (res)
		mysql_free_result(res);
	else if (mysql_field_count(c->m) != 0)
		return conn_fail(c, sql, err);
	c->changes = (int64_t)mysql_affected_rows(c->m);
	return 0;
}

static int mariadb_exec(struct db *db, const char *sql, struct vecs_err *err)
{
	struct mariadb_conn *c = db->impl;
	int r = conn_ready(db, err);

	if (r < 0)
		return r;
	return raw_exec(c, sql, err);
}

static bool identifier_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static int parse_target(const char *target, struct target *t, struct vecs_err *err)
{
	char buf[512];
	char *save = NULL;

	memset(t, 0, sizeof(*t));
	snprintf(t->user, sizeof(t->user), "root");
	if (strlen(target) >= sizeof(buf))
		return vecs_err_set(err, -EINVAL, "MariaDB target is too long");
	snprintf(buf, sizeof(buf), "%s", target);
	for (char *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');
		size_t n;

		if (!eq)
			return vecs_err_set(err, -EINVAL,
					    "MariaDB target item '%s' is not key=value (socket=PATH;database=NAME[;user=NAME])",
					    kv);
		*eq++ = '\0';
		n = strlen(eq);
		if (!strcmp(kv, "socket") && n < sizeof(t->socket))
			memcpy(t->socket, eq, n + 1);
		else if (!strcmp(kv, "database") && n < sizeof(t->database))
			memcpy(t->database, eq, n + 1);
		else if (!strcmp(kv, "user") && n < sizeof(t->user))
			memcpy(t->user, eq, n + 1);
		else
			return vecs_err_set(err, -EINVAL,
					    "MariaDB target key '%s' is unknown or its value too long", kv);
	}
	if (!t->socket[0] || !t->database[0])
		return vecs_err_set(err, -EINVAL,
				    "MariaDB target needs socket=PATH and database=NAME (got '%s')",
				    target);
	/* The name goes into CREATE DATABASE / USE, which take no placeholders. */
	if (!identifier_ok(t->database) || !identifier_ok(t->user))
		return vecs_err_set(err, -EINVAL,
				    "MariaDB database and user names may hold only letters, digits and _");
	return 0;
}

/* Connect c->m (fresh from mysql_init) to c->t and set the session up: database,
 * strict mode, foreign key checks (read back). Used at open and on reconnect. */
static int session_open(struct mariadb_conn *c, struct vecs_err *err)
{
	char sql[160];
	MYSQL_RES *res;
	MYSQL_ROW row;
	int fk = 0, r;

	if (!mysql_real_connect(c->m, NULL, c->t.user, NULL, NULL, 0, c->t.socket, 0))
		return vecs_err_set(err, -ECONNREFUSED,
				    "cannot connect to MariaDB at socket %s as %s: %s; is mariadbd running?",
				    c->t.socket, c->t.user, mysql_error(c->m));
	c->broken = false;
	snprintf(sql, sizeof(sql),
		 "CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
		 c->t.database);
	r = raw_exec(c, sql, err);
	if (r == 0 && mysql_select_db(c->m, c->t.database) != 0)
		r = conn_fail(c, "USE", err);
	/* Strict mode: an over-long or NULL value is an error, never silently trimmed. */
	if (r == 0)
		r = raw_exec(c, "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,"
				"NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO'", err);
	if (r == 0)
		r = raw_exec(c, "SET SESSION foreign_key_checks = 1", err);
	if (r == 0) {
		if (mysql_query(c->m, "SELECT @@foreign_key_checks") != 0 ||
		    !(res = mysql_store_result(c->m))) {
			r = conn_fail(c, "SELECT @@foreign_key_checks", err);
		} else {
			row = mysql_fetch_row(res);
			fk = row && row[0] && atoi(row[0]) == 1;
			mysql_free_result(res);
			if (!fk)
				r = vecs_err_set(err, -ENOTSUP,
						 "MariaDB at %s: foreign key checks are off; the schema's constraints would not hold",
						 c->t.socket);
		}
	}
	if (r < 0)
		c->broken = true; /* a half set-up session is never used */
	return r;
}

static int mariadb_open(struct db *db, const char *target, struct vecs_err *err)
{
	struct mariadb_conn *c;
	int r;

	pthread_once(&library_once, library_init);
	if (library_rc != 0)
		return vecs_err_set(err, -EIO, "the MariaDB client library failed to initialise");
	c = calloc(1, sizeof(*c));
	if (!c)
		return vecs_err_set(err, -ENOMEM, "out of memory opening MariaDB");
	r = parse_target(target, &c->t, err);
	if (r < 0) {
		free(c);
		return r;
	}
	if (!(c->m = mysql_init(NULL))) {
		free(c);
		return vecs_err_set(err, -ENOMEM, "out of memory opening MariaDB");
	}
	r = session_open(c, err);
	if (r < 0) {
		mysql_close(c->m);
		free(c);
		return r;
	}
	db->impl = c;
	return 0;
}

/* A cheap liveness check before a unit of work (db_pool_get): a server restart is
 * noticed here, and the session re-established, rather than by the work's first
 * statement. */
static int mariadb_revive(struct db *db, struct vecs_err *err)
{
	struct mariadb_conn *c = db->impl;

	if (db->tx_depth == 0 && !c->broken && mysql_ping(c->m) != 0)
		c->broken = true;
	return conn_ready(db, err);
}

static void mariadb_close(struct db *db)
{
	struct mariadb_conn *c = db->impl;

	if (!c)
		return;
	if (c->m)
		mysql_close(c->m);
	free(c);
	db->impl = NULL;
}

static void free_result_buffers(struct mariadb_stmt *ms)
{
	for (unsigned i = 0; i < ms->ncols; i++)
		free(ms->col_bufs ? ms->col_bufs[i] : NULL);
	free(ms->cols);
	free(ms->col_bufs);
	free(ms->col_lens);
	free(ms->col_null);
	ms->cols = NULL;
	ms->col_bufs = NULL;
	ms->col_lens = NULL;
	ms->col_null = NULL;
	ms->ncols = 0;
}

static void mariadb_finalize(struct db_stmt *st)
{
	struct mariadb_stmt *ms = st->impl;

	if (!ms)
		return;
	if (ms->s)
		mysql_stmt_close(ms->s);
	for (unsigned i = 0; i < ms->nparams; i++)
		free(ms->param_texts[i]);
	free(ms->params);
	free(ms->param_ints);
	free(ms->param_texts);
	free(ms->param_lens);
	free_result_buffers(ms);
	free(ms);
	st->impl = NULL;
}

static int mariadb_prepare(struct db *db, const char *sql, struct db_stmt *st,
			   struct vecs_err *err)
{
	struct mariadb_conn *c = db->impl;
	struct mariadb_stmt *ms;
	int r = conn_ready(db, err);

	if (r < 0)
		return r;
	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return vecs_err_set(err, -ENOMEM, "out of memory preparing a statement");
	st->impl = ms;
	ms->s = mysql_stmt_init(c->m);
	if (!ms->s) {
		mariadb_finalize(st);
		return vecs_err_set(err, -ENOMEM, "out of memory preparing a statement");
	}
	/* The server refuses more than one statement in a prepare by itself. */
	if (mysql_stmt_prepare(ms->s, sql, strlen(sql)) != 0) {
		r = mariadb_fail(mysql_stmt_errno(ms->s), mysql_stmt_error(ms->s), sql, err);
		if (r == -ENOTCONN)
			c->broken = true;
		mariadb_finalize(st);
		return r;
	}
	ms->nparams = (unsigned)mysql_stmt_param_count(ms->s);
	if (ms->nparams) {
		ms->params = calloc(ms->nparams, sizeof(*ms->params));
		ms->param_ints = calloc(ms->nparams, sizeof(*ms->param_ints));
		ms->param_texts = calloc(ms->nparams, sizeof(*ms->param_texts));
		ms->param_lens = calloc(ms->nparams, sizeof(*ms->param_lens));
		if (!ms->params || !ms->param_ints || !ms->param_texts || !ms->param_lens) {
			mariadb_finalize(st);
			return vecs_err_set(err, -ENOMEM, "out of memory preparing a statement");
		}
		/* unbound parameters are NULL, as in SQLite */
		for (unsigned i = 0; i < ms->nparams; i++)
			ms->params[i].buffer_type = MYSQL_TYPE_NULL;
	}
	return 0;
}

static MYSQL_BIND *param_slot(struct db_stmt *st, int idx, struct vecs_err *err)
{
	struct mariadb_stmt *ms = st->impl;

	if (idx < 1 || (unsigned)idx > ms->nparams) {
		vecs_err_set(err, -EINVAL, "bind index %d outside 1..%u", idx, ms->nparams);
		return NULL;
	}
	free(ms->param_texts[idx - 1]);
	ms->param_texts[idx - 1] = NULL;
	memset(&ms->params[idx - 1], 0, sizeof(MYSQL_BIND));
	return &ms->params[idx - 1];
}

static int mariadb_bind_int64(struct db_stmt *st, int idx, int64_t v, struct vecs_err *err)
{
	struct mariadb_stmt *ms = st->impl;
	MYSQL_BIND *b = param_slot(st, idx, err);

	if (!b)
		return -EINVAL;
	ms->param_ints[idx - 1] = v;
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = &ms->param_ints[idx - 1];
	return 0;
}

static int mariadb_bind_text(struct db_stmt *st, int idx, const char *s, struct vecs_err *err)
{
	struct mariadb_stmt *ms = st->impl;
	MYSQL_BIND *b = param_slot(st, idx, err);

	if (!b)
		return -EINVAL;
	ms->param_texts[idx - 1] = strdup(s);
	if (!ms->param_texts[idx - 1])
		return vecs_err_set(err, -ENOMEM, "out of memory binding a value");
	ms->param_lens[idx - 1] = strlen(s);
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = ms->param_texts[idx - 1];
	b->buffer_length = ms->param_lens[idx - 1];
	b->length = &ms->param_lens[idx - 1];
	return 0;
}

static int mariadb_bind_null(struct db_stmt *st, int idx, struct vecs_err *err)
{
	MYSQL_BIND *b = param_slot(st, idx, err);

	if (!b)
		return -EINVAL;
	b->buffer_type = MYSQL_TYPE_NULL;
	return 0;
}

/* Execute, and set up text buffers for the result columns. */
static int execute(struct db_stmt *st, struct vecs_err *err)
{
	struct mariadb_stmt *ms = st->impl;
	struct mariadb_conn *c = st->db->impl;
	MYSQL_RES *meta;

	if (ms->nparams && mysql_stmt_bind_param(ms->s, ms->params) != 0)
		return stmt_fail(st, "bind", err);
	if (mysql_stmt_execute(ms->s) != 0)
		return stmt_fail(st, "execute", err);
	ms->executed = 1;
	meta = mysql_stmt_result_metadata(ms->s);
	if (!meta) {
		c->changes = (int64_t)mysql_stmt_affected_rows(ms->s);
		c->last_insert_id = (int64_t)mysql_stmt_insert_id(ms->s);
		ms->has_result = 0;
		return 0;
	}
	ms->ncols = mysql_num_fields(meta);
	mysql_free_result(meta);
	ms->cols = calloc(ms->ncols, sizeof(*ms->cols));
	ms->col_bufs = calloc(ms->ncols, sizeof(*ms->col_bufs));
	ms->col_lens = calloc(ms->ncols, sizeof(*ms->col_lens));
	ms->col_null = calloc(ms->ncols, sizeof(*ms->col_null));
	if (!ms->cols || !ms->col_bufs || !ms->col_lens || !ms->col_null)
		return vecs_err_set(err, -ENOMEM, "out of memory for a result row");
	for (unsigned i = 0; i < ms->ncols; i++) {
		ms->col_bufs[i] = malloc(MARIADB_TEXT_INITIAL);
		if (!ms->col_bufs[i])
			return vecs_err_set(err, -ENOMEM, "out of memory for a result row");
		ms->cols[i].buffer_type = MYSQL_TYPE_STRING;
		ms->cols[i].buffer = ms->col_bufs[i];
		ms->cols[i].buffer_length = MARIADB_TEXT_INITIAL - 1;
		ms->cols[i].length = &ms->col_lens[i];
		ms->cols[i].is_null = &ms->col_null[i];
	}
	if (mysql_stmt_bind_result(ms->s, ms->cols) != 0 || mysql_stmt_store_result(ms->s) != 0)
		return stmt_fail(st, "store result", err);
	ms->has_result = 1;
	return 0;
}

static int fetch(struct db_stmt *st, struct vecs_err *err)
{
	struct mariadb_stmt *ms = st->impl;
	int rc = mysql_stmt_fetch(ms->s);

	if (rc == MYSQL_NO_DATA)
		return DB_DONE;
	if (rc == 1)
		return stmt_fail(st, "fetch", err);
	for (unsigned i = 0; i < ms->ncols; i++) {
		unsigned long len = ms->col_lens[i];

		if (ms->col_null[i])
			continue;
		if (len >= ms->cols[i].buffer_length) {
			/* MYSQL_DATA_TRUNCATED: grow this column and fetch it again */
			char *b = realloc(ms->col_bufs[i], len + 1);
			if (!b)
				return vecs_err_set(err, -ENOMEM, "out of memory for a result value");
			ms->col_bufs[i] = b;
			ms->cols[i].buffer = b;
			ms->cols[i].buffer_length = len + 1;
			if (mysql_stmt_fetch_column(ms->s, &ms->cols[i], i, 0) != 0)
				return stmt_fail(st, "fetch column", err);
			/* later rows fetch into the grown buffer */
			mysql_stmt_bind_result(ms->s, ms->cols);
		}
		ms->col_bufs[i][len] = '\0';
	}
	return DB_ROW;
}

static int mariadb_step(struct db_stmt *st, struct vecs_err *err)
{
	struct mariadb_stmt *ms = st->impl;
	int r;

	if (!ms->executed) {
		r = execute(st, err);
		if (r < 0)
			return r;
	}
	if (!ms->has_result)
		return DB_DONE;
	return fetch(st, err);
}

static int64_t mariadb_column_int64(struct db_stmt *st, int col)
{
	struct mariadb_stmt *ms = st->impl;

	if (col < 0 || (unsigned)col >= ms->ncols || ms->col_null[col])
		return 0;
	return strtoll(ms->col_bufs[col], NULL, 10);
}

static const char *mariadb_column_text(struct db_stmt *st, int col)
{
	struct mariadb_stmt *ms = st->impl;

	if (col < 0 || (unsigned)col >= ms->ncols || ms->col_null[col])
		return NULL;
	return ms->col_bufs[col];
}

static int mariadb_column_is_null(struct db_stmt *st, int col)
{
	struct mariadb_stmt *ms = st->impl;

	return col < 0 || (unsigned)col >= ms->ncols || ms->col_null[col];
}

static int mariadb_reset(struct db_stmt *st, struct vecs_err *err)
{
	struct mariadb_stmt *ms = st->impl;

	if (ms->has_result)
		mysql_stmt_free_result(ms->s);
	free_result_buffers(ms);
	ms->executed = 0;
	ms->has_result = 0;
	/* mysql_stmt_reset keeps the statement and the bound parameters */
	if (mysql_stmt_reset(ms->s) != 0)
		return stmt_fail(st, "reset", err);
	return 0;
}

static int64_t mariadb_last_insert_id(struct db *db)
{
	return ((struct mariadb_conn *)db->impl)->last_insert_id;
}

static int64_t mariadb_changes(struct db *db)
{
	return ((struct mariadb_conn *)db->impl)->changes;
}

const struct db_ops db_mariadb_ops = {
	.name = "mariadb",
	.dialect = &mariadb_dialect,
	.open = mariadb_open,
	.close = mariadb_close,
	.exec = mariadb_exec,
	.prepare = mariadb_prepare,
	.bind_int64 = mariadb_bind_int64,
	.bind_text = mariadb_bind_text,
	.bind_null = mariadb_bind_null,
	.step = mariadb_step,
	.column_int64 = mariadb_column_int64,
	.column_text = mariadb_column_text,
	.column_is_null = mariadb_column_is_null,
	.reset = mariadb_reset,
	.finalize = mariadb_finalize,
	.last_insert_id = mariadb_last_insert_id,
	.changes = mariadb_changes,
	.revive = mariadb_revive,
};
