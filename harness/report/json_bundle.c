/* The JSON results bundle (report/report.h; DESIGN.md, "Contracts"). */
#include <errno.h>

#include "report/report_internal.h"
#include "util/json_writer.h"

static void kv_opt(struct json_writer *w, const char *key, const char *value)
{
	if (value)
		jw_kv_str(w, key, value);
	else
		jw_kv_null(w, key);
}

int vecs_report_json(const struct vecs_run_results *r, FILE *f, struct vecs_err *err)
{
	struct vecs_run_counts n = vecs_run_count(r);
	struct json_writer w;

	jw_init(&w, f, true);
	jw_obj_begin(&w);
	jw_kv_str(&w, "format", "vecs-results/1");
	jw_key(&w, "tool");
	jw_obj_begin(&w);
	jw_kv_str(&w, "name", "vecs");
	kv_opt(&w, "version", r->tool_version);
	jw_obj_end(&w);
	jw_key(&w, "run");
	jw_obj_begin(&w);
	kv_opt(&w, "id", r->run_id);
	kv_opt(&w, "seed", r->run_seed);
	kv_opt(&w, "target", r->target);
	kv_opt(&w, "started_at", r->started_at);
	kv_opt(&w, "finished_at", r->finished_at);
	kv_opt(&w, "hostname", r->hostname);
	jw_obj_end(&w);
	kv_opt(&w, "profile", r->profile);
	kv_opt(&w, "kdf", r->kdf);
	kv_opt(&w, "kernel", r->kernel);
	jw_key(&w, "components");
	jw_obj_begin(&w);
	for (size_t i = 0; i < r->n_components; i++)
		kv_opt(&w, r->components[i].name, r->components[i].version);
	jw_obj_end(&w);
	jw_key(&w, "summary");
	jw_obj_begin(&w);
	jw_kv_uint(&w, "cells", r->n_cells);
	jw_kv_uint(&w, "pass", n.pass);
	jw_kv_uint(&w, "fail", n.fail);
	jw_kv_uint(&w, "skip", n.skip);
	jw_kv_bool(&w, "all_passed", n.pass == r->n_cells);
	jw_obj_end(&w);
	jw_key(&w, "cells");
	jw_arr_begin(&w);
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct vecs_cell_result *c = &r->cells[i];
		jw_obj_begin(&w);
		kv_opt(&w, "id", c->id);
		kv_opt(&w, "operation", c->operation);
		kv_opt(&w, "matrix_row", c->matrix_row);
		kv_opt(&w, "storage", c->storage);
		kv_opt(&w, "profile", c->profile);
		kv_opt(&w, "expected", c->expected);
		jw_kv_str(&w, "status", vecs_cell_status_name(c->status));
		kv_opt(&w, "reason", c->reason);
		if (c->outcome) /* fault cells only: the matrix bundle keeps its shape */
			kv_opt(&w, "outcome", c->outcome);
		jw_key(&w, "timings");
		jw_obj_begin(&w);
		jw_kv_uint(&w, "setup_ms", c->setup_ms);
		jw_kv_uint(&w, "steps_ms", c->steps_ms);
		jw_kv_uint(&w, "teardown_ms", c->teardown_ms);
		if (c->api_ms || c->probe_ms) {
			uint64_t all = c->setup_ms + c->steps_ms + c->teardown_ms;
			uint64_t target = c->api_ms + c->probe_ms;
			jw_kv_uint(&w, "api_ms", c->api_ms);
			jw_kv_uint(&w, "probe_ms", c->probe_ms);
			jw_kv_uint(&w, "harness_ms", all > target ? all - target : 0);
		}
		jw_obj_end(&w);
		jw_key(&w, "evidence");
		jw_arr_begin(&w);
		for (size_t k = 0; k < c->n_evidence; k++)
			jw_str(&w, c->evidence[k] ? c->evidence[k] : "");
		jw_arr_end(&w);
		kv_opt(&w, "seed", c->seed);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	fputc('\n', f);
	if (ferror(f))
		return vecs_err_set(err, -EIO, "cannot write the JSON bundle: write error");
	return 0;
}
