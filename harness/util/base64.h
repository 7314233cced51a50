/* Standard base64 (RFC 4648 section 4, with padding), as java.util.Base64 writes it.
 * The decoder is strict: no whitespace, no missing or misplaced padding, no bits left
 * over, so a value that was altered in the database (reference-impl/db) or a malformed
 * Basic credential (the ScaleIO gateway) is refused rather than misread. */
#ifndef VECS_UTIL_BASE64_H
#define VECS_UTIL_BASE64_H

#include <stddef.h>

/* Characters (without the terminating NUL) that n bytes encode to. */
static inline size_t b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* Encode n bytes into out (b64_encoded_len(n) + 1 bytes, NUL-terminated). */
void b64_encode(const unsigned char *in, size_t n, char *out);

/* Decode len characters into out (room for len / 4 * 3 bytes); 0 and *outlen, or
 * -EINVAL for anything that is not canonical base64. */
int b64_decode(const char *in, size_t len, unsigned char *out, size_t *outlen);

/* 1 when c belongs to the base64 alphabet (padding excluded). */
int b64_is_alphabet(char c);

#endif
