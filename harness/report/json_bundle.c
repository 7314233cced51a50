/* The JSON results bundle (report/report.h; DESIGN.md, "Contracts"). */
#include <errno.h>

#include "report/report_internal.h"
#include "util/json_writer.h"

static void kv_opt(struct json_writer *w, const char *key, const char *value)
{
	if (value)
		json_kv_str(w, key, value);
	else
		json_kv_null(w, key);
}

int vecs_report_json(const struct vecs_run_results *r, FILE *f, struct vecs_err *err)
{
	struct vecs_run_counts n = vecs_run_count(r);
	struct json_writer w;

	json_init(&w, f, true);
	json_obj_begin(&w);
	json_kv_str(&w, "format", "vecs-results/1");
	json_key(&w, "tool");
	json_obj_begin(&w);
	json_kv_str(&w, "name", "vecs");
	kv_opt(&w, "version", r->tool_version);
	json_obj_end(&w);
	json_key(&w, "run");
	json_obj_begin(&w);
	kv_opt(&w, "id", r->run_id);
	kv_opt(&w, "seed", r->run_seed);
	kv_opt(&w, "target", r->target);
	kv_opt(&w, "started_at", r->started_at);
	kv_opt(&w, "finished_at", r->finished_at);
	kv_opt(&w, "hostname", r->hostname);
	json_obj_end(&w);
	kv_opt(&w, "profile", r->profile);
	kv_opt(&w, "kdf", r->kdf);
	kv_opt(&w, "kernel", r->kernel);
	json_key(&w, "components");
	json_obj_begin(&w);
	for (size_t i = 0; i < r->n_components; i++)
		kv_opt(&w, r->components[i].name, r->components[i].version);
	json_obj_end(&w);
	json_key(&w, "summary");
	json_obj_begin(&w);
	json_kv_uint(&w, "cells", r->n_cells);
	json_kv_uint(&w, "pass", n.pass);
	json_kv_uint(&w, "fail", n.fail);
	json_kv_uint(&w, "skip", n.skip);
	json_kv_bool(&w, "all_passed", n.pass == r->n_cells);
	json_obj_end(&w);
	json_key(&w, "cells");
	json_arr_begin(&w);
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct vecs_cell_result *c = &r->cells[i];
		json_obj_begin(&w);
		kv_opt(&w, "id", c->id);
		kv_opt(&w, "operation", c->operation);
		kv_opt(&w, "matrix_row", c->matrix_row);
		kv_opt(&w, "storage", c->storage);
		kv_opt(&w, "profile", c->profile);
		kv_opt(&w, "expected", c->expected);
		json_kv_str(&w, "status", vecs_cell_status_name(c->status));
		kv_opt(&w, "reason", c->reason);
		json_key(&w, "timings");
		json_obj_begin(&w);
		json_kv_uint(&w, "setup_ms", c->setup_ms);
		json_kv_uint(&w, "steps_ms", c->steps_ms);
		json_kv_uint(&w, "teardown_ms", c->teardown_ms);
		json_obj_end(&w);
		json_key(&w, "evidence");
		json_arr_begin(&w);
		for (size_t k = 0; k < c->n_evidence; k++)
			json_str(&w, c->evidence[k] ? c->evidence[k] : "");
		json_arr_end(&w);
		kv_opt(&w, "seed", c->seed);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_obj_end(&w);
	fputc('\n', f);
	if (ferror(f))
		return vecs_err_set(err, -EIO, "cannot write the JSON bundle: write error");
	return 0;
}
