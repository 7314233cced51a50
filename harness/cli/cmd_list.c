/* `vecs list`: the scenarios and the fault catalog a run can choose from. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "engine/scenario.h"
#include "util/json_writer.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vecs list [--faults] [--json] [--scenarios DIR]\n"
		"\n"
		"Lists the scenarios of the support matrix (scenarios/matrix/*.yaml): operation\n"
		"id, the answer the seed's matrix expects (supported or refused), the storage types\n"
		"and profiles each expands over, and what it needs (hosts, pools, a guest). Loading\n"
		"checks every file strictly; an error names FILE:LINE:COLUMN.\n"
		"\n"
		"  --faults         list the fault catalog instead (harness/faults/catalog.c):\n"
		"                   id, layer, where it applies, what the faulted step must do\n"
		"  --json           machine-readable output\n"
		"  --scenarios DIR  the scenarios tree (default: $VECS_SCENARIOS, else the tree\n"
		"                   next to this executable, else ./scenarios)\n"
		"\n"
		"Exit status: 0 listed; 2 usage error or a scenario file does not load.\n");
}

static void storage_list(const struct vecs_scenario *sc, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int k = 0; k < VECS_STORAGE_COUNT; k++)
		if (sc->storage[k] && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "",
					      vecs_storage_types[k]);
}

static void print_json(const char *dir, const struct vecs_scenario_set *set)
{
	struct json_writer w;

	jw_init(&w, stdout, true);
	jw_obj_begin(&w);
	jw_kv_str(&w, "scenarios_dir", dir);
	jw_key(&w, "profiles");
	jw_arr_begin(&w);
	for (size_t i = 0; i < set->n_profiles; i++) {
		const struct vecs_run_profile *p = &set->profiles[i];
		jw_obj_begin(&w);
		jw_kv_str(&w, "id", p->id);
		jw_kv_str(&w, "title", p->title);
		jw_kv_str(&w, "kdf", p->kdf);
		jw_kv_str(&w, "oracle_profile", p->oracle_profile);
		jw_kv_bool(&w, "default", p->is_default);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "scenarios");
	jw_arr_begin(&w);
	for (size_t i = 0; i < set->n; i++) {
		const struct vecs_scenario *sc = &set->scenarios[i];
		jw_obj_begin(&w);
		jw_kv_str(&w, "operation", sc->id);
		jw_kv_str(&w, "title", sc->title);
		if (sc->matrix_row)
			jw_kv_str(&w, "matrix_row", sc->matrix_row);
		else
			jw_kv_null(&w, "matrix_row");
		jw_kv_str(&w, "expected", vecs_expected_name(sc->expected));
		jw_key(&w, "storage");
		jw_arr_begin(&w);
		for (int k = 0; k < VECS_STORAGE_COUNT; k++)
			if (sc->storage[k])
				jw_str(&w, vecs_storage_types[k]);
		jw_arr_end(&w);
		jw_key(&w, "profiles");
		jw_arr_begin(&w);
		for (size_t k = 0; k < set->n_profiles; k++) {
			bool in = !sc->profiles;
			for (size_t j = 0; j < sc->n_profiles; j++)
				in = in || !strcmp(sc->profiles[j], set->profiles[k].id);
			if (in)
				jw_str(&w, set->profiles[k].id);
		}
		jw_arr_end(&w);
		jw_key(&w, "needs");
		jw_obj_begin(&w);
		jw_kv_uint(&w, "hosts", sc->needs.hosts);
		jw_kv_uint(&w, "pools", sc->needs.pools);
		jw_kv_bool(&w, "guest", sc->needs.guest);
		jw_obj_end(&w);
		jw_kv_uint(&w, "steps", sc->n_steps);
		jw_key(&w, "operation_steps");
		jw_arr_begin(&w);
		for (size_t k = 0; k < sc->n_steps; k++)
			if (sc->steps[k].operation)
				jw_str(&w, sc->steps[k].id);
		jw_arr_end(&w);
		jw_key(&w, "invariants");
		jw_arr_begin(&w);
		for (int k = 0; k < VECS_INV__COUNT; k++)
			if (sc->invariants & (1u << k))
				jw_str(&w, vecs_invariant_name((enum vecs_invariant)k));
		jw_arr_end(&w);
		if (sc->note)
			jw_kv_str(&w, "note", sc->note);
		jw_kv_str(&w, "file", sc->path);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	fputc('\n', stdout);
}

static void print_text(const char *dir, const struct vecs_scenario_set *set)
{
	printf("%zu scenarios in %s\n\n", set->n, dir);
	printf("%-27s %-10s %-21s %-16s %s\n", "OPERATION", "EXPECTED", "STORAGE", "NEEDS",
	       "SEED'S MATRIX ROW");
	for (size_t i = 0; i < set->n; i++) {
		const struct vecs_scenario *sc = &set->scenarios[i];
		char st[64], needs[64];
		storage_list(sc, st, sizeof(st));
		snprintf(needs, sizeof(needs), "%uh %up%s", sc->needs.hosts, sc->needs.pools,
			 sc->needs.guest ? " guest" : "");
		printf("%-27s %-10s %-21s %-16s %s\n", sc->id, vecs_expected_name(sc->expected), st,
		       needs, sc->matrix_row ? sc->matrix_row : "-");
	}
	printf("\nprofiles:\n");
	for (size_t i = 0; i < set->n_profiles; i++)
		printf("  %-28s kdf %-10s %s%s\n", set->profiles[i].id, set->profiles[i].kdf,
		       set->profiles[i].title, set->profiles[i].is_default ? " (default)" : "");
	printf("\nNEEDS: KVM hosts (h) and primary storage pools of the cell's type (p) with\n"
	       "encryption support; guest = boots the tiny guest for the guest-visible path.\n");
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "faults", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "scenarios", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vecs_scenario_set set;
	struct vecs_err err = { 0 };
	char dirbuf[PATH_MAX];
	const char *dir = NULL;
	bool faults = false, json = false;
	int o;

	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case 'f': faults = true; break;
		case 'j': json = true; break;
		case 'S': dir = optarg; break;
		case 'h': usage(stdout); return VECS_EXIT_OK;
		case ':':
			fprintf(stderr, "vecs list: %s needs a value; `vecs list --help` explains it\n",
				argv[optind - 1]);
			return VECS_EXIT_USAGE;
		default:
			fprintf(stderr, "vecs list: unknown option '%s'; `vecs list --help` lists "
				"the options\n", argv[optind - 1]);
			return VECS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vecs list: unexpected argument '%s'\n", argv[optind]);
		return VECS_EXIT_USAGE;
	}
	if (!dir)
		dir = vecs_scenarios_dir_default(dirbuf, sizeof(dirbuf));
	if (vecs_scenario_set_load(dir, &set, &err)) {
		fprintf(stderr, "vecs list: %s\n", err.msg);
		return VECS_EXIT_USAGE;
	}
	if (faults) {
		int rc = list_faults(dir, &set, json);
		vecs_scenario_set_free(&set);
		return rc;
	}
	if (json)
		print_json(dir, &set);
	else
		print_text(dir, &set);
	vecs_scenario_set_free(&set);
	return VECS_EXIT_OK;
}
