/* The stack's small-filesystem pool (smp-small): a real full disk for the fault runner.
 *
 * A 64 MiB sparse file D/smp-small.img, a loop device on it, ext4 on that, mounted at
 * D/pools/smp-small in the keeper's (the root) mount namespace. keeper_up makes it before
 * the hosts start, so every host's private mount namespace (a copy of the root one: this
 * machine's / is not a shared mount, so later mounts would not reach the hosts) holds
 * the same filesystem at the same path. Each object is recorded in stack.ledger before
 * it is made; the reaper undoes them newest first: unmount, detach the loop device,
 * remove the file, remove the directory. */
/* paths are the stack directory (shorter than STACK_DIR_MAX) plus a short suffix */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "targets/stack_keeper.h"
#include "util/ledger.h"

#define SMALL_POOL "smp-small"
#define SMALL_IMAGE_BYTES (64LL * 1024 * 1024)

/* Create the sparse backing file (recorded first). */
static int small_image(struct keeper *k, const char *path, struct vecs_err *err)
{
	int fd, r;

	r = vecs_ledger_add_path(k->ledger, VECS_OBJ_FILE, path, NULL, err);
	if (r < 0)
		return r;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return vecs_err_set(err, -errno, "cannot create %s: %s", path, strerror(errno));
	if (ftruncate(fd, SMALL_IMAGE_BYTES) < 0) {
		r = -errno;
		close(fd);
		return vecs_err_set(err, r, "cannot size %s to 64 MiB: %s", path, strerror(-r));
	}
	close(fd);
	return 0;
}

/* Attach path to a free loop device, recorded before the attach. Another process may
 * take the free device first: then the record is closed and the next one tried. */
static int small_loop(struct keeper *k, const char *path, char dev[32], struct vecs_err *err)
{
	int ctl, bfd, r = -EBUSY;

	bfd = open(path, O_RDWR | O_CLOEXEC);
	if (bfd < 0)
		return vecs_err_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		r = vecs_err_set(err, -errno,
				 "cannot open /dev/loop-control (%s): the small pool needs root and "
				 "the loop module (modprobe loop)",
				 strerror(errno));
		close(bfd);
		return r;
	}
	for (int attempt = 0; attempt < 16 && r == -EBUSY; attempt++) {
		struct loop_config cfg = { .fd = (unsigned)bfd };
		int n = ioctl(ctl, LOOP_CTL_GET_FREE), dfd;
		uint64_t rec;

		if (n < 0) {
			r = vecs_err_set(err, -errno, "no free loop device: %s", strerror(errno));
			break;
		}
		snprintf(dev, 32, "/dev/loop%d", n);
		if ((r = vecs_ledger_append(k->ledger, VECS_OBJ_LOOP, dev, path, NULL, &rec, err)) < 0)
			break;
		snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", path);
		dfd = open(dev, O_RDWR | O_CLOEXEC);
		r = dfd < 0 ? -errno : ioctl(dfd, LOOP_CONFIGURE, &cfg) == 0 ? 0 : -errno;
		if (dfd >= 0)
			close(dfd);
		if (r < 0)
			(void)vecs_ledger_done(k->ledger, rec, NULL);
		if (r < 0 && r != -EBUSY)
			vecs_err_set(err, r, "cannot attach %s to %s: %s", path, dev, strerror(-r));
	}
	if (r == -EBUSY)
		vecs_err_set(err, r, "cannot attach %s: every free loop device was taken first", path);
	close(ctl);
	close(bfd);
	return r;
}

static int small_mount(struct keeper *k, const char *dev, const char *target,
		       struct vecs_err *err)
{
	const char *argv[] = { "mkfs.ext4", "-q", "-m", "0", "-E", "nodiscard", dev, NULL };
	int r;

	/* no reserved blocks: root (the agents) and everyone else see the same free space */
	r = stack_run_cmd_env(k, argv, NULL, 60, "small-pool.log", err);
	if (r < 0)
		return r;
	r = vecs_ledger_append(k->ledger, VECS_OBJ_MOUNT, target, NULL, NULL, NULL, err);
	if (r < 0)
		return r;
	if (mount(dev, target, "ext4", MS_NOSUID | MS_NODEV, NULL) < 0)
		return vecs_err_set(err, -errno, "cannot mount %s (ext4 on %s) at %s: %s", dev,
				    dev, target, strerror(errno));
	return 0;
}

int stack_small_pool_up(struct keeper *k, struct vecs_err *err)
{
	char image[PATH_MAX], target[PATH_MAX], dev[32];
	struct statvfs sv;
	int r;

	snprintf(image, sizeof(image), "%s/%s.img", k->dir, SMALL_POOL);
	snprintf(target, sizeof(target), "%s/pools/%s", k->dir, SMALL_POOL);
	r = vecs_ledger_add_path(k->ledger, VECS_OBJ_DIR, target, NULL, err);
	if (r < 0)
		return r;
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		return vecs_err_set(err, -errno, "cannot create %s: %s", target, strerror(errno));
	if ((r = small_image(k, image, err)) < 0 || (r = small_loop(k, image, dev, err)) < 0 ||
	    (r = small_mount(k, dev, target, err)) < 0)
		return r;
	if (chmod(target, 0755) < 0 || statvfs(target, &sv) < 0)
		return vecs_err_set(err, -errno, "cannot set up %s: %s", target, strerror(errno));
	snprintf(k->small_pool, sizeof(k->small_pool), "%s", target);
	k->small_bytes = (uint64_t)sv.f_blocks * sv.f_frsize;
	return 0;
}

json_t *stack_small_pool_json(const struct keeper *k)
{
	if (!k->small_pool[0])
		return NULL;
	return json_pack("{s:s, s:s, s:{s:s}, s:b, s:I}", "name", SMALL_POOL, "type", "smp",
			 "probe", "path", k->small_pool, "full_disk", 1, "size_bytes",
			 (json_int_t)k->small_bytes);
}
