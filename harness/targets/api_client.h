/* A CloudStack API client, written here independently of the reference server: the
 * harness signs its own requests, so a server that verifies signatures differently
 * from CloudStack fails the harness's calls.
 *
 * Signature (CloudStack's ApiServer.verifyRequest): every parameter except
 * `signature`, sorted by name, joined as name=URLEncoder(value) with '+' as %20, the
 * whole string lower-cased, HMAC-SHA1 with the secret key, base64. */
#ifndef VECS_TARGETS_API_CLIENT_H
#define VECS_TARGETS_API_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "util/err.h"

struct vecs_api;

struct vecs_api_reply {
	long http_status;
	int errorcode;       /* CloudStack's errorcode (431, 432, 530, ...), 0 on success */
	char errortext[1024];
	json_t *response;    /* the "<command>response" object (owned; NULL on transport failure) */
};

/* url: http://ADDR:PORT/client/api. The secret key is copied into locked memory. */
int vecs_api_new(struct vecs_api **out, const char *url, const char *api_key,
		 const char *secret_key, struct vecs_err *err);
void vecs_api_free(struct vecs_api *api);

/* Call `command` with NULL-terminated name/value pairs. Returns 0 when the server
 * answered (check res->errorcode: a refusal is an answer), -errno when it could not
 * be reached or answered something that is not CloudStack JSON. */
int vecs_api_call(struct vecs_api *api, const char *command, const char *const *params,
		  struct vecs_api_reply *res, struct vecs_err *err);

/* Poll queryAsyncJobResult until jobid finishes or timeout_ms passes. On success
 * res->response is the job's `jobresult`; a failed job is an answer with errorcode and
 * errortext from the job. -ETIMEDOUT when it did not finish in time. */
int vecs_api_wait_job(struct vecs_api *api, const char *jobid, int timeout_ms,
		      struct vecs_api_reply *res, struct vecs_err *err);

void vecs_api_reply_clear(struct vecs_api_reply *res);

/* The signed query string for params (exposed for known-answer tests); malloc'ed. */
char *vecs_api_signed_query(const char *secret_key, const char *const *params);

#endif
