/* Volume passphrases: format, lifecycle, foreign keys, storage encrypted at rest, and
 * SQL-significant strings stored as data. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/passphrase.h"
#include "db/volume_dao.h"
#include "test_helpers.h"
#include "test_registry.h"
#include "util/base64.h"

#define RAW_PASSPHRASE_SQL "SELECT passphrase FROM passphrase WHERE id = ?"
#define PASSPHRASE_ROWS_SQL "SELECT COUNT(*) FROM passphrase WHERE id = ?"

struct fixture {
	struct db *db;
	struct db_encryptor enc;
	struct vecs_err err;
};

static void setup(struct fixture *f, enum db_encryptor_version v)
{
	memset(f, 0, sizeof(*f));
	f->db = test_db_open(NULL);
	test_encryptor(&f->enc, v);
}

static void teardown(struct fixture *f)
{
	db_encryptor_release(&f->enc);
	db_close(f->db);
}

static int64_t volume_with_passphrase(struct fixture *f, const char *name, int64_t *pid)
{
	int64_t vol = test_volume(f->db, name, 1);
	int r = passphrase_create_for_volume(f->db, &f->enc, vol, pid, &f->err);

	if (r < 0)
		fprintf(stderr, "%s\n", f->err.msg);
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_FATAL(*pid > 0);
	return vol;
}

static void test_generated_format(void)
{
	enum { N = 64 };
	static char all[N][PASSPHRASE_BUF_LEN];
	struct vecs_err err = { 0 };

	for (int i = 0; i < N; i++) {
		unsigned char raw[PASSPHRASE_LEN];
		size_t n = 0;

		CU_ASSERT_EQUAL_FATAL(passphrase_generate(all[i], &err), 0);
		CU_ASSERT_EQUAL(strlen(all[i]), PASSPHRASE_LEN);
		for (int k = 0; k < PASSPHRASE_LEN; k++)
			CU_ASSERT(b64_is_alphabet(all[i][k])); /* no '=' either: 48 bytes pad to none */
		CU_ASSERT_EQUAL(b64_decode(all[i], PASSPHRASE_LEN, raw, &n), 0);
		CU_ASSERT_EQUAL(n, PASSPHRASE_RAW_LEN);
		CU_ASSERT_EQUAL(passphrase_check_format(all[i], strlen(all[i]), &err), 0);
		for (int j = 0; j < i; j++)
			CU_ASSERT(strcmp(all[i], all[j]) != 0);
	}
	explicit_bzero(all, sizeof(all));
}

static void test_check_format_rejects(void)
{
	static const char good[] = "dmVjcy1rbm93bi1hbnN3ZXItcGFzc3BocmFzZS0wMTIzNDU2Nzg5YWJjZGVmZ2hp";
	char bad[sizeof(good)];
	struct vecs_err err = { 0 };

	CU_ASSERT_EQUAL(passphrase_check_format(good, 64, &err), 0);
	CU_ASSERT_EQUAL(passphrase_check_format(good, 63, &err), -EBADMSG);
	CU_ASSERT_EQUAL(passphrase_check_format("", 0, &err), -EBADMSG);
	memcpy(bad, good, sizeof(good));
	bad[10] = '-'; /* base64url, not base64 */
	CU_ASSERT_EQUAL(passphrase_check_format(bad, 64, &err), -EBADMSG);
	memcpy(bad, good, sizeof(good));
	bad[62] = bad[63] = '='; /* 64 characters, but 46 bytes */
	CU_ASSERT_EQUAL(passphrase_check_format(bad, 64, &err), -EBADMSG);
	CU_ASSERT_PTR_NULL(strstr(err.msg, "dmVj"));
}

static void test_create_and_fetch(void)
{
	struct fixture f;
	char a[PASSPHRASE_BUF_LEN], b[PASSPHRASE_BUF_LEN];
	struct volume_record v;
	int64_t pid = 0, again = 0, vol;

	setup(&f, DB_ENCRYPTOR_V2);
	vol = volume_with_passphrase(&f, "data-1", &pid);
	CU_ASSERT_EQUAL(volume_get(f.db, vol, &v, &f.err), 0);
	CU_ASSERT_EQUAL(v.passphrase_id, pid);
	CU_ASSERT_EQUAL(passphrase_fetch(f.db, &f.enc, pid, a, &f.err), 0);
	CU_ASSERT_EQUAL(passphrase_fetch_for_volume(f.db, &f.enc, vol, b, &f.err), 0);
	CU_ASSERT_EQUAL(strlen(a), PASSPHRASE_LEN);
	CU_ASSERT_STRING_EQUAL(a, b);
	CU_ASSERT_EQUAL(passphrase_check_format(a, strlen(a), &f.err), 0);
	/* A volume that has a passphrase keeps it. */
	CU_ASSERT_EQUAL(passphrase_create_for_volume(f.db, &f.enc, vol, &again, &f.err), 0);
	CU_ASSERT_EQUAL(again, pid);
	CU_ASSERT_EQUAL(test_count(f.db, "SELECT COUNT(*) FROM passphrase WHERE id >= ?", 1), 1);
	/* Another volume gets another passphrase. */
	{
		int64_t pid2 = 0;
		volume_with_passphrase(&f, "data-2", &pid2);
		CU_ASSERT_NOT_EQUAL(pid2, pid);
		CU_ASSERT_EQUAL(passphrase_fetch(f.db, &f.enc, pid2, b, &f.err), 0);
		CU_ASSERT_STRING_NOT_EQUAL(a, b);
	}
	explicit_bzero(a, sizeof(a));
	explicit_bzero(b, sizeof(b));
	teardown(&f);
}

static void test_create_refused_without_volume(void)
{
	struct fixture f;
	int64_t pid = 7, vol;

	setup(&f, DB_ENCRYPTOR_V2);
	CU_ASSERT_EQUAL(passphrase_create_for_volume(f.db, &f.enc, 999, &pid, &f.err), -ENOENT);
	CU_ASSERT_EQUAL(pid, 0);
	/* A removed volume gets no new passphrase either, and nothing is left behind. */
	vol = test_volume(f.db, "gone", 1);
	CU_ASSERT_EQUAL(volume_remove(f.db, vol, &f.err), 0);
	CU_ASSERT_EQUAL(passphrase_create_for_volume(f.db, &f.enc, vol, &pid, &f.err), -ENOENT);
	CU_ASSERT_EQUAL(test_count(f.db, "SELECT COUNT(*) FROM passphrase WHERE id >= ?", 0), 0);
	teardown(&f);
}

static void test_stored_encrypted(void)
{
	struct fixture f;
	char plain[PASSPHRASE_BUF_LEN];
	int64_t pid = 0;
	char *raw;

	setup(&f, DB_ENCRYPTOR_V2);
	volume_with_passphrase(&f, "secret-vol", &pid);
	CU_ASSERT_EQUAL_FATAL(passphrase_fetch(f.db, &f.enc, pid, plain, &f.err), 0);
	raw = test_raw_text(f.db, RAW_PASSPHRASE_SQL, pid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
	CU_ASSERT_STRING_NOT_EQUAL(raw, plain);
	CU_ASSERT_PTR_NULL(strstr(raw, plain));
	/* Not even a 12-character piece of it. */
	for (size_t i = 0; i + 12 <= PASSPHRASE_LEN; i++) {
		char piece[13];
		memcpy(piece, plain + i, 12);
		piece[12] = '\0';
		CU_ASSERT_PTR_NULL(strstr(raw, piece));
	}
	/* It is a V2 value: 124 characters, and the encryptor reads it back. */
	CU_ASSERT_EQUAL(strlen(raw), 124);
	{
		struct vecs_secret dec;
		CU_ASSERT_EQUAL(db_decrypt(&f.enc, raw, &dec, &f.err), 0);
		CU_ASSERT(dec.len == PASSPHRASE_LEN && memcmp(dec.data, plain, PASSPHRASE_LEN) == 0);
		vecs_secret_release(&dec);
	}
	free(raw);
	explicit_bzero(plain, sizeof(plain));
	teardown(&f);
}

static void test_wrong_key_gives_error_not_garbage(void)
{
	struct fixture f;
	struct db_encryptor wrong;
	struct vecs_err err = { 0 };
	char out[PASSPHRASE_BUF_LEN];
	int64_t pid = 0;

	setup(&f, DB_ENCRYPTOR_V2);
	volume_with_passphrase(&f, "v", &pid);
	CU_ASSERT_EQUAL_FATAL(db_encryptor_init(&wrong, "another-key", 11, DB_ENCRYPTOR_UNSET, &err), 0);
	memset(out, 'X', sizeof(out));
	CU_ASSERT_EQUAL(passphrase_fetch(f.db, &wrong, pid, out, &err), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "authentication tag does not match"));
	for (size_t i = 0; i < sizeof(out); i++)
		CU_ASSERT_EQUAL(out[i], 0);
	db_encryptor_release(&wrong);
	teardown(&f);
}

/* A row that decrypts but is not a passphrase (a V1 value of something else, read
 * with an unset version) is refused by the format check. */
static void test_decrypted_value_is_validated(void)
{
	struct fixture f;
	struct db_stmt *st;
	char *value = NULL, out[PASSPHRASE_BUF_LEN];
	int64_t pid;

	setup(&f, DB_ENCRYPTOR_V1);
	CU_ASSERT_EQUAL_FATAL(db_encrypt(&f.enc, "not a passphrase", 16, &value, &f.err), 0);
	CU_ASSERT_EQUAL_FATAL(db_prepare(f.db, "INSERT INTO passphrase (passphrase) VALUES (?)", &st,
					 &f.err),
			      0);
	CU_ASSERT_EQUAL(db_bind_text(st, 1, value, &f.err), 0);
	CU_ASSERT_EQUAL(db_step(st, &f.err), DB_DONE);
	db_finalize(st);
	pid = db_last_insert_id(f.db);
	CU_ASSERT_EQUAL(passphrase_fetch(f.db, &f.enc, pid, out, &f.err), -EBADMSG);
	CU_ASSERT_PTR_NULL(strstr(f.err.msg, "not a passphrase"));
	CU_ASSERT_EQUAL(out[0], 0);
	CU_ASSERT_EQUAL(passphrase_fetch(f.db, &f.enc, pid + 1, out, &f.err), -ENOENT);
	free(value);
	teardown(&f);
}

/* Passphrases written under V1 stay readable after switching to no configured version
 * (tries V2, then V1), and new ones are written as V2. */
static void test_v1_rows_readable_after_upgrade(void)
{
	struct fixture f;
	struct db_encryptor unset;
	char a[PASSPHRASE_BUF_LEN], b[PASSPHRASE_BUF_LEN];
	int64_t old_pid = 0, new_pid = 0;
	char *raw_old, *raw_new;

	setup(&f, DB_ENCRYPTOR_V1);
	volume_with_passphrase(&f, "old", &old_pid);
	CU_ASSERT_EQUAL_FATAL(passphrase_fetch(f.db, &f.enc, old_pid, a, &f.err), 0);
	test_encryptor(&unset, DB_ENCRYPTOR_UNSET);
	CU_ASSERT_EQUAL(passphrase_fetch(f.db, &unset, old_pid, b, &f.err), 0);
	CU_ASSERT_STRING_EQUAL(a, b);
	{
		int64_t vol = test_volume(f.db, "new", 1);
		CU_ASSERT_EQUAL(passphrase_create_for_volume(f.db, &unset, vol, &new_pid, &f.err), 0);
	}
	raw_old = test_raw_text(f.db, RAW_PASSPHRASE_SQL, old_pid);
	raw_new = test_raw_text(f.db, RAW_PASSPHRASE_SQL, new_pid);
	CU_ASSERT_EQUAL(strlen(raw_old), 108); /* V1: 8 + 72 bytes */
	CU_ASSERT_EQUAL(strlen(raw_new), 124); /* V2: 12 + 64 + 16 bytes */
	free(raw_old);
	free(raw_new);
	explicit_bzero(a, sizeof(a));
	explicit_bzero(b, sizeof(b));
	db_encryptor_release(&unset);
	teardown(&f);
}

static void test_foreign_key_enforced(void)
{
	struct fixture f;
	struct volume_record v = { 0 }, base;
	int64_t pid = 0, vol;

	setup(&f, DB_ENCRYPTOR_V2);
	vol = volume_with_passphrase(&f, "fk", &pid);
	/* Deleting a referenced passphrase fails: no ON DELETE clause. */
	{
		struct db_stmt *st;
		CU_ASSERT_EQUAL_FATAL(db_prepare(f.db, "DELETE FROM passphrase WHERE id = ?", &st,
						 &f.err),
				      0);
		CU_ASSERT_EQUAL(db_bind_int64(st, 1, pid, &f.err), 0);
		CU_ASSERT_EQUAL(db_step(st, &f.err), -EPERM);
		CU_ASSERT_PTR_NOT_NULL(strstr(f.err.msg, "FOREIGN KEY"));
		db_finalize(st);
	}
	CU_ASSERT_EQUAL(test_count(f.db, PASSPHRASE_ROWS_SQL, pid), 1);
	/* A volume cannot point at a passphrase that does not exist. */
	CU_ASSERT_EQUAL_FATAL(volume_get(f.db, vol, &base, &f.err), 0);
	snprintf(v.volume_type, sizeof(v.volume_type), "ROOT");
	v.disk_offering_id = base.disk_offering_id;
	v.passphrase_id = pid + 100;
	CU_ASSERT_EQUAL(volume_insert(f.db, &v, &f.err), -EPERM);
	CU_ASSERT_EQUAL(test_count(f.db, "SELECT COUNT(*) FROM volumes WHERE passphrase_id = ?",
				   pid + 100),
			0);
	/* Nor be updated to one. */
	{
		struct db_stmt *st;
		CU_ASSERT_EQUAL_FATAL(db_prepare(f.db,
						 "UPDATE volumes SET passphrase_id = ? WHERE id = ?",
						 &st, &f.err),
				      0);
		CU_ASSERT_EQUAL(db_bind_int64(st, 1, pid + 100, &f.err), 0);
		CU_ASSERT_EQUAL(db_bind_int64(st, 2, vol, &f.err), 0);
		CU_ASSERT_EQUAL(db_step(st, &f.err), -EPERM);
		db_finalize(st);
	}
	teardown(&f);
}

static void test_release_removes_row_with_last_volume(void)
{
	struct fixture f;
	struct volume_record v;
	int64_t pid = 0, src, dst, third;
	int deleted = -1;

	setup(&f, DB_ENCRYPTOR_V2);
	src = volume_with_passphrase(&f, "src", &pid);
	dst = test_volume(f.db, "dst", 1);
	third = test_volume(f.db, "unencrypted", 0);
	CU_ASSERT_EQUAL(volume_set_encrypt_format(f.db, src, "luks", &f.err), 0);
	CU_ASSERT_EQUAL(passphrase_copy_reference(f.db, src, dst, &f.err), 0);
	CU_ASSERT_EQUAL(volume_get(f.db, dst, &v, &f.err), 0);
	CU_ASSERT_EQUAL(v.passphrase_id, pid);
	CU_ASSERT_STRING_EQUAL(v.encrypt_format, "luks");

	/* First of two references: the row stays. */
	CU_ASSERT_EQUAL(passphrase_release_for_volume(f.db, src, &deleted, &f.err), 0);
	CU_ASSERT_EQUAL(deleted, 0);
	CU_ASSERT_EQUAL(test_count(f.db, PASSPHRASE_ROWS_SQL, pid), 1);
	CU_ASSERT_EQUAL(volume_get(f.db, src, &v, &f.err), 0);
	CU_ASSERT_EQUAL(v.passphrase_id, 0);
	/* Releasing again is harmless. */
	CU_ASSERT_EQUAL(passphrase_release_for_volume(f.db, src, &deleted, &f.err), 0);
	CU_ASSERT_EQUAL(deleted, 0);
	CU_ASSERT_EQUAL(test_count(f.db, PASSPHRASE_ROWS_SQL, pid), 1);
	/* A volume that never had one. */
	CU_ASSERT_EQUAL(passphrase_release_for_volume(f.db, third, &deleted, &f.err), 0);
	CU_ASSERT_EQUAL(deleted, 0);
	/* The last reference: the row goes. */
	CU_ASSERT_EQUAL(passphrase_release_for_volume(f.db, dst, &deleted, &f.err), 0);
	CU_ASSERT_EQUAL(deleted, 1);
	CU_ASSERT_EQUAL(test_count(f.db, PASSPHRASE_ROWS_SQL, pid), 0);
	CU_ASSERT_EQUAL(passphrase_release_for_volume(f.db, 4242, &deleted, &f.err), -ENOENT);
	teardown(&f);
}

/* A removed (soft-deleted) volume still referencing the passphrase keeps it alive:
 * the foreign key counts every row. volume_remove releases as it removes. */
static void test_volume_remove_releases(void)
{
	struct fixture f;
	struct volume_record v;
	int64_t pid = 0, a, b;
	char out[PASSPHRASE_BUF_LEN];

	setup(&f, DB_ENCRYPTOR_V2);
	a = volume_with_passphrase(&f, "a", &pid);
	b = test_volume(f.db, "b", 1);
	CU_ASSERT_EQUAL(passphrase_copy_reference(f.db, a, b, &f.err), 0);
	CU_ASSERT_EQUAL(volume_remove(f.db, a, &f.err), 0);
	CU_ASSERT_EQUAL(volume_get(f.db, a, &v, &f.err), 0);
	CU_ASSERT(v.removed);
	CU_ASSERT_STRING_EQUAL(v.state, "Expunged");
	CU_ASSERT_EQUAL(v.passphrase_id, 0);
	CU_ASSERT_EQUAL(test_count(f.db, PASSPHRASE_ROWS_SQL, pid), 1);
	CU_ASSERT_EQUAL(passphrase_fetch_for_volume(f.db, &f.enc, b, out, &f.err), 0);
	CU_ASSERT_EQUAL(passphrase_fetch_for_volume(f.db, &f.enc, a, out, &f.err), -ENODATA);
	CU_ASSERT_EQUAL(volume_remove(f.db, b, &f.err), 0);
	CU_ASSERT_EQUAL(test_count(f.db, PASSPHRASE_ROWS_SQL, pid), 0);
	/* No orphan anywhere. */
	CU_ASSERT_EQUAL(test_count(f.db,
				   "SELECT COUNT(*) FROM passphrase WHERE id NOT IN"
				   " (SELECT passphrase_id FROM volumes WHERE passphrase_id IS NOT NULL)"
				   " AND id >= ?",
				   0),
			0);
	explicit_bzero(out, sizeof(out));
	teardown(&f);
}

static void test_copy_reference_refuses_overwrite(void)
{
	struct fixture f;
	struct volume_record v;
	int64_t p1 = 0, p2 = 0, a, b, plain;

	setup(&f, DB_ENCRYPTOR_V2);
	a = volume_with_passphrase(&f, "a", &p1);
	b = volume_with_passphrase(&f, "b", &p2);
	plain = test_volume(f.db, "plain", 0);
	CU_ASSERT_EQUAL(passphrase_copy_reference(f.db, a, b, &f.err), -EEXIST);
	CU_ASSERT_EQUAL(volume_get(f.db, b, &v, &f.err), 0);
	CU_ASSERT_EQUAL(v.passphrase_id, p2);
	/* Copying the same reference again is fine; copying "none" onto "none" too. */
	CU_ASSERT_EQUAL(passphrase_copy_reference(f.db, b, b, &f.err), 0);
	CU_ASSERT_EQUAL(passphrase_copy_reference(f.db, plain, plain, &f.err), 0);
	CU_ASSERT_EQUAL(passphrase_copy_reference(f.db, 999, a, &f.err), -ENOENT);
	CU_ASSERT_EQUAL(passphrase_copy_reference(f.db, a, 999, &f.err), -ENOENT);
	teardown(&f);
}

static void test_sql_significant_strings_are_data(void)
{
	static const char *const names[] = {
		"'; DROP TABLE volumes; --",
		"O'Brien's \"disk\"",
		"x' OR '1'='1",
		"back\\slash; DELETE FROM passphrase",
		"%_* ?",
	};
	struct fixture f;

	setup(&f, DB_ENCRYPTOR_V2);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct volume_record v;
		int64_t pid = 0, vol = volume_with_passphrase(&f, names[i], &pid);

		CU_ASSERT_EQUAL(volume_get(f.db, vol, &v, &f.err), 0);
		CU_ASSERT_STRING_EQUAL(v.name, names[i]);
		/* As a bound value of an UPDATE, then read back through a WHERE. */
		CU_ASSERT_EQUAL(volume_set_encrypt_format(f.db, vol, names[i], &f.err), 0);
		CU_ASSERT_EQUAL(volume_get_by_uuid(f.db, v.uuid, &v, &f.err), 0);
		CU_ASSERT_STRING_EQUAL(v.encrypt_format, names[i]);
		CU_ASSERT_EQUAL(v.passphrase_id, pid);
	}
	/* A uuid lookup with an injection attempt finds nothing rather than everything. */
	{
		struct volume_record v;
		CU_ASSERT_EQUAL(volume_get_by_uuid(f.db, "x' OR '1'='1", &v, &f.err), -ENOENT);
	}
	/* Everything is still there. */
	CU_ASSERT_EQUAL(test_count(f.db, "SELECT COUNT(*) FROM volumes WHERE id >= ?", 0), 5);
	CU_ASSERT_EQUAL(test_count(f.db, "SELECT COUNT(*) FROM passphrase WHERE id >= ?", 0), 5);
	teardown(&f);
}

static CU_TestInfo tests[] = {
	{ "generated: 64 base64 characters of 48 bytes, all differ", test_generated_format },
	{ "format check rejects near misses", test_check_format_rejects },
	{ "create for a volume, fetch, keep existing", test_create_and_fetch },
	{ "create refused for missing or removed volume", test_create_refused_without_volume },
	{ "stored encrypted: raw column never shows the plaintext", test_stored_encrypted },
	{ "wrong key: error and zeroed buffer, not garbage", test_wrong_key_gives_error_not_garbage },
	{ "decrypted value validated as a passphrase", test_decrypted_value_is_validated },
	{ "V1 rows readable after upgrade, new rows V2", test_v1_rows_readable_after_upgrade },
	{ "foreign key: referenced delete and dangling id refused", test_foreign_key_enforced },
	{ "release removes the row with the last volume", test_release_removes_row_with_last_volume },
	{ "volume_remove releases, no orphans", test_volume_remove_releases },
	{ "copy reference refuses to orphan", test_copy_reference_refuses_overwrite },
	{ "SQL-significant strings stored as data", test_sql_significant_strings_are_data },
	CU_TEST_INFO_NULL,
};

REF_SUITE(passphrase, "db_passphrase", tests)
