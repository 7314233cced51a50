/* The runner's own logic (expectations, references, bindings, invariants, skips) with
 * a scripted in-test target: what is under test is the engine, not a system, so the
 * target here answers from a table and records what it was asked. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/runner.h"
#include "engine/scenario.h"
#include "tests/test_registry.h"

struct script {
	const char *refuse_command; /* answer this command with 431 "no such thing" */
	const char *deploy_state;   /* virtualmachine.state in deploy's answer */
	bool break_invariant;
	const char *skip;
	char last_params[512];
	int calls, checkpoints, invariants, teardowns;
};

static struct script S;

static int t_setup(void *t, const struct vecs_cell *c, const char **skip, struct vecs_err *e)
{
	*skip = S.skip;
	return 0;
}

static const char *t_env(void *t, const char *key)
{
	return !strcmp(key, "zoneid") ? "zone-1" : NULL;
}

static int t_api(void *t, const char *cmd, const struct vecs_api_param *p, size_t n, bool async,
		 unsigned timeout, struct vecs_api_result *res, struct vecs_err *e)
{
	memset(res, 0, sizeof(*res));
	S.calls++;
	if (strcmp(cmd, "createVolume"))
		goto answer;
	S.last_params[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(S.last_params, p[i].name);
		strcat(S.last_params, "=");
		strcat(S.last_params, p[i].value);
		strcat(S.last_params, ";");
	}
answer:
	if (S.refuse_command && !strcmp(cmd, S.refuse_command)) {
		res->errorcode = 431;
		res->errortext = strdup("Extraction of encrypted volumes is unsupported");
		return 0;
	}
	res->ok = true;
	if (!strcmp(cmd, "deployVirtualMachine")) {
		char *j = NULL;
		if (asprintf(&j, "{\"virtualmachine\": {\"id\": \"vm-7\", \"state\": \"%s\", \"nics\": [1, 2]}}",
			     S.deploy_state) < 0)
			return -1;
		res->json = j;
	} else {
		res->json = strdup("{\"volume\": {\"id\": \"vol-9\", \"size\": 2147483648, \"encrypted\": true}}");
	}
	return 0;
}

static int t_cp(void *t, const struct vecs_step *st, const char *vol, const char *vm,
		const char *seed, bool *passed, char **reason, struct vecs_evidence *ev,
		struct vecs_err *e)
{
	S.checkpoints++;
	if (st->checkpoint == VECS_CP_SNAPSHOT_STATE || st->checkpoint == VECS_CP_VERIFY_UNCHANGED) {
		*passed = true;
		return 0;
	}
	*passed = vol && !strcmp(vol, "vol-9") && vm && !strcmp(vm, "vm-7");
	if (!*passed)
		*reason = strdup("wrong objects");
	return 0;
}

static int t_inv(void *t, enum vecs_invariant inv, const char *vol, bool *held, char **reason,
		 struct vecs_evidence *ev, struct vecs_err *e)
{
	S.invariants++;
	*held = !S.break_invariant;
	if (!*held)
		*reason = strdup("plaintext found");
	return 0;
}

static int t_teardown(void *t, const struct vecs_cell *c, struct vecs_err *e)
{
	S.teardowns++;
	return 0;
}

static void t_free(struct vecs_api_result *r)
{
	free(r->errortext);
	free(r->json);
}

static const struct vecs_target_ops ops = {
	.name = "scripted", .setup = t_setup, .env = t_env, .api_call = t_api,
	.checkpoint = t_cp, .invariant = t_inv, .teardown = t_teardown, .free_result = t_free,
};

static const char yaml[] =
	"id: runner-test\n"
	"title: runner test\n"
	"expected: supported\n"
	"invariants: [no_plaintext_at_rest]\n"
	"steps:\n"
	"  - id: deploy\n"
	"    call: deployVirtualMachine\n"
	"    async: true\n"
	"    params:\n"
	"      zoneid: ${env.zoneid}\n"
	"      name: vecs-${cell.slug}\n"
	"    bind:\n"
	"      vm: virtualmachine\n"
	"    expect:\n"
	"      success:\n"
	"        virtualmachine.state: Running\n"
	"  - id: make\n"
	"    call: createVolume\n"
	"    params:\n"
	"      vm: ${vm.id}\n"
	"      nic: ${steps.deploy.virtualmachine.nics[1]}\n"
	"    bind:\n"
	"      data: volume\n"
	"    expect:\n"
	"      success:\n"
	"        volume.size: 2147483648\n"
	"        volume.encrypted: true\n"
	"  - id: write\n"
	"    checkpoint: write_canary\n"
	"    label: d\n"
	"    volume: ${data.id}\n"
	"    vm: ${vm.id}\n"
	"  - id: grow\n"
	"    call: resizeVolume\n"
	"    operation: true\n"
	"    params:\n"
	"      id: ${data.id}\n"
	"  - id: verify\n"
	"    checkpoint: verify_canary\n"
	"    label: d\n"
	"    volume: ${data.id}\n"
	"    vm: ${vm.id}\n";

static const char yaml_refused[] =
	"id: runner-refused\n"
	"title: runner refusal test\n"
	"expected: refused\n"
	"steps:\n"
	"  - id: make\n"
	"    call: createVolume\n"
	"    bind:\n"
	"      data: volume\n"
	"  - id: before\n"
	"    checkpoint: snapshot_state\n"
	"    label: s\n"
	"  - id: extract\n"
	"    call: extractVolume\n"
	"    operation: true\n"
	"    params:\n"
	"      id: ${data.id}\n"
	"    expect:\n"
	"      refused:\n"
	"        errorcode: 431\n"
	"        errortext: \"Extraction of encrypted <what> is unsupported\"\n"
	"  - id: after\n"
	"    checkpoint: verify_unchanged\n"
	"    label: s\n";

static struct vecs_scenario sc, sc_refused;
static struct vecs_run_profile prof = { .id = "p", .kdf = "fast" };

static int suite_init(void)
{
	struct vecs_err err = { 0 };
	int r = vecs_scenario_load_string("runner-test.yaml", yaml, &sc, &err);

	if (r == 0)
		r = vecs_scenario_load_string("runner-refused.yaml", yaml_refused, &sc_refused, &err);

	if (r < 0)
		fprintf(stderr, "runner suite: %s\n", err.msg);
	return r;
}

static int suite_clean(void)
{
	vecs_scenario_free(&sc);
	vecs_scenario_free(&sc_refused);
	return 0;
}

static void run_sc(const struct vecs_scenario *scn, struct vecs_cell_result *res, bool strict)
{
	struct vecs_cell cell = { .id = "runner-test/local/p", .slug = "runner-test-local-p",
				  .scenario = scn, .storage = "local", .profile = &prof,
				  .seed = "0123456789abcdef" };
	struct vecs_runner_opts o = { .run_id = "r", .default_timeout_s = 10, .strict = strict };

	vecs_run_cell(&cell, &ops, NULL, &o, res);
}

static void run(struct vecs_cell_result *res, bool strict)
{
	run_sc(&sc, res, strict);
}

static void reset(void)
{
	memset(&S, 0, sizeof(S));
	S.deploy_state = "Running";
}

static void test_pass_with_references_and_bindings(void)
{
	struct vecs_cell_result res;

	reset();
	run(&res, false);
	CU_ASSERT_EQUAL(res.status, VECS_CELL_PASS);
	if (res.reason)
		fprintf(stderr, "\n  %s\n", res.reason);
	/* ${vm.id} came from deploy's binding, ${steps...nics[1]} from its response */
	CU_ASSERT_STRING_EQUAL(S.last_params, "vm=vm-7;nic=2;");
	CU_ASSERT_EQUAL(S.calls, 3);
	CU_ASSERT_EQUAL(S.checkpoints, 2);
	CU_ASSERT_EQUAL(S.invariants, 5); /* after each of the 5 steps */
	CU_ASSERT_EQUAL(S.teardowns, 1);
	vecs_cell_result_free(&res);
}

static void test_field_mismatch_fails_and_stops(void)
{
	struct vecs_cell_result res;

	reset();
	S.deploy_state = "Stopped";
	run(&res, false);
	CU_ASSERT_EQUAL(res.status, VECS_CELL_FAIL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(res.reason);
	CU_ASSERT(strstr(res.reason, "virtualmachine.state is Stopped, expected Running") != NULL);
	CU_ASSERT_EQUAL(S.calls, 1);     /* stopped at the first failing step */
	CU_ASSERT_EQUAL(S.teardowns, 1); /* but always torn down */
	vecs_cell_result_free(&res);
}

static void test_unexpected_refusal_fails(void)
{
	struct vecs_cell_result res;

	reset();
	S.refuse_command = "createVolume";
	run(&res, false);
	CU_ASSERT_EQUAL(res.status, VECS_CELL_FAIL);
	CU_ASSERT(strstr(res.reason, "failed with 431") != NULL);
	vecs_cell_result_free(&res);
}

static void test_broken_invariant_fails(void)
{
	struct vecs_cell_result res;

	reset();
	S.break_invariant = true;
	run(&res, false);
	CU_ASSERT_EQUAL(res.status, VECS_CELL_FAIL);
	CU_ASSERT(strstr(res.reason, "invariant no_plaintext_at_rest broken: plaintext found") != NULL);
	vecs_cell_result_free(&res);
}

static void test_skip_and_strict(void)
{
	struct vecs_cell_result res;

	reset();
	S.skip = "needs 2 hosts";
	run(&res, false);
	CU_ASSERT_EQUAL(res.status, VECS_CELL_SKIP);
	CU_ASSERT_STRING_EQUAL(res.reason, "needs 2 hosts");
	CU_ASSERT_EQUAL(S.calls, 0);
	vecs_cell_result_free(&res);
	run(&res, true);
	CU_ASSERT_EQUAL(res.status, VECS_CELL_FAIL);
	CU_ASSERT(strstr(res.reason, "strict") != NULL);
	vecs_cell_result_free(&res);
}

static void test_expected_refusal(void)
{
	struct vecs_cell_result res;

	reset();
	S.refuse_command = "extractVolume";
	run_sc(&sc_refused, &res, false);
	CU_ASSERT_EQUAL(res.status, VECS_CELL_PASS);
	CU_ASSERT_STRING_EQUAL(res.expected, "refused");
	vecs_cell_result_free(&res);
	/* the target accepted what must be refused */
	reset();
	run_sc(&sc_refused, &res, false);
	CU_ASSERT_EQUAL(res.status, VECS_CELL_FAIL);
	CU_ASSERT(strstr(res.reason, "extractVolume succeeded; expected refusal 431") != NULL);
	vecs_cell_result_free(&res);
	/* refused, but with another code */
	reset();
	S.refuse_command = "createVolume";
	run_sc(&sc_refused, &res, false);
	CU_ASSERT_EQUAL(res.status, VECS_CELL_FAIL);
	vecs_cell_result_free(&res);
}

static void test_json_path_string(void)
{
	char *s = NULL;

	CU_ASSERT_EQUAL(vecs_json_path_string("{\"a\": {\"b\": [1, {\"c\": true}]}}", "a.b[1].c", &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "true");
	free(s);
	CU_ASSERT_EQUAL(vecs_json_path_string("{\"a\": 1}", "a.b", &s), -ENOENT);
	CU_ASSERT_EQUAL(vecs_json_path_string("{\"a\": [3]}", "a[5]", &s), -ENOENT);
}

static CU_TestInfo tests[] = {
	{ "pass: references, bindings, checkpoints, invariants", test_pass_with_references_and_bindings },
	{ "a field mismatch fails the cell and stops it", test_field_mismatch_fails_and_stops },
	{ "an unexpected refusal fails", test_unexpected_refusal_fails },
	{ "a broken invariant fails", test_broken_invariant_fails },
	{ "skip, and --strict", test_skip_and_strict },
	{ "expected refusal: code and text pattern", test_expected_refusal },
	{ "json paths", test_json_path_string },
	CU_TEST_INFO_NULL,
};

VECS_SUITE_FULL(runner, "runner", suite_init, suite_clean, tests)
