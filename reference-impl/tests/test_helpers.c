#include "test_helpers.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/offering_dao.h"
#include "db/volume_dao.h"

/* With VECS_TEST_MARIADB_SOCKET set (harness/tests/integration/t-mariadb.sh), the same
 * suites run against a real mariadbd: a fresh database per in-memory open, and one
 * database per path (so reopening a path finds its data, as with an SQLite file). */
static int open_mariadb(struct db **db, const char *sock, const char *path, struct vecs_err *err)
{
	static int counter;
	char name[64], target[512], sql[128];
	uint32_t h = 2166136261u;
	int r;

	if (path) {
		for (const char *p = path; *p; p++)
			h = (h ^ (unsigned char)*p) * 16777619u;
		snprintf(name, sizeof(name), "vt_%d_p%08x", (int)getpid(), h);
	} else {
		snprintf(name, sizeof(name), "vt_%d_%d", (int)getpid(), counter++);
	}
	snprintf(target, sizeof(target), "socket=%s;database=%s", sock, name);
	r = db_open(db, "mariadb", target, err);
	if (r < 0 || path)
		return r;
	snprintf(sql, sizeof(sql), "DROP DATABASE %s", name);
	r = db_exec(*db, sql, err);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", name);
	if (r == 0)
		r = db_exec(*db, sql, err);
	snprintf(sql, sizeof(sql), "USE %s", name);
	if (r == 0)
		r = db_exec(*db, sql, err);
	return r;
}

struct db *test_db_open_empty(const char *path)
{
	struct vecs_err err = { 0 };
	struct db *db = NULL;
	const char *sock = getenv("VECS_TEST_MARIADB_SOCKET");
	int r = sock ? open_mariadb(&db, sock, path, &err)
		     : db_open(&db, "sqlite", path ? path : ":memory:", &err);

	if (r < 0)
		fprintf(stderr, "test_db_open: %s\n", err.msg);
	CU_ASSERT_FATAL(r == 0);
	return db;
}

struct db *test_db_open(const char *path)
{
	struct vecs_err err = { 0 };
	struct db *db = test_db_open_empty(path);
	int r = db_migrate(db, &err);
	if (r < 0)
		fprintf(stderr, "db_migrate: %s\n", err.msg);
	CU_ASSERT_FATAL(r == 0);
	return db;
}

void test_encryptor(struct db_encryptor *e, enum db_encryptor_version v)
{
	struct vecs_err err = { 0 };
	int r = db_encryptor_init(e, TEST_DB_SECRET, strlen(TEST_DB_SECRET), v, &err);

	if (r < 0)
		fprintf(stderr, "test_encryptor: %s\n", err.msg);
	CU_ASSERT_FATAL(r == 0);
}

int64_t test_volume(struct db *db, const char *name, int encrypt)
{
	struct disk_offering_record off = { 0 };
	struct volume_record v = { 0 };
	struct vecs_err err = { 0 };

	snprintf(off.name, sizeof(off.name), "offering of %s", name);
	off.disk_size = 1 << 20;
	off.encrypt = encrypt;
	CU_ASSERT_EQUAL_FATAL(disk_offering_insert(db, &off, &err), 0);
	snprintf(v.name, sizeof(v.name), "%s", name);
	snprintf(v.volume_type, sizeof(v.volume_type), "DATADISK");
	snprintf(v.state, sizeof(v.state), "Allocated");
	v.size = 1 << 20;
	v.disk_offering_id = off.id;
	CU_ASSERT_EQUAL_FATAL(volume_insert(db, &v, &err), 0);
	CU_ASSERT(v.id > 0);
	return v.id;
}

char *test_raw_text(struct db *db, const char *sql, int64_t id)
{
	struct vecs_err err = { 0 };
	struct db_stmt *st;
	char *out = NULL;

	CU_ASSERT_EQUAL_FATAL(db_prepare(db, sql, &st, &err), 0);
	CU_ASSERT_EQUAL(db_bind_int64(st, 1, id, &err), 0);
	if (db_step(st, &err) == DB_ROW && !db_column_is_null(st, 0))
		out = strdup(db_column_text(st, 0));
	db_finalize(st);
	return out;
}

int64_t test_count(struct db *db, const char *sql, int64_t id)
{
	struct vecs_err err = { 0 };
	struct db_stmt *st;
	int64_t n = -1;

	CU_ASSERT_EQUAL_FATAL(db_prepare(db, sql, &st, &err), 0);
	CU_ASSERT_EQUAL(db_bind_int64(st, 1, id, &err), 0);
	if (db_step(st, &err) == DB_ROW)
		n = db_column_int64(st, 0);
	db_finalize(st);
	return n;
}

void test_write_file(const char *path, const char *text, unsigned mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	CU_ASSERT_FATAL(fchmod(fd, mode) == 0);
	close(fd);
}
