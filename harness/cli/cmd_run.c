/* `vecs run`: expand the scenarios into cells and run them against a target.
 *
 * Cells run on the worker pool (engine/pool.h): --jobs N workers, each with a target of
 * its own (the reference target: a `vecs stack` per worker), progress through
 * engine/progress.h, reports in cell order. `--dry-run` loads, checks and expands
 * everything and prints each cell's steps with references resolved as far as they can
 * be without a target. */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "engine/expand.h"
#include "engine/pool.h"
#include "faults/fault_run.h"
#include "engine/progress.h"
#include "engine/runner.h"
#include "engine/scenario.h"
#include "engine/template.h"
#include "report/report.h"
#include "targets/cloudstack.h"
#include "targets/reference.h"
#include "targets/stack.h"
#include "util/ledger.h"
#include "util/proc.h"
#include "util/reaper.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vecs run [--target reference|cloudstack] [--target-config F]\n"
		"                [--storage LIST] [--only PATTERN] [--faults] [--profile P]\n"
		"                [--jobs N] [--shard I/N] [--junit F] [--tap] [--json F]\n"
		"                [--report DIR] [--seed S] [--strict] [--timeout SECONDS]\n"
		"                [--scenarios DIR] [--dry-run]\n"
		"\n"
		"Runs every cell (scenario x storage type x profile; id\n"
		"<operation>/<storage>/<profile>) of the support matrix against a target and reports\n"
		"pass, fail or skip per cell. The full matrix is 19 operations x 4 storage types =\n"
		"76 cells per profile.\n"
		"\n"
		"selection (active; --dry-run shows the result):\n"
		"  --storage LIST    comma-separated subset of nfs,local,smp,scaleio (default all)\n"
		"  --only PATTERN    comma-separated globs on the cell id; '*' also matches '/'\n"
		"                    (e.g. 'resize-volume/*', '*/scaleio/*')\n"
		"  --profile P       run profile(s), comma-separated (scenarios/profiles/; default\n"
		"                    cloudstack-4.18, kdf fast; cloudstack-4.18-production for the\n"
		"                    tools' own KDF calibration)\n"
		"  --shard I/N       run shard I of N (1 <= I <= N): a cell's shard is SHA-256 of\n"
		"                    its id mod N, so the N shards partition the cells and adding a\n"
		"                    scenario moves no existing cell\n"
		"  --seed S          run seed, 16 hex digits (default: random, printed); each cell's\n"
		"                    seed is derived from it and the cell id, so --seed S --only ID\n"
		"                    reproduces one cell\n"
		"  --scenarios DIR   scenarios tree (default: $VECS_SCENARIOS, else the tree next to\n"
		"                    this executable, else ./scenarios)\n"
		"  --dry-run         print the cells and their steps; touch nothing\n"
		"\n"
		"execution:\n"
		"  --target T        reference (default: starts `vecs stack up` per sandbox) or\n"
		"                    cloudstack (a deployment named by --target-config)\n"
		"  --target-config F endpoint, keys, storage probes and database access (cloudstack;\n"
		"                    JSON, format in harness/targets/README.md; `vecs stack config`\n"
		"                    writes one for a running reference stack)\n"
		"  --stack-dir D     reference: run on the stack already up in D (`vecs stack up`)\n"
		"  --jobs N          N workers in parallel, each with a stack of its own, taking\n"
		"                    cells from one queue (default 1; reference target without\n"
		"                    --stack-dir only); results and reports in cell order\n"
		"  --timeout S       per-cell timeout in seconds (default 900)\n"
		"  --strict          skips count as failures (certification mode)\n"
		"  --faults          run the fault catalog instead of the matrix (`vecs list --faults`):\n"
		"                    each fault on each storage type it applies to (cell id\n"
		"                    <fault>[@N]/<storage>/<profile>), armed around one step of a\n"
		"                    scenario of scenarios/faults/, then recovery, a retry, and the\n"
		"                    invariants; reference target only. --report DIR keeps each\n"
		"                    cell's evidence (what fired, what recovered, how to reproduce)\n"
		"\n"
		"progress: on a terminal one status line (done/total, running cells, passed,\n"
		"failed, skipped, elapsed, estimated time left); otherwise one line per cell and a\n"
		"summary line at most every 30 s.\n"
		"\n"
		"reports (formats in harness/report/; the JSON bundle's cell timings split the\n"
		"cell's time into api_ms, probe_ms and harness_ms):\n"
		"  --junit F         JUnit XML, classname vecs.<storage>.<profile>\n"
		"  --tap             TAP 13 on stdout, YAML diagnostics per cell\n"
		"  --json F          results bundle: versions, kernel, profile, kdf, cells\n"
		"  --report DIR      HTML support matrix (DIR/index.html) with a page per cell\n"
		"\n"
		"Exit status: 0 every cell passed (dry run: expanded); 1 some cell failed; 2 usage\n"
		"or environment error (no worker could set up its target).\n");
}

struct run_opts {
	const char *target, *target_config, *storage, *only, *profile, *shard, *junit, *json,
		*report, *seed, *scenarios, *stack_dir;
	bool faults, tap, strict, dry_run;
	unsigned long jobs, timeout;
};

static int parse_ulong(const char *opt, const char *s, unsigned long lo, unsigned long hi,
		       unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		goto bad;
	v = strtoul(s, &end, 10);
	if (*end || v < lo || v > hi)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "vecs run: %s must be a whole number from %lu to %lu, not '%s'\n", opt, lo,
		hi, s);
	return -1;
}

static void print_template(const struct vecs_scenario *sc, size_t step,
			   const struct vecs_cell *cell, const char *tmpl)
{
	struct vecs_err err = { 0 };
	char *out = NULL;

	/* the loader checked every reference, so this cannot fail on good input */
	if (vecs_template_expand_symbolic(sc, step, cell, tmpl, &out, &err)) {
		printf("<%s>", err.msg);
		return;
	}
	printf("%s", out);
	free(out);
}

static void print_invariants(uint32_t mask)
{
	bool first = true;

	for (int k = 0; k < VECS_INV__COUNT; k++)
		if (mask & (1u << k)) {
			printf("%s%s", first ? "" : ", ", vecs_invariant_name((enum vecs_invariant)k));
			first = false;
		}
	if (first)
		printf("(none)");
}

static void print_cell(const struct vecs_cell *c)
{
	const struct vecs_scenario *sc = c->scenario;
	const struct vecs_matrix_row *row = sc->matrix_row ? vecs_matrix_find_row(sc->matrix_row) : NULL;

	printf("cell %s  seed %s\n", c->id, c->seed);
	printf("  scenario: %s (%s)\n", sc->title, sc->path);
	printf("  expected: %s", vecs_expected_name(sc->expected));
	if (row)
		printf(" (seed: \"%s\": %s)", row->row, row->supported ? "Yes" : "No");
	printf("\n  needs: %u host%s, %u %s pool%s%s\n", sc->needs.hosts,
	       sc->needs.hosts == 1 ? "" : "s", sc->needs.pools, c->storage,
	       sc->needs.pools == 1 ? "" : "s", sc->needs.guest ? ", guest" : "");
	printf("  profile: %s (kdf %s, headers judged by %s)\n", c->profile->id, c->profile->kdf,
	       c->profile->oracle_profile);
	printf("  after every step: ");
	print_invariants(sc->invariants);
	printf("\n");
	for (size_t i = 0; i < sc->n_steps; i++) {
		const struct vecs_step *st = &sc->steps[i];
		printf("  %2zu. %s: ", i + 1, st->id);
		if (st->kind == VECS_STEP_CHECKPOINT) {
			printf("checkpoint %s '%s'", vecs_checkpoint_name(st->checkpoint), st->label);
			if (st->volume) {
				printf(" volume=");
				print_template(sc, i, c, st->volume);
			}
			if (st->vm) {
				printf(" vm=");
				print_template(sc, i, c, st->vm);
			}
			if (st->checkpoint == VECS_CP_WRITE_CANARY ||
			    st->checkpoint == VECS_CP_VERIFY_CANARY)
				printf(" offset=%llu size=%llu", (unsigned long long)st->offset,
				       (unsigned long long)st->size);
			if (st->checkpoint == VECS_CP_VERIFY_CANARY && !st->present)
				printf(" (must be gone)");
			printf("\n");
		} else {
			printf("%s%s%s\n", st->call, st->async ? " (async)" : "",
			       st->operation ? "  <- operation" : "");
			for (size_t k = 0; k < st->n_params; k++) {
				printf("        %s=", st->params[k].name);
				print_template(sc, i, c, st->params[k].value);
				printf("\n");
			}
			if (st->expect_refused) {
				printf("        expect refused: %d \"", st->errorcode);
				print_template(sc, i, c, st->errortext);
				printf("\"\n");
			} else if (st->n_fields) {
				for (size_t k = 0; k < st->n_fields; k++) {
					printf("        expect %s == ", st->fields[k].name);
					print_template(sc, i, c, st->fields[k].value);
					printf("\n");
				}
			} else {
				printf("        expect success\n");
			}
			for (size_t k = 0; k < st->n_binds; k++)
				printf("        bind %s = ${steps.%s.%s}\n", st->binds[k].name, st->id,
				       st->binds[k].path);
		}
		for (size_t k = 0; k < st->n_invariants; k++) {
			printf("        then %s", vecs_invariant_name(st->invariants[k].inv));
			if (st->invariants[k].volume) {
				printf(" volume=");
				print_template(sc, i + 1, c, st->invariants[k].volume);
			}
			printf("\n");
		}
		if (st->skip_invariants) {
			printf("        not after this step: ");
			print_invariants(st->skip_invariants);
			printf("\n");
		}
	}
	printf("\n");
}

static void iso_now(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_reports(const struct run_opts *ro, const struct vecs_run_results *rr)
{
	struct vecs_err err = { 0 };
	FILE *f;
	int bad = 0;

	if (ro->junit && (!(f = fopen(ro->junit, "we")) || vecs_report_junit(rr, f, &err) < 0 ||
			  fclose(f) != 0))
		bad = fprintf(stderr, "vecs run: cannot write %s: %s\n", ro->junit, err.msg);
	if (ro->json && (!(f = fopen(ro->json, "we")) || vecs_report_json(rr, f, &err) < 0 ||
			 fclose(f) != 0))
		bad = fprintf(stderr, "vecs run: cannot write %s: %s\n", ro->json, err.msg);
	if (ro->report && vecs_report_html_dir(rr, ro->report, &err) < 0)
		bad = fprintf(stderr, "vecs run: cannot write %s: %s\n", ro->report, err.msg);
	if (ro->tap && vecs_report_tap(rr, stdout, &err) < 0)
		bad = fprintf(stderr, "vecs run: TAP: %s\n", err.msg);
	return bad ? -EIO : 0;
}

/* ---- the cells on the worker pool (engine/pool.h) ------------------------------------ */

struct run_ctx {
	const struct run_opts *ro;
	const struct vecs_cell_list *cells;
	const struct vecs_fault_cells *faults; /* --faults: the fault cells (cells is a view) */
	const char *seed;
	struct vecs_runner_opts o;
	char bin[PATH_MAX], work[64];
};

struct worker_target {
	struct vecs_reference *t; /* both targets share this code (targets/cloudstack.h) */
	struct vecs_fault_runner *fr; /* --faults */
};

/* Worker w's sandbox: with --jobs 1 <work>/stack (or --stack-dir), else
 * <work>/stack-<w+1>, each its own `vecs stack up` (own run id, so own netns names,
 * libvirt sockets, API and gateway ports; NFS lives in the run's own stack netns). */
static int worker_setup(void *ctx, unsigned w, void **state, struct vecs_err *err)
{
	struct run_ctx *rc = ctx;
	const struct run_opts *ro = rc->ro;
	struct worker_target *wt = calloc(1, sizeof(*wt));
	char stack[PATH_MAX], wdir[PATH_MAX];

	if (!wt)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	*state = wt;
	snprintf(wdir, sizeof(wdir), "%s/w%u", rc->work, w + 1);
	if (mkdir(wdir, 0700) < 0)
		return vecs_err_set(err, -errno, "cannot make %s: %s", wdir, strerror(errno));
	if (!strcmp(ro->target, "cloudstack"))
		return vecs_cloudstack_open(&wt->t, ro->target_config, rc->bin, wdir, err);
	if (ro->stack_dir)
		snprintf(stack, sizeof(stack), "%s", ro->stack_dir);
	else if (ro->jobs == 1)
		snprintf(stack, sizeof(stack), "%s/stack", rc->work);
	else
		snprintf(stack, sizeof(stack), "%s/stack-%u", rc->work, w + 1);
	/* one worker prints its stack's progress; N would interleave */
	if (vecs_reference_open(&wt->t, stack, !ro->stack_dir, rc->bin, wdir,
				ro->jobs == 1 ? stderr : NULL, err) < 0)
		return err->code;
	if (rc->faults)
		return vecs_fault_runner_new(&wt->fr, wt->t, rc->seed, wdir, NULL, err);
	return 0;
}

static void worker_run(void *ctx, void *state, size_t i, struct vecs_cell_result *res)
{
	struct run_ctx *rc = ctx;
	struct worker_target *wt = state;

	if (rc->faults)
		vecs_fault_run_cell(wt->fr, rc->faults, i, &rc->o, res);
	else
		vecs_run_cell(&rc->cells->cells[i], &vecs_reference_ops, wt->t, &rc->o, res);
}

static void worker_teardown(void *ctx, unsigned w, void *state)
{
	struct worker_target *wt = state;

	if (!wt)
		return;
	vecs_fault_runner_free(wt->fr);
	vecs_reference_close(wt->t);
	free(wt);
}

static void cell_describe(void *ctx, size_t i, struct vecs_cell_result *res)
{
	struct run_ctx *rc = ctx;

	vecs_cell_result_init(&rc->cells->cells[i], res);
}

static const char *cell_id(void *ctx, size_t i)
{
	struct run_ctx *rc = ctx;

	return rc->cells->cells[i].id;
}

static const struct vecs_pool_ops run_pool_ops = {
	.setup = worker_setup,
	.run_cell = worker_run,
	.teardown = worker_teardown,
	.describe = cell_describe,
	.cell_id = cell_id,
};

static void remove_tree(const char *dir)
{
	/* the work dir holds canary copies and read-backs only */
	const char *argv[] = { "rm", "-rf", "--one-file-system", dir, NULL };
	pid_t p = fork();

	if (p == 0) {
		execvp("rm", (char *const *)argv);
		_exit(127);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
}

/* Is the run that made work dir `dir` still alive (its owner file names it)? */
static bool work_dir_owner_alive(const char *dir)
{
	char ownerf[PATH_MAX + 16];
	long pid = 0;
	unsigned long long start = 0;
	bool alive = false;
	FILE *f;

	snprintf(ownerf, sizeof(ownerf), "%s/owner", dir);
	if ((f = fopen(ownerf, "re"))) {
		if (fscanf(f, "%ld %llu", &pid, &start) == 2)
			alive = vecs_proc_alive((pid_t)pid, start);
		fclose(f);
	}
	return alive;
}

/* Stop the stacks of a dead run (<dir>/stack, <dir>/stack-N: one per worker). false
 * when one still runs for a live owner or cannot be removed. */
static bool work_dir_stacks_down(const char *dir)
{
	char pattern[PATH_MAX + 16];
	bool ok = true;
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/stack*/stack.ledger", dir);
	if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0)
		return true;
	for (size_t i = 0; ok && i < g.gl_pathc; i++) {
		struct vecs_ledger_list list = { 0 };
		struct vecs_err err = { 0 };
		char stackdir[PATH_MAX];

		if (vecs_ledger_read(g.gl_pathv[i], &list, NULL) == 0) {
			ok = !vecs_ledger_owner_alive(&list);
			vecs_ledger_list_free(&list);
		}
		snprintf(stackdir, sizeof(stackdir), "%s", g.gl_pathv[i]);
		*strrchr(stackdir, '/') = '\0';
		if (ok && vecs_stack_down(stackdir, NULL, &err) < 0)
			ok = false;
	}
	globfree(&g);
	return ok;
}

/* Work directories of earlier runs that were killed: their stacks stopped themselves
 * when their owners died (stack.h; with --jobs the owners are the run's workers, which
 * die with the run), the directory is what is left. A directory whose run or stack
 * still runs, or that is younger than a minute (a run starting now), is left alone. */
static void reap_dead_work_dirs(void)
{
	glob_t g;

	if (glob("/tmp/vecs-run.*", GLOB_NOSORT, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct stat st;

		if (lstat(g.gl_pathv[i], &st) < 0 || !S_ISDIR(st.st_mode) ||
		    time(NULL) - st.st_mtime < 60)
			continue;
		if (work_dir_owner_alive(g.gl_pathv[i]) || !work_dir_stacks_down(g.gl_pathv[i]))
			continue; /* a run in progress, or not removable: leave it for an operator */
		remove_tree(g.gl_pathv[i]);
		fprintf(stderr, "vecs run: removed %s, left by an earlier run that was killed\n",
			g.gl_pathv[i]);
	}
	globfree(&g);
}

static int make_work_dir(char *work)
{
	char ownerf[80];
	uint64_t start = 0;
	FILE *f;

	if (!mkdtemp(work)) {
		perror("vecs run: mkdtemp");
		return -1;
	}
	/* the run itself: reap_dead_work_dirs knows a killed run by this file */
	snprintf(ownerf, sizeof(ownerf), "%s/owner", work);
	vecs_proc_starttime(getpid(), &start);
	if ((f = fopen(ownerf, "we"))) {
		fprintf(f, "%d %llu\n", (int)getpid(), (unsigned long long)start);
		fclose(f);
	}
	return 0;
}

/* The evidence files live in the run's work directory, which goes when the run ends:
 * with --report DIR they are copied to DIR/evidence/<cell slug>/ and the results point
 * there (relative to DIR, so the HTML pages link to them and the directory can move). */
static void keep_evidence(const struct run_opts *ro, const struct vecs_cell_list *cells,
			  struct vecs_cell_result *res)
{
	char dir[PATH_MAX];

	if (!ro->report)
		return;
	snprintf(dir, sizeof(dir), "%s/evidence", ro->report);
	mkdir(ro->report, 0755);
	mkdir(dir, 0755);
	for (size_t i = 0; i < cells->n; i++) {
		for (size_t k = 0; k < res[i].n_evidence; k++) {
			const char *src = res[i].evidence[k], *base = strrchr(src, '/');
			char rel[PATH_MAX], dst[2 * PATH_MAX];
			FILE *in, *out;
			char buf[65536];
			size_t n;
			bool ok = true;

			if (src[0] != '/' || !base)
				continue;
			snprintf(rel, sizeof(rel), "evidence/%s/%s", cells->cells[i].slug, base + 1);
			snprintf(dst, sizeof(dst), "%s/evidence/%s", ro->report, cells->cells[i].slug);
			mkdir(dst, 0755);
			snprintf(dst, sizeof(dst), "%s/%s", ro->report, rel);
			if (!(in = fopen(src, "re")))
				continue;
			if (!(out = fopen(dst, "we"))) {
				fclose(in);
				continue;
			}
			while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
				ok &= fwrite(buf, 1, n, out) == n;
			fclose(in);
			ok &= fclose(out) == 0;
			if (ok) {
				free((char *)res[i].evidence[k]);
				((char **)res[i].evidence)[k] = strdup(rel);
			}
		}
	}
}

static int finish_run(const struct run_opts *ro, const struct vecs_cell_list *cells,
		      struct vecs_cell_result *res, const char *seed, const char *run_id,
		      const char *started)
{
	struct vecs_run_results rr = { 0 };
	struct vecs_run_counts cnt;
	struct vecs_versions v;
	char finished[32];

	iso_now(finished, sizeof(finished));
	vecs_versions_collect(&v);
	rr.tool_version = "0.1.0";
	rr.run_id = run_id;
	rr.run_seed = seed;
	rr.target = ro->target;
	rr.profile = cells->n ? cells->cells[0].profile->id : "";
	rr.kdf = cells->n ? cells->cells[0].profile->kdf : "";
	rr.kernel = v.kernel;
	rr.hostname = "localhost";
	rr.started_at = started;
	rr.finished_at = finished;
	rr.components = v.list;
	rr.n_components = VECS_N_COMPONENTS;
	keep_evidence(ro, cells, res);
	rr.cells = res;
	rr.n_cells = cells->n;
	write_reports(ro, &rr);
	cnt = vecs_run_count(&rr);
	fprintf(stderr, "vecs run: %zu passed, %zu failed, %zu skipped\n", cnt.pass, cnt.fail, cnt.skip);
	return cnt.fail ? VECS_EXIT_FAIL : VECS_EXIT_OK;
}

/* Run the cells: against the reference target, stacks of our own (one per worker,
 * started and stopped by the workers) unless --stack-dir names a running one; against
 * the cloudstack target, the deployment --target-config names. */
static int execute(const struct run_opts *ro, const struct vecs_cell_list *cells,
		   const struct vecs_fault_cells *faults, const char *seed)
{
	struct run_ctx rc = { .ro = ro, .cells = cells, .faults = faults, .seed = seed,
			      .o = { .default_timeout_s = (unsigned)ro->timeout, .strict = ro->strict } };
	struct vecs_cell_result *res;
	struct vecs_progress prog;
	struct vecs_err err = { 0 };
	char started[32], run_id[32];
	ssize_t n;
	int ready, rc_exit = VECS_EXIT_USAGE;
	bool cloudstack = !strcmp(ro->target, "cloudstack");

	if ((ro->stack_dir || cloudstack) && ro->jobs > 1) {
		fprintf(stderr, "vecs run: --jobs %lu needs sandboxes of its own: with --stack-dir "
			"or --target cloudstack all cells share one deployment, so leave --jobs out\n",
			ro->jobs);
		return VECS_EXIT_USAGE;
	}
	if (!cloudstack && geteuid() != 0) {
		fprintf(stderr, "vecs run: the reference target needs root (it runs `vecs stack`)\n");
		return VECS_EXIT_USAGE;
	}
	n = readlink("/proc/self/exe", rc.bin, sizeof(rc.bin) - 1);
	rc.bin[n > 0 ? n : 0] = '\0';
	if (strrchr(rc.bin, '/'))
		*strrchr(rc.bin, '/') = '\0';
	reap_dead_work_dirs();
	snprintf(rc.work, sizeof(rc.work), "/tmp/vecs-run.XXXXXX");
	if (make_work_dir(rc.work) < 0)
		return VECS_EXIT_USAGE;
	snprintf(run_id, sizeof(run_id), "run-%s", seed);
	rc.o.run_id = run_id;
	iso_now(started, sizeof(started));
	fprintf(stderr, "vecs run: %zu cells, run seed %s, target %s (%s), %lu job%s\n", cells->n,
		seed, ro->target,
		cloudstack ? ro->target_config : ro->stack_dir ? ro->stack_dir : "stacks of its own",
		ro->jobs, ro->jobs == 1 ? "" : "s");
	res = calloc(cells->n ? cells->n : 1, sizeof(*res));
	if (!res)
		goto out;
	vecs_progress_init(&prog, stderr, isatty(STDERR_FILENO), cells->n, (unsigned)ro->jobs, NULL);
	ready = vecs_pool_run(cells->n, (unsigned)ro->jobs, &run_pool_ops, &rc, res, &prog, &err);
	vecs_progress_finish(&prog);
	if (ready <= 0) {
		fprintf(stderr, "vecs run: %s\n", err.msg);
	} else {
		if ((unsigned long)ready < ro->jobs && ready < (int)cells->n)
			fprintf(stderr, "vecs run: only %d of %lu workers could start (%s)\n", ready,
				ro->jobs, err.msg[0] ? err.msg : "see above");
		rc_exit = finish_run(ro, cells, res, seed, run_id, started);
	}
	for (size_t i = 0; i < cells->n; i++)
		vecs_cell_result_free(&res[i]);
	free(res);
out:
	remove_tree(rc.work);
	return rc_exit;
}

int cmd_run(int argc, char **argv)
{
	enum { O_TARGET = 256, O_TCONF, O_STORAGE, O_ONLY, O_FAULTS, O_PROFILE, O_JOBS, O_SHARD,
	       O_JUNIT, O_TAP, O_JSON, O_REPORT, O_SEED, O_STRICT, O_TIMEOUT, O_SCEN, O_DRY, O_STACK };
	static const struct option opts[] = {
		{ "target", required_argument, NULL, O_TARGET },
		{ "target-config", required_argument, NULL, O_TCONF },
		{ "storage", required_argument, NULL, O_STORAGE },
		{ "only", required_argument, NULL, O_ONLY },
		{ "faults", no_argument, NULL, O_FAULTS },
		{ "profile", required_argument, NULL, O_PROFILE },
		{ "jobs", required_argument, NULL, O_JOBS },
		{ "shard", required_argument, NULL, O_SHARD },
		{ "junit", required_argument, NULL, O_JUNIT },
		{ "tap", no_argument, NULL, O_TAP },
		{ "json", required_argument, NULL, O_JSON },
		{ "report", required_argument, NULL, O_REPORT },
		{ "seed", required_argument, NULL, O_SEED },
		{ "strict", no_argument, NULL, O_STRICT },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "scenarios", required_argument, NULL, O_SCEN },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "stack-dir", required_argument, NULL, O_STACK },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts ro = { .target = "reference", .jobs = 1, .timeout = 900 };
	struct vecs_expand_opts eo = { 0 };
	struct vecs_scenario_set set = { 0 };
	struct vecs_cell_list cells = { 0 };
	struct vecs_fault_cells fcells = { 0 };
	struct vecs_err err = { 0 };
	char dirbuf[PATH_MAX], seed[VECS_SEED_HEX + 1];
	char *profile_copy = NULL;
	const char *profiles[16];
	int o, rc = VECS_EXIT_USAGE;

	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case O_TARGET: ro.target = optarg; break;
		case O_TCONF: ro.target_config = optarg; break;
		case O_STORAGE: ro.storage = optarg; break;
		case O_ONLY: ro.only = optarg; break;
		case O_FAULTS: ro.faults = true; break;
		case O_PROFILE: ro.profile = optarg; break;
		case O_JOBS:
			if (parse_ulong("--jobs", optarg, 1, 256, &ro.jobs))
				return VECS_EXIT_USAGE;
			break;
		case O_SHARD: ro.shard = optarg; break;
		case O_JUNIT: ro.junit = optarg; break;
		case O_TAP: ro.tap = true; break;
		case O_JSON: ro.json = optarg; break;
		case O_REPORT: ro.report = optarg; break;
		case O_SEED: ro.seed = optarg; break;
		case O_STRICT: ro.strict = true; break;
		case O_TIMEOUT:
			if (parse_ulong("--timeout", optarg, 1, 86400, &ro.timeout))
				return VECS_EXIT_USAGE;
			break;
		case O_SCEN: ro.scenarios = optarg; break;
		case O_DRY: ro.dry_run = true; break;
		case O_STACK: ro.stack_dir = optarg; break;
		case 'h': usage(stdout); return VECS_EXIT_OK;
		case ':':
			fprintf(stderr, "vecs run: %s needs a value; `vecs run --help` explains it\n",
				argv[optind - 1]);
			return VECS_EXIT_USAGE;
		default:
			fprintf(stderr, "vecs run: unknown option '%s'; `vecs run --help` lists the "
				"options\n", argv[optind - 1]);
			return VECS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vecs run: unexpected argument '%s'; select cells with --only\n",
			argv[optind]);
		return VECS_EXIT_USAGE;
	}
	if (strcmp(ro.target, "reference") && strcmp(ro.target, "cloudstack")) {
		fprintf(stderr, "vecs run: --target must be reference or cloudstack, not '%s'\n",
			ro.target);
		return VECS_EXIT_USAGE;
	}
	if (!strcmp(ro.target, "cloudstack") && !ro.target_config) {
		fprintf(stderr, "vecs run: --target cloudstack needs --target-config F (endpoint, "
			"keys, storage probes, database access)\n");
		return VECS_EXIT_USAGE;
	}
	if (!strcmp(ro.target, "reference") && ro.target_config) {
		fprintf(stderr, "vecs run: --target-config belongs to --target cloudstack; the "
			"reference target configures itself\n");
		return VECS_EXIT_USAGE;
	}
	if (ro.faults && strcmp(ro.target, "reference")) {
		fprintf(stderr, "vecs run: --faults reaches into the deployment (service control, "
			"the I/O shim, volume bytes): it runs against --target reference only\n");
		return VECS_EXIT_USAGE;
	}
	if (ro.storage && vecs_parse_storage_list(ro.storage, eo.storage, &err)) {
		fprintf(stderr, "vecs run: %s\n", err.msg);
		return VECS_EXIT_USAGE;
	}
	eo.storage_set = ro.storage != NULL;
	if (ro.shard && vecs_parse_shard(ro.shard, &eo.shard_index, &eo.shard_count, &err)) {
		fprintf(stderr, "vecs run: %s\n", err.msg);
		return VECS_EXIT_USAGE;
	}
	if (ro.seed) {
		if (!vecs_seed_valid(ro.seed)) {
			fprintf(stderr, "vecs run: --seed '%s' must be %d lower-case hex digits (as "
				"printed by an earlier run)\n", ro.seed, VECS_SEED_HEX);
			return VECS_EXIT_USAGE;
		}
		snprintf(seed, sizeof(seed), "%s", ro.seed);
	} else if (vecs_run_seed_new(seed, &err)) {
		fprintf(stderr, "vecs run: %s\n", err.msg);
		return VECS_EXIT_USAGE;
	}
	eo.run_seed = seed;
	eo.only = ro.only;
	if (ro.profile) {
		char *save = NULL, *tok;
		profile_copy = strdup(ro.profile);
		if (!profile_copy)
			return VECS_EXIT_USAGE;
		for (tok = strtok_r(profile_copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (eo.n_profiles == sizeof(profiles) / sizeof(profiles[0])) {
				fprintf(stderr, "vecs run: --profile names more than 16 profiles\n");
				goto out;
			}
			profiles[eo.n_profiles++] = tok;
		}
		if (!eo.n_profiles) {
			fprintf(stderr, "vecs run: --profile needs a profile id\n");
			goto out;
		}
		eo.profiles = profiles;
	}
	if (!ro.scenarios)
		ro.scenarios = vecs_scenarios_dir_default(dirbuf, sizeof(dirbuf));
	if (vecs_scenario_set_load(ro.scenarios, &set, &err)) {
		fprintf(stderr, "vecs run: %s\n", err.msg);
		goto out;
	}
	if (ro.faults) {
		if (vecs_fault_cells_build(ro.scenarios, &set, &eo, &fcells, &err)) {
			fprintf(stderr, "vecs run: %s\n", err.msg);
			goto out;
		}
		/* the engine sees the fault cells as cells; the fault runner knows the rest */
		cells.cells = fcells.cells;
		cells.n = fcells.n;
		cells.n_expanded = fcells.n_expanded;
	} else if (vecs_expand(&set, &eo, &cells, &err)) {
		fprintf(stderr, "vecs run: %s\n", err.msg);
		goto out;
	}
	if (!cells.n && !eo.shard_count) {
		fprintf(stderr, "vecs run: no cell matches --only '%s' (of %zu; `vecs run --dry-run` "
			"without --only lists them all)\n", ro.only ? ro.only : "", cells.n_expanded);
		goto out;
	}
	if (!ro.dry_run) {
		rc = execute(&ro, &cells, ro.faults ? &fcells : NULL, seed);
		goto out;
	}

	struct vecs_versions v;
	vecs_versions_collect(&v);
	printf("vecs run --dry-run: %zu cell%s of %zu (%zu scenarios", cells.n,
	       cells.n == 1 ? "" : "s", cells.n_expanded, set.n);
	printf(" x storage x %zu profile%s)", eo.profiles ? eo.n_profiles : 1,
	       (eo.profiles ? eo.n_profiles : 1) == 1 ? "" : "s");
	if (eo.shard_count)
		printf(", shard %u/%u", eo.shard_index, eo.shard_count);
	printf("\nrun seed: %s (reproduce with --seed %s)\n", seed, seed);
	printf("target: %s (not contacted: dry run)\n", ro.target);
	printf("scenarios: %s\n", ro.scenarios);
	printf("kernel: %s\n", v.kernel);
	for (int i = 0; i < VECS_N_COMPONENTS; i++)
		printf("%s: %s\n", v.list[i].name, v.list[i].version);
	printf("${env.*} and ${steps.*} are filled in by the target when the cell runs.\n\n");
	for (size_t i = 0; i < cells.n; i++)
		print_cell(&cells.cells[i]);
	if (ro.junit || ro.tap || ro.json || ro.report)
		fprintf(stderr, "vecs run: --dry-run writes no reports (--junit, --tap, --json, "
			"--report): nothing ran\n");
	rc = VECS_EXIT_OK;
out:
	if (ro.faults)
		vecs_fault_cells_free(&fcells); /* cells is a view of it */
	else
		vecs_cell_list_free(&cells);
	vecs_scenario_set_free(&set);
	free(profile_copy);
	return rc;
}
