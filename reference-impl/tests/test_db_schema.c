/* Schema, versioning, foreign keys, the backend contract and the offering view. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/db_backend.h"
#include "db/offering_dao.h"
#include "db/schema.h"
#include "db/volume_dao.h"
#include "test_helpers.h"
#include "test_registry.h"

static void test_fresh_database_reaches_latest(void)
{
	struct db *db = test_db_open(NULL);
	struct vecs_err err = { 0 };
	int v = -1;

	CU_ASSERT_EQUAL(schema_current_version(db, &v, &err), 0);
	CU_ASSERT_EQUAL(v, SCHEMA_VERSION_LATEST);
	/* Every table and column the brief names is there (prepare fails otherwise). */
	static const char *const probes[] = {
		"SELECT id, passphrase FROM passphrase",
		"SELECT id, uuid, name, pool_id, path, size, state, disk_offering_id, instance_id,"
		" passphrase_id, encrypt_format, removed, volume_type, format FROM volumes",
		"SELECT id, uuid, name, disk_size, encrypt, removed FROM disk_offering",
		"SELECT id, uuid, name, cpu, ram_size, disk_offering_id FROM service_offering",
		"SELECT id, encrypt_root FROM service_offering_view",
		"SELECT version, description, applied FROM schema_version",
	};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		struct db_stmt *st = NULL;
		int r = db_prepare(db, probes[i], &st, &err);
		if (r < 0)
			fprintf(stderr, "%s\n", err.msg);
		CU_ASSERT_EQUAL(r, 0);
		db_finalize(st);
	}
	db_close(db);
}

static void test_migrate_is_idempotent(void)
{
	struct db *db = test_db_open(NULL);
	struct vecs_err err = { 0 };

	CU_ASSERT_EQUAL(db_migrate(db, &err), 0);
	CU_ASSERT_EQUAL(db_migrate(db, &err), 0);
	CU_ASSERT_EQUAL(test_count(db, "SELECT COUNT(*) FROM schema_version WHERE version >= ?", 1),
			SCHEMA_VERSION_LATEST);
	db_close(db);
}

static void test_newer_schema_refused(void)
{
	struct db *db = test_db_open(NULL);
	struct vecs_err err = { 0 };

	CU_ASSERT_EQUAL(db_exec(db,
				"INSERT INTO schema_version (version, description, applied)"
				" VALUES (999, 'from the future', CURRENT_TIMESTAMP)",
				&err),
			0);
	CU_ASSERT_EQUAL(db_migrate(db, &err), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "version 999"));
	db_close(db);
}

/* Foreign keys are a per-connection setting in SQLite: a reopened file must have them
 * too, and the data must survive. */
static void test_file_database_reopens_with_foreign_keys(void)
{
	char path[PATH_MAX];
	struct vecs_err err = { 0 };
	struct db *db;
	int64_t vol;

	snprintf(path, sizeof(path), "%s/reopen.db", ref_test_tmpdir());
	db = test_db_open(path);
	vol = test_volume(db, "kept", 1);
	db_close(db);

	db = test_db_open(path);
	CU_ASSERT_EQUAL(test_count(db, "SELECT COUNT(*) FROM volumes WHERE id = ?", vol), 1);
	if (!strcmp(db_kind(db), "sqlite")) {
		CU_ASSERT_EQUAL(test_count(db, "SELECT foreign_keys + 0 * ? FROM pragma_foreign_keys", 0), 1);
	} else {
		CU_ASSERT_EQUAL(test_count(db, "SELECT @@foreign_key_checks + 0 * ?", 0), 1);
	}
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO volumes (uuid, volume_type, disk_offering_id,"
				    " passphrase_id) VALUES ('u-1', 'ROOT', 1, 12345)",
				&err),
			-EPERM);
	db_close(db);
}

static void test_constraint_errors_are_mapped(void)
{
	struct db *db = test_db_open(NULL);
	struct vecs_err err = { 0 };
	struct volume_record v = { 0 };
	int64_t vol = test_volume(db, "first", 0);
	struct volume_record first;

	CU_ASSERT_EQUAL_FATAL(volume_get(db, vol, &first, &err), 0);
	/* Duplicate uuid: unique constraint. */
	snprintf(v.uuid, sizeof(v.uuid), "%s", first.uuid);
	snprintf(v.volume_type, sizeof(v.volume_type), "DATADISK");
	v.disk_offering_id = first.disk_offering_id;
	CU_ASSERT_EQUAL(volume_insert(db, &v, &err), -EEXIST);
	/* the message names the constraint: SQLite "UNIQUE constraint failed", MariaDB
	 * "Duplicate entry ... for key 'uc_volumes__uuid'" */
	CU_ASSERT(strstr(err.msg, "UNIQUE") != NULL || strstr(err.msg, "uc_volumes__uuid") != NULL);
	/* NOT NULL. */
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO volumes (uuid, volume_type) VALUES ('x', 'ROOT')",
				&err),
			-EINVAL);
	/* Service offering pointing at no disk offering: foreign key. */
	{
		struct service_offering_record so = { 0 };
		snprintf(so.name, sizeof(so.name), "dangling");
		so.disk_offering_id = 4242;
		CU_ASSERT_EQUAL(service_offering_insert(db, &so, &err), -EPERM);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "FOREIGN KEY"));
	}
	db_close(db);
}

static void test_one_statement_per_prepare(void)
{
	struct db *db = test_db_open(NULL);
	struct vecs_err err = { 0 };
	struct db_stmt *st = NULL;

	CU_ASSERT_EQUAL(db_prepare(db, "SELECT 1; DROP TABLE volumes", &st, &err), -EINVAL);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_EQUAL(db_prepare(db, "SELECT 1;  \n", &st, &err), 0);
	db_finalize(st);
	CU_ASSERT_EQUAL(test_count(db, "SELECT COUNT(*) FROM volumes WHERE id > ?", 0), 0);
	db_close(db);
}

static void test_schema_renders_for_other_dialects(void)
{
	static const struct db_dialect mariadb = {
		.id_pk = "bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY",
		.table_options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
		.begin_sql = "START TRANSACTION",
	};
	size_t n = 0;
	const struct schema_migration *m = schema_migrations(&n);
	struct vecs_err err = { 0 };
	int saw_fk = 0, saw_pp = 0;

	CU_ASSERT_EQUAL(n, SCHEMA_VERSION_LATEST);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(m[i].version, (int)i + 1);
		for (const char *const *s = m[i].statements; *s; s++) {
			char *sql = NULL;
			CU_ASSERT_EQUAL_FATAL(schema_render(&mariadb, *s, &sql, &err), 0);
			CU_ASSERT_PTR_NULL(strchr(sql, '{'));
			CU_ASSERT_PTR_NULL(strstr(sql, "AUTOINCREMENT"));
			if (strstr(sql, "CREATE TABLE"))
				CU_ASSERT_PTR_NOT_NULL(strstr(sql, "ENGINE=InnoDB"));
			if (strstr(sql, "CONSTRAINT fk_volumes__passphrase_id FOREIGN KEY (passphrase_id)"
					" REFERENCES passphrase(id)")) {
				saw_fk = 1;
				/* Upstream has no ON DELETE clause: deletion must be refused. */
				CU_ASSERT_PTR_NULL(strstr(sql, "ON DELETE"));
			}
			if (strstr(sql, "passphrase varchar(255) DEFAULT NULL"))
				saw_pp = 1;
			free(sql);
		}
	}
	CU_ASSERT(saw_fk);
	CU_ASSERT(saw_pp);
}

static void test_encrypt_root_follows_disk_offering(void)
{
	struct db *db = test_db_open(NULL);
	struct vecs_err err = { 0 };
	struct disk_offering_record enc = { 0 }, plain = { 0 }, got;
	struct service_offering_record a = { 0 }, b = { 0 }, c = { 0 }, out;

	snprintf(enc.name, sizeof(enc.name), "encrypted root");
	enc.encrypt = 1;
	snprintf(plain.name, sizeof(plain.name), "plain root");
	CU_ASSERT_EQUAL_FATAL(disk_offering_insert(db, &enc, &err), 0);
	CU_ASSERT_EQUAL_FATAL(disk_offering_insert(db, &plain, &err), 0);
	CU_ASSERT_EQUAL(disk_offering_get(db, enc.id, &got, &err), 0);
	CU_ASSERT_EQUAL(got.encrypt, 1);
	CU_ASSERT_STRING_EQUAL(got.uuid, enc.uuid);
	/* A new disk offering defaults to encrypt = 0 (the column default). */
	CU_ASSERT_EQUAL(test_count(db, "SELECT encrypt FROM disk_offering WHERE id = ?", plain.id), 0);

	snprintf(a.name, sizeof(a.name), "small encrypted");
	a.cpu = 1, a.ram_size = 512, a.disk_offering_id = enc.id;
	a.encrypt_root = 0; /* ignored: the disk offering decides */
	snprintf(b.name, sizeof(b.name), "small");
	b.cpu = 1, b.ram_size = 512, b.disk_offering_id = plain.id;
	b.encrypt_root = 1; /* ignored */
	snprintf(c.name, sizeof(c.name), "no disk offering");
	CU_ASSERT_EQUAL_FATAL(service_offering_insert(db, &a, &err), 0);
	CU_ASSERT_EQUAL_FATAL(service_offering_insert(db, &b, &err), 0);
	CU_ASSERT_EQUAL_FATAL(service_offering_insert(db, &c, &err), 0);

	CU_ASSERT_EQUAL(service_offering_get(db, a.id, &out, &err), 0);
	CU_ASSERT_EQUAL(out.encrypt_root, 1);
	CU_ASSERT_EQUAL(out.ram_size, 512);
	CU_ASSERT_STRING_EQUAL(out.name, "small encrypted");
	CU_ASSERT_EQUAL(service_offering_get(db, b.id, &out, &err), 0);
	CU_ASSERT_EQUAL(out.encrypt_root, 0);
	CU_ASSERT_EQUAL(service_offering_get(db, c.id, &out, &err), 0);
	CU_ASSERT_EQUAL(out.encrypt_root, 0);
	CU_ASSERT_EQUAL(service_offering_get(db, 999, &out, &err), -ENOENT);
	db_close(db);
}

static void test_nested_transactions(void)
{
	struct db *db = test_db_open(NULL);
	struct vecs_err err = { 0 };

	/* Inner commit does not commit; outer rollback discards both. */
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	test_volume(db, "outer", 0);
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	test_volume(db, "inner", 0);
	CU_ASSERT_EQUAL(db_commit(db, &err), 0);
	db_rollback(db);
	CU_ASSERT_EQUAL(test_count(db, "SELECT COUNT(*) FROM volumes WHERE id > ?", 0), 0);

	/* Inner rollback dooms the outer commit. */
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	test_volume(db, "outer", 0);
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	db_rollback(db);
	CU_ASSERT_EQUAL(db_begin(db, &err), -ECANCELED);
	CU_ASSERT_EQUAL(db_commit(db, &err), -ECANCELED);
	CU_ASSERT_EQUAL(test_count(db, "SELECT COUNT(*) FROM volumes WHERE id > ?", 0), 0);

	/* And the connection is usable afterwards. */
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	test_volume(db, "kept", 0);
	CU_ASSERT_EQUAL(db_commit(db, &err), 0);
	CU_ASSERT_EQUAL(test_count(db, "SELECT COUNT(*) FROM volumes WHERE id > ?", 0), 1);
	CU_ASSERT_EQUAL(db_commit(db, &err), -EINVAL);
	db_close(db);
}

static void test_open_errors(void)
{
	struct db *db = NULL;
	struct vecs_err err = { 0 };

	CU_ASSERT_EQUAL(db_open(&db, "mariadb", "/nonexistent", &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "socket=PATH"));
	CU_ASSERT_EQUAL(db_open(&db, "mariadb", "socket=/nonexistent/sock;database=cloud", &err),
			-ECONNREFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/sock"));
	CU_ASSERT_EQUAL(db_open(&db, "mariadb", "socket=/x;database=cl`oud", &err), -EINVAL);
	CU_ASSERT_EQUAL(db_open(&db, "oracle", "x", &err), -EINVAL);
	CU_ASSERT_EQUAL(db_open(&db, "sqlite", "/nonexistent-dir/x.db", &err), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent-dir/x.db"));
	CU_ASSERT_PTR_NULL(db);
	db_close(NULL);
}

static void test_uuid_format(void)
{
	char a[37], b[37];
	struct vecs_err err = { 0 };

	CU_ASSERT_EQUAL(db_uuid_v4(a, &err), 0);
	CU_ASSERT_EQUAL(db_uuid_v4(b, &err), 0);
	CU_ASSERT_EQUAL(strlen(a), 36);
	CU_ASSERT_EQUAL(a[8], '-');
	CU_ASSERT_EQUAL(a[14], '4');
	CU_ASSERT_PTR_NOT_NULL(strchr("89ab", a[19]));
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

static CU_TestInfo tests[] = {
	{ "fresh database migrates to the latest version", test_fresh_database_reaches_latest },
	{ "migrate twice is a no-op", test_migrate_is_idempotent },
	{ "a newer schema is refused", test_newer_schema_refused },
	{ "reopened file keeps data and foreign keys", test_file_database_reopens_with_foreign_keys },
	{ "constraint errors map to EEXIST/EINVAL/EPERM", test_constraint_errors_are_mapped },
	{ "one statement per prepare", test_one_statement_per_prepare },
	{ "schema renders for a MariaDB dialect", test_schema_renders_for_other_dialects },
	{ "encrypt_root follows the disk offering", test_encrypt_root_follows_disk_offering },
	{ "nested transactions", test_nested_transactions },
	{ "open errors say what is wrong", test_open_errors },
	{ "uuid v4 format", test_uuid_format },
	CU_TEST_INFO_NULL,
};

REF_SUITE(db_schema, "db_schema", tests)
