/* The management server <-> agent channel: what both ends share (reference-impl/README.md,
 * "Management server <-> agent channel").
 *
 * Wire: a unix stream socket carrying newline-delimited JSON objects (UTF-8, compact,
 * so a message never contains a raw newline), each at most CHAN_MAX_MSG bytes without
 * its newline; every message has a string "type". JSON is jansson's, with a zeroing
 * allocator installed process-wide (chan_proto_init), so that a passphrase inside a
 * parsed or built message is wiped when the message is freed; the read buffer and the
 * serialised form are wiped here too. (harness/util/json_writer's functions carry a jw_
 * prefix so that they never clash with jansson's json_* names in one program.) */
#ifndef VECS_REF_CHANNEL_PROTO_H
#define VECS_REF_CHANNEL_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"
#include "util/secret.h"

#define CHAN_VERSION 1
#define CHAN_MAX_MSG (1u << 20)     /* bytes per message, newline excluded */
#define CHAN_TOKEN_HEX 64           /* 32 random bytes, lower-case hex */
#define CHAN_HOST_MAX 255           /* host names, as host.name */
#define CHAN_PING_MS 1000           /* each side sends a ping this often */
#define CHAN_DEAD_MS 4000           /* ... and closes after this long without a message */
#define CHAN_HELLO_MS 5000          /* the first message must arrive within this */
#define CHAN_SEND_MS 5000           /* a message that cannot be written within this: dead */

/* Install the zeroing allocator into jansson, once per process. Every function of the
 * channel calls it first; a program using jansson for other things calls it before its
 * first jansson call (jansson's allocator must not change while objects exist). */
void chan_proto_init(void);

/* Test hook: called by the zeroing free with each block just before it is wiped and
 * freed (so a test can see that the blocks holding a passphrase go through it). NULL in
 * production. */
extern void (*chan_zfree_hook)(const void *p, size_t n);

/* Buffered reader of one connection. The buffer (CHAN_MAX_MSG + 1 bytes, locked if
 * possible) is wiped as messages are consumed and when it is freed. */
struct chan_reader {
	unsigned char *buf;
	size_t len, cap;
};

int chan_reader_init(struct chan_reader *r, struct vecs_err *err);
void chan_reader_free(struct chan_reader *r);
/* Read what the socket has (fd non-blocking). >0 bytes read, 0 end of stream, -EAGAIN
 * nothing yet, or another negative errno. */
ssize_t chan_reader_fill(struct chan_reader *r, int fd);
/* Take the next complete message out of the buffer: 1 and *msg (a JSON object with a
 * string "type"), 0 when no complete message is buffered, -EMSGSIZE when the buffer is
 * full without a newline, -EBADMSG for a line that is not such an object (the message
 * gives the column, never the text: it may hold a secret). */
int chan_reader_next(struct chan_reader *r, json_t **msg, struct vecs_err *err);

/* Serialise msg (compact) and write it with its newline to fd (non-blocking; waits up
 * to timeout_ms for room). The serialised copy is wiped after writing. -EMSGSIZE for
 * a message over CHAN_MAX_MSG (nothing written), -EPIPE/-ECONNRESET/-ETIMEDOUT/... when
 * the connection failed, possibly after part of the line was written: a partial line
 * is never acted on by the peer, who sees the connection close before its newline. */
int chan_send(int fd, json_t *msg, unsigned timeout_ms, struct vecs_err *err);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t chan_now_ms(void);

/* Open path for reading secrets: a regular file, not a symlink, with no group or other
 * permission bit (checked on the descriptor), at most 1 MiB, read into s. */
int chan_read_private_file(const char *path, const char *what, struct vecs_secret *s,
			   struct vecs_err *err);

/* An agent's token file: CHAN_TOKEN_HEX hex digits, optionally followed by a newline.
 * out: CHAN_TOKEN_HEX + 1 bytes, which the caller wipes after use. */
int chan_token_read_file(const char *path, char *out, struct vecs_err *err);

/* The server's tokens file: `HOSTNAME TOKEN` per line, '#' comments and blank lines
 * allowed, each host once. Kept in locked memory, wiped on release. */
struct chan_token_entry {
	char host[CHAN_HOST_MAX + 1];
	char token[CHAN_TOKEN_HEX + 1];
};
struct chan_tokens {
	struct vecs_secret mem; /* n entries */
	size_t n;
};
int chan_tokens_load(struct chan_tokens *t, const char *path, struct vecs_err *err);
void chan_tokens_release(struct chan_tokens *t);
/* Whether host is listed with this token. Takes the same time whether the host is
 * unknown, the token is wrong or of the wrong length (a constant-time compare against a
 * dummy), so the answer cannot be probed. *known says whether the host is listed. */
bool chan_tokens_check(const struct chan_tokens *t, const char *host, const char *token,
		       bool *known);

/* Copy s into a printable, bounded form for a log line (non-printable bytes as '?',
 * cut at len - 1). For peer-supplied names only; never for secrets. */
void chan_log_name(char *out, size_t len, const char *s);

#endif
