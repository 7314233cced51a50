#include "mgmt/api_sign.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *api_java_urlencode(const char *s, size_t len, bool tilde_raw)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(len * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '*' || c == '_' || (tilde_raw && c == '~')) {
			*o++ = (char)c;
		} else {
			/* ' ' is '+' for URLEncoder, then replaced by %20. */
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

static int cmp_as_given(const void *a, const void *b)
{
	return strcmp((*(const struct api_param *const *)a)->name,
		      (*(const struct api_param *const *)b)->name);
}

static int cmp_lowercase(const void *a, const void *b)
{
	return strcasecmp((*(const struct api_param *const *)a)->name,
			  (*(const struct api_param *const *)b)->name);
}

char *api_sign_canonical(const struct api_params *p, int form)
{
	const struct api_param **sorted;
	char *out = NULL, **enc;
	size_t n = 0, total = 1;

	sorted = calloc(p->n ? p->n : 1, sizeof(*sorted));
	enc = calloc(p->n ? p->n : 1, sizeof(*enc));
	if (!sorted || !enc)
		goto out;
	for (size_t i = 0; i < p->n; i++)
		if (strcasecmp(p->v[i].name, "signature") != 0)
			sorted[n++] = &p->v[i];
	qsort(sorted, n, sizeof(*sorted),
	      (form & API_SIGN_SORT_LOWERCASE) ? cmp_lowercase : cmp_as_given);
	for (size_t i = 0; i < n; i++) {
		enc[i] = api_java_urlencode(sorted[i]->value, sorted[i]->value_len,
					    form & API_SIGN_TILDE_RAW);
		if (!enc[i])
			goto out;
		total += strlen(sorted[i]->name) + 2 + strlen(enc[i]);
	}
	out = malloc(total);
	if (!out)
		goto out;
	out[0] = '\0';
	{
		char *o = out;
		for (size_t i = 0; i < n; i++) {
			size_t nl = strlen(sorted[i]->name), el = strlen(enc[i]);
			if (i)
				*o++ = '&';
			memcpy(o, sorted[i]->name, nl);
			o += nl;
			*o++ = '=';
			memcpy(o, enc[i], el);
			o += el;
		}
		*o = '\0';
	}
	/* Everything is ASCII here (names are restricted, values percent-encoded), so
	 * Java's toLowerCase() is plain ASCII lower-casing. */
	for (char *c = out; *c; c++)
		*c = (char)tolower((unsigned char)*c);
out:
	if (enc)
		for (size_t i = 0; i < n; i++)
			free(enc[i]);
	free(enc);
	free(sorted);
	return out;
}

void api_sign_hmac(const void *key, size_t key_len, const char *msg, char out[29])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!HMAC(EVP_sha1(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), md,
		  &md_len) ||
	    md_len != 20) {
		out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	OPENSSL_cleanse(md, sizeof(md));
}

static bool forms_differ(const struct api_params *p, int form)
{
	if (form & API_SIGN_TILDE_RAW) {
		bool tilde = false;
		for (size_t i = 0; i < p->n && !tilde; i++)
			tilde = memchr(p->v[i].value, '~', p->v[i].value_len) != NULL;
		if (!tilde)
			return false;
	}
	if (form & API_SIGN_SORT_LOWERCASE) {
		/* Differs only if some pair of names orders differently. */
		for (size_t i = 0; i < p->n; i++)
			for (size_t k = i + 1; k < p->n; k++) {
				int a = strcmp(p->v[i].name, p->v[k].name);
				int b = strcasecmp(p->v[i].name, p->v[k].name);
				if ((a < 0) != (b < 0))
					return true;
			}
		return false;
	}
	return true;
}

bool api_sign_verify(const struct api_params *p, const void *key, size_t key_len,
		     const char *sig)
{
	size_t sig_len = strlen(sig);
	bool ok = false;

	if (sig_len != 28)
		return false;
	for (int form = 0; form < 4 && !ok; form++) {
		char mac[29];
		char *canon;

		if (form && !forms_differ(p, form))
			continue;
		canon = api_sign_canonical(p, form);
		if (!canon)
			return false;
		api_sign_hmac(key, key_len, canon, mac);
		free(canon);
		ok = mac[0] && CRYPTO_memcmp(mac, sig, 28) == 0;
		OPENSSL_cleanse(mac, sizeof(mac));
	}
	return ok;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int api_parse_expires(const char *s, time_t *out)
{
	int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 1;
	struct tm tm = { 0 };
	const char *z;
	time_t t;

	if (strlen(s) < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
	    s[7] != '-' || digits(s + 8, 2, &D) || s[10] != 'T' || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' || digits(s + 17, 2, &sec))
		return -EINVAL;
	z = s + 19;
	if (*z == '.') {
		int n = 0;
		for (z++; *z >= '0' && *z <= '9'; z++)
			n++;
		if (n == 0 || n > 9)
			return -EINVAL;
	}
	if (strcmp(z, "Z") == 0) {
		/* UTC */
	} else if ((z[0] == '+' || z[0] == '-') && strlen(z) == 5 && !digits(z + 1, 2, &oh) &&
		   !digits(z + 3, 2, &om)) {
		sign = z[0] == '-' ? -1 : 1;
	} else if ((z[0] == '+' || z[0] == '-') && strlen(z) == 6 && z[3] == ':' &&
		   !digits(z + 1, 2, &oh) && !digits(z + 4, 2, &om)) {
		sign = z[0] == '-' ? -1 : 1;
	} else {
		return -EINVAL;
	}
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || oh > 23 ||
	    om > 59 || Y < 1970)
		return -EINVAL;
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	/* Local time = UTC + offset, so UTC = local - offset. */
	*out = t - sign * (time_t)(oh * 3600 + om * 60);
	return 0;
}
