/* The management server <-> agent channel (mgmt/agent_channel.h, agent/channel_client.h)
 * in one process: a server on a private socket with short keepalive timers, agents made
 * of the client library (threads) and raw sockets for what a well-behaved agent never
 * sends. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/channel_client.h"
#include "channel/channel_proto.h"
#include "db/host_dao.h"
#include "mgmt/agent_channel.h"
#include "mgmt/mgmt.h"
#include "test_helpers.h"
#include "test_registry.h"

#define TOK_ENC   "1111111111111111111111111111111111111111111111111111111111111111"
#define TOK_PLAIN "2222222222222222222222222222222222222222222222222222222222222222"
#define TOK_RAW   "3333333333333333333333333333333333333333333333333333333333333333"
#define TOK_RAW2  "4444444444444444444444444444444444444444444444444444444444444444"
#define TOK_WRONG "5555555555555555555555555555555555555555555555555555555555555555"
/* what CloudStack's passphrases look like: 64 base64 characters */
#define PASS "UnitTestPassphraseZm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5YQ"
#define PASS2 "SecondUnitTestPassphraseQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3"

static struct mgmt M;
static struct agent_channel *CH;
static int64_t zone_id;
static char dir[256], sock[PATH_MAX], tokens[PATH_MAX], logpath[PATH_MAX],
	agentlog[PATH_MAX], tokfile_enc[PATH_MAX], tokfile_plain[PATH_MAX];
static FILE *agent_log;

static struct agent_channel_config server_cfg(void)
{
	struct agent_channel_config c = { .socket_path = sock, .tokens_path = tokens,
					  .zone_id = zone_id, .ping_ms = 100, .dead_ms = 800,
					  .hello_ms = 500 };
	return c;
}

static int server_start(void)
{
	struct agent_channel_config c = server_cfg();
	struct vecs_err err = { 0 };
	int r = agent_channel_start(&CH, &M, &c, &err);

	if (r < 0)
		fprintf(stderr, "agent channel: %s\n", err.msg);
	return r;
}

/* test_write_file asserts, which CUnit allows only inside a test */
static int write_private(const char *path, const char *text)
{
	FILE *f;
	int r;

	unlink(path);
	f = fopen(path, "wx");
	if (!f)
		return -1;
	r = fchmod(fileno(f), 0600) == 0 && fputs(text, f) >= 0 ? 0 : -1;
	return fclose(f) == 0 ? r : -1;
}

static int suite_init(void)
{
	struct vecs_err err = { 0 };
	struct zone_record z;
	char dbpath[PATH_MAX];
	struct db *db;

	snprintf(dir, sizeof(dir), "%s/chan", ref_test_tmpdir());
	snprintf(sock, sizeof(sock), "%s/run/agent.sock", dir);
	snprintf(tokens, sizeof(tokens), "%s/agent-tokens", dir);
	snprintf(logpath, sizeof(logpath), "%s/mgmt.log", dir);
	snprintf(agentlog, sizeof(agentlog), "%s/agent.log", dir);
	snprintf(tokfile_enc, sizeof(tokfile_enc), "%s/token-enc", dir);
	snprintf(tokfile_plain, sizeof(tokfile_plain), "%s/token-plain", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/chan.sqlite", dir);
	if (mkdir(dir, 0700) < 0)
		return 1;
	if (write_private(tokens, "# host token\nh-enc " TOK_ENC "\nh-plain " TOK_PLAIN
				  "\n\nh-raw " TOK_RAW "\nh-raw2 " TOK_RAW2 "\n") < 0 ||
	    write_private(tokfile_enc, TOK_ENC "\n") < 0 ||
	    write_private(tokfile_plain, TOK_PLAIN) < 0)
		return 1;
	pthread_mutex_init(&M.log_lock, NULL);
	M.log = fopen(logpath, "a");
	agent_log = fopen(agentlog, "a");
	if (!M.log || !agent_log || db_pool_open(&M.pool, "sqlite", dbpath, 4, &err) < 0) {
		fprintf(stderr, "channel suite: %s\n", err.msg);
		return 1;
	}
	db = db_pool_get(M.pool);
	if (zone_ensure(db, "zone-chan", &z, &err) < 0) {
		db_pool_put(M.pool, db);
		return 1;
	}
	db_pool_put(M.pool, db);
	zone_id = z.id;
	return server_start() < 0;
}

static int suite_clean(void)
{
	agent_channel_stop(CH);
	db_pool_close(M.pool);
	fclose(M.log);
	fclose(agent_log);
	pthread_mutex_destroy(&M.log_lock);
	return 0;
}

/* --- helpers ---------------------------------------------------------------------- */

struct host_status {
	char status[33];
	int enc; /* -1 no detail, 0 false, 1 true */
	unsigned n_details;
};

static int status_cb(void *ctx, const struct host_record *h)
{
	struct host_status *s = ctx;

	snprintf(s->status, sizeof(s->status), "%s", h->status);
	s->n_details = h->n_details;
	for (unsigned i = 0; i < h->n_details; i++)
		if (!strcmp(h->details[i].name, HOST_DETAIL_VOLUME_ENCRYPTION))
			s->enc = !strcmp(h->details[i].value, "true");
	return 0;
}

static struct host_status host_status(const char *name)
{
	struct host_filter f = { .name = name };
	struct host_status s = { .enc = -1 };
	struct vecs_err err = { 0 };
	struct db *db = db_pool_get(M.pool);

	host_list(db, &f, status_cb, &s, &err);
	db_pool_put(M.pool, db);
	return s;
}

/* Whether host reaches status within ms. */
static bool wait_status(const char *host, const char *status, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 20) {
		if (!strcmp(host_status(host).status, status))
			return true;
		usleep(20000);
	}
	return false;
}

static bool log_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool raw_send(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

/* The next message that is not a ping, or NULL at end of stream or after ms. */
static json_t *raw_recv(int fd, unsigned ms)
{
	char line[8192];
	size_t n = 0;
	json_t *j;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)ms) <= 0 || read(fd, line + n, 1) != 1)
			return NULL;
		if (line[n] != '\n') {
			if (++n == sizeof(line))
				return NULL;
			continue;
		}
		j = json_loadb(line, n, 0, NULL);
		n = 0;
		if (j && !strcmp(json_string_value(json_object_get(j, "type")), "ping")) {
			json_decref(j);
			continue;
		}
		return j;
	}
}

static bool raw_is(json_t *j, const char *type)
{
	bool ok = j && !strcmp(json_string_value(json_object_get(j, "type")), type);

	json_decref(j);
	return ok;
}

/* True when the peer closed: EOF, after any pings or one refusal. */
static bool raw_closed(int fd, unsigned ms)
{
	char c;

	for (unsigned t = 0; t < ms; t += 10) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 10) > 0) {
			ssize_t n = read(fd, &c, 1);
			if (n <= 0)
				return true;
		}
	}
	return false;
}

/* A raw agent, registered as host; -1 on failure. */
static int raw_register(const char *host, const char *token, const char *enc)
{
	char buf[512];
	int fd = raw_connect(sock);

	if (fd < 0)
		return -1;
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"hello\",\"host\":\"%s\",\"token\":\"%s\",\"version\":1}\n", host,
		 token);
	if (!raw_send(fd, buf, strlen(buf)) || !raw_is(raw_recv(fd, 2000), "welcome"))
		goto fail;
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"startup\",\"host\":\"%s\",\"ip\":\"10.9.9.9\",\"details\":"
		 "{\"host.volume.encryption\":\"%s\"}}\n",
		 host, enc);
	if (!raw_send(fd, buf, strlen(buf)) || !raw_is(raw_recv(fd, 2000), "registered"))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* --- the in-process agent ------------------------------------------------------- */

static int passphrase_handler_calls;
static bool passphrase_args_clean;
static char passphrase_seen[2][80];

static int h_echo(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		  struct vecs_err *err)
{
	*result = json_deep_copy(args);
	return 0;
}

static int h_sleep(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		   struct vecs_err *err)
{
	usleep((useconds_t)json_integer_value(json_object_get(args, "ms")) * 1000);
	*result = json_pack("{s:O}", "i", json_object_get(args, "i"));
	return 0;
}

static int h_fail(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		  struct vecs_err *err)
{
	return vecs_err_set(err, -EIO, "volume vol-1 could not be frobbed");
}

static int h_passphrase(void *ctx, json_t *args, const struct chan_secrets *s,
			json_t **result, struct vecs_err *err)
{
	const struct vecs_secret *a = chan_secret_get(s, "passphrase");
	const struct vecs_secret *b = chan_secret_get(s, "volume.passphrase");

	passphrase_handler_calls++;
	passphrase_args_clean = !json_object_get(args, "passphrase") &&
				!json_object_get(json_object_get(args, "volume"), "passphrase") &&
				json_object_get(json_object_get(args, "volume"), "path");
	if (a && a->len < 80)
		memcpy(passphrase_seen[0], a->data, a->len);
	if (b && b->len < 80)
		memcpy(passphrase_seen[1], b->data, b->len);
	*result = json_pack("{s:i, s:i}", "a", a ? (int)a->len : -1, "b", b ? (int)b->len : -1);
	return 0;
}

static const struct chan_handler handlers[] = {
	{ "echo", h_echo },
	{ "sleep", h_sleep },
	{ "fail", h_fail },
	{ "passphrase", h_passphrase },
};

static struct channel_client *agent_start(const char *host, const char *tokfile, const char *enc)
{
	struct channel_client_config cfg = {
		.socket_path = sock, .host = host, .token_file = tokfile, .ip = "10.0.0.5",
		.libvirt_uri = "qemu:///system", .handlers = handlers,
		.n_handlers = sizeof(handlers) / sizeof(handlers[0]), .workers = 4,
		.ping_ms = 100, .dead_ms = 800, .backoff_min_ms = 20, .backoff_max_ms = 200,
		.log = agent_log,
	};
	struct channel_client *c = NULL;
	struct vecs_err err = { 0 };

	cfg.details = json_pack("{s:s, s:s}", HOST_DETAIL_VOLUME_ENCRYPTION, enc, "cpu.sockets",
				"1");
	if (channel_client_start(&c, &cfg, &err) < 0)
		fprintf(stderr, "agent %s: %s\n", host, err.msg);
	json_decref(cfg.details);
	return c;
}

/* --- tests ------------------------------------------------------------------------ */

static void test_socket_and_files_private(void)
{
	struct agent_channel_config c = server_cfg();
	struct agent_channel *ch2 = NULL;
	struct vecs_err err = { 0 };
	char loose[PATH_MAX], other[PATH_MAX];
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(stat(sock, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_TRUE(S_ISSOCK(st.st_mode));
	snprintf(loose, sizeof(loose), "%s/run", dir);
	CU_ASSERT_EQUAL_FATAL(stat(loose, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	/* a live server's socket is not stolen */
	CU_ASSERT_EQUAL(agent_channel_start(&ch2, &M, &c, &err), -EADDRINUSE);
	/* a tokens file others can read is refused, with the fix in the message */
	snprintf(loose, sizeof(loose), "%s/tokens-0644", dir);
	test_write_file(loose, "h " TOK_ENC "\n", 0644);
	snprintf(other, sizeof(other), "%s/other/agent.sock", dir);
	c.socket_path = other;
	c.tokens_path = loose;
	CU_ASSERT_EQUAL(agent_channel_start(&ch2, &M, &c, &err), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "chmod 600"));
	/* a malformed line is named by number, never quoted (it may hold a token) */
	test_write_file(loose, "h " TOK_ENC " extra\n", 0600);
	CU_ASSERT_EQUAL(agent_channel_start(&ch2, &M, &c, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "line 1"));
	CU_ASSERT_PTR_NULL(strstr(err.msg, TOK_ENC));
	/* the agent's own token file too */
	test_write_file(loose, TOK_ENC, 0640);
	char tok[CHAN_TOKEN_HEX + 1];
	CU_ASSERT_EQUAL(chan_token_read_file(loose, tok, &err), -EPERM);
	/* a socket directory others can enter */
	snprintf(loose, sizeof(loose), "%s/open", dir);
	mkdir(loose, 0755);
	snprintf(other, sizeof(other), "%s/open/agent.sock", dir);
	c.tokens_path = tokens;
	CU_ASSERT_EQUAL(agent_channel_start(&ch2, &M, &c, &err), -EPERM);
	CU_ASSERT_PTR_NULL(ch2);
}

static void test_register_and_capabilities(void)
{
	struct channel_client *a = agent_start("h-enc", tokfile_enc, "true");
	struct channel_client *b = agent_start("h-plain", tokfile_plain, "false");
	struct host_status s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(channel_client_wait_registered(a, 3000), 0);
	CU_ASSERT_EQUAL(channel_client_wait_registered(b, 3000), 0);
	s = host_status("h-enc");
	CU_ASSERT_STRING_EQUAL(s.status, "Up");
	CU_ASSERT_EQUAL(s.enc, 1);
	CU_ASSERT_EQUAL(s.n_details, 2);
	s = host_status("h-plain");
	CU_ASSERT_STRING_EQUAL(s.status, "Up");
	CU_ASSERT_EQUAL(s.enc, 0);
	CU_ASSERT_TRUE(agent_channel_host_connected(CH, "h-enc"));
	channel_client_stop(b);
	CU_ASSERT_TRUE(wait_status("h-plain", "Disconnected", 3000));
	CU_ASSERT_FALSE(agent_channel_host_connected(CH, "h-plain"));
	channel_client_stop(a);
	CU_ASSERT_TRUE(wait_status("h-enc", "Disconnected", 3000));
}

static void hello_refused(const char *host, const char *token, const char *log_reason)
{
	char buf[512];
	json_t *j;
	int fd = raw_connect(sock);

	CU_ASSERT_FATAL(fd >= 0);
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"hello\",\"host\":\"%s\",\"token\":\"%s\",\"version\":1}\n", host,
		 token);
	CU_ASSERT_TRUE(raw_send(fd, buf, strlen(buf)));
	j = raw_recv(fd, 2000);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "type")), "refused");
	/* one answer for unknown hosts and wrong tokens */
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "reason")),
			       "authentication failed");
	json_decref(j);
	CU_ASSERT_TRUE(raw_closed(fd, 2000));
	close(fd);
	CU_ASSERT_TRUE(log_contains(logpath, log_reason));
}

static void test_auth_refusals(void)
{
	char buf[256];
	int fd;

	hello_refused("h-raw", TOK_WRONG, "host h-raw (pid");
	CU_ASSERT_TRUE(log_contains(logpath, "refused: wrong token"));
	hello_refused("h-nobody", TOK_RAW, "refused: host not in the tokens file");
	hello_refused("h-raw", "short", "hello of host h-raw");
	/* the right token of another host */
	hello_refused("h-raw", TOK_RAW2, "refused: wrong token");
	CU_ASSERT_EQUAL(host_status("h-nobody").status[0], '\0');
	/* a wrong protocol version */
	fd = raw_connect(sock);
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"hello\",\"host\":\"h-raw\",\"token\":\"%s\",\"version\":2}\n", TOK_RAW);
	raw_send(fd, buf, strlen(buf));
	CU_ASSERT_TRUE(raw_is(raw_recv(fd, 2000), "refused"));
	close(fd);
	/* anything before the hello */
	fd = raw_connect(sock);
	raw_send(fd, "{\"type\":\"startup\"}\n", 19);
	CU_ASSERT_TRUE(raw_is(raw_recv(fd, 2000), "refused"));
	CU_ASSERT_TRUE(raw_closed(fd, 2000));
	close(fd);
	/* no hello at all: closed after hello_ms (500) */
	fd = raw_connect(sock);
	CU_ASSERT_TRUE(raw_closed(fd, 3000));
	close(fd);
	CU_ASSERT_TRUE(log_contains(logpath, "no hello within 500 ms"));
}

/* SO_PEERCRED: a second user cannot connect in a test (the socket directory is 0700 and
 * the tests may not run as root), so the server is told to expect another uid. */
static void test_wrong_uid_refused(void)
{
	struct agent_channel_config c = server_cfg();
	struct agent_channel *ch2 = NULL;
	struct vecs_err err = { 0 };
	char sock2[PATH_MAX];
	json_t *j;
	int fd;

	snprintf(sock2, sizeof(sock2), "%s/run2/agent.sock", dir);
	c.socket_path = sock2;
	c.peer_uid_set = true;
	c.peer_uid = geteuid() + 1;
	CU_ASSERT_EQUAL_FATAL(agent_channel_start(&ch2, &M, &c, &err), 0);
	fd = raw_connect(sock2);
	CU_ASSERT_FATAL(fd >= 0);
	j = raw_recv(fd, 2000);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "reason")),
			       "peer uid is not the server's uid");
	json_decref(j);
	CU_ASSERT_TRUE(raw_closed(fd, 2000));
	close(fd);
	CU_ASSERT_TRUE(log_contains(logpath, "is not the server's uid"));
	agent_channel_stop(ch2);
	CU_ASSERT_NOT_EQUAL(access(sock2, F_OK), 0); /* removed on stop */
}

static void test_round_trip_and_errors(void)
{
	struct channel_client *a = agent_start("h-enc", tokfile_enc, "true");
	struct vecs_err err = { 0 };
	json_t *args, *res = NULL;

	CU_ASSERT_EQUAL_FATAL(channel_client_wait_registered(a, 3000), 0);
	args = json_pack("{s:i, s:s, s:[i,i]}", "n", 42, "s", "h\xc3\xa9\n\"", "l", 1, 2);
	CU_ASSERT_EQUAL(agent_call(CH, "h-enc", "echo", args, 2000, &res, &err), 0);
	CU_ASSERT_TRUE(json_equal(res, args));
	json_decref(res);
	json_decref(args);
	CU_ASSERT_EQUAL(agent_call(CH, "h-enc", "echo", NULL, 2000, &res, &err), 0);
	CU_ASSERT_TRUE(json_is_object(res) && json_object_size(res) == 0);
	json_decref(res);
	res = NULL;
	CU_ASSERT_EQUAL(agent_call(CH, "h-enc", "fail", NULL, 2000, &res, &err), -EREMOTEIO);
	CU_ASSERT_PTR_NULL(res);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "volume vol-1 could not be frobbed"));
	CU_ASSERT_EQUAL(agent_call(CH, "h-enc", "nosuch", NULL, 2000, &res, &err), -EREMOTEIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown command nosuch"));
	CU_ASSERT_EQUAL(agent_call(CH, "h-nobody", "echo", NULL, 2000, &res, &err), -EHOSTDOWN);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "was not sent"));
	channel_client_stop(a);
}

struct par {
	int i;
	int r;
	int got;
};

static void *par_call(void *arg)
{
	struct par *p = arg;
	struct vecs_err err = { 0 };
	json_t *args = json_pack("{s:i, s:i}", "i", p->i, "ms", 5 + p->i % 7);
	json_t *res = NULL;

	p->r = agent_call(CH, "h-enc", "sleep", args, 5000, &res, &err);
	p->got = (int)json_integer_value(json_object_get(res, "i"));
	json_decref(res);
	json_decref(args);
	return NULL;
}

static void test_concurrent_calls(void)
{
	struct channel_client *a = agent_start("h-enc", tokfile_enc, "true");
	struct par p[32];
	pthread_t t[32];

	CU_ASSERT_EQUAL_FATAL(channel_client_wait_registered(a, 3000), 0);
	for (int i = 0; i < 32; i++) {
		p[i] = (struct par){ .i = i + 1000, .r = 1 };
		pthread_create(&t[i], NULL, par_call, &p[i]);
	}
	for (int i = 0; i < 32; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(p[i].r, 0);
		CU_ASSERT_EQUAL(p[i].got, p[i].i); /* each caller got its own answer */
	}
	channel_client_stop(a);
}

static void test_timeout_drops_late_answer(void)
{
	struct channel_client *a = agent_start("h-enc", tokfile_enc, "true");
	struct vecs_err err = { 0 };
	json_t *args = json_pack("{s:i, s:i}", "ms", 600, "i", 7), *res = NULL;
	uint64_t t0;

	CU_ASSERT_EQUAL_FATAL(channel_client_wait_registered(a, 3000), 0);
	t0 = chan_now_ms();
	CU_ASSERT_EQUAL(agent_call(CH, "h-enc", "sleep", args, 150, &res, &err), -ETIMEDOUT);
	CU_ASSERT_TRUE(chan_now_ms() - t0 < 500);
	CU_ASSERT_PTR_NULL(res);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "may still be running"));
	usleep(700000);
	/* the late answer was dropped, the connection lives on (a long command does not
	 * starve the keepalive either: 600 ms is under dead_ms only thanks to pings) */
	CU_ASSERT_TRUE(log_contains(logpath, "dropped (timed out or unknown)"));
	CU_ASSERT_EQUAL(agent_call(CH, "h-enc", "echo", NULL, 2000, &res, &err), 0);
	json_decref(res);
	CU_ASSERT_EQUAL(channel_client_registrations(a), 1);
	json_decref(args);
	channel_client_stop(a);
}

struct bg_call {
	const char *host;
	int r;
	char msg[512];
};

static void *bg_call(void *arg)
{
	struct bg_call *b = arg;
	struct vecs_err err = { 0 };
	json_t *res = NULL;

	b->r = agent_call(CH, b->host, "anything", NULL, 5000, &res, &err);
	snprintf(b->msg, sizeof(b->msg), "%s", err.msg);
	json_decref(res);
	return NULL;
}

static void test_disconnect_and_reconnect(void)
{
	struct bg_call b = { .host = "h-raw" };
	pthread_t t;
	json_t *cmd;
	int fd;

	fd = raw_register("h-raw", TOK_RAW, "TRUE");
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_STRING_EQUAL(host_status("h-raw").status, "Up");
	CU_ASSERT_EQUAL(host_status("h-raw").enc, 0); /* stored as sent */
	pthread_create(&t, NULL, bg_call, &b);
	cmd = raw_recv(fd, 2000); /* the command arrived: from here it may have run */
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(cmd, "name")), "anything");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(cmd, "timeout_ms")), 5000);
	json_decref(cmd);
	close(fd);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(b.r, -ENOTCONN);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.msg, "may have run"));
	CU_ASSERT_TRUE(wait_status("h-raw", "Disconnected", 2000));
	bg_call(&b);
	CU_ASSERT_EQUAL(b.r, -EHOSTDOWN);
	/* reconnect: Up again */
	fd = raw_register("h-raw", TOK_RAW, "true");
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_STRING_EQUAL(host_status("h-raw").status, "Up");
	CU_ASSERT_EQUAL(host_status("h-raw").enc, 1);
	/* an agent that restarted before its old connection was noticed: the new one wins,
	 * and the old one's end does not mark the host Disconnected */
	int fd2 = raw_register("h-raw", TOK_RAW, "true");
	CU_ASSERT_FATAL(fd2 >= 0);
	CU_ASSERT_TRUE(raw_closed(fd, 2000));
	close(fd);
	usleep(100000);
	CU_ASSERT_STRING_EQUAL(host_status("h-raw").status, "Up");
	CU_ASSERT_TRUE(agent_channel_host_connected(CH, "h-raw"));
	/* a silent peer (hung, connection open) is declared dead after dead_ms (800) */
	uint64_t t0 = chan_now_ms();
	CU_ASSERT_TRUE(wait_status("h-raw", "Disconnected", 3000));
	CU_ASSERT_TRUE(chan_now_ms() - t0 < 2000);
	CU_ASSERT_TRUE(log_contains(logpath, "nothing received for 800 ms"));
	close(fd2);
}

static void test_oversize_and_malformed(void)
{
	struct channel_client *a = agent_start("h-enc", tokfile_enc, "true");
	struct vecs_err err = { 0 };
	json_t *res = NULL, *j;
	size_t n = CHAN_MAX_MSG + 16;
	char *big = malloc(n);
	int fd;

	CU_ASSERT_EQUAL_FATAL(channel_client_wait_registered(a, 3000), 0);
	fd = raw_register("h-raw", TOK_RAW, "false");
	CU_ASSERT_FATAL(fd >= 0 && big);
	memset(big, ' ', n);
	memcpy(big, "{\"type\":\"ping\",\"pad\":\"", 22);
	raw_send(fd, big, n); /* the server may close before taking it all */
	free(big);
	j = raw_recv(fd, 3000);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "reason")),
			       "message larger than 1048576 bytes");
	json_decref(j);
	CU_ASSERT_TRUE(raw_closed(fd, 2000));
	close(fd);
	CU_ASSERT_TRUE(wait_status("h-raw", "Disconnected", 2000));
	CU_ASSERT_TRUE(log_contains(logpath, "message longer than 1048576 bytes"));

	/* malformed JSON closes that connection only */
	fd = raw_register("h-raw2", TOK_RAW2, "false");
	CU_ASSERT_FATAL(fd >= 0);
	raw_send(fd, "{\"type\": \"answer\", nope}\n", 25);
	CU_ASSERT_TRUE(raw_closed(fd, 2000));
	close(fd);
	CU_ASSERT_TRUE(wait_status("h-raw2", "Disconnected", 2000));
	CU_ASSERT_TRUE(log_contains(logpath, "malformed JSON message (column"));
	/* and a well-formed message of the wrong shape */
	fd = raw_register("h-raw2", TOK_RAW2, "false");
	raw_send(fd, "[1,2]\n", 6);
	CU_ASSERT_TRUE(raw_closed(fd, 2000));
	close(fd);
	CU_ASSERT_EQUAL(agent_call(CH, "h-enc", "echo", NULL, 2000, &res, &err), 0);
	json_decref(res);
	CU_ASSERT_EQUAL(channel_client_registrations(a), 1);
	/* the sender refuses an oversize command before writing anything */
	json_t *args = json_object();
	char *pad = calloc(1, CHAN_MAX_MSG + 1);
	memset(pad, 'x', CHAN_MAX_MSG);
	json_object_set_new(args, "pad", json_string(pad));
	free(pad);
	CU_ASSERT_EQUAL(agent_call(CH, "h-enc", "echo", args, 2000, &res, &err), -EMSGSIZE);
	json_decref(args);
	CU_ASSERT_EQUAL(agent_call(CH, "h-enc", "echo", NULL, 2000, &res, &err), 0);
	json_decref(res);
	channel_client_stop(a);
}

static unsigned json_wipes, json_wipes_dirty, secret_wipes, secret_wipes_dirty, zfree_pass;

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void on_json_wiped(const char *p, size_t n)
{
	json_wipes++;
	json_wipes_dirty += !all_zero(p, n);
}

static void on_secret_wiped(const unsigned char *p, size_t n)
{
	secret_wipes++;
	secret_wipes_dirty += !all_zero(p, n);
}

static void on_zfree(const void *p, size_t n)
{
	zfree_pass += memmem(p, n, "UnitTestPassphrase", 18) != NULL;
}

static void test_passphrase_handling(void)
{
	struct channel_client *a = agent_start("h-enc", tokfile_enc, "true");
	struct vecs_err err = { 0 };
	json_t *args, *res = NULL;

	CU_ASSERT_EQUAL_FATAL(channel_client_wait_registered(a, 3000), 0);
	chan_json_secret_wiped_hook = on_json_wiped;
	chan_secret_wiped_hook = on_secret_wiped;
	chan_zfree_hook = on_zfree;
	args = json_pack("{s:s, s:{s:s, s:s}, s:n}", "passphrase", PASS, "volume", "passphrase",
			 PASS2, "path", "/pool/vol-1", "other", "no");
	/* a JSON null: json_null() was ambiguous before util/json_writer took the jw_ prefix */
	json_object_set_new(args, "extra", json_pack("n"));
	CU_ASSERT_EQUAL(agent_call(CH, "h-enc", "passphrase", args, 2000, &res, &err), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(res, "a")), 64);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(res, "b")), 64);
	json_decref(res);
	json_decref(args);
	CU_ASSERT_EQUAL(passphrase_handler_calls, 1);
	CU_ASSERT_TRUE(passphrase_args_clean);
	CU_ASSERT_STRING_EQUAL(passphrase_seen[0], PASS);
	CU_ASSERT_STRING_EQUAL(passphrase_seen[1], PASS2);
	/* both JSON copies wiped in place before the handler; both secrets after it */
	CU_ASSERT_EQUAL(json_wipes, 2);
	CU_ASSERT_EQUAL(json_wipes_dirty, 0);
	CU_ASSERT_EQUAL(secret_wipes, 2);
	CU_ASSERT_EQUAL(secret_wipes_dirty, 0);
	/* jansson's copies of the passphrase (the string built by the caller, the parser's
	 * scratch buffers, the parsed string) all went through the wiping free */
	CU_ASSERT_TRUE(zfree_pass >= 2);

	/* a non-string passphrase: refused, handler not run */
	args = json_pack("{s:i}", "passphrase", 12345);
	CU_ASSERT_EQUAL(agent_call(CH, "h-enc", "passphrase", args, 2000, &res, &err), -EREMOTEIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "passphrase is not a string"));
	CU_ASSERT_EQUAL(passphrase_handler_calls, 1);
	json_decref(args);
	chan_json_secret_wiped_hook = NULL;
	chan_secret_wiped_hook = NULL;
	chan_zfree_hook = NULL;
	explicit_bzero(passphrase_seen, sizeof(passphrase_seen));
	channel_client_stop(a);
}

static void test_client_reconnects_after_server_restart(void)
{
	struct channel_client *a = agent_start("h-enc", tokfile_enc, "true");
	struct vecs_err err = { 0 };
	json_t *res = NULL;

	CU_ASSERT_EQUAL_FATAL(channel_client_wait_registered(a, 3000), 0);
	agent_channel_stop(CH);
	CH = NULL;
	/* the server's stop marks its hosts Disconnected */
	CU_ASSERT_STRING_EQUAL(host_status("h-enc").status, "Disconnected");
	usleep(300000); /* the agent retries while nobody listens */
	CU_ASSERT_EQUAL_FATAL(server_start(), 0);
	for (int i = 0; i < 150 && channel_client_registrations(a) < 2; i++)
		usleep(20000);
	CU_ASSERT_EQUAL(channel_client_registrations(a), 2);
	CU_ASSERT_TRUE(wait_status("h-enc", "Up", 2000));
	CU_ASSERT_EQUAL(agent_call(CH, "h-enc", "echo", NULL, 2000, &res, &err), 0);
	json_decref(res);
	channel_client_stop(a);
}

/* Last: nothing secret reached either log. */
static void test_logs_hold_no_secret(void)
{
	const char *secrets[] = { TOK_ENC, TOK_PLAIN, TOK_RAW, TOK_RAW2, TOK_WRONG, PASS, PASS2 };

	CU_ASSERT_TRUE(log_contains(agentlog, "registered with the management server"));
	CU_ASSERT_TRUE(log_contains(agentlog, "command passphrase (seq"));
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		CU_ASSERT_FALSE(log_contains(logpath, secrets[i]));
		CU_ASSERT_FALSE(log_contains(agentlog, secrets[i]));
		/* nor a recognisable piece of one */
		char part[17];
		memcpy(part, secrets[i] + 8, 16);
		part[16] = '\0';
		CU_ASSERT_FALSE(log_contains(logpath, part));
		CU_ASSERT_FALSE(log_contains(agentlog, part));
	}
}

static CU_TestInfo tests[] = {
	{ "socket 0600, directory 0700, private files", test_socket_and_files_private },
	{ "register, capabilities, disconnect", test_register_and_capabilities },
	{ "bad token, unknown host, version, no hello", test_auth_refusals },
	{ "peer of another uid refused", test_wrong_uid_refused },
	{ "command round trip, errors, unknown host", test_round_trip_and_errors },
	{ "32 concurrent calls matched by seq", test_concurrent_calls },
	{ "timeout, late answer dropped", test_timeout_drops_late_answer },
	{ "disconnect -> ENOTCONN, reconnect, dead peer", test_disconnect_and_reconnect },
	{ "oversize and malformed close one connection", test_oversize_and_malformed },
	{ "passphrases: secrets only, wiped", test_passphrase_handling },
	{ "client reconnects after server restart", test_client_reconnects_after_server_restart },
	{ "logs hold no token or passphrase", test_logs_hold_no_secret },
	CU_TEST_INFO_NULL,
};

REF_SUITE_FULL(agent_channel, "agent channel", suite_init, suite_clean, tests)
