/* Expansion, filters, shards and seeds (engine/expand.h); references and refusal
 * patterns (engine/template.h). Runs on the shipped scenarios/ tree. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/expand.h"
#include "engine/template.h"
#include "tests/test_registry.h"

static struct vecs_scenario_set set;
static const char *const seed = "00112233445566ff";

static int load(void)
{
	struct vecs_err err = { 0 };
	char dir[4096];

	if (vecs_scenario_set_load(vecs_scenarios_dir_default(dir, sizeof(dir)), &set, &err)) {
		fprintf(stderr, "engine expand suite: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int unload(void)
{
	vecs_scenario_set_free(&set);
	return 0;
}

static size_t expand(struct vecs_expand_opts *o, struct vecs_cell_list *l)
{
	struct vecs_err err = { 0 };

	if (!o->run_seed)
		o->run_seed = seed;
	CU_ASSERT_EQUAL_FATAL(vecs_expand(&set, o, l, &err), 0);
	return l->n;
}

static void test_full_matrix(void)
{
	struct vecs_expand_opts o = { 0 };
	struct vecs_cell_list l;

	/* 19 matrix scenarios and guest/guest-transparency, on 4 storage types */
	CU_ASSERT_EQUAL(expand(&o, &l), 80);
	CU_ASSERT_EQUAL(l.n_expanded, 80);
	CU_ASSERT_STRING_EQUAL(l.cells[0].id, "start-stop-instance/nfs/cloudstack-4.18");
	CU_ASSERT_STRING_EQUAL(l.cells[0].slug, "start-stop-instance-nfs-cloudstack-4-18");
	CU_ASSERT_STRING_EQUAL(l.cells[1].id, "start-stop-instance/local/cloudstack-4.18");
	CU_ASSERT_STRING_EQUAL(l.cells[75].id, "volume-from-snapshot/scaleio/cloudstack-4.18");
	CU_ASSERT_STRING_EQUAL(l.cells[79].id, "guest-transparency/scaleio/cloudstack-4.18");
	/* ids are unique */
	for (size_t i = 0; i < l.n; i++)
		for (size_t k = i + 1; k < l.n; k++)
			CU_ASSERT(strcmp(l.cells[i].id, l.cells[k].id) != 0);
	vecs_cell_list_free(&l);

	const char *both[] = { "cloudstack-4.18", "cloudstack-4.18-production" };
	o.profiles = both;
	o.n_profiles = 2;
	CU_ASSERT_EQUAL(expand(&o, &l), 160);
	CU_ASSERT_STRING_EQUAL(l.cells[1].id, "start-stop-instance/nfs/cloudstack-4.18-production");
	CU_ASSERT_STRING_EQUAL(l.cells[1].profile->kdf, "production");
	vecs_cell_list_free(&l);

	const char *none[] = { "cloudstack-4.19" };
	struct vecs_err err = { 0 };
	o.profiles = none;
	o.n_profiles = 1;
	CU_ASSERT_EQUAL(vecs_expand(&set, &o, &l, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no profile 'cloudstack-4.19' (known: cloudstack-4.18, "
					       "cloudstack-4.18-production)"));
}

static void test_filters(void)
{
	struct vecs_expand_opts o = { 0 };
	struct vecs_cell_list l;
	struct vecs_err err = { 0 };

	CU_ASSERT_EQUAL(vecs_parse_storage_list("nfs,scaleio", o.storage, &err), 0);
	o.storage_set = true;
	CU_ASSERT_EQUAL(expand(&o, &l), 40);
	for (size_t i = 0; i < l.n; i++)
		CU_ASSERT(!strcmp(l.cells[i].storage, "nfs") || !strcmp(l.cells[i].storage, "scaleio"));
	vecs_cell_list_free(&l);

	o.only = "resize-volume/*";
	CU_ASSERT_EQUAL(expand(&o, &l), 2);
	CU_ASSERT_STRING_EQUAL(l.cells[0].id, "resize-volume/nfs/cloudstack-4.18");
	CU_ASSERT_STRING_EQUAL(l.cells[1].id, "resize-volume/scaleio/cloudstack-4.18");
	vecs_cell_list_free(&l);

	o.storage_set = false;
	o.only = "*/smp/*,migrate-*";
	CU_ASSERT_EQUAL(expand(&o, &l), 20 + 8 - 2);
	vecs_cell_list_free(&l);
	o.only = "*snapshot*/local/*";
	CU_ASSERT_EQUAL(expand(&o, &l), 8);
	vecs_cell_list_free(&l);
	o.only = "nothing-like-this";
	CU_ASSERT_EQUAL(expand(&o, &l), 0);
	CU_ASSERT_EQUAL(l.n_expanded, 80);
	vecs_cell_list_free(&l);

	CU_ASSERT_NOT_EQUAL(vecs_parse_storage_list("nfs,ceph", o.storage, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown storage type 'ceph'"));
	CU_ASSERT_NOT_EQUAL(vecs_parse_storage_list(",", o.storage, &err), 0);
}

static void test_shards(void)
{
	struct vecs_expand_opts o = { 0 };
	struct vecs_cell_list all, part;
	unsigned i, n;
	struct vecs_err err = { 0 };

	expand(&o, &all);
	for (unsigned count = 1; count <= 9; count++) {
		int *seen = calloc(all.n, sizeof(int));
		size_t total = 0;
		CU_ASSERT_FATAL(seen != NULL);
		for (unsigned s = 1; s <= count; s++) {
			o.shard_index = s;
			o.shard_count = count;
			expand(&o, &part);
			total += part.n;
			for (size_t c = 0; c < part.n; c++)
				for (size_t a = 0; a < all.n; a++)
					if (!strcmp(part.cells[c].id, all.cells[a].id))
						seen[a]++;
			vecs_cell_list_free(&part);
		}
		/* a partition: every cell in exactly one shard */
		CU_ASSERT_EQUAL(total, all.n);
		for (size_t a = 0; a < all.n; a++)
			CU_ASSERT_EQUAL(seen[a], 1);
		free(seen);
	}
	/* a cell's shard depends on its id alone (stable when scenarios are added) */
	CU_ASSERT_EQUAL(vecs_cell_shard("resize-volume/nfs/cloudstack-4.18", 4),
			vecs_cell_shard("resize-volume/nfs/cloudstack-4.18", 4));
	/* and the split is not degenerate: 4 shards of 76 cells each get some */
	for (unsigned s = 1; s <= 4; s++) {
		o.shard_index = s;
		o.shard_count = 4;
		CU_ASSERT(expand(&o, &part) >= 8);
		vecs_cell_list_free(&part);
	}
	vecs_cell_list_free(&all);

	CU_ASSERT_EQUAL(vecs_parse_shard("2/4", &i, &n, &err), 0);
	CU_ASSERT(i == 2 && n == 4);
	CU_ASSERT_NOT_EQUAL(vecs_parse_shard("0/4", &i, &n, &err), 0);
	CU_ASSERT_NOT_EQUAL(vecs_parse_shard("5/4", &i, &n, &err), 0);
	CU_ASSERT_NOT_EQUAL(vecs_parse_shard("1/4x", &i, &n, &err), 0);
	CU_ASSERT_NOT_EQUAL(vecs_parse_shard("-1/4", &i, &n, &err), 0);
	CU_ASSERT_NOT_EQUAL(vecs_parse_shard("1/0", &i, &n, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "must be I/N"));
}

static void test_seeds(void)
{
	struct vecs_expand_opts o = { 0 };
	struct vecs_cell_list a, b, c;
	char s1[17], s2[17];
	struct vecs_err err = { 0 };

	expand(&o, &a);
	expand(&o, &b);
	o.run_seed = "ffeeddccbbaa9988";
	expand(&o, &c);
	for (size_t i = 0; i < a.n; i++) {
		CU_ASSERT_STRING_EQUAL(a.cells[i].seed, b.cells[i].seed);
		CU_ASSERT(strcmp(a.cells[i].seed, c.cells[i].seed) != 0);
		CU_ASSERT(vecs_seed_valid(a.cells[i].seed));
		if (i)
			CU_ASSERT(strcmp(a.cells[i].seed, a.cells[i - 1].seed) != 0);
	}
	/* a cell's seed does not depend on which other cells run */
	vecs_cell_list_free(&c);
	o.run_seed = NULL;
	o.only = "resize-volume/nfs/*";
	expand(&o, &c);
	for (size_t i = 0; i < a.n; i++)
		if (!strcmp(a.cells[i].id, c.cells[0].id))
			CU_ASSERT_STRING_EQUAL(a.cells[i].seed, c.cells[0].seed);
	vecs_cell_list_free(&a);
	vecs_cell_list_free(&b);
	vecs_cell_list_free(&c);
	/* known answer: SHA-256("vecs-cell-seed:00112233445566ff:x")[:8] */
	vecs_cell_seed(seed, "x", s1);
	CU_ASSERT_STRING_EQUAL(s1, "6d904a8bda4e79c5");
	CU_ASSERT_EQUAL(vecs_run_seed_new(s1, &err), 0);
	CU_ASSERT_EQUAL(vecs_run_seed_new(s2, &err), 0);
	CU_ASSERT(vecs_seed_valid(s1) && strcmp(s1, s2) != 0);
	CU_ASSERT(!vecs_seed_valid("0011223344556677a"));
	CU_ASSERT(!vecs_seed_valid("001122334455667G"));
	CU_ASSERT(!vecs_seed_valid("00112233445566FF"));
}

/* --- templates ---------------------------------------------------------------------- */

static int map_resolver(void *ctx, const char *ref, FILE *out, struct vecs_err *err)
{
	(void)ctx;
	if (!strcmp(ref, "vm.id"))
		fputs("1b4e28ba-2fa1-11d2-883f-0016d3cca427", out);
	else if (!strcmp(ref, "steps.create.volume.id"))
		fputs("vol-7", out);
	else
		return vecs_err_set(err, -ENOENT, "undefined reference '${%s}'", ref);
	return 0;
}

static void test_template(void)
{
	struct vecs_err err = { 0 };
	char *out;

	CU_ASSERT_EQUAL(vecs_template_expand("id=${vm.id} v=${steps.create.volume.id}", map_resolver,
					     NULL, &out, &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "id=1b4e28ba-2fa1-11d2-883f-0016d3cca427 v=vol-7");
	free(out);
	CU_ASSERT_EQUAL(vecs_template_expand("no refs, $5 and $$ {x}", map_resolver, NULL, &out,
					     &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "no refs, $5 and $$ {x}");
	free(out);
	CU_ASSERT_EQUAL(vecs_template_expand("lit $${vm.id}", map_resolver, NULL, &out, &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "lit ${vm.id}");
	free(out);
	CU_ASSERT_EQUAL(vecs_template_expand("x ${vm.name}", map_resolver, NULL, &out, &err), -ENOENT);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_STRING_EQUAL(err.msg, "undefined reference '${vm.name}'");
	CU_ASSERT_EQUAL(vecs_template_expand("x ${vm.id", map_resolver, NULL, &out, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unterminated reference"));
	CU_ASSERT_EQUAL(vecs_template_expand("${}", map_resolver, NULL, &out, &err), -EINVAL);
	CU_ASSERT_EQUAL(vecs_template_expand("${VM id}", map_resolver, NULL, &out, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "malformed reference"));
}

/* Symbolic resolution on a shipped scenario: bound names become ${steps...}, cell
 * values are filled in, env stays symbolic. */
static void test_symbolic(void)
{
	struct vecs_expand_opts o = { .only = "resize-volume/smp/*" };
	struct vecs_cell_list l;
	struct vecs_err err = { 0 };
	const struct vecs_scenario *sc;
	size_t resize = 0;
	char *out;

	CU_ASSERT_EQUAL_FATAL(expand(&o, &l), 1);
	sc = l.cells[0].scenario;
	for (size_t i = 0; i < sc->n_steps; i++)
		if (!strcmp(sc->steps[i].id, "resize"))
			resize = i;
	CU_ASSERT_FATAL(resize > 0);
	CU_ASSERT_EQUAL(vecs_template_expand_symbolic(sc, resize, &l.cells[0],
						      "${data.id} in ${env.zoneid} for ${cell.id}",
						      &out, &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "${steps.create-data.volume.id} in ${env.zoneid} for "
				    "resize-volume/smp/cloudstack-4.18");
	free(out);
	/* not visible before the step that binds it */
	CU_ASSERT_EQUAL(vecs_template_expand_symbolic(sc, 1, &l.cells[0], "${data.id}", &out, &err),
			-ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "has not run yet"));
	CU_ASSERT_EQUAL(vecs_template_expand_symbolic(sc, resize, &l.cells[0], "${cell.nope}", &out,
						      &err), -ENOENT);
	CU_ASSERT_EQUAL(vecs_template_expand_symbolic(sc, resize, &l.cells[0], "${root[0]}", &out,
						      &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "${steps.list-root.volume[0][0]}");
	free(out);
	vecs_cell_list_free(&l);
}

static void test_errortext(void)
{
	const char *p = "Encrypted volumes don't support snapshot schedules, cannot create snapshot "
			"policy for the volume [<uuid>]";

	CU_ASSERT(vecs_errortext_match(p, "Encrypted volumes don't support snapshot schedules, "
					  "cannot create snapshot policy for the volume "
					  "[1b4e28ba-2fa1-11d2-883f-0016d3cca427]"));
	CU_ASSERT(!vecs_errortext_match(p, "Encrypted volumes don't support snapshot schedules, "
					   "cannot create snapshot policy for the volume [vol-1]"));
	CU_ASSERT(vecs_errortext_match("Failed to attach volume <name> to VM <vm> because target "
				       "host <host> doesn't support volume encryption",
				       "Failed to attach volume DATA-7 to VM i-2-9-VM because target "
				       "host kvm 2 doesn't support volume encryption"));
	CU_ASSERT(vecs_errortext_match("Extraction of encrypted volumes is unsupported",
				       "Extraction of encrypted volumes is unsupported"));
	CU_ASSERT(!vecs_errortext_match("Extraction of encrypted volumes is unsupported",
					"Extraction of encrypted volumes is unsupported."));
	CU_ASSERT(!vecs_errortext_match("Extraction of encrypted volumes is unsupported",
					"extraction of encrypted volumes is unsupported"));
	/* a placeholder needs at least one character, and never a newline */
	CU_ASSERT(!vecs_errortext_match("type <type>", "type "));
	CU_ASSERT(!vecs_errortext_match("a <x> b", "a 1\n2 b"));
	CU_ASSERT(vecs_errortext_match("<message>", "anything at all"));
	/* '<' not followed by a lower-case word is literal */
	CU_ASSERT(vecs_errortext_match("a < b", "a < b"));
	CU_ASSERT(!vecs_errortext_match("a < b", "a x b"));
}

static CU_TestInfo tests[] = {
	{ "20 scenarios x 4 = 80 cells per profile", test_full_matrix },
	{ "--storage and --only", test_filters },
	{ "--shard partitions the cells", test_shards },
	{ "per-cell seeds", test_seeds },
	{ "template substitution", test_template },
	{ "symbolic references", test_symbolic },
	{ "refusal text patterns", test_errortext },
	CU_TEST_INFO_NULL,
};
VECS_SUITE_FULL(expand, "engine: expansion and references", load, unload, tests)
