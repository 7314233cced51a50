/* The keeper's control channel (D/control.sock) and the fault hooks of `vecs stack up`;
 * the protocol and the verbs are documented in stack.h. Every path is the stack
 * directory (shorter than STACK_DIR_MAX) plus a short suffix. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "targets/api_client.h"
#include "targets/stack_keeper.h"
#include "util/proc.h"
#include "util/spawn.h"

#define CTL_SOCK "control.sock"
#define CTL_LINE_MAX 8192
#define CTL_REPLY_MAX 8192
#define READY_TIMEOUT_MS 90000
#define REGISTERED_LINE "registered with the management server"

/* ---- fault hooks (vecs stack up) ---------------------------------------------------- */

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int host_of(const char *what)
{
	/* "vecs-agent hN" */
	return starts_with(what, "vecs-agent h") ? atoi(what + 12) : 0;
}

static void wrapper_path(const struct keeper *k, int host, char *out, size_t len)
{
	snprintf(out, len, "%s/hosts/h%d/qemu-wrapper", k->dir, host);
}

static int write_wrapper(struct keeper *k, int host, struct vecs_err *err)
{
	char path[PATH_MAX], text[3 * PATH_MAX];
	int fd, r;
	size_t n;

	wrapper_path(k, host, path, sizeof(path));
	if (strchr(k->iofault_so, '\'') || strchr(k->iofault_rules, '\''))
		return vecs_err_set(err, -EINVAL, "paths with a single quote are not supported: %s",
				    k->dir);
	/* checked when QEMU starts, so a shim built after `up` still applies */
	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "# vecs stack: QEMU of host h%d with the stack's I/O fault hook. libvirt starts\n"
		 "# QEMU with a cleared environment, so this wrapper sets it (vecs stack --help).\n"
		 "if [ -e '%s' ]; then\n"
		 "\texport LD_PRELOAD='%s'\"${LD_PRELOAD:+:$LD_PRELOAD}\"\n"
		 "\texport VECS_IOFAULT_RULES='%s'\n"
		 "fi\n"
		 "exec /usr/bin/qemu-system-x86_64 \"$@\"\n",
		 host, k->iofault_so, k->iofault_so, k->iofault_rules);
	r = vecs_ledger_add_path(k->ledger, VECS_OBJ_FILE, path, NULL, err);
	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0755);
	n = strlen(text);
	if (fd < 0 || write(fd, text, n) != (ssize_t)n || fchmod(fd, 0755) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return vecs_err_set(err, -e, "cannot write %s: %s", path, strerror(e));
	}
	return close(fd) == 0 ? 0 : vecs_err_set(err, -EIO, "cannot write %s", path);
}

int stack_faults_setup(struct keeper *k, struct vecs_err *err)
{
	char dir[PATH_MAX], lib[PATH_MAX];
	int r;

	/* the shim is built next to the programs: build/bin -> build/lib */
	snprintf(lib, sizeof(lib), "%s", k->bin);
	if (strrchr(lib, '/'))
		*strrchr(lib, '/') = '\0';
	snprintf(k->iofault_so, sizeof(k->iofault_so), "%s/lib/libvecs-iofault.so", lib);
	snprintf(dir, sizeof(dir), "%s/faults", k->dir);
	snprintf(k->iofault_rules, sizeof(k->iofault_rules), "%s/iofault.rules", dir);
	r = vecs_ledger_add_path(k->ledger, VECS_OBJ_DIR, dir, NULL, err);
	if (r < 0)
		return r;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vecs_err_set(err, -errno, "cannot create %s: %s", dir, strerror(errno));
	for (int i = 1; r == 0 && i <= k->o->hosts; i++)
		r = write_wrapper(k, i, err);
	if (r == 0 && k->log)
		fprintf(k->log, "stack: fault hooks: %s (%s), rules %s, QEMU wrappers in hosts/hN\n",
			k->iofault_so, access(k->iofault_so, R_OK) == 0 ? "present" : "not built",
			k->iofault_rules);
	return r;
}

json_t *stack_faults_json(const struct keeper *k)
{
	char sock[PATH_MAX];

	snprintf(sock, sizeof(sock), "%s/%s", k->dir, CTL_SOCK);
	return json_pack("{s:s, s:s, s:s}", "iofault_rules", k->iofault_rules, "control", sock,
			 "iofault_lib", k->iofault_so);
}

static char *dup_env(const char *name, const char *value)
{
	char *s = NULL;

	return asprintf(&s, "%s=%s", name, value) < 0 ? NULL : s;
}

int stack_proc_keep_argv(struct keeper *k, struct proc_rec *p, const char *const argv[],
			 struct vecs_err *err)
{
	int n = 0, host = host_of(p->what);
	char wrapper[PATH_MAX];

	for (; argv[n]; n++) {
		if (n >= PROC_MAX_ARGS - 2 || !(p->argv[n] = strdup(argv[n])))
			return vecs_err_set(err, -ENOMEM, "too many arguments for %s", p->what);
	}
	if (host) {
		/* QEMU through the host's wrapper; the agent and what it spawns get the shim */
		wrapper_path(k, host, wrapper, sizeof(wrapper));
		if (access(wrapper, X_OK) == 0) {
			p->argv[n++] = strdup("--emulator");
			p->argv[n++] = strdup(wrapper);
		}
		if (k->iofault_so[0] && access(k->iofault_so, R_OK) == 0)
			p->env[p->nbase_env++] = dup_env("LD_PRELOAD", k->iofault_so);
		if (k->iofault_rules[0])
			p->env[p->nbase_env++] = dup_env("VECS_IOFAULT_RULES", k->iofault_rules);
	}
	p->argv[n] = NULL;
	p->env[p->nbase_env] = NULL;
	for (int i = 0; i < n; i++)
		if (!p->argv[i])
			return vecs_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

/* ---- services ------------------------------------------------------------------------ */

static void add_svc(struct keeper *k, const char *name, enum stack_svc_kind kind, int proc,
		    int host)
{
	struct stack_svc *s = &k->svcs[k->nsvcs++];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->kind = kind;
	s->proc = proc;
	s->host = host;
	s->state = "running";
}

/* The port of an http://ADDR:PORT/... URL into "ADDR:PORT" for --listen. */
static void pin_listen(struct proc_rec *p, const char *url)
{
	const char *hp = strstr(url, "://");
	char listen[64];

	if (!hp)
		return;
	hp += 3;
	snprintf(listen, sizeof(listen), "%.*s", (int)strcspn(hp, "/"), hp);
	for (int i = 0; p->argv[i] && p->argv[i + 1]; i++)
		if (!strcmp(p->argv[i], "--listen")) {
			free(p->argv[i + 1]);
			p->argv[i + 1] = strdup(listen);
			return;
		}
}

static void build_services(struct keeper *k)
{
	char name[24];

	k->nsvcs = 0;
	for (int i = 0; i < k->nprocs; i++) {
		struct proc_rec *p = &k->procs[i];
		if (!strcmp(p->what, "vecs-mgmt")) {
			pin_listen(p, k->api_url);
			add_svc(k, "mgmt", SVC_PROC, i, 0);
		} else if (!strcmp(p->what, "vecs-scaleio-gw")) {
			pin_listen(p, k->scaleio_url);
			add_svc(k, "scaleio", SVC_PROC, i, 0);
		} else if (!strcmp(p->what, "mariadbd")) {
			add_svc(k, "mariadb", SVC_PROC, i, 0);
		} else if (host_of(p->what)) {
			snprintf(name, sizeof(name), "agent-h%d", host_of(p->what));
			add_svc(k, name, SVC_PROC, i, host_of(p->what));
		}
	}
	for (int h = 1; h <= k->o->hosts; h++) {
		snprintf(name, sizeof(name), "libvirtd-h%d", h);
		add_svc(k, name, SVC_LIBVIRTD, -1, h);
	}
	if (k->have_nfs)
		add_svc(k, "nfs", SVC_NFS, -1, 0);
}

static struct stack_svc *find_svc(struct keeper *k, const char *name)
{
	for (int i = 0; name && i < k->nsvcs; i++)
		if (!strcmp(k->svcs[i].name, name))
			return &k->svcs[i];
	return NULL;
}

/* pid and start time of a number field pair in a component's JSON state file */
static void pid_from_json(const char *path, const char *pkey, const char *skey, pid_t *pid,
			  uint64_t *start)
{
	json_t *j = json_load_file(path, 0, NULL);

	*pid = 0;
	*start = 0;
	if (!j)
		return;
	*pid = (pid_t)json_integer_value(json_object_get(j, pkey));
	*start = (uint64_t)json_integer_value(json_object_get(j, skey));
	json_decref(j);
}

static void svc_pid(const struct keeper *k, const struct stack_svc *s, pid_t *pid,
		    uint64_t *start)
{
	char path[PATH_MAX];

	switch (s->kind) {
	case SVC_PROC:
		*pid = k->procs[s->proc].pid;
		*start = k->procs[s->proc].start;
		return;
	case SVC_LIBVIRTD:
		snprintf(path, sizeof(path), "%s/hosts/h%d/host.json", k->dir, s->host);
		pid_from_json(path, "libvirtd_pid", "libvirtd_start", pid, start);
		return;
	case SVC_NFS:
		snprintf(path, sizeof(path), "%s/hosts/nfs/nfs.json", k->dir);
		pid_from_json(path, "ganesha_pid", "ganesha_start", pid, start);
		return;
	}
}

/* ---- stop and kill ------------------------------------------------------------------- */

static int svc_stop(struct keeper *k, struct stack_svc *s, bool crash, struct vecs_err *err)
{
	pid_t pid;
	uint64_t start;
	bool ours = false;

	svc_pid(k, s, &pid, &start);
	if (pid > 0 && vecs_proc_alive(pid, start)) {
		if (crash) {
			kill(pid, SIGKILL);
			if (s->kind == SVC_PROC)
				waitpid(pid, NULL, 0);
			for (int i = 0; i < 500 && vecs_proc_alive(pid, start); i++)
				usleep(10000);
		} else {
			/* mariadbd flushes on SIGTERM: give it time */
			int grace = !strcmp(s->name, "mariadb") ? 60000 : 15000;
			if (vecs_proc_stop(pid, start, grace, &ours) < 0)
				return vecs_err_set(err, -ETIMEDOUT, "%s (pid %d) would not stop",
						    s->name, (int)pid);
		}
		if (vecs_proc_alive(pid, start))
			return vecs_err_set(err, -ETIMEDOUT, "%s (pid %d) would not die", s->name,
					    (int)pid);
	}
	/* a keeper child's record is closed; vecs-host/vecs-nfs close theirs on restart */
	if (s->kind == SVC_PROC && k->procs[s->proc].ledger_id) {
		vecs_ledger_done(k->ledger, k->procs[s->proc].ledger_id, NULL);
		k->procs[s->proc].ledger_id = 0;
	}
	s->state = crash ? "killed" : "stopped";
	if (k->log)
		fprintf(k->log, "stack: ctl: %s %s (pid %d)\n", crash ? "killed" : "stopped", s->name,
			(int)pid);
	return 0;
}

/* ---- start and readiness ------------------------------------------------------------- */

static void set_env(struct stack_svc *s, char *const *env, int n)
{
	for (int i = 0; s->env[i]; i++) {
		explicit_bzero(s->env[i], strlen(s->env[i]));
		free(s->env[i]);
		s->env[i] = NULL;
	}
	for (int i = 0; i < n && i < PROC_MAX_ENV; i++)
		s->env[i] = strdup(env[i]);
}

static const char *env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; env[i]; i++)
		if (!strncmp(env[i], name, n) && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

/* base environment (the agents' hooks) with the service's ENV on top; two LD_PRELOADs
 * are joined with ':' (the service's first). out holds pointers into bufs. */
static void merge_env(const struct proc_rec *p, const struct stack_svc *s, const char **out,
		      char *preload, size_t preload_len)
{
	const char *user_pre = env_get(s->env, "LD_PRELOAD");
	int n = 0;

	for (int i = 0; p && i < p->nbase_env; i++) {
		if (starts_with(p->env[i], "LD_PRELOAD=") && user_pre) {
			/* the caller may have named the shim already */
			bool has = strstr(user_pre, p->env[i] + 11) != NULL;
			snprintf(preload, preload_len, "LD_PRELOAD=%s%s%s", user_pre, has ? "" : ":",
				 has ? "" : p->env[i] + 11);
			out[n++] = preload;
			continue;
		}
		{
			char name[64];
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(p->env[i], "="), p->env[i]);
			if (env_get(s->env, name))
				continue; /* the service's ENV wins */
		}
		out[n++] = p->env[i];
	}
	for (int i = 0; s->env[i]; i++) {
		if (starts_with(s->env[i], "LD_PRELOAD=") && preload[0])
			continue; /* joined above */
		out[n++] = s->env[i];
	}
	out[n] = NULL;
}

struct respawn_ctx {
	struct keeper *k;
	struct proc_rec *p;
};

static int record_respawn(pid_t pid, uint64_t start, void *arg)
{
	struct respawn_ctx *c = arg;

	c->p->pid = pid;
	c->p->start = start;
	return vecs_ledger_add_process(c->k->ledger, pid, start, c->p->what, &c->p->ledger_id,
				       NULL);
}

static int respawn(struct keeper *k, struct stack_svc *s, struct vecs_err *err)
{
	struct proc_rec *p = &k->procs[s->proc];
	const char *argv[PROC_MAX_ARGS + 3], *env[2 * PROC_MAX_ENV + 2];
	char logpath[PATH_MAX], preload[2 * PATH_MAX + 16] = "";
	struct respawn_ctx c = { k, p };
	struct vecs_spawn_opts so = { 0 };
	const char *qimg = env_get(s->env, "VECS_QEMU_IMG");
	int n = 0;
	pid_t pid;
	uint64_t start;

	for (; p->argv[n]; n++)
		argv[n] = p->argv[n];
	if (s->host && qimg) {
		/* the capability fault hook: a qemu-img wrapper for this agent */
		argv[n++] = "--qemu-img";
		argv[n++] = qimg;
	}
	argv[n] = NULL;
	merge_env(p, s, env, preload, sizeof(preload));
	snprintf(logpath, sizeof(logpath), "%s/logs/%s", k->dir, p->log_name);
	so.stdout_path = logpath;
	so.stderr_path = logpath;
	so.env_extra = env;
	if (k->log)
		fprintf(k->log, "stack: ctl: starting %s\n", s->name);
	return vecs_spawn_start(argv, &so, record_respawn, &c, &pid, &start, err);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How often agent hN has registered with the management server (its log says so). */
static int registrations(const struct keeper *k, int host)
{
	char path[PATH_MAX], line[1024];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/logs/agent-h%d.log", k->dir, host);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, REGISTERED_LINE) != NULL;
	fclose(f);
	return n;
}

/* Hosts of `want` (bit N: hN) Up in listHosts; *answered: the API answered at all. */
static bool hosts_up(const struct keeper *k, unsigned want, bool *answered)
{
	struct vecs_err e = { 0 };
	struct vecs_api *api = stack_open_api(k, &e);
	const char *params[] = { "type", "Routing", NULL };
	struct vecs_api_reply res = { 0 };
	unsigned up = 0;

	*answered = false;
	if (api && vecs_api_call(api, "listHosts", params, &res, &e) == 0 && !res.errorcode) {
		json_t *h;
		size_t i;
		*answered = true;
		json_array_foreach(json_object_get(res.response, "host"), i, h) {
			const char *name = json_string_value(json_object_get(h, "name")) ?: "";
			const char *st = json_string_value(json_object_get(h, "state")) ?: "";
			if (name[0] == 'h' && !strcmp(st, "Up"))
				up |= 1u << atoi(name + 1);
		}
	}
	vecs_api_reply_clear(&res);
	vecs_api_free(api);
	return (up & want) == want;
}

/* The agents of `want` registered again (more often than before[]) and are Up. */
static int wait_agents(struct keeper *k, unsigned want, const int *before, struct vecs_err *err)
{
	int64_t deadline = now_ms() + READY_TIMEOUT_MS;
	bool answered = false;

	for (;;) {
		unsigned again = 0;
		for (int h = 1; h <= k->o->hosts; h++)
			if ((want & (1u << h)) && registrations(k, h) > before[h])
				again |= 1u << h;
		if (again == want && hosts_up(k, want, &answered))
			return 0;
		if (now_ms() > deadline)
			return vecs_err_set(err, -ETIMEDOUT,
					    "agents did not register again and show Up within %d s "
					    "(API %s); see %s/logs/agent-h*.log and mgmt.log",
					    READY_TIMEOUT_MS / 1000, answered ? "answers" : "does not answer",
					    k->dir);
		usleep(200 * 1000);
	}
}

/* A URL file written again by the restarted process, naming the same URL. */
static int wait_url(struct keeper *k, struct stack_svc *s, const char *path, const char *want,
		    struct vecs_err *err)
{
	struct proc_rec *p = &k->procs[s->proc];
	int64_t deadline = now_ms() + 30000;
	char url[256];
	struct stat st;

	for (;;) {
		if (stat(path, &st) == 0 && st.st_size > 0) {
			FILE *f = fopen(path, "re");
			url[0] = '\0';
			if (f) {
				if (!fgets(url, sizeof(url), f))
					url[0] = '\0';
				fclose(f);
			}
			url[strcspn(url, "\r\n")] = '\0';
			if (strcmp(url, want))
				return vecs_err_set(err, -EADDRINUSE, "%s came back on %s, not %s",
						    s->name, url, want);
			return 0;
		}
		if (!vecs_proc_alive(p->pid, p->start))
			return vecs_err_set(err, -ECHILD, "%s exited during start-up; see %s/logs/%s",
					    s->name, k->dir, p->log_name);
		if (now_ms() > deadline)
			return vecs_err_set(err, -ETIMEDOUT, "%s wrote no URL within 30 s; see %s/logs",
					    s->name, k->dir);
		usleep(20 * 1000);
	}
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

/* The gateway's login (GET /api/login, basic auth admin and the stack's password). */
static int scaleio_login(const struct keeper *k, struct vecs_err *err)
{
	char path[PATH_MAX], pass[256] = "", url[300];
	int64_t deadline = now_ms() + 30000;
	long code = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/secrets/scaleio.pass", k->dir);
	if (!(f = fopen(path, "re")) || !fgets(pass, sizeof(pass), f)) {
		if (f)
			fclose(f);
		return vecs_err_set(err, -ENOENT, "cannot read %s", path);
	}
	fclose(f);
	pass[strcspn(pass, "\r\n")] = '\0';
	snprintf(url, sizeof(url), "%s/login", k->scaleio_url);
	while (code != 200 && now_ms() < deadline) {
		CURL *c = curl_easy_init();
		if (!c)
			break;
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_USERNAME, "admin");
		curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_cleanup(c);
		if (code != 200)
			usleep(100 * 1000);
	}
	explicit_bzero(pass, sizeof(pass));
	return code == 200 ? 0 : vecs_err_set(err, -ETIMEDOUT,
					       "the ScaleIO gateway refuses the login at %s (HTTP %ld)",
					       url, code);
}

static int mariadb_answers(const struct keeper *k, struct vecs_err *err)
{
	char sockarg[PATH_MAX + 16];
	const char *argv[] = { "mariadb", "--no-defaults", sockarg, "-uroot", "-e", "SELECT 1",
			       NULL };
	int64_t deadline = now_ms() + 60000;
	int status = -1;

	snprintf(sockarg, sizeof(sockarg), "--socket=%s/mariadb/sock", k->dir);
	while (now_ms() < deadline) {
		struct vecs_spawn_opts so = { .timeout_ms = 5000 };
		if (vecs_spawn_run(argv, &so, &status, NULL) == 0 && status == 0)
			return 0;
		usleep(200 * 1000);
	}
	return vecs_err_set(err, -ETIMEDOUT, "mariadbd does not answer on %s/mariadb/sock within "
			    "60 s; see %s/logs/mariadbd.err", k->dir, k->dir);
}

static int start_proc_svc(struct keeper *k, struct stack_svc *s, struct vecs_err *err)
{
	int before[MAX_HOSTS + 1] = { 0 };
	unsigned want = 0;
	char url[PATH_MAX];
	int r;

	if (!strcmp(s->name, "mgmt")) {
		for (int h = 1; h <= k->o->hosts; h++) {
			struct stack_svc *a;
			char name[24];
			snprintf(name, sizeof(name), "agent-h%d", h);
			a = find_svc(k, name);
			if (a && !strcmp(a->state, "running")) {
				before[h] = registrations(k, h);
				want |= 1u << h;
			}
		}
		snprintf(url, sizeof(url), "%s/mgmt/url", k->dir);
		unlink(url);
		if ((r = respawn(k, s, err)) < 0 || (r = wait_url(k, s, url, k->api_url, err)) < 0)
			return r;
		return wait_agents(k, want, before, err);
	}
	if (s->host) {
		struct stack_svc *m = find_svc(k, "mgmt");
		before[s->host] = registrations(k, s->host);
		if ((r = respawn(k, s, err)) < 0)
			return r;
		/* with mgmt stopped, the agent keeps trying: nothing to wait for */
		return m && strcmp(m->state, "running") ? 0
							 : wait_agents(k, 1u << s->host, before, err);
	}
	if (!strcmp(s->name, "scaleio")) {
		snprintf(url, sizeof(url), "%s/scaleio/url", k->dir);
		unlink(url);
		if ((r = respawn(k, s, err)) < 0 || (r = wait_url(k, s, url, k->scaleio_url, err)) < 0)
			return r;
		return scaleio_login(k, err);
	}
	/* mariadb */
	if ((r = respawn(k, s, err)) < 0)
		return r;
	return mariadb_answers(k, err);
}

static int svc_start(struct keeper *k, struct stack_svc *s, struct vecs_err *err)
{
	char prog[PATH_MAX], dir[PATH_MAX], name[16];
	const char *env[PROC_MAX_ENV + 1];
	int r, n = 0;

	for (; s->env[n]; n++)
		env[n] = s->env[n];
	env[n] = NULL;
	switch (s->kind) {
	case SVC_PROC:
		r = start_proc_svc(k, s, err);
		break;
	case SVC_LIBVIRTD: {
		const char *argv[] = { prog, "restart-libvirtd", "--dir", dir, "--name", name, NULL };
		snprintf(prog, sizeof(prog), "%s/vecs-host", k->bin);
		snprintf(dir, sizeof(dir), "%s/hosts", k->dir);
		snprintf(name, sizeof(name), "h%d", s->host);
		r = stack_run_cmd_env(k, argv, env, 120, "hosts.log", err);
		break;
	}
	case SVC_NFS: {
		const char *argv[] = { prog, "restart", "--dir", dir, NULL };
		snprintf(prog, sizeof(prog), "%s/vecs-nfs", k->bin);
		snprintf(dir, sizeof(dir), "%s/hosts", k->dir);
		r = stack_run_cmd_env(k, argv, env, 120, "nfs.log", err);
		break;
	}
	default:
		r = vecs_err_set(err, -EINVAL, "unknown service kind");
	}
	/* a failed start leaves the service down, as a crash would */
	s->state = r == 0 ? "running" : "stopped";
	if (k->log)
		fprintf(k->log, "stack: ctl: %s %s%s%s\n", s->name, r == 0 ? "is up" : "failed: ",
			r == 0 ? "" : err->msg, "");
	return r;
}

/* ---- the control socket --------------------------------------------------------------- */

int stack_ctl_open(struct keeper *k, struct vecs_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	mode_t old;
	int fd, r;

	build_services(k);
	snprintf(path, sizeof(path), "%s/%s", k->dir, CTL_SOCK);
	if (strlen(path) >= sizeof(sa.sun_path))
		return vecs_err_set(err, -ENAMETOOLONG, "%s is too long for a unix socket", path);
	r = vecs_ledger_add_path(k->ledger, VECS_OBJ_FILE, path, NULL, err);
	if (r < 0)
		return r;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vecs_err_set(err, -errno, "socket: %s", strerror(errno));
	old = umask(077);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 8) < 0) {
		r = -errno;
		close(fd);
		return vecs_err_set(err, r, "cannot listen on %s: %s", path, strerror(-r));
	}
	k->ctl_fd = fd;
	return 0;
}

void stack_ctl_close(struct keeper *k)
{
	char path[PATH_MAX];

	if (k->ctl_fd <= 0)
		return;
	close(k->ctl_fd);
	k->ctl_fd = -1;
	snprintf(path, sizeof(path), "%s/%s", k->dir, CTL_SOCK);
	unlink(path);
}

struct reply {
	char *buf;
	size_t len, cap;
};

static void say(struct reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->len >= r->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len = r->len + (size_t)n < r->cap ? r->len + (size_t)n : r->cap - 1;
}

static void status_lines(struct keeper *k, struct reply *out)
{
	for (int i = 0; i < k->nsvcs; i++) {
		struct stack_svc *s = &k->svcs[i];
		pid_t pid;
		uint64_t start;
		bool alive;

		svc_pid(k, s, &pid, &start);
		alive = pid > 0 && vecs_proc_alive(pid, start);
		/* "dead": it should run and does not (it crashed by itself) */
		say(out, "%s %d %s\n", s->name, alive ? (int)pid : 0,
		    alive ? "running" : !strcmp(s->state, "running") ? "dead" : s->state);
	}
}

static bool valid_env(const char *e)
{
	const char *eq = strchr(e, '=');

	if (!eq || eq == e || (!isalpha((unsigned char)e[0]) && e[0] != '_'))
		return false;
	for (const char *p = e; p < eq; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return strcspn(e, "\n\t") == strlen(e);
}

/* One request: fields separated by tabs (stack.h). 0 or a -errno with err set. */
static int handle(struct keeper *k, char **f, int nf, struct reply *out, struct vecs_err *err)
{
	const char *verb = f[0];
	struct stack_svc *s = nf > 1 ? find_svc(k, f[1]) : NULL;
	pid_t pid;
	uint64_t start;
	int r;

	if (!strcmp(verb, "status") && nf == 1) {
		status_lines(k, out);
		return 0;
	}
	if (strcmp(verb, "stop") && strcmp(verb, "kill") && strcmp(verb, "start") &&
	    strcmp(verb, "restart"))
		return vecs_err_set(err, -EINVAL, "unknown verb '%.32s' (status, stop, start, restart, "
				    "kill)", verb);
	if (!s) {
		char names[512] = "";
		for (int i = 0; i < k->nsvcs; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i ? ", " : "", k->svcs[i].name);
		return vecs_err_set(err, -ENOENT, "%s needs a service: %s", verb, names);
	}
	for (int i = 2; i < nf; i++)
		if (!valid_env(f[i]))
			return vecs_err_set(err, -EINVAL, "'%.64s' is not NAME=VALUE", f[i]);
	if (nf - 2 > PROC_MAX_ENV)
		return vecs_err_set(err, -E2BIG, "at most %d environment entries", PROC_MAX_ENV);
	if ((!strcmp(verb, "stop") || !strcmp(verb, "kill")) && nf > 2)
		return vecs_err_set(err, -EINVAL, "%s takes no environment", verb);
	if (!strcmp(verb, "stop") || !strcmp(verb, "kill"))
		return svc_stop(k, s, !strcmp(verb, "kill"), err);
	svc_pid(k, s, &pid, &start);
	if (!strcmp(verb, "start") && pid > 0 && vecs_proc_alive(pid, start))
		return vecs_err_set(err, -EALREADY, "%s is running (pid %d); use restart", s->name,
				    (int)pid);
	/* restart: ENV replaces the kept one (none clears it); start: ENV if given */
	if (!strcmp(verb, "restart") || nf > 2)
		set_env(s, f + 2, nf - 2);
	if (!strcmp(verb, "restart") && (r = svc_stop(k, s, false, err)) < 0)
		return r;
	if ((r = svc_start(k, s, err)) < 0)
		return r;
	svc_pid(k, s, &pid, &start);
	say(out, "%s %d running\n", s->name, (int)pid);
	return 0;
}

static void serve_one(struct keeper *k, int fd)
{
	char line[CTL_LINE_MAX], body[CTL_REPLY_MAX] = "", *f[PROC_MAX_ENV + 4], *save = NULL;
	struct reply out = { body, 0, sizeof(body) };
	struct vecs_err err = { 0 };
	struct timeval tv = { 5, 0 };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	size_t got = 0;
	ssize_t n;
	int nf = 0, r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		dprintf(fd, "err not your stack\n");
		return;
	}
	while (got < sizeof(line) - 1 && (n = read(fd, line + got, sizeof(line) - 1 - got)) > 0) {
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = '\0';
	if (!memchr(line, '\n', got)) {
		dprintf(fd, "err the request is not one line ending in a newline\n");
		return;
	}
	line[strcspn(line, "\n")] = '\0';
	for (char *t = strtok_r(line, "\t", &save); t && nf < (int)(sizeof(f) / sizeof(f[0]));
	     t = strtok_r(NULL, "\t", &save))
		f[nf++] = t;
	if (k->log)
		fprintf(k->log, "stack: ctl: request %s %s (%d env)\n", nf ? f[0] : "(empty)",
			nf > 1 ? f[1] : "", nf > 2 ? nf - 2 : 0);
	r = nf ? handle(k, f, nf, &out, &err) : vecs_err_set(&err, -EINVAL, "empty request");
	explicit_bzero(line, sizeof(line));
	if (r < 0)
		dprintf(fd, "err %s\n", err.msg);
	else
		dprintf(fd, "ok\n%s", body);
}

void stack_ctl_serve(struct keeper *k, int timeout_ms)
{
	struct pollfd pfd = { .fd = k->ctl_fd, .events = POLLIN };
	int fd;

	if (k->ctl_fd <= 0) {
		usleep((useconds_t)timeout_ms * 1000);
		return;
	}
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return;
	fd = accept4(k->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	serve_one(k, fd);
	close(fd);
}

/* ---- the client ------------------------------------------------------------------------ */

int vecs_stack_ctl(const char *dir, const char *verb, const char *service,
		   const char *const *env, char *reply, size_t reply_len, struct vecs_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[CTL_LINE_MAX], buf[CTL_REPLY_MAX];
	struct timeval tv = { 600, 0 };
	size_t len = 0, got = 0;
	ssize_t n;
	int fd, r;

	if (reply && reply_len)
		reply[0] = '\0';
	if (!verb || strchr(verb, '\t') || strchr(verb, '\n') ||
	    (service && (strchr(service, '\t') || strchr(service, '\n'))))
		return vecs_err_set(err, -EINVAL, "a verb or service name with a tab or newline");
	len = (size_t)snprintf(req, sizeof(req), "%s%s%s", verb, service ? "\t" : "",
			       service ? service : "");
	for (size_t i = 0; env && env[i]; i++) {
		if (strchr(env[i], '\t') || strchr(env[i], '\n'))
			return vecs_err_set(err, -EINVAL, "environment entry with a tab or newline");
		len += (size_t)snprintf(req + len, len < sizeof(req) ? sizeof(req) - len : 0, "\t%s",
					env[i]);
	}
	if (len + 2 > sizeof(req))
		return vecs_err_set(err, -E2BIG, "request too long");
	req[len++] = '\n';
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, CTL_SOCK) >=
	    sizeof(sa.sun_path))
		return vecs_err_set(err, -ENAMETOOLONG, "%s/%s is too long for a socket", dir, CTL_SOCK);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vecs_err_set(err, -errno, "socket: %s", strerror(errno));
	/* a restart waits for readiness (up to a few minutes): the keeper answers then */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return vecs_err_set(err, r, "no stack keeper answers on %s: %s (is the stack up? "
				    "`vecs stack up --dir %s`)", sa.sun_path, strerror(-r), dir);
	}
	if (write(fd, req, len) != (ssize_t)len) {
		r = -errno;
		close(fd);
		return vecs_err_set(err, r ? r : -EIO, "cannot send to %s", sa.sun_path);
	}
	explicit_bzero(req, sizeof(req));
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	r = n < 0 ? -errno : 0;
	close(fd);
	buf[got] = '\0';
	if (starts_with(buf, "ok\n")) {
		if (reply && reply_len)
			snprintf(reply, reply_len, "%s", buf + 3);
		return 0;
	}
	if (starts_with(buf, "err ")) {
		buf[strcspn(buf, "\n")] = '\0';
		return vecs_err_set(err, -EIO, "%s", buf + 4);
	}
	return vecs_err_set(err, r ? r : -EPROTO, "the keeper gave no answer%s%s",
			    r == -EAGAIN ? " within 600 s" : "", r && r != -EAGAIN ? strerror(-r) : "");
}
