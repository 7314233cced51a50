#include "util/json_writer.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

void jw_init(struct json_writer *w, FILE *f, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	w->pretty = pretty;
}

void jw_init_mem(struct json_writer *w, bool pretty)
{
	jw_init(w, NULL, pretty);
}

void jw_set_utf8(struct json_writer *w, bool on)
{
	w->utf8 = on;
}

void jw_reset(struct json_writer *w)
{
	char *buf = w->buf;
	size_t cap = w->cap;
	bool pretty = w->pretty, utf8 = w->utf8;

	jw_init_mem(w, pretty);
	w->utf8 = utf8;
	w->buf = buf;
	w->cap = cap;
	if (buf)
		buf[0] = '\0';
}

void jw_free(struct json_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->cap = 0;
	jw_reset(w);
}

char *jw_take(struct json_writer *w, size_t *len)
{
	char *b = w->buf;
	bool oom = w->oom;

	if (len)
		*len = oom ? 0 : w->len;
	if (!oom && !b)
		b = calloc(1, 1);
	w->buf = NULL;
	w->cap = 0;
	jw_reset(w);
	if (oom) {
		free(b);
		return NULL;
	}
	return b;
}

static void put(struct json_writer *w, const char *s, size_t n)
{
	if (w->f) {
		fwrite(s, 1, n, w->f);
		return;
	}
	if (w->oom)
		return;
	if (n >= SIZE_MAX - w->len) {
		w->oom = true;
		return;
	}
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		char *nb;

		while (cap < w->len + n + 1) {
			if (cap > SIZE_MAX / 2) {
				w->oom = true;
				return;
			}
			cap *= 2;
		}
		nb = realloc(w->buf, cap);
		if (!nb) {
			w->oom = true;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void puts0(struct json_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void putc1(struct json_writer *w, char c)
{
	put(w, &c, 1);
}

static void newline_indent(struct json_writer *w)
{
	if (!w->pretty)
		return;
	putc1(w, '\n');
	for (int i = 0; i < w->depth; i++)
		puts0(w, "  ");
}

/* Called before every value or key: writes the separator the position needs. */
static void before_item(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (w->has_items[w->depth])
			putc1(w, ',');
		w->has_items[w->depth] = true;
		newline_indent(w);
	}
}

static void open_scope(struct json_writer *w, char c)
{
	before_item(w);
	putc1(w, c);
	if (w->depth < JSON_MAX_DEPTH - 1)
		w->depth++;
	w->has_items[w->depth] = false;
}

static void close_scope(struct json_writer *w, char c)
{
	bool had = w->has_items[w->depth];

	if (w->depth > 0)
		w->depth--;
	if (had)
		newline_indent(w);
	putc1(w, c);
	if (w->depth == 0 && w->pretty)
		putc1(w, '\n');
}

void jw_obj_begin(struct json_writer *w) { open_scope(w, '{'); }
void jw_obj_end(struct json_writer *w) { close_scope(w, '}'); }
void jw_arr_begin(struct json_writer *w) { open_scope(w, '['); }
void jw_arr_end(struct json_writer *w) { close_scope(w, ']'); }

static void put_escaped(struct json_writer *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	putc1(w, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t l = 1;
		char esc[8];

		if (c == '"' || c == '\\') {
			putc1(w, '\\');
			putc1(w, (char)c);
		} else if (!w->utf8 && (c == '\n' || c == '\r' || c == '\t')) {
			putc1(w, '\\');
			putc1(w, c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
		} else if (c >= 0x20 && c < 0x7f) {
			putc1(w, (char)c);
		} else if (w->utf8 && c >= 0x80) {
			l = utf8_seq_len(p + i, n - i);
			if (l)
				put(w, s + i, l);
			else
				puts0(w, "\\ufffd");
			l = l ? l : 1;
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(w, esc, 6);
		}
		i += l;
	}
	putc1(w, '"');
}

void jw_key(struct json_writer *w, const char *key)
{
	before_item(w);
	put_escaped(w, key, strlen(key));
	puts0(w, w->pretty ? ": " : ":");
	w->after_key = true;
}

void jw_strn(struct json_writer *w, const char *s, size_t n)
{
	before_item(w);
	put_escaped(w, s, n);
}

void jw_str(struct json_writer *w, const char *s)
{
	if (!s) {
		jw_null(w);
		return;
	}
	jw_strn(w, s, strlen(s));
}

void jw_int(struct json_writer *w, int64_t v)
{
	char b[32];

	before_item(w);
	snprintf(b, sizeof(b), "%" PRId64, v);
	puts0(w, b);
}

void jw_uint(struct json_writer *w, uint64_t v)
{
	char b[32];

	before_item(w);
	snprintf(b, sizeof(b), "%" PRIu64, v);
	puts0(w, b);
}

void jw_double(struct json_writer *w, double v)
{
	char b[40];

	before_item(w);
	if (isfinite(v)) {
		snprintf(b, sizeof(b), "%.6g", v);
		puts0(w, b);
	} else {
		puts0(w, "null");
	}
}

void jw_bool(struct json_writer *w, bool v)
{
	before_item(w);
	puts0(w, v ? "true" : "false");
}

void jw_null(struct json_writer *w)
{
	before_item(w);
	puts0(w, "null");
}

void jw_raw(struct json_writer *w, const char *json, size_t n)
{
	before_item(w);
	put(w, json, n);
}

void jw_kv_str(struct json_writer *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_kv_int(struct json_writer *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kv_uint(struct json_writer *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_uint(w, v);
}

void jw_kv_bool(struct json_writer *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void jw_kv_null(struct json_writer *w, const char *key)
{
	jw_key(w, key);
	jw_null(w);
}
