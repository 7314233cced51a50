/* qemu-img command lines of the agent, exactly as CLOUDSTACK.md ("KVM agent") gives
 * them. Pure: the unit tests check every argv, and that a key file's path is the only
 * trace of a secret in it (QEMU reads the passphrase from the 0600 file itself).
 *
 * Secret ids: the source image's key is sec0, the destination's sec1 (a create or
 * resize has only sec0). No cipher, hash or iter-time options: QEMU's defaults are
 * CloudStack's (aes-256 xts-plain64 sha256); the kdf=fast profile works through the
 * getrusage shim in the environment, not through argv. */
#ifndef VECS_REF_AGENT_QEMU_IMG_ARGV_H
#define VECS_REF_AGENT_QEMU_IMG_ARGV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define QIMG_MAX_ARGS 40

struct qimg_cmd {
	const char *argv[QIMG_MAX_ARGS + 1]; /* NULL-terminated */
	size_t argc;
	char *owned[QIMG_MAX_ARGS]; /* strings built here, freed by qimg_cmd_free */
	size_t nowned;
};

struct qimg_image {
	const char *path;
	const char *format;   /* "qcow2" or "raw" (raw + key_file: LUKS, QEMU's luks driver) */
	bool block;           /* a block device (file.driver=host_device) */
	const char *key_file; /* NULL: not encrypted */
	/* NFS (QEMU's nfs driver, libnfs): the server and the path on it ("/export/v.qcow2");
	 * path is then the image's nfs:// URL, used where a plain file name goes */
	const char *nfs_host;
	const char *nfs_path;
};

/* qemu-img create: a new qcow2 file, LUKS-encrypted when img->key_file is set. */
int qimg_create(struct qimg_cmd *c, const struct qimg_image *img, uint64_t size,
		struct vecs_err *err);
/* qemu-img convert from src to dst. dst_exists: write into an existing image (a
 * LUKS-formatted block device, -n --target-image-opts); otherwise a new file in
 * dst->format, encrypted with dst->key_file when set. */
int qimg_convert(struct qimg_cmd *c, const struct qimg_image *src, const struct qimg_image *dst,
		 bool dst_exists, struct vecs_err *err);
/* qemu-img resize of a qcow2 file (offline). */
int qimg_resize(struct qimg_cmd *c, const struct qimg_image *img, uint64_t size,
		struct vecs_err *err);
/* qemu-img info --output=json (no key needed: the virtual size is in the header). */
int qimg_info(struct qimg_cmd *c, const struct qimg_image *img, struct vecs_err *err);
void qimg_cmd_free(struct qimg_cmd *c);

/* The --image-opts string for img with secret id sid (commas in the path doubled, as
 * QEMU's option syntax needs). Malloc'ed, or NULL. */
char *qimg_image_opts(const struct qimg_image *img, const char *sid);

#endif
