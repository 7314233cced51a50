/* Volume commands of vecs-agent (COMMANDS.md): create, delete, resize, copy, snapshot,
 * revert, and host_info. File pools (local, smp) hold LUKS qcow2 files made by
 * qemu-img; ScaleIO volumes are raw LUKS1 on the mapped block device, formatted with
 * libcryptsetup, their data written through QEMU's luks driver. */
#include <errno.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"

#define A(ctx) ((struct agent *)(ctx))

static void qimg_of(const struct agent_vol *v, const struct agent_key *k, struct qimg_image *img)
{
	img->path = v->path;
	img->format = v->format;
	img->block = v->pool == POOL_SCALEIO;
	img->key_file = v->encrypted ? k->path : NULL;
	img->nfs_host = v->pool == POOL_NFS ? v->nfs_host : NULL;
	img->nfs_path = v->pool == POOL_NFS ? v->nfs_path : NULL;
}

/* The virtual size in a qcow2 file's header (big-endian at byte 24, after the magic
 * "QFI\xfb" and version): 0, or -1 when the file is not a readable qcow2 (qemu-img info
 * then answers). A pread instead of a qemu-img process (b-agent.sh: ~7 ms each). */
static int qcow2_header_size(const char *path, uint64_t *size)
{
	unsigned char h[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? pread(fd, h, sizeof(h), 0) : -1;

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(h) || memcmp(h, "QFI\xfb", 4))
		return -1;
	*size = 0;
	for (int i = 24; i < 32; i++)
		*size = *size << 8 | h[i];
	return 0;
}

/* The volume's size: qcow2 virtual size (local and smp files: from the header), or the
 * block device's size. */
static int vol_size(struct agent *a, const struct agent_vol *v, uint64_t *size,
		    struct vecs_err *err)
{
	if (v->pool == POOL_SCALEIO) {
		int fd = open(v->path, O_RDONLY | O_CLOEXEC);
		int r = fd < 0 ? -errno : 0;

		if (r == 0 && ioctl(fd, BLKGETSIZE64, size) < 0)
			r = -errno;
		if (fd >= 0)
			close(fd);
		return r < 0 ? vecs_err_set(err, r, "cannot read the size of %s: %s", v->path,
					    strerror(-r))
			     : 0;
	}
	if (v->pool != POOL_NFS && qcow2_header_size(v->path, size) == 0)
		return 0;
	struct qimg_image img = { .path = v->path, .format = v->format };
	struct qimg_cmd c;
	char out[8192];
	json_t *j;
	int r = qimg_info(&c, &img, err);

	if (r < 0)
		return r;
	r = agent_qimg_run(a, &c, out, sizeof(out), NULL, err);
	qimg_cmd_free(&c);
	if (r < 0)
		return r;
	j = json_loads(out, 0, NULL);
	if (!json_is_integer(json_object_get(j, "virtual-size"))) {
		json_decref(j);
		return vecs_err_set(err, -EIO, "qemu-img info %s: no virtual-size", v->path);
	}
	*size = (uint64_t)json_integer_value(json_object_get(j, "virtual-size"));
	json_decref(j);
	return 0;
}

static json_t *vol_result(const struct agent_vol *v, uint64_t size, unsigned retries)
{
	return json_pack("{s:s, s:I, s:s, s:o, s:I}", "path", v->path_arg, "size", (json_int_t)size,
			 "format", v->format, "encrypt_format",
			 v->encrypted ? json_string("luks") : json_pack("n"), "kdf_retries",
			 (json_int_t)retries);
}

int h_host_info(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		struct vecs_err *err)
{
	struct agent *a = A(ctx);

	*result = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "encryptionsupported",
			    a->encryption, "qemu_img_version", a->qemu_img_version,
			    "cryptsetup_version", a->cryptsetup_version, "libvirt_uri", a->uri,
			    "tcp_uri", a->tcp_uri, "domain_type", a->domain_type, "kdf",
			    a->kdf_fast ? "fast" : "production", "kdf_retries",
			    (json_int_t)atomic_load(&a->kdf_retries));
	return *result ? 0 : vecs_err_set(err, -ENOMEM, "out of memory");
}

/* Write a volume into place: a new qcow2 file (empty or from src), or a LUKS header
 * and optionally src's data on a ScaleIO device. On failure nothing is left: the file
 * is removed, the device's header wiped. */
static int make_volume(struct agent *a, struct agent_vol *v, const struct qimg_image *src,
		       unsigned *retries, uint64_t *known, struct vecs_err *err)
{
	struct agent_key k = { 0 };
	struct qimg_image dst;
	struct qimg_cmd c;
	int r = 0;

	if (v->encrypted && (r = agent_key_write(a, v->pass, &k, err)) < 0)
		return r;
	qimg_of(v, &k, &dst);
	if (v->pool == POOL_SCALEIO) {
		if (v->encrypted)
			r = agent_luks_format(a, v->path, v->pass, err);
		if (r == 0 && src && (r = qimg_convert(&c, src, &dst, true, err)) == 0) {
			r = agent_qimg_run(a, &c, NULL, 0, retries, err);
			qimg_cmd_free(&c);
		}
		if (r < 0 && v->encrypted)
			agent_luks_wipe_header(v->path, NULL);
		goto out;
	}
	if ((r = agent_vol_exists(a, v, err)) != 0) {
		if (r > 0)
			r = vecs_err_set(err, -EEXIST, "volume %s: %s already exists", v->name, v->path);
		goto out;
	}
	if (src)
		r = qimg_convert(&c, src, &dst, false, err);
	else
		r = qimg_create(&c, &dst, v->size, err);
	if (r == 0) {
		r = agent_qimg_run(a, &c, NULL, 0, retries, err);
		qimg_cmd_free(&c);
	}
	/* a whole number of sectors is the virtual size qemu-img makes exactly */
	if (r == 0 && !src && v->size % 512 == 0)
		*known = v->size;
	if (r == 0 && src && v->size) {
		/* a volume bigger than its template: grow it, as CloudStack does */
		uint64_t cur = 0;
		r = vol_size(a, v, &cur, err);
		if (r == 0 && cur < v->size && (r = qimg_resize(&c, &dst, v->size, err)) == 0) {
			r = agent_qimg_run(a, &c, NULL, 0, retries, err);
			qimg_cmd_free(&c);
		}
		if (r == 0)
			*known = cur >= v->size ? cur : v->size % 512 == 0 ? v->size : 0;
	}
	if (r < 0)
		agent_vol_unlink(a, v, NULL);
out:
	agent_key_remove(a, &k);
	return r;
}

int h_create_volume(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		    struct vecs_err *err)
{
	struct agent *a = A(ctx);
	json_t *tpl = json_object_get(args, "template");
	struct qimg_image src = { 0 };
	struct agent_vol v;
	unsigned retries = 0;
	uint64_t size = 0, tok;
	int r;

	if ((r = agent_vol_parse(a, json_object_get(args, "volume"), s, "volume.passphrase", true,
				 &v, err)) < 0)
		return r;
	if (tpl) {
		src.path = json_string_value(json_object_get(tpl, "path"));
		src.format = json_string_value(json_object_get(tpl, "format"));
		if (!src.format)
			src.format = "raw";
		if (!src.path || src.path[0] != '/')
			return vecs_err_set(err, -EINVAL, "volume %s: template path must be absolute",
					    v.name);
		if (access(src.path, R_OK) < 0)
			return vecs_err_set(err, -ENOENT, "volume %s: template %s is not readable",
					    v.name, src.path);
	} else if (!v.size && v.pool != POOL_SCALEIO) {
		return vecs_err_set(err, -EINVAL, "volume %s: size is required", v.name);
	}
	tok = agent_path_hold(a, v.path);
	/* replace: the control plane says no volume of its database is at this path, only
	 * what an earlier create of the same volume left when it failed (timed out) */
	if (json_is_true(json_object_get(args, "replace")) && v.pool != POOL_SCALEIO &&
	    agent_vol_exists(a, &v, NULL) > 0) {
		agent_log(a, "create_volume %s: replacing what an earlier attempt left at %s",
			  v.name, v.path);
		r = agent_vol_unlink(a, &v, err);
	}
	/* the size answered: known from the qemu-img calls made, else asked (bench:
	 * b-agent.sh; each qemu-img info is a process start) */
	if (r == 0)
		r = make_volume(a, &v, tpl ? &src : NULL, &retries, &size, err);
	if (r == 0 && !size)
		r = vol_size(a, &v, &size, err);
	agent_path_release(a, tok);
	if (r < 0)
		return r;
	agent_log(a, "create_volume %s on %s: %s (%s)", v.name,
		  v.pool == POOL_SCALEIO ? "scaleio" : v.pool == POOL_NFS ? "nfs" : "file pool", v.path,
		  v.encrypted ? "luks" : "plain");
	*result = vol_result(&v, size, retries);
	return 0;
}

static int delete_held(struct agent *a, json_t *args, const struct chan_secrets *s,
		       struct agent_vol *vp, struct vecs_err *err);

int h_delete_volume(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		    struct vecs_err *err)
{
	struct agent *a = A(ctx);
	struct agent_vol v;
	uint64_t tok;
	int r;

	if ((r = agent_vol_parse(a, json_object_get(args, "volume"), s, "volume.passphrase", false,
				 &v, err)) < 0)
		return r;
	tok = agent_path_hold(a, v.path); /* after a create still running there */
	r = delete_held(a, args, s, &v, err);
	agent_path_release(a, tok);
	return r;
}

static int delete_held(struct agent *a, json_t *args, const struct chan_secrets *s,
		       struct agent_vol *vp, struct vecs_err *err)
{
	struct agent_vol v = *vp;
	int r;

	if (v.pool == POOL_SCALEIO) {
		/* the gateway removes the volume (control plane); the agent wipes the key
		 * material first if the volume is still mapped here */
		struct agent_vol dv;
		if (agent_vol_parse(a, json_object_get(args, "volume"), s, "volume.passphrase",
				    true, &dv, NULL) == 0 &&
		    dv.encrypted && (r = agent_luks_wipe_header(dv.path, err)) < 0)
			return r;
	} else if ((r = agent_vol_unlink(a, &v, err)) < 0) {
		return r;
	}
	agent_log(a, "delete_volume %s", v.name);
	return 0;
}

/* resize_volume offline on a file pool: qemu-img resize with the key. A shrink is refused
 * (qemu-img's own refusal without --shrink, reported as the agent words it). The size
 * answered is the new size when whole sectors, else qemu-img info's. */
static int resize_file(struct agent *a, struct agent_vol *v, uint64_t want, json_t **result,
		       struct vecs_err *err)
{
	struct agent_key k = { 0 };
	struct qimg_image img;
	struct qimg_cmd c;
	unsigned retries = 0;
	uint64_t size = 0;
	int r;

	if (v->encrypted && (r = agent_key_write(a, v->pass, &k, err)) < 0)
		return r;
	qimg_of(v, &k, &img);
	if ((r = qimg_resize(&c, &img, want, err)) == 0) {
		r = agent_qimg_run(a, &c, NULL, 0, &retries, err);
		qimg_cmd_free(&c);
	}
	agent_key_remove(a, &k);
	/* qemu-img 7.2 ends with "warning: Shrinking an image will delete all data ..."
	 * after "Use the --shrink option"; either wording (else its own error stands) */
	if (r < 0 && (strstr(err->msg, "--shrink") || strstr(err->msg, "Shrinking an image")) &&
	    vol_size(a, v, &size, NULL) == 0)
		return vecs_err_set(err, -EINVAL, "volume %s: shrinking from %llu to %llu bytes is "
				    "refused", v->name, (unsigned long long)size,
				    (unsigned long long)want);
	if (r < 0)
		return r;
	if (want % 512 == 0)
		size = want;
	else if ((r = vol_size(a, v, &size, err)) < 0)
		return r;
	agent_log(a, "resize_volume %s: %llu bytes", v->name, (unsigned long long)size);
	*result = json_pack("{s:I, s:I}", "size", (json_int_t)size, "kdf_retries",
			    (json_int_t)retries);
	return 0;
}

int h_resize_volume(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		    struct vecs_err *err)
{
	struct agent *a = A(ctx);
	json_t *ns = json_object_get(args, "new_size");
	const char *vm = json_string_value(json_object_get(args, "vm"));
	struct agent_vol v;
	unsigned retries = 0;
	uint64_t size = 0, want;
	int r;

	if ((r = agent_vol_parse(a, json_object_get(args, "volume"), s, "volume.passphrase", true,
				 &v, err)) < 0)
		return r;
	if (!json_is_integer(ns) || json_integer_value(ns) <= 0)
		return vecs_err_set(err, -EINVAL, "volume %s: new_size must be a byte count", v.name);
	want = (uint64_t)json_integer_value(ns);
	/* offline on a file: qemu-img resize refuses a shrink itself (without --shrink),
	 * so the size is only asked for the refusal's message (resize_file) */
	if (!vm && v.pool != POOL_SCALEIO)
		return resize_file(a, &v, want, result, err);
	if ((r = vol_size(a, &v, &size, err)) < 0)
		return r;
	/* A ScaleIO device was already grown by the gateway (mgmt's PowerFlex driver, which
	 * refuses shrinks itself) and holds the LUKS header on top of new_size: only the
	 * guest-visible size grows here, so the device size is no measure of a shrink. */
	if (want < size && v.pool != POOL_SCALEIO)
		return vecs_err_set(err, -EINVAL, "volume %s: shrinking from %llu to %llu bytes is refused",
				    v.name, (unsigned long long)size, (unsigned long long)want);
	if (vm) {
		/* online: QEMU grows the image through its own LUKS layer */
		virConnectPtr conn = agent_conn(a, err);
		virDomainPtr dom;

		if (!conn)
			return -ECONNREFUSED;
		dom = virDomainLookupByName(conn, vm);
		/* a network disk is named by its path on the server */
		r = dom ? virDomainBlockResize(dom, v.pool == POOL_NFS ? v.nfs_path : v.path, want, VIR_DOMAIN_BLOCK_RESIZE_BYTES) : -1;
		if (r < 0)
			vecs_err_set(err, -EIO, "cannot resize volume %s of VM %s online: %s", v.name,
				     vm, agent_virt_error());
		if (dom)
			virDomainFree(dom);
		virConnectClose(conn);
		if (r < 0)
			return -EIO;
	}
	/* ScaleIO offline: the gateway grew the device; LUKS1 has no size field, the
	 * payload runs to the end of the device */
	if ((r = vol_size(a, &v, &size, err)) < 0)
		return r;
	agent_log(a, "resize_volume %s: %llu bytes%s", v.name, (unsigned long long)size,
		  vm ? " (online)" : "");
	*result = json_pack("{s:I, s:I}", "size", (json_int_t)size, "kdf_retries",
			    (json_int_t)retries);
	return 0;
}

/* Copy src's data into dst (made here). Both keys are written even when the
 * passphrases are equal: the header of dst is new either way. */
static int copy_into(struct agent *a, struct agent_vol *src, struct agent_vol *dst,
		     unsigned *retries, uint64_t *known, struct vecs_err *err)
{
	struct agent_key k = { 0 };
	struct qimg_image img;
	int r = 0;

	if (src->encrypted && (r = agent_key_write(a, src->pass, &k, err)) < 0)
		return r;
	qimg_of(src, &k, &img);
	r = make_volume(a, dst, &img, retries, known, err);
	agent_key_remove(a, &k);
	return r;
}

int h_copy_volume(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		  struct vecs_err *err)
{
	struct agent *a = A(ctx);
	struct agent_vol src, dst;
	unsigned retries = 0;
	uint64_t size = 0, tok;
	int r;

	if ((r = agent_vol_parse(a, json_object_get(args, "src"), s, "src.passphrase", true, &src,
				 err)) < 0 ||
	    (r = agent_vol_parse(a, json_object_get(args, "dst"), s, "dst.passphrase", true, &dst,
				 err)) < 0)
		return r;
	if (!strcmp(src.path, dst.path))
		return vecs_err_set(err, -EINVAL, "copy_volume: %s is both source and destination",
				    src.path);
	/* without dst.size the copy has the source's virtual size (qemu-img convert) */
	tok = agent_path_hold(a, dst.path);
	r = copy_into(a, &src, &dst, &retries, &size, err);
	if (r == 0 && !size)
		r = vol_size(a, &dst, &size, err);
	agent_path_release(a, tok);
	if (r < 0)
		return r;
	agent_log(a, "copy_volume %s -> %s", src.name, dst.name);
	*result = vol_result(&dst, size, retries);
	return 0;
}

/* A snapshot on secondary storage: a qcow2 file at an absolute path, LUKS with the
 * volume's passphrase when the volume is encrypted. */
static int snapshot_vol(struct agent *a, json_t *args, const struct agent_vol *v,
			struct agent_vol *sv, struct vecs_err *err)
{
	const char *p = json_string_value(json_object_get(json_object_get(args, "snapshot"), "path"));

	if (!p || p[0] != '/' || strlen(p) >= sizeof(sv->path))
		return vecs_err_set(err, -EINVAL, "volume %s: snapshot path must be absolute",
				    v->name);
	*sv = *v;
	sv->pool = POOL_SMP;
	sv->nfs_host[0] = sv->nfs_path[0] = '\0';
	sv->format = "qcow2";
	sv->name = p;
	sv->path_arg = p;
	snprintf(sv->path, sizeof(sv->path), "%s", p);
	return 0;
}

int h_snapshot_volume(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		      struct vecs_err *err)
{
	struct agent *a = A(ctx);
	struct agent_vol v, sv;
	unsigned retries = 0;
	uint64_t size = 0, tok;
	int r;

	if ((r = agent_vol_parse(a, json_object_get(args, "volume"), s, "volume.passphrase", true,
				 &v, err)) < 0 ||
	    (r = snapshot_vol(a, args, &v, &sv, err)) < 0)
		return r;
	sv.size = 0;
	{
		/* secondary storage keeps snapshots per volume: make the directories */
		char dir[sizeof(sv.path)];
		snprintf(dir, sizeof(dir), "%s", sv.path);
		for (char *q = dir + 1; (q = strchr(q, '/')); q++) {
			*q = '\0';
			if (mkdir(dir, 0700) < 0 && errno != EEXIST)
				return vecs_err_set(err, -errno, "cannot create %s for snapshot of %s: %s",
						    dir, v.name, strerror(errno));
			*q = '/';
		}
	}
	tok = agent_path_hold(a, sv.path);
	r = copy_into(a, &v, &sv, &retries, &size, err);
	if (r == 0 && !size)
		r = vol_size(a, &sv, &size, err);
	agent_path_release(a, tok);
	if (r < 0)
		return r;
	agent_log(a, "snapshot_volume %s -> %s", v.name, sv.path);
	*result = vol_result(&sv, size, retries);
	return 0;
}

int h_revert_snapshot(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		      struct vecs_err *err)
{
	struct agent *a = A(ctx);
	struct agent_vol v, sv, tmp;
	unsigned retries = 0;
	int r;

	if ((r = agent_vol_parse(a, json_object_get(args, "volume"), s, "volume.passphrase", true,
				 &v, err)) < 0 ||
	    (r = snapshot_vol(a, args, &v, &sv, err)) < 0)
		return r;
	if (access(sv.path, R_OK) < 0)
		return vecs_err_set(err, -ENOENT, "snapshot %s of volume %s is not readable", sv.path,
				    v.name);
	if (v.pool == POOL_SCALEIO) {
		/* through the device's own LUKS layer: never ciphertext onto plaintext */
		struct agent_key k = { 0 };
		struct qimg_image src, dst;
		struct qimg_cmd c;

		if (v.encrypted && (r = agent_key_write(a, v.pass, &k, err)) < 0)
			return r;
		qimg_of(&sv, &k, &src);
		qimg_of(&v, &k, &dst);
		if ((r = qimg_convert(&c, &src, &dst, true, err)) == 0) {
			r = agent_qimg_run(a, &c, NULL, 0, &retries, err);
			qimg_cmd_free(&c);
		}
		agent_key_remove(a, &k);
	} else {
		/* a new file beside the volume, renamed over it once complete */
		tmp = v;
		if (snprintf(tmp.path, sizeof(tmp.path), "%s.revert", v.path) >= (int)sizeof(tmp.path) ||
		    snprintf(tmp.nfs_path, sizeof(tmp.nfs_path), "%s.revert", v.nfs_path) >=
			    (int)sizeof(tmp.nfs_path))
			return vecs_err_set(err, -ENAMETOOLONG, "volume %s: path too long", v.name);
		agent_vol_unlink(a, &tmp, NULL);
		uint64_t ignored = 0;
		tmp.size = 0;
		r = copy_into(a, &sv, &tmp, &retries, &ignored, err);
		if (r == 0 && (r = agent_vol_rename(a, &tmp, &v, err)) < 0)
			agent_vol_unlink(a, &tmp, NULL);
	}
	if (r < 0)
		return r;
	agent_log(a, "revert_snapshot %s <- %s", v.name, sv.path);
	*result = json_pack("{s:I}", "kdf_retries", (json_int_t)retries);
	return 0;
}
