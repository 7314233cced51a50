/* UTF-8 validation (RFC 3629): what the management API accepts in a parameter and what
 * the JSON writer passes through in UTF-8 mode (json_writer.h). */
#ifndef VECS_UTIL_UTF8_H
#define VECS_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence starting at s (at most n bytes, n >= 1), 0 if
 * invalid. Overlong forms, surrogates and code points above U+10FFFF are invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t n);
/* true when all n bytes of s are valid UTF-8 */
bool utf8_valid(const char *s, size_t n);

#endif
