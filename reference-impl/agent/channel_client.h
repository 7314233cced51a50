/* The agent's end of the management server <-> agent channel (reference-impl/README.md,
 * "Management server <-> agent channel").
 *
 * One connection thread connects (with backoff), says hello with the host's token,
 * registers (startup: ip, libvirt URI and the capability details the caller supplies),
 * then reads commands and queues them to a small worker pool, so a long command never
 * holds up the keepalive. When the server goes away it reconnects by itself and says
 * hello and startup again. Answers to commands of a connection that has ended are
 * dropped: the server has already told the caller the connection was lost.
 *
 * Secrets: before a command is queued, every argument field named "passphrase" (at any
 * depth; a JSON string) is copied into a locked struct vecs_secret, the JSON string is
 * wiped in place and the field removed, so the handler's args never hold it. Handlers
 * look secrets up by path (chan_secret_get) and must not copy them anywhere but a 0600
 * key file they delete; the secrets are wiped as soon as the handler returns. */
#ifndef VECS_REF_AGENT_CHANNEL_CLIENT_H
#define VECS_REF_AGENT_CHANNEL_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/err.h"
#include "util/secret.h"

#define CHAN_MAX_SECRETS 8
#define CHAN_SECRET_PATH_MAX 128

/* The secrets taken out of one command's arguments. A path is the dotted location of
 * the object holding the field, plus "passphrase": "passphrase" at the top level,
 * "volume.passphrase" in args.volume, "disks.1.passphrase" in args.disks[1]. */
struct chan_secrets {
	unsigned n;
	struct {
		char path[CHAN_SECRET_PATH_MAX];
		struct vecs_secret s;
	} v[CHAN_MAX_SECRETS];
};

/* The secret at path, or NULL when the command carried none there. */
const struct vecs_secret *chan_secret_get(const struct chan_secrets *s, const char *path);

/* A command handler: args without any "passphrase" field, the secrets, and on success
 * *result (an object, or NULL for {}) whose reference passes to the channel. A negative
 * return answers ok:false with err->msg as the error text (shown to the API caller: no
 * secret in it). Handlers run on worker threads, several at a time. */
typedef int (*chan_handler_fn)(void *ctx, json_t *args, const struct chan_secrets *secrets,
			       json_t **result, struct vecs_err *err);

struct chan_handler {
	const char *name;
	chan_handler_fn fn;
};

struct channel_client_config {
	const char *socket_path;
	const char *host;        /* as in the server's tokens file */
	const char *token_file;  /* 0600, the host's token (read once, at start) */
	const char *ip;          /* optional */
	const char *libvirt_uri; /* optional */
	json_t *details;         /* object of string values, e.g. host.volume.encryption;
				    copied at start, sent with every startup */
	const struct chan_handler *handlers;
	size_t n_handlers;
	void *handler_ctx;
	unsigned workers;        /* 0: 4 */
	unsigned ping_ms;        /* 0: CHAN_PING_MS */
	unsigned dead_ms;        /* 0: CHAN_DEAD_MS */
	unsigned backoff_min_ms; /* 0: 100; doubled per failed attempt ... */
	unsigned backoff_max_ms; /* 0: 2000; ... up to this (also after a refusal) */
	FILE *log;               /* NULL: stderr; names and outcomes only, never secrets */
};

struct channel_client;

/* Read the token and start the connection thread and the workers; returns before the
 * first connection is made (see channel_client_wait_registered). */
int channel_client_start(struct channel_client **out, const struct channel_client_config *cfg,
			 struct vecs_err *err);
/* Wait up to timeout_ms until the client is registered: 0, or -ETIMEDOUT. */
int channel_client_wait_registered(struct channel_client *c, unsigned timeout_ms);
/* How many times the client has registered since start (reconnects count). */
unsigned channel_client_registrations(struct channel_client *c);
/* Close the connection, wait for running handlers, drop queued commands (their secrets
 * wiped), free everything. NULL is fine. */
void channel_client_stop(struct channel_client *c);

/* Test hooks, NULL in production: called with a secret's buffer after it was wiped and
 * before it is freed, and with a JSON passphrase string after it was wiped in place and
 * before the field is removed. */
extern void (*chan_secret_wiped_hook)(const unsigned char *p, size_t n);
extern void (*chan_json_secret_wiped_hook)(const char *p, size_t n);

#endif
