/* CUnit registry of the reference implementation's tests, the same pattern as
 * harness/tests/test_registry.h (kept separate: the reference implementation does not
 * include harness test code). Each test file declares its suite with REF_SUITE;
 * test_main.c runs them all, or those whose name contains argv[1]. */
#ifndef VECS_REF_TESTS_REGISTRY_H
#define VECS_REF_TESTS_REGISTRY_H

#include <CUnit/CUnit.h>

struct ref_suite {
	const char *name;
	CU_InitializeFunc init;
	CU_CleanupFunc cleanup;
	CU_TestInfo *tests;
};

void ref_suite_add(const struct ref_suite *s);

#define REF_SUITE_FULL(ident, sname, sinit, sclean, stests)                            \
	static const struct ref_suite ref_suite_##ident = { sname, sinit, sclean, stests }; \
	__attribute__((constructor)) static void ref_suite_ctor_##ident(void)             \
	{                                                                                   \
		ref_suite_add(&ref_suite_##ident);                                          \
	}

#define REF_SUITE(ident, sname, stests) REF_SUITE_FULL(ident, sname, NULL, NULL, stests)

/* A fresh temporary directory for this test process, removed at exit. */
const char *ref_test_tmpdir(void);

#endif
