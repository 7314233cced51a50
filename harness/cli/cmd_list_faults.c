/* `vecs list --faults`: the fault catalog (harness/faults/catalog.h), checked against
 * the fault scenarios it runs in, as text or JSON. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "faults/catalog.h"
#include "faults/fault_run.h"
#include "util/json_writer.h"

static const char *expect_name(const struct vecs_fault *f)
{
	if (f->kind == VECS_FK_CORRUPT)
		return "by-target"; /* faults/corrupt.h decides per field and container */
	switch (f->expect) {
	case VECS_FE_FAILS: return "fails";
	case VECS_FE_SUCCEEDS: return "succeeds";
	case VECS_FE_EITHER: break;
	}
	return "either";
}

static void print_fault_json(struct json_writer *w, const struct vecs_fault *f,
			     const struct vecs_fault_cells *fc)
{
	char st[64];
	size_t cells = 0;

	for (size_t i = 0; i < fc->n; i++)
		cells += fc->faults[i] == f;
	jw_obj_begin(w);
	jw_kv_str(w, "id", f->id);
	jw_kv_str(w, "layer", vecs_fault_layer_name(f->layer));
	jw_kv_str(w, "description", f->description);
	jw_key(w, "storage");
	jw_arr_begin(w);
	for (int k = 0; k < VECS_STORAGE_COUNT; k++)
		if (f->storage & (1u << k))
			jw_str(w, vecs_storage_types[k]);
	jw_arr_end(w);
	if (f->storage_note)
		jw_kv_str(w, "storage_note", f->storage_note);
	jw_kv_str(w, "applies_to", vecs_fault_storage_list(f->storage, st, sizeof(st)));
	jw_kv_str(w, "reaches", f->where);
	jw_kv_str(w, "scenario", f->base);
	jw_kv_str(w, "at_step", f->at);
	jw_kv_str(w, "step_expected", expect_name(f));
	if (f->kind == VECS_FK_IORULE || f->kind == VECS_FK_SWEEP)
		jw_kv_str(w, "rules", f->arg);
	if (f->kind == VECS_FK_SWEEP)
		jw_kv_uint(w, "sweep_points", f->sweep);
	jw_kv_uint(w, "cells", cells);
	jw_obj_end(w);
}

int list_faults(const char *dir, const struct vecs_scenario_set *set, bool json)
{
	struct vecs_expand_opts eo = { .run_seed = "0000000000000000" };
	struct vecs_fault_cells fc;
	struct vecs_err err = { 0 };
	size_t per_layer[VECS_FL__COUNT] = { 0 };

	if (vecs_fault_cells_build(dir, set, &eo, &fc, &err) < 0) {
		fprintf(stderr, "vecs list: %s\n", err.msg);
		return VECS_EXIT_USAGE;
	}
	if (json) {
		struct json_writer w;
		jw_init(&w, stdout, true);
		jw_obj_begin(&w);
		jw_kv_str(&w, "scenarios_dir", dir);
		jw_kv_uint(&w, "fault_kinds", vecs_faults_len);
		jw_kv_uint(&w, "cells", fc.n);
		jw_key(&w, "faults");
		jw_arr_begin(&w);
		for (size_t i = 0; i < vecs_faults_len; i++)
			print_fault_json(&w, &vecs_faults[i], &fc);
		jw_arr_end(&w);
		jw_obj_end(&w);
		fputc('\n', stdout);
		jw_free(&w);
	} else {
		printf("%-32s %-10s %-20s %-9s %s\n", "FAULT", "LAYER", "STORAGE", "STEP", "DESCRIPTION");
		for (size_t i = 0; i < vecs_faults_len; i++) {
			const struct vecs_fault *f = &vecs_faults[i];
			char st[64], id[48];
			per_layer[f->layer]++;
			snprintf(id, sizeof(id), "%s%s", f->id, f->kind == VECS_FK_SWEEP ? "@1..N" : "");
			printf("%-32s %-10s %-20s %-9s %s\n", id, vecs_fault_layer_name(f->layer),
			       vecs_fault_storage_list(f->storage, st, sizeof(st)), expect_name(f),
			       f->description);
		}
		printf("\n%zu fault kinds (", vecs_faults_len);
		for (int l = 0; l < VECS_FL__COUNT; l++)
			printf("%s%zu %s", l ? ", " : "", per_layer[l],
			       vecs_fault_layer_name((enum vecs_fault_layer)l));
		printf("), %zu cells per profile.\n", fc.n);
		printf("STEP: what the faulted step must do (fails cleanly, succeeds, either; by-target:\n"
		       "harness/faults/corrupt.h per field). `vecs list --faults --json` adds the\n"
		       "scenario, the step, the I/O rules and the processes each fault reaches.\n");
	}
	vecs_fault_cells_free(&fc);
	return VECS_EXIT_OK;
}
