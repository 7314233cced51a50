/* JUnit XML (report/report.h). Follows the common JUnit schema that CI servers read
 * (tests/golden/junit.xsd): testsuites > testsuite (properties, testcase*) >
 * testcase (skipped | failure)?, system-out. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

/* The schema's timestamp is xs:dateTime without a zone: drop a trailing Z. */
static void timestamp(FILE *f, const char *iso)
{
	size_t n = strlen(iso);

	if (n && iso[n - 1] == 'Z')
		n--;
	fprintf(f, "%.*s", (int)n, iso);
}

static uint64_t cell_ms(const struct vecs_cell_result *c)
{
	return c->setup_ms + c->steps_ms + c->teardown_ms;
}

static void property(FILE *f, const char *name, const char *value)
{
	fputs("      <property name=\"", f);
	rep_xml_escape(f, name);
	fputs("\" value=\"", f);
	rep_xml_escape(f, value ? value : "");
	fputs("\"/>\n", f);
}

static void testcase(FILE *f, const struct vecs_cell_result *c, const char *classname)
{
	fputs("    <testcase name=\"", f);
	rep_xml_escape(f, c->operation);
	fputs("\" classname=\"", f);
	rep_xml_escape(f, classname);
	fputs("\" time=\"", f);
	rep_seconds(f, cell_ms(c));
	fputs("\">\n", f);
	if (c->status == VECS_CELL_SKIP) {
		fputs("      <skipped message=\"", f);
		rep_xml_escape(f, c->reason ? c->reason : "skipped");
		fputs("\"/>\n", f);
	} else if (c->status == VECS_CELL_FAIL) {
		fputs("      <failure message=\"", f);
		rep_xml_escape(f, c->reason ? c->reason : "failed");
		fputs("\" type=\"", f);
		fputs(!strcmp(c->expected, "refused") ? "expected-refusal" : "expected-support", f);
		fputs("\">", f);
		rep_xml_escape(f, c->reason ? c->reason : "failed");
		if (c->n_evidence) {
			fputs("\nevidence:", f);
			for (size_t i = 0; i < c->n_evidence; i++) {
				fputs("\n  ", f);
				rep_xml_escape(f, c->evidence[i]);
			}
		}
		fputs("</failure>\n", f);
	}
	fputs("      <system-out>cell: ", f);
	rep_xml_escape(f, c->id);
	fputs("\nexpected: ", f);
	rep_xml_escape(f, c->expected);
	if (c->matrix_row) {
		fputs(" (seed: ", f);
		rep_xml_escape(f, c->matrix_row);
		fputs(")", f);
	}
	fputs("\nseed: ", f);
	rep_xml_escape(f, c->seed);
	fprintf(f, "\ntimings: setup %llu ms, steps %llu ms, teardown %llu ms",
		(unsigned long long)c->setup_ms, (unsigned long long)c->steps_ms,
		(unsigned long long)c->teardown_ms);
	for (size_t i = 0; i < c->n_evidence; i++) {
		fputs("\nevidence: ", f);
		rep_xml_escape(f, c->evidence[i]);
	}
	fputs("</system-out>\n    </testcase>\n", f);
}

int vecs_report_junit(const struct vecs_run_results *r, FILE *f, struct vecs_err *err)
{
	struct vecs_run_counts all = vecs_run_count(r);
	uint64_t total_ms = 0;
	bool *done = calloc(r->n_cells ? r->n_cells : 1, sizeof(bool));

	if (!done)
		return vecs_err_set(err, -ENOMEM, "out of memory writing the JUnit report");
	for (size_t i = 0; i < r->n_cells; i++)
		total_ms += cell_ms(&r->cells[i]);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<testsuites name=\"vecs\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		"skipped=\"%zu\" time=\"", r->n_cells, all.fail, all.skip);
	rep_seconds(f, total_ms);
	fputs("\">\n", f);
	/* one suite per (storage, profile), in the order cells first name them */
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct vecs_cell_result *c = &r->cells[i];
		size_t tests = 0, fails = 0, skips = 0;
		uint64_t ms = 0;
		char classname[256];

		if (done[i])
			continue;
		snprintf(classname, sizeof(classname), "vecs.%s.%s", c->storage, c->profile);
		for (size_t k = i; k < r->n_cells; k++) {
			const struct vecs_cell_result *o = &r->cells[k];
			if (strcmp(o->storage, c->storage) || strcmp(o->profile, c->profile))
				continue;
			tests++;
			fails += o->status == VECS_CELL_FAIL;
			skips += o->status == VECS_CELL_SKIP;
			ms += cell_ms(o);
		}
		fputs("  <testsuite name=\"", f);
		rep_xml_escape(f, classname);
		fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"",
			tests, fails, skips);
		rep_seconds(f, ms);
		fputs("\" timestamp=\"", f);
		timestamp(f, r->started_at);
		fputs("\" hostname=\"", f);
		rep_xml_escape(f, r->hostname ? r->hostname : "localhost");
		fputs("\">\n    <properties>\n", f);
		property(f, "vecs.version", r->tool_version);
		property(f, "run.id", r->run_id);
		property(f, "run.seed", r->run_seed);
		property(f, "target", r->target);
		property(f, "storage", c->storage);
		property(f, "profile", c->profile);
		property(f, "kdf", r->kdf);
		property(f, "kernel", r->kernel);
		for (size_t k = 0; k < r->n_components; k++) {
			char name[96];
			snprintf(name, sizeof(name), "component.%s", r->components[k].name);
			property(f, name, r->components[k].version);
		}
		fputs("    </properties>\n", f);
		for (size_t k = i; k < r->n_cells; k++) {
			const struct vecs_cell_result *o = &r->cells[k];
			if (strcmp(o->storage, c->storage) || strcmp(o->profile, c->profile))
				continue;
			done[k] = true;
			testcase(f, o, classname);
		}
		fputs("  </testsuite>\n", f);
	}
	fputs("</testsuites>\n", f);
	free(done);
	if (ferror(f))
		return vecs_err_set(err, -EIO, "cannot write the JUnit report: write error");
	return 0;
}
