/* The reference implementation's CUnit tests use the one test runner of the tree
 * (harness/tests/test_main.c and test_registry.h: generic plumbing, no oracle code);
 * these names keep the reference tests readable on their own. */
#ifndef VECS_REF_TESTS_REGISTRY_H
#define VECS_REF_TESTS_REGISTRY_H

#include "tests/test_registry.h"

#define REF_SUITE_FULL VECS_SUITE_FULL
#define REF_SUITE VECS_SUITE
#define ref_test_tmpdir vecs_test_tmpdir

#endif
