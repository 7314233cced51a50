/* Secrets in memory: read from a file, kept in locked pages, zeroed on release.
 *
 * A passphrase is taken byte for byte from its file (no newline is stripped, exactly as
 * `cryptsetup --key-file` and QEMU's `secret,file=` read it). */
#ifndef VECS_UTIL_SECRET_H
#define VECS_UTIL_SECRET_H

#include <stddef.h>

#include "util/err.h"

struct vecs_secret {
	unsigned char *data;
	size_t len;
	size_t cap;
};

/* cryptsetup's default key file size limit (--keyfile-size), 8 MiB */
#define VECS_SECRET_MAX (8u << 20)

/* A zero-filled, locked buffer of cap bytes (len 0), for code that writes a secret in
 * place (a decryption, a parse) instead of copying it from elsewhere. */
int vecs_secret_alloc(struct vecs_secret *s, size_t cap, struct vecs_err *err);
/* Read the whole of path (at most VECS_SECRET_MAX bytes; an empty file is an error). */
int vecs_secret_read_file(struct vecs_secret *s, const char *path, struct vecs_err *err);
/* Copy len bytes of memory into a new secret. */
int vecs_secret_from_mem(struct vecs_secret *s, const void *p, size_t len, struct vecs_err *err);
/* Zero and free; safe on a zeroed or already released struct. */
void vecs_secret_release(struct vecs_secret *s);

#endif
