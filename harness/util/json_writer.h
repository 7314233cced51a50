/* A small streaming JSON writer: reports, `--json` outputs and the results bundle.
 *
 * Commas and nesting are tracked here, so callers just emit values in order. Bytes
 * outside printable ASCII are escaped as \u00XX, so output is valid JSON (and valid
 * UTF-8) whatever a hostile header put into a string field. The jw_ prefix keeps these
 * names apart from jansson's json_* in programs that link both. */
#ifndef VECS_UTIL_JSON_WRITER_H
#define VECS_UTIL_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json_writer {
	FILE *f;
	int depth;
	bool pretty;
	bool after_key;
	bool has_items[JSON_MAX_DEPTH];
};

void jw_init(struct json_writer *w, FILE *f, bool pretty);
void jw_obj_begin(struct json_writer *w);
void jw_obj_end(struct json_writer *w);
void jw_arr_begin(struct json_writer *w);
void jw_arr_end(struct json_writer *w);
void jw_key(struct json_writer *w, const char *key);
void jw_str(struct json_writer *w, const char *s);
void jw_strn(struct json_writer *w, const char *s, size_t n);
void jw_int(struct json_writer *w, int64_t v);
void jw_uint(struct json_writer *w, uint64_t v);
void jw_double(struct json_writer *w, double v);
void jw_bool(struct json_writer *w, bool v);
void jw_null(struct json_writer *w);

/* key + value in one call */
void jw_kv_str(struct json_writer *w, const char *key, const char *s);
void jw_kv_int(struct json_writer *w, const char *key, int64_t v);
void jw_kv_uint(struct json_writer *w, const char *key, uint64_t v);
void jw_kv_bool(struct json_writer *w, const char *key, bool v);
void jw_kv_null(struct json_writer *w, const char *key);

#endif
