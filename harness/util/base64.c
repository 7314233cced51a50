#include "util/base64.h"

#include <errno.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int value_of(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int b64_is_alphabet(char c)
{
	return value_of(c) >= 0;
}

void b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i = 0, o = 0;

	for (; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
}

int b64_decode(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
	size_t o = 0;

	*outlen = 0;
	if (len % 4 != 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		int last = i + 4 == len;
		int a = value_of(in[i]), b = value_of(in[i + 1]);
		int c = value_of(in[i + 2]), d = value_of(in[i + 3]);

		if (a < 0 || b < 0)
			return -EINVAL;
		if (c < 0 || d < 0) {
			/* Padding: only in the last quantum, "x=" only after "=", and the bits
			 * the padding drops must be zero (canonical form). */
			if (!last)
				return -EINVAL;
			if (c < 0 && !(in[i + 2] == '=' && in[i + 3] == '=' && (b & 15) == 0))
				return -EINVAL;
			if (c >= 0 && !(in[i + 3] == '=' && (c & 3) == 0))
				return -EINVAL;
			out[o++] = (unsigned char)(a << 2 | b >> 4);
			if (c >= 0)
				out[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
			break;
		}
		out[o++] = (unsigned char)(a << 2 | b >> 4);
		out[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
		out[o++] = (unsigned char)((c & 3) << 6 | d);
	}
	*outlen = o;
	return 0;
}
