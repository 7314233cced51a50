/* Plumbing of vecs-agent's handlers: log, libvirt connection, ledger, key files,
 * qemu-img runs, libcryptsetup, and volume arguments resolved per pool type. */
#include "agent/agent.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_uuid.h"
#include "util/spawn.h"

void agent_log(struct agent *a, const char *fmt, ...)
{
	FILE *f = a->log ? a->log : stderr;
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&a->log_lock);
	fprintf(f, "%s.%03ldZ agent %s: ", when, ts.tv_nsec / 1000000, a->name);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	pthread_mutex_unlock(&a->log_lock);
}

const char *agent_virt_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m ? m : "unknown libvirt error";
}

virConnectPtr agent_conn(struct agent *a, struct vecs_err *err)
{
	virConnectPtr c = NULL;
	unsigned long ver;

	pthread_mutex_lock(&a->conn_lock);
	/* Without an event loop the remote driver notices a restarted libvirtd only when a
	 * call fails ("Cannot write data: Broken pipe"): one cheap RPC finds out first. */
	if (a->conn && (virConnectIsAlive(a->conn) != 1 ||
			virConnectGetLibVersion(a->conn, &ver) < 0)) {
		agent_log(a, "libvirt connection to %s lost (libvirtd restarted?); reconnecting",
			  a->uri);
		virConnectClose(a->conn);
		a->conn = NULL;
	}
	if (!a->conn && !(a->conn = virConnectOpen(a->uri)))
		vecs_err_set(err, -ECONNREFUSED, "cannot connect to libvirtd of host %s (%s): %s",
			     a->name, a->uri, agent_virt_error());
	if (a->conn && virConnectRef(a->conn) == 0)
		c = a->conn;
	pthread_mutex_unlock(&a->conn_lock);
	return c;
}

static uint64_t path_hash(const char *p)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h ? h : 1;
}

static bool path_busy(struct agent *a, uint64_t h, size_t *slot)
{
	bool busy = false;

	*slot = AGENT_MAX_BUSY;
	for (size_t i = 0; i < AGENT_MAX_BUSY; i++) {
		if (a->busy[i] == h)
			busy = true;
		else if (!a->busy[i] && *slot == AGENT_MAX_BUSY)
			*slot = i;
	}
	return busy || *slot == AGENT_MAX_BUSY;
}

uint64_t agent_path_hold(struct agent *a, const char *path)
{
	uint64_t h = path_hash(path);
	size_t slot;

	pthread_mutex_lock(&a->path_lock);
	while (path_busy(a, h, &slot))
		pthread_cond_wait(&a->path_cond, &a->path_lock);
	a->busy[slot] = h;
	pthread_mutex_unlock(&a->path_lock);
	return h;
}

void agent_path_release(struct agent *a, uint64_t token)
{
	pthread_mutex_lock(&a->path_lock);
	for (size_t i = 0; i < AGENT_MAX_BUSY; i++)
		if (a->busy[i] == token) {
			a->busy[i] = 0;
			break;
		}
	pthread_cond_broadcast(&a->path_cond);
	pthread_mutex_unlock(&a->path_lock);
}

int agent_ledger_add(struct agent *a, enum vecs_obj kind, const char *x, const char *y,
		     uint64_t *id, struct vecs_err *err)
{
	return vecs_ledger_append(a->ledger, kind, x, y, NULL, id, err);
}

void agent_ledger_forget(struct agent *a, enum vecs_obj kind, const char *x, const char *y)
{
	struct vecs_ledger_list l = { 0 };
	struct vecs_err err = { 0 };
	uint64_t id = 0;
	bool found = false;

	if (vecs_ledger_read(a->ledger_path, &l, &err) < 0) {
		agent_log(a, "ledger: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct vecs_ledger_rec *r = &l.recs[i];

		if (r->kind == kind && !r->done && !strcmp(r->a, x) && (!y || !strcmp(r->b, y))) {
			id = r->id;
			found = true;
		}
	}
	vecs_ledger_list_free(&l);
	if (found && vecs_ledger_done(a->ledger, id, &err) < 0)
		agent_log(a, "ledger: %s", err.msg);
}

int agent_key_write(struct agent *a, const struct vecs_secret *s, struct agent_key *k,
		    struct vecs_err *err)
{
	unsigned char rnd[8];
	size_t off = 0;
	int fd, r;

	memset(k, 0, sizeof(*k));
	if (!s || !s->len)
		return vecs_err_set(err, -EINVAL, "no passphrase to write a key file from");
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return vecs_err_set(err, -EIO, "getrandom failed: %s", strerror(errno));
	snprintf(k->path, sizeof(k->path), "%s/key-%02x%02x%02x%02x%02x%02x%02x%02x", a->key_dir,
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if ((r = agent_ledger_add(a, VECS_OBJ_FILE, k->path, NULL, &k->ledger_id, err)) < 0)
		return r;
	fd = open(k->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		vecs_ledger_done(a->ledger, k->ledger_id, NULL);
		return vecs_err_set(err, r, "cannot create key file %s: %s", k->path, strerror(-r));
	}
	k->made = true;
	while (off < s->len) {
		ssize_t w = write(fd, s->data + off, s->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = w < 0 ? -errno : -EIO;
			close(fd);
			agent_key_remove(a, k);
			return vecs_err_set(err, r, "cannot write key file %s: %s", k->path,
					    strerror(-r));
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0600) < 0 || close(fd) < 0) {
		r = -errno;
		agent_key_remove(a, k);
		return vecs_err_set(err, r, "cannot finish key file: %s", strerror(-r));
	}
	return 0;
}

void agent_key_remove(struct agent *a, struct agent_key *k)
{
	if (!k->made)
		return;
	if (unlink(k->path) < 0 && errno != ENOENT)
		agent_log(a, "cannot remove key file %s: %s", k->path, strerror(errno));
	else
		vecs_ledger_done(a->ledger, k->ledger_id, NULL);
	k->made = false;
}

/* The last non-empty line of s, for an error message. */
static const char *last_line(char *s)
{
	size_t n = strlen(s);
	char *p;

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	p = strrchr(s, '\n');
	return p ? p + 1 : s;
}

int agent_qimg_run(struct agent *a, struct qimg_cmd *c, char *out, size_t out_cap,
		   unsigned *retries, struct vecs_err *err)
{
	char preload[2 * PATH_MAX + 16];
	const char *env[] = { preload, NULL };
	char errbuf[4096];
	int status = 0, r;

	char netns[128];
	bool nfs = false;

	/* an image on NFS is reached from the host's network namespace */
	for (size_t i = 0; c->argv[i]; i++)
		nfs = nfs || !strncmp(c->argv[i], "nfs://", 6) || strstr(c->argv[i], "file.driver=nfs");
	snprintf(netns, sizeof(netns), "/run/netns/%s", a->netns);
	/* the shim goes first; a preload of the agent's own environment (the stack's I/O
	 * fault shim, libfaketime) stays in effect for qemu-img */
	{
		const char *inherited = getenv("LD_PRELOAD");
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s%s%s", a->shim,
			 inherited && *inherited ? ":" : "", inherited ? inherited : "");
	}
	/* --qemu-img: the argv builders write "qemu-img"; the program run is the option's */
	if (a->qemu_img && c->argv[0] && !strcmp(c->argv[0], "qemu-img"))
		c->argv[0] = a->qemu_img;
	for (unsigned attempt = 0;; attempt++) {
		struct vecs_spawn_opts o = { .timeout_ms = 600000,
					     .netns = nfs ? netns : NULL,
					     .env_extra = a->kdf_fast ? env : NULL,
					     .out = out,
					     .out_cap = out_cap,
					     .errbuf = errbuf,
					     .err_cap = sizeof(errbuf) };

		errbuf[0] = '\0';
		r = vecs_spawn_run(c->argv, &o, &status, err);
		if (r < 0)
			return r;
		if (status == 0)
			return 0;
		if (strstr(errbuf, "Unable to get accurate CPU usage") &&
		    attempt < AGENT_QIMG_RETRIES) {
			atomic_fetch_add(&a->kdf_retries, 1);
			if (retries)
				(*retries)++;
			agent_log(a, "qemu-img %s: \"Unable to get accurate CPU usage\", retrying",
				  c->argv[1]);
			continue;
		}
		char st[32];
		return vecs_err_set(err, -EIO, "qemu-img %s failed (%s): %s", c->argv[1],
				    vecs_spawn_status_str(status, st, sizeof(st)), last_line(errbuf));
	}
}

int agent_luks_format(struct agent *a, const char *dev, const struct vecs_secret *pass,
		      struct vecs_err *err)
{
	struct crypt_pbkdf_type fast = { .type = CRYPT_KDF_PBKDF2,
					 .hash = "sha256",
					 .iterations = 1000,
					 .flags = CRYPT_PBKDF_NO_BENCHMARK };
	struct crypt_params_luks1 params = { .hash = "sha256" };
	struct crypt_device *cd = NULL;
	int r;

	if ((r = crypt_init(&cd, dev)) < 0)
		return vecs_err_set(err, r, "libcryptsetup cannot open %s: %s", dev, strerror(-r));
	if (a->kdf_fast && (r = crypt_set_pbkdf_type(cd, &fast)) < 0) {
		vecs_err_set(err, r, "libcryptsetup refused the fast PBKDF settings for %s: %s", dev,
			     strerror(-r));
		goto out;
	}
	if ((r = crypt_format(cd, CRYPT_LUKS1, "aes", "xts-plain64", NULL, NULL, 64, &params)) < 0) {
		vecs_err_set(err, r, "cannot write a LUKS1 header on %s: %s", dev, strerror(-r));
		goto out;
	}
	r = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, (const char *)pass->data,
					    pass->len);
	if (r < 0)
		vecs_err_set(err, r, "cannot add the passphrase to the LUKS1 header on %s: %s", dev,
			     strerror(-r));
	else
		r = 0;
out:
	crypt_free(cd);
	return r;
}

int agent_luks_wipe_header(const char *dev, struct vecs_err *err)
{
	static const char zero[65536];
	int fd = open(dev, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return vecs_err_set(err, -errno, "cannot open %s to wipe its header: %s", dev,
				    strerror(errno));
	for (off_t off = 0; off < (2 << 20); off += (off_t)sizeof(zero))
		if (pwrite(fd, zero, sizeof(zero), off) != (ssize_t)sizeof(zero)) {
			r = vecs_err_set(err, -EIO, "cannot wipe the header of %s: %s", dev,
					 strerror(errno));
			break;
		}
	if (r == 0 && fsync(fd) < 0)
		r = vecs_err_set(err, -errno, "cannot sync %s: %s", dev, strerror(errno));
	close(fd);
	return r;
}

static bool safe_name(const char *s)
{
	/* a file name or a ScaleIO id, never a path: no '/', no "..", no control bytes */
	if (!s || !*s || !strcmp(s, ".") || !strcmp(s, "..") || strlen(s) > 200)
		return false;
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

int agent_vol_parse(struct agent *a, json_t *vol, const struct chan_secrets *secrets,
		    const char *secret_path, bool need_device, struct agent_vol *v,
		    struct vecs_err *err)
{
	json_t *pool = json_object_get(vol, "pool");
	const char *type = json_string_value(json_object_get(pool, "type"));
	const char *ppath = json_string_value(json_object_get(pool, "path"));
	const char *ef = json_string_value(json_object_get(vol, "encrypt_format"));
	json_t *size = json_object_get(vol, "size");

	memset(v, 0, sizeof(*v));
	if (!json_is_object(vol))
		return vecs_err_set(err, -EINVAL, "the command has no volume object");
	v->name = json_string_value(json_object_get(vol, "name"));
	if (!v->name)
		v->name = json_string_value(json_object_get(vol, "uuid"));
	if (!v->name)
		v->name = "(unnamed)";
	v->path_arg = json_string_value(json_object_get(vol, "path"));
	if (!safe_name(v->path_arg))
		return vecs_err_set(err, -EINVAL,
				    "volume %s: path must be a file name or ScaleIO id", v->name);
	if (!type)
		return vecs_err_set(err, -EINVAL, "volume %s has no pool type", v->name);
	v->format = json_string_value(json_object_get(vol, "format"));
	if (size && (!json_is_integer(size) || json_integer_value(size) < 0))
		return vecs_err_set(err, -EINVAL, "volume %s: size must be a byte count", v->name);
	v->size = (uint64_t)json_integer_value(size);
	v->pass = chan_secret_get(secrets, secret_path);
	if (ef && strcmp(ef, "luks"))
		return vecs_err_set(err, -EINVAL, "volume %s: encrypt_format must be luks", v->name);
	v->encrypted = ef != NULL || v->pass != NULL;
	/* without the device (delete, naming a secret) the passphrase is not needed */
	if (v->encrypted && !v->pass && need_device)
		return vecs_err_set(err, -EINVAL, "volume %s is encrypted but no passphrase came with it",
				    v->name);
	if (v->encrypted && !a->encryption)
		return vecs_err_set(err, -EOPNOTSUPP,
				    "host %s does not support volume encryption; volume %s needs it",
				    a->name, v->name);

	if (!strcmp(type, "local") || !strcmp(type, "smp")) {
		v->pool = type[0] == 'l' ? POOL_LOCAL : POOL_SMP;
		if (!ppath || ppath[0] != '/')
			return vecs_err_set(err, -EINVAL, "volume %s: pool path must be absolute",
					    v->name);
		if (snprintf(v->path, sizeof(v->path), "%s/%s", ppath, v->path_arg) >=
		    (int)sizeof(v->path))
			return vecs_err_set(err, -ENAMETOOLONG, "volume %s: path too long", v->name);
		snprintf(v->usage, sizeof(v->usage), "%s", v->path);
		if (!v->format)
			v->format = "qcow2";
		if (strcmp(v->format, "qcow2"))
			return vecs_err_set(err, -EINVAL, "volume %s: file volumes are qcow2", v->name);
	} else if (!strcmp(type, "scaleio")) {
		const char *sys = json_string_value(json_object_get(pool, "system_id"));
		char link[PATH_MAX + 300];

		v->pool = POOL_SCALEIO;
		if (!safe_name(sys))
			return vecs_err_set(err, -EINVAL, "volume %s: ScaleIO pool without system_id",
					    v->name);
		v->format = "raw";
		/* CloudStack's name of the device, the same on every host: it names the
		 * secret, so a migrated domain finds its secret on the destination */
		snprintf(v->usage, sizeof(v->usage), "/dev/disk/by-id/emc-vol-%s-%s", sys,
			 v->path_arg);
		snprintf(link, sizeof(link), "%s/emc-vol-%s-%s", a->sdc_dir, sys, v->path_arg);
		if (need_device) {
			/* the control plane maps the volume to this host's SDC through the
			 * gateway; the link appears when it is mapped (CloudStack waits too) */
			for (int i = 0; i < 100 && !realpath(link, v->path); i++)
				usleep(50000);
			if (!realpath(link, v->path))
				return vecs_err_set(err, -ENODEV,
						    "ScaleIO volume %s (%s) is not mapped to host %s: no %s",
						    v->name, v->path_arg, a->name, link);
			struct stat st;
			if (stat(v->path, &st) < 0 || !S_ISBLK(st.st_mode))
				return vecs_err_set(err, -ENODEV, "%s of volume %s is not a block device",
						    v->path, v->name);
		}
	} else if (!strcmp(type, "nfs")) {
		const char *host = json_string_value(json_object_get(pool, "host"));
		const char *puuid = json_string_value(json_object_get(pool, "uuid"));
		size_t pl = ppath ? strlen(ppath) : 0;

		v->pool = POOL_NFS;
		if (!safe_name(host) || strlen(host) >= sizeof(v->nfs_host) || strchr(host, ':'))
			return vecs_err_set(err, -EINVAL, "volume %s: NFS pool without a server address",
					    v->name);
		if (!ppath || ppath[0] != '/')
			return vecs_err_set(err, -EINVAL, "volume %s: NFS export path must be absolute",
					    v->name);
		while (pl > 1 && ppath[pl - 1] == '/')
			pl--;
		snprintf(v->nfs_host, sizeof(v->nfs_host), "%s", host);
		/* volumes at the top level of the export (QEMU mounts the directory part) */
		if (snprintf(v->nfs_path, sizeof(v->nfs_path), "%.*s/%s", (int)(pl > 1 ? pl : 0),
			     ppath, v->path_arg) >= (int)sizeof(v->nfs_path) ||
		    snprintf(v->path, sizeof(v->path), "nfs://%s%s", host, v->nfs_path) >=
			    (int)sizeof(v->path))
			return vecs_err_set(err, -ENAMETOOLONG, "volume %s: path too long", v->name);
		/* the secret is named by the path CloudStack's agent gives the volume: the
		 * pool mounted at /mnt/<pool uuid>, the same on every host */
		if (puuid && safe_name(puuid))
			snprintf(v->usage, sizeof(v->usage), "/mnt/%s/%s", puuid, v->path_arg);
		else
			snprintf(v->usage, sizeof(v->usage), "%s", v->path);
		if (!v->format)
			v->format = "qcow2";
		if (strcmp(v->format, "qcow2"))
			return vecs_err_set(err, -EINVAL, "volume %s: NFS volumes are qcow2", v->name);
	} else {
		return vecs_err_set(err, -EINVAL, "volume %s: unknown pool type %s", v->name, type);
	}
	agent_name_uuid(v->usage, strlen(v->usage), v->secret_uuid);
	return 0;
}

/* --- NFS: file operations through libnfs in the host's netns ------------------------ */

/* Run `vecs-agent --nfs-helper op ...` in this host's netns: its exit status, or <0. */
/* An NFS operation for a volume, run by a thread of its own inside this host's network
 * namespace (setns affects only the calling thread; the worker thread stays out). Was a
 * `vecs-agent --nfs-helper` process: ~100 ms per create_volume on NFS for loading this
 * program's libraries (b-agent.sh), against a few ms in a thread. */
struct nfs_job {
	const char *netns, *op, *server, *file, *file2;
	char exp[PATH_MAX / 2];
	char why[PATH_MAX + 256];
	int r;
};

static int nfs_op(const char *op, const char *server, const char *export, const char *f1,
		  const char *f2, char *why, size_t wlen);

static void *nfs_thread(void *arg)
{
	struct nfs_job *j = arg;
	int ns = open(j->netns, O_RDONLY | O_CLOEXEC);

	if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
		snprintf(j->why, sizeof(j->why), "cannot enter %s: %s", j->netns, strerror(errno));
		j->r = 2;
	} else {
		j->r = nfs_op(j->op, j->server, j->exp, j->file, j->file2, j->why, sizeof(j->why));
	}
	if (ns >= 0)
		close(ns);
	return NULL;
}

static int nfs_helper(struct agent *a, const char *op, const struct agent_vol *v,
		      const struct agent_vol *v2, struct vecs_err *err)
{
	char netns[128];
	struct nfs_job *j = calloc(1, sizeof(*j));
	pthread_t th;
	int r;

	if (!j)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	snprintf(j->exp, sizeof(j->exp), "%s", v->nfs_path);
	j->file = strrchr(v->nfs_path, '/') + 1;
	j->exp[j->file - 1 - v->nfs_path] = '\0';
	if (!j->exp[0])
		snprintf(j->exp, sizeof(j->exp), "/");
	j->file2 = v2 ? strrchr(v2->nfs_path, '/') + 1 : NULL;
	snprintf(netns, sizeof(netns), "/run/netns/%s", a->netns);
	j->netns = netns;
	j->op = op;
	j->server = v->nfs_host;
	if ((r = pthread_create(&th, NULL, nfs_thread, j)) != 0) {
		free(j);
		return vecs_err_set(err, -r, "cannot start a thread for NFS %s: %s", op, strerror(r));
	}
	pthread_join(th, NULL);
	r = j->r == 2 ? vecs_err_set(err, -EIO, "NFS %s of %s failed: %s", op, v->path, j->why)
		      : j->r;
	free(j);
	return r;
}

int agent_vol_exists(struct agent *a, const struct agent_vol *v, struct vecs_err *err)
{
	struct stat st;

	if (v->pool == POOL_NFS) {
		int r = nfs_helper(a, "exists", v, NULL, err);
		return r < 0 ? r : r == 0;
	}
	return lstat(v->path, &st) == 0;
}

int agent_vol_unlink(struct agent *a, const struct agent_vol *v, struct vecs_err *err)
{
	if (v->pool == POOL_NFS) {
		int r = nfs_helper(a, "rm", v, NULL, err);
		return r < 0 ? r : 0;
	}
	if (unlink(v->path) < 0 && errno != ENOENT)
		return vecs_err_set(err, -errno, "cannot delete volume %s (%s): %s", v->name, v->path,
				    strerror(errno));
	return 0;
}

int agent_vol_rename(struct agent *a, const struct agent_vol *from, const struct agent_vol *to,
		     struct vecs_err *err)
{
	if (from->pool == POOL_NFS) {
		int r = nfs_helper(a, "rename", from, to, err);
		return r < 0 ? r : r == 1 ? vecs_err_set(err, -ENOENT, "NFS rename: no %s",
							 from->path)
					  : 0;
	}
	if (rename(from->path, to->path) < 0)
		return vecs_err_set(err, -errno, "cannot replace volume %s: %s", to->name,
				    strerror(errno));
	return 0;
}

/* libnfs 4 (libnfs13), loaded at run time: Debian ships the library and its tools but
 * no nfs-rm; the headers (libnfs-dev) are not needed for these few calls. */
struct nfs_context;
struct nfsfh;

/* One libnfs operation on SERVER:EXPORT: exists | rm | rename (FILE to FILE2), in the
 * calling thread's network namespace. 0, 1 (no such file) or 2 (error, in why). libnfs
 * is dlopen()ed (Debian ships no libnfs-dev; five calls). */
static int nfs_op(const char *op, const char *server, const char *export, const char *f1,
		  const char *f2, char *why, size_t wlen)
{
	struct nfs_context *(*init)(void);
	void (*destroy)(struct nfs_context *);
	int (*mount)(struct nfs_context *, const char *, const char *);
	int (*nunlink)(struct nfs_context *, const char *);
	int (*nrename)(struct nfs_context *, const char *, const char *);
	int (*nopen)(struct nfs_context *, const char *, int, struct nfsfh **);
	int (*nclose)(struct nfs_context *, struct nfsfh *);
	char *(*nerror)(struct nfs_context *);
	void *lib = dlopen("libnfs.so.13", RTLD_NOW);
	struct nfs_context *nfs;
	char p1[PATH_MAX], p2[PATH_MAX];
	int r = 2;

	if (!lib) {
		snprintf(why, wlen, "cannot load libnfs: %s", dlerror());
		return 2;
	}
	*(void **)&init = dlsym(lib, "nfs_init_context");
	*(void **)&destroy = dlsym(lib, "nfs_destroy_context");
	*(void **)&mount = dlsym(lib, "nfs_mount");
	*(void **)&nunlink = dlsym(lib, "nfs_unlink");
	*(void **)&nrename = dlsym(lib, "nfs_rename");
	*(void **)&nopen = dlsym(lib, "nfs_open");
	*(void **)&nclose = dlsym(lib, "nfs_close");
	*(void **)&nerror = dlsym(lib, "nfs_get_error");
	if (!init || !destroy || !mount || !nunlink || !nrename || !nopen || !nclose || !nerror) {
		snprintf(why, wlen, "libnfs lacks a needed function");
		goto close_lib;
	}
	snprintf(p1, sizeof(p1), "/%s", f1);
	snprintf(p2, sizeof(p2), "/%s", f2 ? f2 : "");
	if (!(nfs = init())) {
		snprintf(why, wlen, "libnfs: no context");
		goto close_lib;
	}
	if (mount(nfs, server, export) < 0) {
		snprintf(why, wlen, "cannot mount %s:%s: %s", server, export, nerror(nfs));
		goto out;
	}
	if (!strcmp(op, "exists")) {
		struct nfsfh *fh = NULL;
		int e = nopen(nfs, p1, O_RDONLY, &fh);
		if (e == 0) {
			nclose(nfs, fh);
			r = 0;
		} else {
			r = e == -ENOENT ? 1 : 2;
			if (r == 2)
				snprintf(why, wlen, "cannot open %.1000s: %s", p1, nerror(nfs));
		}
	} else if (!strcmp(op, "rm")) {
		int e = nunlink(nfs, p1);
		r = e == 0 ? 0 : e == -ENOENT ? 1 : 2;
		if (r == 2)
			snprintf(why, wlen, "cannot remove %.1000s: %s", p1, nerror(nfs));
	} else if (!strcmp(op, "rename")) {
		int e = nrename(nfs, p1, p2);
		r = e == 0 ? 0 : e == -ENOENT ? 1 : 2;
		if (r == 2)
			snprintf(why, wlen, "cannot rename %.1000s to %.1000s: %s", p1, p2, nerror(nfs));
	} else {
		snprintf(why, wlen, "unknown NFS operation %s", op);
	}
out:
	destroy(nfs);
close_lib:
	dlclose(lib);
	return r;
}

int agent_nfs_helper_main(int argc, char **argv)
{
	char why[PATH_MAX + 256] = "";
	int r;

	if (argc < 6 || (!strcmp(argv[2], "rename") && argc < 7)) {
		fputs("usage: vecs-agent --nfs-helper exists|rm|rename SERVER EXPORT FILE [FILE2]\n",
		      stderr);
		return 2;
	}
	r = nfs_op(argv[2], argv[3], argv[4], argv[5], argc > 6 ? argv[6] : NULL, why, sizeof(why));
	if (r == 2)
		fprintf(stderr, "%s\n", why);
	return r;
}
