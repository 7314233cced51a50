#include "channel/channel_proto.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void (*chan_zfree_hook)(const void *p, size_t n);

/* calloc: a buffer jansson fills only in part never shows earlier heap contents */
static void *zmalloc(size_t n)
{
	return calloc(1, n ? n : 1);
}

/* jansson frees every string, buffer and parser scratch area through here (it never
 * reallocs), so whatever a message held is wiped before the memory is reused. */
static void zfree(void *p)
{
	size_t n;

	if (!p)
		return;
	n = malloc_usable_size(p);
	if (chan_zfree_hook)
		chan_zfree_hook(p, n);
	explicit_bzero(p, n);
	free(p);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_alloc(void)
{
	json_set_alloc_funcs(zmalloc, zfree);
}

void chan_proto_init(void)
{
	pthread_once(&init_once, init_alloc);
}

uint64_t chan_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int chan_reader_init(struct chan_reader *r, struct vecs_err *err)
{
	chan_proto_init();
	memset(r, 0, sizeof(*r));
	r->cap = CHAN_MAX_MSG + 1;
	r->buf = malloc(r->cap);
	if (!r->buf)
		return vecs_err_set(err, -ENOMEM, "out of memory for an agent channel buffer");
	/* Best effort, as util/secret.c: keep passphrases in transit out of swap. */
	(void)mlock(r->buf, r->cap);
	return 0;
}

void chan_reader_free(struct chan_reader *r)
{
	if (!r->buf)
		return;
	explicit_bzero(r->buf, r->cap);
	munlock(r->buf, r->cap);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

ssize_t chan_reader_fill(struct chan_reader *r, int fd)
{
	ssize_t n;

	if (r->len == r->cap)
		return -ENOBUFS;
	do
		n = read(fd, r->buf + r->len, r->cap - r->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	r->len += (size_t)n;
	return n;
}

int chan_reader_next(struct chan_reader *r, json_t **msg, struct vecs_err *err)
{
	unsigned char *nl = memchr(r->buf, '\n', r->len);
	json_error_t jerr;
	json_t *j;
	size_t line, rest;
	int ret = 1;

	*msg = NULL;
	if (!nl) {
		if (r->len == r->cap)
			return vecs_err_set(err, -EMSGSIZE,
					    "message longer than %u bytes without a newline",
					    CHAN_MAX_MSG);
		return 0;
	}
	line = (size_t)(nl - r->buf);
	j = json_loadb((const char *)r->buf, line, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		/* jerr.text quotes the input ("near '...'"), which may be a secret */
		ret = vecs_err_set(err, -EBADMSG, "malformed JSON message (column %d)",
				   jerr.column);
	} else if (!json_is_object(j) || !json_is_string(json_object_get(j, "type"))) {
		json_decref(j);
		j = NULL;
		ret = vecs_err_set(err, -EBADMSG, "message is not an object with a string \"type\"");
	}
	rest = r->len - line - 1;
	memmove(r->buf, nl + 1, rest);
	explicit_bzero(r->buf + rest, r->len - rest);
	r->len = rest;
	*msg = j;
	return ret;
}

static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	uint64_t now;
	int n;

	for (;;) {
		now = chan_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(deadline - now));
		if (n > 0)
			return (p.revents & (POLLERR | POLLNVAL)) ? -EPIPE : 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int chan_send(int fd, json_t *msg, unsigned timeout_ms, struct vecs_err *err)
{
	uint64_t deadline = chan_now_ms() + timeout_ms;
	size_t n, off = 0;
	char *buf;
	int r = 0;

	chan_proto_init();
	n = json_dumpb(msg, NULL, 0, JSON_COMPACT);
	if (n == 0)
		return vecs_err_set(err, -EINVAL, "cannot serialise a channel message");
	if (n > CHAN_MAX_MSG)
		return vecs_err_set(err, -EMSGSIZE,
				    "channel message of %zu bytes is over the %u-byte limit", n,
				    CHAN_MAX_MSG);
	buf = malloc(n + 1);
	if (!buf)
		return vecs_err_set(err, -ENOMEM, "out of memory serialising a channel message");
	if (json_dumpb(msg, buf, n, JSON_COMPACT) != n) {
		r = vecs_err_set(err, -EINVAL, "channel message changed while being serialised");
		goto out;
	}
	buf[n] = '\n';
	while (off < n + 1) {
		ssize_t w = send(fd, buf + off, n + 1 - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w >= 0) {
			off += (size_t)w;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			r = vecs_err_set(err, -errno, "cannot write to the agent channel: %s",
					 strerror(errno));
			goto out;
		}
		if ((r = wait_fd(fd, POLLOUT, deadline)) < 0) {
			r = vecs_err_set(err, r, "cannot write to the agent channel within %u ms",
					 timeout_ms);
			goto out;
		}
	}
out:
	explicit_bzero(buf, n + 1);
	free(buf);
	return r;
}

int chan_read_private_file(const char *path, const char *what, struct vecs_secret *s,
			   struct vecs_err *err)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd, r;

	memset(s, 0, sizeof(*s));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return vecs_err_set(err, -errno, "cannot open %s %s: %s", what, path,
				    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vecs_err_set(err, -EINVAL, "%s %s is not a regular file", what, path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return vecs_err_set(err, -EPERM,
				    "%s %s has mode %03o; it holds secrets and must be private: "
				    "chmod 600 %s",
				    what, path, (unsigned)(st.st_mode & 0777), path);
	}
	if (st.st_size > (off_t)CHAN_MAX_MSG) {
		close(fd);
		return vecs_err_set(err, -EFBIG, "%s %s is larger than %u bytes", what, path,
				    CHAN_MAX_MSG);
	}
	r = vecs_secret_alloc(s, (size_t)st.st_size + 1, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	while (got < s->cap && (n = read(fd, s->data + got, s->cap - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			vecs_secret_release(s);
			return vecs_err_set(err, r, "cannot read %s %s: %s", what, path,
					    strerror(-r));
		}
		got += (size_t)n;
	}
	close(fd);
	if (got == s->cap) {
		vecs_secret_release(s);
		return vecs_err_set(err, -EAGAIN, "%s %s changed while being read", what, path);
	}
	s->len = got;
	return 0;
}

static bool is_token(const char *p, size_t n)
{
	if (n != CHAN_TOKEN_HEX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)p[i]))
			return false;
	return true;
}

int chan_token_read_file(const char *path, char *out, struct vecs_err *err)
{
	struct vecs_secret s;
	size_t n;
	int r;

	r = chan_read_private_file(path, "agent token file", &s, err);
	if (r < 0)
		return r;
	n = s.len;
	if (n && s.data[n - 1] == '\n')
		n--;
	if (!is_token((const char *)s.data, n)) {
		vecs_secret_release(&s);
		return vecs_err_set(err, -EINVAL,
				    "agent token file %s does not hold %d hex digits (32 random "
				    "bytes, e.g. from `od -An -tx1 -N32 /dev/urandom | tr -d ' \\n'`)",
				    path, CHAN_TOKEN_HEX);
	}
	memcpy(out, s.data, n);
	out[n] = '\0';
	vecs_secret_release(&s);
	return 0;
}

int chan_tokens_load(struct chan_tokens *t, const char *path, struct vecs_err *err)
{
	struct vecs_secret file;
	struct chan_token_entry *e;
	size_t lines = 1, lineno = 0;
	char *p, *end;
	int r;

	memset(t, 0, sizeof(*t));
	r = chan_read_private_file(path, "agent tokens file", &file, err);
	if (r < 0)
		return r;
	file.data[file.len] = '\0';
	for (size_t i = 0; i < file.len; i++)
		lines += file.data[i] == '\n';
	r = vecs_secret_alloc(&t->mem, lines * sizeof(*e), err);
	if (r < 0)
		goto out;
	e = (struct chan_token_entry *)t->mem.data;
	for (p = (char *)file.data; *p; p = end) {
		char *host, *tok, *extra, *nl;
		size_t hl, tl;

		nl = strchr(p, '\n');
		end = nl ? nl + 1 : p + strlen(p);
		if (nl)
			*nl = '\0';
		lineno++;
		host = p + strspn(p, " \t\r");
		if (!*host || *host == '#')
			continue;
		hl = strcspn(host, " \t\r");
		tok = host + hl + strspn(host + hl, " \t\r");
		tl = strcspn(tok, " \t\r");
		extra = tok + tl + strspn(tok + tl, " \t\r");
		if (hl > CHAN_HOST_MAX || !is_token(tok, tl) || *extra) {
			/* the line may hold a token: name the line, never quote it */
			r = vecs_err_set(err, -EINVAL,
					 "agent tokens file %s, line %zu: want `HOSTNAME TOKEN` with "
					 "a name of at most %d bytes and %d hex digits",
					 path, lineno, CHAN_HOST_MAX, CHAN_TOKEN_HEX);
			goto out;
		}
		memcpy(e[t->n].host, host, hl);
		e[t->n].host[hl] = '\0';
		for (size_t i = 0; i < t->n; i++)
			if (!strcmp(e[i].host, e[t->n].host)) {
				r = vecs_err_set(err, -EEXIST,
						 "agent tokens file %s, line %zu: host listed twice",
						 path, lineno);
				goto out;
			}
		memcpy(e[t->n].token, tok, tl);
		e[t->n].token[tl] = '\0';
		t->n++;
	}
out:
	vecs_secret_release(&file);
	if (r < 0)
		chan_tokens_release(t);
	return r;
}

void chan_tokens_release(struct chan_tokens *t)
{
	vecs_secret_release(&t->mem);
	t->n = 0;
}

bool chan_tokens_check(const struct chan_tokens *t, const char *host, const char *token,
		       bool *known)
{
	static const char dummy[CHAN_TOKEN_HEX + 1] =
		"0000000000000000000000000000000000000000000000000000000000000000";
	const struct chan_token_entry *e = (const struct chan_token_entry *)t->mem.data;
	const char *want = dummy;
	char given[CHAN_TOKEN_HEX];
	size_t len = strlen(token);
	bool ok;

	*known = false;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(e[i].host, host)) {
			want = e[i].token;
			*known = true;
			break;
		}
	/* Always compare CHAN_TOKEN_HEX bytes, so length and position of a difference
	 * do not show in the time taken. */
	memset(given, 0, sizeof(given));
	memcpy(given, token, len < sizeof(given) ? len : sizeof(given));
	ok = CRYPTO_memcmp(given, want, CHAN_TOKEN_HEX) == 0;
	explicit_bzero(given, sizeof(given));
	return ok && *known && len == CHAN_TOKEN_HEX;
}

void chan_log_name(char *out, size_t len, const char *s)
{
	size_t i;

	if (!len)
		return;
	for (i = 0; s && s[i] && i + 1 < len; i++)
		out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	out[i] = '\0';
}
