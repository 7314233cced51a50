#include "mgmt/powerflex_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/secret.h"

#define PFX_TOKENS 8
#define PFX_TOKEN_MAX 512
#define PFX_REPLY_MAX (8u << 20)
#define PFX_TIMEOUT_S 120L

struct pfx_token {
	char url[256];
	char token[PFX_TOKEN_MAX];
};

struct pfx {
	struct vecs_secret password;
	pthread_mutex_t lock;
	struct pfx_token tokens[PFX_TOKENS]; /* per gateway URL; "" = none */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int pfx_open(struct pfx **out, const char *password_path, struct vecs_err *err)
{
	struct pfx *c;
	struct stat st;
	int r;

	*out = NULL;
	if (stat(password_path, &st) < 0)
		return vecs_err_set(err, -errno, "cannot read the PowerFlex password file %s: %s",
				    password_path, strerror(errno));
	if (st.st_mode & 077)
		return vecs_err_set(err, -EPERM,
				    "the PowerFlex password file %s must be private (mode 0600)",
				    password_path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	r = vecs_secret_read_file(&c->password, password_path, err);
	if (r == 0 && (c->password.len >= 1024 || memchr(c->password.data, 0, c->password.len)))
		r = vecs_err_set(err, -EINVAL, "the PowerFlex password file %s is not a password",
				 password_path);
	if (r < 0) {
		vecs_secret_release(&c->password);
		free(c);
		return r;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_once(&curl_once, curl_init_once);
	*out = c;
	return 0;
}

void pfx_close(struct pfx *c)
{
	if (!c)
		return;
	vecs_secret_release(&c->password);
	explicit_bzero(c->tokens, sizeof(c->tokens));
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* --- pure helpers ------------------------------------------------------------------- */

int pfx_url(char *out, size_t len, const char *gateway_url, const char *path)
{
	size_t n;

	if (!gateway_url || !*gateway_url || !path || path[0] != '/')
		return -EINVAL;
	n = strlen(gateway_url);
	while (n && gateway_url[n - 1] == '/')
		n--;
	if (n >= 4 && !memcmp(gateway_url + n - 4, "/api", 4) && !strncmp(path, "/api", 4))
		n -= 4;
	if (n == 0)
		return -EINVAL;
	if ((size_t)snprintf(out, len, "%.*s%s", (int)n, gateway_url, path) >= len)
		return -ENAMETOOLONG;
	return 0;
}

uint64_t pfx_size_kb(uint64_t bytes)
{
	uint64_t kb = bytes / 1024 + (bytes % 1024 != 0);

	return kb ? kb : 1;
}

uint64_t pfx_size_gb(uint64_t bytes)
{
	const uint64_t g = 1024ULL * 1024 * 1024;
	uint64_t gb = bytes / g + (bytes % g != 0);

	return gb ? gb : 1;
}

int pfx_parse_error(const char *body, char *msg, size_t msglen)
{
	json_t *j = body ? json_loads(body, JSON_DECODE_ANY, NULL) : NULL;
	json_t *code = json_object_get(j, "errorCode");
	const char *m = json_string_value(json_object_get(j, "message"));
	int r = 0;

	if (json_is_integer(code))
		r = (int)json_integer_value(code);
	else if (json_is_string(code))
		r = atoi(json_string_value(code));
	if (msglen)
		snprintf(msg, msglen, "%s", m ? m : "");
	json_decref(j);
	return r;
}

int pfx_parse_id(const json_t *reply, char *out, size_t len)
{
	const char *id = json_is_string(reply)
				 ? json_string_value(reply)
				 : json_string_value(json_object_get(reply, "id"));

	if (!id || !*id || strlen(id) >= len)
		return -EPROTO;
	snprintf(out, len, "%s", id);
	return 0;
}

int pfx_pick_pool(const json_t *pools, const char *want, char *out, size_t len)
{
	size_t i;
	json_t *p;

	json_array_foreach(pools, i, p) {
		const char *id = json_string_value(json_object_get(p, "id"));
		const char *name = json_string_value(json_object_get(p, "name"));

		if (id && want && *want && (!strcmp(id, want) || (name && !strcmp(name, want))))
			return pfx_parse_id(p, out, len) < 0 ? -ENOENT : 0;
	}
	if (json_array_size(pools) == 1)
		return pfx_parse_id(json_array_get(pools, 0), out, len) < 0 ? -ENOENT : 0;
	return -ENOENT;
}

json_t *pfx_create_body(const char *name, uint64_t bytes, const char *pool_id)
{
	char kb[24];

	/* numbers as strings, as CloudStack's client sends them */
	snprintf(kb, sizeof(kb), "%llu", (unsigned long long)pfx_size_kb(bytes));
	return json_pack("{s:s, s:s, s:s, s:s}", "name", name, "volumeSizeInKb", kb,
			 "storagePoolId", pool_id, "volumeType", "ThinProvisioned");
}

/* --- HTTP ------------------------------------------------------------------------------ */

struct buf {
	char *p;
	size_t n;
	bool over;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ctx)
{
	struct buf *b = ctx;
	size_t n = size * nmemb;
	char *q;

	if (b->n + n > PFX_REPLY_MAX) {
		b->over = true;
		return 0;
	}
	q = realloc(b->p, b->n + n + 1);
	if (!q)
		return 0;
	memcpy(q + b->n, ptr, n);
	b->p = q;
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/* One request with Basic user:secret; body NULL = GET. *status is the HTTP status. */
static int http(const char *url, const char *secret, const char *body, long *status,
		char **reply, struct vecs_err *err)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	struct buf b = { 0 };
	CURLcode cc;

	*reply = NULL;
	*status = 0;
	if (!h)
		return vecs_err_set(err, -ENOMEM, "cannot start an HTTP request");
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (body)
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(h, CURLOPT_USERNAME, PFX_USER);
	curl_easy_setopt(h, CURLOPT_PASSWORD, secret);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, PFX_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	if (cc != CURLE_OK) {
		free(b.p);
		/* the message names the failure, never the URL's credentials (there are none
		 * in it) or the Authorization header */
		return vecs_err_set(err, cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO,
				    "PowerFlex gateway %s: %s", url,
				    b.over ? "reply too large" : curl_easy_strerror(cc));
	}
	*reply = b.p ? b.p : strdup("");
	return *reply ? 0 : vecs_err_set(err, -ENOMEM, "out of memory");
}

static struct pfx_token *token_slot(struct pfx *c, const char *gw)
{
	for (int i = 0; i < PFX_TOKENS; i++)
		if (!strcmp(c->tokens[i].url, gw))
			return &c->tokens[i];
	for (int i = 0; i < PFX_TOKENS; i++)
		if (!c->tokens[i].url[0]) {
			snprintf(c->tokens[i].url, sizeof(c->tokens[i].url), "%s", gw);
			return &c->tokens[i];
		}
	explicit_bzero(&c->tokens[0], sizeof(c->tokens[0]));
	snprintf(c->tokens[0].url, sizeof(c->tokens[0].url), "%s", gw);
	return &c->tokens[0];
}

/* A token for gateway gw into tok (a cached one unless fresh); logs in when needed. */
static int get_token(struct pfx *c, const char *gw, bool fresh, char *tok, struct vecs_err *err)
{
	char url[512];
	char *reply = NULL;
	long status;
	json_t *j;
	int r;

	pthread_mutex_lock(&c->lock);
	{
		struct pfx_token *t = token_slot(c, gw);

		if (fresh)
			explicit_bzero(t->token, sizeof(t->token));
		if (t->token[0]) {
			memcpy(tok, t->token, PFX_TOKEN_MAX);
			pthread_mutex_unlock(&c->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (pfx_url(url, sizeof(url), gw, "/api/login") < 0)
		return vecs_err_set(err, -EINVAL, "bad PowerFlex gateway URL %s", gw);
	r = http(url, (const char *)c->password.data, NULL, &status, &reply, err);
	if (r < 0)
		return r;
	if (status != 200) {
		char msg[256];

		pfx_parse_error(reply, msg, sizeof(msg));
		free(reply);
		return vecs_err_set(err, status == 401 ? -EACCES : -EIO,
				    "PowerFlex gateway %s: login as %s refused (HTTP %ld)%s%s", gw,
				    PFX_USER, status, msg[0] ? ": " : "", msg);
	}
	j = json_loads(reply, JSON_DECODE_ANY, NULL);
	explicit_bzero(reply, strlen(reply));
	free(reply);
	if (!json_is_string(j) || !json_string_length(j) ||
	    json_string_length(j) >= PFX_TOKEN_MAX) {
		json_decref(j);
		return vecs_err_set(err, -EPROTO, "PowerFlex gateway %s: login answered no token",
				    gw);
	}
	memset(tok, 0, PFX_TOKEN_MAX);
	memcpy(tok, json_string_value(j), json_string_length(j));
	json_decref(j);
	pthread_mutex_lock(&c->lock);
	memcpy(token_slot(c, gw)->token, tok, PFX_TOKEN_MAX);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* A request to the gateway of p: body NULL = GET. On success *reply (may be NULL) is the
 * parsed JSON answer; on a gateway error *code is its errorCode (else -1). */
static int call(struct pfx *c, const struct pool_record *p, const char *path, json_t *body,
		json_t **reply, int *code, struct vecs_err *err)
{
	char url[768], tok[PFX_TOKEN_MAX];
	char *text = NULL, *out = NULL;
	long status = 0;
	int r;

	if (reply)
		*reply = NULL;
	*code = -1;
	if (!c)
		return vecs_err_set(err, -EACCES,
				    "the management server has no PowerFlex credentials "
				    "(vecs-mgmt --powerflex-password-file)");
	if (pfx_url(url, sizeof(url), p->gateway_url, path) < 0)
		return vecs_err_set(err, -EINVAL, "bad PowerFlex gateway URL of pool %s", p->name);
	if (body && !(text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY)))
		return vecs_err_set(err, -ENOMEM, "out of memory");
	for (int attempt = 0; attempt < 2; attempt++) {
		r = get_token(c, p->gateway_url, attempt > 0, tok, err);
		if (r < 0)
			break;
		free(out);
		out = NULL;
		r = http(url, tok, text ? text : (body ? "{}" : NULL), &status, &out, err);
		if (r < 0 || status != 401)
			break;
	}
	explicit_bzero(tok, sizeof(tok));
	free(text);
	if (r < 0) {
		free(out);
		return r;
	}
	if (status == 200) {
		if (reply && out[0])
			*reply = json_loads(out, JSON_DECODE_ANY, NULL);
		free(out);
		return 0;
	}
	{
		char msg[256];
		const char *op = strrchr(path, '/');

		*code = pfx_parse_error(out, msg, sizeof(msg));
		free(out);
		return vecs_err_set(err, status == 401 ? -EACCES : -EIO,
				    "PowerFlex %s failed on pool %s (HTTP %ld, errorCode %d)%s%s",
				    op ? op + 1 : path, p->name, status, *code, msg[0] ? ": " : "",
				    msg);
	}
}

static int vol_action(struct pfx *c, const struct pool_record *p, const char *vol_id,
		      const char *action, json_t *body, json_t **reply, int *code,
		      struct vecs_err *err)
{
	char path[256];
	int r;

	snprintf(path, sizeof(path), "/api/instances/Volume::%s/action/%s", vol_id, action);
	r = call(c, p, path, body, reply, code, err);
	json_decref(body);
	return r;
}

static int pool_id(struct pfx *c, const struct pool_record *p, char *out, size_t len,
		   struct vecs_err *err)
{
	json_t *pools = NULL;
	int code, r = call(c, p, "/api/types/StoragePool/instances", NULL, &pools, &code, err);

	if (r == 0 && (r = pfx_pick_pool(pools, p->path, out, len)) < 0)
		vecs_err_set(err, r, "PowerFlex storage pool %s not found on the gateway of pool %s",
			     p->path, p->name);
	json_decref(pools);
	return r;
}

static int sdc_id(struct pfx *c, const struct pool_record *p, const struct host_record *h,
		  char *out, size_t len, struct vecs_err *err)
{
	json_t *body = json_pack("{s:s}", "name", h->name), *reply = NULL;
	int code, r = call(c, p, "/api/types/Sdc/instances/action/queryIdByKey", body, &reply,
			   &code, err);

	json_decref(body);
	if (r < 0 && code == PFX_E_NOT_FOUND_SDC && h->ip[0]) {
		body = json_pack("{s:s}", "ip", h->ip);
		r = call(c, p, "/api/types/Sdc/instances/action/queryIdByKey", body, &reply, &code,
			 err);
		json_decref(body);
	}
	if (r < 0 && code == PFX_E_NOT_FOUND_SDC)
		r = vecs_err_set(err, -ENODEV, "host %s has no SDC on the PowerFlex gateway of pool %s",
				 h->name, p->name);
	if (r == 0 && pfx_parse_id(reply, out, len) < 0)
		r = vecs_err_set(err, -EPROTO, "PowerFlex SDC query for host %s answered no id",
				 h->name);
	json_decref(reply);
	return r;
}

int pfx_volume_create(struct pfx *c, const struct pool_record *p, const char *name,
		      uint64_t bytes, char *id_out, size_t idlen, struct vecs_err *err)
{
	char pid[64];
	json_t *body, *reply = NULL;
	int code, r = pool_id(c, p, pid, sizeof(pid), err);

	if (r < 0)
		return r;
	body = pfx_create_body(name, bytes, pid);
	r = call(c, p, "/api/types/Volume/instances", body, &reply, &code, err);
	json_decref(body);
	if (r == 0 && pfx_parse_id(reply, id_out, idlen) < 0)
		r = vecs_err_set(err, -EPROTO, "PowerFlex volume create answered no id");
	json_decref(reply);
	return r;
}

int pfx_volume_map(struct pfx *c, const struct pool_record *p, const char *vol_id,
		   const struct host_record *h, struct vecs_err *err)
{
	char sdc[64];
	int code, r = sdc_id(c, p, h, sdc, sizeof(sdc), err);

	if (r < 0)
		return r;
	r = vol_action(c, p, vol_id, "addMappedSdc",
		       json_pack("{s:s, s:s}", "sdcId", sdc, "allowMultipleMappings", "TRUE"), NULL,
		       &code, err);
	if (r < 0 && code == PFX_E_ALREADY_MAPPED) {
		vecs_err_clear(err);
		r = 0;
	}
	return r;
}

int pfx_volume_unmap(struct pfx *c, const struct pool_record *p, const char *vol_id,
		     const struct host_record *h, struct vecs_err *err)
{
	char sdc[64];
	int code, r;

	if (!h) {
		r = vol_action(c, p, vol_id, "removeMappedSdc",
			       json_pack("{s:s}", "allSdcs", ""), NULL, &code, err);
	} else {
		r = sdc_id(c, p, h, sdc, sizeof(sdc), err);
		if (r < 0)
			return r;
		r = vol_action(c, p, vol_id, "removeMappedSdc", json_pack("{s:s}", "sdcId", sdc),
			       NULL, &code, err);
	}
	if (r < 0 && (code == PFX_E_NOT_MAPPED || code == PFX_E_VOLUME_NOT_FOUND)) {
		vecs_err_clear(err);
		r = 0;
	}
	return r;
}

int pfx_volume_remove(struct pfx *c, const struct pool_record *p, const char *vol_id,
		      struct vecs_err *err)
{
	int code, r = pfx_volume_unmap(c, p, vol_id, NULL, err);

	if (r == 0)
		r = vol_action(c, p, vol_id, "removeVolume",
			       json_pack("{s:s}", "removeMode", "ONLY_ME"), NULL, &code, err);
	if (r < 0 && code == PFX_E_VOLUME_NOT_FOUND) {
		vecs_err_clear(err);
		r = 0;
	}
	return r;
}

int pfx_volume_resize(struct pfx *c, const struct pool_record *p, const char *vol_id,
		      uint64_t bytes, uint64_t *kb_out, struct vecs_err *err)
{
	char path[256], gb[24];
	json_t *v = NULL, *kb;
	uint64_t cur = 0;
	int code, r;

	snprintf(path, sizeof(path), "/api/instances/Volume::%s", vol_id);
	r = call(c, p, path, NULL, &v, &code, err);
	if (r < 0)
		return r;
	kb = json_object_get(v, "sizeInKb");
	cur = json_is_integer(kb) ? (uint64_t)json_integer_value(kb)
				  : json_is_string(kb) ? strtoull(json_string_value(kb), NULL, 10) : 0;
	json_decref(v);
	if (cur < pfx_size_kb(bytes)) {
		snprintf(gb, sizeof(gb), "%llu", (unsigned long long)pfx_size_gb(bytes));
		r = vol_action(c, p, vol_id, "setVolumeSize", json_pack("{s:s}", "sizeInGB", gb),
			       NULL, &code, err);
		if (r < 0)
			return r;
		cur = pfx_size_gb(bytes) << 20;
	}
	if (kb_out)
		*kb_out = cur;
	return 0;
}

int pfx_volume_snapshot(struct pfx *c, const struct pool_record *p, const char *vol_id,
			const char *snap_name, char *id_out, size_t idlen, struct vecs_err *err)
{
	json_t *body = json_pack("{s:[{s:s, s:s}]}", "snapshotDefs", "volumeId", vol_id,
				 "snapshotName", snap_name);
	json_t *reply = NULL;
	int code, r;

	r = call(c, p, "/api/instances/System/action/snapshotVolumes", body, &reply, &code, err);
	json_decref(body);
	if (r == 0) {
		json_t *ids = json_object_get(reply, "volumeIdList");

		if (pfx_parse_id(json_array_get(ids, 0), id_out, idlen) < 0)
			r = vecs_err_set(err, -EPROTO, "PowerFlex snapshot answered no volume id");
	}
	json_decref(reply);
	return r;
}
