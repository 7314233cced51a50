/* TAP version 13 (report/report.h): one test point per cell, a YAML diagnostics block
 * under each, run metadata as comments before the plan. */
#include <errno.h>
#include <string.h>

#include "report/report_internal.h"

/* A directive's reason stays on one line and cannot open another directive. */
static void one_line(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		size_t n;
		if (*p == '\n' || *p == '\r' || *p == '\t') {
			fputc(' ', f);
			p++;
			continue;
		}
		if (*p < 0x20 || *p == 0x7F || !(n = rep_utf8_len(p))) {
			fputc('?', f);
			p++;
			continue;
		}
		fwrite(p, 1, n, f);
		p += n;
	}
}

static void kv(FILE *f, const char *key, const char *value)
{
	fprintf(f, "  %s: ", key);
	rep_yaml_quoted(f, value);
	fputc('\n', f);
}

int vecs_report_tap(const struct vecs_run_results *r, FILE *f, struct vecs_err *err)
{
	struct vecs_run_counts n = vecs_run_count(r);

	fputs("TAP version 13\n", f);
	fputs("# vecs ", f);
	one_line(f, r->tool_version);
	fputs(" run ", f);
	one_line(f, r->run_id);
	fputs(", seed ", f);
	one_line(f, r->run_seed);
	fputs(", target ", f);
	one_line(f, r->target);
	fputs("\n# profile ", f);
	one_line(f, r->profile);
	fputs(", kdf ", f);
	one_line(f, r->kdf);
	fputs("\n# kernel ", f);
	one_line(f, r->kernel);
	fputc('\n', f);
	for (size_t i = 0; i < r->n_components; i++) {
		fputs("# ", f);
		one_line(f, r->components[i].name);
		fputs(": ", f);
		one_line(f, r->components[i].version);
		fputc('\n', f);
	}
	fprintf(f, "1..%zu\n", r->n_cells);
	for (size_t i = 0; i < r->n_cells; i++) {
		const struct vecs_cell_result *c = &r->cells[i];
		fprintf(f, "%s %zu - ", c->status == VECS_CELL_FAIL ? "not ok" : "ok", i + 1);
		one_line(f, c->id);
		if (c->status == VECS_CELL_SKIP) {
			fputs(" # SKIP ", f);
			one_line(f, c->reason ? c->reason : "skipped");
		}
		fputs("\n  ---\n", f);
		if (c->status == VECS_CELL_FAIL)
			kv(f, "message", c->reason ? c->reason : "failed");
		kv(f, "operation", c->operation);
		kv(f, "storage", c->storage);
		kv(f, "profile", c->profile);
		kv(f, "expected", c->expected);
		kv(f, "status", vecs_cell_status_name(c->status));
		if (c->reason)
			kv(f, "reason", c->reason);
		if (c->outcome)
			kv(f, "outcome", c->outcome);
		kv(f, "seed", c->seed);
		fprintf(f, "  timings_ms:\n    setup: %llu\n    steps: %llu\n    teardown: %llu\n",
			(unsigned long long)c->setup_ms, (unsigned long long)c->steps_ms,
			(unsigned long long)c->teardown_ms);
		if (c->n_evidence) {
			fputs("  evidence:\n", f);
			for (size_t k = 0; k < c->n_evidence; k++) {
				fputs("    - ", f);
				rep_yaml_quoted(f, c->evidence[k]);
				fputc('\n', f);
			}
		}
		fputs("  ...\n", f);
	}
	fprintf(f, "# pass %zu, fail %zu, skip %zu\n", n.pass, n.fail, n.skip);
	if (ferror(f))
		return vecs_err_set(err, -EIO, "cannot write the TAP report: write error");
	return 0;
}
