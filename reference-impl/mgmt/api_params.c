#include "mgmt/api_params.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/utf8.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int api_url_decode(const char *s, size_t len, char **out, size_t *out_len)
{
	char *d = malloc(len + 1);
	size_t n = 0;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (i + 2 >= len) {
				free(d);
				return -EINVAL;
			}
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0) {
				free(d);
				return -EINVAL;
			}
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0') {
			free(d);
			return -EINVAL;
		}
		d[n++] = c;
	}
	d[n] = '\0';
	*out = d;
	if (out_len)
		*out_len = n;
	return 0;
}

static int name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '[' || c == ']' || c == '-'))
			return 0;
	}
	return 1;
}

const char *api_param_get(const struct api_params *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcasecmp(p->v[i].name, name) == 0)
			return p->v[i].value;
	return NULL;
}

static int add_pair(struct api_params *p, const char *s, size_t len, struct vecs_err *err)
{
	const char *eq = memchr(s, '=', len);
	size_t nlen = eq ? (size_t)(eq - s) : len;
	char *name = NULL, *value = NULL;
	size_t vlen = 0;
	int r;

	if (nlen > API_MAX_NAME * 3)
		return vecs_err_set(err, -EINVAL, "a parameter name is longer than %d characters",
				    API_MAX_NAME);
	r = api_url_decode(s, nlen, &name, NULL);
	if (r == -ENOMEM)
		return vecs_err_set(err, r, "out of memory parsing the request");
	if (r < 0 || strlen(name) > API_MAX_NAME || !name_ok(name)) {
		free(name);
		return vecs_err_set(err, -EINVAL,
				    "a parameter name is malformed: names are 1 to %d characters "
				    "of letters, digits and _.[]-",
				    API_MAX_NAME);
	}
	if (api_param_get(p, name)) {
		r = vecs_err_set(err, -EEXIST, "parameter %s is given more than once", name);
		free(name);
		return r;
	}
	if (p->n == API_MAX_PARAMS) {
		free(name);
		return vecs_err_set(err, -E2BIG, "the request has more than %d parameters",
				    API_MAX_PARAMS);
	}
	r = eq ? api_url_decode(eq + 1, len - nlen - 1, &value, &vlen)
	       : api_url_decode("", 0, &value, &vlen);
	if (r == 0 && !utf8_valid(value, vlen))
		r = -EILSEQ;
	if (r < 0) {
		r = r == -ENOMEM ? vecs_err_set(err, r, "out of memory parsing the request")
		    : r == -EILSEQ
			? vecs_err_set(err, -EINVAL, "the value of parameter %s is not UTF-8", name)
			: vecs_err_set(err, -EINVAL,
				       "the value of parameter %s has a malformed %%-escape or an "
				       "encoded NUL",
				       name);
		free(name);
		free(value);
		return r;
	}
	if (p->n % 16 == 0) {
		struct api_param *nv = realloc(p->v, (p->n + 16) * sizeof(*nv));
		if (!nv) {
			free(name);
			free(value);
			return vecs_err_set(err, -ENOMEM, "out of memory parsing the request");
		}
		p->v = nv;
	}
	p->v[p->n++] = (struct api_param){ name, value, vlen };
	return 0;
}

int api_params_parse(struct api_params *p, const char *s, size_t len, struct vecs_err *err)
{
	size_t i = 0;

	while (i < len) {
		const char *amp = memchr(s + i, '&', len - i);
		size_t plen = amp ? (size_t)(amp - (s + i)) : len - i;
		int r;

		if (plen > 0 && (r = add_pair(p, s + i, plen, err)) < 0)
			return r;
		i += plen + 1;
	}
	return 0;
}

void api_params_free(struct api_params *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].value);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}
