/* vecs-mgmt: the reference control plane's CloudStack-compatible API server. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"
#include "db/async_job_dao.h"
#include "db/host_dao.h"
#include "mgmt/agent_channel.h"
#include "mgmt/bootstrap.h"
#include "mgmt/http_server.h"
#include "mgmt/jobs.h"
#include "mgmt/recovery.h"
#include "mgmt/mgmt.h"
#include "mgmt/powerflex_client.h"

static const char usage[] =
	"usage: vecs-mgmt --listen ADDR:PORT --db sqlite:PATH|mariadb:... --key-file PROPS\n"
	"                 --credentials-out FILE [--url-file FILE] [--log FILE]\n"
	"                 [--hosts FILE] [--zone NAME] [--http-threads N] [--job-workers N]\n"
	"                 [--agent-socket PATH --agent-tokens FILE]\n"
	"\n"
	"The reference control plane's API server: CloudStack's /client/api (JSON, signed\n"
	"requests, async jobs) over the vecs database.\n"
	"\n"
	"  --listen ADDR:PORT      IPv4 address and port; port 0 picks a free port\n"
	"  --db sqlite:PATH        the database (created and migrated as needed), or\n"
	"  --db mariadb:socket=PATH;database=NAME  a mariadbd on a local socket\n"
	"  --key-file PROPS        0600 properties file with db.cloud.encrypt.secret (and\n"
	"                          optionally db.cloud.encryptor.version=V1|V2)\n"
	"  --credentials-out FILE  on first start, the admin api_key/secret_key go here (0600)\n"
	"  --url-file FILE         write the API URL here once listening (also on stdout)\n"
	"  --log FILE              append the log here (default stderr); no secrets are logged\n"
	"  --hosts FILE            static host list: `NAME [ip=A] [hypervisor=KVM] [K=V...]`\n"
	"                          per line, K=V being host details such as\n"
	"                          host.volume.encryption=true\n"
	"  --zone NAME             the zone created at first start (default vecs-zone-1)\n"
	"  --http-threads N        HTTP worker threads (default 16)\n"
	"  --job-workers N         async job workers (default 4)\n"
	"  --agent-socket PATH     serve agents on this unix socket (0600; its directory is\n"
	"                          created 0700 and must be private)\n"
	"  --agent-tokens FILE     0600 file of `HOSTNAME TOKEN` lines (64 hex digits): the\n"
	"                          hosts allowed to connect as agents\n"
	"  --secondary-storage DIR secondary storage as the hosts see it (volume snapshots\n"
	"                          are written under DIR/snapshots)\n"
	"  --powerflex-password-file FILE  0600 file with the password of user admin on the\n"
	"                          PowerFlex (ScaleIO) gateways of PowerFlex pools (its bytes\n"
	"                          exactly); never logged\n"
	"  --recovery-wait-ms N    at start, how long crash recovery waits for the agents it\n"
	"                          needs to reconnect (default 15000; RECOVERY.md)\n"
	"  --agent-timeout-ms N    wait at most N ms for any agent command (default: 120 s,\n"
	"                          600 s for data copies); for tests of commands that time\n"
	"                          out (RECOVERY.md, \"Agent commands that time out\")\n"
	"\n"
	"Stops cleanly on SIGTERM or SIGINT. Exit status 0 after a clean stop, 2 for a usage\n"
	"or environment error.\n";

static time_t now_real(void)
{
	return time(NULL);
}

/* Written aside and renamed, so a reader never sees half a URL. */
static int write_url_file(const char *path, const char *url)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%s\n", url);

	return vecs_write_file_atomic(path, line, (size_t)n, 0644, NULL);
}

static unsigned parse_count(const char *s, const char *opt)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*end || v == 0 || v > 256) {
		fprintf(stderr, "vecs-mgmt: %s wants a number from 1 to 256\n", opt);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "credentials-out", required_argument, NULL, 'c' },
		{ "url-file", required_argument, NULL, 'u' },
		{ "log", required_argument, NULL, 'L' },
		{ "hosts", required_argument, NULL, 'H' },
		{ "zone", required_argument, NULL, 'z' },
		{ "http-threads", required_argument, NULL, 't' },
		{ "job-workers", required_argument, NULL, 'w' },
		{ "agent-socket", required_argument, NULL, 'A' },
		{ "agent-tokens", required_argument, NULL, 'T' },
		{ "secondary-storage", required_argument, NULL, 'S' },
		{ "powerflex-password-file", required_argument, NULL, 'P' },
		{ "recovery-wait-ms", required_argument, NULL, 'R' },
		{ "agent-timeout-ms", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = NULL, *dbspec = NULL, *keyfile = NULL, *creds = NULL;
	const char *dbtarget = NULL;
	char dbkind[8];
	const char *urlfile = NULL, *logpath = NULL, *hosts = NULL, *zone = "vecs-zone-1";
	const char *agent_socket = NULL, *agent_tokens = NULL, *pfx_pass = NULL;
	unsigned http_threads = 16, job_workers = 4, recovery_wait_ms = 15000;
	struct recovery rec;
	struct mgmt m = { 0 };
	struct http_server *srv = NULL;
	struct vecs_err err = { 0 };
	struct zone_record z;
	char host[64], url[128];
	const char *colon;
	uint16_t port = 0, bound = 0;
	unsigned long p;
	char *end;
	bool created;
	sigset_t sigs;
	int c, r, sig, rc = 2;
	struct db *db;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'd': dbspec = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'c': creds = optarg; break;
		case 'u': urlfile = optarg; break;
		case 'L': logpath = optarg; break;
		case 'H': hosts = optarg; break;
		case 'S': m.secondary = optarg; break;
		case 'P': pfx_pass = optarg; break;
		case 'R': recovery_wait_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'O':
			m.agent_timeout_ms = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !m.agent_timeout_ms) {
				fprintf(stderr, "vecs-mgmt: --agent-timeout-ms wants a positive number\n");
				return 2;
			}
			break;
		case 'z': zone = optarg; break;
		case 't': http_threads = parse_count(optarg, "--http-threads"); break;
		case 'w': job_workers = parse_count(optarg, "--job-workers"); break;
		case 'A': agent_socket = optarg; break;
		case 'T': agent_tokens = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc || !listen || !dbspec || !keyfile || !creds) {
		fprintf(stderr, "vecs-mgmt: --listen, --db, --key-file and --credentials-out are "
				"required\n\n%s",
			usage);
		return 2;
	}
	if (!agent_socket != !agent_tokens) {
		fprintf(stderr, "vecs-mgmt: --agent-socket and --agent-tokens go together\n");
		return 2;
	}
	colon = strrchr(listen, ':');
	if (!colon || (size_t)(colon - listen) >= sizeof(host)) {
		fprintf(stderr, "vecs-mgmt: --listen wants ADDR:PORT, e.g. 127.0.0.1:0\n");
		return 2;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p > 65535) {
		fprintf(stderr, "vecs-mgmt: --listen port must be 0 to 65535\n");
		return 2;
	}
	port = (uint16_t)p;
	if (!strncmp(dbspec, "sqlite:", 7) && dbspec[7]) {
		snprintf(dbkind, sizeof(dbkind), "sqlite");
		dbtarget = dbspec + 7;
	} else if (!strncmp(dbspec, "mariadb:", 8) && dbspec[8]) {
		snprintf(dbkind, sizeof(dbkind), "mariadb");
		dbtarget = dbspec + 8;
	} else {
		fprintf(stderr, "vecs-mgmt: --db wants sqlite:PATH or mariadb:socket=PATH;database=NAME\n");
		return 2;
	}

	pthread_mutex_init(&m.log_lock, NULL);
	m.now = now_real;
	if (logpath) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0 || !(m.log = fdopen(fd, "a"))) {
			fprintf(stderr, "vecs-mgmt: cannot open log %s: %s\n", logpath, strerror(errno));
			if (fd >= 0)
				close(fd);
			return 2;
		}
	}
	/* Every thread created from here on inherits the mask; main waits for the signal. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = db_encryptor_load(&m.enc, keyfile, &err);
	if (r == 0 && pfx_pass)
		r = pfx_open(&m.pfx, pfx_pass, &err);
	if (r == 0)
		r = db_pool_open(&m.pool, dbkind, dbtarget, http_threads + job_workers + 2, &err);
	if (r < 0) {
		fprintf(stderr, "vecs-mgmt: %s\n", err.msg);
		goto out;
	}
	db = db_pool_get(m.pool);
	/* a wrong installation key: exit 2 before anything reads or writes encrypted rows */
	r = mgmt_check_db_key(db, &m.enc, keyfile, &err);
	if (r == 0)
		r = zone_ensure(db, zone, &z, &err);
	if (r == 0)
		r = mgmt_bootstrap_admin(db, &m.enc, creds, &created, &err);
	if (r == 0) {
		mgmt_log(&m, created ? "bootstrap: admin user created, credentials written to %s"
				     : "bootstrap: users exist, credentials file %s left alone",
			 creds);
	}
	if (r == 0 && hosts) {
		unsigned n = 0;
		r = mgmt_load_hosts(db, z.id, hosts, &n, &err);
		if (r == 0)
			mgmt_log(&m, "bootstrap: %u hosts registered from %s", n, hosts);
	}
	db_pool_put(m.pool, db);
	if (r == 0 && agent_socket) {
		struct agent_channel_config ac = { .socket_path = agent_socket,
						   .tokens_path = agent_tokens,
						   .zone_id = z.id };
		r = agent_channel_start(&m.agents, &m, &ac, &err);
	}
	/* after the agent channel (agents come back by themselves), before jobs and HTTP */
	if (r == 0)
		r = mgmt_recover(&m, recovery_wait_ms, &rec, &err);
	if (r == 0)
		r = jobs_start(&m.jobs, &m, job_workers, &err);
	if (r == 0)
		r = http_server_start(&srv, &m, host, port, http_threads, &bound, &err);
	if (r < 0) {
		fprintf(stderr, "vecs-mgmt: %s\n", err.msg);
		goto out;
	}
	snprintf(url, sizeof(url), "http://%s:%u/client/api", host, (unsigned)bound);
	if (urlfile && (r = write_url_file(urlfile, url)) < 0) {
		fprintf(stderr, "vecs-mgmt: cannot write %s: %s\n", urlfile, strerror(-r));
		goto out;
	}
	printf("%s\n", url);
	fflush(stdout);
	mgmt_log(&m, "listening on %s (pid %ld)", url, (long)getpid());

	do {
		r = sigwait(&sigs, &sig);
	} while (r != 0);
	mgmt_log(&m, "signal %d: stopping", sig);
	rc = 0;
out:
	http_server_stop(srv);
	jobs_stop(m.jobs);
	agent_channel_stop(m.agents); /* after the jobs: no agent_call is running */
	db_pool_close(m.pool);
	db_encryptor_release(&m.enc);
	pfx_close(m.pfx);
	if (rc == 0)
		mgmt_log(&m, "stopped");
	if (m.log)
		fclose(m.log);
	pthread_mutex_destroy(&m.log_lock);
	return rc;
}
