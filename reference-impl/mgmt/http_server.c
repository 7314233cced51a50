#include "mgmt/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mgmt/api.h"
#include "mgmt/api_params.h"

struct http_server {
	struct MHD_Daemon *d;
	struct mgmt *m;
};

struct request {
	char *uri; /* raw request-target, query included */
	char *body;
	size_t body_len;
	bool form;
	bool started;
	bool ready_probe;
	struct timespec t0;
};

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct request *rq = calloc(1, sizeof(*rq));

	if (rq) {
		rq->uri = strdup(uri ? uri : "");
		clock_gettime(CLOCK_MONOTONIC, &rq->t0);
	}
	return rq;
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	if (rq) {
		free(rq->uri);
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static enum MHD_Result send_reply(struct MHD_Connection *con, int status, const char *ctype,
				  char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-cache, no-store");
	ret = MHD_queue_response(con, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void log_request(struct mgmt *m, struct request *rq, const char *method,
			const struct api_reply *r)
{
	struct timespec t1;
	long us;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (t1.tv_sec - rq->t0.tv_sec) * 1000000L + (t1.tv_nsec - rq->t0.tv_nsec) / 1000;
	/* command is a validated name, user a uuid: nothing from the request is copied
	 * into the log but those. */
	mgmt_log(m, "%s command=%s user=%s status=%d us=%ld", method,
		 r->command[0] ? r->command : "-", r->user[0] ? r->user : "-", r->status, us);
}

static enum MHD_Result answer(struct MHD_Connection *con, const struct api_reply *r)
{
	const char *ctype = r->xml ? "text/xml; charset=UTF-8" : "application/json; charset=UTF-8";
	char *body = r->body;

	if (!body)
		return MHD_NO;
	return send_reply(con, r->status, ctype, body, r->len);
}

static enum MHD_Result fail(struct http_server *s, struct MHD_Connection *con,
			    struct request *rq, const char *method, int code, const char *text)
{
	struct api_reply r = { 0 };

	api_reply_error(&r, NULL, code, 9999, text, false);
	log_request(s->m, rq, method, &r);
	return answer(con, &r);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *con, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct request *rq = *con_cls;
	bool is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
	bool is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;

	if (!rq || !rq->uri)
		return MHD_NO;
	if (!rq->started) {
		const char *ctype, *clen;

		rq->started = true;
		if (is_get && strcmp(url, "/vecs/ready") == 0) {
			rq->ready_probe = true;
			return MHD_YES;
		}
		if (strcmp(url, "/client/api") != 0 && strcmp(url, "/client/api/") != 0)
			return fail(s, con, rq, method, 404,
				    "no such resource: the API is at /client/api");
		if (!is_get && !is_post)
			return fail(s, con, rq, method, 405,
				    "only GET and POST are accepted on /client/api");
		clen = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
						   MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (clen && strtoull(clen, NULL, 10) > HTTP_MAX_BODY)
			return fail(s, con, rq, method, 413,
				    "the request body is larger than 1048576 bytes");
		ctype = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_TYPE);
		rq->form = is_post && ctype &&
			   strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		char *nb;

		*upload_data_size = 0;
		if (rq->body_len + n > HTTP_MAX_BODY)
			return fail(s, con, rq, method, 413,
				    "the request body is larger than 1048576 bytes");
		if (!rq->form)
			return MHD_YES; /* a body that is not a form carries no parameters */
		nb = realloc(rq->body, rq->body_len + n + 1);
		if (!nb)
			return MHD_NO;
		memcpy(nb + rq->body_len, upload_data, n);
		rq->body = nb;
		rq->body_len += n;
		rq->body[rq->body_len] = '\0';
		return MHD_YES;
	}

	if (rq->ready_probe) {
		char *b = strdup("{\"ready\":true}");
		return b ? send_reply(con, 200, "application/json", b, strlen(b)) : MHD_NO;
	}

	/* The whole request is in: parse, dispatch, answer. */
	struct api_params p = { 0 };
	struct api_reply r = { 0 };
	struct vecs_err err = { 0 };
	const char *q = strchr(rq->uri, '?');
	int rc = 0;

	if (q) {
		const char *frag = strchr(q + 1, '#');
		rc = api_params_parse(&p, q + 1, frag ? (size_t)(frag - q - 1) : strlen(q + 1), &err);
	}
	if (rc == 0 && rq->body_len)
		rc = api_params_parse(&p, rq->body, rq->body_len, &err);
	if (rc < 0) {
		const char *resp = api_param_get(&p, "response");
		api_reply_error(&r, api_param_get(&p, "command"), rc == -ENOMEM ? 530 : 431, 9999,
				err.msg, !resp || strcasecmp(resp, "json") != 0);
		const char *cmd = api_param_get(&p, "command");
		if (cmd && api_command_name_ok(cmd))
			snprintf(r.command, sizeof(r.command), "%s", cmd);
	} else {
		api_handle(s->m, &p, &r);
	}
	api_params_free(&p);
	log_request(s->m, rq, method, &r);
	return answer(con, &r);
}

int http_server_start(struct http_server **out, struct mgmt *m, const char *addr,
		      uint16_t port, unsigned threads, uint16_t *bound_port,
		      struct vecs_err *err)
{
	struct http_server *s;
	struct sockaddr_in sa = { 0 };
	const union MHD_DaemonInfo *info;

	*out = NULL;
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return vecs_err_set(err, -EINVAL,
				    "listen address %s is not an IPv4 address (e.g. 127.0.0.1)", addr);
	s = calloc(1, sizeof(*s));
	if (!s)
		return vecs_err_set(err, -ENOMEM, "out of memory starting the HTTP server");
	s->m = m;
	s->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO, port, NULL, NULL,
		handler, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(threads ? threads : 1),
		MHD_OPTION_URI_LOG_CALLBACK, uri_logger, (void *)s, MHD_OPTION_NOTIFY_COMPLETED,
		completed, (void *)s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MAX_HEADER,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)1024, MHD_OPTION_END);
	if (!s->d) {
		free(s);
		return vecs_err_set(err, -EADDRINUSE,
				    "cannot listen on %s:%u (address in use, or not local?)", addr,
				    (unsigned)port);
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	*bound_port = info ? info->port : port;
	*out = s;
	return 0;
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	free(s);
}
