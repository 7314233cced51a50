#include "storage/nfs_server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/file.h"
#include "util/json_writer.h"
#include "util/proc.h"
#include "util/reaper.h"
#include "util/spawn.h"

#define GANESHA "/usr/bin/ganesha.nfsd"
#define GANESHA_VFS "/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so"
#define RPCBIND "/usr/sbin/rpcbind"
#define NFS_LS "/usr/bin/nfs-ls"
#define RPCBIND_TIMEOUT_MS 5000
#define READY_TIMEOUT_MS 20000
#define PROBE_TIMEOUT_MS 5000

int vecs_nfs_check_env(char *msg, size_t len)
{
	msg[0] = '\0';
	if (geteuid() != 0) {
		snprintf(msg, len, "the NFS server needs root (namespaces, mounts, nfs-ganesha)");
		return -EPERM;
	}
	if (access(GANESHA, X_OK) != 0 || access(GANESHA_VFS, F_OK) != 0 ||
	    access(RPCBIND, X_OK) != 0 || access(NFS_LS, X_OK) != 0) {
		snprintf(msg, len,
			 "nfs-ganesha, its VFS FSAL, rpcbind or nfs-ls is missing: run "
			 "ci/install-deps (nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils)");
		return -ENOENT;
	}
	return 0;
}

/* --- small helpers ---------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int make_dir(const char *path, mode_t mode, struct vecs_err *err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return vecs_err_set(err, -errno, "cannot create directory %s: %s", path,
				    strerror(errno));
	/* not subject to the umask: the export must be searchable by the server */
	if (chmod(path, mode) < 0)
		return vecs_err_set(err, -errno, "cannot chmod directory %s: %s", path,
				    strerror(errno));
	return 0;
}

static int write_text(const char *path, const char *text, struct vecs_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t n = strlen(text);

	if (fd < 0 || write(fd, text, n) != (ssize_t)n) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return vecs_err_set(err, -e, "cannot write %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

/* The last few lines of a log, for an error message. */
static void log_tail(const char *path, char *out, size_t len)
{
	char buf[4096];
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size;
	char *p;

	out[0] = '\0';
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > 0) {
		off_t from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
		n = pread(fd, buf, sizeof(buf) - 1, from);
	}
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = buf + n;
	for (int lines = 0; p > buf && lines < 8; p--)
		if (p[-1] == '\n' && p != buf + n)
			lines++;
	snprintf(out, len, "%s", p);
}

/* An export path clients will type: "/" then [A-Za-z0-9._-] components, no "..". */
static bool valid_export(const char *p)
{
	size_t n = strlen(p);

	if (n < 2 || n > VECS_NFS_EXPORT_MAX || p[0] != '/' || p[n - 1] == '/' ||
	    strstr(p, "//") || strstr(p, "/.") )
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(p[i] >= 'a' && p[i] <= 'z') && !(p[i] >= 'A' && p[i] <= 'Z') &&
		    !(p[i] >= '0' && p[i] <= '9') && !strchr("._-/", p[i]))
			return false;
	return true;
}

/* Records of the NFS server: third field "nfs" or "nfs: what". */
static bool is_nfs_record(const struct vecs_ledger_rec *rec, void *arg)
{
	const uint64_t *since = arg;
	size_t n = strlen(VECS_NFS_LEDGER_TAG);

	if (since && rec->id < *since)
		return false;
	return strncmp(rec->c, VECS_NFS_LEDGER_TAG, n) == 0 &&
	       (rec->c[n] == '\0' || rec->c[n] == ':');
}

/* --- the run the server joins ----------------------------------------------------- */

/* The run of dir: its ledger must exist with a live owner, and its stack netns. The
 * server's objects join that ledger, so `vecs-host down` and a dead owner's reaping
 * remove them with the rest of the run. */
static int join_run(const char *dir, struct vecs_nfs *n, bool *server_alive,
		    bool *leftovers, struct vecs_err *err)
{
	char path[PATH_MAX + 32], ns[128];
	struct vecs_ledger_list list;
	int r;

	*server_alive = *leftovers = false;
	snprintf(path, sizeof(path), "%s/%s", dir, VECS_HOST_LEDGER);
	r = vecs_ledger_read(path, &list, NULL);
	if (r < 0)
		return vecs_err_set(err, -ENOENT,
				    "no run in %s: bring a host up first (vecs-host up --dir %s "
				    "--name h1 --index 1); the NFS server joins its network",
				    dir, dir);
	if (!list.run_id[0] || !vecs_ledger_owner_alive(&list)) {
		vecs_ledger_list_free(&list);
		return vecs_err_set(err, -ENOENT,
				    "the run in %s is dead (its owner exited): reap it (vecs-host "
				    "reap --dir %s) and bring the hosts up again",
				    dir, dir);
	}
	snprintf(n->run_id, sizeof(n->run_id), "%s", list.run_id);
	for (size_t i = 0; i < list.n; i++) {
		const struct vecs_ledger_rec *rec = &list.recs[i];
		char *e;
		long pid;

		if (rec->done || !is_nfs_record(rec, NULL))
			continue;
		*leftovers = true;
		pid = strtol(rec->a, &e, 10);
		if (rec->kind == VECS_OBJ_PROCESS && !*e && pid > 0 &&
		    vecs_proc_alive((pid_t)pid, strtoull(rec->b, NULL, 10)))
			*server_alive = true;
	}
	vecs_ledger_list_free(&list);
	snprintf(n->netns, sizeof(n->netns), "%s-stack", n->run_id);
	snprintf(ns, sizeof(ns), "/run/netns/%s", n->netns);
	if (access(ns, F_OK) != 0)
		return vecs_err_set(err, -ENOENT,
				    "the stack netns %s of the run in %s is missing: bring a host "
				    "up first",
				    n->netns, dir);
	return 0;
}

/* A host netns of the run to probe from (a client's view of the server); the stack
 * netns when none is left. */
static void probe_netns(const char *dir, const struct vecs_nfs *n, char *out, size_t len)
{
	char path[PATH_MAX + 32], ns[128];
	struct vecs_ledger_list list;

	snprintf(out, len, "/run/netns/%s", n->netns);
	snprintf(path, sizeof(path), "%s/%s", dir, VECS_HOST_LEDGER);
	if (vecs_ledger_read(path, &list, NULL) < 0)
		return;
	for (size_t i = 0; i < list.n; i++) {
		const struct vecs_ledger_rec *rec = &list.recs[i];

		if (rec->done || rec->kind != VECS_OBJ_NETNS || strcmp(rec->a, n->netns) == 0)
			continue;
		snprintf(ns, sizeof(ns), "/run/netns/%s", rec->a);
		if (access(ns, F_OK) == 0) {
			snprintf(out, len, "%s", ns);
			break;
		}
	}
	vecs_ledger_list_free(&list);
}

/* --- configuration ---------------------------------------------------------------- */

/* NFSv3 and v4 over TCP on the bridge address only. Mount_Path_Pseudo: v3 clients
 * (QEMU's libnfs defaults to v3) mount the same short path v4 clients see, so a volume
 * URL does not depend on D. Graceless: a fresh server has no clients to wait for, and
 * a 90 s grace period would hold up v4 opens. No NLM (QEMU's libnfs takes no locks),
 * no rquota, no Kerberos. */
static int write_config(const struct vecs_nfs *n, struct vecs_err *err)
{
	char path[VECS_NFS_DIR_MAX + 32], text[4096];

	snprintf(text, sizeof(text),
		 "# vecs NFS server of run %s (reference-impl/storage/nfs_server.h)\n"
		 "NFS_CORE_PARAM {\n"
		 "\tBind_Addr = %s;\n"
		 "\tProtocols = 3, 4;\n"
		 "\tEnable_UDP = false;\n"
		 "\tEnable_NLM = false;\n"
		 "\tEnable_RQUOTA = false;\n"
		 "\tMount_Path_Pseudo = true;\n"
		 "}\n"
		 "NFS_KRB5 {\n"
		 "\tActive_krb5 = false;\n"
		 "}\n"
		 "NFSV4 {\n"
		 "\tGraceless = true;\n"
		 "\tRecoveryBackend = fs;\n"
		 "\tRecoveryRoot = \"%s/state/ganesha\";\n"
		 "}\n"
		 "EXPORT {\n"
		 "\tExport_Id = 1;\n"
		 "\tPath = \"%s\";\n"
		 "\tPseudo = \"%s\";\n"
		 "\tProtocols = 3, 4;\n"
		 "\tTransports = TCP;\n"
		 "\tAccess_Type = RW;\n"
		 "\tSquash = No_Root_Squash;\n"
		 "\tSecType = sys;\n"
		 "\tFSAL {\n"
		 "\t\tName = VFS;\n"
		 "\t}\n"
		 "}\n"
		 "LOG {\n"
		 "\tDefault_Log_Level = EVENT;\n"
		 "}\n",
		 n->run_id, VECS_NFS_ADDR, n->dir, n->export_dir, n->export_path);
	snprintf(path, sizeof(path), "%s/ganesha.conf", n->dir);
	return write_text(path, text, err);
}

static int make_dirs(const struct vecs_nfs *n, struct vecs_err *err)
{
	static const struct {
		const char *sub;
		mode_t mode;
	} dirs[] = { { "", 0700 },	  { "/export", 0755 },	      { "/run", 0755 },
		     { "/run/rpcbind", 0755 }, { "/state", 0755 }, { "/state/ganesha", 0755 } };
	char path[PATH_MAX + 32];
	struct passwd *rpc;
	int r;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", n->dir, dirs[i].sub);
		if ((r = make_dir(path, dirs[i].mode, err)) < 0)
			return r;
	}
	/* Debian's rpcbind drops to user _rpc and keeps its state in /run/rpcbind, which
	 * the package creates owned by _rpc; so does the private copy. */
	rpc = getpwnam("_rpc");
	snprintf(path, sizeof(path), "%s/run/rpcbind", n->dir);
	if (rpc && chown(path, rpc->pw_uid, rpc->pw_gid) < 0)
		return vecs_err_set(err, -errno, "cannot chown %s to _rpc: %s", path,
				    strerror(errno));
	return 0;
}

/* --- the daemons ------------------------------------------------------------------ */

/* What each daemon sees in its own mount namespace. */
static const char *const private_targets[] = { "/run", "/var/lib/nfs" };
static const char *const private_subs[] = { "run", "state" };
#define N_PRIVATE (sizeof(private_targets) / sizeof(private_targets[0]))

struct child_ctx {
	char src[N_PRIVATE][PATH_MAX + 16];
	bool bind[N_PRIVATE];
};

/* In the child, after entering the stack netns and before exec: a mount namespace of
 * its own (slave, so nothing leaks out) with the private dirs bound in. */
static int child_setup(void *arg)
{
	struct child_ctx *c = arg;

	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	if (mount("none", "/", "none", MS_REC | MS_SLAVE, NULL) < 0)
		return -1;
	for (size_t i = 0; i < N_PRIVATE; i++)
		if (c->bind[i] && mount(c->src[i], private_targets[i], "none", MS_BIND, NULL) < 0)
			return -1;
	return 0;
}

struct record_ctx {
	struct vecs_ledger *l;
	const struct child_ctx *c;
	const char *what;
	struct vecs_err *err;
};

/* In the parent, before the child may exec: record its mounts, then the process. The
 * reaper goes newest first, so the daemon is stopped before anything would unmount its
 * private /run: a daemon that outlived its binds would unregister from the machine's
 * rpcbind and write state into the machine's /var/lib/nfs as it shuts down. */
static int record_daemon(pid_t pid, uint64_t start, void *arg)
{
	struct record_ctx *rc = arg;
	char ns[48], what[64];
	int r = 0;

	snprintf(ns, sizeof(ns), "%d:%" PRIu64, (int)pid, start);
	for (size_t i = 0; r == 0 && i < N_PRIVATE; i++)
		if (rc->c->bind[i])
			r = vecs_ledger_append(rc->l, VECS_OBJ_MOUNT, private_targets[i], ns,
					       VECS_NFS_LEDGER_TAG, NULL, rc->err);
	snprintf(what, sizeof(what), VECS_NFS_LEDGER_TAG ": %s", rc->what);
	if (r == 0)
		r = vecs_ledger_add_process(rc->l, pid, start, what, NULL, rc->err);
	return r;
}

static int start_daemon(struct vecs_ledger *l, const struct vecs_nfs *n, const char *what,
			const char *const argv[], const char *logpath, pid_t *pid,
			uint64_t *start, struct vecs_err *err)
{
	struct child_ctx c = { 0 };
	struct record_ctx rc = { l, &c, what, err };
	struct vecs_spawn_opts o = { 0 };
	char netns[128];
	struct stat st;

	for (size_t i = 0; i < N_PRIVATE; i++) {
		snprintf(c.src[i], sizeof(c.src[i]), "%s/%s", n->dir, private_subs[i]);
		/* /var/lib/nfs comes with nfs-common; without it there is nothing to hide */
		c.bind[i] = stat(private_targets[i], &st) == 0 && S_ISDIR(st.st_mode);
	}
	snprintf(netns, sizeof(netns), "/run/netns/%s", n->netns);
	o.netns = netns;
	o.stdout_path = logpath;
	o.stderr_path = logpath;
	o.child_setup = child_setup;
	o.child_arg = &c;
	return vecs_spawn_start(argv, &o, record_daemon, &rc, pid, start, err);
}

/* rpcbind is up when its socket exists (ganesha registers through it at start). */
static int wait_rpcbind(const struct vecs_nfs *n, struct vecs_err *err)
{
	char sock[PATH_MAX + 32], logpath[PATH_MAX + 32], tail[2048];
	int64_t deadline = now_ms() + RPCBIND_TIMEOUT_MS;

	snprintf(sock, sizeof(sock), "%s/run/rpcbind.sock", n->dir);
	snprintf(logpath, sizeof(logpath), "%s/rpcbind.log", n->dir);
	for (;;) {
		if (access(sock, F_OK) == 0)
			return 0;
		if (!vecs_proc_alive(n->rpcbind_pid, n->rpcbind_start) || now_ms() > deadline) {
			log_tail(logpath, tail, sizeof(tail));
			return vecs_err_set(err, -ETIMEDOUT,
					    "rpcbind of the NFS server did not come up (no %s within "
					    "%d s); %s ends:\n%s",
					    sock, RPCBIND_TIMEOUT_MS / 1000, logpath, tail);
		}
		pause_ms(10);
	}
}

/* Ready when a client in a host's netns can mount the export and list it (NULL,
 * portmapper GETPORT, MNT, READDIR), the way QEMU's libnfs will reach it. */
static int wait_ganesha(const char *dir, const struct vecs_nfs *n, struct vecs_err *err)
{
	const char *argv[] = { NFS_LS, n->url, NULL };
	char netns[128], logpath[PATH_MAX + 32], ebuf[512] = "", tail[2048];
	int64_t deadline = now_ms() + READY_TIMEOUT_MS;

	probe_netns(dir, n, netns, sizeof(netns));
	snprintf(logpath, sizeof(logpath), "%s/ganesha.log", n->dir);
	for (;;) {
		struct vecs_spawn_opts o = { .timeout_ms = PROBE_TIMEOUT_MS, .netns = netns,
					     .errbuf = ebuf, .err_cap = sizeof(ebuf) };
		int status;

		if (!vecs_proc_alive(n->ganesha_pid, n->ganesha_start)) {
			log_tail(logpath, tail, sizeof(tail));
			return vecs_err_set(err, -ECHILD,
					    "nfs-ganesha exited during start; %s ends:\n%s", logpath,
					    tail);
		}
		if (vecs_spawn_run(argv, &o, &status, NULL) == 0 && status == 0)
			return 0;
		if (now_ms() > deadline) {
			ebuf[strcspn(ebuf, "\n")] = '\0';
			log_tail(logpath, tail, sizeof(tail));
			return vecs_err_set(err, -ETIMEDOUT,
					    "nfs-ganesha did not serve %s within %d s (last: %s); "
					    "%s ends:\n%s",
					    n->url, READY_TIMEOUT_MS / 1000, ebuf, logpath, tail);
		}
		pause_ms(50);
	}
}

static int write_state(const struct vecs_nfs *n, struct vecs_err *err)
{
	char path[PATH_MAX + 32];
	struct json_writer w;

	snprintf(path, sizeof(path), "%s/nfs.json", n->dir);
	jw_init_mem(&w, true);
	jw_obj_begin(&w);
	jw_kv_str(&w, "run_id", n->run_id);
	jw_kv_str(&w, "netns", n->netns);
	jw_kv_str(&w, "address", VECS_NFS_ADDR);
	jw_kv_str(&w, "export", n->export_path);
	jw_kv_str(&w, "export_dir", n->export_dir);
	jw_kv_str(&w, "url", n->url);
	jw_kv_str(&w, "protocols", "nfs3 nfs4 tcp");
	jw_kv_int(&w, "ganesha_pid", n->ganesha_pid);
	jw_kv_uint(&w, "ganesha_start", n->ganesha_start);
	jw_kv_int(&w, "rpcbind_pid", n->rpcbind_pid);
	jw_kv_uint(&w, "rpcbind_start", n->rpcbind_start);
	jw_obj_end(&w);
	return vecs_write_json_atomic(&w, path, 0644, err);
}

/* --- up and down ------------------------------------------------------------------ */

int vecs_nfs_up(const char *dir, const char *export_path, struct vecs_nfs *n, FILE *log,
		struct vecs_err *err)
{
	char realdir[PATH_MAX], ledger_path[PATH_MAX + 32], envmsg[512];
	char conf[VECS_NFS_DIR_MAX + 32], pidfile[VECS_NFS_DIR_MAX + 32];
	char glog[VECS_NFS_DIR_MAX + 32], rlog[VECS_NFS_DIR_MAX + 32];
	struct vecs_ledger *l = NULL;
	bool alive, leftovers;
	uint64_t since = 0;
	struct stat st;
	int r;

	memset(n, 0, sizeof(*n));
	if ((r = vecs_nfs_check_env(envmsg, sizeof(envmsg))) < 0)
		return vecs_err_set(err, r, "%s", envmsg);
	if (!export_path)
		export_path = VECS_NFS_DEFAULT_EXPORT;
	if (!valid_export(export_path))
		return vecs_err_set(err, -EINVAL,
				    "export path '%s' is not valid: use '/' and components of "
				    "letters, digits, '.', '_' or '-' (at most %d characters)",
				    export_path, VECS_NFS_EXPORT_MAX);
	if (!realpath(dir, realdir))
		return vecs_err_set(err, -errno, "stack directory %s: %s", dir, strerror(errno));
	if (strlen(realdir) > VECS_NFS_DIR_MAX)
		return vecs_err_set(err, -EINVAL,
				    "stack directory %s is too long: use one of at most %d "
				    "characters",
				    realdir, VECS_NFS_DIR_MAX);
	if ((r = join_run(realdir, n, &alive, &leftovers, err)) < 0)
		return r;
	if (alive)
		return vecs_err_set(err, -EEXIST, "the NFS server of %s is up already", realdir);
	if (leftovers) {
		/* a killed `vecs-nfs up`, or daemons that died: start afresh */
		if (log)
			fprintf(log, "vecs-nfs: removing the leftovers of an earlier server in %s\n",
				realdir);
		if ((r = vecs_nfs_down(realdir, log, err)) < 0)
			return r;
	}
	snprintf(n->dir, sizeof(n->dir), "%s/nfs", realdir);
	snprintf(n->export_dir, sizeof(n->export_dir), "%s/export", n->dir);
	snprintf(n->export_path, sizeof(n->export_path), "%s", export_path);
	snprintf(n->url, sizeof(n->url), "nfs://%s%s", VECS_NFS_ADDR, export_path);
	if (access(n->dir, F_OK) == 0)
		return vecs_err_set(err, -EEXIST,
				    "%s exists but the run's ledger does not name it: remove it",
				    n->dir);

	snprintf(ledger_path, sizeof(ledger_path), "%s/%s", realdir, VECS_HOST_LEDGER);
	if ((r = vecs_ledger_open(&l, ledger_path, err)) < 0)
		return r;
	if (stat(ledger_path, &st) == 0)
		since = (uint64_t)st.st_size;
	if ((r = vecs_ledger_append(l, VECS_OBJ_DIR, n->dir, NULL, VECS_NFS_LEDGER_TAG, NULL,
				    err)) < 0 ||
	    (r = make_dirs(n, err)) < 0 || (r = write_config(n, err)) < 0)
		goto fail;

	snprintf(rlog, sizeof(rlog), "%s/rpcbind.log", n->dir);
	{
		/* -f: foreground; -h: UDP on the bridge address only (TCP listens on every
		 * address of the stack netns, which is the run's alone). */
		const char *argv[] = { RPCBIND, "-f", "-h", VECS_NFS_ADDR, NULL };
		r = start_daemon(l, n, "rpcbind", argv, rlog, &n->rpcbind_pid, &n->rpcbind_start,
				 err);
		if (r < 0 || (r = wait_rpcbind(n, err)) < 0)
			goto fail;
	}
	snprintf(conf, sizeof(conf), "%s/ganesha.conf", n->dir);
	snprintf(pidfile, sizeof(pidfile), "%s/ganesha.pid", n->dir);
	snprintf(glog, sizeof(glog), "%s/ganesha.log", n->dir);
	{
		const char *argv[] = { GANESHA, "-F", "-f", conf, "-p", pidfile, "-L", glog, NULL };
		r = start_daemon(l, n, "nfs-ganesha", argv, glog, &n->ganesha_pid,
				 &n->ganesha_start, err);
		if (r < 0 || (r = wait_ganesha(realdir, n, err)) < 0)
			goto fail;
	}
	if ((r = write_state(n, err)) < 0)
		goto fail;
	goto out;
fail:
	/* Undo this call's objects only: the hosts stay. */
	(void)vecs_reap_ledger_select(ledger_path, is_nfs_record, &since, log, NULL, NULL);
out:
	vecs_ledger_close(l);
	return r;
}

int vecs_nfs_down(const char *dir, FILE *log, struct vecs_err *err)
{
	char path[PATH_MAX + 32];
	struct vecs_reap_stats st;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, VECS_HOST_LEDGER);
	if (access(path, F_OK) != 0)
		return 0; /* no run, or `vecs-host down` removed it all */
	r = vecs_reap_ledger_select(path, is_nfs_record, NULL, log, &st, err);
	if (r < 0)
		return r;
	if (log)
		fprintf(log, "vecs-nfs: %u object(s) removed, %u already gone\n", st.removed,
			st.gone);
	return 0;
}

/* --- restarting the server (fault injection) --------------------------------------- */

struct daemon_id {
	char pid[24], start[24], ns[48];
};

/* The ledger records of one daemon: its process and the mounts of its namespace. */
static bool is_daemon_record(const struct vecs_ledger_rec *rec, void *arg)
{
	const struct daemon_id *id = arg;

	if (rec->kind == VECS_OBJ_PROCESS)
		return !strcmp(rec->a, id->pid) && !strcmp(rec->b, id->start);
	return rec->kind == VECS_OBJ_MOUNT && !strcmp(rec->b, id->ns);
}

/* The newest open process record "nfs: what" of the ledger at path. */
static bool find_daemon(const char *path, const char *what, struct daemon_id *id)
{
	char tag[64];
	struct vecs_ledger_list list;
	bool found = false;

	snprintf(tag, sizeof(tag), VECS_NFS_LEDGER_TAG ": %s", what);
	if (vecs_ledger_read(path, &list, NULL) < 0)
		return false;
	for (size_t i = list.n; i-- > 0 && !found;) {
		const struct vecs_ledger_rec *rec = &list.recs[i];
		if (rec->done || rec->kind != VECS_OBJ_PROCESS || strcmp(rec->c, tag))
			continue;
		snprintf(id->pid, sizeof(id->pid), "%s", rec->a);
		snprintf(id->start, sizeof(id->start), "%s", rec->b);
		snprintf(id->ns, sizeof(id->ns), "%s:%s", rec->a, rec->b);
		found = true;
	}
	vecs_ledger_list_free(&list);
	return found;
}

/* Stop the daemon `what` if it runs and close its records; *was_alive tells. */
static int stop_daemon(const char *ledger_path, const char *what, bool *was_alive, FILE *log,
		       struct vecs_err *err)
{
	struct daemon_id id;

	*was_alive = false;
	if (!find_daemon(ledger_path, what, &id))
		return 0;
	*was_alive = vecs_proc_alive((pid_t)atol(id.pid), strtoull(id.start, NULL, 10));
	return vecs_reap_ledger_select(ledger_path, is_daemon_record, &id, log, NULL, err);
}

int vecs_nfs_restart(const char *dir, FILE *log, struct vecs_err *err)
{
	char realdir[PATH_MAX], ledger_path[PATH_MAX + 32], text[4096], state[PATH_MAX + 32];
	char conf[VECS_NFS_DIR_MAX + 32], pidfile[VECS_NFS_DIR_MAX + 32];
	char glog[VECS_NFS_DIR_MAX + 32], rlog[VECS_NFS_DIR_MAX + 32];
	struct vecs_ledger *l = NULL;
	struct vecs_nfs n = { 0 };
	bool alive, leftovers, rpcbind_alive;
	const char *p;
	ssize_t len;
	int fd, r;

	if (!realpath(dir, realdir) || strlen(realdir) > VECS_NFS_DIR_MAX)
		return vecs_err_set(err, -ENOENT, "stack directory %s: not found or too long", dir);
	if ((r = join_run(realdir, &n, &alive, &leftovers, err)) < 0)
		return r;
	snprintf(n.dir, sizeof(n.dir), "%s/nfs", realdir);
	snprintf(n.export_dir, sizeof(n.export_dir), "%s/export", n.dir);
	/* the export path of the first start, from its nfs.json */
	snprintf(state, sizeof(state), "%s/nfs.json", n.dir);
	fd = open(state, O_RDONLY | O_CLOEXEC);
	len = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	if (fd >= 0)
		close(fd);
	if (len <= 0 || !(p = strstr((text[len] = '\0', text), "\"export\":")) ||
	    !(p = strchr(p + 9, '"')) || strcspn(p + 1, "\"") > VECS_NFS_EXPORT_MAX)
		return vecs_err_set(err, -ENOENT, "no NFS server was started in %s (no usable %s)",
				    realdir, state);
	snprintf(n.export_path, sizeof(n.export_path), "%.*s", (int)strcspn(p + 1, "\""), p + 1);
	snprintf(n.url, sizeof(n.url), "nfs://%s%s", VECS_NFS_ADDR, n.export_path);
	snprintf(ledger_path, sizeof(ledger_path), "%s/%s", realdir, VECS_HOST_LEDGER);
	/* ganesha goes; rpcbind stays unless it is gone too */
	if ((r = stop_daemon(ledger_path, "nfs-ganesha", &alive, log, err)) < 0)
		return r;
	{
		struct daemon_id id;
		rpcbind_alive = find_daemon(ledger_path, "rpcbind", &id) &&
				vecs_proc_alive((pid_t)atol(id.pid), strtoull(id.start, NULL, 10));
		if (rpcbind_alive) {
			n.rpcbind_pid = (pid_t)atol(id.pid);
			n.rpcbind_start = strtoull(id.start, NULL, 10);
		} else if ((r = stop_daemon(ledger_path, "rpcbind", &alive, log, err)) < 0) {
			return r;
		}
	}
	if ((r = vecs_ledger_open(&l, ledger_path, err)) < 0)
		return r;
	snprintf(rlog, sizeof(rlog), "%s/rpcbind.log", n.dir);
	if (!rpcbind_alive) {
		const char *argv[] = { RPCBIND, "-f", "-h", VECS_NFS_ADDR, NULL };
		char sock[VECS_NFS_DIR_MAX + 32];
		snprintf(sock, sizeof(sock), "%s/run/rpcbind.sock", n.dir);
		unlink(sock);
		r = start_daemon(l, &n, "rpcbind", argv, rlog, &n.rpcbind_pid, &n.rpcbind_start,
				 err);
		if (r == 0)
			r = wait_rpcbind(&n, err);
	}
	snprintf(conf, sizeof(conf), "%s/ganesha.conf", n.dir);
	snprintf(pidfile, sizeof(pidfile), "%s/ganesha.pid", n.dir);
	snprintf(glog, sizeof(glog), "%s/ganesha.log", n.dir);
	if (r == 0) {
		const char *argv[] = { GANESHA, "-F", "-f", conf, "-p", pidfile, "-L", glog, NULL };
		r = start_daemon(l, &n, "nfs-ganesha", argv, glog, &n.ganesha_pid, &n.ganesha_start,
				 err);
		if (r == 0)
			r = wait_ganesha(realdir, &n, err);
	}
	if (r == 0)
		r = write_state(&n, err);
	vecs_ledger_close(l);
	return r;
}
