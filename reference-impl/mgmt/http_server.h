/* HTTP front of the API on libmicrohttpd: GET and POST (x-www-form-urlencoded) on
 * /client/api, plus GET /vecs/ready (unauthenticated, {"ready":true}: a readiness probe
 * and the benchmark's baseline). Limits: a body over HTTP_MAX_BODY is 413; a request
 * line and headers over HTTP_MAX_HEADER get libmicrohttpd's own 414/431 refusal;
 * more than API_MAX_PARAMS parameters is 431. The query string is taken raw (the URI
 * log callback) and decoded by api_params, so signing sees exactly what was sent. */
#ifndef VECS_REF_MGMT_HTTP_SERVER_H
#define VECS_REF_MGMT_HTTP_SERVER_H

#include <stdint.h>

#include "mgmt/mgmt.h"

#define HTTP_MAX_BODY (1024 * 1024)
#define HTTP_MAX_HEADER (64 * 1024)

struct http_server;

/* Listen on addr (an IPv4 address) and port (0: any free port; see *bound_port). */
int http_server_start(struct http_server **out, struct mgmt *m, const char *addr,
		      uint16_t port, unsigned threads, uint16_t *bound_port,
		      struct vecs_err *err);
void http_server_stop(struct http_server *s);

#endif
