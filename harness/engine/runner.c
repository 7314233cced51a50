#include "engine/runner.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/template.h"

struct cell_run {
	const struct vecs_cell *cell;
	const struct vecs_target_ops *ops;
	void *target;
	const struct vecs_runner_opts *o;
	json_t *steps; /* step id -> response */
	json_t *binds; /* bound name -> value */
	char **evidence;
	size_t n_evidence;
	uint64_t api_us, probe_us; /* time inside the target's API calls and probes */
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t now_ms(void)
{
	return now_us() / 1000;
}

/* Follow "a.b[0].c" from v. */
static json_t *path_get(json_t *v, const char *path)
{
	char key[256];

	while (v && *path) {
		size_t n = strcspn(path, ".[");
		if (n) {
			if (n >= sizeof(key))
				return NULL;
			memcpy(key, path, n);
			key[n] = '\0';
			v = json_object_get(v, key);
			path += n;
		}
		if (*path == '[') {
			char *end;
			unsigned long i = strtoul(path + 1, &end, 10);
			if (*end != ']')
				return NULL;
			v = json_array_get(v, i);
			path = end + 1;
		}
		if (*path == '.')
			path++;
	}
	return v;
}

static char *value_string(json_t *v)
{
	char *s = NULL;

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v))
		return asprintf(&s, "%lld", (long long)json_integer_value(v)) < 0 ? NULL : s;
	if (json_is_real(v))
		return asprintf(&s, "%.17g", json_real_value(v)) < 0 ? NULL : s;
	if (json_is_true(v))
		return strdup("true");
	if (json_is_false(v))
		return strdup("false");
	if (json_is_null(v))
		return strdup("null");
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
}

int vecs_json_path_string(const char *json, const char *path, char **out)
{
	json_t *root = json_loads(json, 0, NULL), *v;

	*out = NULL;
	if (!root)
		return -EINVAL;
	v = path_get(root, path);
	if (v)
		*out = value_string(v);
	json_decref(root);
	return *out ? 0 : -ENOENT;
}

static int resolve(void *ctx, const char *ref, FILE *out, struct vecs_err *err)
{
	struct cell_run *cr = ctx;
	const struct vecs_cell *c = cr->cell;
	const char *dot = strchr(ref, '.');
	json_t *v = NULL;
	char *s;

	if (!dot)
		return vecs_err_set(err, -ENOENT, "reference ${%s} names nothing", ref);
	if (!strncmp(ref, "cell.", 5)) {
		const char *k = ref + 5, *val = NULL;
		if (!strcmp(k, "id")) val = c->id;
		else if (!strcmp(k, "slug")) val = c->slug;
		else if (!strcmp(k, "operation")) val = c->scenario->id;
		else if (!strcmp(k, "storage")) val = c->storage;
		else if (!strcmp(k, "profile")) val = c->profile->id;
		else if (!strcmp(k, "kdf")) val = c->profile->kdf;
		else if (!strcmp(k, "seed")) val = c->seed;
		else if (!strcmp(k, "run_id")) val = cr->o->run_id;
		if (!val)
			return vecs_err_set(err, -ENOENT, "no cell value ${%s}", ref);
		fputs(val, out);
		return 0;
	}
	if (!strncmp(ref, "env.", 4)) {
		uint64_t t0 = now_us();
		const char *val = cr->ops->env(cr->target, ref + 4);
		cr->api_us += now_us() - t0; /* a target may ask its API for the value */
		if (!val)
			return vecs_err_set(err, -ENOENT, "the target provides no ${%s}", ref);
		fputs(val, out);
		return 0;
	}
	if (!strncmp(ref, "steps.", 6)) {
		const char *id = ref + 6, *p = strchr(id, '.');
		char sid[128];
		if (!p || (size_t)(p - id) >= sizeof(sid))
			return vecs_err_set(err, -ENOENT, "malformed reference ${%s}", ref);
		memcpy(sid, id, (size_t)(p - id));
		sid[p - id] = '\0';
		v = path_get(json_object_get(cr->steps, sid), p + 1);
	} else {
		char name[128];
		size_t n = (size_t)(dot - ref);
		if (n >= sizeof(name))
			return vecs_err_set(err, -ENOENT, "malformed reference ${%s}", ref);
		memcpy(name, ref, n);
		name[n] = '\0';
		v = path_get(json_object_get(cr->binds, name), dot + 1);
	}
	if (!v)
		return vecs_err_set(err, -ENOENT, "${%s} is not in the responses so far", ref);
	s = value_string(v);
	if (!s)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	fputs(s, out);
	free(s);
	return 0;
}

#define failf vecs_strf

static void add_evidence(struct cell_run *cr, struct vecs_evidence *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		char **p = realloc(cr->evidence, (cr->n_evidence + 1) * sizeof(*p));
		if (!p)
			break;
		cr->evidence = p;
		cr->evidence[cr->n_evidence++] = ev->paths[i];
		ev->paths[i] = NULL;
	}
	free(ev->paths);
	ev->paths = NULL;
	ev->n = 0;
}

/* One API step: call, check the expectation, bind. NULL on success, else why. */
static char *run_api_step(struct cell_run *cr, const struct vecs_step *st)
{
	struct vecs_api_param params[64];
	struct vecs_api_result res = { 0 };
	struct vecs_err err = { 0 };
	char *expanded[64] = { 0 }, *why = NULL;
	json_t *resp = NULL;
	size_t n = st->n_params < 64 ? st->n_params : 64;
	uint64_t t0;
	int r;

	for (size_t i = 0; i < n; i++) {
		if (vecs_template_expand(st->params[i].value, resolve, cr, &expanded[i], &err) < 0) {
			why = failf("step %s: parameter %s: %s", st->id, st->params[i].name, err.msg);
			goto out;
		}
		params[i].name = st->params[i].name;
		params[i].value = expanded[i];
	}
	t0 = now_us();
	r = cr->ops->api_call(cr->target, st->call, params, n, st->async,
			      st->timeout_s ? st->timeout_s : cr->o->default_timeout_s, &res, &err);
	cr->api_us += now_us() - t0;
	if (r < 0) {
		why = failf("step %s: %s did not answer: %s", st->id, st->call, err.msg);
		goto out;
	}
	resp = res.json ? json_loads(res.json, 0, NULL) : NULL;
	if (st->expect_refused) {
		char *pattern = NULL;
		if (res.ok) {
			why = failf("step %s: %s succeeded; expected refusal %d \"%s\"", st->id, st->call,
				    st->errorcode, st->errortext ? st->errortext : "");
			goto out;
		}
		if (st->errortext &&
		    vecs_template_expand(st->errortext, resolve, cr, &pattern, &err) < 0) {
			why = failf("step %s: expected errortext: %s", st->id, err.msg);
			goto out;
		}
		if (res.errorcode != st->errorcode ||
		    (pattern && !vecs_errortext_match(pattern, res.errortext ? res.errortext : "")))
			why = failf("step %s: %s refused with %d \"%s\"; expected %d \"%s\"", st->id,
				    st->call, res.errorcode, res.errortext ? res.errortext : "",
				    st->errorcode, pattern ? pattern : "");
		free(pattern);
		if (why)
			goto out;
	} else {
		if (!res.ok) {
			why = failf("step %s: %s failed with %d \"%s\"", st->id, st->call, res.errorcode,
				    res.errortext ? res.errortext : "");
			goto out;
		}
		for (size_t i = 0; i < st->n_fields && !why; i++) {
			char *want = NULL, *got = NULL;
			json_t *v = path_get(resp, st->fields[i].name);
			if (vecs_template_expand(st->fields[i].value, resolve, cr, &want, &err) < 0)
				why = failf("step %s: field %s: %s", st->id, st->fields[i].name, err.msg);
			else if (!v)
				why = failf("step %s: response has no %s (expected %s)", st->id,
					    st->fields[i].name, want);
			else if (!(got = value_string(v)) || strcmp(got, want))
				why = failf("step %s: %s is %s, expected %s", st->id, st->fields[i].name,
					    got ? got : "?", want);
			free(want);
			free(got);
		}
		if (why)
			goto out;
	}
	if (resp) {
		json_object_set(cr->steps, st->id, resp);
		for (size_t i = 0; i < st->n_binds; i++) {
			json_t *v = path_get(resp, st->binds[i].path);
			if (!v) {
				why = failf("step %s: nothing at %s to bind as %s", st->id,
					    st->binds[i].path, st->binds[i].name);
				goto out;
			}
			json_object_set(cr->binds, st->binds[i].name, v);
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		free(expanded[i]);
	json_decref(resp);
	if (cr->ops->free_result)
		cr->ops->free_result(&res);
	return why;
}

static char *run_checkpoint(struct cell_run *cr, const struct vecs_step *st)
{
	struct vecs_evidence ev = { 0 };
	struct vecs_err err = { 0 };
	char *vol = NULL, *vm = NULL, *reason = NULL, *why = NULL;
	bool passed = false;
	uint64_t t0;
	int r;

	if ((st->volume && vecs_template_expand(st->volume, resolve, cr, &vol, &err) < 0) ||
	    (st->vm && vecs_template_expand(st->vm, resolve, cr, &vm, &err) < 0)) {
		why = failf("step %s: %s", st->id, err.msg);
		goto out;
	}
	t0 = now_us();
	r = cr->ops->checkpoint(cr->target, st, vol, vm, cr->cell->seed, &passed, &reason, &ev, &err);
	cr->probe_us += now_us() - t0;
	if (r < 0)
		why = failf("step %s: %s could not run: %s", st->id, vecs_checkpoint_name(st->checkpoint),
			    err.msg);
	else if (!passed)
		why = failf("step %s: %s: %s", st->id, vecs_checkpoint_name(st->checkpoint),
			    reason ? reason : "failed");
	add_evidence(cr, &ev);
out:
	free(vol);
	free(vm);
	free(reason);
	return why;
}

static int probe_invariant(struct cell_run *cr, enum vecs_invariant inv, const char *vol,
			   bool *held, char **reason, struct vecs_evidence *ev, struct vecs_err *err)
{
	uint64_t t0 = now_us();
	int r = cr->ops->invariant(cr->target, inv, vol, held, reason, ev, err);

	cr->probe_us += now_us() - t0;
	return r;
}

static char *run_invariants(struct cell_run *cr, const struct vecs_step *st)
{
	uint32_t mask = cr->cell->scenario->invariants & ~st->skip_invariants;
	char *why = NULL;

	for (int inv = 0; inv < VECS_INV__COUNT && !why; inv++) {
		struct vecs_evidence ev = { 0 };
		struct vecs_err err = { 0 };
		char *reason = NULL;
		bool held = true;

		if (!(mask & (1u << inv)))
			continue;
		if (probe_invariant(cr, (enum vecs_invariant)inv, NULL, &held, &reason, &ev, &err) < 0)
			why = failf("after step %s: invariant %s could not be checked: %s", st->id,
				    vecs_invariant_name((enum vecs_invariant)inv), err.msg);
		else if (!held)
			why = failf("after step %s: invariant %s broken: %s", st->id,
				    vecs_invariant_name((enum vecs_invariant)inv), reason ? reason : "");
		add_evidence(cr, &ev);
		free(reason);
	}
	for (size_t i = 0; i < st->n_invariants && !why; i++) {
		struct vecs_evidence ev = { 0 };
		struct vecs_err err = { 0 };
		char *reason = NULL, *vol = NULL;
		bool held = true;

		if (st->invariants[i].volume &&
		    vecs_template_expand(st->invariants[i].volume, resolve, cr, &vol, &err) < 0) {
			why = failf("after step %s: %s", st->id, err.msg);
			break;
		}
		if (probe_invariant(cr, st->invariants[i].inv, vol, &held, &reason, &ev, &err) < 0)
			why = failf("after step %s: invariant %s could not be checked: %s", st->id,
				    vecs_invariant_name(st->invariants[i].inv), err.msg);
		else if (!held)
			why = failf("after step %s: invariant %s broken: %s", st->id,
				    vecs_invariant_name(st->invariants[i].inv), reason ? reason : "");
		add_evidence(cr, &ev);
		free(reason);
		free(vol);
	}
	return why;
}

void vecs_cell_result_init(const struct vecs_cell *cell, struct vecs_cell_result *res)
{
	const struct vecs_scenario *sc = cell->scenario;

	memset(res, 0, sizeof(*res));
	res->id = cell->id;
	res->operation = sc->id;
	res->title = sc->title;
	res->matrix_row = sc->matrix_row;
	res->note = sc->note;
	res->storage = cell->storage;
	res->profile = cell->profile->id;
	res->expected = vecs_expected_name(sc->expected);
	res->seed = cell->seed;
}

void vecs_run_cell(const struct vecs_cell *cell, const struct vecs_target_ops *ops, void *target,
		   const struct vecs_runner_opts *o, struct vecs_cell_result *res)
{
	struct cell_run cr = { .cell = cell, .ops = ops, .target = target, .o = o };
	const struct vecs_scenario *sc = cell->scenario;
	struct vecs_err err = { 0 };
	const char *skip = NULL;
	char *why = NULL;
	uint64_t t0 = now_ms(), t1, t2;

	vecs_cell_result_init(cell, res);
	cr.steps = json_object();
	cr.binds = json_object();

	if (ops->setup(target, cell, &skip, &err) < 0)
		why = failf("setup: %s", err.msg);
	t1 = now_ms();
	cr.api_us += (t1 - t0) * 1000; /* setup asks the target's API */
	for (size_t i = 0; !why && !skip && i < sc->n_steps; i++) {
		const struct vecs_step *st = &sc->steps[i];

		if (o->progress && o->verbose)
			fprintf(o->progress, "    %s: %s\n", st->id,
				st->kind == VECS_STEP_API ? st->call : vecs_checkpoint_name(st->checkpoint));
		if (o->hooks && o->hooks->before_step)
			why = o->hooks->before_step(o->hooks->ctx, &cr, st);
		if (!why)
			why = st->kind == VECS_STEP_API ? run_api_step(&cr, st) : run_checkpoint(&cr, st);
		if (o->hooks && o->hooks->after_step) {
			bool retry = false;
			why = o->hooks->after_step(o->hooks->ctx, &cr, st, why, &retry);
			if (!why && retry)
				why = st->kind == VECS_STEP_API ? run_api_step(&cr, st)
								: run_checkpoint(&cr, st);
		}
		if (!why)
			why = run_invariants(&cr, st);
	}
	t2 = now_ms();
	if (ops->teardown(target, cell, &err) < 0 && !why && !skip)
		why = failf("teardown: %s", err.msg);
	res->setup_ms = t1 - t0;
	res->steps_ms = t2 - t1;
	res->teardown_ms = now_ms() - t2;
	cr.api_us += res->teardown_ms * 1000; /* teardown removes through the API */
	res->api_ms = cr.api_us / 1000;
	res->probe_ms = cr.probe_us / 1000;
	if (why) {
		res->status = VECS_CELL_FAIL;
		res->reason = why;
	} else if (skip) {
		res->status = o->strict ? VECS_CELL_FAIL : VECS_CELL_SKIP;
		res->reason = failf("%s%s", o->strict ? "skipped (strict mode counts it as failed): " : "",
				    skip);
	} else {
		res->status = VECS_CELL_PASS;
	}
	res->evidence = (const char *const *)cr.evidence;
	res->n_evidence = cr.n_evidence;
	json_decref(cr.steps);
	json_decref(cr.binds);
}

int vecs_runner_expand(void *run, const char *tmpl, char **out, struct vecs_err *err)
{
	return vecs_template_expand(tmpl, resolve, run, out, err);
}

void vecs_cell_result_free(struct vecs_cell_result *res)
{
	free((char *)res->reason);
	free((char *)res->outcome);
	for (size_t i = 0; i < res->n_evidence; i++)
		free((char *)res->evidence[i]);
	free((void *)res->evidence);
	memset(res, 0, sizeof(*res));
}
