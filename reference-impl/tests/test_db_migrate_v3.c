/* A schema version 2 database that holds data (zone, host, user, job, offerings,
 * volumes with V2- and V1-encrypted passphrases, a removed volume still holding one)
 * migrates to version 3 with every row, reference and passphrase intact: the rows
 * compare equal column by column, each passphrase column is byte-identical and
 * decrypts to the value it had, the foreign keys still refuse what they refused, the
 * new columns have their defaults. Runs on SQLite and, through t-mariadb.sh, on
 * MariaDB (where version 3 is ALTER TABLE rather than a rebuild). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/db_backend.h"
#include "db/passphrase.h"
#include "db/schema.h"
#include "test_helpers.h"
#include "test_registry.h"

/* Apply the released migrations up to `version` exactly as db_migrate does (the same
 * statement texts, backend filters and dialect words), and record them. */
static void migrate_to(struct db *db, int version)
{
	struct vecs_err err = { 0 };
	const struct schema_migration *m;
	size_t n;
	int v;

	CU_ASSERT_EQUAL_FATAL(schema_current_version(db, &v, &err), 0);
	m = schema_migrations(&n);
	for (size_t i = 0; i < n && m[i].version <= version; i++) {
		char rec[160];

		for (const char *const *s = m[i].statements; *s; s++) {
			const char *text = schema_statement_for(db_kind(db), *s);
			char *sql = NULL;

			if (!text)
				continue;
			CU_ASSERT_EQUAL_FATAL(schema_render(db->ops->dialect, text, &sql, &err), 0);
			int r = db_exec(db, sql, &err);

			if (r < 0)
				fprintf(stderr, "v%d: %s\n", m[i].version, err.msg);
			free(sql);
			CU_ASSERT_EQUAL_FATAL(r, 0);
		}
		snprintf(rec, sizeof(rec),
			 "INSERT INTO schema_version (version, description, applied)"
			 " VALUES (%d, 'released v%d', CURRENT_TIMESTAMP)",
			 m[i].version, m[i].version);
		CU_ASSERT_EQUAL_FATAL(db_exec(db, rec, &err), 0);
	}
}

static void exec_ok(struct db *db, const char *sql)
{
	struct vecs_err err = { 0 };
	int r = db_exec(db, sql, &err);

	if (r < 0)
		fprintf(stderr, "%s: %s\n", sql, err.msg);
	CU_ASSERT_EQUAL_FATAL(r, 0);
}

/* Every row of a constant query, columns as text ("~" for NULL), one line per row. */
static char *dump(struct db *db, const char *sql, int ncols)
{
	struct vecs_err err = { 0 };
	struct db_stmt *st = NULL;
	size_t cap = 1 << 16, len = 0;
	char *out = calloc(1, cap);

	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_EQUAL_FATAL(db_prepare(db, sql, &st, &err), 0);
	while (db_step(st, &err) == DB_ROW) {
		for (int c = 0; c < ncols; c++) {
			const char *t = db_column_is_null(st, c) ? "~" : db_column_text(st, c);
			len += (size_t)snprintf(out + len, cap - len, "%s%s", c ? "|" : "", t);
		}
		len += (size_t)snprintf(out + len, cap - len, "\n");
		CU_ASSERT_FATAL(len < cap - 1);
	}
	db_finalize(st);
	return out;
}

/* the columns version 2 had; pool_id and instance_id are compared separately (version
 * 3 nulls them: they pointed at tables that did not exist) */
#define V2_VOLUME_COLUMNS                                                                   \
	"SELECT id, uuid, name, volume_type, path, format, size, state, disk_offering_id,"  \
	" passphrase_id, encrypt_format, created, removed FROM volumes ORDER BY id"

static const char *const v2_tables[][2] = {
	{ "SELECT id, passphrase FROM passphrase ORDER BY id", "2" },
	{ "SELECT id, uuid, name, display_text, disk_size, encrypt, created, removed,"
	  " compute_only FROM disk_offering ORDER BY id", "9" },
	{ "SELECT id, uuid, name, cpu, ram_size, disk_offering_id, created, removed,"
	  " display_text, speed FROM service_offering ORDER BY id", "10" },
	{ "SELECT id, encrypt_root FROM service_offering_view ORDER BY id", "2" },
	{ "SELECT id, uuid, name FROM data_center ORDER BY id", "3" },
	{ "SELECT id, uuid, name, status, data_center_id FROM host ORDER BY id", "5" },
	{ "SELECT host_id, name, value FROM host_details ORDER BY id", "3" },
	{ "SELECT id, uuid, username, api_key, secret_key FROM user ORDER BY id", "5" },
	{ "SELECT id, uuid, user_id, job_cmd, job_status, job_result FROM async_job ORDER BY id",
	  "6" },
	{ V2_VOLUME_COLUMNS, "13" },
};
#define N_TABLES (sizeof(v2_tables) / sizeof(v2_tables[0]))

static void fill_v2(struct db *db, const struct db_encryptor *v2, const struct db_encryptor *v1,
		    int64_t *pp_ids)
{
	struct vecs_err err = { 0 };
	char *v1_value = NULL, sql[512];
	char plain[PASSPHRASE_BUF_LEN];

	exec_ok(db, "INSERT INTO data_center (uuid, name, networktype, allocation_state, created)"
		    " VALUES ('dc-uuid', 'zone-a', 'Advanced', 'Enabled', '2026-01-02 03:04:05')");
	exec_ok(db, "INSERT INTO host (uuid, name, type, status, resource_state, private_ip_address,"
		    " hypervisor_type, data_center_id, created) VALUES ('h-uuid', 'kvm1', 'Routing',"
		    " 'Up', 'Enabled', '10.0.0.11', 'KVM', 1, '2026-01-02 03:04:05')");
	exec_ok(db, "INSERT INTO host_details (host_id, name, value) VALUES (1,"
		    " 'host.volume.encryption', 'true')");
	exec_ok(db, "INSERT INTO user (uuid, username, api_key, secret_key, account_type)"
		    " VALUES ('u-uuid', 'admin', 'AK', 'encrypted-secret', 1)");
	exec_ok(db, "INSERT INTO async_job (uuid, user_id, job_cmd, job_status, job_result,"
		    " created) VALUES ('j-uuid', 1, 'PrepareForMaintenanceCmd', 1, '{\"host\":{}}',"
		    " '2026-01-02 03:04:05')");
	exec_ok(db, "INSERT INTO disk_offering (uuid, name, display_text, disk_size, encrypt,"
		    " created) VALUES ('do-enc', 'encrypted 1G', 'x''); DROP TABLE volumes; --',"
		    " 1073741824, 1, '2026-01-02 03:04:05')");
	exec_ok(db, "INSERT INTO disk_offering (uuid, name, disk_size, encrypt, compute_only)"
		    " VALUES ('do-plain', 'plain \xc3\xa9t\xc3\xa9', 0, 0, 1)");
	exec_ok(db, "INSERT INTO service_offering (uuid, name, cpu, ram_size, disk_offering_id,"
		    " display_text, speed) VALUES ('so-1', 'small', 1, 512, 1, 'small one', 1000)");
	exec_ok(db, "INSERT INTO service_offering (uuid, name, cpu, ram_size, disk_offering_id)"
		    " VALUES ('so-2', 'plain', 2, 1024, 2)");
	/* volumes: v2 stored pool and instance ids pointing at nothing */
	exec_ok(db, "INSERT INTO volumes (uuid, name, volume_type, pool_id, instance_id, path,"
		    " format, size, state, disk_offering_id, encrypt_format, created) VALUES"
		    " ('vol-1', 'ROOT-1', 'ROOT', 7, 9, 'vol-1', 'QCOW2', 1073741824, 'Ready', 1,"
		    " 'luks', '2026-01-02 03:04:05')");
	exec_ok(db, "INSERT INTO volumes (uuid, name, volume_type, path, format, size, state,"
		    " disk_offering_id, encrypt_format) VALUES ('vol-2', 'DATA-legacy', 'DATADISK',"
		    " 'vol-2', 'QCOW2', 2147483648, 'Ready', 1, 'luks')");
	exec_ok(db, "INSERT INTO volumes (uuid, name, volume_type, size, state, disk_offering_id)"
		    " VALUES ('vol-3', 'plain', 'DATADISK', 5, 'Allocated', 2)");
	exec_ok(db, "INSERT INTO volumes (uuid, name, volume_type, path, size, state,"
		    " disk_offering_id, encrypt_format, removed) VALUES ('vol-4', 'gone but held',"
		    " 'DATADISK', 'vol-4', 7, 'Expunged', 1, 'luks', '2026-01-03 00:00:00')");
	/* V2 passphrases as the code makes them (vol-4's is made while it is live) */
	exec_ok(db, "UPDATE volumes SET removed = NULL WHERE uuid = 'vol-4'");
	CU_ASSERT_EQUAL_FATAL(passphrase_create_for_volume(db, v2, 1, &pp_ids[0], &err), 0);
	CU_ASSERT_EQUAL_FATAL(passphrase_create_for_volume(db, v2, 4, &pp_ids[2], &err), 0);
	exec_ok(db, "UPDATE volumes SET removed = '2026-01-03 00:00:00' WHERE uuid = 'vol-4'");
	/* a legacy V1 row, written as an installation configured for V1 did */
	CU_ASSERT_EQUAL_FATAL(passphrase_generate(plain, &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_encrypt(v1, plain, strlen(plain), &v1_value, &err), 0);
	explicit_bzero(plain, sizeof(plain));
	CU_ASSERT_EQUAL_FATAL(strlen(v1_value), 108);
	snprintf(sql, sizeof(sql), "INSERT INTO passphrase (passphrase) VALUES ('%s')", v1_value);
	free(v1_value);
	exec_ok(db, sql);
	pp_ids[1] = test_count(db, "SELECT MAX(id) FROM passphrase WHERE id > ?", 0);
	snprintf(sql, sizeof(sql), "UPDATE volumes SET passphrase_id = %lld WHERE uuid = 'vol-2'",
		 (long long)pp_ids[1]);
	exec_ok(db, sql);
}

static void test_v2_database_with_data_migrates(void)
{
	struct db *db = test_db_open_empty(NULL);
	struct db_encryptor v2, v1, any;
	struct vecs_err err = { 0 };
	char *before[N_TABLES], *after, got[3][PASSPHRASE_BUF_LEN], now[PASSPHRASE_BUF_LEN];
	int64_t pp[3] = { 0 };
	int v = 0;

	test_encryptor(&v2, DB_ENCRYPTOR_V2);
	test_encryptor(&v1, DB_ENCRYPTOR_V1);
	/* an installation without a configured version reads both */
	test_encryptor(&any, DB_ENCRYPTOR_UNSET);
	migrate_to(db, 2);
	CU_ASSERT_EQUAL(schema_current_version(db, &v, &err), 0);
	CU_ASSERT_EQUAL_FATAL(v, 2);
	fill_v2(db, &v2, &v1, pp);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL_FATAL(passphrase_fetch(db, &any, pp[i], got[i], &err), 0);
	for (size_t i = 0; i < N_TABLES; i++)
		before[i] = dump(db, v2_tables[i][0], atoi(v2_tables[i][1]));

	CU_ASSERT_EQUAL_FATAL(db_migrate(db, &err), 0);
	CU_ASSERT_EQUAL(schema_current_version(db, &v, &err), 0);
	CU_ASSERT_EQUAL(v, SCHEMA_VERSION_LATEST);

	/* every row of every version 2 table, byte for byte */
	for (size_t i = 0; i < N_TABLES; i++) {
		after = dump(db, v2_tables[i][0], atoi(v2_tables[i][1]));
		if (strcmp(before[i], after))
			fprintf(stderr, "changed by the migration: %s\nbefore:\n%safter:\n%s",
				v2_tables[i][0], before[i], after);
		CU_ASSERT_STRING_EQUAL(after, before[i]);
		CU_ASSERT(strlen(after) > 0);
		free(after);
		free(before[i]);
	}
	/* each passphrase decrypts to what it was: V2 rows, and the V1 row as V1 */
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(passphrase_fetch(db, &any, pp[i], now, &err), 0);
		CU_ASSERT_STRING_EQUAL(now, got[i]);
		explicit_bzero(now, sizeof(now));
	}
	CU_ASSERT_EQUAL(passphrase_fetch(db, &v1, pp[1], now, &err), 0);
	CU_ASSERT_STRING_EQUAL(now, got[1]);
	CU_ASSERT_EQUAL(passphrase_fetch_for_volume(db, &any, 1, now, &err), 0);
	CU_ASSERT_STRING_EQUAL(now, got[0]);
	explicit_bzero(now, sizeof(now));
	explicit_bzero(got, sizeof(got));

	/* the new columns have their defaults; the dangling ids are gone */
	CU_ASSERT_EQUAL(test_count(db, "SELECT COUNT(*) FROM volumes WHERE data_center_id IS NULL"
				       " AND device_id IS NULL AND template_id IS NULL AND pool_id IS"
				       " NULL AND instance_id IS NULL AND id <= ?", 4),
			4);
	CU_ASSERT_EQUAL(test_count(db, "SELECT COUNT(*) FROM disk_offering WHERE tags IS NULL AND"
				       " use_local_storage = 0 AND id <= ?", 2),
			2);
	/* the references hold: a referenced passphrase (also of a removed volume) cannot
	 * go, a volume cannot point at nothing, nor at a pool or VM that does not exist */
	CU_ASSERT_EQUAL(db_exec(db, "DELETE FROM passphrase WHERE id = 1", &err), -EPERM);
	CU_ASSERT_EQUAL(db_exec(db, "DELETE FROM passphrase WHERE id = 2", &err), -EPERM);
	CU_ASSERT_EQUAL(db_exec(db, "DELETE FROM passphrase WHERE id = 3", &err), -EPERM);
	CU_ASSERT_EQUAL(db_exec(db, "UPDATE volumes SET passphrase_id = 999 WHERE id = 3", &err),
			-EPERM);
	CU_ASSERT_EQUAL(db_exec(db, "UPDATE volumes SET pool_id = 999 WHERE id = 3", &err), -EPERM);
	CU_ASSERT_EQUAL(db_exec(db, "UPDATE volumes SET instance_id = 999 WHERE id = 3", &err),
			-EPERM);
	CU_ASSERT_EQUAL(db_exec(db, "DELETE FROM disk_offering WHERE id = 1", &err), -EPERM);
	/* released, the last reference lets the row go (the code path deletion uses) */
	{
		int deleted = 0;
		CU_ASSERT_EQUAL(passphrase_release_for_volume(db, 3, &deleted, &err), 0);
		CU_ASSERT_EQUAL(deleted, 0); /* vol-3 had none */
		CU_ASSERT_EQUAL(passphrase_release_for_volume(db, 2, &deleted, &err), 0);
		CU_ASSERT_EQUAL(deleted, 1);
	}
	/* ids continue after the copied ones (SQLite rebuilt the table) */
	exec_ok(db, "INSERT INTO volumes (uuid, name, volume_type, state, disk_offering_id)"
		    " VALUES ('vol-5', 'new', 'DATADISK', 'Allocated', 2)");
	CU_ASSERT(test_count(db, "SELECT id FROM volumes WHERE uuid = 'vol-5' AND id > ?", 4) > 4);
	db_encryptor_release(&v2);
	db_encryptor_release(&v1);
	db_encryptor_release(&any);
	db_close(db);
}

static CU_TestInfo tests[] = {
	{ "version 2 database with data migrates to version 3 intact",
	  test_v2_database_with_data_migrates },
	CU_TEST_INFO_NULL,
};

REF_SUITE(db_migrate_v3, "db_migrate_v3", tests)
