#define _XOPEN_SOURCE 700
#include <CUnit/Basic.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/test_registry.h"

#define MAX_SUITES 64

static const struct vecs_suite *suites[MAX_SUITES];
static int n_suites;
static char tmpdir[PATH_MAX];

void vecs_suite_add(const struct vecs_suite *s)
{
	if (n_suites < MAX_SUITES)
		suites[n_suites++] = s;
	else
		fprintf(stderr, "%s: more than %d suites; raise MAX_SUITES\n",
			program_invocation_short_name, MAX_SUITES);
}

const char *vecs_test_shared_fixtures(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("VECS_SHARED_FIXTURES");
	struct stat st;

	snprintf(path, sizeof(path), "%s", env ? env : "../shared/fixtures");
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return path;
	return NULL;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "%s: could not remove %s\n", program_invocation_short_name, path);
	return 0;
}

static void remove_tmpdir(void)
{
	if (tmpdir[0])
		nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *vecs_test_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(tmpdir, sizeof(tmpdir), "%s/%s.XXXXXX", base ? base : "/tmp",
			 program_invocation_short_name);
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
		atexit(remove_tmpdir);
	}
	return tmpdir;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (int i = 0; i < n_suites; i++) {
		CU_pSuite s;
		if (filter && !strstr(suites[i]->name, filter))
			continue;
		s = CU_add_suite(suites[i]->name, suites[i]->init, suites[i]->cleanup);
		if (!s)
			return 2;
		for (CU_TestInfo *t = suites[i]->tests; t->pName; t++)
			if (!CU_add_test(s, t->pName, t->pTestFunc))
				return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		   CU_get_number_of_suites_failed();
	if (CU_get_number_of_tests_run() == 0) {
		fprintf(stderr, "%s: no test ran (filter '%s')\n", program_invocation_short_name,
			filter ? filter : "");
		failures = 1;
	}
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
