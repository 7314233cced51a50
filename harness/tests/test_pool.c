/* The worker pool (engine/pool.h) with in-test cells: results come back in cell order
 * with their reasons and evidence, whatever the number of workers; a worker that dies
 * mid-cell fails that cell only; a worker whose setup fails leaves its share to the
 * others; when no worker can start, every cell fails with the reason. */
#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/pool.h"
#include "engine/runner.h"
#include "tests/test_registry.h"

#define N_CELLS 7

static const char *const ids[N_CELLS] = { "c0", "c1", "c2", "c3", "c4", "c5", "c6" };

struct script {
	int kill_cell;           /* the worker running this cell dies (-1: none) */
	int fail_setup_worker;   /* this worker's setup fails (-1: none; -2: all) */
};

static int setup(void *ctx, unsigned w, void **state, struct vecs_err *err)
{
	struct script *s = ctx;

	if (s->fail_setup_worker == -2 || s->fail_setup_worker == (int)w)
		return vecs_err_set(err, -EIO, "no sandbox for worker %u", w + 1);
	*state = (void *)(uintptr_t)(w + 1);
	return 0;
}

static void run_cell(void *ctx, void *state, size_t i, struct vecs_cell_result *r)
{
	struct script *s = ctx;
	char **ev = calloc(2, sizeof(*ev));

	if ((int)i == s->kill_cell)
		raise(SIGKILL);
	memset(r, 0, sizeof(*r));
	r->id = ids[i];
	r->status = i % 3 == 0 ? VECS_CELL_PASS : i % 3 == 1 ? VECS_CELL_FAIL : VECS_CELL_SKIP;
	if (r->status != VECS_CELL_PASS && asprintf((char **)&r->reason, "reason %zu", i) < 0)
		r->reason = NULL;
	r->steps_ms = 10 * i;
	r->api_ms = i;
	if (ev && asprintf(&ev[0], "evidence-%zu", i) >= 0 && asprintf(&ev[1], "w%lu", (unsigned long)(uintptr_t)state) >= 0) {
		r->evidence = (const char *const *)ev;
		r->n_evidence = 2;
	}
	usleep(1000 * (unsigned)(N_CELLS - i)); /* later cells finish first */
}

static void teardown(void *ctx, unsigned w, void *state)
{
}

static void describe(void *ctx, size_t i, struct vecs_cell_result *r)
{
	r->id = ids[i];
}

static const char *cell_id(void *ctx, size_t i)
{
	return ids[i];
}

static const struct vecs_pool_ops ops = { setup, run_cell, teardown, describe, cell_id };

static void check_normal_cell(const struct vecs_cell_result *r, size_t i)
{
	char want[32];

	CU_ASSERT_STRING_EQUAL(r->id, ids[i]);
	CU_ASSERT_EQUAL(r->status, i % 3 == 0 ? VECS_CELL_PASS : i % 3 == 1 ? VECS_CELL_FAIL : VECS_CELL_SKIP);
	CU_ASSERT_EQUAL(r->steps_ms, 10 * i);
	CU_ASSERT_EQUAL(r->api_ms, i);
	if (i % 3) {
		snprintf(want, sizeof(want), "reason %zu", i);
		CU_ASSERT_STRING_EQUAL(r->reason ? r->reason : "", want);
	} else {
		CU_ASSERT_PTR_NULL(r->reason);
	}
	CU_ASSERT_EQUAL_FATAL(r->n_evidence, 2);
	snprintf(want, sizeof(want), "evidence-%zu", i);
	CU_ASSERT_STRING_EQUAL(r->evidence[0], want);
}

static void run_pool(unsigned jobs, struct script *s, struct vecs_cell_result *res, int *ready,
		     struct vecs_err *err)
{
	struct vecs_progress p;

	vecs_progress_init(&p, NULL, false, N_CELLS, jobs, NULL);
	*ready = vecs_pool_run(N_CELLS, jobs, &ops, s, res, &p, err);
	CU_ASSERT_EQUAL(p.done, *ready > 0 ? N_CELLS : 0);
}

static void test_results_in_cell_order(void)
{
	for (unsigned jobs = 1; jobs <= 3; jobs++) {
		struct script s = { .kill_cell = -1, .fail_setup_worker = -1 };
		struct vecs_cell_result res[N_CELLS];
		struct vecs_err err = { 0 };
		bool used[4] = { false };
		int ready;

		run_pool(jobs, &s, res, &ready, &err);
		CU_ASSERT_EQUAL(ready, (int)jobs);
		for (size_t i = 0; i < N_CELLS; i++) {
			check_normal_cell(&res[i], i);
			if (res[i].n_evidence == 2 && res[i].evidence[1][1] >= '1' && res[i].evidence[1][1] <= '3')
				used[res[i].evidence[1][1] - '0'] = true;
			vecs_cell_result_free(&res[i]);
		}
		/* every worker took cells */
		for (unsigned w = 1; w <= jobs; w++)
			CU_ASSERT(used[w]);
	}
}

static void test_dead_worker_fails_its_cell_only(void)
{
	struct script s = { .kill_cell = 2, .fail_setup_worker = -1 };
	struct vecs_cell_result res[N_CELLS];
	struct vecs_err err = { 0 };
	int ready;

	run_pool(2, &s, res, &ready, &err);
	for (size_t i = 0; i < N_CELLS; i++) {
		if (i == 2) {
			CU_ASSERT_STRING_EQUAL(res[i].id, "c2");
			CU_ASSERT_EQUAL(res[i].status, VECS_CELL_FAIL);
			CU_ASSERT_PTR_NOT_NULL(strstr(res[i].reason ? res[i].reason : "", "died (signal 9)"));
		} else {
			check_normal_cell(&res[i], i);
		}
		vecs_cell_result_free(&res[i]);
	}
}

static void test_failed_setup(void)
{
	struct script s = { .kill_cell = -1, .fail_setup_worker = 0 };
	struct vecs_cell_result res[N_CELLS];
	struct vecs_err err = { 0 };
	int ready;

	/* one of two workers cannot start: the other runs every cell */
	run_pool(2, &s, res, &ready, &err);
	CU_ASSERT_EQUAL(ready, 1);
	for (size_t i = 0; i < N_CELLS; i++) {
		check_normal_cell(&res[i], i);
		vecs_cell_result_free(&res[i]);
	}
	/* none can: nothing ran, every cell says why */
	s.fail_setup_worker = -2;
	run_pool(2, &s, res, &ready, &err);
	CU_ASSERT_EQUAL(ready, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no sandbox for worker"));
	for (size_t i = 0; i < N_CELLS; i++) {
		CU_ASSERT_EQUAL(res[i].status, VECS_CELL_FAIL);
		CU_ASSERT_PTR_NOT_NULL(strstr(res[i].reason ? res[i].reason : "", "no sandbox for worker"));
		vecs_cell_result_free(&res[i]);
	}
}

static CU_TestInfo tests[] = {
	{ "results in cell order for 1, 2 and 3 workers", test_results_in_cell_order },
	{ "a worker that dies fails its cell only", test_dead_worker_fails_its_cell_only },
	{ "failed setups: the others run, or every cell says why", test_failed_setup },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(pool, "pool", tests)
