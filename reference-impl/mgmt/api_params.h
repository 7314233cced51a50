/* Request parameters of /client/api: the query string and, for a POST, the
 * application/x-www-form-urlencoded body, decoded as a Java servlet decodes them
 * ('+' is a space, %XX a byte).
 *
 * Stricter than a servlet, so that what is signed and what is executed can never
 * differ: a malformed %-escape, a NUL byte, text that is not UTF-8, a name outside
 * [A-Za-z0-9_.[]-], and a name given twice (compared case-insensitively, as CloudStack
 * looks names up) are all refused. */
#ifndef VECS_REF_MGMT_API_PARAMS_H
#define VECS_REF_MGMT_API_PARAMS_H

#include <stddef.h>

#include "util/err.h"

#define API_MAX_PARAMS 256
#define API_MAX_NAME 128

struct api_param {
	char *name;
	char *value;
	size_t value_len;
};

struct api_params {
	struct api_param *v;
	size_t n;
};

/* Decode len bytes of a%20b-style text into a malloc'ed NUL-terminated string.
 * -EINVAL for a bad escape or an encoded NUL. */
int api_url_decode(const char *s, size_t len, char **out, size_t *out_len);

/* Append the pairs of "a=1&b=2" (len bytes) to p. Empty pairs ("&&") are skipped; a
 * pair without '=' has the empty value. Errors (-EINVAL, -E2BIG for more than
 * API_MAX_PARAMS, -EEXIST for a repeated name, -ENOMEM) name the parameter. */
int api_params_parse(struct api_params *p, const char *s, size_t len, struct vecs_err *err);
/* Value of name (case-insensitive), or NULL. */
const char *api_param_get(const struct api_params *p, const char *name);
void api_params_free(struct api_params *p);

#endif
