/* Scenario loader (engine/scenario.h): valid files, each kind of error with its
 * line:column, the real scenarios/ tree, and the matrix table against the seed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scenario.h"
#include "tests/test_registry.h"

/* A small valid scenario; the error tests below change one thing in it. */
static const char *const good =
	"id: resize-volume\n"                                      /* 1 */
	"title: Resize\n"                                          /* 2 */
	"matrix_row: Resize Volume\n"                              /* 3 */
	"expected: supported\n"                                    /* 4 */
	"storage: [nfs, scaleio]\n"                                /* 5 */
	"needs: {hosts: 1, guest: true}\n"                         /* 6 */
	"invariants: [no_plaintext_at_rest, passphrase_unlocks]\n" /* 7 */
	"steps:\n"                                                 /* 8 */
	"  - id: vol\n"                                            /* 9 */
	"    call: createVolume\n"                                 /* 10 */
	"    async: true\n"                                        /* 11 */
	"    params:\n"                                            /* 12 */
	"      name: v-${cell.slug}\n"                             /* 13 */
	"      zoneid: ${env.zoneid}\n"                            /* 14 */
	"    bind: {data: volume}\n"                               /* 15 */
	"  - id: w\n"                                              /* 16 */
	"    checkpoint: write_canary\n"                           /* 17 */
	"    label: a\n"                                           /* 18 */
	"    volume: ${data.id}\n"                                 /* 19 */
	"    size: 64K\n"                                          /* 20 */
	"  - id: resize\n"                                         /* 21 */
	"    call: resizeVolume\n"                                 /* 22 */
	"    operation: true\n"                                    /* 23 */
	"    params:\n"                                            /* 24 */
	"      id: ${steps.vol.volume.id}\n"                       /* 25 */
	"      size: 2\n"                                          /* 26 */
	"    expect:\n"                                            /* 27 */
	"      success: {volume.size: 2147483648}\n"               /* 28 */
	"    invariants:\n"                                        /* 29 */
	"      - passphrase_unchanged: {volume: '${data.id}'}\n"   /* 30 */
	"  - id: v\n"                                              /* 31 */
	"    checkpoint: verify_canary\n"                          /* 32 */
	"    label: a\n"                                           /* 33 */
	"    volume: ${data.id}\n";                                /* 34 */

static void test_valid(void)
{
	struct vecs_scenario sc;
	struct vecs_err err = { 0 };

	CU_ASSERT_EQUAL_FATAL(vecs_scenario_load_string("t.yaml", good, &sc, &err), 0);
	CU_ASSERT_STRING_EQUAL(sc.id, "resize-volume");
	CU_ASSERT_EQUAL(sc.expected, VECS_EXPECT_SUPPORTED);
	CU_ASSERT(sc.storage[0] && !sc.storage[1] && !sc.storage[2] && sc.storage[3]);
	CU_ASSERT_EQUAL(sc.needs.hosts, 1);
	CU_ASSERT_EQUAL(sc.needs.pools, 1);
	CU_ASSERT(sc.needs.guest);
	CU_ASSERT_EQUAL(sc.invariants, (1u << VECS_INV_NO_PLAINTEXT_AT_REST) |
					       (1u << VECS_INV_PASSPHRASE_UNLOCKS));
	CU_ASSERT_EQUAL_FATAL(sc.n_steps, 4);
	CU_ASSERT_EQUAL(sc.steps[0].kind, VECS_STEP_API);
	CU_ASSERT(sc.steps[0].async);
	CU_ASSERT_EQUAL(sc.steps[0].n_params, 2);
	CU_ASSERT_STRING_EQUAL(sc.steps[0].params[1].name, "zoneid");
	CU_ASSERT_STRING_EQUAL(sc.steps[0].params[1].value, "${env.zoneid}");
	CU_ASSERT_EQUAL(sc.steps[0].params[1].pos.line, 14);
	CU_ASSERT_EQUAL(sc.steps[0].params[1].pos.col, 15);
	CU_ASSERT_STRING_EQUAL(sc.steps[0].binds[0].name, "data");
	CU_ASSERT_EQUAL(sc.steps[1].kind, VECS_STEP_CHECKPOINT);
	CU_ASSERT_EQUAL(sc.steps[1].checkpoint, VECS_CP_WRITE_CANARY);
	CU_ASSERT_EQUAL(sc.steps[1].size, 64 * 1024);
	CU_ASSERT(sc.steps[2].operation);
	CU_ASSERT_STRING_EQUAL(sc.steps[2].fields[0].name, "volume.size");
	CU_ASSERT_STRING_EQUAL(sc.steps[2].fields[0].value, "2147483648");
	CU_ASSERT_EQUAL(sc.steps[2].invariants[0].inv, VECS_INV_PASSPHRASE_UNCHANGED);
	CU_ASSERT_STRING_EQUAL(sc.steps[2].invariants[0].volume, "${data.id}");
	/* verify_canary takes offset and size from its write_canary */
	CU_ASSERT_EQUAL(sc.steps[3].size, 64 * 1024);
	CU_ASSERT(sc.steps[3].present);
	vecs_scenario_free(&sc);
}

/* Replace the first occurrence of `from` in good with `to` and expect an error whose
 * message starts with "t.yaml:LINE:COL: " and contains `what`. */
static void expect_error(const char *from, const char *to, int line, int col, const char *what)
{
	const char *at = strstr(good, from);
	struct vecs_scenario sc;
	struct vecs_err err = { 0 };
	char yaml[4096], prefix[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	snprintf(yaml, sizeof(yaml), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	CU_ASSERT_NOT_EQUAL(vecs_scenario_load_string("t.yaml", yaml, &sc, &err), 0);
	snprintf(prefix, sizeof(prefix), "t.yaml:%d:%d: ", line, col);
	if (strncmp(err.msg, prefix, strlen(prefix)) || !strstr(err.msg, what)) {
		fprintf(stderr, "\n  want %s...%s\n  got  %s\n", prefix, what, err.msg);
		CU_FAIL("error message");
	}
}

static void test_errors(void)
{
	expect_error("title: Resize\n", "title: Resize\nstpes: []\n", 3, 1,
		     "unknown key 'stpes' in a scenario");
	expect_error("expected: supported", "expected: yes", 4, 11,
		     "expected must be supported or refused, not 'yes'");
	expect_error("expected: supported", "expected: refused", 4, 11,
		     "contradicts the seed's support matrix ('Resize Volume': Yes)");
	expect_error("matrix_row: Resize Volume", "matrix_row: Resize volume", 3, 13,
		     "not an operation of the seed's support matrix");
	expect_error("[nfs, scaleio]", "[nfs, ceph]", 5, 16, "unknown storage type 'ceph'");
	expect_error("[nfs, scaleio]", "[nfs, nfs]", 5, 16, "listed twice");
	expect_error("hosts: 1", "hosts: many", 6, 16, "needs.hosts must be a whole number");
	expect_error("hosts: 1", "hosts: 9", 6, 16, "between 1 and 8");
	expect_error("guest: true", "guest: yes", 6, 26, "needs.guest must be true or false");
	expect_error("passphrase_unlocks]", "passphrase_unlock]", 7, 36,
		     "unknown invariant 'passphrase_unlock'");
	expect_error("      zoneid: ${env.zoneid}", "      zoneid: ${env.zone}", 14, 15,
		     "undefined reference '${env.zone}'");
	expect_error("      name: v-${cell.slug}", "      name: v-${cell.slug", 13, 13,
		     "unterminated reference");
	/* a reference to a step that has not run yet at that point */
	expect_error("      name: v-${cell.slug}", "      name: ${steps.resize.volume.id}", 13, 13,
		     "step 'resize' has not run yet");
	expect_error("    volume: ${data.id}\n    size", "    volume: ${date.id}\n    size", 16, 5,
		     "undefined reference '${date.id}'");
	expect_error("      id: ${steps.vol.volume.id}", "      id: ${steps.vl.volume.id}", 25, 11,
		     "no step 'vl'");
	expect_error("  - id: w\n", "  - id: vol\n", 16, 9, "step id 'vol' is already used");
	expect_error("    checkpoint: write_canary", "    checkpoint: write_canery", 17, 17,
		     "unknown checkpoint 'write_canery'");
	expect_error("    label: a\n    volume: ${data.id}\n", "    label: b\n    volume: ${data.id}\n",
		     33, 12, "no earlier write_canary has label 'a'");
	expect_error("    size: 64K", "    size: 64Q", 20, 11, "suffix K, M or G");
	expect_error("    async: true", "    async: 1", 11, 12, "async must be true or false");
	expect_error("    async: true", "    async: true\n    async: false", 12, 5,
		     "duplicate key 'async'");
	expect_error("    call: resizeVolume", "    call: resize Volume", 22, 11,
		     "not a CloudStack API command name");
	expect_error("      success: {volume.size: 2147483648}",
		     "      refused: {errorcode: 431, errortext: x}", 21, 5,
		     "operation step 'resize' must expect success");
	expect_error("      success: {volume.size: 2147483648}", "      refused: {errorcode: 99}",
		     28, 28, "errorcode must be between 400 and 599");
	expect_error("    operation: true\n", "", 9, 3, "no step is marked 'operation: true'");
	expect_error("  - id: v\n    checkpoint: verify_canary\n    label: a\n    volume: ${data.id}\n",
		     "", 9, 3,
		     "needs a write_canary before its operation and a verify_canary");
	expect_error("    bind: {data: volume}", "    bind: {env: volume}", 15, 12,
		     "'env' is reserved");
	expect_error("      - passphrase_unchanged: {volume: '${data.id}'}",
		     "      - passphrase_unchanged: {volumes: x}", 30, 32, "unknown key 'volumes'");
	expect_error("  - id: w\n    checkpoint: write_canary\n", "  - id: w\n", 16, 5,
		     "needs exactly one of 'call'");
	expect_error("    params:\n      name: v-${cell.slug}\n      zoneid: ${env.zoneid}\n",
		     "    params: [a]\n", 12, 13,
		     "params must be a mapping, not a list");
	expect_error("steps:\n", "steps: {\n", 9, 3, "YAML syntax");
}

static void test_refused_rules(void)
{
	const char *yaml =
		"id: download-volume\n"
		"title: Download\n"
		"matrix_row: Download Volume\n"
		"expected: refused\n"
		"steps:\n"
		"  - id: s\n"
		"    checkpoint: snapshot_state\n"
		"    label: before\n"
		"  - id: x\n"
		"    call: extractVolume\n"
		"    operation: true\n"
		"    params: {id: '${env.poolid}', mode: HTTP_DOWNLOAD}\n"
		"    expect:\n"
		"      refused:\n"
		"        errorcode: 431\n"
		"        errortext: Extraction of encrypted volumes is unsupported\n"
		"  - id: u\n"
		"    checkpoint: verify_unchanged\n"
		"    label: before\n";
	struct vecs_scenario sc;
	struct vecs_err err = { 0 };
	char bad[2048];

	CU_ASSERT_EQUAL_FATAL(vecs_scenario_load_string("r.yaml", yaml, &sc, &err), 0);
	CU_ASSERT_EQUAL(sc.expected, VECS_EXPECT_REFUSED);
	CU_ASSERT(sc.steps[1].expect_refused);
	CU_ASSERT_EQUAL(sc.steps[1].errorcode, 431);
	CU_ASSERT_STRING_EQUAL(sc.steps[1].errortext, "Extraction of encrypted volumes is unsupported");
	vecs_scenario_free(&sc);
	/* without the final verify_unchanged: "nothing changed" is not checked */
	snprintf(bad, sizeof(bad), "%.*s", (int)(strstr(yaml, "  - id: u") - yaml), yaml);
	CU_ASSERT_NOT_EQUAL(vecs_scenario_load_string("r.yaml", bad, &sc, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "r.yaml:6:3: a refused scenario needs a "
					       "snapshot_state"));
	/* an empty file and two documents */
	CU_ASSERT_NOT_EQUAL(vecs_scenario_load_string("e.yaml", "", &sc, &err), 0);
	CU_ASSERT_STRING_EQUAL(err.msg, "e.yaml: the file is empty");
	snprintf(bad, sizeof(bad), "%s---\nid: x\n", yaml);
	CU_ASSERT_NOT_EQUAL(vecs_scenario_load_string("d.yaml", bad, &sc, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "d.yaml:20:1: a second YAML document"));
}

static void test_profile(void)
{
	const char *yaml = "id: p\ntitle: P\noracle_profile: cloudstack-4.18\nkdf: fast\n"
			   "encrypt_format: luks\n"
			   "luks: {version: 1, cipher: aes, mode: xts-plain64, key_bytes: 64, "
			   "hash: sha256, active_keyslots: 1}\n"
			   "passphrase: {random_bytes: 48, encoding: base64, length: 64}\n";
	struct vecs_run_profile p;
	struct vecs_err err = { 0 };
	char bad[1024];

	CU_ASSERT_EQUAL_FATAL(vecs_run_profile_load_string("p.yaml", yaml, &p, &err), 0);
	CU_ASSERT_STRING_EQUAL(p.kdf, "fast");
	CU_ASSERT_EQUAL(p.key_bytes, 64);
	CU_ASSERT_EQUAL(p.passphrase_length, 64);
	vecs_run_profile_free(&p);
	/* the profile must agree with the oracle that judges the headers */
	snprintf(bad, sizeof(bad), "%s", yaml);
	memcpy(strstr(bad, "sha256"), "sha512", 6);
	CU_ASSERT_NOT_EQUAL(vecs_run_profile_load_string("p.yaml", bad, &p, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "p.yaml:6:7: luks settings disagree with oracle "
					       "profile 'cloudstack-4.18'"));
	snprintf(bad, sizeof(bad), "%s", yaml);
	memcpy(strstr(bad, "kdf: fast"), "kdf: slow", 9);
	CU_ASSERT_NOT_EQUAL(vecs_run_profile_load_string("p.yaml", bad, &p, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "p.yaml:4:6: kdf must be fast or production"));
	snprintf(bad, sizeof(bad), "%s", yaml);
	memcpy(strstr(bad, "length: 64"), "length: 63", 10);
	CU_ASSERT_NOT_EQUAL(vecs_run_profile_load_string("p.yaml", bad, &p, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not the base64 length of 48 bytes"));
}

/* guest_report: the guest's own write_canary (its label is verify_canary's), needs vm. */
static void test_guest_report(void)
{
	static const char *const w = "    checkpoint: write_canary\n    label: a\n";
	static const char *const g = "    checkpoint: guest_report\n    label: a\n    vm: ${data.id}\n";
	const char *at = strstr(good, w);
	struct vecs_scenario sc;
	struct vecs_err err = { 0 };
	char yaml[4096];

	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	snprintf(yaml, sizeof(yaml), "%.*s%s%s", (int)(at - good), good, g, at + strlen(w));
	CU_ASSERT_EQUAL_FATAL(vecs_scenario_load_string("t.yaml", yaml, &sc, &err), 0);
	CU_ASSERT_EQUAL(sc.steps[1].checkpoint, VECS_CP_GUEST_REPORT);
	CU_ASSERT_STRING_EQUAL(vecs_checkpoint_name(sc.steps[1].checkpoint), "guest_report");
	CU_ASSERT_EQUAL(sc.steps[1].size, 64 * 1024);
	CU_ASSERT_STRING_EQUAL(sc.steps[1].vm, "${data.id}");
	/* the verify_canary takes offset and size from the guest_report */
	CU_ASSERT_EQUAL(sc.steps[3].size, 64 * 1024);
	vecs_scenario_free(&sc);

	/* without vm there is no serial log to read */
	snprintf(yaml, sizeof(yaml), "%.*s%s%s", (int)(at - good), good,
		 "    checkpoint: guest_report\n    label: a\n", at + strlen(w));
	CU_ASSERT_NOT_EQUAL(vecs_scenario_load_string("t.yaml", yaml, &sc, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "a guest_report needs 'vm'"));
	/* one label space with write_canary */
	snprintf(yaml, sizeof(yaml), "%.*s%s%s%s", (int)(at - good), good, g,
		 "    volume: ${data.id}\n  - id: w2\n" "    checkpoint: write_canary\n    label: a\n",
		 at + strlen(w));
	CU_ASSERT_NOT_EQUAL(vecs_scenario_load_string("t.yaml", yaml, &sc, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "already used by an earlier write_canary or guest_report"));
}

/* The shipped tree: 19 matrix scenarios, one per seed row, with the seed's answer, then
 * guest/guest-transparency (no matrix row) on every storage type. */
static void test_tree(void)
{
	static const char *const refused[] = { "instance-snapshot", "volume-snapshot-running",
					       "recurring-snapshot", "download-volume",
					       "recurring-volume-snapshots", "template-from-snapshot",
					       "volume-from-snapshot" };
	struct vecs_scenario_set set;
	struct vecs_err err = { 0 };
	char dir[4096];
	int r = vecs_scenario_set_load(vecs_scenarios_dir_default(dir, sizeof(dir)), &set, &err);

	if (r)
		fprintf(stderr, "\n  %s\n", err.msg);
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_EQUAL_FATAL(set.n, 20);
	CU_ASSERT_EQUAL(set.n_profiles, 2);
	CU_ASSERT_STRING_EQUAL(vecs_scenario_set_default_profile(&set)->id, "cloudstack-4.18");
	CU_ASSERT_STRING_EQUAL(vecs_scenario_set_profile(&set, "cloudstack-4.18-production")->kdf,
			       "production");
	const struct vecs_scenario *g = &set.scenarios[19];
	CU_ASSERT_STRING_EQUAL(g->id, "guest-transparency");
	CU_ASSERT_PTR_NULL(g->matrix_row);
	CU_ASSERT_EQUAL(g->expected, VECS_EXPECT_SUPPORTED);
	for (int k = 0; k < VECS_STORAGE_COUNT; k++)
		CU_ASSERT(g->storage[k]);
	for (size_t i = 0; i < 19; i++) {
		const struct vecs_scenario *sc = &set.scenarios[i];
		bool is_refused = false;
		/* in the seed's order, each with its row */
		CU_ASSERT_STRING_EQUAL(sc->id, vecs_matrix[i].operation);
		CU_ASSERT_STRING_EQUAL(sc->matrix_row, vecs_matrix[i].row);
		for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++)
			is_refused |= !strcmp(refused[k], sc->id);
		CU_ASSERT_EQUAL(sc->expected == VECS_EXPECT_REFUSED, is_refused);
		for (int k = 0; k < VECS_STORAGE_COUNT; k++)
			CU_ASSERT(sc->storage[k]);
	}
	vecs_scenario_set_free(&set);
}

/* The built-in matrix table is the seed's, row for row (when the seed is at hand). */
static void test_matrix_matches_seed(void)
{
	const char *fx = vecs_test_shared_fixtures();
	char path[4096], line[512];
	size_t row = 0;
	bool in_matrix = false;
	FILE *f;

	if (!fx) {
		fprintf(stderr, "\n  (shared fixtures absent: seed comparison skipped)\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/../seed/cloudstack-volume-encryption.txt", fx);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "\n  (%s absent: seed comparison skipped)\n", path);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *bar;
		if (!strncmp(line, "Operation | Is it supported?", 28)) {
			in_matrix = true;
			continue;
		}
		if (!in_matrix || !(bar = strstr(line, " | ")))
			continue;
		*bar = '\0';
		CU_ASSERT_FATAL(row < vecs_matrix_len);
		CU_ASSERT_STRING_EQUAL(line, vecs_matrix[row].row);
		CU_ASSERT_EQUAL(!strncmp(bar + 3, "Yes", 3), vecs_matrix[row].supported);
		CU_ASSERT(!strncmp(bar + 3, "Yes", 3) || !strncmp(bar + 3, "No", 2));
		row++;
	}
	fclose(f);
	CU_ASSERT_EQUAL(row, vecs_matrix_len);
}

static CU_TestInfo tests[] = {
	{ "valid scenario", test_valid },
	{ "errors name line:column", test_errors },
	{ "refused scenario rules", test_refused_rules },
	{ "profiles", test_profile },
	{ "guest_report checkpoint", test_guest_report },
	{ "shipped scenarios tree", test_tree },
	{ "matrix table = seed", test_matrix_matches_seed },
	CU_TEST_INFO_NULL,
};
VECS_SUITE(scenario, "engine: scenario loader", tests)
