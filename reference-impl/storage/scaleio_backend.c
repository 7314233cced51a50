/* Volumes on loop devices, SDC links, state file and ledger (scaleio_backend.h). */
#include "storage/scaleio_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/proc.h"
#include "util/reaper.h"

static struct vecs_ledger *L(struct sio_gw *gw)
{
	return ((struct sio_real *)gw->be_ctx)->ledger;
}

static void done(struct vecs_ledger *l, uint64_t *rec)
{
	if (*rec) {
		(void)vecs_ledger_done(l, *rec, NULL);
		*rec = 0;
	}
}

/* --- loop devices ------------------------------------------------------------------ */

bool sio_loop_backs(const char *dev, const char *path)
{
	char sys[96], buf[PATH_MAX];
	ssize_t n;
	int fd;

	if (strncmp(dev, "/dev/loop", 9) != 0 || strchr(dev + 9, '/'))
		return false;
	snprintf(sys, sizeof(sys), "/sys/block/%s/loop/backing_file", dev + 5);
	fd = open(sys, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return strcmp(buf, path) == 0;
}

int sio_loop_attach(struct vecs_ledger *l, const char *path, char dev[32], uint64_t *rec,
		    struct vecs_err *err)
{
	int ctl, bfd, rc = 0;

	bfd = open(path, O_RDWR | O_CLOEXEC);
	if (bfd < 0)
		return vecs_err_set(err, -errno, "cannot open volume file %s: %s", path,
				    strerror(errno));
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		rc = vecs_err_set(err, -errno,
				  "cannot open /dev/loop-control (%s): the gateway needs root and "
				  "the loop module",
				  strerror(errno));
		goto out;
	}
	/* Another process may take the free device between the two calls: retry. */
	for (int attempt = 0; attempt < 32; attempt++) {
		struct loop_config cfg = { 0 };
		int n = ioctl(ctl, LOOP_CTL_GET_FREE), dfd;

		if (n < 0) {
			rc = vecs_err_set(err, -errno, "no free loop device: %s", strerror(errno));
			goto out;
		}
		snprintf(dev, 32, "/dev/loop%d", n);
		if ((rc = vecs_ledger_append(l, VECS_OBJ_LOOP, dev, path, NULL, rec, err)) < 0)
			goto out;
		dfd = open(dev, O_RDWR | O_CLOEXEC);
		if (dfd < 0) {
			rc = vecs_err_set(err, -errno, "cannot open %s: %s", dev, strerror(errno));
			done(l, rec);
			goto out;
		}
		cfg.fd = (unsigned)bfd;
		snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", path);
		if (ioctl(dfd, LOOP_CONFIGURE, &cfg) == 0) {
			close(dfd);
			rc = 0;
			goto out;
		}
		rc = -errno;
		close(dfd);
		done(l, rec);
		if (rc != -EBUSY) {
			vecs_err_set(err, rc, "cannot attach %s to %s: %s", path, dev, strerror(-rc));
			goto out;
		}
	}
	rc = vecs_err_set(err, -EBUSY, "cannot attach %s: every free loop device was taken first",
			  path);
out:
	if (ctl >= 0)
		close(ctl);
	close(bfd);
	return rc;
}

int sio_loop_detach(const char *dev, const char *path, struct vecs_err *err)
{
	int fd;

	if (!sio_loop_backs(dev, path))
		return 0; /* gone, or reused for something else: not ours */
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, LOOP_CLR_FD, 0) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return vecs_err_set(err, -e, "cannot detach %s from %s: %s", dev, path, strerror(e));
	}
	close(fd);
	return 0;
}

/* Write back what the block device caches, so the backing file holds every byte. */
static void loop_flush(const char *dev)
{
	int fd;

	if (!dev[0] || (fd = open(dev, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

/* Drop the block device's cached pages after its file was written underneath it. */
static void loop_drop_cache(const char *dev)
{
	int fd;

	if (!dev[0] || (fd = open(dev, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	(void)fsync(fd);
	(void)ioctl(fd, BLKFLSBUF, 0);
	close(fd);
}

/* --- files ------------------------------------------------------------------------- */

static void volume_path(struct sio_gw *gw, struct sio_volume *v)
{
	snprintf(v->path, sizeof(v->path), "%s/%s.vol", gw->data_dir, v->id);
}

/* Create v's backing file (recorded) with size kb; fd returned open. */
static int new_file(struct sio_gw *gw, struct sio_volume *v, int *fdp, struct vecs_err *err)
{
	int fd, rc;

	volume_path(gw, v);
	if ((rc = vecs_ledger_add_path(L(gw), VECS_OBJ_FILE, v->path, &v->rec_file, err)) < 0)
		return rc;
	fd = open(v->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = vecs_err_set(err, -errno, "cannot create volume file %s: %s", v->path,
				  strerror(errno));
		done(L(gw), &v->rec_file);
		return rc;
	}
	if (ftruncate(fd, (off_t)(v->size_kb * 1024)) < 0 ||
	    (v->type == SIO_THICK && posix_fallocate(fd, 0, (off_t)(v->size_kb * 1024)) != 0)) {
		rc = vecs_err_set(err, -errno ? -errno : -ENOSPC,
				  "cannot size volume file %s to %llu KiB: %s", v->path,
				  (unsigned long long)v->size_kb, strerror(errno ? errno : ENOSPC));
		close(fd);
		unlink(v->path);
		done(L(gw), &v->rec_file);
		return rc;
	}
	*fdp = fd;
	return 0;
}

static void drop_file(struct sio_gw *gw, struct sio_volume *v)
{
	unlink(v->path);
	done(L(gw), &v->rec_file);
}

/* Copy src's bytes into dst (both open), keeping holes: a reflink where the file system
 * has them, else data extents found with SEEK_DATA/SEEK_HOLE. */
static int copy_sparse(int in, int out, const char *what, struct vecs_err *err)
{
	off_t end = lseek(in, 0, SEEK_END), pos = 0;

	if (ioctl(out, FICLONE, in) == 0)
		return 0;
	while (pos < end) {
		off_t data = lseek(in, pos, SEEK_DATA), hole;
		if (data < 0) {
			if (errno == ENXIO)
				break; /* only a hole is left */
			goto fail;
		}
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			goto fail;
		for (off_t o = data; o < hole;) {
			loff_t a = o, b = o;
			ssize_t n = copy_file_range(in, &a, out, &b, (size_t)(hole - o), 0);
			if (n <= 0)
				goto fail;
			o += n;
		}
		pos = hole;
	}
	return fdatasync(out) < 0 ? vecs_err_set(err, -errno, "cannot sync %s", what) : 0;
fail:
	return vecs_err_set(err, -(errno ? errno : EIO), "cannot copy %s: %s", what,
			    strerror(errno ? errno : EIO));
}

/* --- the backend ------------------------------------------------------------------- */

static int be_create(struct sio_gw *gw, struct sio_volume *v, struct vecs_err *err)
{
	int fd, rc;

	if ((rc = new_file(gw, v, &fd, err)) < 0)
		return rc;
	close(fd);
	if ((rc = sio_loop_attach(L(gw), v->path, v->loop, &v->rec_loop, err)) < 0) {
		v->loop[0] = '\0';
		drop_file(gw, v);
	}
	return rc;
}

static int be_copy(struct sio_gw *gw, const struct sio_volume *src, struct sio_volume *dst,
		   struct vecs_err *err)
{
	int in, out, rc;

	loop_flush(src->loop);
	in = open(src->path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return vecs_err_set(err, -errno, "cannot open volume file %s: %s", src->path,
				    strerror(errno));
	if ((rc = new_file(gw, dst, &out, err)) < 0) {
		close(in);
		return rc;
	}
	rc = copy_sparse(in, out, src->path, err);
	close(in);
	close(out);
	if (rc == 0 && (rc = sio_loop_attach(L(gw), dst->path, dst->loop, &dst->rec_loop, err)) < 0)
		dst->loop[0] = '\0';
	if (rc < 0)
		drop_file(gw, dst);
	return rc;
}

static int be_overwrite(struct sio_gw *gw, const struct sio_volume *src, struct sio_volume *dst,
			struct vecs_err *err)
{
	int in, out, rc;

	loop_flush(src->loop);
	loop_flush(dst->loop);
	in = open(src->path, O_RDONLY | O_CLOEXEC);
	out = open(dst->path, O_RDWR | O_CLOEXEC);
	if (in < 0 || out < 0) {
		rc = vecs_err_set(err, -errno, "cannot open volume files %s and %s: %s", src->path,
				  dst->path, strerror(errno));
	} else if (ftruncate(out, 0) < 0) {
		rc = vecs_err_set(err, -errno, "cannot truncate %s: %s", dst->path, strerror(errno));
	} else {
		rc = copy_sparse(in, out, src->path, err);
		/* the device keeps its size: a larger destination keeps its (zeroed) tail */
		if (ftruncate(out, (off_t)(dst->size_kb * 1024)) < 0 && rc == 0)
			rc = vecs_err_set(err, -errno, "cannot size %s", dst->path);
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	loop_drop_cache(dst->loop);
	return rc;
}

static int be_resize(struct sio_gw *gw, struct sio_volume *v, uint64_t new_kb,
		     struct vecs_err *err)
{
	int fd;

	if (truncate(v->path, (off_t)(new_kb * 1024)) < 0)
		return vecs_err_set(err, -errno, "cannot grow volume file %s: %s", v->path,
				    strerror(errno));
	if (!v->loop[0])
		return 0;
	fd = open(v->loop, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, LOOP_SET_CAPACITY, 0) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return vecs_err_set(err, -e, "cannot grow %s to the size of %s: %s", v->loop,
				    v->path, strerror(e));
	}
	close(fd);
	return 0;
}

static void link_path(struct sio_gw *gw, const struct sio_volume *v, int s, char *buf,
		      size_t len)
{
	char name[96];

	sio_link_name(gw, v, name, sizeof(name));
	snprintf(buf, len, "%s/%s", gw->sdcs[s].dir, name);
}

/* mkdir -p dir, each directory created recorded in the ledger. */
static int make_dirs(struct vecs_ledger *l, const char *dir, struct vecs_err *err)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(p))
		return vecs_err_set(err, -ENAMETOOLONG, "directory name too long: %s", dir);
	memcpy(p, dir, n + 1);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			struct stat st;
			*s = '\0';
			if (stat(p, &st) < 0) {
				int rc = vecs_ledger_add_path(l, VECS_OBJ_DIR, p, NULL, err);
				if (rc < 0)
					return rc;
				if (mkdir(p, 0755) < 0 && errno != EEXIST)
					return vecs_err_set(err, -errno, "cannot create SDC directory %s: %s",
							    p, strerror(errno));
			}
			*s = c;
			if (!c)
				break;
		}
	}
	return 0;
}

static int be_map(struct sio_gw *gw, struct sio_volume *v, int s, struct vecs_err *err)
{
	char lp[PATH_MAX];
	int rc;

	if (!v->loop[0])
		return vecs_err_set(err, -ENODEV, "volume %s has no device to expose", v->id);
	if ((rc = make_dirs(L(gw), gw->sdcs[s].dir, err)) < 0)
		return rc;
	link_path(gw, v, s, lp, sizeof(lp));
	if ((rc = vecs_ledger_add_path(L(gw), VECS_OBJ_FILE, lp, &v->rec_link[s], err)) < 0)
		return rc;
	(void)unlink(lp); /* a stale link of a crashed gateway */
	if (symlink(v->loop, lp) < 0) {
		rc = vecs_err_set(err, -errno, "cannot create SDC device link %s: %s", lp,
				  strerror(errno));
		done(L(gw), &v->rec_link[s]);
	}
	return rc;
}

static int be_unmap(struct sio_gw *gw, struct sio_volume *v, int s, struct vecs_err *err)
{
	char lp[PATH_MAX];

	link_path(gw, v, s, lp, sizeof(lp));
	if (unlink(lp) < 0 && errno != ENOENT)
		return vecs_err_set(err, -errno, "cannot remove SDC device link %s: %s", lp,
				    strerror(errno));
	done(L(gw), &v->rec_link[s]);
	return 0;
}

static int be_remove(struct sio_gw *gw, struct sio_volume *v, struct vecs_err *err)
{
	int rc;

	if (v->loop[0]) {
		if ((rc = sio_loop_detach(v->loop, v->path, err)) < 0)
			return rc;
		done(L(gw), &v->rec_loop);
		v->loop[0] = '\0';
	}
	if (unlink(v->path) < 0 && errno != ENOENT)
		return vecs_err_set(err, -errno, "cannot remove volume file %s: %s", v->path,
				    strerror(errno));
	done(L(gw), &v->rec_file);
	return 0;
}

static int be_save(struct sio_gw *gw, struct vecs_err *err)
{
	char path[PATH_MAX], *json;
	int rc;

	if ((rc = sio_state_to_json(gw, &json, err)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/" SIO_STATE, gw->data_dir);
	rc = vecs_write_file_atomic(path, json, strlen(json), 0600, err);
	free(json);
	return rc;
}

const struct sio_backend sio_real_backend = {
	.create = be_create,
	.copy = be_copy,
	.overwrite = be_overwrite,
	.resize = be_resize,
	.remove = be_remove,
	.map = be_map,
	.unmap = be_unmap,
	.save = be_save,
};

/* --- start, stop, reap ------------------------------------------------------------- */

static bool link_points_to(const char *lp, const char *dev)
{
	char buf[64];
	ssize_t n = readlink(lp, buf, sizeof(buf) - 1);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, dev) == 0;
}

/* Is (kind, a) recorded in the fresh ledger? */
static bool kept(const struct vecs_ledger_list *fresh, enum vecs_obj kind, const char *a)
{
	for (size_t i = 0; i < fresh->n; i++)
		if (fresh->recs[i].kind == kind && strcmp(fresh->recs[i].a, a) == 0)
			return true;
	return false;
}

int sio_real_start(struct sio_gw *gw, struct sio_real *ctx, struct vecs_err *err)
{
	char path[PATH_MAX], fresh_path[PATH_MAX + 8], run_id[VECS_RUN_ID_LEN], p[24], s[24];
	struct vecs_ledger_list old = { 0 }, fresh = { 0 };
	bool have_old = false;
	uint64_t start;
	int rc;

	gw->be = &sio_real_backend;
	gw->be_ctx = ctx;
	snprintf(path, sizeof(path), "%s/" SIO_LEDGER, gw->data_dir);
	snprintf(fresh_path, sizeof(fresh_path), "%s.new", path);
	rc = vecs_ledger_read(path, &old, err);
	if (rc == 0) {
		have_old = true;
		if (vecs_ledger_owner_alive(&old)) {
			rc = vecs_err_set(err, -EBUSY,
					  "another gateway (pid %d) runs on data dir %s: stop it first",
					  (int)old.owner_pid, gw->data_dir);
			goto out;
		}
	} else if (rc != -ENOENT) {
		goto out;
	}
	vecs_err_clear(err);
	/* 1. A fresh ledger owned by this process, holding what survives of the old run. */
	(void)unlink(fresh_path);
	if ((rc = vecs_run_id_new(run_id)) < 0 || (rc = vecs_proc_starttime(getpid(), &start)) < 0) {
		rc = vecs_err_set(err, rc, "cannot identify this process for the ledger");
		goto out;
	}
	snprintf(p, sizeof(p), "%d", (int)getpid());
	snprintf(s, sizeof(s), "%llu", (unsigned long long)start);
	if ((rc = vecs_ledger_open(&ctx->ledger, fresh_path, err)) < 0 ||
	    (rc = vecs_ledger_append(ctx->ledger, VECS_OBJ_RUN, run_id, p, s, NULL, err)) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/" SIO_STATE, gw->data_dir);
	if ((rc = vecs_ledger_add_path(ctx->ledger, VECS_OBJ_FILE, path, NULL, err)) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/" SIO_STATE ".tmp", gw->data_dir);
	if ((rc = vecs_ledger_add_path(ctx->ledger, VECS_OBJ_FILE, path, NULL, err)) < 0)
		goto out;
	/* SDC directories the old run created: still in use */
	for (size_t i = 0; have_old && i < old.n; i++) {
		struct stat st;
		if (old.recs[i].kind == VECS_OBJ_DIR && !old.recs[i].done &&
		    stat(old.recs[i].a, &st) == 0 &&
		    (rc = vecs_ledger_add_path(ctx->ledger, VECS_OBJ_DIR, old.recs[i].a, NULL, err)) < 0)
			goto out;
	}
	for (size_t i = 0; i < gw->n_vols; i++) {
		struct sio_volume *v = &gw->vols[i];
		struct stat st;

		if (stat(v->path, &st) < 0) {
			fprintf(stderr, "vecs-scaleio-gw: volume %s lost its file %s; dropped\n", v->id,
				v->path);
			*v = gw->vols[--gw->n_vols];
			i--;
			continue;
		}
		if ((rc = vecs_ledger_add_path(ctx->ledger, VECS_OBJ_FILE, v->path, &v->rec_file,
					       err)) < 0)
			goto out;
		if (v->loop[0] && sio_loop_backs(v->loop, v->path)) {
			if ((rc = vecs_ledger_append(ctx->ledger, VECS_OBJ_LOOP, v->loop, v->path, NULL,
						     &v->rec_loop, err)) < 0)
				goto out;
		} else {
			v->loop[0] = '\0';
		}
		for (int k = 0; k < gw->n_sdcs; k++) {
			char lp[PATH_MAX];
			if (!v->mapped[k] || !v->loop[0])
				continue;
			link_path(gw, v, k, lp, sizeof(lp));
			if (link_points_to(lp, v->loop) &&
			    (rc = vecs_ledger_add_path(ctx->ledger, VECS_OBJ_FILE, lp, &v->rec_link[k],
						       err)) < 0)
				goto out;
		}
	}
	/* 2. Whatever else the old ledger names is a leftover: remove it, newest first. */
	if (have_old) {
		if ((rc = vecs_ledger_read(fresh_path, &fresh, err)) < 0)
			goto out;
		for (size_t i = old.n; i-- > 0;) {
			const struct vecs_ledger_rec *r = &old.recs[i];
			struct vecs_err e2 = { 0 };
			if (r->done || kept(&fresh, r->kind, r->a))
				continue;
			if (r->kind == VECS_OBJ_LOOP && sio_loop_detach(r->a, r->b, &e2) < 0)
				fprintf(stderr, "vecs-scaleio-gw: leftover: %s\n", e2.msg);
			else if (r->kind == VECS_OBJ_FILE && unlink(r->a) < 0 && errno != ENOENT)
				fprintf(stderr, "vecs-scaleio-gw: cannot remove leftover %s: %s\n", r->a,
					strerror(errno));
			else if (r->kind == VECS_OBJ_DIR)
				(void)rmdir(r->a);
		}
	}
	/* 3. The fresh ledger replaces the old one. */
	snprintf(path, sizeof(path), "%s/" SIO_LEDGER, gw->data_dir);
	if (rename(fresh_path, path) < 0) {
		rc = vecs_err_set(err, -errno, "cannot install ledger %s: %s", path, strerror(errno));
		goto out;
	}
	vecs_ledger_close(ctx->ledger);
	if ((rc = vecs_ledger_open(&ctx->ledger, path, err)) < 0)
		goto out;
	/* 4. Attach and link what is missing. */
	for (size_t i = 0; i < gw->n_vols; i++) {
		struct sio_volume *v = &gw->vols[i];
		if (!v->loop[0] && (rc = sio_loop_attach(ctx->ledger, v->path, v->loop, &v->rec_loop,
							 err)) < 0) {
			v->loop[0] = '\0';
			goto out;
		}
		for (int k = 0; k < gw->n_sdcs; k++)
			if (v->mapped[k] && !v->rec_link[k] && (rc = be_map(gw, v, k, err)) < 0)
				goto out;
	}
	rc = be_save(gw, err);
out:
	if (have_old)
		vecs_ledger_list_free(&old);
	vecs_ledger_list_free(&fresh);
	return rc;
}

int sio_real_stop(struct sio_gw *gw, struct vecs_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < gw->n_vols; i++) {
		struct sio_volume *v = &gw->vols[i];
		for (int k = 0; k < gw->n_sdcs; k++)
			if (v->rec_link[k]) {
				char lp[PATH_MAX];
				link_path(gw, v, k, lp, sizeof(lp));
				if (unlink(lp) == 0 || errno == ENOENT)
					done(L(gw), &v->rec_link[k]);
			}
		if (v->loop[0]) {
			int r = sio_loop_detach(v->loop, v->path, err);
			if (r < 0) {
				rc = rc ? rc : r;
				continue;
			}
			done(L(gw), &v->rec_loop);
			v->loop[0] = '\0';
		}
	}
	/* mappings stay in the model: the next start links them again */
	int r = be_save(gw, rc ? NULL : err);
	return rc ? rc : r;
}

int sio_real_reap(const char *data_dir, struct vecs_err *err)
{
	char path[PATH_MAX], fresh[PATH_MAX + 8];
	struct vecs_ledger_list list;
	struct vecs_reap_stats st = { 0 };
	int rc;

	snprintf(path, sizeof(path), "%s/" SIO_LEDGER, data_dir);
	snprintf(fresh, sizeof(fresh), "%s.new", path);
	rc = vecs_ledger_read(path, &list, err);
	if (rc == -ENOENT) {
		vecs_err_clear(err);
		(void)unlink(fresh);
		(void)rmdir(data_dir);
		return 0;
	}
	if (rc < 0)
		return rc;
	bool alive = vecs_ledger_owner_alive(&list);
	pid_t pid = list.owner_pid;
	vecs_ledger_list_free(&list);
	if (alive)
		return vecs_err_set(err, -EBUSY,
				    "the gateway (pid %d) of %s still runs: stop it (SIGTERM) first",
				    (int)pid, data_dir);
	if ((rc = vecs_reap_ledger(path, stderr, &st, err)) < 0)
		return rc;
	(void)unlink(path);
	(void)unlink(fresh);
	(void)rmdir(data_dir); /* only when nothing else is in it */
	return 0;
}
