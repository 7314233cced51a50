/* A small streaming JSON writer: reports, `--json` outputs, the results bundle and the
 * management server's API responses.
 *
 * Commas and nesting are tracked here, so callers just emit values in order. The text
 * goes to a stream (jw_init) or into memory (jw_init_mem, collected with jw_take).
 *
 * Strings have two forms. By default every byte outside printable ASCII is escaped as
 * \u00XX, so output is valid JSON (and ASCII) whatever a hostile header put into a string
 * field; the harness's golden files hold this form. jw_set_utf8 gives what an API client
 * expects: valid UTF-8 passes through unchanged (a name stored as "données" comes back
 * as "données"), each byte that is not valid UTF-8 becomes U+FFFD, and every control
 * character is written \u00XX (newline included), as the management API always has.
 *
 * The jw_ prefix keeps these names apart from jansson's json_* in programs that link
 * both. */
#ifndef VECS_UTIL_JSON_WRITER_H
#define VECS_UTIL_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json_writer {
	FILE *f;          /* the stream; NULL for a memory writer */
	char *buf;        /* memory writer: the text so far, NUL-terminated */
	size_t len, cap;
	bool oom;         /* memory writer: an allocation failed; sticky until jw_take */
	bool utf8;        /* jw_set_utf8 */
	bool pretty;
	int depth;
	bool after_key;
	bool has_items[JSON_MAX_DEPTH];
};

/* A writer to f; pretty: two-space indentation and a newline after the top value. */
void jw_init(struct json_writer *w, FILE *f, bool pretty);
/* A writer into memory. An allocation failure is sticky: the writer stops growing and
 * jw_take returns NULL, so a caller checks once, at the end. */
void jw_init_mem(struct json_writer *w, bool pretty);
/* String form: UTF-8 passthrough (true) or ASCII with \u00XX escapes (false, the
 * default). */
void jw_set_utf8(struct json_writer *w, bool on);
/* Memory writer: the text (NUL-terminated, malloc'ed, owned by the caller; *len without
 * the NUL) or NULL after an allocation failure. The writer is empty afterwards and keeps
 * its options. */
char *jw_take(struct json_writer *w, size_t *len);
/* Memory writer: empty it, keeping its memory and options. */
void jw_reset(struct json_writer *w);
/* Memory writer: release its memory (the writer is empty afterwards). */
void jw_free(struct json_writer *w);

void jw_obj_begin(struct json_writer *w);
void jw_obj_end(struct json_writer *w);
void jw_arr_begin(struct json_writer *w);
void jw_arr_end(struct json_writer *w);
void jw_key(struct json_writer *w, const char *key);
/* NULL writes null */
void jw_str(struct json_writer *w, const char *s);
void jw_strn(struct json_writer *w, const char *s, size_t n);
void jw_int(struct json_writer *w, int64_t v);
void jw_uint(struct json_writer *w, uint64_t v);
void jw_double(struct json_writer *w, double v);
void jw_bool(struct json_writer *w, bool v);
void jw_null(struct json_writer *w);
/* A value that is already JSON text (a stored job result, a list built apart), written
 * as it is. */
void jw_raw(struct json_writer *w, const char *json, size_t n);

/* key + value in one call */
void jw_kv_str(struct json_writer *w, const char *key, const char *s);
void jw_kv_int(struct json_writer *w, const char *key, int64_t v);
void jw_kv_uint(struct json_writer *w, const char *key, uint64_t v);
void jw_kv_bool(struct json_writer *w, const char *key, bool v);
void jw_kv_null(struct json_writer *w, const char *key);

#endif
