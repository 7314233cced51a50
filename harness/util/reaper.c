#include "util/reaper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/loop.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/proc.h"
#include "util/spawn.h"

enum outcome { REMOVED, GONE, FAILED };

#define STOP_GRACE_MS 3000
#define TOOL_TIMEOUT_MS 15000

static void say(FILE *log, const char *verb, const struct vecs_ledger_rec *r)
{
	if (log)
		fprintf(log, "reap: %s %s %s%s%s\n", verb, vecs_obj_name(r->kind), r->a,
			r->b[0] ? " " : "", r->b);
}

/* --- processes -------------------------------------------------------------------- */

static enum outcome reap_process(const struct vecs_ledger_rec *r, struct vecs_err *err)
{
	char *e1, *e2;
	long pid = strtol(r->a, &e1, 10);
	uint64_t st = strtoull(r->b, &e2, 10);
	bool ours;
	int rc;

	if (*e1 || *e2 || pid <= 0) {
		vecs_err_set(err, -EINVAL, "ledger process record '%s %s' is malformed", r->a, r->b);
		return FAILED;
	}
	rc = vecs_proc_stop((pid_t)pid, st, STOP_GRACE_MS, &ours);
	if (rc < 0) {
		vecs_err_set(err, rc, "cannot stop process %ld (%s): %s", pid, r->c, strerror(-rc));
		return FAILED;
	}
	return ours ? REMOVED : GONE;
}

/* --- network namespaces ----------------------------------------------------------- */

static int netns_path(const char *name, char *path, size_t len)
{
	/* Only names this tool makes: no paths, the run id prefix. */
	if (strncmp(name, "vecs-", 5) != 0 || strchr(name, '/') || strlen(name) > 64)
		return -EINVAL;
	snprintf(path, len, "/run/netns/%s", name);
	return 0;
}

/* Stop every process whose network namespace is the one at nspath (dev, ino). Those
 * were all started by the run (e.g. QEMU by the run's libvirtd), and the namespace is
 * the run's, so this is identity, not a guess by name. */
static int stop_ns_members(dev_t dev, ino_t ino, unsigned *stopped)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int r = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char p[64], *e;
		long pid = strtol(de->d_name, &e, 10);
		struct stat st;
		uint64_t start;
		bool ours;

		if (*e || pid <= 1 || pid == getpid())
			continue;
		snprintf(p, sizeof(p), "/proc/%ld/ns/net", pid);
		if (stat(p, &st) < 0 || st.st_dev != dev || st.st_ino != ino)
			continue;
		if (vecs_proc_starttime((pid_t)pid, &start) < 0)
			continue;
		int rc = vecs_proc_stop((pid_t)pid, start, STOP_GRACE_MS, &ours);
		if (rc < 0 && !r)
			r = rc;
		if (ours)
			(*stopped)++;
	}
	closedir(d);
	return r;
}

static enum outcome reap_netns(const struct vecs_ledger_rec *r, FILE *log,
			       struct vecs_err *err)
{
	const char *argv[] = { "ip", "netns", "delete", r->a, NULL };
	struct vecs_spawn_opts o = { .timeout_ms = TOOL_TIMEOUT_MS };
	char path[128], ebuf[512];
	unsigned stopped = 0;
	struct stat st;
	int rc, status;

	if (netns_path(r->a, path, sizeof(path)) < 0) {
		vecs_err_set(err, -EINVAL, "refusing to delete netns '%s': not a vecs name", r->a);
		return FAILED;
	}
	if (stat(path, &st) < 0)
		return GONE;
	rc = stop_ns_members(st.st_dev, st.st_ino, &stopped);
	if (log && stopped)
		fprintf(log, "reap: stopped %u process(es) left in netns %s\n", stopped, r->a);
	if (rc < 0) {
		vecs_err_set(err, rc, "cannot stop the processes in netns %s: %s", r->a,
			     strerror(-rc));
		return FAILED;
	}
	o.errbuf = ebuf;
	o.err_cap = sizeof(ebuf);
	rc = vecs_spawn_run(argv, &o, &status, err);
	if (rc < 0 || status != 0) {
		if (access(path, F_OK) != 0)
			return GONE;
		if (rc == 0)
			vecs_err_set(err, -EIO, "ip netns delete %s failed: %s", r->a, ebuf);
		return FAILED;
	}
	return REMOVED;
}

static enum outcome reap_link(const struct vecs_ledger_rec *r, struct vecs_err *err)
{
	const char *argv[] = { "ip", "-n", r->b, "link", "delete", r->a, NULL };
	struct vecs_spawn_opts o = { .timeout_ms = TOOL_TIMEOUT_MS };
	char path[128];
	int status;

	/* Links are only ever made inside the run's namespaces, never in the root one. */
	if (netns_path(r->b, path, sizeof(path)) < 0) {
		vecs_err_set(err, -EINVAL, "refusing to delete link %s outside a vecs netns",
			     r->a);
		return FAILED;
	}
	if (access(path, F_OK) != 0)
		return GONE;
	if (vecs_spawn_run(argv, &o, &status, NULL) < 0 || status != 0)
		return GONE; /* absent already (deleted with its peer or its namespace) */
	return REMOVED;
}

/* --- mounts ----------------------------------------------------------------------- */

static enum outcome umount_here(const char *path, struct vecs_err *err)
{
	if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		return REMOVED;
	if (errno == EINVAL || errno == ENOENT)
		return GONE;
	vecs_err_set(err, -errno, "cannot unmount %s: %s", path, strerror(errno));
	return FAILED;
}

static enum outcome reap_mount(const struct vecs_ledger_rec *r, struct vecs_err *err)
{
	unsigned long long start;
	char nspath[64];
	int pid, status;
	pid_t child;

	if (!r->b[0])
		return umount_here(r->a, err);
	if (sscanf(r->b, "%d:%llu", &pid, &start) != 2) {
		vecs_err_set(err, -EINVAL, "ledger mount record of %s names no namespace owner",
			     r->a);
		return FAILED;
	}
	/* The namespace dies with its last process: nothing to undo once it is gone. */
	if (!vecs_proc_alive(pid, start))
		return GONE;
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/mnt", pid);
	child = fork();
	if (child < 0) {
		vecs_err_set(err, -errno, "cannot fork to unmount %s: %s", r->a, strerror(errno));
		return FAILED;
	}
	if (child == 0) {
		int fd = open(nspath, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNS) < 0)
			_exit(3);
		if (umount2(r->a, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			_exit(0);
		_exit(errno == EINVAL || errno == ENOENT ? 1 : 2);
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return REMOVED;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		return GONE;
	if (!vecs_proc_alive(pid, start))
		return GONE;
	vecs_err_set(err, -EIO, "cannot unmount %s in the mount namespace of process %d", r->a,
		     pid);
	return FAILED;
}

/* --- loop devices ----------------------------------------------------------------- */

static enum outcome reap_loop(const struct vecs_ledger_rec *r, struct vecs_err *err)
{
	char sys[128], backing[PATH_MAX];
	const char *dev = r->a;
	ssize_t n;
	int fd;

	if (strncmp(dev, "/dev/loop", 9) != 0 || strchr(dev + 9, '/')) {
		vecs_err_set(err, -EINVAL, "ledger loop record '%s' is not a loop device", dev);
		return FAILED;
	}
	snprintf(sys, sizeof(sys), "/sys/block/%s/loop/backing_file", dev + 5);
	fd = open(sys, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return GONE; /* not attached */
	n = read(fd, backing, sizeof(backing) - 1);
	close(fd);
	if (n <= 0)
		return GONE;
	backing[n] = '\0';
	backing[strcspn(backing, "\n")] = '\0';
	/* Attached to something else now: the device number was reused, not ours. */
	if (strcmp(backing, r->b) != 0) {
		size_t bl = strlen(r->b);
		if (strncmp(backing, r->b, bl) != 0 || strcmp(backing + bl, " (deleted)") != 0)
			return GONE;
	}
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, LOOP_CLR_FD, 0) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		vecs_err_set(err, -e, "cannot detach %s (%s): %s", dev, r->b, strerror(e));
		return FAILED;
	}
	close(fd);
	return REMOVED;
}

/* --- libvirt ---------------------------------------------------------------------- */

/* virsh -c URI VERB NAME; a missing object or an unreachable daemon is "gone": an
 * ephemeral secret or transient domain does not outlive its libvirtd, and the
 * processes of a dead libvirtd are reaped through their namespace. */
static enum outcome virsh_remove(const char *uri, const char *verb, const char *name,
				 struct vecs_err *err)
{
	const char *argv[] = { "virsh", "-q", "-c", uri, verb, name, NULL };
	struct vecs_spawn_opts o = { .timeout_ms = TOOL_TIMEOUT_MS };
	char ebuf[512];
	int status;

	o.errbuf = ebuf;
	o.err_cap = sizeof(ebuf);
	if (vecs_spawn_run(argv, &o, &status, err) < 0)
		return FAILED;
	if (status == 0)
		return REMOVED;
	/* virsh's wording for "no such object" (a transient domain vanishes on destroy)
	 * and for "no daemon" */
	if (strstr(ebuf, "not found") || strstr(ebuf, "failed to get domain") ||
	    strstr(ebuf, "failed to get secret") || strstr(ebuf, "ailed to connect") ||
	    strstr(ebuf, "not running"))
		return GONE;
	vecs_err_set(err, -EIO, "virsh %s %s on %s failed: %s", verb, name, uri, ebuf);
	return FAILED;
}

static enum outcome reap_domain(const struct vecs_ledger_rec *r, struct vecs_err *err)
{
	enum outcome a = virsh_remove(r->a, "destroy", r->b, err);
	enum outcome b;

	if (a == FAILED)
		return FAILED;
	/* Transient domains vanish on destroy; persistent ones need undefine too. */
	b = virsh_remove(r->a, "undefine", r->b, err);
	if (b == FAILED)
		return FAILED;
	return a == REMOVED || b == REMOVED ? REMOVED : GONE;
}

/* --- files and directories -------------------------------------------------------- */

/* True when a mount point lies at or below dir (in our mount namespace). */
static bool has_mount_below(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], mp[PATH_MAX];
	size_t len = strlen(dir);
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* field 5 is the mount point (octal escapes for spaces do not matter for a
		 * prefix test on our own, space-free paths) */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		if (strncmp(mp, dir, len) == 0 && (mp[len] == '\0' || mp[len] == '/'))
			found = true;
	}
	fclose(f);
	return found;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static enum outcome reap_dir(const struct vecs_ledger_rec *r, struct vecs_err *err)
{
	char real[PATH_MAX];
	struct stat st;

	if (lstat(r->a, &st) < 0)
		return GONE;
	if (!S_ISDIR(st.st_mode)) {
		vecs_err_set(err, -ENOTDIR, "ledger dir %s is no longer a directory; left alone",
			     r->a);
		return FAILED;
	}
	if (!realpath(r->a, real) || strcmp(real, "/") == 0) {
		vecs_err_set(err, -EINVAL, "refusing to remove directory %s", r->a);
		return FAILED;
	}
	/* A bind mount of the same file system is invisible to FTW_MOUNT: look at the
	 * mount table, and never delete through a mount. */
	if (has_mount_below(real)) {
		vecs_err_set(err, -EBUSY, "directory %s still has a mount inside; not removed",
			     r->a);
		return FAILED;
	}
	if (nftw(real, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0) {
		vecs_err_set(err, -errno, "cannot remove directory %s: %s", r->a, strerror(errno));
		return FAILED;
	}
	return REMOVED;
}

static enum outcome reap_file(const struct vecs_ledger_rec *r, struct vecs_err *err)
{
	if (unlink(r->a) == 0)
		return REMOVED;
	if (errno == ENOENT)
		return GONE;
	vecs_err_set(err, -errno, "cannot remove %s: %s", r->a, strerror(errno));
	return FAILED;
}

/* --- driver ----------------------------------------------------------------------- */

static enum outcome reap_one(const struct vecs_ledger_rec *r, FILE *log, struct vecs_err *err)
{
	switch (r->kind) {
	case VECS_OBJ_PROCESS:
		return reap_process(r, err);
	case VECS_OBJ_NETNS:
		return reap_netns(r, log, err);
	case VECS_OBJ_LINK:
		return reap_link(r, err);
	case VECS_OBJ_MOUNT:
		return reap_mount(r, err);
	case VECS_OBJ_LOOP:
		return reap_loop(r, err);
	case VECS_OBJ_DOMAIN:
		return reap_domain(r, err);
	case VECS_OBJ_SECRET:
		return virsh_remove(r->a, "secret-undefine", r->b, err);
	case VECS_OBJ_FILE:
		return reap_file(r, err);
	case VECS_OBJ_DIR:
		return reap_dir(r, err);
	default:
		return GONE; /* run records and the like: nothing to remove */
	}
}

int vecs_reap_ledger(const char *path, FILE *log, struct vecs_reap_stats *stats,
		     struct vecs_err *err)
{
	return vecs_reap_ledger_since(path, 0, log, stats, err);
}

static bool want_since(const struct vecs_ledger_rec *rec, void *arg)
{
	return rec->id >= *(const uint64_t *)arg;
}

int vecs_reap_ledger_since(const char *path, uint64_t since, FILE *log,
			   struct vecs_reap_stats *stats, struct vecs_err *err)
{
	return vecs_reap_ledger_select(path, want_since, &since, log, stats, err);
}

int vecs_reap_ledger_select(const char *path,
			    bool (*want)(const struct vecs_ledger_rec *rec, void *arg), void *arg,
			    FILE *log, struct vecs_reap_stats *stats, struct vecs_err *err)
{
	struct vecs_reap_stats local = { 0 };
	struct vecs_ledger_list list;
	struct vecs_ledger *l = NULL;
	int r, first = 0;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	r = vecs_ledger_read(path, &list, err);
	if (r < 0)
		return r;
	/* Tombstones are best effort: a read-only ledger is still reaped. */
	(void)vecs_ledger_open(&l, path, NULL);
	for (size_t i = list.n; i-- > 0;) {
		struct vecs_ledger_rec *rec = &list.recs[i];
		struct vecs_err e = { 0 };
		enum outcome o;

		if (rec->done || rec->kind == VECS_OBJ_RUN || !want(rec, arg))
			continue;
		o = reap_one(rec, log, &e);
		if (o == FAILED) {
			stats->failed++;
			if (log)
				fprintf(log, "reap: FAILED %s\n", e.msg);
			if (!first) {
				first = e.code ? e.code : -EIO;
				vecs_err_set(err, first, "%s", e.msg);
			}
			continue;
		}
		if (o == REMOVED) {
			stats->removed++;
			say(log, "removed", rec);
		} else {
			stats->gone++;
		}
		if (l)
			(void)vecs_ledger_done(l, rec->id, NULL);
	}
	vecs_ledger_close(l);
	vecs_ledger_list_free(&list);
	return first;
}

bool vecs_ledger_owner_alive(const struct vecs_ledger_list *list)
{
	return list->owner_pid > 0 && vecs_proc_alive(list->owner_pid, list->owner_start);
}

int vecs_reap_dead_runs(const char *dir, FILE *log, unsigned *reaped, struct vecs_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int first = 0;

	*reaped = 0;
	if (!d)
		return vecs_err_set(err, -errno, "cannot open ledger directory %s: %s", dir,
				    strerror(errno));
	while ((de = readdir(d))) {
		struct vecs_ledger_list list;
		struct vecs_err e = { 0 };
		size_t len = strlen(de->d_name);
		char path[PATH_MAX];
		bool alive;
		int r;

		if (len <= 7 || strcmp(de->d_name + len - 7, ".ledger") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (vecs_ledger_read(path, &list, &e) < 0)
			continue;
		alive = vecs_ledger_owner_alive(&list);
		vecs_ledger_list_free(&list);
		if (alive)
			continue;
		if (log)
			fprintf(log, "reap: run of %s is dead; reaping it\n", path);
		r = vecs_reap_ledger(path, log, NULL, &e);
		if (r == 0) {
			unlink(path);
			(*reaped)++;
		} else if (!first) {
			first = vecs_err_set(err, r, "%s", e.msg);
		}
	}
	closedir(d);
	return first;
}
