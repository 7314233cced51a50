/* The key file: permissions, the properties syntax, and the encryptor built from it. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "db/db_encryptor.h"
#include "db/properties.h"
#include "test_helpers.h"
#include "test_registry.h"

#define FILE_SECRET "s3cr3t-from-file"

static const char *key_path(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", ref_test_tmpdir(), name);
	return path;
}

static void test_mode_0600_loads(void)
{
	const char *path = key_path("ok.properties");
	struct db_encryptor e;
	struct vecs_err err = { 0 };

	test_write_file(path,
			"# CloudStack database key\n" DB_PROP_SECRET "=" FILE_SECRET "\n" DB_PROP_VERSION
			"=V2\n",
			0600);
	CU_ASSERT_EQUAL_FATAL(db_encryptor_load(&e, path, &err), 0);
	CU_ASSERT_EQUAL(e.version, DB_ENCRYPTOR_V2);
	CU_ASSERT_EQUAL(e.secret.len, strlen(FILE_SECRET));
	CU_ASSERT(memcmp(e.secret.data, FILE_SECRET, e.secret.len) == 0);
	db_encryptor_release(&e);
	/* Read-only for the owner is fine too. */
	test_write_file(path, DB_PROP_SECRET "=" FILE_SECRET "\n", 0400);
	CU_ASSERT_EQUAL(db_encryptor_load(&e, path, &err), 0);
	CU_ASSERT_EQUAL(e.version, DB_ENCRYPTOR_UNSET);
	db_encryptor_release(&e);
}

static void test_group_or_world_access_refused(void)
{
	static const unsigned modes[] = { 0644, 0640, 0604, 0620, 0602, 0610, 0601, 0666 };
	const char *path = key_path("open.properties");

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct db_encryptor e;
		struct vecs_err err = { 0 };
		char mode[8];

		test_write_file(path, DB_PROP_SECRET "=" FILE_SECRET "\n", modes[i]);
		CU_ASSERT_EQUAL(db_encryptor_load(&e, path, &err), -EACCES);
		CU_ASSERT_PTR_NULL(e.secret.data);
		snprintf(mode, sizeof(mode), "%04o", modes[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, mode));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "chmod 600"));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
		CU_ASSERT_PTR_NULL(strstr(err.msg, FILE_SECRET));
	}
}

static void test_missing_or_bad_entries(void)
{
	const char *path = key_path("bad.properties");
	struct db_encryptor e;
	struct vecs_err err = { 0 };

	test_write_file(path, DB_PROP_VERSION "=V2\n", 0600);
	CU_ASSERT_EQUAL(db_encryptor_load(&e, path, &err), -ENOKEY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, DB_PROP_SECRET));

	test_write_file(path, DB_PROP_SECRET "=" FILE_SECRET "\n" DB_PROP_VERSION "=V9\n", 0600);
	CU_ASSERT_EQUAL(db_encryptor_load(&e, path, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "V1 or V2"));
	CU_ASSERT_PTR_NULL(strstr(err.msg, FILE_SECRET));

	test_write_file(path, DB_PROP_SECRET "=\n", 0600);
	CU_ASSERT_EQUAL(db_encryptor_load(&e, path, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "empty"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));

	CU_ASSERT_EQUAL(db_encryptor_load(&e, key_path("absent.properties"), &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "absent.properties"));
	CU_ASSERT_EQUAL(db_encryptor_load(&e, ref_test_tmpdir(), &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a regular file"));
}

static void parse(struct properties *p, const char *text)
{
	struct vecs_err err = { 0 };

	CU_ASSERT_EQUAL_FATAL(properties_parse(p, text, strlen(text), "test", &err), 0);
}

static void test_syntax(void)
{
	struct properties p;

	parse(&p, "# comment\n"
		  "! also a comment = not=an entry\n"
		  "\n"
		  "   \t\n"
		  "a=1\n"
		  "  b : two words  \n"
		  "c three\r\n"
		  "d=first\n"
		  "d=second\n"
		  "e=\n"
		  "f\n"
		  "g=x=y:z\n"
		  "key\\=with\\:seps=v\n"
		  "tab=\\tT\\nN\\\\\n"
		  "long=one, \\\n"
		  "      two\n"
		  "last=no newline");
	CU_ASSERT_EQUAL(p.n, 11);
	CU_ASSERT_STRING_EQUAL(properties_get(&p, "a"), "1");
	CU_ASSERT_STRING_EQUAL(properties_get(&p, "b"), "two words  "); /* trailing kept */
	CU_ASSERT_STRING_EQUAL(properties_get(&p, "c"), "three");
	CU_ASSERT_STRING_EQUAL(properties_get(&p, "d"), "second");
	CU_ASSERT_STRING_EQUAL(properties_get(&p, "e"), "");
	CU_ASSERT_STRING_EQUAL(properties_get(&p, "f"), "");
	CU_ASSERT_STRING_EQUAL(properties_get(&p, "g"), "x=y:z");
	CU_ASSERT_STRING_EQUAL(properties_get(&p, "key=with:seps"), "v");
	CU_ASSERT_STRING_EQUAL(properties_get(&p, "tab"), "\tT\nN\\");
	CU_ASSERT_STRING_EQUAL(properties_get(&p, "long"), "one, two");
	CU_ASSERT_STRING_EQUAL(properties_get(&p, "last"), "no newline");
	CU_ASSERT_PTR_NULL(properties_get(&p, "!"));
	CU_ASSERT_PTR_NULL(properties_get(&p, "#"));
	CU_ASSERT_PTR_NULL(properties_get(&p, "absent"));
	properties_release(&p);
	CU_ASSERT_PTR_NULL(p.arena.data);
}

static void test_unicode_escape_refused(void)
{
	static const char text[] = "a=1\n" DB_PROP_SECRET "=abc\\u0041\n";
	struct properties p;
	struct vecs_err err = { 0 };

	CU_ASSERT_EQUAL(properties_parse(&p, text, strlen(text), "keyfile", &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "keyfile line 2"));
	CU_ASSERT_PTR_NULL(strstr(err.msg, "abc"));
	CU_ASSERT_PTR_NULL(p.arena.data);
}

/* Many duplicate keys without separators: the worst case for the arena size. */
static void test_many_short_lines(void)
{
	static char text[4096];
	struct properties p;
	size_t n = 0;

	while (n + 2 < sizeof(text)) {
		text[n++] = 'k';
		text[n++] = '\n';
	}
	text[n] = '\0';
	parse(&p, text);
	CU_ASSERT_EQUAL(p.n, 1);
	CU_ASSERT_STRING_EQUAL(properties_get(&p, "k"), "");
	properties_release(&p);
}

static CU_TestInfo tests[] = {
	{ "key file with mode 0600 or 0400 loads", test_mode_0600_loads },
	{ "group- or world-accessible key file refused", test_group_or_world_access_refused },
	{ "missing secret, bad version, empty secret", test_missing_or_bad_entries },
	{ "java.util.Properties syntax", test_syntax },
	{ "\\u escapes refused without showing the value", test_unicode_escape_refused },
	{ "many duplicate short lines", test_many_short_lines },
	CU_TEST_INFO_NULL,
};

REF_SUITE(properties, "db_properties", tests)
