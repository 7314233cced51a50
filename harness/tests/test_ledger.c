/* The resource ledger and the reaper (util/ledger.h, util/reaper.h): round trip, torn
 * records, processes stopped by pid and start time only, files and directories,
 * idempotence, dead runs, selective reaping. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test_registry.h"
#include "util/ledger.h"
#include "util/proc.h"
#include "util/reaper.h"
#include "util/spawn.h"

static void tpath(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", vecs_test_tmpdir(), name);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static struct vecs_ledger *fresh(const char *name, char *path, size_t len)
{
	struct vecs_ledger *l = NULL;

	tpath(path, len, name);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(vecs_ledger_open(&l, path, NULL), 0);
	return l;
}

static void test_run_id(void)
{
	char a[VECS_RUN_ID_LEN], b[VECS_RUN_ID_LEN];

	CU_ASSERT_EQUAL(vecs_run_id_new(a), 0);
	CU_ASSERT_EQUAL(vecs_run_id_new(b), 0);
	CU_ASSERT_EQUAL(strlen(a), 13);
	CU_ASSERT_EQUAL(strncmp(a, "vecs-", 5), 0);
	CU_ASSERT_EQUAL(strspn(a + 5, "0123456789abcdef"), 8);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

static void test_round_trip(void)
{
	const char *odd = "/tmp/a b\tc\nd%e\x7f" "f";
	struct vecs_ledger_list list;
	uint64_t id_file, id_dir, id_proc;
	struct vecs_ledger *l;
	char path[PATH_MAX];
	struct stat st;

	l = fresh("round.ledger", path, sizeof(path));
	CU_ASSERT_EQUAL(vecs_ledger_append(l, VECS_OBJ_RUN, "vecs-0badf00d", "123", "456", NULL,
					   NULL), 0);
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_FILE, odd, &id_file, NULL), 0);
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_DIR, "/tmp/d", &id_dir, NULL), 0);
	CU_ASSERT_EQUAL(vecs_ledger_add_process(l, 42, 99, "libvirtd h1", &id_proc, NULL), 0);
	CU_ASSERT_EQUAL(vecs_ledger_append(l, VECS_OBJ_SECRET, "qemu+unix:///system?socket=/x",
					   "6b1e-uuid", NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(vecs_ledger_done(l, id_dir, NULL), 0);
	CU_ASSERT(id_file < id_dir && id_dir < id_proc);
	vecs_ledger_close(l);

	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL_FATAL(vecs_ledger_read(path, &list, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(list.n, 5);
	CU_ASSERT_EQUAL(list.skipped, 0);
	CU_ASSERT_STRING_EQUAL(list.run_id, "vecs-0badf00d");
	CU_ASSERT_EQUAL(list.owner_pid, 123);
	CU_ASSERT_EQUAL(list.owner_start, 456);
	CU_ASSERT_EQUAL(list.recs[1].kind, VECS_OBJ_FILE);
	CU_ASSERT_STRING_EQUAL(list.recs[1].a, odd);
	CU_ASSERT_EQUAL(list.recs[1].id, id_file);
	CU_ASSERT_FALSE(list.recs[1].done);
	CU_ASSERT_TRUE(list.recs[2].done);
	CU_ASSERT_EQUAL(list.recs[3].kind, VECS_OBJ_PROCESS);
	CU_ASSERT_STRING_EQUAL(list.recs[3].a, "42");
	CU_ASSERT_STRING_EQUAL(list.recs[3].b, "99");
	CU_ASSERT_STRING_EQUAL(list.recs[3].c, "libvirtd h1");
	CU_ASSERT_EQUAL(list.recs[4].kind, VECS_OBJ_SECRET);
	CU_ASSERT_STRING_EQUAL(list.recs[4].b, "6b1e-uuid");
	CU_ASSERT_STRING_EQUAL(list.recs[4].c, "");
	vecs_ledger_list_free(&list);
}

/* A writer killed in the middle of a record leaves a line without newline (or end
 * mark); readers skip it and the next writer does not glue onto it. */
static void test_torn_record(void)
{
	struct vecs_ledger_list list;
	struct vecs_ledger *l;
	char path[PATH_MAX];
	int fd;

	l = fresh("torn.ledger", path, sizeof(path));
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_FILE, "/tmp/one", NULL, NULL), 0);
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_FILE, "/tmp/two", NULL, NULL), 0);
	fd = open(path, O_WRONLY | O_APPEND);
	CU_ASSERT_FATAL(fd >= 0);
	/* the prefix of a record that would name a different, shorter path */
	CU_ASSERT_EQUAL(write(fd, "file\t/tmp/tw", 12), 12);
	close(fd);

	CU_ASSERT_EQUAL_FATAL(vecs_ledger_read(path, &list, NULL), 0);
	CU_ASSERT_EQUAL(list.n, 2);
	CU_ASSERT_EQUAL(list.skipped, 1);
	vecs_ledger_list_free(&list);

	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_FILE, "/tmp/three", NULL, NULL), 0);
	vecs_ledger_close(l);
	CU_ASSERT_EQUAL_FATAL(vecs_ledger_read(path, &list, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(list.n, 3);
	CU_ASSERT_EQUAL(list.skipped, 1); /* the torn line, now ended, still skipped */
	CU_ASSERT_STRING_EQUAL(list.recs[2].a, "/tmp/three");
	vecs_ledger_list_free(&list);

	/* a whole line without the end mark, and an unknown kind: skipped too */
	fd = open(path, O_WRONLY | O_APPEND);
	CU_ASSERT_EQUAL(write(fd, "file\t/tmp/x\t\t\n", 14), 14);
	CU_ASSERT_EQUAL(write(fd, "bogus\t/tmp/x\t\t\t.\n", 17), 17);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(vecs_ledger_read(path, &list, NULL), 0);
	CU_ASSERT_EQUAL(list.n, 3);
	CU_ASSERT_EQUAL(list.skipped, 3);
	vecs_ledger_list_free(&list);
}

static pid_t start_sleep(uint64_t *start)
{
	const char *argv[] = { "sleep", "60", NULL };
	pid_t pid = 0;

	CU_ASSERT_EQUAL(vecs_spawn_start(argv, NULL, NULL, NULL, &pid, start, NULL), 0);
	return pid;
}

static void test_reap_process(void)
{
	struct vecs_reap_stats st;
	struct vecs_ledger *l;
	char path[PATH_MAX];
	uint64_t start;
	pid_t pid;

	pid = start_sleep(&start);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_TRUE(vecs_proc_alive(pid, start));
	l = fresh("proc.ledger", path, sizeof(path));
	CU_ASSERT_EQUAL(vecs_ledger_add_process(l, pid, start, "sleep", NULL, NULL), 0);
	vecs_ledger_close(l);

	CU_ASSERT_EQUAL(vecs_reap_ledger(path, NULL, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.removed, 1);
	CU_ASSERT_EQUAL(st.failed, 0);
	CU_ASSERT_FALSE(vecs_proc_alive(pid, start));
	CU_ASSERT_EQUAL(kill(pid, 0), -1); /* reaped, not a zombie */

	/* again: the done record makes it a no-op */
	CU_ASSERT_EQUAL(vecs_reap_ledger(path, NULL, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.removed + st.gone + st.failed, 0);
}

/* The recorded pid now belongs to another process (a different start time): the
 * reaper must leave it alone. */
static void test_reap_refuses_reused_pid(void)
{
	struct vecs_reap_stats st;
	struct vecs_ledger *l;
	char path[PATH_MAX];
	uint64_t start;
	bool ours = true;
	pid_t pid;

	pid = start_sleep(&start);
	CU_ASSERT_FATAL(pid > 0);
	l = fresh("reuse.ledger", path, sizeof(path));
	CU_ASSERT_EQUAL(vecs_ledger_add_process(l, pid, start - 1, "sleep", NULL, NULL), 0);
	CU_ASSERT_EQUAL(vecs_ledger_add_process(l, pid, start + 1, "sleep", NULL, NULL), 0);
	vecs_ledger_close(l);

	CU_ASSERT_EQUAL(vecs_reap_ledger(path, NULL, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.removed, 0);
	CU_ASSERT_EQUAL(st.gone, 2);
	usleep(50000);
	CU_ASSERT_TRUE(vecs_proc_alive(pid, start));

	CU_ASSERT_EQUAL(vecs_proc_stop(pid, start + 7, 100, &ours), 0);
	CU_ASSERT_FALSE(ours);
	CU_ASSERT_TRUE(vecs_proc_alive(pid, start));
	CU_ASSERT_EQUAL(vecs_proc_stop(pid, start, 1000, &ours), 0);
	CU_ASSERT_TRUE(ours);
	CU_ASSERT_FALSE(vecs_proc_alive(pid, start));
}

static void test_reap_files_dirs(void)
{
	char path[PATH_MAX], dir[PATH_MAX], sub[PATH_MAX + 8], f1[PATH_MAX], f2[PATH_MAX + 16];
	struct vecs_reap_stats st;
	struct vecs_ledger *l;

	tpath(dir, sizeof(dir), "reapdir");
	tpath(f1, sizeof(f1), "reapfile");
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	snprintf(f2, sizeof(f2), "%s/inner", sub);
	l = fresh("files.ledger", path, sizeof(path));
	/* intents first, as writers do */
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_DIR, dir, NULL, NULL), 0);
	CU_ASSERT_EQUAL(mkdir(dir, 0700), 0);
	snprintf(f2, sizeof(f2), "%s/a", dir);
	CU_ASSERT_EQUAL(mkdir(f2, 0700), 0);
	CU_ASSERT_EQUAL(mkdir(sub, 0700), 0);
	snprintf(f2, sizeof(f2), "%s/inner", sub);
	write_file(f2, "x");
	snprintf(f2, sizeof(f2), "%s/link", dir);
	CU_ASSERT_EQUAL(symlink("/etc/passwd", f2), 0);
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_FILE, f1, NULL, NULL), 0);
	write_file(f1, "y");
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_FILE, "/nonexistent/vecs-never", NULL,
					     NULL), 0);
	vecs_ledger_close(l);

	CU_ASSERT_EQUAL(vecs_reap_ledger(path, NULL, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.removed, 2);
	CU_ASSERT_EQUAL(st.gone, 1);
	CU_ASSERT_EQUAL(access(dir, F_OK), -1);
	CU_ASSERT_EQUAL(access(f1, F_OK), -1);
	CU_ASSERT_EQUAL(access("/etc/passwd", F_OK), 0); /* symlinks are not followed */

	/* idempotent, also with the tombstones lost: a copy without "done" lines */
	l = fresh("files2.ledger", path, sizeof(path));
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_DIR, dir, NULL, NULL), 0);
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_FILE, f1, NULL, NULL), 0);
	vecs_ledger_close(l);
	CU_ASSERT_EQUAL(vecs_reap_ledger(path, NULL, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.removed, 0);
	CU_ASSERT_EQUAL(st.gone, 2);
}

/* Never delete through a mount: a directory with a mount inside is refused until the
 * mount (recorded after it, so reaped first) is gone. */
static void test_reap_dir_with_mount(void)
{
	char path[PATH_MAX], dir[PATH_MAX], mnt[PATH_MAX + 8], keep[PATH_MAX + 16];
	struct vecs_reap_stats st;
	struct vecs_ledger *l;

	if (geteuid() != 0)
		return; /* mounting needs root; CI runs as root */
	tpath(dir, sizeof(dir), "mntdir");
	snprintf(mnt, sizeof(mnt), "%s/m", dir);
	snprintf(keep, sizeof(keep), "%s/keep", mnt);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(mnt, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(mount("tmpfs", mnt, "tmpfs", 0, "size=1m"), 0);
	write_file(keep, "k");

	l = fresh("mnt.ledger", path, sizeof(path));
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_DIR, dir, NULL, NULL), 0);
	vecs_ledger_close(l);
	CU_ASSERT_NOT_EQUAL(vecs_reap_ledger(path, NULL, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.failed, 1);
	CU_ASSERT_EQUAL(access(keep, F_OK), 0);

	l = fresh("mnt.ledger", path, sizeof(path));
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_DIR, dir, NULL, NULL), 0);
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_MOUNT, mnt, NULL, NULL), 0);
	vecs_ledger_close(l);
	CU_ASSERT_EQUAL(vecs_reap_ledger(path, NULL, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.removed, 2);
	CU_ASSERT_EQUAL(access(dir, F_OK), -1);
}

static void write_run_ledger(const char *path, pid_t owner, uint64_t start, const char *file)
{
	struct vecs_ledger *l = NULL;
	char p[24], s[24];

	snprintf(p, sizeof(p), "%d", (int)owner);
	snprintf(s, sizeof(s), "%llu", (unsigned long long)start);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(vecs_ledger_open(&l, path, NULL), 0);
	CU_ASSERT_EQUAL(vecs_ledger_append(l, VECS_OBJ_RUN, "vecs-00000001", p, s, NULL, NULL), 0);
	CU_ASSERT_EQUAL(vecs_ledger_add_path(l, VECS_OBJ_FILE, file, NULL, NULL), 0);
	vecs_ledger_close(l);
	write_file(file, "z");
}

static void test_reap_dead_runs(void)
{
	char dir[PATH_MAX], live[PATH_MAX + 32], dead[PATH_MAX + 32], lf[PATH_MAX + 32],
		df[PATH_MAX + 32];
	uint64_t my_start, dead_start;
	unsigned reaped = 0;
	pid_t child;

	tpath(dir, sizeof(dir), "runs");
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	snprintf(live, sizeof(live), "%s/vecs-live.ledger", dir);
	snprintf(dead, sizeof(dead), "%s/vecs-dead.ledger", dir);
	snprintf(lf, sizeof(lf), "%s/live-file", dir);
	snprintf(df, sizeof(df), "%s/dead-file", dir);

	CU_ASSERT_EQUAL_FATAL(vecs_proc_starttime(getpid(), &my_start), 0);
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	CU_ASSERT_EQUAL_FATAL(vecs_proc_starttime(child, &dead_start), 0);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	write_run_ledger(live, getpid(), my_start, lf);
	write_run_ledger(dead, child, dead_start, df);
	CU_ASSERT_EQUAL(vecs_reap_dead_runs(dir, NULL, &reaped, NULL), 0);
	CU_ASSERT_EQUAL(reaped, 1);
	CU_ASSERT_EQUAL(access(df, F_OK), -1);
	CU_ASSERT_EQUAL(access(dead, F_OK), -1);
	CU_ASSERT_EQUAL(access(lf, F_OK), 0);
	CU_ASSERT_EQUAL(access(live, F_OK), 0);
}

static bool tagged_nfs(const struct vecs_ledger_rec *rec, void *arg)
{
	(void)arg;
	return strcmp(rec->c, "nfs") == 0;
}

/* One part of a run (say, the NFS server among the hosts) removes its own records
 * only; the rest of the ledger is untouched and reaped later as usual. */
static void test_reap_select(void)
{
	char path[PATH_MAX], mine[PATH_MAX], other[PATH_MAX];
	struct vecs_reap_stats st;
	struct vecs_ledger *l;

	tpath(mine, sizeof(mine), "select-mine");
	tpath(other, sizeof(other), "select-other");
	l = fresh("select.ledger", path, sizeof(path));
	CU_ASSERT_EQUAL(vecs_ledger_append(l, VECS_OBJ_FILE, other, NULL, NULL, NULL, NULL), 0);
	write_file(other, "o");
	CU_ASSERT_EQUAL(vecs_ledger_append(l, VECS_OBJ_FILE, mine, NULL, "nfs", NULL, NULL), 0);
	write_file(mine, "m");
	vecs_ledger_close(l);

	CU_ASSERT_EQUAL(vecs_reap_ledger_select(path, tagged_nfs, NULL, NULL, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.removed, 1);
	CU_ASSERT_EQUAL(access(mine, F_OK), -1);
	CU_ASSERT_EQUAL(access(other, F_OK), 0);
	/* marked done: a second selective reap and the full one see it as removed */
	CU_ASSERT_EQUAL(vecs_reap_ledger_select(path, tagged_nfs, NULL, NULL, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.removed + st.gone, 0);
	CU_ASSERT_EQUAL(vecs_reap_ledger(path, NULL, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.removed, 1);
	CU_ASSERT_EQUAL(access(other, F_OK), -1);
}

static CU_TestInfo tests[] = {
	{ "run id", test_run_id },
	{ "round trip", test_round_trip },
	{ "torn record", test_torn_record },
	{ "reap process", test_reap_process },
	{ "reap refuses a reused pid", test_reap_refuses_reused_pid },
	{ "reap files and dirs, idempotent", test_reap_files_dirs },
	{ "reap dir with a mount inside", test_reap_dir_with_mount },
	{ "reap dead runs only", test_reap_dead_runs },
	{ "reap selected records only", test_reap_select },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(ledger, "ledger", tests)
