/* The management server's end of the agent channel (reference-impl/README.md,
 * "Management server <-> agent channel"): a unix socket that agents connect to,
 * authenticate on (per-host token, same uid), register through (host_register, status
 * Up; Disconnected when the connection ends) and receive commands on.
 *
 * Threads: one acceptor, one reader per connection (which also sends the keepalive
 * pings and notices a silent peer); callers of agent_call block on their own answer, so
 * any number of job workers can have commands outstanding on one connection. */
#ifndef VECS_REF_MGMT_AGENT_CHANNEL_H
#define VECS_REF_MGMT_AGENT_CHANNEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mgmt/mgmt.h"
#include "util/err.h"

struct agent_channel;

struct agent_channel_config {
	const char *socket_path; /* its directory is created 0700 if missing */
	const char *tokens_path; /* 0600, `HOSTNAME TOKEN` per line */
	int64_t zone_id;         /* the zone agents' hosts are registered into */
	unsigned ping_ms;        /* 0: CHAN_PING_MS */
	unsigned dead_ms;        /* 0: CHAN_DEAD_MS */
	unsigned hello_ms;       /* 0: CHAN_HELLO_MS */
	/* Tests only: accept peers of this uid instead of the server's own (to exercise
	 * the SO_PEERCRED refusal without a second user). */
	bool peer_uid_set;
	uid_t peer_uid;
};

/* Listen on cfg->socket_path (mode 0600) and serve agents until agent_channel_stop.
 * The tokens file is read once, here. */
int agent_channel_start(struct agent_channel **out, struct mgmt *m,
			const struct agent_channel_config *cfg, struct vecs_err *err);

/* Close every connection (their hosts become Disconnected), stop listening and remove
 * the socket. Call after the job workers have stopped (no agent_call running). NULL is
 * fine. */
void agent_channel_stop(struct agent_channel *ch);

/* Run command `name` on host's agent and wait for its answer, at most timeout_ms.
 * args (an object, or NULL for {}) is not consumed; fields named "passphrase" (at any
 * depth) reach the agent's handler as locked secrets, never as JSON. The serialised
 * command is wiped after sending and the message objects by the zeroing allocator; the
 * caller wipes its own copy.
 *
 * Returns 0 and *result (an object the caller json_decref's) when the agent answered
 * ok. Otherwise, with err saying which:
 *   -EHOSTDOWN   no agent of that host is connected: the command was NOT sent;
 *   -ENOTCONN    the connection was lost after the command was (maybe partly) sent: it
 *                MAY HAVE RUN;
 *   -ETIMEDOUT   no answer in time: it may still be running; a late answer is dropped;
 *   -EREMOTEIO   the agent ran it and answered ok:false (err has its error text);
 *   -EMSGSIZE    the command is over the 1 MiB message limit (not sent).
 * agent_call never retries: only the caller knows whether its command is idempotent,
 * and only -EHOSTDOWN and -EMSGSIZE guarantee the command did not run. */
int agent_call(struct agent_channel *ch, const char *host, const char *name, json_t *args,
	       unsigned timeout_ms, json_t **result, struct vecs_err *err);

/* Whether host has a registered agent connection now. */
bool agent_channel_host_connected(struct agent_channel *ch, const char *host);

#endif
