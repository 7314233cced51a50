/* The run's progress display (engine/progress.h) with a fake clock: the status line's
 * counts, running cells, elapsed time and estimate, the plain lines for a log, and the
 * periodic summary at most every 30 s. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/progress.h"
#include "tests/test_registry.h"

static double fake_now;

static double fake_clock(void)
{
	return fake_now;
}

static struct vecs_cell_result cell(const char *id, enum vecs_cell_status st, const char *reason)
{
	struct vecs_cell_result r = { .id = id, .status = st, .reason = reason };
	return r;
}

/* Everything written to a memory stream, as a string the test frees. */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static void cap_open(struct capture *c)
{
	memset(c, 0, sizeof(*c));
	c->f = open_memstream(&c->buf, &c->len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->f);
}

static void cap_close(struct capture *c)
{
	fclose(c->f);
	free(c->buf);
}

static void test_duration(void)
{
	char b[16];

	vecs_progress_duration(0, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "0s");
	vecs_progress_duration(59.4, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "59s");
	vecs_progress_duration(245, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "4m05s");
	vecs_progress_duration(3720, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "1h02m");
	vecs_progress_duration(-3, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "0s");
}

/* 10 cells on 2 jobs: after 2 cells of 10 s each, 8 are left, 2 at a time: 40 s. */
static void test_status_line_and_estimate(void)
{
	struct vecs_progress p;
	struct vecs_cell_result r;
	char line[512];

	fake_now = 100;
	vecs_progress_init(&p, NULL, true, 10, 2, fake_clock);
	vecs_progress_format(&p, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "0/10 done, 0 passed, 0 failed, 0 skipped, 0s elapsed, ~? left");
	vecs_progress_start(&p, 0, "resize-volume/nfs/cloudstack-4.18");
	vecs_progress_start(&p, 1, "download-volume/smp/cloudstack-4.18");
	vecs_progress_format(&p, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "0/10 done, 0 passed, 0 failed, 0 skipped, 0s elapsed, ~? left; "
				     "running 2: resize-volume/nfs/cloudstack-4.18 "
				     "download-volume/smp/cloudstack-4.18");
	fake_now = 110;
	r = cell("resize-volume/nfs/cloudstack-4.18", VECS_CELL_PASS, NULL);
	vecs_progress_done(&p, 0, &r);
	r = cell("download-volume/smp/cloudstack-4.18", VECS_CELL_SKIP, "no pool");
	vecs_progress_done(&p, 1, &r);
	vecs_progress_start(&p, 1, "migrate-volume/local/cloudstack-4.18");
	vecs_progress_format(&p, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "2/10 done, 1 passed, 0 failed, 1 skipped, 10s elapsed, ~40s left; "
				     "running 1: migrate-volume/local/cloudstack-4.18");
	/* the line is cut to the buffer, never overrun */
	vecs_progress_format(&p, line, 20);
	CU_ASSERT_EQUAL(strlen(line), 19);
	CU_ASSERT_NSTRING_EQUAL(line, "2/10 done, 1 passed", 19);
}

/* With fewer cells left than jobs, the estimate divides by the cells left. */
static void test_estimate_near_the_end(void)
{
	struct vecs_progress p;
	struct vecs_cell_result r = cell("a", VECS_CELL_FAIL, "x");
	char line[256];

	fake_now = 0;
	vecs_progress_init(&p, NULL, false, 2, 4, fake_clock);
	vecs_progress_start(&p, 0, "a");
	fake_now = 30;
	vecs_progress_done(&p, 0, &r);
	vecs_progress_format(&p, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "1/2 done, 0 passed, 1 failed, 0 skipped, 30s elapsed, ~30s left");
}

/* Not a terminal: one line per cell as "[k/N] status id: reason", and a summary line
 * only after 30 s have passed since the last one. */
static void test_plain_lines_and_summary(void)
{
	struct vecs_progress p;
	struct vecs_cell_result r;
	struct capture c;

	cap_open(&c);
	fake_now = 0;
	vecs_progress_init(&p, c.f, false, 3, 1, fake_clock);
	vecs_progress_start(&p, 0, "a/nfs/p");
	fake_now = 5;
	r = cell("a/nfs/p", VECS_CELL_PASS, NULL);
	vecs_progress_done(&p, 0, &r);
	vecs_progress_tick(&p); /* 5 s: no summary yet */
	vecs_progress_start(&p, 0, "b/nfs/p");
	fake_now = 31;
	vecs_progress_tick(&p); /* 31 s: one summary */
	fake_now = 40;
	vecs_progress_tick(&p); /* 9 s after it: none */
	r = cell("b/nfs/p", VECS_CELL_FAIL, "step x: refused");
	vecs_progress_done(&p, 0, &r);
	vecs_progress_finish(&p);
	fflush(c.f);
	CU_ASSERT_STRING_EQUAL(c.buf, "[1/3] pass a/nfs/p\n"
				      "vecs run: 1/3 done, 1 passed, 0 failed, 0 skipped, 31s elapsed, "
				      "~10s left; running 1: b/nfs/p\n"
				      "[2/3] fail b/nfs/p: step x: refused\n");
	CU_ASSERT_PTR_NULL(strchr(c.buf, '\r'));
	cap_close(&c);
}

/* A terminal: the status line is redrawn in place (\r, erase), a failed cell gets its
 * own line, a passed one does not, and after the last cell the line is erased. */
static void test_tty_redraws_in_place(void)
{
	struct vecs_progress p;
	struct vecs_cell_result r;
	struct capture c;

	cap_open(&c);
	fake_now = 0;
	vecs_progress_init(&p, c.f, true, 2, 1, fake_clock);
	p.width = 200;
	vecs_progress_start(&p, 0, "a/nfs/p");
	r = cell("a/nfs/p", VECS_CELL_PASS, NULL);
	vecs_progress_done(&p, 0, &r);
	vecs_progress_start(&p, 0, "b/nfs/p");
	r = cell("b/nfs/p", VECS_CELL_FAIL, "broken");
	vecs_progress_done(&p, 0, &r);
	vecs_progress_finish(&p);
	fflush(c.f);
	CU_ASSERT_PTR_NULL(strstr(c.buf, "[1/2] pass"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.buf, "\r\033[K[2/2] fail b/nfs/p: broken\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.buf, "\r\033[K0/2 done"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.buf, "\r\033[K1/2 done, 1 passed, 0 failed"));
	/* after the last cell the line is gone, not redrawn */
	CU_ASSERT_PTR_NULL(strstr(c.buf, "2/2 done"));
	CU_ASSERT(c.len >= 7 && !strcmp(c.buf + c.len - 7, "broken\n"));
	cap_close(&c);
}

static CU_TestInfo tests[] = {
	{ "durations", test_duration },
	{ "status line: counts, running cells, estimate", test_status_line_and_estimate },
	{ "estimate with fewer cells left than jobs", test_estimate_near_the_end },
	{ "not a tty: plain lines, summary at most every 30 s", test_plain_lines_and_summary },
	{ "tty: redrawn in place, failures on their own line", test_tty_redraws_in_place },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(progress, "progress", tests)
