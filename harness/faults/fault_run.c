/* Paths here are the stack or work directory (checked shorter than PATH_MAX - 256 when
 * the target opened) plus short suffixes; GCC cannot see that bound through snprintf. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include "faults/fault_run.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "faults/corrupt.h"
#include "faults/iofault.h"
#include "targets/api_client.h"
#include "targets/stack.h"
#include "util/file.h"

#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
#define MAX_RULES 8

struct vecs_fault_runner {
	struct vecs_reference *t;
	char stack_dir[PATH_MAX];
	char bin[PATH_MAX];
	char lib[PATH_MAX];
	char work[PATH_MAX];
	char rules[PATH_MAX + 32];
	char run_seed[VECS_SEED_HEX + 1];
	json_t *stack;
	int hosts;
	bool preloaded_gw; /* the ScaleIO gateway restarted with the I/O shim */
	FILE *progress;
};

/* One fault cell while it runs (the runner hooks' context). */
struct fcell {
	struct vecs_fault_runner *fr;
	const struct vecs_fault *f;
	unsigned point;
	const struct vecs_cell *cell;
	enum vecs_fault_expect expect;
	bool armed, corrupted, qcow2, undetectable;
	char rules_text[2048];
	char vol_path[PATH_MAX];
	char filler[PATH_MAX + 32]; /* VECS_FK_FULL_DISK: the file that fills the pool */
	pthread_t during;           /* VECS_FK_SVC_DURING: acts while the step runs */
	bool during_started;
	volatile bool during_done; /* the thread acted (set before the step ended?) */
	unsigned during_ms;
	struct vecs_corrupt_undo undo;
	long log_start; /* size of the shim's log when armed */
	char *checks;   /* extra verdict of the fault itself (NULL = held) */
	FILE *ev;       /* the evidence text */
	char *ev_buf;
	size_t ev_len;
	char outcome[768];
};

#define strf vecs_strf

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- cells ------------------------------------------------------------------------- */

static int load_bases(const char *dir, struct vecs_fault_cells *out, struct vecs_err *err)
{
	char pat[PATH_MAX + 32];
	glob_t g;
	int r = 0;

	snprintf(pat, sizeof(pat), "%s/faults/*.yaml", dir);
	if (glob(pat, 0, NULL, &g) != 0)
		return vecs_err_set(err, -ENOENT, "no fault scenarios in %s/faults", dir);
	out->bases = calloc(g.gl_pathc, sizeof(*out->bases));
	if (!out->bases)
		r = vecs_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < g.gl_pathc; i++) {
		r = vecs_scenario_load_file(g.gl_pathv[i], &out->bases[i], err);
		if (r == 0)
			out->n_bases++;
	}
	globfree(&g);
	return r;
}

static const struct vecs_scenario *find_base(const struct vecs_fault_cells *fc, const char *id)
{
	for (size_t i = 0; i < fc->n_bases; i++)
		if (!strcmp(fc->bases[i].id, id))
			return &fc->bases[i];
	return NULL;
}

static bool step_exists(const struct vecs_scenario *sc, const char *id)
{
	for (size_t i = 0; i < sc->n_steps; i++)
		if (!strcmp(sc->steps[i].id, id))
			return true;
	return false;
}

static int add_cell(struct vecs_fault_cells *fc, const struct vecs_fault *f, unsigned point,
		    const struct vecs_scenario *base, int storage,
		    const struct vecs_run_profile *prof, const struct vecs_expand_opts *o)
{
	struct vecs_cell c = { 0 };
	char name[96];

	if (point)
		snprintf(name, sizeof(name), "%s@%u", f->id, point);
	else
		snprintf(name, sizeof(name), "%s", f->id);
	snprintf(c.id, sizeof(c.id), "%s/%s/%s", name, vecs_storage_types[storage], prof->id);
	fc->n_expanded++;
	if (o->storage_set && !o->storage[storage])
		return 0;
	if (o->only && !vecs_cell_matches(o->only, c.id))
		return 0;
	if (o->shard_count && vecs_cell_shard(c.id, o->shard_count) != o->shard_index - 1)
		return 0;
	for (size_t k = 0, j = 0; c.id[k] && j < sizeof(c.slug) - 1; k++)
		c.slug[j++] = (c.id[k] >= 'a' && c.id[k] <= 'z') || (c.id[k] >= '0' && c.id[k] <= '9')
				      ? c.id[k]
				      : '-';
	c.scenario = base;
	c.storage = vecs_storage_types[storage];
	c.profile = prof;
	vecs_cell_seed(o->run_seed, c.id, c.seed);
	{
		struct vecs_cell *nc = realloc(fc->cells, (fc->n + 1) * sizeof(*nc));
		const struct vecs_fault **nf = realloc(fc->faults, (fc->n + 1) * sizeof(*nf));
		unsigned *np = realloc(fc->points, (fc->n + 1) * sizeof(*np));
		char(*nn)[96] = realloc(fc->names, (fc->n + 1) * sizeof(*nn));
		if (nc)
			fc->cells = nc;
		if (nf)
			fc->faults = nf;
		if (np)
			fc->points = np;
		if (nn)
			fc->names = nn;
		if (!nc || !nf || !np || !nn)
			return -ENOMEM;
	}
	snprintf(fc->names[fc->n], sizeof(fc->names[0]), "%s", name);
	fc->cells[fc->n] = c;
	fc->faults[fc->n] = f;
	fc->points[fc->n] = point;
	fc->n++;
	return 0;
}

int vecs_fault_cells_build(const char *scenarios_dir, const struct vecs_scenario_set *set,
			   const struct vecs_expand_opts *o, struct vecs_fault_cells *out,
			   struct vecs_err *err)
{
	const struct vecs_run_profile *prof;
	int r;

	memset(out, 0, sizeof(*out));
	prof = o->n_profiles ? vecs_scenario_set_profile(set, o->profiles[0])
			     : vecs_scenario_set_default_profile(set);
	if (!prof)
		return vecs_err_set(err, -ENOENT, "no run profile to run the faults with");
	r = load_bases(scenarios_dir, out, err);
	for (size_t i = 0; r == 0 && i < vecs_faults_len; i++) {
		const struct vecs_fault *f = &vecs_faults[i];
		const struct vecs_scenario *base = find_base(out, f->base);
		if (!base || !step_exists(base, f->at)) {
			r = vecs_err_set(err, -ENOENT, "fault %s: no step %s in fault scenario %s", f->id,
					 f->at, f->base);
			break;
		}
		for (int s = 0; r == 0 && s < VECS_STORAGE_COUNT; s++) {
			if (!(f->storage & (1u << s)))
				continue;
			if (f->kind == VECS_FK_SWEEP)
				for (unsigned p = 1; r == 0 && p <= vecs_fault_sweep_points(f, s); p++)
					r = add_cell(out, f, p, base, s, prof, o);
			else
				r = add_cell(out, f, 0, base, s, prof, o);
		}
	}
	if (r == -ENOMEM)
		vecs_err_set(err, r, "out of memory");
	if (r < 0)
		vecs_fault_cells_free(out);
	return r;
}

void vecs_fault_cells_free(struct vecs_fault_cells *fc)
{
	for (size_t i = 0; i < fc->n_bases; i++)
		vecs_scenario_free(&fc->bases[i]);
	free(fc->bases);
	free(fc->cells);
	free(fc->faults);
	free(fc->points);
	free(fc->names);
	memset(fc, 0, sizeof(*fc));
}

/* ---- the stack: services, preloads -------------------------------------------------- */

static void evf(struct fcell *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void evf(struct fcell *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->ev)
		return;
	va_start(ap, fmt);
	vfprintf(c->ev, fmt, ap);
	va_end(ap);
	fputc('\n', c->ev);
}

/* One control verb on one service of the stack (harness/targets/stack.h). */
static int ctl(struct fcell *c, const char *verb, const char *service, const char *const *env,
	       struct vecs_err *err)
{
	char reply[4096] = "";
	int r = vecs_stack_ctl(c->fr->stack_dir, verb, service, env, reply, sizeof(reply), err);

	evf(c, "stack ctl %s %s%s%s: %s", verb, service, env && env[0] ? " " : "",
	    env && env[0] ? env[0] : "", r < 0 ? err->msg : "ok");
	return r;
}

/* The services a catalog name stands for: "agents", "libvirtd" (every host), "h1"... */
static int expand_services(const struct vecs_fault_runner *fr, const char *group,
			   char out[][32], int cap)
{
	int n = 0;

	if (!strcmp(group, "agents") || !strcmp(group, "all")) {
		for (int h = 1; h <= fr->hosts && n < cap; h++)
			snprintf(out[n++], 32, "agent-h%d", h);
	} else if (!strcmp(group, "libvirtd")) {
		for (int h = 1; h <= fr->hosts && n < cap; h++)
			snprintf(out[n++], 32, "libvirtd-h%d", h);
	} else if (group[0] == 'h' && group[1] >= '1' && group[1] <= '9') {
		snprintf(out[n++], 32, "agent-%s", group);
	} else {
		snprintf(out[n++], 32, "%s", group);
	}
	return n;
}

static int ctl_group(struct fcell *c, const char *verb, const char *group,
		     const char *const *env, struct vecs_err *err)
{
	char svc[16][32];
	int n = expand_services(c->fr, group, svc, 16), r = 0;

	for (int i = 0; i < n && r == 0; i++)
		r = ctl(c, verb, svc[i], env, err);
	return r;
}

/* Start every service of the stack that is not running (one a fault killed). */
static void revive(struct fcell *c)
{
	char reply[8192] = "", *save = NULL, *line;
	struct vecs_err err = { 0 };

	if (vecs_stack_ctl(c->fr->stack_dir, "status", NULL, NULL, reply, sizeof(reply), &err) < 0) {
		evf(c, "stack ctl status: %s", err.msg);
		return;
	}
	/* one service per line: "NAME PID STATE"; dead = should run and does not */
	for (line = strtok_r(reply, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], state[32];
		if (sscanf(line, "%63s %*s %31s", name, state) != 2 || strcmp(state, "dead"))
			continue;
		evf(c, "recovery: %s was %s", name, state);
		snprintf(c->outcome + strlen(c->outcome), sizeof(c->outcome) - strlen(c->outcome),
			 "; %s %s, started again", name, state);
		ctl(c, "start", name, NULL, &err);
	}
}

static void shim_env(const struct vecs_fault_runner *fr, char *preload, size_t plen,
		     char *rules, size_t rlen)
{
	snprintf(preload, plen, "LD_PRELOAD=%s/libvecs-iofault.so", fr->lib);
	snprintf(rules, rlen, "VECS_IOFAULT_RULES=%s", fr->rules);
}

/* Services the stack does not start with the I/O shim: restart them with it once. */
static int ensure_preloaded(struct fcell *c, const char *service, bool *done,
			    struct vecs_err *err)
{
	char preload[PATH_MAX + 32], rules[PATH_MAX + 64];
	const char *env[3] = { preload, rules, NULL };
	int r;

	if (*done)
		return 0;
	shim_env(c->fr, preload, sizeof(preload), rules, sizeof(rules));
	r = ctl(c, "restart", service, env, err);
	if (r == 0)
		*done = true;
	return r;
}

/* ---- placeholders --------------------------------------------------------------------- */

/* A glob over the paths through which the cell's storage type's bytes are written:
 * pool directories for local and smp; for ScaleIO the loop devices the gateway backs
 * its volumes with (libcryptsetup and qemu-img open the SDC link's target, and only this
 * stack's agents carry its rules file); for NFS the server's address: qemu-img and QEMU
 * reach NFS through libnfs, and nfs-ganesha cannot be reached by a preload (it loads
 * its VFS layer with RTLD_DEEPBIND), so an NFS fault is an error on the wire, as a
 * client sees a failing server. */
static void pool_glob(const struct fcell *c, char *out, size_t len)
{
	const char *s = c->cell->storage;
	json_t *p;
	size_t i;

	if (!strcmp(s, "local")) {
		snprintf(out, len, "%s/pools/local-h*/*", c->fr->stack_dir);
	} else if (!strcmp(s, "smp")) {
		snprintf(out, len, "%s/pools/smp*/*", c->fr->stack_dir);
	} else if (!strcmp(s, "scaleio")) {
		snprintf(out, len, "/dev/loop*");
	} else {
		snprintf(out, len, "no-nfs-server:*");
		json_array_foreach(json_object_get(c->fr->stack, "pools"), i, p) {
			const char *url = jstr(json_object_get(p, "probe"), "nfs_url");
			if (url && !strncmp(url, "nfs://", 6))
				snprintf(out, len, "%.*s:2049", (int)strcspn(url + 6, "/:"), url + 6);
		}
	}
}

/* 2..6 from the cell's seed: a mid-operation point that still reproduces. */
static unsigned seed_point(const struct fcell *c)
{
	return 2 + (unsigned)(strtoull(c->cell->seed, NULL, 16) % 5);
}

static int substitute(const struct fcell *c, const char *in, char *out, size_t len)
{
	char glob_s[PATH_MAX + 32], sec[PATH_MAX + 32], num[16];
	size_t o = 0;

	pool_glob(c, glob_s, sizeof(glob_s));
	snprintf(sec, sizeof(sec), "%s/secondary/*", c->fr->stack_dir);
	while (*in && o + 1 < len) {
		const char *rep = NULL;
		size_t skip = 0;
		if (!strncmp(in, "@POOL@", 6)) {
			rep = glob_s;
			skip = 6;
		} else if (!strncmp(in, "@SECONDARY@", 11)) {
			rep = sec;
			skip = 11;
		} else if (!strncmp(in, "@W@", 3) || !strncmp(in, "@R@", 3)) {
			bool nfs = !strcmp(c->cell->storage, "nfs");
			snprintf(num, sizeof(num), "%s", nfs ? "send" : in[1] == 'W' ? "write" : "read");
			rep = num;
			skip = 3;
		} else if (!strncmp(in, "@N@", 3)) {
			snprintf(num, sizeof(num), "%u", c->point);
			rep = num;
			skip = 3;
		} else if (!strncmp(in, "@S@", 3)) {
			snprintf(num, sizeof(num), "%u", seed_point(c));
			rep = num;
			skip = 3;
		}
		if (rep) {
			o += (size_t)snprintf(out + o, len - o, "%s", rep);
			in += skip;
		} else {
			out[o++] = *in++;
		}
	}
	if (o >= len)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

/* ---- arming ------------------------------------------------------------------------- */

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

static int gw_post(struct fcell *c, const char *path, const char *body, struct vecs_err *err);

static int arm_iorule(struct fcell *c, struct vecs_err *err)
{
	struct vecs_iofault_rule rules[MAX_RULES];
	char logp[PATH_MAX + 48];
	size_t n = 0;
	int r;

	r = substitute(c, c->f->arg, c->rules_text, sizeof(c->rules_text));
	if (r < 0)
		return vecs_err_set(err, r, "fault %s: rule text too long", c->f->id);
	if (strstr(c->f->arg, "vecs-scaleio-gw")) {
		bool was = c->fr->preloaded_gw;
		r = ensure_preloaded(c, "scaleio", &c->fr->preloaded_gw, err);
		if (r < 0)
			return r;
		/* a first request makes the new gateway's shim map its rules file now, not in
		 * the middle of the step (one run missed the step's writes otherwise) */
		if (!was && gw_post(c, "/vecs/faults", "{}", err) < 0)
			return err->code;
	}
	r = vecs_iofault_parse(c->rules_text, rules, MAX_RULES, &n, err);
	if (r < 0)
		return r;
	vecs_iofault_log_path(c->fr->rules, logp, sizeof(logp));
	c->log_start = file_size(logp);
	evf(c, "rules: %s", c->rules_text);
	return vecs_iofault_arm(c->fr->rules, rules, n, err);
}

static int arm_corrupt(struct fcell *c, void *run, struct vecs_err *err)
{
	const struct vecs_corrupt_target *ct = vecs_corrupt_find(c->f->arg);
	char *vol = NULL;
	int r;

	if (!ct)
		return vecs_err_set(err, -ENOENT, "no corruption target %s", c->f->arg);
	r = vecs_runner_expand(run, "${data.id}", &vol, err);
	if (r == 0)
		r = vecs_reference_volume_bytes(c->fr->t, vol, c->vol_path, sizeof(c->vol_path),
						&c->qcow2, err);
	free(vol);
	if (r < 0)
		return r;
	switch (vecs_corrupt_expect_on(ct, c->qcow2)) {
	case VECS_CORRUPT_REFUSED:
		c->expect = VECS_FE_FAILS;
		break;
	case VECS_CORRUPT_HARMLESS:
		c->expect = VECS_FE_SUCCEEDS;
		break;
	case VECS_CORRUPT_UNDETECTABLE:
		c->expect = VECS_FE_EITHER;
		c->undetectable = true;
		break;
	case VECS_CORRUPT_NOT_APPLICABLE:
		return vecs_err_set(err, -EINVAL, "%s does not exist in %s volumes", c->f->arg,
				    c->qcow2 ? "qcow2" : "raw LUKS1");
	}
	r = vecs_corrupt_apply(c->vol_path, c->f->arg, strtoull(c->cell->seed, NULL, 16), &c->undo,
			       err);
	if (r == 0) {
		c->corrupted = true;
		evf(c, "corrupted %s in %s: %zu bytes at offset %llu (expected: %s)", c->f->arg,
		    c->vol_path, c->undo.len, (unsigned long long)c->undo.offset,
		    vecs_corrupt_expect_name(vecs_corrupt_expect_on(ct, c->qcow2)));
	}
	return r;
}

/* A signed request (signatureversion 3) that expires 10 minutes from now in real time:
 * a management server whose clock is 2 h ahead must refuse it with 401. */
static char *expiry_check(struct fcell *c)
{
	struct vecs_api *api = NULL;
	struct vecs_api_reply rep = { 0 };
	struct vecs_err err = { 0 };
	char expires[32];
	time_t when = time(NULL) + 600;
	struct tm tm;
	const char *p[] = { "signatureversion", "3", "expires", expires, NULL };
	char *why = NULL;

	gmtime_r(&when, &tm);
	strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%S+0000", &tm);
	if (vecs_api_new(&api, jstr(c->fr->stack, "api_url"), jstr(c->fr->stack, "api_key"),
			 jstr(c->fr->stack, "secret_key"), &err) < 0)
		return strf("API client: %s", err.msg);
	if (vecs_api_call(api, "listZones", p, &rep, &err) < 0)
		why = strf("listZones with expires=%s did not answer: %s", expires, err.msg);
	else if (rep.errorcode != 401)
		why = strf("a request that expired 1 h 50 min ago (server clock) was answered with %d, "
			   "not refused with 401",
			   rep.errorcode);
	else
		evf(c, "expired request (expires=%s, server 2 h ahead): refused with 401", expires);
	vecs_api_reply_clear(&rep);
	vecs_api_free(api);
	return why;
}

/* Delete the passphrase row of the cell's live DATA volume, as a careless operator
 * would: the foreign key fk_volumes__passphrase_id must refuse it. */
static char *db_delete_check(struct fcell *c, void *run)
{
	json_t *db = json_object_get(c->fr->stack, "db");
	const char *path = jstr(db, "path");
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	char *vol = NULL, *why = NULL;
	struct vecs_err err = { 0 };
	int rc;

	if (strcmp(jstr(db, "kind") ?: "", "sqlite") || !path)
		return strf("this check needs the embedded SQLite database");
	if (vecs_runner_expand(run, "${data.id}", &vol, &err) < 0)
		return strf("%s", err.msg);
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		why = strf("cannot open %s: %s", path, sqlite3_errmsg(h));
		goto out;
	}
	sqlite3_busy_timeout(h, 10000);
	sqlite3_extended_result_codes(h, 1);
	sqlite3_exec(h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	if (sqlite3_prepare_v2(h,
			       "DELETE FROM passphrase WHERE id = (SELECT passphrase_id FROM volumes "
			       "WHERE uuid = ?)",
			       -1, &st, NULL) != SQLITE_OK) {
		why = strf("preparing the DELETE: %s", sqlite3_errmsg(h));
		goto out;
	}
	sqlite3_bind_text(st, 1, vol, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE && sqlite3_changes(h) > 0)
		why = strf("the passphrase row of live volume %s was deleted: no foreign key stopped it",
			   vol);
	else if (rc == SQLITE_DONE)
		why = strf("volume %s has no passphrase row to delete", vol);
	else if (rc != SQLITE_CONSTRAINT_FOREIGNKEY)
		why = strf("the DELETE failed with %s, not with the foreign key constraint",
			   sqlite3_errmsg(h));
	else
		evf(c, "DELETE of volume %s's passphrase row: refused (%s)", vol, sqlite3_errmsg(h));
out:
	sqlite3_finalize(st);
	sqlite3_close(h);
	free(vol);
	return why;
}

/* Restart mgmt with a wrong database key: it must refuse to serve and say why. */
static char *wrong_key_check(struct fcell *c)
{
	char props[PATH_MAX + 48], wrong[128], logs[PATH_MAX + 48];
	unsigned char *orig = NULL;
	size_t orig_len = 0;
	struct vecs_err err = { 0 };
	char *why = NULL;
	unsigned char rnd[16];
	FILE *f;
	int r;

	snprintf(props, sizeof(props), "%s/secrets/db.properties", c->fr->stack_dir);
	if (!(f = fopen(props, "re")))
		return strf("cannot read %s", props);
	orig = malloc(4096);
	if (orig)
		orig_len = fread(orig, 1, 4096, f);
	fclose(f);
	if (!orig || !orig_len) {
		free(orig);
		return strf("%s is empty", props);
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (unsigned char)(rand() & 0xff);
	snprintf(wrong, sizeof(wrong),
		 "db.cloud.encrypt.secret=%02x%02x%02x%02x%02x%02x%02x%02xwrongkey\n"
		 "db.cloud.encryptor.version=V2\n",
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if (vecs_write_file_atomic(props, wrong, strlen(wrong), 0600, &err) < 0) {
		why = strf("%s", err.msg);
		goto out;
	}
	snprintf(logs, sizeof(logs), "%s/logs/mgmt.stderr", c->fr->stack_dir);
	{
		long before = file_size(logs);
		r = ctl(c, "restart", "mgmt", NULL, &err);
		if (r == 0) {
			why = strf("vecs-mgmt started and served with a wrong database key");
		} else {
			/* what it said about it */
			char tail[2048] = "";
			FILE *lf = fopen(logs, "re");
			size_t n = 0;
			if (lf) {
				fseek(lf, before, SEEK_SET);
				n = fread(tail, 1, sizeof(tail) - 1, lf);
				fclose(lf);
			}
			tail[n] = '\0';
			if (!strstr(tail, "key"))
				why = strf("vecs-mgmt did not start with a wrong key, but did not say the "
					   "key is wrong (its stderr: %.300s)",
					   tail);
			else
				evf(c, "vecs-mgmt with a wrong key refused to start: %.400s", tail);
		}
	}
out:
	if (vecs_write_file_atomic(props, orig, orig_len, 0600, &err) < 0 && !why)
		why = strf("restoring %s: %s", props, err.msg);
	explicit_bzero(orig, orig_len);
	free(orig);
	explicit_bzero(wrong, sizeof(wrong));
	if (ctl(c, "restart", "mgmt", NULL, &err) < 0 && !why)
		why = strf("vecs-mgmt did not come back with the right key: %s", err.msg);
	return why;
}

/* The stack.json pool named name, or NULL. */
static json_t *stack_pool(struct fcell *c, const char *name)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(c->fr->stack, "pools"), i, p)
		if (!strcmp(jstr(p, "name") ?: "", name))
			return p;
	return NULL;
}

/* Fill the small filesystem of the cell's pool up to its last 256 KiB (less than one
 * LUKS header), with one preallocated file the storage checks do not count. */
static int fill_disk(struct fcell *c, struct vecs_err *err)
{
	const char *dir = jstr(json_object_get(stack_pool(c, c->f->arg), "probe"), "path");
	struct statvfs sv;
	long long avail;
	int fd, r;

	if (!dir || statvfs(dir, &sv) < 0)
		return vecs_err_set(err, -ENOENT, "pool %s has no directory to fill", c->f->arg);
	avail = (long long)sv.f_bavail * (long long)sv.f_frsize - 256 * 1024;
	snprintf(c->filler, sizeof(c->filler), "%s/.vecs-fault-filler", dir);
	fd = open(c->filler, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return vecs_err_set(err, -errno, "cannot create %s: %s", c->filler, strerror(errno));
	r = avail > 0 ? posix_fallocate(fd, 0, avail) : 0;
	close(fd);
	if (r) {
		unlink(c->filler);
		c->filler[0] = '\0';
		return vecs_err_set(err, -r, "cannot fill %s: %s", dir, strerror(r));
	}
	if (statvfs(dir, &sv) == 0)
		evf(c, "filled %s: %lld bytes in %s, %llu bytes left", dir, avail, c->filler,
		    (unsigned long long)sv.f_bavail * sv.f_frsize);
	return 0;
}

/* VECS_FK_SVC_DURING: after during_ms, restart or kill the service while the step's
 * API call is in flight. */
static void *during_thread(void *arg)
{
	struct fcell *c = arg;
	struct vecs_err err = { 0 };
	struct timespec ts = { .tv_sec = c->during_ms / 1000,
			       .tv_nsec = (long)(c->during_ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	evf(c, "%u ms into the step: %s %s", c->during_ms, c->f->env, c->f->arg);
	__atomic_store_n(&c->during_done, true, __ATOMIC_SEQ_CST);
	ctl_group(c, c->f->env, c->f->arg, NULL, &err);
	return NULL;
}

/* One request to the ScaleIO gateway as its admin (the stack's password file):
 * GET /api/login for a token, then POST path with body (token auth). */
static size_t sink(char *p, size_t sz, size_t n, void *ctx)
{
	FILE *f = ctx;

	return fwrite(p, sz, n, f);
}

static int gw_post(struct fcell *c, const char *path, const char *body, struct vecs_err *err)
{
	const char *url = NULL;
	char pass[256] = "", token[256] = "", full[512], file[PATH_MAX + 48], *resp = NULL;
	size_t resp_len = 0;
	json_t *p;
	size_t i;
	long code = 0;
	CURL *h;
	FILE *f;
	int r = 0;

	json_array_foreach(json_object_get(c->fr->stack, "pools"), i, p)
		if (!url)
			url = jstr(json_object_get(p, "probe"), "gateway_url");
	snprintf(file, sizeof(file), "%s/secrets/scaleio.pass", c->fr->stack_dir);
	if (!url || !(f = fopen(file, "re")))
		return vecs_err_set(err, -ENOENT, "no ScaleIO gateway (or its password file) here");
	if (!fgets(pass, sizeof(pass), f))
		pass[0] = '\0';
	fclose(f);
	pass[strcspn(pass, "\r\n")] = '\0';
	if (!(h = curl_easy_init())) {
		explicit_bzero(pass, sizeof(pass));
		return vecs_err_set(err, -ENOMEM, "curl_easy_init failed");
	}
	/* loopback only: the gateway the stack started */
	f = open_memstream(&resp, &resp_len);
	snprintf(full, sizeof(full), "%s/login", url);
	curl_easy_setopt(h, CURLOPT_URL, full);
	curl_easy_setopt(h, CURLOPT_USERNAME, "admin");
	curl_easy_setopt(h, CURLOPT_PASSWORD, pass);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(h) != CURLE_OK)
		r = vecs_err_set(err, -EIO, "gateway login failed");
	fclose(f);
	explicit_bzero(pass, sizeof(pass));
	if (r == 0) {
		json_t *t = resp ? json_loads(resp, JSON_DECODE_ANY, NULL) : NULL;
		snprintf(token, sizeof(token), "%s", json_string_value(t) ?: "");
		json_decref(t);
		if (!token[0])
			r = vecs_err_set(err, -EACCES, "gateway login gave no token");
	}
	if (resp)
		explicit_bzero(resp, resp_len);
	free(resp);
	resp = NULL;
	if (r == 0) {
		struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
		f = open_memstream(&resp, &resp_len);
		snprintf(full, sizeof(full), "%s%s", url, path);
		curl_easy_setopt(h, CURLOPT_URL, full);
		curl_easy_setopt(h, CURLOPT_PASSWORD, token);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
		if (curl_easy_perform(h) != CURLE_OK)
			r = vecs_err_set(err, -EIO, "POST %s failed", path);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		fclose(f);
		curl_slist_free_all(hd);
		if (r == 0 && code != 200)
			r = vecs_err_set(err, -EIO, "POST %s: HTTP %ld: %.200s", path, code, resp ?: "");
		free(resp);
	}
	explicit_bzero(token, sizeof(token));
	curl_easy_cleanup(h);
	return r;
}

/* The gateway's fault hook; "unmap": the cell's DATA volume loses its SDC mapping. */
static int arm_gateway(struct fcell *c, void *run, struct vecs_err *err)
{
	char body[256];

	if (!strcmp(c->f->arg, "unmap")) {
		struct vecs_api_param p[2];
		struct vecs_api_result res;
		char *vol = NULL, *path = NULL;
		int r = vecs_runner_expand(run, "${data.id}", &vol, err);
		p[0] = (struct vecs_api_param){ "id", vol };
		p[1] = (struct vecs_api_param){ "listall", "true" };
		if (r == 0)
			r = vecs_reference_ops.api_call(c->fr->t, "listVolumes", p, 2, false, 60, &res,
							err);
		if (r == 0) {
			vecs_json_path_string(res.json, "volume[0].path", &path);
			vecs_reference_ops.free_result(&res);
		}
		if (r == 0 && !path)
			r = vecs_err_set(err, -ENOENT, "volume %s has no ScaleIO id", vol);
		if (r == 0)
			snprintf(body, sizeof(body), "{\"unmapVolumeId\": \"%s\"}", path);
		free(vol);
		free(path);
		if (r < 0)
			return r;
	} else {
		snprintf(body, sizeof(body), "%s", c->f->arg);
	}
	evf(c, "gateway fault hook: %s", body);
	return gw_post(c, "/vecs/faults", body, err);
}

static int arm(struct fcell *c, void *run, struct vecs_err *err)
{
	const struct vecs_fault *f = c->f;
	char ft[64], crash[96];

	c->expect = f->expect;
	switch (f->kind) {
	case VECS_FK_IORULE:
	case VECS_FK_SWEEP:
		return arm_iorule(c, err);
	case VECS_FK_SVC_STOP:
		return ctl_group(c, "stop", f->arg, NULL, err);
	case VECS_FK_SVC_RESTART:
		return ctl_group(c, "restart", f->arg, NULL, err);
	case VECS_FK_CRASHPOINT: {
		const char *env[] = { crash, NULL };
		snprintf(crash, sizeof(crash), "VECS_MGMT_CRASHPOINT=%s", f->arg);
		return ctl(c, "restart", "mgmt", env, err);
	}
	case VECS_FK_CLOCK: {
		/* the stack joins LD_PRELOAD with its own (the agents' I/O shim) */
		const char *env[] = { "LD_PRELOAD=" FAKETIME_LIB, ft, "FAKETIME_DONT_RESET=1", NULL };
		snprintf(ft, sizeof(ft), "FAKETIME=%s", f->env);
		if (ctl_group(c, "restart", f->arg, env, err) < 0)
			return err->code;
		if (!strcmp(f->env, "+2h"))
			c->checks = expiry_check(c);
		return 0;
	}
	case VECS_FK_CORRUPT:
		return arm_corrupt(c, run, err);
	case VECS_FK_NO_LUKS: {
		char wrap[PATH_MAX + 32], envv[PATH_MAX + 48];
		const char *env[] = { envv, NULL };
		snprintf(wrap, sizeof(wrap), "%s/no-luks-qemu-img", c->fr->work);
		snprintf(envv, sizeof(envv), "VECS_QEMU_IMG=%s", wrap);
		{
			/* a qemu-img whose help lists no LUKS and which cannot make it */
			const char *script =
				"#!/bin/sh\n"
				"# vecs fault cap-*-no-luks: qemu-img without LUKS support\n"
				"for a in \"$@\"; do case \"$a\" in *luks*|*encrypt*) "
				"echo \"qemu-img: Unknown encryption format 'luks'\" >&2; exit 1;; esac; done\n"
				"/usr/bin/qemu-img \"$@\" | sed '/luks/d'\n"
				"exit \"${PIPESTATUS:-0}\"\n";
			if (vecs_write_file_atomic(wrap, script, strlen(script), 0755, err) < 0)
				return err->code;
		}
		return ctl_group(c, "restart", f->arg, env, err);
	}
	case VECS_FK_DB_DELETE:
		c->checks = db_delete_check(c, run);
		return 0;
	case VECS_FK_WRONG_KEY:
		c->checks = wrong_key_check(c);
		return 0;
	case VECS_FK_FULL_DISK:
		return fill_disk(c, err);
	case VECS_FK_GATEWAY:
		return arm_gateway(c, run, err);
	case VECS_FK_SVC_DURING:
		/* the step's writes to the pool are slowed (5 x 300 ms) so that the service
		 * event, 50-400 ms in, lands while the operation is still under way */
		if (strcmp(f->base, "migrate-vm")) {
			struct vecs_iofault_rule rules[1];
			size_t n = 0;
			if (substitute(c, "path=@POOL@ op=@W@ nth=1 count=5 action=delay:300",
				       c->rules_text, sizeof(c->rules_text)) < 0 ||
			    vecs_iofault_parse(c->rules_text, rules, 1, &n, err) < 0 ||
			    vecs_iofault_arm(c->fr->rules, rules, n, err) < 0)
				return err->code ? err->code : -EINVAL;
			evf(c, "slowed: %s", c->rules_text);
		}
		c->during_ms = 50 + (unsigned)(strtoull(c->cell->seed, NULL, 16) % 351);
		if (pthread_create(&c->during, NULL, during_thread, c) != 0)
			return vecs_err_set(err, -EAGAIN, "cannot start the fault's thread");
		c->during_started = true;
		return 0;
	}
	return vecs_err_set(err, -EINVAL, "fault %s: unknown kind", f->id);
}

/* ---- after the step: fired?, disarm, recover, judge ------------------------------------ */

static uint64_t io_hits(struct fcell *c)
{
	uint64_t hits[VECS_IOFAULT_MAX_RULES], sum = 0;
	size_t n = 0;
	struct vecs_err err = { 0 };
	char logp[PATH_MAX + 48], line[512];
	FILE *f;
	int lines = 0;

	if (vecs_iofault_hits(c->fr->rules, hits, VECS_IOFAULT_MAX_RULES, &n, &err) < 0) {
		evf(c, "hits: %s", err.msg);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		sum += hits[i];
	vecs_iofault_log_path(c->fr->rules, logp, sizeof(logp));
	if ((f = fopen(logp, "re"))) {
		fseek(f, c->log_start, SEEK_SET);
		while (fgets(line, sizeof(line), f) && lines < 40) {
			evf(c, "shim: %s", strtok(line, "\n") ?: "");
			lines++;
		}
		fclose(f);
	}
	evf(c, "fired: %llu time(s)", (unsigned long long)sum);
	return sum;
}

static void disarm(struct fcell *c, struct vecs_err *err)
{
	const struct vecs_fault *f = c->f;

	switch (f->kind) {
	case VECS_FK_IORULE:
	case VECS_FK_SWEEP:
		vecs_iofault_disarm(c->fr->rules, err);
		break;
	case VECS_FK_SVC_STOP:
		ctl_group(c, "start", f->arg, NULL, err);
		break;
	case VECS_FK_CRASHPOINT:
		/* it died at the point (or did not reach it): plain again */
		ctl(c, "restart", "mgmt", NULL, err);
		break;
	case VECS_FK_CLOCK:
	case VECS_FK_NO_LUKS:
		ctl_group(c, "restart", f->arg, NULL, err);
		break;
	case VECS_FK_GATEWAY:
		/* whatever of the hook the step did not use up */
		if (strcmp(f->arg, "unmap"))
			gw_post(c, "/vecs/faults", "{\"failNext\": 0, \"delayNext\": 0}", err);
		break;
	case VECS_FK_SVC_DURING:
		vecs_iofault_disarm(c->fr->rules, err);
		if (c->during_started)
			pthread_join(c->during, NULL);
		c->during_started = false;
		if (!strcmp(f->env, "kill"))
			ctl_group(c, "start", f->arg, NULL, err);
		break;
	case VECS_FK_FULL_DISK:
		if (c->filler[0] && unlink(c->filler) == 0)
			evf(c, "removed %s: the pool has room again", c->filler);
		c->filler[0] = '\0';
		break;
	case VECS_FK_CORRUPT:
		if (c->corrupted && vecs_corrupt_restore(c->vol_path, &c->undo, err) == 0) {
			evf(c, "restored %zu bytes at offset %llu of %s", c->undo.len,
			    (unsigned long long)c->undo.offset, c->vol_path);
			c->corrupted = false;
		} else if (c->corrupted) {
			evf(c, "restore failed: %s", err->msg);
		}
		break;
	default:
		break;
	}
}

/* After a failed live migration the VM may be gone under the API's feet: stop it
 * (forced) and start it again, through the API like an operator would. */
static void restart_vm(struct fcell *c, void *run)
{
	struct vecs_api_param p[2];
	struct vecs_api_result res;
	struct vecs_err err = { 0 };
	char *vm = NULL;

	if (vecs_runner_expand(run, "${vm.id}", &vm, &err) < 0)
		return;
	p[0] = (struct vecs_api_param){ "id", vm };
	p[1] = (struct vecs_api_param){ "forced", "true" };
	if (vecs_reference_ops.api_call(c->fr->t, "stopVirtualMachine", p, 2, true, 300, &res,
					&err) == 0) {
		evf(c, "recovery: stopVirtualMachine forced: %s", res.ok ? "ok" : res.errortext);
		vecs_reference_ops.free_result(&res);
	}
	if (vecs_reference_ops.api_call(c->fr->t, "startVirtualMachine", p, 1, true, 300, &res,
					&err) == 0) {
		evf(c, "recovery: startVirtualMachine: %s", res.ok ? "ok" : res.errortext);
		vecs_reference_ops.free_result(&res);
	}
	free(vm);
}

/* A corruption LUKS1 cannot notice (no integrity): what does the guest-visible path
 * read now? The canary read back while the bytes are still flipped says whether the
 * stack served altered data; the evidence and the outcome say so, as a limit of the
 * format (a LUKS2 integrity profile or dm-integrity would be needed to refuse it). */
static void served_check(struct fcell *c, void *run)
{
	struct vecs_step st = { .id = "fault-read", .kind = VECS_STEP_CHECKPOINT,
				.checkpoint = VECS_CP_VERIFY_CANARY, .label = "data", .present = true };
	struct vecs_evidence ev = { 0 };
	struct vecs_err err = { 0 };
	char *vol = NULL, *vm = NULL, *reason = NULL;
	bool passed = false;

	if (vecs_runner_expand(run, "${data.id}", &vol, &err) == 0 &&
	    vecs_runner_expand(run, "${vm.id}", &vm, &err) == 0 &&
	    vecs_reference_ops.checkpoint(c->fr->t, &st, vol, vm, c->cell->seed, &passed, &reason,
					  &ev, &err) == 0) {
		evf(c, "read through the guest path while corrupted: %s",
		    passed ? "the canary reads back intact (the flip lies outside it)" : reason);
		snprintf(c->outcome + strlen(c->outcome), sizeof(c->outcome) - strlen(c->outcome),
			 passed ? "; LUKS1 cannot detect this change, and the canary still read back"
				: "; served altered data: LUKS1 has no integrity, so this change is "
				  "undetectable by design (a limit of the format, found by the canary)");
	} else {
		evf(c, "read through the guest path while corrupted: could not run: %s", err.msg);
	}
	for (size_t i = 0; i < ev.n; i++)
		free(ev.paths[i]);
	free(ev.paths);
	free(reason);
	free(vol);
	free(vm);
}

static char *before_step(void *ctx, void *run, const struct vecs_step *st)
{
	struct fcell *c = ctx;
	struct vecs_err err = { 0 };

	if (c->f->kind == VECS_FK_FULL_DISK && st == &c->cell->scenario->steps[0]) {
		/* the whole cell runs on the small pool: its offerings carry the pool's tag */
		json_t *p = stack_pool(c, c->f->arg);
		if (!p || !json_is_true(json_object_get(p, "full_disk")))
			return strf("this stack has no small-filesystem pool %s (stack.json "
				    "\"full_disk\": true)", c->f->arg);
		vecs_reference_env_override(c->fr->t, "storagetag", "vecs-smp-full");
		evf(c, "cell placed on pool %s (tag vecs-smp-full)", c->f->arg);
	}
	if (strcmp(st->id, c->f->at))
		return NULL;
	if (arm(c, run, &err) < 0) {
		evf(c, "arming failed: %s", err.msg);
		return strf("fault %s could not be armed: %s", c->f->id, err.msg);
	}
	c->armed = true;
	evf(c, "armed before step %s", st->id);
	return NULL;
}

static char *after_step(void *ctx, void *run, const struct vecs_step *st, char *why, bool *retry)
{
	struct fcell *c = ctx;
	struct vecs_err err = { 0 };
	bool io = c->f->kind == VECS_FK_IORULE || c->f->kind == VECS_FK_SWEEP;
	uint64_t hits = 0;
	char *verdict = NULL;

	if (strcmp(st->id, c->f->at) || !c->armed)
		return why;
	c->armed = false;
	evf(c, "step %s under the fault: %s", st->id, why ? why : "succeeded");
	if (io)
		hits = io_hits(c);
	snprintf(c->outcome, sizeof(c->outcome), "%s",
		 why ? "the step failed under the fault" : "the step succeeded under the fault");
	if (c->f->kind == VECS_FK_SVC_DURING && c->during_started &&
	    !__atomic_load_n(&c->during_done, __ATOMIC_SEQ_CST)) {
		evf(c, "the step ended before the %s of %s: it did not land mid-operation",
		    c->f->env, c->f->arg);
		verdict = strf("the %s of %s came after step %s had ended: nothing was tested "
			       "mid-operation", c->f->env, c->f->arg, st->id);
	}
	if (c->undetectable && !why)
		served_check(c, run);
	disarm(c, &err);
	revive(c);
	if (!strcmp(c->f->base, "migrate-vm") && why) {
		/* what the failed migration left: does the API still match the hosts? */
		char *reason = NULL;
		bool held = true;
		struct vecs_evidence ev = { 0 };
		if (vecs_reference_ops.invariant(c->fr->t, VECS_INV_NO_LEAKED_DOMAIN, NULL, &held,
						 &reason, &ev, &err) == 0 && !held) {
			evf(c, "after the failed migration: %s", reason);
			snprintf(c->outcome + strlen(c->outcome),
				 sizeof(c->outcome) - strlen(c->outcome),
				 "; left the API and the hosts apart (%.160s), so the VM was stopped "
				 "and started through the API",
				 reason);
		}
		free(reason);
		for (size_t k = 0; k < ev.n; k++)
			free(ev.paths[k]);
		free(ev.paths);
		restart_vm(c, run);
	}
	if (io && !hits) {
		if (c->f->kind == VECS_FK_SWEEP) {
			snprintf(c->outcome + strlen(c->outcome),
				 sizeof(c->outcome) - strlen(c->outcome),
				 "; sweep point %u lies beyond the operation's writes (never fired)",
				 c->point);
		} else {
			verdict = strf("fault %s never fired (rules: %s): the injection missed the "
				       "operation, so nothing was tested",
				       c->f->id, c->rules_text);
		}
	}
	if (!verdict && c->checks)
		verdict = strf("%s", c->checks);
	if (!verdict && c->expect == VECS_FE_FAILS && !why && (!io || hits))
		verdict = strf("step %s succeeded under fault %s; a clean failure was expected",
			       st->id, c->f->id);
	if (!verdict && c->expect == VECS_FE_SUCCEEDS && why)
		verdict = strf("the stack did not ride out fault %s: %s", c->f->id, why);
	if (!verdict && why && c->f->no_retry) {
		evf(c, "not retried: the operation may have completed before the crash");
		snprintf(c->outcome + strlen(c->outcome), sizeof(c->outcome) - strlen(c->outcome),
			 "; not retried (the crash came after the commit)");
	} else if (!verdict && why) {
		evf(c, "retry of step %s with nothing armed", st->id);
		snprintf(c->outcome + strlen(c->outcome), sizeof(c->outcome) - strlen(c->outcome),
			 " (%.200s); retried", why);
		*retry = true;
	}
	free(why);
	return verdict;
}

/* ---- the runner ------------------------------------------------------------------------ */

int vecs_fault_runner_new(struct vecs_fault_runner **out, struct vecs_reference *t,
			  const char *run_seed, const char *work_dir, FILE *progress,
			  struct vecs_err *err)
{
	struct vecs_fault_runner *fr = calloc(1, sizeof(*fr));
	char path[PATH_MAX + 32];
	json_error_t je;

	if (!fr)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	fr->t = t;
	fr->progress = progress;
	snprintf(fr->stack_dir, sizeof(fr->stack_dir), "%s", vecs_reference_stack_dir(t));
	snprintf(fr->bin, sizeof(fr->bin), "%s", vecs_reference_bin_dir(t));
	snprintf(fr->lib, sizeof(fr->lib), "%s/../lib", fr->bin);
	snprintf(fr->work, sizeof(fr->work), "%s", work_dir);
	snprintf(fr->run_seed, sizeof(fr->run_seed), "%s", run_seed);
	snprintf(path, sizeof(path), "%s/stack.json", fr->stack_dir);
	fr->stack = json_load_file(path, 0, &je);
	if (!fr->stack) {
		free(fr);
		return vecs_err_set(err, -EIO, "%s: %s", path, je.text);
	}
	fr->hosts = (int)json_array_size(json_object_get(fr->stack, "hosts"));
	snprintf(fr->rules, sizeof(fr->rules), "%s",
		 jstr(json_object_get(fr->stack, "faults"), "iofault_rules") ?: "");
	if (!fr->rules[0])
		snprintf(fr->rules, sizeof(fr->rules), "%s/faults/iofault.rules", fr->stack_dir);
	snprintf(path, sizeof(path), "%s/libvecs-iofault.so", fr->lib);
	if (access(path, R_OK) != 0) {
		json_decref(fr->stack);
		free(fr);
		return vecs_err_set(err, -ENOENT, "%s is missing: run make", path);
	}
	snprintf(path, sizeof(path), "%s/faults", fr->work);
	mkdir(path, 0700);
	*out = fr;
	return 0;
}

void vecs_fault_runner_free(struct vecs_fault_runner *fr)
{
	struct vecs_err err = { 0 };
	char reply[1024];

	if (!fr)
		return;
	vecs_iofault_disarm(fr->rules, &err);
	/* the services restarted with the shim go back to how the stack started them */
	if (fr->preloaded_gw)
		vecs_stack_ctl(fr->stack_dir, "restart", "scaleio", NULL, reply, sizeof(reply), &err);
	json_decref(fr->stack);
	free(fr);
}

static void add_evidence_path(struct vecs_cell_result *res, const char *path)
{
	const char **ev = realloc((void *)res->evidence, (res->n_evidence + 1) * sizeof(*ev));

	if (!ev)
		return;
	ev[res->n_evidence] = strdup(path);
	if (ev[res->n_evidence])
		res->n_evidence++;
	res->evidence = ev;
}

void vecs_fault_run_cell(struct vecs_fault_runner *fr, const struct vecs_fault_cells *fc,
			 size_t i, const struct vecs_runner_opts *o, struct vecs_cell_result *res)
{
	struct fcell c = { .fr = fr, .f = fc->faults[i], .point = fc->points[i],
			   .cell = &fc->cells[i] };
	struct vecs_runner_hooks hooks = { .ctx = &c, .before_step = before_step,
					   .after_step = after_step };
	struct vecs_runner_opts ro = *o;
	char evpath[PATH_MAX + 200];

	if (c.f->needs_mariadb &&
	    strcmp(jstr(json_object_get(fr->stack, "db"), "kind") ?: "", "mariadb")) {
		/* the cell needs what this stack does not have: a skip with its reason */
		vecs_cell_result_init(c.cell, res);
		res->operation = fc->names[i];
		res->title = c.f->description;
		res->expected = "recovers";
		res->status = o->strict ? VECS_CELL_FAIL : VECS_CELL_SKIP;
		res->reason = strf("needs a stack on MariaDB: `vecs stack up --db mariadb --dir D`, "
				   "then `vecs run --faults --stack-dir D`");
		return;
	}
	c.ev = open_memstream(&c.ev_buf, &c.ev_len);
	evf(&c, "fault %s (%s): %s", c.f->id, vecs_fault_layer_name(c.f->layer), c.f->description);
	if (c.point)
		evf(&c, "sweep point %u of %u", c.point, c.f->sweep);
	evf(&c, "cell %s, seed %s, run seed %s", c.cell->id, c.cell->seed, fr->run_seed);
	evf(&c, "reproduce: vecs run --faults --seed %s --only '%s'", fr->run_seed, c.cell->id);
	evf(&c, "scenario %s, armed around step %s", c.f->base, c.f->at);
	ro.hooks = &hooks;
	vecs_run_cell(c.cell, &vecs_reference_ops, fr->t, &ro, res);
	if (c.armed) {
		/* the cell ended before the step's end (setup failed): leave nothing armed */
		struct vecs_err err = { 0 };
		disarm(&c, &err);
		revive(&c);
	}
	/* the row of the grid: the fault, with its sweep point (memory of the cell list, so
	 * valid in the parent of a worker pool too) */
	res->operation = fc->names[i];
	res->title = c.f->description;
	res->expected = "recovers";
	if (!c.outcome[0])
		snprintf(c.outcome, sizeof(c.outcome), "the fault's step was not reached");
	evf(&c, "outcome: %s", c.outcome);
	evf(&c, "verdict: %s%s%s", vecs_cell_status_name(res->status), res->reason ? ": " : "",
	    res->reason ? res->reason : "");
	fclose(c.ev);
	snprintf(evpath, sizeof(evpath), "%s/faults/%s.txt", fr->work, c.cell->slug);
	if (vecs_write_file_atomic(evpath, c.ev_buf, c.ev_len, 0644, NULL) == 0)
		add_evidence_path(res, evpath);
	free(c.ev_buf);
	free(c.checks);
	res->outcome = strdup(c.outcome);
}
