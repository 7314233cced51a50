/* Error reporting shared by every part of vecs.
 *
 * Functions return 0 on success or a negative errno, and fill a struct vecs_err with
 * one whole sentence that names the object, the operation and what to do. Messages
 * never contain secrets: callers pass paths and names, never key material. */
#ifndef VECS_UTIL_ERR_H
#define VECS_UTIL_ERR_H

#include <stddef.h>

struct vecs_err {
	int code;       /* negative errno, 0 when no error was recorded */
	char msg[512];
};

/* Record an error (printf-style) and return code, so callers can write
 * `return vecs_err_set(err, -EINVAL, "...")`. err may be NULL. */
int vecs_err_set(struct vecs_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void vecs_err_clear(struct vecs_err *err);

/* A reason as a new string (printf-style), for checks that answer "why not" as text the
 * caller frees; NULL only when out of memory. */
char *vecs_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
