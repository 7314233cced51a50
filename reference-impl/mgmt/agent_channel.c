#include "mgmt/agent_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "channel/channel_proto.h"
#include "db/host_dao.h"

enum pending_state { P_WAITING, P_ANSWERED, P_GONE };

/* One outstanding agent_call, on the caller's stack; in its connection's list only
 * while the caller waits, touched by others only under ch->lock. */
struct pending {
	struct pending *next;
	int64_t seq;
	enum pending_state state;
	json_t *answer;
};

enum conn_state { C_HELLO, C_AUTHED, C_REGISTERED, C_CLOSED };

struct conn {
	struct agent_channel *ch;
	struct conn *next;
	int fd;
	pid_t pid;
	uid_t uid;
	pthread_mutex_t wlock; /* one writer at a time: messages never interleave */
	/* under ch->lock */
	unsigned refs;
	enum conn_state state;
	bool superseded; /* a newer connection registered the same host */
	char host[CHAN_HOST_MAX + 1];
	int64_t next_seq;
	struct pending *pending;
};

struct agent_channel {
	struct mgmt *m;
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ino_t socket_ino;
	int64_t zone_id;
	unsigned ping_ms, dead_ms, hello_ms;
	uid_t peer_uid;
	struct chan_tokens tokens;
	int lfd;
	int wake[2];
	pthread_t acceptor;
	bool acceptor_started;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* answers, closed connections, readers leaving */
	/* Held across "which connection is current for host" and the database write of
	 * the host's status, so a late disconnect of an old connection can never mark
	 * Disconnected a host that a newer connection just registered. */
	pthread_mutex_t status_lock;
	struct conn *conns;
	unsigned readers;
	bool stopping;
};

static void conn_unref(struct conn *c)
{
	struct agent_channel *ch = c->ch;
	bool last;

	pthread_mutex_lock(&ch->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&ch->lock);
	if (!last)
		return;
	close(c->fd);
	pthread_mutex_destroy(&c->wlock);
	free(c);
}

static int conn_send(struct conn *c, json_t *msg, struct vecs_err *err)
{
	int r;

	pthread_mutex_lock(&c->wlock);
	r = chan_send(c->fd, msg, CHAN_SEND_MS, err);
	pthread_mutex_unlock(&c->wlock);
	return r;
}

/* Best effort: a refusal is a courtesy to a peer we are about to close. */
static void send_refused(int fd, const char *reason)
{
	json_t *msg = json_pack("{s:s, s:s}", "type", "refused", "reason", reason);

	if (msg)
		chan_send(fd, msg, 500, NULL);
	json_decref(msg);
}

/* --- messages ------------------------------------------------------------------- */

static int on_hello(struct conn *c, json_t *msg)
{
	struct agent_channel *ch = c->ch;
	const char *host = json_string_value(json_object_get(msg, "host"));
	const char *token = json_string_value(json_object_get(msg, "token"));
	json_t *version = json_object_get(msg, "version");
	char name[64];
	bool known, ok;
	json_t *w;
	int r;

	chan_log_name(name, sizeof(name), host ? host : "");
	if (!host || !*host || strlen(host) > CHAN_HOST_MAX || !token) {
		mgmt_log(ch->m, "agent channel: hello from pid %ld refused: no host or token",
			 (long)c->pid);
		send_refused(c->fd, "hello needs host and token");
		return -EPROTO;
	}
	if (!json_is_integer(version) || json_integer_value(version) != CHAN_VERSION) {
		mgmt_log(ch->m, "agent channel: hello of host %s refused: protocol version is not %d",
			 name, CHAN_VERSION);
		send_refused(c->fd, "unsupported protocol version (this server speaks 1)");
		return -EPROTO;
	}
	ok = chan_tokens_check(&ch->tokens, host, token, &known);
	/* the token string is wiped when msg is freed (zeroing allocator) */
	if (!ok) {
		mgmt_log(ch->m, "agent channel: hello of host %s (pid %ld) refused: %s", name,
			 (long)c->pid,
			 known ? "wrong token" : "host not in the tokens file");
		/* the same answer for both, so a peer cannot probe host names */
		send_refused(c->fd, "authentication failed");
		return -EACCES;
	}
	pthread_mutex_lock(&ch->lock);
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->state = C_AUTHED;
	pthread_mutex_unlock(&ch->lock);
	w = json_pack("{s:s, s:i, s:i}", "type", "welcome", "version", CHAN_VERSION, "ping_ms",
		      (int)ch->ping_ms);
	r = w ? conn_send(c, w, NULL) : -ENOMEM;
	json_decref(w);
	if (r == 0)
		mgmt_log(ch->m, "agent channel: host %s authenticated (pid %ld)", name,
			 (long)c->pid);
	return r;
}

static int copy_field(char *dst, size_t len, json_t *v, const char *what, struct vecs_err *err)
{
	const char *s;

	if (!v || json_is_null(v)) {
		dst[0] = '\0';
		return 0;
	}
	s = json_string_value(v);
	if (!s || strlen(s) >= len)
		return vecs_err_set(err, -EINVAL, "startup: %s must be a string of at most %zu bytes",
				    what, len - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int on_startup(struct conn *c, json_t *msg, struct vecs_err *err)
{
	struct agent_channel *ch = c->ch;
	const char *host = json_string_value(json_object_get(msg, "host"));
	json_t *details = json_object_get(msg, "details"), *v, *reply;
	struct host_record *h;
	char name[64], libvirt_uri[1024];
	const char *key, *enc = "false";
	struct db *db;
	int r;

	chan_log_name(name, sizeof(name), c->host);
	if (host && strcmp(host, c->host) != 0)
		return vecs_err_set(err, -EPROTO, "startup names another host than the hello");
	if (details && !json_is_object(details))
		return vecs_err_set(err, -EINVAL, "startup: details must be an object");
	if (json_object_size(details) > HOST_MAX_DETAILS)
		return vecs_err_set(err, -E2BIG, "startup: more than %d details", HOST_MAX_DETAILS);
	h = calloc(1, sizeof(*h));
	if (!h)
		return vecs_err_set(err, -ENOMEM, "out of memory registering a host");
	snprintf(h->name, sizeof(h->name), "%s", c->host);
	h->zone_id = ch->zone_id;
	r = copy_field(h->ip, sizeof(h->ip), json_object_get(msg, "ip"), "ip", err);
	if (r == 0)
		r = copy_field(libvirt_uri, sizeof(libvirt_uri), json_object_get(msg, "libvirt_uri"),
			       "libvirt_uri", err);
	json_object_foreach(details, key, v) {
		struct host_detail *d = &h->details[h->n_details];

		if (r < 0)
			break;
		if (strlen(key) >= sizeof(d->name) || !json_is_string(v) ||
		    json_string_length(v) >= sizeof(d->value)) {
			r = vecs_err_set(err, -EINVAL,
					 "startup: details must map names to strings of at most "
					 "255 bytes");
			break;
		}
		snprintf(d->name, sizeof(d->name), "%s", key);
		snprintf(d->value, sizeof(d->value), "%s", json_string_value(v));
		if (!strcmp(key, HOST_DETAIL_VOLUME_ENCRYPTION))
			enc = strcasecmp(d->value, "true") == 0 ? "true" : "false";
		h->n_details++;
	}
	if (r < 0) {
		free(h);
		return r;
	}
	pthread_mutex_lock(&ch->status_lock);
	db = db_pool_get(ch->m->pool);
	r = host_register(db, h, err);
	db_pool_put(ch->m->pool, db);
	if (r == 0) {
		pthread_mutex_lock(&ch->lock);
		for (struct conn *o = ch->conns; o; o = o->next)
			if (o != c && o->state == C_REGISTERED && !o->superseded &&
			    !strcmp(o->host, c->host)) {
				/* the agent restarted before we noticed its old connection died */
				o->superseded = true;
				shutdown(o->fd, SHUT_RDWR);
			}
		c->state = C_REGISTERED;
		pthread_mutex_unlock(&ch->lock);
	}
	pthread_mutex_unlock(&ch->status_lock);
	if (r == 0) {
		mgmt_log(ch->m,
			 "agent channel: host %s registered (id %s, status Up, "
			 "encryption supported: %s, %u details)",
			 name, h->uuid, enc, h->n_details);
		reply = json_pack("{s:s, s:s}", "type", "registered", "id", h->uuid);
		r = reply ? conn_send(c, reply, err) : -ENOMEM;
		json_decref(reply);
	}
	free(h);
	return r;
}

static void pending_remove(struct conn *c, struct pending *p)
{
	for (struct pending **pp = &c->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

static int on_answer(struct conn *c, json_t *msg, struct vecs_err *err)
{
	struct agent_channel *ch = c->ch;
	json_t *seq = json_object_get(msg, "seq");
	struct pending *p;
	char name[64];

	if (!json_is_integer(seq) || !json_is_boolean(json_object_get(msg, "ok")))
		return vecs_err_set(err, -EPROTO, "answer without an integer seq and a boolean ok");
	pthread_mutex_lock(&ch->lock);
	for (p = c->pending; p && p->seq != json_integer_value(seq); p = p->next)
		;
	if (p) {
		/* out of the list now: the caller may return (and its p go) at any time */
		pending_remove(c, p);
		p->answer = json_incref(msg);
		p->state = P_ANSWERED;
		pthread_cond_broadcast(&ch->cond);
	}
	pthread_mutex_unlock(&ch->lock);
	if (!p) {
		chan_log_name(name, sizeof(name), c->host);
		mgmt_log(ch->m, "agent channel: host %s: answer to seq %lld dropped (timed out or "
				"unknown)",
			 name, (long long)json_integer_value(seq));
	}
	return 0;
}

static int on_message(struct conn *c, json_t *msg, struct vecs_err *err)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	enum conn_state st;

	pthread_mutex_lock(&c->ch->lock);
	st = c->state;
	pthread_mutex_unlock(&c->ch->lock);
	if (!strcmp(type, "ping") && st != C_HELLO)
		return 0;
	if (st == C_HELLO) {
		if (strcmp(type, "hello") != 0) {
			send_refused(c->fd, "the first message must be a hello");
			return vecs_err_set(err, -EPROTO, "first message is not a hello");
		}
		return on_hello(c, msg);
	}
	if (!strcmp(type, "startup"))
		return on_startup(c, msg, err);
	if (st == C_REGISTERED && !strcmp(type, "answer"))
		return on_answer(c, msg, err);
	return vecs_err_set(err, -EPROTO, "unexpected message type (%.32s%s)",
			    strlen(type) <= 32 ? type : "", strlen(type) <= 32 ? "" : "...");
}

/* --- one connection --------------------------------------------------------------- */

static void conn_close(struct conn *c)
{
	struct agent_channel *ch = c->ch;
	bool was_current;
	char name[64];
	struct vecs_err err = { 0 };

	pthread_mutex_lock(&ch->status_lock);
	pthread_mutex_lock(&ch->lock);
	was_current = c->state == C_REGISTERED && !c->superseded;
	c->state = C_CLOSED;
	for (struct pending *p = c->pending; p; p = p->next)
		p->state = P_GONE;
	c->pending = NULL;
	for (struct conn **pp = &ch->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	pthread_cond_broadcast(&ch->cond);
	pthread_mutex_unlock(&ch->lock);
	shutdown(c->fd, SHUT_RDWR);
	chan_log_name(name, sizeof(name), c->host);
	if (was_current) {
		struct db *db = db_pool_get(ch->m->pool);
		if (host_set_status(db, c->host, "Disconnected", &err) < 0)
			mgmt_log(ch->m, "agent channel: host %s: cannot mark it Disconnected: %s",
				 name, err.msg);
		db_pool_put(ch->m->pool, db);
		mgmt_log(ch->m, "agent channel: host %s disconnected (status Disconnected)", name);
	}
	pthread_mutex_unlock(&ch->status_lock);
}

static void *conn_reader(void *arg)
{
	struct conn *c = arg;
	struct agent_channel *ch = c->ch;
	struct chan_reader rd;
	struct vecs_err err = { 0 };
	uint64_t now, start = chan_now_ms(), last_rx = start, last_ping = start;
	char name[64];
	json_t *msg;
	int r;

	r = chan_reader_init(&rd, &err);
	while (r >= 0) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		enum conn_state st;

		while ((r = chan_reader_next(&rd, &msg, &err)) == 1) {
			r = on_message(c, msg, &err);
			json_decref(msg);
			if (r < 0)
				break;
		}
		if (r < 0) {
			if (r == -EMSGSIZE)
				send_refused(c->fd, "message larger than 1048576 bytes");
			break;
		}
		pthread_mutex_lock(&ch->lock);
		st = c->state;
		pthread_mutex_unlock(&ch->lock);
		now = chan_now_ms();
		if (st == C_HELLO && now - start >= ch->hello_ms) {
			r = vecs_err_set(&err, -ETIMEDOUT, "no hello within %u ms", ch->hello_ms);
			break;
		}
		if (now - last_rx >= ch->dead_ms) {
			r = vecs_err_set(&err, -ETIMEDOUT, "nothing received for %u ms", ch->dead_ms);
			break;
		}
		if (st != C_HELLO && now - last_ping >= ch->ping_ms) {
			json_t *ping = json_pack("{s:s}", "type", "ping");
			r = ping ? conn_send(c, ping, &err) : -ENOMEM;
			json_decref(ping);
			last_ping = now;
			if (r < 0)
				break;
		}
		r = poll(&p, 1, (int)(ch->ping_ms < 200 ? ch->ping_ms : 200));
		if (r < 0 && errno != EINTR) {
			r = vecs_err_set(&err, -errno, "poll: %s", strerror(errno));
			break;
		}
		if (r > 0) {
			ssize_t n = chan_reader_fill(&rd, c->fd);
			if (n == 0) {
				r = vecs_err_set(&err, -ECONNRESET, "connection closed by the peer");
				break;
			}
			if (n < 0 && n != -EAGAIN) {
				r = vecs_err_set(&err, (int)n, "read: %s", strerror((int)-n));
				break;
			}
			if (n > 0)
				last_rx = chan_now_ms();
		}
		r = 0;
	}
	chan_log_name(name, sizeof(name), c->host[0] ? c->host : "(no hello yet)");
	pthread_mutex_lock(&ch->lock);
	bool quiet = ch->stopping || c->superseded;
	pthread_mutex_unlock(&ch->lock);
	if (!quiet)
		mgmt_log(ch->m, "agent channel: host %s (pid %ld): closing connection: %s", name,
			 (long)c->pid, err.msg[0] ? err.msg : "stopped");
	chan_reader_free(&rd);
	conn_close(c);
	conn_unref(c);
	pthread_mutex_lock(&ch->lock);
	ch->readers--;
	pthread_cond_broadcast(&ch->cond);
	pthread_mutex_unlock(&ch->lock);
	return NULL;
}

static void accept_one(struct agent_channel *ch)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	pthread_attr_t attr;
	pthread_t t;
	struct conn *c;
	int fd;

	fd = accept4(ch->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		mgmt_log(ch->m, "agent channel: cannot read peer credentials: %s", strerror(errno));
		close(fd);
		return;
	}
	if (cred.uid != ch->peer_uid) {
		mgmt_log(ch->m,
			 "agent channel: connection from pid %ld refused: uid %u is not the "
			 "server's uid %u",
			 (long)cred.pid, (unsigned)cred.uid, (unsigned)ch->peer_uid);
		send_refused(fd, "peer uid is not the server's uid");
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->ch = ch;
	c->fd = fd;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->refs = 1; /* the reader's */
	pthread_mutex_init(&c->wlock, NULL);
	pthread_mutex_lock(&ch->lock);
	c->next = ch->conns;
	ch->conns = c;
	ch->readers++;
	pthread_mutex_unlock(&ch->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_reader, c) != 0) {
		mgmt_log(ch->m, "agent channel: cannot start a reader thread; connection closed");
		conn_close(c);
		conn_unref(c);
		pthread_mutex_lock(&ch->lock);
		ch->readers--;
		pthread_mutex_unlock(&ch->lock);
	}
	pthread_attr_destroy(&attr);
}

static void *acceptor(void *arg)
{
	struct agent_channel *ch = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = ch->lfd, .events = POLLIN },
				       { .fd = ch->wake[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN)
			accept_one(ch);
	}
	return NULL;
}

/* --- start / stop ------------------------------------------------------------------ */

static int prepare_dir(const char *socket_path, struct vecs_err *err)
{
	char copy[PATH_MAX], *dir;
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", socket_path);
	dir = dirname(copy);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vecs_err_set(err, -errno, "cannot create the agent socket directory %s: %s",
				    dir, strerror(errno));
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return vecs_err_set(err, -ENOTDIR, "agent socket directory %s is not a directory",
				    dir);
	if (st.st_uid != geteuid() || (st.st_mode & 077))
		return vecs_err_set(err, -EPERM,
				    "agent socket directory %s must be owned by uid %u with mode "
				    "0700 (it has uid %u, mode %03o): use a private directory",
				    dir, (unsigned)geteuid(), (unsigned)st.st_uid,
				    (unsigned)(st.st_mode & 0777));
	return 0;
}

static int listen_socket(struct agent_channel *ch, struct vecs_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	memcpy(sa.sun_path, ch->socket_path, strlen(ch->socket_path) + 1);
	if (lstat(ch->socket_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return vecs_err_set(err, -EEXIST, "%s exists and is not a socket; remove it",
					    ch->socket_path);
		/* a socket left by a crashed server is removed; a live one is not stolen */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return vecs_err_set(err, -EADDRINUSE,
					    "another process listens on the agent socket %s",
					    ch->socket_path);
		}
		if (fd >= 0)
			close(fd);
		unlink(ch->socket_path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vecs_err_set(err, -errno, "cannot create the agent socket: %s",
				    strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(ch->socket_path, 0600) < 0 || lstat(ch->socket_path, &st) < 0 ||
	    listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		return vecs_err_set(err, r, "cannot listen on the agent socket %s: %s",
				    ch->socket_path, strerror(-r));
	}
	ch->socket_ino = st.st_ino;
	ch->lfd = fd;
	return 0;
}

int agent_channel_start(struct agent_channel **out, struct mgmt *m,
			const struct agent_channel_config *cfg, struct vecs_err *err)
{
	struct agent_channel *ch;
	pthread_condattr_t ca;
	int r;

	chan_proto_init();
	*out = NULL;
	if (!cfg->socket_path || !cfg->tokens_path)
		return vecs_err_set(err, -EINVAL, "the agent channel needs a socket path and a "
						  "tokens file");
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return vecs_err_set(err, -ENOMEM, "out of memory for the agent channel");
	if (strlen(cfg->socket_path) >= sizeof(ch->socket_path)) {
		free(ch);
		return vecs_err_set(err, -ENAMETOOLONG,
				    "agent socket path %s is longer than %zu bytes (a unix socket "
				    "limit): use a shorter directory",
				    cfg->socket_path, sizeof(ch->socket_path) - 1);
	}
	snprintf(ch->socket_path, sizeof(ch->socket_path), "%s", cfg->socket_path);
	ch->m = m;
	ch->zone_id = cfg->zone_id;
	ch->ping_ms = cfg->ping_ms ? cfg->ping_ms : CHAN_PING_MS;
	ch->dead_ms = cfg->dead_ms ? cfg->dead_ms : CHAN_DEAD_MS;
	ch->hello_ms = cfg->hello_ms ? cfg->hello_ms : CHAN_HELLO_MS;
	ch->peer_uid = cfg->peer_uid_set ? cfg->peer_uid : geteuid();
	ch->lfd = ch->wake[0] = ch->wake[1] = -1;
	pthread_mutex_init(&ch->lock, NULL);
	pthread_mutex_init(&ch->status_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ch->cond, &ca);
	pthread_condattr_destroy(&ca);
	r = chan_tokens_load(&ch->tokens, cfg->tokens_path, err);
	if (r == 0)
		r = prepare_dir(ch->socket_path, err);
	if (r == 0)
		r = listen_socket(ch, err);
	if (r == 0 && pipe2(ch->wake, O_CLOEXEC) < 0)
		r = vecs_err_set(err, -errno, "cannot create a pipe: %s", strerror(errno));
	if (r == 0 && (r = -pthread_create(&ch->acceptor, NULL, acceptor, ch)) < 0)
		vecs_err_set(err, r, "cannot start the agent channel thread: %s", strerror(-r));
	if (r < 0) {
		agent_channel_stop(ch);
		return r;
	}
	ch->acceptor_started = true;
	mgmt_log(m, "agent channel: listening on %s (%zu hosts in the tokens file)",
		 ch->socket_path, ch->tokens.n);
	*out = ch;
	return 0;
}

void agent_channel_stop(struct agent_channel *ch)
{
	struct stat st;

	if (!ch)
		return;
	if (ch->acceptor_started) {
		if (write(ch->wake[1], "x", 1) < 0)
			mgmt_log(ch->m, "agent channel: cannot wake the acceptor: %s", strerror(errno));
		pthread_join(ch->acceptor, NULL);
	}
	pthread_mutex_lock(&ch->lock);
	ch->stopping = true;
	for (struct conn *c = ch->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	while (ch->readers)
		pthread_cond_wait(&ch->cond, &ch->lock);
	pthread_mutex_unlock(&ch->lock);
	if (ch->lfd >= 0) {
		close(ch->lfd);
		/* only our own socket: a successor may already have bound the path */
		if (lstat(ch->socket_path, &st) == 0 && st.st_ino == ch->socket_ino)
			unlink(ch->socket_path);
	}
	if (ch->wake[0] >= 0)
		close(ch->wake[0]);
	if (ch->wake[1] >= 0)
		close(ch->wake[1]);
	chan_tokens_release(&ch->tokens);
	pthread_cond_destroy(&ch->cond);
	pthread_mutex_destroy(&ch->status_lock);
	pthread_mutex_destroy(&ch->lock);
	free(ch);
}

/* --- calls ------------------------------------------------------------------------ */

static struct conn *find_current(struct agent_channel *ch, const char *host)
{
	for (struct conn *c = ch->conns; c; c = c->next)
		if (c->state == C_REGISTERED && !c->superseded && !strcmp(c->host, host))
			return c;
	return NULL;
}

bool agent_channel_host_connected(struct agent_channel *ch, const char *host)
{
	bool up;

	pthread_mutex_lock(&ch->lock);
	up = find_current(ch, host) != NULL;
	pthread_mutex_unlock(&ch->lock);
	return up;
}

static int read_answer(const char *host, const char *name, json_t *answer, json_t **result,
		       struct vecs_err *err)
{
	json_t *res = json_object_get(answer, "result");
	const char *e;
	char text[256];

	if (json_is_true(json_object_get(answer, "ok"))) {
		*result = json_is_object(res) ? json_incref(res) : json_object();
		return *result ? 0 : vecs_err_set(err, -ENOMEM, "out of memory");
	}
	e = json_string_value(json_object_get(answer, "error"));
	chan_log_name(text, sizeof(text), e ? e : "no error text");
	return vecs_err_set(err, -EREMOTEIO, "host %s: command %s failed: %s", host, name, text);
}

int agent_call(struct agent_channel *ch, const char *host, const char *name, json_t *args,
	       unsigned timeout_ms, json_t **result, struct vecs_err *err)
{
	struct pending p = { .state = P_WAITING };
	struct timespec deadline;
	json_t *msg;
	struct conn *c;
	int r;

	chan_proto_init();
	*result = NULL;
	pthread_mutex_lock(&ch->lock);
	c = ch->stopping ? NULL : find_current(ch, host);
	if (!c) {
		pthread_mutex_unlock(&ch->lock);
		return vecs_err_set(err, -EHOSTDOWN,
				    "host %s has no agent connected; command %s was not sent", host,
				    name);
	}
	c->refs++;
	p.seq = ++c->next_seq;
	p.next = c->pending;
	c->pending = &p;
	pthread_mutex_unlock(&ch->lock);

	msg = json_pack("{s:s, s:I, s:s, s:i, s:o}", "type", "cmd", "seq", (json_int_t)p.seq,
			"name", name, "timeout_ms", (int)timeout_ms, "args",
			args ? json_incref(args) : json_object());
	r = msg ? conn_send(c, msg, err) : vecs_err_set(err, -ENOMEM, "out of memory");
	json_decref(msg);
	if (r < 0) {
		pthread_mutex_lock(&ch->lock);
		pending_remove(c, &p);
		pthread_mutex_unlock(&ch->lock);
		if (r != -EMSGSIZE && r != -ENOMEM) {
			/* part of a line may be on the wire: this connection is unusable */
			shutdown(c->fd, SHUT_RDWR);
			r = vecs_err_set(err, -ENOTCONN,
					 "connection to host %s failed while sending command %s "
					 "(seq %lld); it may have run",
					 host, name, (long long)p.seq);
		}
		conn_unref(c);
		return r;
	}

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ch->lock);
	while (p.state == P_WAITING)
		if (pthread_cond_timedwait(&ch->cond, &ch->lock, &deadline) == ETIMEDOUT)
			break;
	if (p.state == P_WAITING)
		pending_remove(c, &p);
	pthread_mutex_unlock(&ch->lock);
	conn_unref(c);

	switch (p.state) {
	case P_ANSWERED:
		r = read_answer(host, name, p.answer, result, err);
		json_decref(p.answer);
		return r;
	case P_GONE:
		return vecs_err_set(err, -ENOTCONN,
				    "connection to host %s was lost while command %s (seq %lld) was "
				    "outstanding; it may have run",
				    host, name, (long long)p.seq);
	default:
		return vecs_err_set(err, -ETIMEDOUT,
				    "host %s did not answer command %s (seq %lld) within %u ms; it "
				    "may still be running",
				    host, name, (long long)p.seq, timeout_ms);
	}
}
