/* The API of /client/api, independent of HTTP: parameters in, status and body out.
 *
 * Conventions (CloudStack's): the body is {"<command lower-cased>response": {...}};
 * lists are {"count": N, "<object>": [...]} or {} when empty; errors are
 * {"uuid", "errorcode", "cserrorcode", "errortext"} with the HTTP status equal to
 * errorcode. Every request is signed (api_sign.h); unsigned, forged and expired
 * requests get 401 with CloudStack's text. Only response=json is served: response=xml
 * (CloudStack's default when `response` is absent) gets a 432 error as a small XML
 * document, so an XML client sees a clear refusal in its own format. */
#ifndef VECS_REF_MGMT_API_H
#define VECS_REF_MGMT_API_H

#include <stdbool.h>
#include <stddef.h>

#include "mgmt/api_params.h"
#include "mgmt/mgmt.h"

#define API_ERR_AUTH 401          /* unsigned, forged, expired; unknown command */
#define API_ERR_PARAM 431         /* InvalidParameterValueException, PARAM_ERROR */
#define API_ERR_UNSUPPORTED 432   /* UNSUPPORTED_ACTION_ERROR */
#define API_ERR_INTERNAL 530      /* INTERNAL_ERROR */
#define API_CSERR_INVALID_PARAM 4350
#define API_CSERR_SERVER_API 9999

#define API_AUTH_FAILED_TEXT "unable to verify user credentials and/or request signature"

struct api_reply {
	int status;
	bool xml;
	char *body; /* malloc'ed */
	size_t len;
	char command[65]; /* validated command name for the log, "" if none */
	char user[41];    /* uuid of the authenticated user, "" if none */
};

void api_handle(struct mgmt *m, const struct api_params *p, struct api_reply *out);
/* An error reply outside of api_handle (bad request syntax, too large). cmd may be NULL
 * or anything: only a well-formed command name is used in the wrapper key. */
void api_reply_error(struct api_reply *out, const char *cmd, int code, int cserror,
		     const char *text, bool xml);
void api_reply_free(struct api_reply *r);

/* 1 when s is a well-formed command name (letters and digits, 1 to 64). */
int api_command_name_ok(const char *s);

#endif
