/* CloudStack's request signature (ApiServer.verifyRequest):
 *
 *   every parameter except `signature`, sorted by name, joined as
 *   name=URLEncoder.encode(value, "UTF-8").replace("+", "%20") with '&', the whole
 *   string lower-cased, HMAC-SHA1 with the user's secret key, base64.
 *
 * Java sorts the names as given (String.compareTo, so "Zone" < "apiKey"), and so do
 * python3-cs and the other clients; some documentation says "sorted by lower-cased
 * name". Java's URLEncoder encodes '~' as %7E where Python's quote() leaves it. A
 * signature is accepted when it matches any of these canonical forms (at most four
 * HMACs, computed only when the forms differ): each form is still an HMAC over the
 * same parameters, so accepting it lets no one without the secret key in.
 *
 * signatureVersion=3 adds `expires` (ISO 8601 with a zone: 2026-11-26T10:00:00+0000,
 * also +00:00, Z and fractional seconds); a request whose expires has passed is
 * refused. Comparison is constant-time (CRYPTO_memcmp). */
#ifndef VECS_REF_MGMT_API_SIGN_H
#define VECS_REF_MGMT_API_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mgmt/api_params.h"

/* Canonical-form switches (bit flags). */
#define API_SIGN_SORT_LOWERCASE 1 /* sort by lower-cased name instead of as given */
#define API_SIGN_TILDE_RAW 2      /* leave '~' unencoded (Python's quote) */

/* java.net.URLEncoder.encode(s, UTF-8) with '+' then replaced by %20: letters, digits
 * and .-*_ stay, everything else is %XX (upper-case hex). Returns a malloc'ed string
 * or NULL. */
char *api_java_urlencode(const char *s, size_t len, bool tilde_raw);
/* The lower-cased string that is signed; malloc'ed, or NULL when out of memory. */
char *api_sign_canonical(const struct api_params *p, int form);
/* base64(HMAC-SHA1(key, msg)) into out (29 bytes with the NUL). */
void api_sign_hmac(const void *key, size_t key_len, const char *msg, char out[29]);
/* true when sig matches one of the canonical forms of p under key. */
bool api_sign_verify(const struct api_params *p, const void *key, size_t key_len,
		     const char *sig);
/* Parse an `expires` value to seconds since the epoch; -EINVAL if malformed. */
int api_parse_expires(const char *s, time_t *out);

#endif
