#include "agent/host.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/file.h"
#include "util/json_writer.h"
#include "util/proc.h"
#include "util/reaper.h"
#include "util/spawn.h"

#define TOOL_TIMEOUT_MS 15000
#define READY_TIMEOUT_MS 30000
#define LIBVIRTD_PORT "16509"

/* The host's private directories and where they appear in its mount namespace. */
static const struct {
	const char *sub, *target;
} private_dirs[] = {
	{ "etc", "/etc/libvirt" },       { "lib", "/var/lib/libvirt" },
	{ "log", "/var/log/libvirt" },   { "cache", "/var/cache/libvirt" },
	{ "run", "/run" },
};
#define N_PRIVATE (sizeof(private_dirs) / sizeof(private_dirs[0]))

int vecs_host_check_env(char *msg, size_t len)
{
	static const char *const mountpoints[] = { "/etc/libvirt", "/var/lib/libvirt",
						   "/var/log/libvirt", "/var/cache/libvirt" };
	struct stat st;

	msg[0] = '\0';
	if (geteuid() != 0) {
		snprintf(msg, len, "simulated hosts need root (namespaces, mounts, libvirtd)");
		return -EPERM;
	}
	if (access("/usr/sbin/libvirtd", X_OK) != 0 || access("/usr/bin/virsh", X_OK) != 0 ||
	    access("/usr/bin/qemu-system-x86_64", X_OK) != 0 || access("/usr/sbin/ip", X_OK) != 0 ||
	    access("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so",
		   F_OK) != 0) {
		snprintf(msg, len,
			 "libvirtd, virsh, qemu-system-x86_64 or ip is missing: run ci/install-deps "
			 "(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients "
			 "qemu-system-x86 iproute2)");
		return -ENOENT;
	}
	/* libvirtd's QEMU driver resolves this user before reading qemu.conf's user=root
	 * (DESIGN.md, "Hazards"). */
	if (!getpwnam("libvirt-qemu") || !getgrnam("libvirt-qemu")) {
		snprintf(msg, len, "user and group libvirt-qemu are missing: run ci/install-deps");
		return -ENOENT;
	}
	for (size_t i = 0; i < sizeof(mountpoints) / sizeof(mountpoints[0]); i++)
		if (stat(mountpoints[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
			snprintf(msg, len,
				 "directory %s is missing (a mount point for the hosts' private "
				 "libvirt dirs): run ci/install-deps",
				 mountpoints[i]);
			return -ENOENT;
		}
	return 0;
}

/* --- small helpers ---------------------------------------------------------------- */

static int run_tool(const char *const argv[], const char *what, struct vecs_err *err)
{
	char ebuf[1024];
	struct vecs_spawn_opts o = { .timeout_ms = TOOL_TIMEOUT_MS, .errbuf = ebuf,
				     .err_cap = sizeof(ebuf) };
	char sbuf[32];
	int status, r;

	r = vecs_spawn_run(argv, &o, &status, err);
	if (r < 0)
		return r;
	if (status != 0) {
		ebuf[strcspn(ebuf, "\n")] = '\0';
		return vecs_err_set(err, -EIO, "%s failed (%s): %s", what,
				    vecs_spawn_status_str(status, sbuf, sizeof(sbuf)), ebuf);
	}
	return 0;
}

static int write_text(const char *path, const char *text, struct vecs_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
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

static int make_dir(const char *path, struct vecs_err *err)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return vecs_err_set(err, -errno, "cannot create directory %s: %s", path,
				    strerror(errno));
	return 0;
}

static void uuid_v4(char out[37])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		memset(b, 0x5a, sizeof(b)); /* not reached on Linux >= 3.17 */
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}

static bool valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 12 || strcmp(name, "stack") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-')
			return false;
	return true;
}

static bool netns_exists(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return access(path, F_OK) == 0;
}

/* Copy the regular files of dir `from` into dir `to` (both exist). */
static int copy_files(const char *from, const char *to, struct vecs_err *err)
{
	DIR *d = opendir(from);
	struct dirent *de;
	int r = 0;

	if (!d)
		return vecs_err_set(err, -errno, "cannot read %s: %s", from, strerror(errno));
	while (r == 0 && (de = readdir(d))) {
		char src[PATH_MAX + 256], dst[PATH_MAX + 256], buf[65536];
		int in, out;
		ssize_t n;

		if (de->d_type != DT_REG)
			continue;
		snprintf(src, sizeof(src), "%s/%s", from, de->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, de->d_name);
		in = open(src, O_RDONLY | O_CLOEXEC);
		out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n) {
				n = -1;
				break;
			}
		if (in < 0 || out < 0 || n < 0)
			r = vecs_err_set(err, -EIO, "cannot copy %s to %s", src, dst);
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
	}
	closedir(d);
	return r;
}

/* --- the run: ledger and stack namespace ------------------------------------------ */

/* Open dir's ledger, starting a new run when there is none (or only a dead one). */
static int open_run(const char *dir, pid_t owner, struct vecs_ledger **l, char *run_id,
		    FILE *log, struct vecs_err *err)
{
	char path[PATH_MAX + 32], p[24], s[24];
	struct vecs_ledger_list list;
	uint64_t start;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, VECS_HOST_LEDGER);
	if (vecs_ledger_read(path, &list, NULL) == 0) {
		bool alive = vecs_ledger_owner_alive(&list);
		snprintf(run_id, VECS_RUN_ID_LEN, "%s", list.run_id);
		vecs_ledger_list_free(&list);
		if (alive && run_id[0])
			return vecs_ledger_open(l, path, err);
		/* Leftovers of a run whose owner died: reap them, start afresh. */
		if (log)
			fprintf(log, "vecs-host: reaping the leftovers of dead run %s in %s\n",
				run_id[0] ? run_id : "(unknown)", dir);
		r = vecs_reap_ledger(path, log, NULL, err);
		if (r < 0)
			return r;
		unlink(path);
	}
	r = vecs_proc_starttime(owner, &start);
	if (r < 0)
		return vecs_err_set(err, r, "run owner process %d does not exist", (int)owner);
	r = vecs_run_id_new(run_id);
	if (r < 0)
		return vecs_err_set(err, r, "cannot draw a run id: %s", strerror(-r));
	r = vecs_ledger_open(l, path, err);
	if (r < 0)
		return r;
	snprintf(p, sizeof(p), "%d", (int)owner);
	snprintf(s, sizeof(s), "%" PRIu64, start);
	return vecs_ledger_append(*l, VECS_OBJ_RUN, run_id, p, s, NULL, err);
}

static int ensure_stack(struct vecs_ledger *l, const char *run_id, struct vecs_err *err)
{
	char ns[64];
	int r;

	snprintf(ns, sizeof(ns), "%s-stack", run_id);
	if (netns_exists(ns))
		return 0;
	r = vecs_ledger_add_path(l, VECS_OBJ_NETNS, ns, NULL, err);
	if (r < 0)
		return r;
	{
		const char *add[] = { "ip", "netns", "add", ns, NULL };
		const char *lo[] = { "ip", "-n", ns, "link", "set", "lo", "up", NULL };
		const char *br[] = { "ip", "-n", ns, "link", "add", "br0", "type", "bridge", NULL };
		const char *addr[] = { "ip", "-n", ns, "addr", "add", VECS_HOST_NET ".1/24", "dev",
				       "br0", NULL };
		const char *up[] = { "ip", "-n", ns, "link", "set", "br0", "up", NULL };

		if ((r = run_tool(add, "creating the stack netns", err)) < 0 ||
		    (r = run_tool(lo, "bringing up lo in the stack netns", err)) < 0 ||
		    (r = run_tool(br, "creating bridge br0 in the stack netns", err)) < 0 ||
		    (r = run_tool(addr, "addressing br0 in the stack netns", err)) < 0 ||
		    (r = run_tool(up, "bringing up br0 in the stack netns", err)) < 0)
			return r;
	}
	return 0;
}

/* --- one host --------------------------------------------------------------------- */

static int host_network(struct vecs_ledger *l, const struct vecs_host *h, struct vecs_err *err)
{
	char stack[64], veth[24], cidr[48];
	int r;

	snprintf(stack, sizeof(stack), "%s-stack", h->run_id);
	snprintf(veth, sizeof(veth), "v%s", h->name);
	snprintf(cidr, sizeof(cidr), "%s/24", h->address);
	if ((r = vecs_ledger_add_path(l, VECS_OBJ_NETNS, h->netns, NULL, err)) < 0)
		return r;
	{
		const char *add[] = { "ip", "netns", "add", h->netns, NULL };
		if ((r = run_tool(add, "creating the host netns", err)) < 0)
			return r;
	}
	if ((r = vecs_ledger_append(l, VECS_OBJ_LINK, veth, stack, NULL, NULL, err)) < 0)
		return r;
	{
		const char *veth_add[] = { "ip", "-n", stack, "link", "add", veth, "type", "veth",
					   "peer", "name", "eth0", "netns", h->netns, NULL };
		const char *master[] = { "ip", "-n", stack, "link", "set", veth, "master", "br0",
					 "up", NULL };
		const char *lo[] = { "ip", "-n", h->netns, "link", "set", "lo", "up", NULL };
		const char *addr[] = { "ip", "-n", h->netns, "addr", "add", cidr, "dev", "eth0",
				       NULL };
		const char *up[] = { "ip", "-n", h->netns, "link", "set", "eth0", "up", NULL };

		if ((r = run_tool(veth_add, "creating the host's veth pair", err)) < 0 ||
		    (r = run_tool(master, "attaching the host's veth to br0", err)) < 0 ||
		    (r = run_tool(lo, "bringing up lo in the host netns", err)) < 0 ||
		    (r = run_tool(addr, "addressing eth0 in the host netns", err)) < 0 ||
		    (r = run_tool(up, "bringing up eth0 in the host netns", err)) < 0)
			return r;
	}
	return 0;
}

static int host_config(const struct vecs_host *h, struct vecs_err *err)
{
	char path[PATH_MAX + 64], text[2048];
	int r;

	for (size_t i = 0; i < N_PRIVATE; i++) {
		snprintf(path, sizeof(path), "%s/%s", h->dir, private_dirs[i].sub);
		if ((r = make_dir(path, err)) < 0)
			return r;
	}
	/* The unix socket is the way in from the root namespace (root only); TCP without
	 * auth is for migration between the run's namespaces and reachable nowhere else. */
	snprintf(text, sizeof(text),
		 "# vecs simulated host %s (run %s)\n"
		 "listen_tls = 0\n"
		 "listen_tcp = 1\n"
		 "listen_addr = \"%s\"\n"
		 "tcp_port = \"" LIBVIRTD_PORT "\"\n"
		 "auth_tcp = \"none\"\n"
		 "auth_unix_rw = \"none\"\n"
		 "auth_unix_ro = \"none\"\n"
		 "unix_sock_ro_perms = \"0700\"\n"
		 "unix_sock_rw_perms = \"0700\"\n"
		 "host_uuid = \"%s\"\n"
		 "log_outputs = \"3:stderr\"\n",
		 h->name, h->run_id, h->address, h->host_uuid);
	snprintf(path, sizeof(path), "%s/etc/libvirtd.conf", h->dir);
	if ((r = write_text(path, text, err)) < 0)
		return r;
	/* No virtlogd (stdio_handler), no cgroups or per-domain namespaces (no systemd
	 * here), no security driver: the host is a namespace, not a machine. Incoming
	 * migrations listen on the host's own address. */
	snprintf(text, sizeof(text),
		 "user = \"root\"\n"
		 "group = \"root\"\n"
		 "dynamic_ownership = 0\n"
		 "remember_owner = 0\n"
		 "security_driver = \"none\"\n"
		 "stdio_handler = \"file\"\n"
		 "namespaces = [ ]\n"
		 "cgroup_controllers = [ ]\n"
		 "migration_address = \"%s\"\n"
		 "migration_host = \"%s\"\n",
		 h->address, h->address);
	snprintf(path, sizeof(path), "%s/etc/qemu.conf", h->dir);
	return write_text(path, text, err);
}

struct child_ctx {
	const struct vecs_host *h;
	char src[N_PRIVATE][PATH_MAX + 32];
	char hostname[64];
};

/* In the libvirtd child, after entering the host netns and before exec: its own mount
 * and UTS namespaces with the private dirs bound in. Slave propagation: mounts made
 * later in the root namespace (NFS, say) still show up here, none of ours leak out. */
static int child_setup(void *arg)
{
	struct child_ctx *c = arg;

	if (unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0)
		return -1;
	/* The kernel ignores the type of a propagation change and a bind mount; "none"
	 * rather than NULL, as util-linux passes it (valgrind checks it as a string). */
	if (mount("none", "/", "none", MS_REC | MS_SLAVE, NULL) < 0)
		return -1;
	for (size_t i = 0; i < N_PRIVATE; i++)
		if (mount(c->src[i], private_dirs[i].target, "none", MS_BIND, NULL) < 0)
			return -1;
	if (sethostname(c->hostname, strlen(c->hostname)) < 0)
		return -1;
	return 0;
}

struct record_ctx {
	struct vecs_ledger *l;
	struct vecs_err *err;
};

/* In the parent, before the child may go on: record libvirtd and its mounts. */
static int record_libvirtd(pid_t pid, uint64_t start, void *arg)
{
	struct record_ctx *rc = arg;
	char ns[48];
	int r;

	/* The process goes in last, so the reaper (newest first) stops libvirtd before it
	 * touches the mounts: detaching its private /run while it still runs made its exit
	 * unlink the machine's own /run/libvirtd.pid (found by the NFS work). */
	snprintf(ns, sizeof(ns), "%d:%" PRIu64, (int)pid, start);
	r = 0;
	for (size_t i = 0; r == 0 && i < N_PRIVATE; i++)
		r = vecs_ledger_append(rc->l, VECS_OBJ_MOUNT, private_dirs[i].target, ns, NULL,
				       NULL, rc->err);
	if (r == 0)
		r = vecs_ledger_add_process(rc->l, pid, start, "libvirtd", NULL, rc->err);
	return r;
}

static void log_tail(const char *path, char *out, size_t len)
{
	char buf[4096];
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size;

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
	/* the last few lines */
	char *p = buf + n;
	for (int lines = 0; p > buf && lines < 6; p--)
		if (p[-1] == '\n' && p != buf + n)
			lines++;
	snprintf(out, len, "%s", p);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Ready when a client gets an answer: first the socket appears, then the daemon
 * answers once its drivers are up (QEMU capability probing takes seconds), so one
 * long-waiting client beats many short ones. */
static int wait_ready(const struct vecs_host *h, const char *logpath, struct vecs_err *err)
{
	const char *argv[] = { "virsh", "-q", "-c", h->uri, "version", NULL };
	int64_t deadline = now_ms() + READY_TIMEOUT_MS;
	char sock[PATH_MAX + 64], ebuf[512] = "", tail[2048];
	struct timespec pause = { 0, 20 * 1000000L };

	snprintf(sock, sizeof(sock), "%s/run/libvirt/libvirt-sock", h->dir);
	for (;;) {
		int64_t left = deadline - now_ms();
		int status;

		if (!vecs_proc_alive(h->libvirtd_pid, h->libvirtd_start)) {
			log_tail(logpath, tail, sizeof(tail));
			return vecs_err_set(err, -ECHILD,
					    "libvirtd of host %s exited during start; %s ends:\n%s",
					    h->name, logpath, tail);
		}
		if (left <= 0) {
			log_tail(logpath, tail, sizeof(tail));
			return vecs_err_set(err, -ETIMEDOUT,
					    "libvirtd of host %s did not answer on %s within %d s "
					    "(last: %s); %s ends:\n%s",
					    h->name, h->uri, READY_TIMEOUT_MS / 1000, ebuf, logpath,
					    tail);
		}
		if (access(sock, F_OK) == 0) {
			struct vecs_spawn_opts o = { .timeout_ms = (int)left, .errbuf = ebuf,
						     .err_cap = sizeof(ebuf) };
			if (vecs_spawn_run(argv, &o, &status, NULL) == 0 && status == 0)
				return 0;
		}
		nanosleep(&pause, NULL);
	}
}

static int start_libvirtd(struct vecs_ledger *l, struct vecs_host *h, struct vecs_err *err)
{
	const char *argv[] = { "/usr/sbin/libvirtd", "--listen", "--config",
			       "/etc/libvirt/libvirtd.conf", NULL };
	char netns[128], logpath[PATH_MAX + 64];
	struct child_ctx *c = calloc(1, sizeof(*c));
	struct record_ctx rc = { l, err };
	struct vecs_spawn_opts o = { 0 };
	int r;

	if (!c)
		return vecs_err_set(err, -ENOMEM, "out of memory starting libvirtd");
	c->h = h;
	for (size_t i = 0; i < N_PRIVATE; i++)
		snprintf(c->src[i], sizeof(c->src[i]), "%s/%s", h->dir, private_dirs[i].sub);
	snprintf(c->hostname, sizeof(c->hostname), "%s-%s", h->run_id, h->name);
	snprintf(netns, sizeof(netns), "/run/netns/%s", h->netns);
	snprintf(logpath, sizeof(logpath), "%s/libvirtd.log", h->dir);
	o.netns = netns;
	o.stdout_path = logpath;
	o.stderr_path = logpath;
	o.child_setup = child_setup;
	o.child_arg = c;
	r = vecs_spawn_start(argv, &o, record_libvirtd, &rc, &h->libvirtd_pid,
			     &h->libvirtd_start, err);
	free(c);
	if (r < 0)
		return r;
	return wait_ready(h, logpath, err);
}

static int write_host_json(const struct vecs_host *h, struct vecs_err *err)
{
	char path[PATH_MAX + 64];
	struct json_writer w;

	snprintf(path, sizeof(path), "%s/host.json", h->dir);
	jw_init_mem(&w, true);
	jw_obj_begin(&w);
	jw_kv_str(&w, "name", h->name);
	jw_kv_int(&w, "index", h->index);
	jw_kv_str(&w, "run_id", h->run_id);
	jw_kv_str(&w, "netns", h->netns);
	jw_kv_str(&w, "address", h->address);
	jw_kv_str(&w, "uri", h->uri);
	jw_kv_str(&w, "tcp_uri", h->tcp_uri);
	jw_kv_str(&w, "host_uuid", h->host_uuid);
	jw_kv_int(&w, "libvirtd_pid", h->libvirtd_pid);
	jw_kv_uint(&w, "libvirtd_start", h->libvirtd_start);
	jw_kv_str(&w, "dir", h->dir);
	jw_obj_end(&w);
	return vecs_write_json_atomic(&w, path, 0644, err);
}

/* libvirtd probes every QEMU binary when it starts (seconds each, with KVM and TCG).
 * Its cache is valid across hosts of one machine (libvirt re-probes when the binary,
 * libvirt, kernel or microcode changed), so the run keeps the first host's cache in
 * D/qemu-caps and later hosts start from it. save: after a host came up. */
static int seed_caps_cache(struct vecs_ledger *l, const char *dir, const struct vecs_host *h,
			   bool save, struct vecs_err *err)
{
	char shared[PATH_MAX + 32], mine[PATH_MAX + 64];
	int r;

	snprintf(shared, sizeof(shared), "%s/qemu-caps", dir);
	snprintf(mine, sizeof(mine), "%s/cache/qemu", h->dir);
	if (!save) {
		if (access(shared, F_OK) != 0)
			return 0;
		if ((r = make_dir(mine, err)) < 0)
			return r;
		strcat(mine, "/capabilities");
		if ((r = make_dir(mine, err)) < 0)
			return r;
		return copy_files(shared, mine, err);
	}
	if (access(shared, F_OK) == 0)
		return 0;
	strcat(mine, "/capabilities");
	if ((r = vecs_ledger_add_path(l, VECS_OBJ_DIR, shared, NULL, err)) < 0 ||
	    (r = make_dir(shared, err)) < 0)
		return r;
	return copy_files(mine, shared, err);
}

int vecs_host_up(const char *dir, const char *name, int index, pid_t owner_pid,
		 struct vecs_host *h, FILE *log, struct vecs_err *err)
{
	char ledger_path[PATH_MAX + 32], realdir[PATH_MAX], envmsg[512];
	struct vecs_ledger *l = NULL;
	uint64_t since = 0;
	struct stat st;
	int r;

	memset(h, 0, sizeof(*h));
	if ((r = vecs_host_check_env(envmsg, sizeof(envmsg))) < 0)
		return vecs_err_set(err, r, "%s", envmsg);
	if (!valid_name(name))
		return vecs_err_set(err, -EINVAL,
				    "host name '%s' is not valid: use 1-12 letters, digits or '-'",
				    name);
	if (index < 1 || index > VECS_HOST_MAX_INDEX)
		return vecs_err_set(err, -EINVAL, "host index %d is out of range 1..%d", index,
				    VECS_HOST_MAX_INDEX);
	if (!realpath(dir, realdir))
		return vecs_err_set(err, -errno, "stack directory %s: %s", dir, strerror(errno));
	/* libvirtd's socket path D/NAME/run/libvirt/libvirt-sock must fit sun_path. */
	if (strlen(realdir) > 64)
		return vecs_err_set(err, -EINVAL,
				    "stack directory %s is too long for a unix socket path below "
				    "it: use one of at most 64 characters",
				    realdir);
	r = open_run(realdir, owner_pid, &l, h->run_id, log, err);
	if (r < 0)
		goto out;
	snprintf(ledger_path, sizeof(ledger_path), "%s/%s", realdir, VECS_HOST_LEDGER);
	if (stat(ledger_path, &st) == 0)
		since = (uint64_t)st.st_size;

	snprintf(h->name, sizeof(h->name), "%s", name);
	h->index = index;
	snprintf(h->netns, sizeof(h->netns), "%s-%s", h->run_id, name);
	snprintf(h->address, sizeof(h->address), "%s.%d", VECS_HOST_NET, 10 + index);
	snprintf(h->dir, sizeof(h->dir), "%s/%s", realdir, name);
	snprintf(h->uri, sizeof(h->uri), "qemu+unix:///system?socket=%s/run/libvirt/libvirt-sock",
		 h->dir);
	snprintf(h->tcp_uri, sizeof(h->tcp_uri), "qemu+tcp://%s/system", h->address);
	uuid_v4(h->host_uuid);
	if (netns_exists(h->netns) || access(h->dir, F_OK) == 0) {
		r = vecs_err_set(err, -EEXIST, "host %s is already up in %s", name, realdir);
		goto out;
	}
	if ((r = ensure_stack(l, h->run_id, err)) < 0)
		goto fail;
	if ((r = vecs_ledger_add_path(l, VECS_OBJ_DIR, h->dir, NULL, err)) < 0 ||
	    (r = make_dir(h->dir, err)) < 0 || (r = host_config(h, err)) < 0)
		goto fail;
	if ((r = host_network(l, h, err)) < 0)
		goto fail;
	if ((r = seed_caps_cache(l, realdir, h, false, err)) < 0)
		goto fail;
	if ((r = start_libvirtd(l, h, err)) < 0)
		goto fail;
	if ((r = seed_caps_cache(l, realdir, h, true, err)) < 0)
		goto fail;
	if ((r = write_host_json(h, err)) < 0)
		goto fail;
	goto out;
fail:
	/* Undo this call's objects only; other hosts of the run stay up. */
	(void)vecs_reap_ledger_since(ledger_path, since, log, NULL, NULL);
out:
	vecs_ledger_close(l);
	return r;
}

int vecs_host_down(const char *dir, FILE *log, struct vecs_err *err)
{
	char path[PATH_MAX + 32];
	struct vecs_reap_stats st;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, VECS_HOST_LEDGER);
	if (access(path, F_OK) != 0)
		return 0; /* nothing was brought up, or down already ran */
	r = vecs_reap_ledger(path, log, &st, err);
	if (r < 0)
		return r;
	if (log)
		fprintf(log, "vecs-host: %u object(s) removed, %u already gone\n", st.removed,
			st.gone);
	if (unlink(path) < 0 && errno != ENOENT)
		return vecs_err_set(err, -errno, "cannot remove ledger %s: %s", path,
				    strerror(errno));
	return 0;
}

/* --- restarting a host's libvirtd ------------------------------------------------- */

/* The value after "key": in host.json (our own json_writer output: a number, or a
 * string without escapes), into out. */
static int json_field(const char *text, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if (!(p = strstr(text, pat)))
		return -ENOENT;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p == '"')
		n = strcspn(++p, "\"");
	else
		n = strspn(p, "0123456789");
	if (n == 0 || n >= len)
		return -EINVAL;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* Host `name` of the live run in dir, as host.json and the ledger describe it. */
static int load_host(const char *dir, const char *name, struct vecs_host *h,
		     struct vecs_err *err)
{
	char path[PATH_MAX + 64], text[8192], idx[16], pid[24], start[24];
	struct vecs_ledger_list list;
	ssize_t n;
	int fd;

	memset(h, 0, sizeof(*h));
	if (!valid_name(name))
		return vecs_err_set(err, -EINVAL, "host name '%s' is not valid", name);
	snprintf(path, sizeof(path), "%s/%s", dir, VECS_HOST_LEDGER);
	if (vecs_ledger_read(path, &list, NULL) < 0)
		return vecs_err_set(err, -ENOENT, "no run in %s (no %s)", dir, VECS_HOST_LEDGER);
	if (!vecs_ledger_owner_alive(&list)) {
		vecs_ledger_list_free(&list);
		return vecs_err_set(err, -ESRCH, "the run in %s is dead (its owner exited)", dir);
	}
	snprintf(h->run_id, sizeof(h->run_id), "%s", list.run_id);
	vecs_ledger_list_free(&list);
	snprintf(path, sizeof(path), "%s/%s/host.json", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return vecs_err_set(err, -ENOENT, "host %s is not up in %s (no %s)", name, dir, path);
	text[n] = '\0';
	if (json_field(text, "index", idx, sizeof(idx)) < 0 ||
	    json_field(text, "host_uuid", h->host_uuid, sizeof(h->host_uuid)) < 0 ||
	    json_field(text, "libvirtd_pid", pid, sizeof(pid)) < 0 ||
	    json_field(text, "libvirtd_start", start, sizeof(start)) < 0)
		return vecs_err_set(err, -EPROTO, "%s lacks index, host_uuid or libvirtd pid", path);
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->index = atoi(idx);
	h->libvirtd_pid = (pid_t)atol(pid);
	h->libvirtd_start = strtoull(start, NULL, 10);
	snprintf(h->netns, sizeof(h->netns), "%s-%s", h->run_id, name);
	snprintf(h->address, sizeof(h->address), "%s.%d", VECS_HOST_NET, 10 + h->index);
	snprintf(h->dir, sizeof(h->dir), "%s/%s", dir, name);
	snprintf(h->uri, sizeof(h->uri), "qemu+unix:///system?socket=%s/run/libvirt/libvirt-sock",
		 h->dir);
	snprintf(h->tcp_uri, sizeof(h->tcp_uri), "qemu+tcp://%s/system", h->address);
	return 0;
}

struct libvirtd_id {
	char pid[24], start[24], ns[48];
};

/* The ledger records of one libvirtd: its process and the mounts of its namespace. */
static bool is_libvirtd_rec(const struct vecs_ledger_rec *rec, void *arg)
{
	const struct libvirtd_id *id = arg;

	if (rec->kind == VECS_OBJ_PROCESS)
		return !strcmp(rec->a, id->pid) && !strcmp(rec->b, id->start);
	return rec->kind == VECS_OBJ_MOUNT && !strcmp(rec->b, id->ns);
}

#define MAX_KEPT_DOMAINS 32
#define REATTACH_TIMEOUT_MS 30000

struct kept_domains {
	char name[MAX_KEPT_DOMAINS][64];
	int n;
};

/* The domains whose QEMU runs now, from the status files libvirtd keeps in the host's
 * private /run (run/libvirt/qemu/NAME.xml and NAME.pid): what a restarted libvirtd must
 * re-attach to. */
static void running_domains(const struct vecs_host *h, struct kept_domains *kd)
{
	char qdir[PATH_MAX + 64], path[PATH_MAX + 192], buf[32];
	struct dirent *de;
	DIR *d;

	kd->n = 0;
	snprintf(qdir, sizeof(qdir), "%s/run/libvirt/qemu", h->dir);
	if (!(d = opendir(qdir)))
		return;
	while ((de = readdir(d)) && kd->n < MAX_KEPT_DOMAINS) {
		size_t len = strlen(de->d_name);
		uint64_t start;
		ssize_t n;
		int fd;

		if (len <= 4 || len - 4 >= sizeof(kd->name[0]) || strcmp(de->d_name + len - 4, ".xml"))
			continue;
		snprintf(path, sizeof(path), "%s/%.*s.pid", qdir, (int)(len - 4), de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (vecs_proc_starttime((pid_t)atol(buf), &start) < 0 ||
		    !vecs_proc_alive((pid_t)atol(buf), start))
			continue;
		snprintf(kd->name[kd->n++], sizeof(kd->name[0]), "%.*s", (int)(len - 4), de->d_name);
	}
	closedir(d);
}

/* The last line of the log's final 64 KiB that mentions one of the needles (libvirtd's
 * own tail is mostly start-up noise), or "" */
static void log_last_match(const char *path, const char *const needles[], char *out,
			   size_t len)
{
	const size_t cap = 65536;
	char *buf = malloc(cap), *line, *save = NULL;
	int fd = buf ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	off_t size = fd < 0 ? 0 : lseek(fd, 0, SEEK_END);
	ssize_t n = 0;

	out[0] = '\0';
	if (size > 0)
		n = pread(fd, buf, cap - 1, size > (off_t)cap - 1 ? size - (off_t)cap + 1 : 0);
	if (fd >= 0)
		close(fd);
	if (!buf)
		return;
	buf[n > 0 ? n : 0] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		for (size_t i = 0; needles[i]; i++)
			if (strstr(line, needles[i])) {
				snprintf(out, len, "%s", line);
				break;
			}
	free(buf);
}

/* Wait until the new libvirtd has re-attached to every kept domain: it loads them from
 * their status files at start and reconnects to each QEMU monitor in the background
 * (the domain is busy until then; a failed reconnect removes it). virsh domcontrol says
 * "ok" once that is done. A domain it lost is an error that names it. */
static int wait_reattached(const struct vecs_host *h, const struct kept_domains *kd,
			   struct vecs_err *err)
{
	int64_t deadline = now_ms() + REATTACH_TIMEOUT_MS;
	char logpath[PATH_MAX + 64], tail[2048];
	struct timespec pause = { 0, 50 * 1000000L };

	snprintf(logpath, sizeof(logpath), "%s/libvirtd.log", h->dir);
	for (int i = 0; i < kd->n; i++) {
		const char *argv[] = { "virsh", "-q", "-c", h->uri, "domcontrol", kd->name[i], NULL };

		for (;;) {
			char out[256] = "", ebuf[512] = "";
			struct vecs_spawn_opts o = { .timeout_ms = TOOL_TIMEOUT_MS, .out = out,
						     .out_cap = sizeof(out), .errbuf = ebuf,
						     .err_cap = sizeof(ebuf) };
			int status = -1;

			if (vecs_spawn_run(argv, &o, &status, NULL) == 0 && status == 0 &&
			    !strncmp(out, "ok", 2))
				break;
			if (status > 0 && strstr(ebuf, "ailed to get domain")) {
				const char *needles[] = { kd->name[i], "qemuProcessReconnect",
							  "monitor", NULL };
				log_last_match(logpath, needles, tail, sizeof(tail));
				return vecs_err_set(err, -ENOENT,
						    "the restarted libvirtd of host %s lost domain "
						    "%s (its QEMU ran before the restart); %s says: %s",
						    h->name, kd->name[i], logpath, tail);
			}
			if (now_ms() > deadline)
				return vecs_err_set(err, -ETIMEDOUT,
						    "the restarted libvirtd of host %s did not re-attach "
						    "to domain %s within %d s (domcontrol: %s%s)",
						    h->name, kd->name[i], REATTACH_TIMEOUT_MS / 1000,
						    out, ebuf);
			nanosleep(&pause, NULL);
		}
	}
	return 0;
}

int vecs_host_restart_libvirtd(const char *dir, const char *name, FILE *log,
			       struct vecs_err *err)
{
	char realdir[PATH_MAX], ledger_path[PATH_MAX + 32];
	struct vecs_ledger *l = NULL;
	struct kept_domains kept;
	struct libvirtd_id id;
	struct vecs_host h;
	int r;

	if (!realpath(dir, realdir))
		return vecs_err_set(err, -errno, "stack directory %s: %s", dir, strerror(errno));
	if ((r = load_host(realdir, name, &h, err)) < 0)
		return r;
	/* The old daemon (if it still runs: SIGTERM, domains keep running) and its
	 * records; its mount namespace goes with it, or with the last QEMU in it. */
	snprintf(id.pid, sizeof(id.pid), "%d", (int)h.libvirtd_pid);
	snprintf(id.start, sizeof(id.start), "%" PRIu64, h.libvirtd_start);
	snprintf(id.ns, sizeof(id.ns), "%s:%s", id.pid, id.start);
	snprintf(ledger_path, sizeof(ledger_path), "%s/%s", realdir, VECS_HOST_LEDGER);
	r = vecs_reap_ledger_select(ledger_path, is_libvirtd_rec, &id, log, NULL, err);
	if (r < 0)
		return r;
	if ((r = vecs_ledger_open(&l, ledger_path, err)) < 0)
		return r;
	/* same netns, same private dirs bound at the same places, same socket */
	running_domains(&h, &kept);
	r = start_libvirtd(l, &h, err);
	if (r == 0)
		r = write_host_json(&h, err);
	vecs_ledger_close(l);
	/* the running domains are the new daemon's: listed, and controllable */
	if (r == 0)
		r = wait_reattached(&h, &kept, err);
	if (r == 0 && log && kept.n)
		fprintf(log, "vecs-host: libvirtd of %s re-attached to %d running domain(s)\n",
			h.name, kept.n);
	return r;
}
