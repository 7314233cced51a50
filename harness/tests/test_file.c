/* util/file: whole-or-nothing writes. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/test_registry.h"
#include "util/file.h"

static void test_write_replace_mode(void)
{
	char path[4096], tmp[4200], buf[64] = "";
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/atomic.txt", vecs_test_tmpdir());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CU_ASSERT_EQUAL(vecs_write_file_atomic(path, "first\n", 6, 0600, NULL), 0);
	CU_ASSERT_EQUAL(vecs_write_file_atomic(path, "second\n", 7, 0600, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(st.st_size, 7);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "second\n");
	CU_ASSERT_NOT_EQUAL(access(tmp, F_OK), 0); /* no temporary left behind */
}

static void test_refuses_symlinked_tmp_and_missing_dir(void)
{
	char path[4096], tmp[4200], target[4200];
	struct vecs_err err = { 0 };

	snprintf(path, sizeof(path), "%s/linked.txt", vecs_test_tmpdir());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(target, sizeof(target), "%s/elsewhere", vecs_test_tmpdir());
	CU_ASSERT_EQUAL_FATAL(symlink(target, tmp), 0);
	CU_ASSERT_EQUAL(vecs_write_file_atomic(path, "x", 1, 0600, &err), -ELOOP);
	CU_ASSERT_NOT_EQUAL(access(target, F_OK), 0); /* nothing written through the link */
	CU_ASSERT(strstr(err.msg, "linked.txt.tmp") != NULL);
	unlink(tmp);
	CU_ASSERT_EQUAL(vecs_write_file_atomic("/nonexistent-dir/x", "x", 1, 0600, &err), -ENOENT);
}

static CU_TestInfo tests[] = {
	{ "write, replace, mode, no temporary left", test_write_replace_mode },
	{ "symlinked temporary and missing directory refused", test_refuses_symlinked_tmp_and_missing_dir },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(file, "util file", tests)
