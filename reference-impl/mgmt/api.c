/* Dispatch of /client/api: authentication, the command table, parameters and the
 * CloudStack response shapes. */
#include "mgmt/api.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/user_dao.h"
#include "mgmt/api_internal.h"
#include "mgmt/api_sign.h"

int api_command_name_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) || n >= 64)
			return 0;
	return n > 0;
}

static void lower_name(const char *cmd, char *out, size_t size)
{
	size_t i = 0;

	if (cmd && api_command_name_ok(cmd))
		for (; cmd[i] && i + 1 < size; i++)
			out[i] = (char)tolower((unsigned char)cmd[i]);
	out[i] = '\0';
}

static void xml_escape_into(char *dst, size_t size, const char *s)
{
	size_t o = 0;

	for (; *s && o + 7 < size; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '"': rep = "&quot;"; break;
		default: break;
		}
		if (rep) {
			size_t l = strlen(rep);
			memcpy(dst + o, rep, l);
			o += l;
		} else {
			dst[o++] = *s;
		}
	}
	dst[o] = '\0';
}

void api_reply_error(struct api_reply *out, const char *cmd, int code, int cserror,
		     const char *text, bool xml)
{
	char lc[65], wrapper[80];

	lower_name(cmd, lc, sizeof(lc));
	snprintf(wrapper, sizeof(wrapper), "%sresponse", lc[0] ? lc : "error");
	free(out->body);
	out->body = NULL;
	out->status = code;
	out->xml = xml;
	if (xml) {
		char esc[2048];
		int n;

		xml_escape_into(esc, sizeof(esc), text);
		n = asprintf(&out->body,
			     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			     "<%s cloud-stack-version=\"4.18.0.0\"><errorcode>%d</errorcode>"
			     "<cserrorcode>%d</cserrorcode><errortext>%s</errortext></%s>\n",
			     wrapper, code, cserror, esc, wrapper);
		if (n < 0) {
			out->body = NULL;
			out->len = 0;
		} else {
			out->len = (size_t)n;
		}
		return;
	}
	struct json_writer j;
	jw_init_mem(&j, false);
	jw_set_utf8(&j, true);
	jw_obj_begin(&j);
	jw_key(&j, wrapper);
	jw_obj_begin(&j);
	jw_key(&j, "uuidList");
	jw_arr_begin(&j);
	jw_arr_end(&j);
	jw_kv_int(&j, "errorcode", code);
	jw_kv_int(&j, "cserrorcode", cserror);
	jw_kv_str(&j, "errortext", text);
	jw_obj_end(&j);
	jw_obj_end(&j);
	out->body = jw_take(&j, &out->len);
}

void api_reply_free(struct api_reply *r)
{
	free(r->body);
	r->body = NULL;
}

int api_fail(struct api_ctx *c, int code, int cserror, const char *fmt, ...)
{
	va_list ap;

	c->status = code;
	c->cserror = cserror;
	va_start(ap, fmt);
	vsnprintf(c->errortext, sizeof(c->errortext), fmt, ap);
	va_end(ap);
	return -1;
}

int api_fail_db(struct api_ctx *c, int r, const struct vecs_err *err)
{
	mgmt_log(c->m, "%s: database error %d: %s", c->cmd_lc, r, err ? err->msg : "");
	return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
			"Unable to execute API command %s due to an internal database error",
			c->cmd_lc);
}

/* Values are quoted in messages as CloudStack does, cut short: they are data. */
#define SHOWN_VALUE_MAX 64

int api_get_str(struct api_ctx *c, const char *name, bool required, size_t maxlen,
		const char **out)
{
	const char *v = api_param_get(c->p, name);

	*out = NULL;
	if (!v || !*v) {
		if (required)
			return api_fail(c, API_ERR_PARAM, API_CSERR_SERVER_API,
					"Unable to execute API command %s due to missing parameter %s",
					c->cmd_lc, name);
		return 0;
	}
	if (strlen(v) > maxlen)
		return api_fail(c, API_ERR_PARAM, API_CSERR_SERVER_API,
				"Unable to execute API command %s due to invalid value. Value of "
				"parameter %s is longer than %zu characters",
				c->cmd_lc, name, maxlen);
	*out = v;
	return 0;
}

static int invalid(struct api_ctx *c, const char *name, const char *v, const char *why)
{
	return api_fail(c, API_ERR_PARAM, API_CSERR_SERVER_API,
			"Unable to execute API command %s due to invalid value. Invalid parameter "
			"%s value=%.*s due to incorrect %s",
			c->cmd_lc, name, SHOWN_VALUE_MAX, v, why);
}

int api_get_bool(struct api_ctx *c, const char *name, int dflt, int *out)
{
	const char *v = api_param_get(c->p, name);

	*out = dflt;
	if (!v || !*v)
		return 0;
	if (strcasecmp(v, "true") == 0)
		*out = 1;
	else if (strcasecmp(v, "false") == 0)
		*out = 0;
	else
		return invalid(c, name, v, "boolean value format (true or false)");
	return 0;
}

int api_get_long(struct api_ctx *c, const char *name, bool required, int64_t min, int64_t max,
		 int64_t *out, bool *present)
{
	const char *v = api_param_get(c->p, name);
	char *end;
	long long x;

	if (present)
		*present = false;
	if (!v || !*v) {
		if (required)
			return api_fail(c, API_ERR_PARAM, API_CSERR_SERVER_API,
					"Unable to execute API command %s due to missing parameter %s",
					c->cmd_lc, name);
		return 0;
	}
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || *end || end == v || !(isdigit((unsigned char)v[0]) || v[0] == '-'))
		return invalid(c, name, v, "long value format");
	if (x < min || x > max)
		return api_fail(c, API_ERR_PARAM, API_CSERR_SERVER_API,
				"Unable to execute API command %s due to invalid value. Parameter %s "
				"must be between %" PRId64 " and %" PRId64,
				c->cmd_lc, name, min, max);
	*out = x;
	if (present)
		*present = true;
	return 0;
}

static bool uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

int api_fail_no_entity(struct api_ctx *c, const char *name, const char *value)
{
	return invalid(c, name, value,
		       "long value format, or entity does not exist or due to incorrect parameter "
		       "annotation for the field in api cmd class");
}

int api_get_uuid(struct api_ctx *c, const char *name, bool required, const char **out)
{
	int r = api_get_str(c, name, required, 255, out);

	if (r < 0 || !*out)
		return r;
	if (!uuid_ok(*out))
		return api_fail_no_entity(c, name, *out);
	return 0;
}

int api_list_begin(struct api_list *l, struct api_ctx *c)
{
	int64_t page = 1, pagesize = -1;
	bool has_page = false, has_size = false;

	memset(l, 0, sizeof(*l));
	l->c = c;
	jw_init_mem(&l->rows, false);
	jw_set_utf8(&l->rows, true);
	if (api_get_long(c, "page", false, 1, INT32_MAX, &page, &has_page) < 0 ||
	    api_get_long(c, "pagesize", false, 1, INT32_MAX, &pagesize, &has_size) < 0)
		return -1;
	if (has_page && !has_size)
		return api_fail(c, API_ERR_PARAM, API_CSERR_SERVER_API,
				"Unable to execute API command %s due to missing parameter pagesize "
				"(page is given)",
				c->cmd_lc);
	l->first = has_size ? (page - 1) * pagesize : 0;
	l->limit = has_size ? pagesize : -1;
	jw_arr_begin(&l->rows);
	return 0;
}

bool api_list_take(struct api_list *l)
{
	int64_t i = l->total++;

	return i >= l->first && (l->limit < 0 || i < l->first + l->limit);
}

void api_list_end(struct api_list *l, const char *key)
{
	char *rows;
	size_t n;

	jw_arr_end(&l->rows);
	rows = jw_take(&l->rows, &n);
	if (l->total > 0) {
		jw_kv_int(l->c->out, "count", l->total);
		jw_key(l->c->out, key);
		if (rows)
			jw_raw(l->c->out, rows, n);
		else
			l->c->out->oom = true;
	}
	free(rows);
}

int api_list_abandon(struct api_list *l)
{
	jw_free(&l->rows);
	return -1;
}

int api_list_finish(struct api_list *l, int r, const struct vecs_err *err, const char *key)
{
	if (r < 0) {
		api_fail_db(l->c, r, err);
		return api_list_abandon(l);
	}
	api_list_end(l, key);
	return 0;
}

void api_kv_date(struct json_writer *j, const char *key, const char *t)
{
	char b[40];

	if (!t || strlen(t) != 19)
		return;
	snprintf(b, sizeof(b), "%.10sT%.8s+0000", t, t + 11);
	jw_kv_str(j, key, b);
}

/* 0 when the request is signed by a live user; otherwise the reason, for the log. */
/* authenticate()'s answer when the user could not be looked up at all */
static const char AUTH_DB_FAILED[] = "user lookup failed (database error)";

static const char *authenticate(struct mgmt *m, struct db *db, const struct api_params *p,
				struct user_record *user)
{
	const char *key = api_param_get(p, "apiKey"), *sig = api_param_get(p, "signature");
	const char *ver = api_param_get(p, "signatureVersion");
	struct vecs_secret secret = { 0 };
	struct vecs_err err = { 0 };
	bool ok;
	int r;

	if (!key || !*key)
		return "no apiKey";
	if (!sig || !*sig)
		return "no signature";
	if (ver && strcmp(ver, "3") == 0) {
		const char *exp = api_param_get(p, "expires");
		time_t t;

		if (!exp)
			return "signatureVersion 3 without expires";
		if (api_parse_expires(exp, &t) < 0)
			return "malformed expires";
		if (t < m->now())
			return "expired";
	}
	r = user_find_by_api_key(db, &m->enc, key, user, &secret, &err);
	if (r == -ENOENT)
		return "unknown apiKey";
	if (r < 0) {
		mgmt_log(m, "authentication: %s", err.msg);
		return AUTH_DB_FAILED;
	}
	ok = api_sign_verify(p, secret.data, secret.len, sig);
	vecs_secret_release(&secret);
	return ok ? NULL : "signature mismatch";
}

void api_handle(struct mgmt *m, const struct api_params *p, struct api_reply *out)
{
	const char *cmd = api_param_get(p, "command"), *resp = api_param_get(p, "response");
	const struct api_command *ac;
	struct user_record user;
	struct api_ctx c;
	const char *why;
	char lc[65], wrapper[80];
	bool xml = !resp || strcasecmp(resp, "json") != 0;
	struct db *db;
	struct json_writer j;
	int r;

	memset(out, 0, sizeof(*out));
	if (cmd && api_command_name_ok(cmd))
		snprintf(out->command, sizeof(out->command), "%s", cmd);
	if (!cmd || !*cmd) {
		api_reply_error(out, NULL, 400, API_CSERR_SERVER_API, "no command specified", xml);
		return;
	}
	db = db_pool_get(m->pool);
	why = authenticate(m, db, p, &user);
	if (why == AUTH_DB_FAILED) {
		/* the database, not the caller, failed (MariaDB restarting): 530, retryable */
		mgmt_log(m, "request failed (530): %s", why);
		api_reply_error(out, cmd, API_ERR_INTERNAL, API_CSERR_SERVER_API,
				"Unable to execute API command: the database is unavailable, "
				"try again", xml);
		goto done;
	}
	if (why) {
		mgmt_log(m, "request refused (401): %s", why);
		api_reply_error(out, cmd, API_ERR_AUTH, API_CSERR_SERVER_API, API_AUTH_FAILED_TEXT,
				xml);
		goto done;
	}
	snprintf(out->user, sizeof(out->user), "%s", user.uuid);
	if (xml) {
		api_reply_error(out, cmd, API_ERR_UNSUPPORTED, API_CSERR_SERVER_API,
				"vecs-mgmt answers in JSON only: add response=json to the request",
				true);
		goto done;
	}
	ac = api_command_find(cmd);
	if (!ac) {
		api_reply_error(out, cmd, API_ERR_AUTH, API_CSERR_SERVER_API,
				"The given command does not exist or it is not available for user",
				false);
		goto done;
	}
	lower_name(ac->name, lc, sizeof(lc));
	snprintf(wrapper, sizeof(wrapper), "%sresponse", lc);
	jw_init_mem(&j, false);
	jw_set_utf8(&j, true);
	jw_obj_begin(&j);
	jw_key(&j, wrapper);
	jw_obj_begin(&j);
	memset(&c, 0, sizeof(c));
	c.m = m;
	c.db = db;
	c.p = p;
	c.user = &user;
	c.cmd_lc = lc;
	c.out = &j;
	r = ac->fn(&c);
	if (r < 0) {
		jw_free(&j);
		api_reply_error(out, ac->name, c.status, c.cserror, c.errortext, false);
		goto done;
	}
	jw_obj_end(&j);
	jw_obj_end(&j);
	out->status = 200;
	out->body = jw_take(&j, &out->len);
	if (!out->body)
		api_reply_error(out, ac->name, API_ERR_INTERNAL, API_CSERR_SERVER_API,
				"out of memory building the response", false);
done:
	db_pool_put(m->pool, db);
}
