/* vecs-agent-drive: drives vecs-agent processes in tests (t-agent.sh) before the control
 * plane's API commands reach them. `serve` is the management server's end of the agent
 * channel, the real code (mgmt/agent_channel.c: tokens, SO_PEERCRED, registration of the
 * hosts in a SQLite database with the server's schema, agent_call); `call` sends one
 * command through it and prints the agent's answer.
 *
 *   vecs-agent-drive serve --socket S --tokens F --db PATH --key-file K --ctl C [--log L]
 *   vecs-agent-drive wait  --ctl C --host H [--timeout SECONDS]
 *   vecs-agent-drive call  --ctl C --host H --name CMD [--args FILE] [--timeout SECONDS]
 *   (SECONDS may have a fraction: 0.05)
 *
 * The control socket C (0600, in a 0700 directory) takes one JSON line per connection
 * and answers one: {"ok":true,"result":{...}} or {"ok":false,"code":-errno,"error":"..."}.
 * An args file may hold passphrases (it should be 0600): they travel as the channel
 * sends them, in "passphrase" fields, and are wiped by the channel's zeroing allocator;
 * `call` reads the file and sends it without ever putting it in argv. Exit status of
 * call/wait: 0 ok, 1 the agent answered ok:false (its error on stderr), 2 otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "channel/channel_proto.h"
#include "db/db_encryptor.h"
#include "db/host_dao.h"
#include "mgmt/agent_channel.h"
#include "mgmt/db_pool.h"
#include "mgmt/mgmt.h"

#define MAX_REQ (1u << 20)

static const char usage[] =
	"usage: vecs-agent-drive serve --socket S --tokens F --db PATH --key-file K --ctl C [--log L]\n"
	"       vecs-agent-drive wait  --ctl C --host H [--timeout SECONDS]\n"
	"       vecs-agent-drive call  --ctl C --host H --name CMD [--args FILE] [--timeout SECONDS]\n";

static struct mgmt m;

/* Read until EOF or newline (at most MAX_REQ bytes) into a malloc'ed, NUL-terminated
 * buffer of *cap bytes, wiped by the caller. */
static char *read_line(int fd, size_t *cap)
{
	char *buf = calloc(1, MAX_REQ + 1);
	size_t n = 0;

	*cap = MAX_REQ + 1;
	while (buf && n < MAX_REQ) {
		ssize_t r = read(fd, buf + n, MAX_REQ - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(buf + n - r, '\n', (size_t)r))
			break;
	}
	return buf;
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void *serve_one(void *arg)
{
	int fd = (int)(intptr_t)arg;
	size_t cap;
	char *line = read_line(fd, &cap);
	json_t *req = line ? json_loads(line, JSON_DISABLE_EOF_CHECK, NULL) : NULL, *ans = NULL,
	       *result = NULL;
	struct vecs_err err = { 0 };
	const char *op = json_string_value(json_object_get(req, "op"));
	const char *host = json_string_value(json_object_get(req, "host"));
	json_int_t tmo = json_integer_value(json_object_get(req, "timeout_ms"));
	int r;

	if (line) {
		explicit_bzero(line, cap);
		free(line);
	}
	if (tmo <= 0)
		tmo = 120000;
	if (!op || !host) {
		ans = json_pack("{s:b, s:i, s:s}", "ok", 0, "code", -EINVAL, "error",
				"request needs op and host");
	} else if (!strcmp(op, "wait")) {
		uint64_t end = chan_now_ms() + (uint64_t)tmo;
		while (!agent_channel_host_connected(m.agents, host) && chan_now_ms() < end)
			usleep(20000);
		r = agent_channel_host_connected(m.agents, host) ? 0 : -ETIMEDOUT;
		ans = r == 0 ? json_pack("{s:b}", "ok", 1)
			     : json_pack("{s:b, s:i, s:s}", "ok", 0, "code", r, "error",
					 "the host's agent did not connect in time");
	} else {
		const char *name = json_string_value(json_object_get(req, "name"));
		r = agent_call(m.agents, host, name ? name : "", json_object_get(req, "args"),
			       (unsigned)tmo, &result, &err);
		mgmt_log(&m, "drive: %s on %s: %s", name ? name : "?", host, r == 0 ? "ok" : "failed");
		ans = r == 0 ? json_pack("{s:b, s:o}", "ok", 1, "result",
					 result ? result : json_object())
			     : json_pack("{s:b, s:i, s:s}", "ok", 0, "code", r, "error", err.msg);
	}
	json_decref(req); /* the zeroing allocator wipes the passphrases in it */
	char *out = json_dumps(ans, JSON_COMPACT);
	if (out) {
		write_all(fd, out, strlen(out));
		write_all(fd, "\n", 1);
		free(out);
	}
	json_decref(ans);
	close(fd);
	return NULL;
}

static int ctl_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old = umask(077);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		umask(old);
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	umask(old);
	return fd;
}

static void *acceptor(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		if (pthread_create(&t, NULL, serve_one, (void *)(intptr_t)fd) != 0)
			close(fd);
		else
			pthread_detach(t);
	}
}

static int serve(const char *sock, const char *tokens, const char *dbpath, const char *keyfile,
		 const char *ctl, const char *logpath)
{
	struct agent_channel_config ac = { .socket_path = sock, .tokens_path = tokens };
	struct vecs_err err = { 0 };
	struct zone_record z;
	struct db *db;
	sigset_t sigs;
	pthread_t t;
	int r, lfd = -1, sig, rc = 2;

	pthread_mutex_init(&m.log_lock, NULL);
	m.now = NULL;
	if (logpath) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0 || !(m.log = fdopen(fd, "a"))) {
			fprintf(stderr, "vecs-agent-drive: cannot open log %s\n", logpath);
			return 2;
		}
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	chan_proto_init();
	r = db_encryptor_load(&m.enc, keyfile, &err);
	if (r == 0)
		r = db_pool_open(&m.pool, "sqlite", dbpath, 2, &err);
	if (r == 0) {
		db = db_pool_get(m.pool);
		r = zone_ensure(db, "vecs-agent-drive", &z, &err);
		db_pool_put(m.pool, db);
		ac.zone_id = z.id;
	}
	if (r == 0)
		r = agent_channel_start(&m.agents, &m, &ac, &err);
	if (r < 0) {
		fprintf(stderr, "vecs-agent-drive: %s\n", err.msg);
		goto out;
	}
	if ((lfd = ctl_listen(ctl)) < 0) {
		fprintf(stderr, "vecs-agent-drive: cannot listen on %s: %s\n", ctl, strerror(-lfd));
		goto out;
	}
	if (pthread_create(&t, NULL, acceptor, (void *)(intptr_t)lfd) != 0)
		goto out;
	pthread_detach(t);
	mgmt_log(&m, "drive: listening on %s (pid %ld)", ctl, (long)getpid());
	do
		r = sigwait(&sigs, &sig);
	while (r != 0);
	rc = 0;
out:
	if (lfd >= 0) {
		unlink(ctl);
		shutdown(lfd, SHUT_RDWR);
	}
	agent_channel_stop(m.agents);
	db_pool_close(m.pool);
	db_encryptor_release(&m.enc);
	return rc;
}

static int client(const char *ctl, json_t *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 2;
	size_t cap;
	char *s, *line;
	json_t *ans;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ctl);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "vecs-agent-drive: cannot connect to %s: %s\n", ctl, strerror(errno));
		return 2;
	}
	s = json_dumps(req, JSON_COMPACT);
	if (!s)
		return 2;
	write_all(fd, s, strlen(s));
	write_all(fd, "\n", 1);
	explicit_bzero(s, strlen(s));
	free(s);
	line = read_line(fd, &cap);
	close(fd);
	ans = line ? json_loads(line, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	free(line);
	if (!ans) {
		fprintf(stderr, "vecs-agent-drive: no answer from %s\n", ctl);
		return 2;
	}
	if (json_is_true(json_object_get(ans, "ok"))) {
		json_t *res = json_object_get(ans, "result");
		if (res) {
			json_dumpf(res, stdout, JSON_COMPACT);
			putchar('\n');
		}
		rc = 0;
	} else {
		fprintf(stderr, "%s\n", json_string_value(json_object_get(ans, "error")));
		rc = json_integer_value(json_object_get(ans, "code")) == -EREMOTEIO ? 1 : 2;
	}
	json_decref(ans);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "tokens", required_argument, NULL, 'T' },
		{ "db", required_argument, NULL, 'd' },     { "key-file", required_argument, NULL, 'k' },
		{ "ctl", required_argument, NULL, 'c' },    { "log", required_argument, NULL, 'L' },
		{ "host", required_argument, NULL, 'H' },   { "name", required_argument, NULL, 'n' },
		{ "args", required_argument, NULL, 'a' },   { "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *tokens = NULL, *db = NULL, *key = NULL, *ctl = NULL, *logp = NULL,
		   *host = NULL, *name = NULL, *argsf = NULL, *mode;
	double timeout = 120; /* seconds; fractions allowed (tests of timeouts) */
	json_t *req, *args = NULL;
	int c, rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'T': tokens = optarg; break;
		case 'd': db = optarg; break;
		case 'k': key = optarg; break;
		case 'c': ctl = optarg; break;
		case 'L': logp = optarg; break;
		case 'H': host = optarg; break;
		case 'n': name = optarg; break;
		case 'a': argsf = optarg; break;
		case 't': timeout = strtod(optarg, NULL); break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!strcmp(mode, "serve") && sock && tokens && db && key && ctl)
		return serve(sock, tokens, db, key, ctl, logp);
	if (!ctl || !host || (strcmp(mode, "wait") && strcmp(mode, "call")) ||
	    (!strcmp(mode, "call") && !name)) {
		fputs(usage, stderr);
		return 2;
	}
	chan_proto_init();
	if (argsf) {
		json_error_t je;
		if (!(args = json_load_file(argsf, 0, &je))) {
			fprintf(stderr, "vecs-agent-drive: %s: %s\n", argsf, je.text);
			return 2;
		}
	}
	req = json_pack("{s:s, s:s, s:s?, s:I, s:o?}", "op", mode, "host", host, "name", name,
			"timeout_ms", (json_int_t)(timeout * 1000), "args", args);
	rc = client(ctl, req);
	json_decref(req);
	return rc;
}
