/* The spawn helper (util/spawn.h) and process identity (util/proc.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/test_registry.h"
#include "util/proc.h"
#include "util/spawn.h"

static void test_exit_status(void)
{
	const char *t[] = { "true", NULL }, *f[] = { "false", NULL };
	int status = 99;

	CU_ASSERT_EQUAL(vecs_spawn_run(t, NULL, &status, NULL), 0);
	CU_ASSERT_EQUAL(status, 0);
	CU_ASSERT_EQUAL(vecs_spawn_run(f, NULL, &status, NULL), 0);
	CU_ASSERT_EQUAL(status, 1);
}

static void test_capture(void)
{
	/* sh only as the program under test here, to produce both streams */
	const char *argv[] = { "sh", "-c", "echo out; i=0; while [ $i -lt 200 ]; do "
				"echo line$i >&2; i=$((i+1)); done; exit 3", NULL };
	char out[64], err[64];
	struct vecs_spawn_opts o = { .out = out, .out_cap = sizeof(out), .errbuf = err,
				     .err_cap = sizeof(err) };
	int status;

	CU_ASSERT_EQUAL(vecs_spawn_run(argv, &o, &status, NULL), 0);
	CU_ASSERT_EQUAL(status, 3);
	CU_ASSERT_STRING_EQUAL(out, "out\n");
	/* the tail of stderr, not its head */
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line199\n"));
	CU_ASSERT_PTR_NULL(strstr(err, "line0\n"));
	CU_ASSERT(strlen(err) < sizeof(err));
}

static void test_env_extra(void)
{
	const char *argv[] = { "env", NULL };
	const char *env[] = { "VECS_SPAWN_TEST=yes", "HOME=/vecs-home", NULL };
	char out[65536];
	struct vecs_spawn_opts o = { .env_extra = env, .out = out, .out_cap = sizeof(out) };
	int status;

	CU_ASSERT_EQUAL(vecs_spawn_run(argv, &o, &status, NULL), 0);
	CU_ASSERT_EQUAL(status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "VECS_SPAWN_TEST=yes\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "HOME=/vecs-home\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "PATH="));
}

static void test_timeout(void)
{
	const char *argv[] = { "sleep", "10", NULL };
	struct vecs_spawn_opts o = { .timeout_ms = 200 };
	struct vecs_err err = { 0 };
	struct timespec a, b;
	int status = 0;

	clock_gettime(CLOCK_MONOTONIC, &a);
	CU_ASSERT_EQUAL(vecs_spawn_run(argv, &o, &status, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	CU_ASSERT_EQUAL(status, -1);
	CU_ASSERT_EQUAL(err.code, -ETIMEDOUT);
	CU_ASSERT(b.tv_sec - a.tv_sec < 3);
}

static void test_missing_program(void)
{
	const char *argv[] = { "vecs-no-such-program", NULL };
	struct vecs_err err = { 0 };
	int status;

	CU_ASSERT_EQUAL(vecs_spawn_run(argv, NULL, &status, &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "vecs-no-such-program"));
}

static int refuse(pid_t pid, uint64_t start, void *arg)
{
	*(pid_t *)arg = pid;
	return -EPERM;
}

/* A process whose recording fails never runs the program. */
static void test_start_refused(void)
{
	const char *argv[] = { "sleep", "60", NULL };
	pid_t seen = 0, pid = 0;
	uint64_t start = 0;

	CU_ASSERT_EQUAL(vecs_spawn_start(argv, NULL, refuse, &seen, &pid, &start, NULL), -EPERM);
	CU_ASSERT(seen > 0);
	CU_ASSERT_EQUAL(pid, 0);
	CU_ASSERT_EQUAL(kill(seen, 0), -1); /* exited and reaped */
}

static void test_proc_identity(void)
{
	uint64_t s1 = 0, s2 = 0;

	CU_ASSERT_EQUAL(vecs_proc_starttime(getpid(), &s1), 0);
	CU_ASSERT_EQUAL(vecs_proc_starttime(getpid(), &s2), 0);
	CU_ASSERT(s1 > 0);
	CU_ASSERT_EQUAL(s1, s2);
	CU_ASSERT_TRUE(vecs_proc_alive(getpid(), s1));
	CU_ASSERT_FALSE(vecs_proc_alive(getpid(), s1 + 1));
	CU_ASSERT_EQUAL(vecs_proc_starttime(0, &s1), -EINVAL);
}

static CU_TestInfo tests[] = {
	{ "exit status", test_exit_status },
	{ "stdout head, stderr tail", test_capture },
	{ "extra environment", test_env_extra },
	{ "timeout kills", test_timeout },
	{ "missing program", test_missing_program },
	{ "start refused before exec", test_start_refused },
	{ "process identity", test_proc_identity },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(spawn, "spawn", tests)
