/* vecs-scaleio-gw: an emulated Dell PowerFlex (ScaleIO) REST gateway whose volumes are
 * sparse files on loop devices, exposed to simulated hosts (SDCs) as by-id links
 * (reference-impl/storage/README.md).
 *
 * Exit status: 0 clean stop or reap done; 1 failure; 2 usage or environment error. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/scaleio.h"
#include "storage/scaleio_backend.h"
#include "util/file.h"
#include "util/secret.h"

static int usage(FILE *f)
{
	fprintf(f,
		"usage: vecs-scaleio-gw --data-dir D --system-id HEX16 --password-file F\n"
		"                       [--listen ADDR:PORT] [--url-file F] [--user NAME]\n"
		"                       [--sdc NAME[@IP]=DIR]... [--granularity-kb N]\n"
		"                       [--capacity-gb N] [--token-ttl SECONDS] [--keep-volumes]\n"
		"       vecs-scaleio-gw --reap --data-dir D\n"
		"\n"
		"Serves the PowerFlex REST API subset CloudStack uses on http://ADDR:PORT/api\n"
		"(default 127.0.0.1:0, 0 = any free port; the URL is printed and written to\n"
		"--url-file). Volumes are sparse files in D on loop devices; a volume mapped to\n"
		"SDC NAME appears as DIR/emc-vol-<systemId>-<volumeId> -> /dev/loopN. SDC ids\n"
		"derive from system id and name; IP defaults to 127.0.1.<index>.\n"
		"\n"
		"  --password-file F   the password of --user (default admin), byte for byte;\n"
		"                      F must not be readable by group or others\n"
		"  --granularity-kb N  allocation unit (default 8388608 = 8 GiB, as PowerFlex);\n"
		"                      sizes are rounded up to it\n"
		"  --capacity-gb N     pool capacity reported to clients (default 1048576)\n"
		"  --token-ttl S       idle seconds before a login token expires (default 600)\n"
		"  --keep-volumes      on SIGTERM leave loop devices and links in place (the\n"
		"                      next start adopts them); default: detach and unlink\n"
		"  --reap              remove everything the ledger D/gateway.ledger of a dead\n"
		"                      gateway records: links, loop devices, files, state\n"
		"\n"
		"SIGTERM/SIGINT stop cleanly. State: D/state.json; ledger: D/gateway.ledger.\n");
	return 2;
}

struct request {
	char *body;
	size_t len;
	bool started, too_big;
};

static struct sio_gw gw;

static void log_line(const char *method, const char *url, int status, long us)
{
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;

	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	/* url is logged, headers never: the password and tokens travel in Authorization */
	fprintf(stderr, "%s %s %s status=%d us=%ld\n", ts, method, url, status, us);
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *con, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct request *rq = *con_cls;
	struct sio_reply r;
	struct MHD_Response *resp;
	struct timespec t0, t1;
	enum MHD_Result ret;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (rq->too_big || rq->len + n > SIO_MAX_BODY) {
			rq->too_big = true;
			return MHD_YES;
		}
		char *nb = realloc(rq->body, rq->len + n + 1);
		if (!nb)
			return MHD_NO;
		memcpy(nb + rq->len, upload_data, n);
		rq->body = nb;
		rq->len += n;
		rq->body[rq->len] = '\0';
		return MHD_YES;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (rq->too_big) {
		memset(&r, 0, sizeof(r));
		r.status = 413;
		r.body = strdup("{\"message\":\"Request body too large\",\"httpStatusCode\":413,"
				"\"errorCode\":0}");
		r.len = r.body ? strlen(r.body) : 0;
	} else {
		const char *auth = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
							       MHD_HTTP_HEADER_AUTHORIZATION);
		sio_handle(&gw, method, url, auth, rq->body, rq->len, &r);
	}
	if (!r.body)
		return MHD_NO;
	if (r.delay_ms) {
		struct timespec d = { r.delay_ms / 1000, (long)(r.delay_ms % 1000) * 1000000L };
		nanosleep(&d, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_line(method, url, r.status,
		 (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000);
	resp = MHD_create_response_from_buffer(r.len, r.body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r.body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json;charset=UTF-8");
	if (r.status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Basic realm=\"ScaleIO\"");
	ret = MHD_queue_response(con, (unsigned)r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static bool hex16(const char *s)
{
	if (strlen(s) != 16)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789abcdef", *s))
			return false;
	return true;
}

static int write_url_file(const char *path, const char *url)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%s\n", url);

	return vecs_write_file_atomic(path, line, (size_t)n, 0644, NULL);
}

static int read_password(const char *path, struct vecs_secret *pw, struct vecs_err *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return vecs_err_set(err, -errno, "cannot read password file %s: %s", path,
				    strerror(errno));
	if (st.st_mode & 077)
		return vecs_err_set(err, -EPERM,
				    "password file %s is readable by group or others: chmod 600 it",
				    path);
	return vecs_secret_read_file(pw, path, err);
}

/* --sdc NAME[@IP]=DIR */
static int add_sdc(const char *spec, struct vecs_err *err)
{
	char name[SIO_NAME_MAX + 64], ip[64];
	const char *eq = strchr(spec, '='), *at;
	size_t nl;

	if (!eq || eq == spec || !eq[1])
		return vecs_err_set(err, -EINVAL, "--sdc %s: expected NAME[@IP]=DIR", spec);
	nl = (size_t)(eq - spec);
	if (nl >= sizeof(name))
		return vecs_err_set(err, -EINVAL, "--sdc %s: name too long", spec);
	memcpy(name, spec, nl);
	name[nl] = '\0';
	at = strchr(name, '@');
	if (at) {
		struct in_addr a;
		snprintf(ip, sizeof(ip), "%s", at + 1);
		name[at - name] = '\0';
		if (inet_pton(AF_INET, ip, &a) != 1)
			return vecs_err_set(err, -EINVAL, "--sdc %s: %s is not an IPv4 address", spec, ip);
	} else {
		snprintf(ip, sizeof(ip), "127.0.1.%d", gw.n_sdcs + 1);
	}
	if (eq[1] != '/')
		return vecs_err_set(err, -EINVAL, "--sdc %s: DIR must be an absolute path", spec);
	return sio_gw_add_sdc(&gw, name, ip, eq + 1, err);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "url-file", required_argument, NULL, 'u' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "sdc", required_argument, NULL, 's' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'U' },
		{ "system-id", required_argument, NULL, 'i' },
		{ "granularity-kb", required_argument, NULL, 'g' },
		{ "capacity-gb", required_argument, NULL, 'c' },
		{ "token-ttl", required_argument, NULL, 't' },
		{ "keep-volumes", no_argument, NULL, 'k' },
		{ "reap", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = "127.0.0.1:0", *url_file = NULL, *data_dir = NULL, *pwfile = NULL;
	const char *system_id = NULL, *user = "admin";
	char *sdcs[SIO_MAX_SDCS], addr[64], url[128], *end, *colon;
	unsigned long long granularity = SIO_GRANULARITY_KB, capacity_gb = 1ull << 20, ttl = 600;
	bool keep = false, reap = false;
	struct vecs_err err = { 0 };
	struct vecs_secret pw = { 0 };
	struct sio_real ctx = { 0 };
	struct MHD_Daemon *d = NULL;
	struct sockaddr_in sa = { 0 };
	int n_sdcs = 0, c, rc = 1, sig;
	unsigned long port;
	sigset_t set;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'u': url_file = optarg; break;
		case 'd': data_dir = optarg; break;
		case 'p': pwfile = optarg; break;
		case 'U': user = optarg; break;
		case 'i': system_id = optarg; break;
		case 'k': keep = true; break;
		case 'r': reap = true; break;
		case 's':
			if (n_sdcs == SIO_MAX_SDCS) {
				fprintf(stderr, "vecs-scaleio-gw: at most %d --sdc\n", SIO_MAX_SDCS);
				return 2;
			}
			sdcs[n_sdcs++] = optarg;
			break;
		case 'g':
		case 'c':
		case 't': {
			unsigned long long v = strtoull(optarg, &end, 10);
			if (*end || !*optarg || v == 0 || v > (1ull << 40)) {
				fprintf(stderr, "vecs-scaleio-gw: --%s wants a positive number, not %s\n",
					c == 'g' ? "granularity-kb" : c == 'c' ? "capacity-gb" : "token-ttl",
					optarg);
				return 2;
			}
			*(c == 'g' ? &granularity : c == 'c' ? &capacity_gb : &ttl) = v;
			break;
		}
		case 'h': return usage(stdout), 0;
		default: return usage(stderr);
		}
	}
	if (optind != argc || !data_dir)
		return usage(stderr);
	if (reap) {
		char real[PATH_MAX];
		if (!realpath(data_dir, real))
			return 0; /* nothing there: nothing to reap */
		if ((rc = sio_real_reap(real, &err)) < 0) {
			fprintf(stderr, "vecs-scaleio-gw: %s\n", err.msg);
			return rc == -EBUSY ? 2 : 1;
		}
		return 0;
	}
	if (!system_id || !hex16(system_id) || !pwfile) {
		fprintf(stderr, "vecs-scaleio-gw: --system-id (16 lowercase hex digits) and "
				"--password-file are required\n");
		return 2;
	}
	sio_gw_init(&gw, system_id);
	snprintf(gw.user, sizeof(gw.user), "%s", user);
	gw.granularity_kb = granularity;
	gw.capacity_kb = capacity_gb << 20;
	gw.token_ttl = (unsigned)ttl;
	for (int i = 0; i < n_sdcs; i++)
		if (add_sdc(sdcs[i], &err) < 0) {
			fprintf(stderr, "vecs-scaleio-gw: %s\n", err.msg);
			return 2;
		}
	if (read_password(pwfile, &pw, &err) < 0) {
		fprintf(stderr, "vecs-scaleio-gw: %s\n", err.msg);
		return 2;
	}
	gw.password = pw.data;
	gw.password_len = pw.len;

	/* address */
	snprintf(addr, sizeof(addr), "%s", listen);
	colon = strrchr(addr, ':');
	if (!colon || (*colon = '\0', port = strtoul(colon + 1, &end, 10), *end || port > 65535) ||
	    inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "vecs-scaleio-gw: --listen %s: expected IPV4:PORT\n", listen);
		goto out2;
	}
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);

	/* data dir and state */
	if (mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "vecs-scaleio-gw: cannot create data dir %s: %s\n", data_dir,
			strerror(errno));
		goto out2;
	}
	{
		char real[PATH_MAX];
		if (!realpath(data_dir, real) || strlen(real) >= sizeof(gw.data_dir)) {
			fprintf(stderr, "vecs-scaleio-gw: data dir %s: %s\n", data_dir,
				errno ? strerror(errno) : "name too long");
			goto out2;
		}
		memcpy(gw.data_dir, real, strlen(real) + 1);
	}
	{
		char sp[PATH_MAX + 16];
		FILE *f;
		snprintf(sp, sizeof(sp), "%s/" SIO_STATE, gw.data_dir);
		if ((f = fopen(sp, "re"))) {
			char *buf = NULL;
			size_t cap = 0;
			ssize_t n = getdelim(&buf, &cap, '\0', f);
			fclose(f);
			if (n < 0 || sio_state_from_json(&gw, buf, &err) < 0) {
				fprintf(stderr, "vecs-scaleio-gw: %s: %s\n", sp,
					err.msg[0] ? err.msg : "unreadable");
				free(buf);
				goto out2;
			}
			free(buf);
		}
	}

	/* Signals are taken by sigwait below; the HTTP thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (sio_real_start(&gw, &ctx, &err) < 0) {
		fprintf(stderr, "vecs-scaleio-gw: %s\n", err.msg);
		rc = err.code == -EBUSY ? 2 : 1;
		if (ctx.ledger)
			goto out;
		goto out2;
	}
	/* One internal thread: requests are handled one at a time, the model needs no lock. */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL,
			     NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "vecs-scaleio-gw: cannot listen on %s (address in use, or not local?)\n",
			listen);
		goto out;
	}
	{
		const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
		snprintf(url, sizeof(url), "http://%s:%u/api", addr,
			 info ? (unsigned)info->port : (unsigned)port);
	}
	printf("%s\n", url);
	fflush(stdout);
	if (url_file && write_url_file(url_file, url) < 0) {
		fprintf(stderr, "vecs-scaleio-gw: cannot write %s: %s\n", url_file, strerror(errno));
		goto out;
	}
	fprintf(stderr, "vecs-scaleio-gw: serving %s, %zu volumes, data dir %s\n", url, gw.n_vols,
		gw.data_dir);
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		; /* nothing to reload */
	rc = 0;
out:
	if (d)
		MHD_stop_daemon(d);
	if (!keep && sio_real_stop(&gw, &err) < 0) {
		fprintf(stderr, "vecs-scaleio-gw: stopping: %s\n", err.msg);
		rc = 1;
	}
	vecs_ledger_close(ctx.ledger);
out2:
	vecs_secret_release(&pw);
	sio_gw_free(&gw);
	return rc;
}
