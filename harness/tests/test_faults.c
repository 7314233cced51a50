/* The fault catalog (faults/catalog.h) against itself, the corruption targets, the I/O
 * rule syntax and the fault scenarios it runs in; and the fault cells it expands to. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "engine/scenario.h"
#include "faults/catalog.h"
#include "faults/corrupt.h"
#include "faults/fault_run.h"
#include "faults/iofault.h"
#include "test_registry.h"

/* The runner's placeholders, filled the way a cell fills them. */
static void fill(const char *in, char *out, size_t len)
{
	size_t o = 0;

	while (*in && o + 16 < len) {
		if (!strncmp(in, "@POOL@", 6)) {
			o += (size_t)snprintf(out + o, len - o, "/s/pools/local-h*/*");
			in += 6;
		} else if (!strncmp(in, "@SECONDARY@", 11)) {
			o += (size_t)snprintf(out + o, len - o, "/s/secondary/*");
			in += 11;
		} else if (!strncmp(in, "@W@", 3)) {
			o += (size_t)snprintf(out + o, len - o, "write");
			in += 3;
		} else if (!strncmp(in, "@R@", 3)) {
			o += (size_t)snprintf(out + o, len - o, "read");
			in += 3;
		} else if (!strncmp(in, "@N@", 3) || !strncmp(in, "@S@", 3)) {
			out[o++] = '3';
			in += 3;
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = '\0';
}

static void test_catalog_shape(void)
{
	size_t per_layer[VECS_FL__COUNT] = { 0 };

	/* the issue asks for at least 40 named fault kinds */
	CU_ASSERT(vecs_faults_len >= 40);
	for (size_t i = 0; i < vecs_faults_len; i++) {
		const struct vecs_fault *f = &vecs_faults[i];
		per_layer[f->layer]++;
		CU_ASSERT_PTR_NOT_NULL(f->description);
		CU_ASSERT(f->storage != 0 && (f->storage & ~VECS_FS_ALL) == 0);
		CU_ASSERT_PTR_EQUAL(vecs_fault_find(f->id), f);
		for (size_t k = i + 1; k < vecs_faults_len; k++)
			CU_ASSERT(strcmp(f->id, vecs_faults[k].id) != 0);
		/* a fault on fewer storage types says why */
		if (f->storage != VECS_FS_ALL)
			CU_ASSERT_PTR_NOT_NULL(f->storage_note);
		for (const char *c = f->id; *c; c++)
			CU_ASSERT((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
				  *c == '.' || *c == '_');
	}
	for (int l = 0; l < VECS_FL__COUNT; l++)
		CU_ASSERT(per_layer[l] >= 4);
}

static void test_rules_parse(void)
{
	for (size_t i = 0; i < vecs_faults_len; i++) {
		const struct vecs_fault *f = &vecs_faults[i];
		struct vecs_iofault_rule rules[8];
		struct vecs_err err = { 0 };
		char text[2048];
		size_t n = 0;

		if (f->kind != VECS_FK_IORULE && f->kind != VECS_FK_SWEEP)
			continue;
		fill(f->arg, text, sizeof(text));
		CU_ASSERT_EQUAL(vecs_iofault_parse(text, rules, 8, &n, &err), 0);
		if (err.msg[0])
			fprintf(stderr, "%s: %s\n", f->id, err.msg);
		CU_ASSERT_EQUAL(n, 1);
		if (f->kind == VECS_FK_SWEEP) {
			CU_ASSERT(f->sweep >= 2);
			CU_ASSERT_PTR_NOT_NULL(strstr(f->arg, "@N@"));
		}
	}
}

/* Every corruption target is a fault, and every corruption fault a target. */
static void test_corruption_complete(void)
{
	for (size_t t = 0; t < vecs_corrupt_n_targets; t++) {
		char id[64];
		snprintf(id, sizeof(id), "corrupt-%s", vecs_corrupt_targets[t].id);
		CU_ASSERT_PTR_NOT_NULL(vecs_fault_find(id));
		if (!vecs_fault_find(id))
			fprintf(stderr, "no fault %s\n", id);
	}
	for (size_t i = 0; i < vecs_faults_len; i++)
		if (vecs_faults[i].kind == VECS_FK_CORRUPT)
			CU_ASSERT_PTR_NOT_NULL(vecs_corrupt_find(vecs_faults[i].arg));
}

static void test_parse_id(void)
{
	unsigned p = 99;

	CU_ASSERT_PTR_EQUAL(vecs_fault_parse_id("crash-sweep-create@3", &p),
			    vecs_fault_find("crash-sweep-create"));
	CU_ASSERT_EQUAL(p, 3);
	CU_ASSERT_PTR_EQUAL(vecs_fault_parse_id("io-eio-write-deploy", &p),
			    vecs_fault_find("io-eio-write-deploy"));
	CU_ASSERT_EQUAL(p, 0);
	CU_ASSERT_PTR_NULL(vecs_fault_parse_id("crash-sweep-create@0", &p));
	CU_ASSERT_PTR_NULL(vecs_fault_parse_id("crash-sweep-create@x", &p));
	CU_ASSERT_PTR_NULL(vecs_fault_parse_id("no-such-fault", &p));
}

static void test_cells(void)
{
	struct vecs_scenario_set set;
	struct vecs_err err = { 0 };
	struct vecs_expand_opts o = { .run_seed = "0123456789abcdef" };
	struct vecs_fault_cells fc;
	char dir[PATH_MAX];
	size_t want = 0, sweep_cells = 0;

	vecs_scenarios_dir_default(dir, sizeof(dir));
	CU_ASSERT_FATAL(vecs_scenario_set_load(dir, &set, &err) == 0);
	CU_ASSERT_FATAL(vecs_fault_cells_build(dir, &set, &o, &fc, &err) == 0);
	for (size_t i = 0; i < vecs_faults_len; i++)
		for (int st = 0; st < VECS_STORAGE_COUNT; st++)
			if (vecs_faults[i].storage & (1u << st))
				want += vecs_faults[i].kind == VECS_FK_SWEEP
						? vecs_fault_sweep_points(&vecs_faults[i], st)
						: 1;
	CU_ASSERT_EQUAL(fc.n, want);
	CU_ASSERT_EQUAL(fc.n_expanded, want);
	for (size_t i = 0; i < fc.n; i++) {
		const struct vecs_fault *f = fc.faults[i];
		CU_ASSERT_STRING_EQUAL(fc.cells[i].scenario->id, f->base);
		CU_ASSERT_EQUAL(strncmp(fc.cells[i].id, fc.names[i], strlen(fc.names[i])), 0);
		CU_ASSERT(f->storage & (1u << vecs_storage_index(fc.cells[i].storage)));
		sweep_cells += fc.points[i] != 0;
		CU_ASSERT_EQUAL(fc.points[i] != 0, f->kind == VECS_FK_SWEEP);
	}
	CU_ASSERT(sweep_cells > 0);
	vecs_fault_cells_free(&fc);

	/* --only and --storage select; the seed of a cell depends on its id only */
	o.only = "crash-sweep-create@*/smp/*";
	CU_ASSERT_FATAL(vecs_fault_cells_build(dir, &set, &o, &fc, &err) == 0);
	CU_ASSERT_EQUAL(fc.n, vecs_fault_find("crash-sweep-create")->sweep);
	CU_ASSERT_STRING_EQUAL(fc.cells[0].id, "crash-sweep-create@1/smp/cloudstack-4.18");
	{
		char seed[VECS_SEED_HEX + 1];
		vecs_cell_seed(o.run_seed, fc.cells[0].id, seed);
		CU_ASSERT_STRING_EQUAL(fc.cells[0].seed, seed);
	}
	vecs_fault_cells_free(&fc);
	vecs_scenario_set_free(&set);
}

static CU_TestInfo tests[] = {
	{ "at least 40 kinds, unique ids, every layer", test_catalog_shape },
	{ "every I/O rule parses", test_rules_parse },
	{ "corruption faults cover every corrupt.h target", test_corruption_complete },
	{ "fault ids with sweep points", test_parse_id },
	{ "cells: fault x storage x sweep point, --only", test_cells },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(faults, "faults: catalog and cells", tests)
