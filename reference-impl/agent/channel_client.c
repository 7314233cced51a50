#include "agent/channel_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "channel/channel_proto.h"

void (*chan_secret_wiped_hook)(const unsigned char *p, size_t n);
void (*chan_json_secret_wiped_hook)(const char *p, size_t n);

struct job {
	struct job *next;
	int64_t seq;
	unsigned gen;        /* the connection it came on */
	char name[128];
	json_t *args;
	struct chan_secrets secrets;
	int refused;         /* <0: answer ok:false with refusal, handler not run */
	char refusal[sizeof(((struct vecs_err *)0)->msg)];
};

struct channel_client {
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char host[CHAN_HOST_MAX + 1];
	char *ip, *libvirt_uri;
	json_t *details;
	struct vecs_secret token;
	const struct chan_handler *handlers;
	size_t n_handlers;
	void *handler_ctx;
	unsigned ping_ms, dead_ms, backoff_min, backoff_max;
	FILE *log;
	pthread_mutex_t log_lock;

	pthread_t thread;
	bool thread_started;
	unsigned n_workers;
	pthread_t *workers;
	int wake[2];

	/* wlock: held while writing to fd, and while fd/gen change, so a worker holding it
	 * writes to the connection its job came on or to none */
	pthread_mutex_t wlock;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* queue, registration, stop */
	int fd;              /* under both locks; -1 when not registered */
	unsigned gen;        /* under both locks */
	bool registered;
	unsigned registrations;
	bool stopping;
	struct job *head, *tail;
};

static void clog_(struct channel_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void clog_(struct channel_client *c, const char *fmt, ...)
{
	FILE *f = c->log ? c->log : stderr;
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&c->log_lock);
	fprintf(f, "%s.%03ldZ agent %s: ", when, ts.tv_nsec / 1000000, c->host);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	pthread_mutex_unlock(&c->log_lock);
}

/* --- secrets ---------------------------------------------------------------------- */

const struct vecs_secret *chan_secret_get(const struct chan_secrets *s, const char *path)
{
	for (unsigned i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].path, path))
			return &s->v[i].s;
	return NULL;
}

static void secrets_release(struct chan_secrets *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct vecs_secret *v = &s->v[i].s;
		if (v->data) {
			explicit_bzero(v->data, v->cap);
			if (chan_secret_wiped_hook)
				chan_secret_wiped_hook(v->data, v->cap);
		}
		vecs_secret_release(v);
	}
	s->n = 0;
}

static int join_path(char *out, const char *base, const char *key, struct vecs_err *err)
{
	int n = snprintf(out, CHAN_SECRET_PATH_MAX, "%s%s%s", base, *base ? "." : "", key);

	if (n < 0 || n >= CHAN_SECRET_PATH_MAX)
		return vecs_err_set(err, -ENAMETOOLONG,
				    "a command argument is nested deeper than %d path bytes",
				    CHAN_SECRET_PATH_MAX - 1);
	return 0;
}

/* Move every "passphrase" string below v into s; the JSON copy is wiped in place. */
static int take_secrets(json_t *v, const char *base, struct chan_secrets *s,
			struct vecs_err *err)
{
	char path[CHAN_SECRET_PATH_MAX];
	const char *key;
	json_t *val;
	void *tmp;
	size_t i;
	int r = 0, r2;

	if (json_is_array(v)) {
		json_array_foreach(v, i, val) {
			char idx[24];
			snprintf(idx, sizeof(idx), "%zu", i);
			if ((r2 = join_path(path, base, idx, err)) == 0)
				r2 = take_secrets(val, path, s, err);
			if (r2 < 0 && r == 0)
				r = r2;
		}
		return r;
	}
	if (!json_is_object(v))
		return 0;
	json_object_foreach_safe(v, tmp, key, val) {
		if (strcmp(key, "passphrase") != 0) {
			if ((r2 = join_path(path, base, key, err)) == 0)
				r2 = take_secrets(val, path, s, err);
			if (r2 < 0 && r == 0)
				r = r2;
			continue;
		}
		/* Whatever happens below, the field leaves the arguments. */
		if (json_is_string(val)) {
			char *p = (char *)json_string_value(val);
			size_t len = json_string_length(val);

			r2 = join_path(path, base, key, err);
			if (r2 == 0 && s->n == CHAN_MAX_SECRETS)
				r2 = vecs_err_set(err, -E2BIG, "a command carries more than %d passphrases",
						  CHAN_MAX_SECRETS);
			if (r2 == 0 && len == 0)
				r2 = vecs_err_set(err, -EINVAL, "argument %s is empty", path);
			if (r2 == 0 && (r2 = vecs_secret_from_mem(&s->v[s->n].s, p, len, err)) == 0) {
				memcpy(s->v[s->n].path, path, sizeof(path));
				s->n++;
			}
			explicit_bzero(p, len);
			if (chan_json_secret_wiped_hook)
				chan_json_secret_wiped_hook(p, len);
		} else if (!json_is_null(val)) {
			r2 = vecs_err_set(err, -EINVAL, "argument %s%spassphrase is not a string",
					  base, *base ? "." : "");
		} else {
			r2 = 0; /* null: an unencrypted volume */
		}
		json_object_del(v, key);
		if (r2 < 0 && r == 0)
			r = r2;
	}
	return r;
}

/* --- jobs ------------------------------------------------------------------------- */

static void job_free(struct job *j)
{
	secrets_release(&j->secrets);
	json_decref(j->args);
	free(j);
}

static const struct chan_handler *find_handler(struct channel_client *c, const char *name)
{
	for (size_t i = 0; i < c->n_handlers; i++)
		if (!strcmp(c->handlers[i].name, name))
			return &c->handlers[i];
	return NULL;
}

static void run_job(struct channel_client *c, struct job *j)
{
	const struct chan_handler *h = find_handler(c, j->name);
	struct vecs_err err = { 0 };
	uint64_t t0 = chan_now_ms();
	json_t *result = NULL, *answer;
	int r;

	if (j->refused < 0) {
		r = vecs_err_set(&err, j->refused, "%s", j->refusal);
	} else if (!h) {
		r = vecs_err_set(&err, -ENOSYS, "unknown command %s", j->name);
	} else {
		r = h->fn(c->handler_ctx, j->args, &j->secrets, &result, &err);
		if (r < 0 && !err.msg[0])
			vecs_err_set(&err, r, "command %s failed: %s", j->name, strerror(-r));
	}
	/* the handler is done with the secrets: wipe them before anything else */
	secrets_release(&j->secrets);
	if (r == 0)
		answer = json_pack("{s:s, s:I, s:b, s:o}", "type", "answer", "seq",
				   (json_int_t)j->seq, "ok", 1, "result",
				   json_is_object(result) ? json_incref(result) : json_object());
	else
		answer = json_pack("{s:s, s:I, s:b, s:s}", "type", "answer", "seq",
				   (json_int_t)j->seq, "ok", 0, "error", err.msg);
	json_decref(result);
	pthread_mutex_lock(&c->wlock);
	pthread_mutex_lock(&c->lock);
	bool current = c->fd >= 0 && c->gen == j->gen;
	pthread_mutex_unlock(&c->lock);
	if (answer && current && chan_send(c->fd, answer, CHAN_SEND_MS, NULL) < 0)
		shutdown(c->fd, SHUT_RDWR); /* the connection thread notices and reconnects */
	pthread_mutex_unlock(&c->wlock);
	json_decref(answer);
	clog_(c, "command %s (seq %lld): %s in %llu ms%s", j->name, (long long)j->seq,
	      r == 0 ? "ok" : "failed", (unsigned long long)(chan_now_ms() - t0),
	      current ? "" : "; connection gone, answer dropped");
}

static void *worker(void *arg)
{
	struct channel_client *c = arg;
	struct job *j;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		while (!c->head && !c->stopping)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->stopping) {
			pthread_mutex_unlock(&c->lock);
			return NULL;
		}
		j = c->head;
		c->head = j->next;
		if (!c->head)
			c->tail = NULL;
		pthread_mutex_unlock(&c->lock);
		run_job(c, j);
		job_free(j);
	}
}

static int queue_cmd(struct channel_client *c, unsigned gen, json_t *msg, struct vecs_err *err)
{
	json_t *seq = json_object_get(msg, "seq"), *args = json_object_get(msg, "args");
	const char *name = json_string_value(json_object_get(msg, "name"));
	struct vecs_err terr = { 0 };
	struct job *j;
	int r;

	if (!json_is_integer(seq) || !name || (args && !json_is_object(args)))
		return vecs_err_set(err, -EPROTO, "cmd without an integer seq, a name or object args");
	j = calloc(1, sizeof(*j));
	if (!j)
		return vecs_err_set(err, -ENOMEM, "out of memory queueing a command");
	j->seq = json_integer_value(seq);
	j->gen = gen;
	snprintf(j->name, sizeof(j->name), "%s", name);
	j->args = args ? json_incref(args) : json_object();
	/* here, in the reader, so the JSON copy is wiped before the command even waits */
	r = take_secrets(j->args, "", &j->secrets, &terr);
	if (r < 0) {
		secrets_release(&j->secrets);
		j->refused = r;
		memcpy(j->refusal, terr.msg, sizeof(j->refusal));
	}
	pthread_mutex_lock(&c->lock);
	if (c->tail)
		c->tail->next = j;
	else
		c->head = j;
	c->tail = j;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* --- the connection --------------------------------------------------------------- */

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int send_hello(struct channel_client *c, int fd, struct vecs_err *err)
{
	/* json_stringn copies the token into a string the zeroing allocator wipes */
	json_t *m = json_pack("{s:s, s:s, s:s%, s:i}", "type", "hello", "host", c->host, "token",
			      (const char *)c->token.data, c->token.len, "version", CHAN_VERSION);
	int r = m ? chan_send(fd, m, CHAN_SEND_MS, err) : -ENOMEM;

	json_decref(m);
	return r;
}

static int send_startup(struct channel_client *c, int fd, struct vecs_err *err)
{
	json_t *m = json_pack("{s:s, s:s, s:O}", "type", "startup", "host", c->host, "details",
			      c->details);
	int r;

	if (m && c->ip)
		json_object_set_new(m, "ip", json_string(c->ip));
	if (m && c->libvirt_uri)
		json_object_set_new(m, "libvirt_uri", json_string(c->libvirt_uri));
	r = m ? chan_send(fd, m, CHAN_SEND_MS, err) : -ENOMEM;
	json_decref(m);
	return r;
}

enum sess_state { S_HELLO, S_STARTUP, S_REGISTERED };

static int on_message(struct channel_client *c, int fd, enum sess_state *st, json_t *msg,
		      struct vecs_err *err)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	const char *reason;
	char text[160];
	int r;

	if (!strcmp(type, "ping"))
		return 0;
	if (!strcmp(type, "refused")) {
		reason = json_string_value(json_object_get(msg, "reason"));
		chan_log_name(text, sizeof(text), reason ? reason : "no reason given");
		return vecs_err_set(err, -EACCES, "refused by the management server: %s", text);
	}
	if (*st == S_HELLO && !strcmp(type, "welcome")) {
		*st = S_STARTUP;
		return send_startup(c, fd, err);
	}
	if (*st == S_STARTUP && !strcmp(type, "registered")) {
		*st = S_REGISTERED;
		pthread_mutex_lock(&c->wlock);
		pthread_mutex_lock(&c->lock);
		c->fd = fd;
		c->registered = true;
		c->registrations++;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_unlock(&c->wlock);
		reason = json_string_value(json_object_get(msg, "id"));
		chan_log_name(text, sizeof(text), reason ? reason : "?");
		clog_(c, "registered with the management server (host id %s)", text);
		return 0;
	}
	if (*st == S_REGISTERED && !strcmp(type, "cmd")) {
		pthread_mutex_lock(&c->lock);
		unsigned gen = c->gen;
		pthread_mutex_unlock(&c->lock);
		r = queue_cmd(c, gen, msg, err);
		return r;
	}
	chan_log_name(text, sizeof(text), type);
	return vecs_err_set(err, -EPROTO, "unexpected message type %.32s", text);
}

static bool stopping(struct channel_client *c)
{
	bool s;

	pthread_mutex_lock(&c->lock);
	s = c->stopping;
	pthread_mutex_unlock(&c->lock);
	return s;
}

/* One connection from hello to its end. */
static int session(struct channel_client *c, int fd, struct vecs_err *err)
{
	struct chan_reader rd;
	enum sess_state st = S_HELLO;
	uint64_t now, start = chan_now_ms(), last_rx = start, last_ping = start;
	json_t *msg;
	int r;

	r = chan_reader_init(&rd, err);
	if (r == 0)
		r = send_hello(c, fd, err);
	while (r >= 0) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = c->wake[0], .events = POLLIN } };

		while ((r = chan_reader_next(&rd, &msg, err)) == 1) {
			r = on_message(c, fd, &st, msg, err);
			json_decref(msg);
			if (r < 0)
				break;
		}
		if (r < 0)
			break;
		now = chan_now_ms();
		if (now - last_rx >= (st == S_REGISTERED ? c->dead_ms : CHAN_HELLO_MS)) {
			r = vecs_err_set(err, -ETIMEDOUT, "nothing from the management server for %llu ms",
					 (unsigned long long)(now - last_rx));
			break;
		}
		if (st == S_REGISTERED && now - last_ping >= c->ping_ms) {
			json_t *ping = json_pack("{s:s}", "type", "ping");
			pthread_mutex_lock(&c->wlock);
			r = ping ? chan_send(fd, ping, CHAN_SEND_MS, err) : -ENOMEM;
			pthread_mutex_unlock(&c->wlock);
			json_decref(ping);
			last_ping = now;
			if (r < 0)
				break;
		}
		r = poll(p, 2, (int)(c->ping_ms < 200 ? c->ping_ms : 200));
		if (r < 0 && errno != EINTR) {
			r = vecs_err_set(err, -errno, "poll: %s", strerror(errno));
			break;
		}
		if (stopping(c)) {
			r = vecs_err_set(err, -ECANCELED, "stopping");
			break;
		}
		if (r > 0 && p[0].revents) {
			ssize_t n = chan_reader_fill(&rd, fd);
			if (n == 0) {
				r = vecs_err_set(err, -ECONNRESET,
						 "the management server closed the connection");
				break;
			}
			if (n < 0 && n != -EAGAIN) {
				r = vecs_err_set(err, (int)n, "read: %s", strerror((int)-n));
				break;
			}
			if (n > 0)
				last_rx = chan_now_ms();
		}
		r = 0;
	}
	pthread_mutex_lock(&c->wlock);
	pthread_mutex_lock(&c->lock);
	c->fd = -1;
	c->gen++;
	c->registered = false;
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&c->wlock);
	chan_reader_free(&rd);
	return st == S_REGISTERED && r != -EACCES ? 1 : r;
}

/* Sleep ms unless stopping; true when stopping. */
static bool pause_ms(struct channel_client *c, unsigned ms)
{
	struct pollfd p = { .fd = c->wake[0], .events = POLLIN };

	poll(&p, 1, (int)ms);
	return stopping(c);
}

static void *conn_thread(void *arg)
{
	struct channel_client *c = arg;
	unsigned backoff = c->backoff_min;
	int last_err = 0;

	while (!stopping(c)) {
		struct vecs_err err = { 0 };
		int fd = connect_unix(c->socket_path), r;

		if (fd < 0) {
			if (fd != last_err)
				clog_(c, "cannot connect to %s: %s; retrying", c->socket_path,
				      strerror(-fd));
			last_err = fd;
		} else {
			last_err = 0;
			r = session(c, fd, &err);
			close(fd);
			if (stopping(c))
				break;
			clog_(c, "connection ended: %s; reconnecting", err.msg);
			if (r == 1) /* it worked for a while: come back quickly */
				backoff = c->backoff_min;
			else if (r == -EACCES)
				backoff = c->backoff_max;
		}
		/* up to a quarter of jitter, so a restarted server is not hit by every agent at
		 * the same instant */
		if (pause_ms(c, backoff + (unsigned)(rand() % (int)(backoff / 4 + 1))))
			break;
		backoff = backoff * 2 > c->backoff_max ? c->backoff_max : backoff * 2;
	}
	return NULL;
}

/* --- start / stop ----------------------------------------------------------------- */

int channel_client_start(struct channel_client **out, const struct channel_client_config *cfg,
			 struct vecs_err *err)
{
	struct channel_client *c;
	pthread_condattr_t ca;
	char tok[CHAN_TOKEN_HEX + 1];
	int r;

	chan_proto_init();
	*out = NULL;
	if (!cfg->socket_path || !cfg->host || !*cfg->host || !cfg->token_file)
		return vecs_err_set(err, -EINVAL, "the agent channel needs a socket, a host name and "
						  "a token file");
	if (strlen(cfg->host) > CHAN_HOST_MAX ||
	    strlen(cfg->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return vecs_err_set(err, -ENAMETOOLONG, "agent host name or socket path too long");
	if (cfg->details && !json_is_object(cfg->details))
		return vecs_err_set(err, -EINVAL, "agent details must be a JSON object");
	c = calloc(1, sizeof(*c));
	if (!c)
		return vecs_err_set(err, -ENOMEM, "out of memory for the agent channel");
	snprintf(c->socket_path, sizeof(c->socket_path), "%s", cfg->socket_path);
	snprintf(c->host, sizeof(c->host), "%s", cfg->host);
	c->ip = cfg->ip ? strdup(cfg->ip) : NULL;
	c->libvirt_uri = cfg->libvirt_uri ? strdup(cfg->libvirt_uri) : NULL;
	c->details = cfg->details ? json_deep_copy(cfg->details) : json_object();
	c->handlers = cfg->handlers;
	c->n_handlers = cfg->n_handlers;
	c->handler_ctx = cfg->handler_ctx;
	c->n_workers = cfg->workers ? cfg->workers : 4;
	c->ping_ms = cfg->ping_ms ? cfg->ping_ms : CHAN_PING_MS;
	c->dead_ms = cfg->dead_ms ? cfg->dead_ms : CHAN_DEAD_MS;
	c->backoff_min = cfg->backoff_min_ms ? cfg->backoff_min_ms : 100;
	c->backoff_max = cfg->backoff_max_ms ? cfg->backoff_max_ms : 2000;
	c->log = cfg->log;
	c->fd = -1;
	c->wake[0] = c->wake[1] = -1;
	pthread_mutex_init(&c->log_lock, NULL);
	pthread_mutex_init(&c->wlock, NULL);
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	c->workers = calloc(c->n_workers, sizeof(*c->workers));

	r = chan_token_read_file(cfg->token_file, tok, err);
	if (r == 0) {
		r = vecs_secret_from_mem(&c->token, tok, strlen(tok), err);
		explicit_bzero(tok, sizeof(tok));
	}
	if (r == 0 && (!c->workers || !c->details || (cfg->ip && !c->ip) ||
		       (cfg->libvirt_uri && !c->libvirt_uri)))
		r = vecs_err_set(err, -ENOMEM, "out of memory for the agent channel");
	if (r == 0 && pipe2(c->wake, O_CLOEXEC) < 0)
		r = vecs_err_set(err, -errno, "cannot create a pipe: %s", strerror(errno));
	for (unsigned i = 0; r == 0 && i < c->n_workers; i++)
		if ((r = -pthread_create(&c->workers[i], NULL, worker, c)) < 0) {
			vecs_err_set(err, r, "cannot start agent worker threads");
			c->n_workers = i;
		}
	if (r == 0 && (r = -pthread_create(&c->thread, NULL, conn_thread, c)) < 0)
		vecs_err_set(err, r, "cannot start the agent connection thread");
	c->thread_started = r == 0;
	if (r < 0) {
		pthread_mutex_lock(&c->lock);
		c->stopping = true;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		for (unsigned i = 0; c->workers && i < c->n_workers; i++)
			pthread_join(c->workers[i], NULL);
		c->n_workers = 0;
		channel_client_stop(c);
		return r;
	}
	*out = c;
	return 0;
}

int channel_client_wait_registered(struct channel_client *c, unsigned timeout_ms)
{
	struct timespec d;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &d);
	d.tv_sec += timeout_ms / 1000;
	d.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (d.tv_nsec >= 1000000000L) {
		d.tv_sec++;
		d.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->lock);
	while (!c->registered && r == 0)
		r = pthread_cond_timedwait(&c->cond, &c->lock, &d);
	r = c->registered ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&c->lock);
	return r;
}

unsigned channel_client_registrations(struct channel_client *c)
{
	unsigned n;

	pthread_mutex_lock(&c->lock);
	n = c->registrations;
	pthread_mutex_unlock(&c->lock);
	return n;
}

void channel_client_stop(struct channel_client *c)
{
	struct job *j;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->wake[1] >= 0 && write(c->wake[1], "x", 1) < 0)
		clog_(c, "cannot wake the connection thread: %s", strerror(errno));
	if (c->thread_started)
		pthread_join(c->thread, NULL);
	for (unsigned i = 0; i < c->n_workers; i++)
		pthread_join(c->workers[i], NULL);
	while ((j = c->head)) {
		c->head = j->next;
		job_free(j);
	}
	if (c->wake[0] >= 0)
		close(c->wake[0]);
	if (c->wake[1] >= 0)
		close(c->wake[1]);
	vecs_secret_release(&c->token);
	json_decref(c->details);
	free(c->ip);
	free(c->libvirt_uri);
	free(c->workers);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->wlock);
	pthread_mutex_destroy(&c->log_lock);
	free(c);
}
