/* A zero-filled, locked struct vecs_secret of a given capacity, for code that writes
 * a secret in place (a decryption, a file read after checking its mode) instead of
 * copying it from somewhere. Released with vecs_secret_release. */
#ifndef VECS_REF_DB_SECURE_BUF_H
#define VECS_REF_DB_SECURE_BUF_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/secret.h"

static inline int secure_buf_alloc(struct vecs_secret *s, size_t cap, struct vecs_err *err)
{
	memset(s, 0, sizeof(*s));
	if (cap == 0)
		cap = 1;
	s->data = calloc(1, cap);
	if (!s->data)
		return vecs_err_set(err, -ENOMEM, "out of memory for a secret buffer");
	s->cap = cap;
	/* Best effort, as util/secret.c: keep it out of swap. */
	(void)mlock(s->data, s->cap);
	return 0;
}

#endif
