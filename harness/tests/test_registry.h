/* Each CUnit test file declares its suite with VECS_SUITE; test_main.c runs them all
 * (or those whose name contains argv[1]). No central list to edit. */
#ifndef VECS_TESTS_REGISTRY_H
#define VECS_TESTS_REGISTRY_H

#include <CUnit/CUnit.h>

struct vecs_suite {
	const char *name;
	CU_InitializeFunc init;
	CU_CleanupFunc cleanup;
	CU_TestInfo *tests;
};

void vecs_suite_add(const struct vecs_suite *s);

#define VECS_SUITE_FULL(ident, sname, sinit, sclean, stests)                          \
	static const struct vecs_suite vecs_suite_##ident = { sname, sinit, sclean, stests }; \
	__attribute__((constructor)) static void vecs_suite_ctor_##ident(void)              \
	{                                                                                     \
		vecs_suite_add(&vecs_suite_##ident);                                          \
	}

#define VECS_SUITE(ident, sname, stests) VECS_SUITE_FULL(ident, sname, NULL, NULL, stests)

/* Directory of the shared fixtures (../shared/fixtures by default, VECS_SHARED_FIXTURES
 * to override); NULL when absent, so tests that need them can say so. */
const char *vecs_test_shared_fixtures(void);
/* A fresh temporary directory for this test process, removed at exit. */
const char *vecs_test_tmpdir(void);

#endif
