#include "agent/qemu_img_argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add(struct qimg_cmd *c, const char *s)
{
	if (c->argc >= QIMG_MAX_ARGS)
		return -E2BIG;
	c->argv[c->argc++] = s;
	c->argv[c->argc] = NULL;
	return 0;
}

static int addf(struct qimg_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int addf(struct qimg_cmd *c, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (c->nowned >= QIMG_MAX_ARGS || (r = add(c, s)) < 0) {
		free(s);
		return -E2BIG;
	}
	c->owned[c->nowned++] = s;
	return 0;
}

static int add_owned(struct qimg_cmd *c, char *s)
{
	if (!s)
		return -ENOMEM;
	if (c->nowned >= QIMG_MAX_ARGS || add(c, s) < 0) {
		free(s);
		return -E2BIG;
	}
	c->owned[c->nowned++] = s;
	return 0;
}

void qimg_cmd_free(struct qimg_cmd *c)
{
	for (size_t i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	memset(c, 0, sizeof(*c));
}

static void start(struct qimg_cmd *c, const char *sub)
{
	memset(c, 0, sizeof(*c));
	add(c, "qemu-img");
	add(c, sub);
}

/* QEMU's option syntax: a comma inside a value is written twice. */
static char *escape_commas(const char *s)
{
	size_t n = strlen(s), extra = 0;
	char *out, *p;

	for (const char *q = s; *q; q++)
		extra += *q == ',';
	if (!(out = malloc(n + extra + 1)))
		return NULL;
	for (p = out; *s; s++) {
		*p++ = *s;
		if (*s == ',')
			*p++ = ',';
	}
	*p = '\0';
	return out;
}

static int check_image(const struct qimg_image *img, struct vecs_err *err)
{
	if (!img->path || !*img->path)
		return vecs_err_set(err, -EINVAL, "qemu-img: an image needs a path");
	if (!img->format || (strcmp(img->format, "qcow2") && strcmp(img->format, "raw")))
		return vecs_err_set(err, -EINVAL, "qemu-img: image %s: format must be qcow2 or raw",
				    img->path);
	if (img->nfs_host && (!img->nfs_path || img->nfs_path[0] != '/'))
		return vecs_err_set(err, -EINVAL, "qemu-img: NFS image %s needs a server path",
				    img->path);
	if (img->key_file && strchr(img->key_file, ','))
		return vecs_err_set(err, -EINVAL, "qemu-img: key file path %s has a comma",
				    img->key_file);
	return 0;
}

char *qimg_image_opts(const struct qimg_image *img, const char *sid)
{
	char *path, *out = NULL, *host = NULL, *file = NULL;
	const char *fdrv = img->block ? "host_device" : "file";
	int r;

	if (img->nfs_host) {
		/* file.driver=nfs with the server and the path on it */
		char *np = escape_commas(img->nfs_path ? img->nfs_path : "");
		host = escape_commas(img->nfs_host);
		r = np && host ? asprintf(&file, "file.driver=nfs,file.server.type=inet,"
					 "file.server.host=%s,file.path=%s", host, np)
			       : -1;
		free(np);
		free(host);
		if (r < 0)
			return NULL;
		if (!strcmp(img->format, "qcow2") && img->key_file)
			r = asprintf(&out, "driver=qcow2,encrypt.key-secret=%s,%s", sid, file);
		else if (img->key_file)
			r = asprintf(&out, "driver=luks,key-secret=%s,%s", sid, file);
		else
			r = asprintf(&out, "driver=%s,%s", img->format, file);
		free(file);
		return r < 0 ? NULL : out;
	}
	if (!(path = escape_commas(img->path)))
		return NULL;
	if (!strcmp(img->format, "qcow2") && img->key_file)
		r = asprintf(&out, "driver=qcow2,encrypt.key-secret=%s,file.driver=%s,file.filename=%s",
			     sid, fdrv, path);
	else if (img->key_file)
		r = asprintf(&out, "driver=luks,key-secret=%s,file.driver=%s,file.filename=%s", sid,
			     fdrv, path);
	else
		r = asprintf(&out, "driver=%s,file.driver=%s,file.filename=%s", img->format, fdrv,
			     path);
	free(path);
	return r < 0 ? NULL : out;
}

static int add_secret(struct qimg_cmd *c, const char *key_file, const char *sid)
{
	int r = add(c, "--object");

	return r < 0 ? r : addf(c, "secret,file=%s,id=%s", key_file, sid);
}

static int done(struct qimg_cmd *c, int r, struct vecs_err *err)
{
	if (r < 0) {
		qimg_cmd_free(c);
		return vecs_err_set(err, r, "qemu-img: cannot build the command line: %s",
				    strerror(-r));
	}
	return 0;
}

int qimg_create(struct qimg_cmd *c, const struct qimg_image *img, uint64_t size,
		struct vecs_err *err)
{
	int r = check_image(img, err);

	if (r < 0)
		return r;
	if (strcmp(img->format, "qcow2") || img->block)
		return vecs_err_set(err, -EINVAL, "qemu-img create: %s: only qcow2 files are created",
				    img->path);
	start(c, "create");
	if (img->key_file) {
		r = add_secret(c, img->key_file, "sec0");
		if (r == 0)
			r = add(c, "-o");
		if (r == 0)
			r = add(c, "encrypt.format=luks,encrypt.key-secret=sec0");
	}
	if (r == 0)
		r = add(c, "-f");
	if (r == 0)
		r = add(c, "qcow2");
	if (r == 0)
		r = add(c, img->path);
	if (r == 0)
		r = addf(c, "%llu", (unsigned long long)size);
	return done(c, r, err);
}

int qimg_convert(struct qimg_cmd *c, const struct qimg_image *src, const struct qimg_image *dst,
		 bool dst_exists, struct vecs_err *err)
{
	int r = check_image(src, err);

	if (r < 0 || (r = check_image(dst, err)) < 0)
		return r;
	if (!dst_exists && (dst->block || (dst->key_file && strcmp(dst->format, "qcow2"))))
		return vecs_err_set(err, -EINVAL,
				    "qemu-img convert: %s: a new image is a file, encrypted only as qcow2",
				    dst->path);
	start(c, "convert");
	if (src->key_file)
		r = add_secret(c, src->key_file, "sec0");
	if (r == 0 && dst->key_file)
		r = add_secret(c, dst->key_file, "sec1");
	if (r == 0)
		r = add(c, "-U");
	if (r == 0)
		r = add(c, "--image-opts");
	if (r == 0)
		r = add_owned(c, qimg_image_opts(src, "sec0"));
	if (r == 0 && dst_exists) {
		r = add(c, "-n");
		if (r == 0)
			r = add(c, "--target-image-opts");
		if (r == 0)
			r = add_owned(c, qimg_image_opts(dst, "sec1"));
	} else if (r == 0) {
		r = add(c, "-O");
		if (r == 0)
			r = add(c, dst->format);
		if (r == 0 && dst->key_file) {
			r = add(c, "-o");
			if (r == 0)
				r = add(c, "encrypt.format=luks,encrypt.key-secret=sec1");
		}
		if (r == 0)
			r = add(c, dst->path);
	}
	return done(c, r, err);
}

int qimg_resize(struct qimg_cmd *c, const struct qimg_image *img, uint64_t size,
		struct vecs_err *err)
{
	int r = check_image(img, err);

	if (r < 0)
		return r;
	start(c, "resize");
	if (img->key_file) {
		r = add_secret(c, img->key_file, "sec0");
		if (r == 0)
			r = add(c, "--image-opts");
		if (r == 0)
			r = add_owned(c, qimg_image_opts(img, "sec0"));
	} else {
		r = add(c, "-f");
		if (r == 0)
			r = add(c, img->format);
		if (r == 0)
			r = add(c, img->path);
	}
	if (r == 0)
		r = addf(c, "%llu", (unsigned long long)size);
	return done(c, r, err);
}

int qimg_info(struct qimg_cmd *c, const struct qimg_image *img, struct vecs_err *err)
{
	int r = check_image(img, err);

	if (r < 0)
		return r;
	start(c, "info");
	r = add(c, "--output=json");
	if (r == 0)
		r = add(c, "-U");
	if (r == 0)
		r = add(c, "-f");
	if (r == 0)
		r = add(c, img->format);
	if (r == 0)
		r = add(c, img->path);
	return done(c, r, err);
}
