/* Report writers (report/report.h) against golden files: a fixed synthetic results
 * struct, every writer, byte for byte. The goldens are the contract CI parsers and
 * vendors read; change them on purpose: VECS_GOLDEN_UPDATE=1 build/bin/vecs-tests report
 * rewrites them, then review the diff. Golden directory: harness/tests/golden (from the
 * tree's top, where `make unit` runs), or $VECS_GOLDEN_DIR. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "tests/test_registry.h"

static const char *const ev_fail[] = { "evidence/resize-volume-nfs/step-08-resize.json",
				       "evidence/resize-volume-nfs/scan.json",
				       "/var/tmp/vecs run/<odd> & \"name\".log" };
static const char *const ev_pass[] = { "evidence/download-volume-local/refusal.json" };

static const struct vecs_cell_result cells[] = {
	{ .id = "resize-volume/nfs/cloudstack-4.18", .operation = "resize-volume",
	  .title = "Grow an encrypted DATA volume", .matrix_row = "Resize Volume",
	  .storage = "nfs", .profile = "cloudstack-4.18", .expected = "supported",
	  .status = VECS_CELL_FAIL,
	  .reason = "step 9 verify_canary 'data': canary not read back (0 of 32768 records); "
		    "no_plaintext_at_rest: 3 canary records at offset 1048576 of <pool>/vol-7 & \"copy\"",
	  .seed = "4002c9c1d9de1c32", .setup_ms = 5123, .steps_ms = 20480, .teardown_ms = 999,
	  .evidence = ev_fail, .n_evidence = 3 },
	{ .id = "resize-volume/local/cloudstack-4.18", .operation = "resize-volume",
	  .title = "Grow an encrypted DATA volume", .matrix_row = "Resize Volume",
	  .storage = "local", .profile = "cloudstack-4.18", .expected = "supported",
	  .status = VECS_CELL_PASS, .seed = "9a0b1c2d3e4f5061", .setup_ms = 4000,
	  .steps_ms = 12000, .teardown_ms = 1000 },
	{ .id = "download-volume/nfs/cloudstack-4.18", .operation = "download-volume",
	  .title = "Downloading an encrypted volume is refused", .matrix_row = "Download Volume",
	  .storage = "nfs", .profile = "cloudstack-4.18", .expected = "refused",
	  .status = VECS_CELL_SKIP, .reason = "needs 2 nfs pools; the target has 1",
	  .seed = "0f1e2d3c4b5a6978" },
	{ .id = "download-volume/local/cloudstack-4.18", .operation = "download-volume",
	  .title = "Downloading an encrypted volume is refused", .matrix_row = "Download Volume",
	  .note = "Seed: No; CloudStack 4.18 refuses with 431.",
	  .storage = "local", .profile = "cloudstack-4.18", .expected = "refused",
	  .status = VECS_CELL_PASS, .seed = "1122334455667788", .setup_ms = 3000,
	  .steps_ms = 2500, .teardown_ms = 500, .evidence = ev_pass, .n_evidence = 1 },
};

static const struct vecs_component_version comps[] = {
	{ "qemu-img", "qemu-img version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)" },
	{ "qemu-system-x86_64", "QEMU emulator version 7.2.22" },
	{ "libvirt", "libvirtd (libvirt) 9.0.0" },
	{ "cryptsetup", "cryptsetup 2.6.1" },
};

static const struct vecs_run_results results = {
	.tool_version = "0.1.0", .run_id = "run-20300101-000000-abcd", .run_seed = "00112233445566ff",
	.target = "reference", .profile = "cloudstack-4.18", .kdf = "fast",
	.kernel = "Linux 6.1.0-test #1 SMP x86_64", .hostname = "ci-runner-1",
	.started_at = "2030-01-01T00:00:00Z", .finished_at = "2030-01-01T00:01:02Z",
	.components = comps, .n_components = 4, .cells = cells, .n_cells = 4,
};

static const char *golden_dir(void)
{
	const char *d = getenv("VECS_GOLDEN_DIR");

	return d && *d ? d : "harness/tests/golden";
}

/* Compare what writer produced with golden file `name` (or rewrite it). */
static void check_golden(const char *name, char *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", golden_dir(), name);
	if (getenv("VECS_GOLDEN_UPDATE")) {
		f = fopen(path, "wb");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_EQUAL(fwrite(buf, 1, len, f), len);
		fclose(f);
		return;
	}
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "\n  golden %s: %s (run from the tree's top)\n", path, strerror(errno));
		CU_FAIL("golden file missing");
		return;
	}
	char *want = malloc(len + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	size_t got = fread(want, 1, len + 1, f);
	fclose(f);
	if (got != len || memcmp(want, buf, len)) {
		size_t i = 0;
		while (i < len && i < got && want[i] == buf[i])
			i++;
		fprintf(stderr, "\n  %s differs at byte %zu (golden %zu bytes, output %zu); "
			"VECS_GOLDEN_UPDATE=1 rewrites it\n", path, i, got, len);
		CU_FAIL("output differs from golden file");
	}
	free(want);
}

typedef int (*writer_fn)(const struct vecs_run_results *, FILE *, struct vecs_err *);

static void run_writer(writer_fn fn, const char *golden)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct vecs_err err = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fn(&results, f, &err), 0);
	fclose(f);
	check_golden(golden, buf, len);
	free(buf);
}

static void test_junit(void) { run_writer(vecs_report_junit, "report.junit.xml"); }
static void test_tap(void) { run_writer(vecs_report_tap, "report.tap"); }
static void test_json(void) { run_writer(vecs_report_json, "report.json"); }
static void test_html_index(void) { run_writer(vecs_report_html_index, "report.index.html"); }

static void test_html_cell(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct vecs_err err = { 0 };
	char page[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(vecs_report_html_cell(&results, &cells[0], f, &err), 0);
	fclose(f);
	check_golden("report.cell.html", buf, len);
	free(buf);
	vecs_report_cell_page(&cells[0], page, sizeof(page));
	CU_ASSERT_STRING_EQUAL(page, "cells/resize-volume-nfs-cloudstack-4-18.html");
}

/* Nothing from the results reaches the HTML unescaped. */
static void test_html_escaping(void)
{
	static const char *const ev[] = { "<script>alert(1)</script>" };
	struct vecs_cell_result c = cells[1];
	struct vecs_run_results r = results;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	struct vecs_err err = { 0 };

	c.reason = "<img src=x onerror=alert(1)>";
	c.operation = "op\"><b>";
	c.status = VECS_CELL_FAIL;
	c.evidence = ev;
	c.n_evidence = 1;
	r.cells = &c;
	r.n_cells = 1;
	r.kernel = "bad \xff\x01 bytes";
	f = open_memstream(&buf, &len);
	CU_ASSERT_EQUAL(vecs_report_html_index(&r, f, &err), 0);
	CU_ASSERT_EQUAL(vecs_report_html_cell(&r, &c, f, &err), 0);
	fclose(f);
	CU_ASSERT_PTR_NULL(strstr(buf, "<img"));
	CU_ASSERT_PTR_NULL(strstr(buf, "<script"));
	CU_ASSERT_PTR_NULL(strstr(buf, "\"><b>"));
	CU_ASSERT_PTR_NULL(strstr(buf, "\xff"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "&lt;img src=x onerror=alert(1)&gt;"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "%3Cscript%3E"));
	free(buf);
}

/* The writers never look at the clock: the same struct gives the same bytes. */
static void test_deterministic(void)
{
	char *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	FILE *f;
	struct vecs_err err = { 0 };

	f = open_memstream(&a, &la);
	vecs_report_json(&results, f, &err);
	vecs_report_junit(&results, f, &err);
	fclose(f);
	f = open_memstream(&b, &lb);
	vecs_report_json(&results, f, &err);
	vecs_report_junit(&results, f, &err);
	fclose(f);
	CU_ASSERT(la == lb && !memcmp(a, b, la));
	free(a);
	free(b);
}

static CU_TestInfo tests[] = {
	{ "junit golden", test_junit },
	{ "tap golden", test_tap },
	{ "json bundle golden", test_json },
	{ "html index golden", test_html_index },
	{ "html cell page golden", test_html_cell },
	{ "html escapes everything", test_html_escaping },
	{ "deterministic", test_deterministic },
	CU_TEST_INFO_NULL,
};
VECS_SUITE(report, "report: junit, tap, json, html", tests)
