#include "mgmt/json_out.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jb_init(struct jbuf *j)
{
	memset(j, 0, sizeof(*j));
}

void jb_free(struct jbuf *j)
{
	free(j->buf);
	jb_init(j);
}

void jb_reset(struct jbuf *j)
{
	char *b = j->buf;
	size_t cap = j->cap;

	jb_init(j);
	j->buf = b;
	j->cap = cap;
}

char *jb_take(struct jbuf *j, size_t *len)
{
	char *b = j->buf;
	bool oom = j->oom;

	if (len)
		*len = j->len;
	if (!oom && !b)
		b = calloc(1, 1);
	jb_init(j);
	if (oom) {
		free(b);
		return NULL;
	}
	return b;
}

static void put(struct jbuf *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 256;
		char *nb;

		while (cap < j->len + n + 1) {
			if (cap > SIZE_MAX / 2) {
				j->oom = true;
				return;
			}
			cap *= 2;
		}
		nb = realloc(j->buf, cap);
		if (!nb) {
			j->oom = true;
			return;
		}
		j->buf = nb;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void putc1(struct jbuf *j, char c)
{
	put(j, &c, 1);
}

/* Before any value or key: a comma when the container already has an item. */
static void sep(struct jbuf *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0 && j->depth <= JB_MAX_DEPTH) {
		if (j->has_items[j->depth - 1])
			putc1(j, ',');
		j->has_items[j->depth - 1] = true;
	}
}

static void open_c(struct jbuf *j, char c)
{
	sep(j);
	putc1(j, c);
	if (j->depth < JB_MAX_DEPTH)
		j->has_items[j->depth] = false;
	j->depth++;
}

static void close_c(struct jbuf *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	putc1(j, c);
}

void jb_obj_begin(struct jbuf *j)
{
	open_c(j, '{');
}

void jb_obj_end(struct jbuf *j)
{
	close_c(j, '}');
}

void jb_arr_begin(struct jbuf *j)
{
	open_c(j, '[');
}

void jb_arr_end(struct jbuf *j)
{
	close_c(j, ']');
}

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

static void put_escaped(struct jbuf *j, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	putc1(j, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t l;

		if (c == '"' || c == '\\') {
			putc1(j, '\\');
			putc1(j, (char)c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char esc[8];
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(j, esc, 6);
			i++;
		} else if (c < 0x80) {
			putc1(j, (char)c);
			i++;
		} else if ((l = utf8_seq_len(p + i, n - i)) != 0) {
			put(j, s + i, l);
			i += l;
		} else {
			put(j, "\\ufffd", 6);
			i++;
		}
	}
	putc1(j, '"');
}

void jb_key(struct jbuf *j, const char *k)
{
	sep(j);
	put_escaped(j, k, strlen(k));
	putc1(j, ':');
	j->after_key = true;
}

void jb_strn(struct jbuf *j, const char *s, size_t n)
{
	sep(j);
	put_escaped(j, s, n);
}

void jb_str(struct jbuf *j, const char *s)
{
	jb_strn(j, s ? s : "", s ? strlen(s) : 0);
}

void jb_int(struct jbuf *j, int64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%" PRId64, v);

	sep(j);
	put(j, b, (size_t)n);
}

void jb_bool(struct jbuf *j, bool v)
{
	sep(j);
	put(j, v ? "true" : "false", v ? 4 : 5);
}

void jb_raw(struct jbuf *j, const char *json, size_t n)
{
	sep(j);
	put(j, json, n);
}

void jb_kv_str(struct jbuf *j, const char *k, const char *s)
{
	jb_key(j, k);
	jb_str(j, s);
}

void jb_kv_int(struct jbuf *j, const char *k, int64_t v)
{
	jb_key(j, k);
	jb_int(j, v);
}

void jb_kv_bool(struct jbuf *j, const char *k, bool v)
{
	jb_key(j, k);
	jb_bool(j, v);
}
