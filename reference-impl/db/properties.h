/* A private Java-style properties file (key=value lines), such as the one that holds
 * the database key. Because it holds a secret, the loader refuses a file that group or
 * others can access, and keeps the contents in locked memory zeroed on release.
 *
 * Syntax (java.util.Properties): blank lines and lines starting with '#' or '!' are
 * ignored; the key ends at the first unescaped '=', ':' or whitespace; whitespace
 * around the separator and at the start of the line is skipped; the value keeps
 * trailing whitespace; a line ending in an odd number of backslashes continues on the
 * next; escapes \t \n \r \f and \<char> are understood. \uXXXX escapes are refused
 * (a key that needs them is not a key this code can use). The last duplicate wins. */
#ifndef VECS_REF_DB_PROPERTIES_H
#define VECS_REF_DB_PROPERTIES_H

#include <stddef.h>

#include "util/err.h"
#include "util/secret.h"

#define PROPERTIES_MAX_ENTRIES 256
#define PROPERTIES_MAX_BYTES 65536

struct properties {
	struct vecs_secret arena; /* "key\0value\0" pairs */
	size_t n;
	size_t key_off[PROPERTIES_MAX_ENTRIES];
	size_t val_off[PROPERTIES_MAX_ENTRIES];
};

/* Load path: a regular file, at most PROPERTIES_MAX_BYTES, mode without any group or
 * other bits (chmod 600), else an error that says so. Messages name the file, line and
 * key, never a value. */
int properties_load_private(struct properties *p, const char *path, struct vecs_err *err);
/* Parse text already in memory (no mode check); source names it in messages. */
int properties_parse(struct properties *p, const char *text, size_t len, const char *source,
		     struct vecs_err *err);
/* Value of key, or NULL. Valid until properties_release. */
const char *properties_get(const struct properties *p, const char *key);
void properties_release(struct properties *p);

#endif
