/* JSON built in memory for API responses. Unlike harness/util/json_writer (which
 * escapes every non-ASCII byte), valid UTF-8 passes through unchanged, so a name
 * stored as "données" comes back as "données"; bytes that are not valid UTF-8 become
 * U+FFFD. Commas and nesting are tracked here. Allocation failure is sticky: the
 * builder stops growing and jb_take returns NULL. */
#ifndef VECS_REF_MGMT_JSON_OUT_H
#define VECS_REF_MGMT_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JB_MAX_DEPTH 32

struct jbuf {
	char *buf;
	size_t len, cap;
	bool oom;
	int depth;
	bool after_key;
	bool has_items[JB_MAX_DEPTH];
};

void jb_init(struct jbuf *j);
void jb_free(struct jbuf *j);
/* Empty the builder, keeping its memory. */
void jb_reset(struct jbuf *j);
/* The text (NUL-terminated, malloc'ed, owned by the caller) or NULL after an
 * allocation failure; the builder is empty afterwards. */
char *jb_take(struct jbuf *j, size_t *len);

void jb_obj_begin(struct jbuf *j);
void jb_obj_end(struct jbuf *j);
void jb_arr_begin(struct jbuf *j);
void jb_arr_end(struct jbuf *j);
void jb_key(struct jbuf *j, const char *k);
void jb_str(struct jbuf *j, const char *s);
void jb_strn(struct jbuf *j, const char *s, size_t n);
void jb_int(struct jbuf *j, int64_t v);
void jb_bool(struct jbuf *j, bool v);
/* A value that is already JSON text (a stored job result, a list built apart). */
void jb_raw(struct jbuf *j, const char *json, size_t n);

void jb_kv_str(struct jbuf *j, const char *k, const char *s);
void jb_kv_int(struct jbuf *j, const char *k, int64_t v);
void jb_kv_bool(struct jbuf *j, const char *k, bool v);

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), 0 if invalid.
 * Overlong forms, surrogates and code points above U+10FFFF are invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t n);
bool utf8_valid(const char *s, size_t n);

#endif
