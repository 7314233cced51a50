#include "targets/api_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/secret.h"

#define API_MAX_PARAMS 64
#define API_MAX_BODY (16u << 20)

struct vecs_api {
	char *url;
	char *api_key;
	struct vecs_secret secret;
	CURL *curl;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* java.net.URLEncoder.encode(s, "UTF-8"), then '+' -> %20: letters, digits and
 * ".-*_" stay, everything else is %XX (upper-case hex; lower-cased later anyway). */
static char *java_urlencode(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1), *p = out;

	if (!out)
		return NULL;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (isalnum(*c) || *c == '.' || *c == '-' || *c == '*' || *c == '_')
			*p++ = (char)*c;
		else
			p += sprintf(p, "%%%02X", *c);
	}
	*p = '\0';
	return out;
}

struct param {
	const char *name;
	char *enc;
};

static int cmp_param(const void *a, const void *b)
{
	return strcmp(((const struct param *)a)->name, ((const struct param *)b)->name);
}

/* name=enc&... in sorted order; lower-cased copy for signing in *to_sign. */
static char *join_sorted(const char *const *params, char **to_sign)
{
	struct param ps[API_MAX_PARAMS];
	size_t n = 0, len = 1;
	char *q = NULL;

	*to_sign = NULL;
	for (size_t i = 0; params[i] && params[i + 1] && n < API_MAX_PARAMS; i += 2) {
		ps[n].name = params[i];
		ps[n].enc = java_urlencode(params[i + 1]);
		if (!ps[n].enc)
			goto out;
		len += strlen(params[i]) + strlen(ps[n].enc) + 2;
		n++;
	}
	qsort(ps, n, sizeof(ps[0]), cmp_param);
	q = malloc(len);
	if (!q)
		goto out;
	q[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(q, "&");
		strcat(q, ps[i].name);
		strcat(q, "=");
		strcat(q, ps[i].enc);
	}
	*to_sign = strdup(q);
	if (*to_sign)
		for (char *c = *to_sign; *c; c++)
			*c = (char)tolower((unsigned char)*c);
out:
	for (size_t i = 0; i < n; i++)
		free(ps[i].enc);
	return q;
}

static char *sign(const void *key, size_t key_len, const char *msg)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char *b64 = malloc(4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1);

	if (!b64 || !HMAC(EVP_sha1(), key, (int)key_len, (const unsigned char *)msg, strlen(msg),
			  mac, &mac_len)) {
		free(b64);
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)mac_len);
	return b64;
}

static char *signed_query(const void *key, size_t key_len, const char *const *params)
{
	char *to_sign = NULL, *q = join_sorted(params, &to_sign), *sig = NULL, *sig_enc = NULL;
	char *out = NULL;

	if (q && to_sign && (sig = sign(key, key_len, to_sign)) && (sig_enc = java_urlencode(sig)) &&
	    asprintf(&out, "%s&signature=%s", q, sig_enc) < 0)
		out = NULL;
	free(q);
	free(to_sign);
	free(sig);
	free(sig_enc);
	return out;
}

char *vecs_api_signed_query(const char *secret_key, const char *const *params)
{
	return signed_query(secret_key, strlen(secret_key), params);
}

int vecs_api_new(struct vecs_api **out, const char *url, const char *api_key,
		 const char *secret_key, struct vecs_err *err)
{
	struct vecs_api *api = calloc(1, sizeof(*api));
	int r;

	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if (!api)
		return vecs_err_set(err, -ENOMEM, "out of memory for an API client");
	api->url = strdup(url);
	api->api_key = strdup(api_key);
	api->curl = curl_easy_init();
	r = vecs_secret_from_mem(&api->secret, secret_key, strlen(secret_key), err);
	if (r < 0 || !api->url || !api->api_key || !api->curl) {
		vecs_api_free(api);
		return r < 0 ? r : vecs_err_set(err, -ENOMEM, "out of memory for an API client");
	}
	*out = api;
	return 0;
}

void vecs_api_free(struct vecs_api *api)
{
	if (!api)
		return;
	if (api->curl)
		curl_easy_cleanup(api->curl);
	vecs_secret_release(&api->secret);
	free(api->url);
	free(api->api_key);
	free(api);
}

void vecs_api_reply_clear(struct vecs_api_reply *res)
{
	if (res->response)
		json_decref(res->response);
	memset(res, 0, sizeof(*res));
}

struct body {
	char *p;
	size_t len;
	bool too_big;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;
	char *p;

	if (b->len + n > API_MAX_BODY) {
		b->too_big = true;
		return 0;
	}
	p = realloc(b->p, b->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, data, n);
	b->len += n;
	p[b->len] = '\0';
	b->p = p;
	return n;
}

/* The one "...response" member of CloudStack's reply. */
static json_t *response_member(json_t *root)
{
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v) {
		size_t n = strlen(key);
		if (n > 8 && !strcmp(key + n - 8, "response") && json_is_object(v))
			return v;
	}
	return NULL;
}

int vecs_api_call(struct vecs_api *api, const char *command, const char *const *params,
		  struct vecs_api_reply *res, struct vecs_err *err)
{
	const char *all[2 * API_MAX_PARAMS + 8];
	struct body body = { 0 };
	json_error_t jerr;
	json_t *root = NULL, *resp;
	char *query = NULL, *url = NULL;
	size_t n = 0;
	CURLcode cc;
	int r = 0;

	memset(res, 0, sizeof(*res));
	all[n++] = "command";
	all[n++] = command;
	all[n++] = "response";
	all[n++] = "json";
	all[n++] = "apiKey";
	all[n++] = api->api_key;
	for (size_t i = 0; params && params[i] && params[i + 1] && n + 2 < sizeof(all) / sizeof(all[0]) - 1; i += 2) {
		all[n++] = params[i];
		all[n++] = params[i + 1];
	}
	all[n] = NULL;
	query = signed_query(api->secret.data, api->secret.len, all);
	if (!query || asprintf(&url, "%s?%s", api->url, query) < 0) {
		free(query);
		return vecs_err_set(err, -ENOMEM, "out of memory building a %s request", command);
	}
	curl_easy_reset(api->curl);
	curl_easy_setopt(api->curl, CURLOPT_URL, url);
	curl_easy_setopt(api->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(api->curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(api->curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(api->curl, CURLOPT_NOSIGNAL, 1L);
	/* the harness only ever talks to the stack it started, on loopback */
	curl_easy_setopt(api->curl, CURLOPT_NOPROXY, "*");
	cc = curl_easy_perform(api->curl);
	curl_easy_getinfo(api->curl, CURLINFO_RESPONSE_CODE, &res->http_status);
	free(url);
	free(query);
	if (cc != CURLE_OK) {
		free(body.p);
		return vecs_err_set(err, -ECONNREFUSED, "%s: cannot reach %s: %s", command, api->url,
				    body.too_big ? "reply too large" : curl_easy_strerror(cc));
	}
	root = body.p ? json_loads(body.p, 0, &jerr) : NULL;
	free(body.p);
	resp = root ? response_member(root) : NULL;
	if (!resp) {
		if (root)
			json_decref(root);
		return vecs_err_set(err, -EPROTO,
				    "%s: HTTP %ld with a body that is not a CloudStack JSON response",
				    command, res->http_status);
	}
	res->response = json_incref(resp);
	json_decref(root);
	if (json_integer_value(json_object_get(resp, "errorcode")) != 0) {
		res->errorcode = (int)json_integer_value(json_object_get(resp, "errorcode"));
		snprintf(res->errortext, sizeof(res->errortext), "%s",
			 json_string_value(json_object_get(resp, "errortext")) ?: "");
	}
	return r;
}

int vecs_api_wait_job(struct vecs_api *api, const char *jobid, int timeout_ms,
		      struct vecs_api_reply *res, struct vecs_err *err)
{
	const char *params[] = { "jobid", jobid, NULL };
	/* short first: most jobs of the reference stack end within 100 ms; then 1.5x up to
	 * 200 ms, so a long job costs at most 200 ms of latency and ~5 polls a second */
	struct timespec start, now, pause = { 0, 20 * 1000000L };
	int r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		json_t *status, *result;

		r = vecs_api_call(api, "queryAsyncJobResult", params, res, err);
		if (r < 0 || res->errorcode)
			return r;
		status = json_object_get(res->response, "jobstatus");
		if (json_integer_value(status) != 0) {
			result = json_incref(json_object_get(res->response, "jobresult"));
			if (json_integer_value(status) == 2) {
				res->errorcode = (int)json_integer_value(json_object_get(result, "errorcode"));
				if (!res->errorcode)
					res->errorcode = 530;
				snprintf(res->errortext, sizeof(res->errortext), "%s",
					 json_string_value(json_object_get(result, "errortext")) ?: "");
			}
			json_decref(res->response);
			res->response = result;
			return 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > timeout_ms) {
			vecs_api_reply_clear(res);
			return vecs_err_set(err, -ETIMEDOUT, "job %s did not finish within %d ms", jobid,
					    timeout_ms);
		}
		vecs_api_reply_clear(res);
		nanosleep(&pause, NULL);
		pause.tv_nsec = pause.tv_nsec * 3 / 2;
		if (pause.tv_nsec > 200 * 1000000L)
			pause.tv_nsec = 200 * 1000000L;
	}
}
