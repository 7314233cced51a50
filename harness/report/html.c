/* The HTML support matrix (report/report.h): operation x storage grid with the
 * expected answer and the status of each cell, and one evidence page per cell.
 * Static files with inline CSS, no scripts, no external assets; every string from the
 * results is escaped. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report/report_internal.h"

static const char css[] =
	"body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1f2328}\n"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}\n"
	"table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:6px 10px;"
	"text-align:left;vertical-align:top}\n"
	"th{background:#f6f8fa}td.op small,p.sub{color:#59636e}\n"
	".meta td:first-child{font-weight:600;white-space:nowrap}\n"
	"a.cell{display:block;padding:4px 8px;margin:2px 0;border-radius:4px;text-decoration:none;"
	"color:inherit;border:1px solid transparent}\n"
	"a.cell:hover{border-color:#1f2328}\n"
	".pass.supported{background:#dafbe1}.pass.refused{background:#ddf4ff}\n"
	".fail{background:#ffebe9;font-weight:600}.skip{background:#eaeef2;color:#59636e}\n"
	".badge{font-weight:700}.exp{font-size:12px;font-weight:400;white-space:nowrap}\n"
	".legend span{display:inline-block;padding:2px 8px;margin-right:8px;border-radius:4px}\n"
	"pre{background:#f6f8fa;padding:8px;white-space:pre-wrap}\n";

static void head(FILE *f, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
	rep_xml_escape(f, title);
	fputs("</title>\n<style>\n", f);
	fputs(css, f);
	fputs("</style>\n</head>\n<body>\n", f);
}

static void meta_row(FILE *f, const char *name, const char *value)
{
	fputs("<tr><td>", f);
	rep_xml_escape(f, name);
	fputs("</td><td>", f);
	rep_xml_escape(f, value ? value : "");
	fputs("</td></tr>\n", f);
}

void vecs_report_cell_page(const struct vecs_cell_result *c, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "cells/");

	for (const char *p = c->id; *p && n + 6 < len; p++)
		buf[n++] = (isalnum((unsigned char)*p) || *p == '-') ? *p : '-';
	snprintf(buf + n, len - n, ".html");
}

static const char *status_label(const struct vecs_cell_result *c)
{
	switch (c->status) {
	case VECS_CELL_PASS:
		return !strcmp(c->expected, "refused") ? "PASS (refused)" : "PASS";
	case VECS_CELL_FAIL: return "FAIL";
	default: return "SKIP";
	}
}

/* Distinct values of a field, in order of first appearance. */
static size_t distinct(const struct vecs_run_results *r, const char *(*get)(const struct vecs_cell_result *),
		       const char **out)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_cells; i++) {
		const char *v = get(&r->cells[i]);
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = !strcmp(out[k], v);
		if (!seen)
			out[n++] = v;
	}
	return n;
}

static const char *get_op(const struct vecs_cell_result *c) { return c->operation; }
static const char *get_storage(const struct vecs_cell_result *c) { return c->storage; }

int vecs_report_html_index(const struct vecs_run_results *r, FILE *f, struct vecs_err *err)
{
	struct vecs_run_counts n = vecs_run_count(r);
	const char **ops = calloc(r->n_cells + 1, sizeof(char *));
	const char **sts = calloc(r->n_cells + 1, sizeof(char *));
	size_t nops, nsts;
	bool faults;

	if (!ops || !sts) {
		free(ops);
		free(sts);
		return vecs_err_set(err, -ENOMEM, "out of memory writing the HTML report");
	}
	nops = distinct(r, get_op, ops);
	nsts = distinct(r, get_storage, sts);
	faults = r->n_cells && !strcmp(r->cells[0].expected, "recovers");
	head(f, faults ? "vecs fault injection" : "vecs support matrix");
	fputs(faults ? "<h1>Fault injection: fault x storage</h1>\n<p class=\"sub\">"
		     : "<h1>Volume encryption support matrix</h1>\n<p class=\"sub\">", f);
	fprintf(f, "%zu cells: %zu passed, %zu failed, %zu skipped. ", r->n_cells, n.pass, n.fail,
		n.skip);
	fputs(n.pass == r->n_cells ? "<strong>Conformant.</strong>" :
	      n.fail ? "<strong>Not conformant.</strong>" : "<strong>Incomplete (skips).</strong>", f);
	if (faults)
		fputs("</p>\n<p class=\"legend\"><span class=\"pass supported\">PASS: the fault "
		      "fired, the step did what the fault allows, the stack recovered and every "
		      "invariant held</span><span class=\"fail\">FAIL</span><span class=\"skip\">SKIP"
		      "</span></p>\n<table class=\"grid\">\n<tr><th>fault (harness/faults/catalog.c)</th>",
		      f);
	else
		fputs("</p>\n<p class=\"legend\"><span class=\"pass supported\">PASS: supported, data "
		      "kept</span><span class=\"pass refused\">PASS (refused): refused as the seed says, "
		      "nothing changed</span><span class=\"fail\">FAIL</span><span class=\"skip\">SKIP"
		      "</span></p>\n<table class=\"grid\">\n<tr><th>operation (seed's support matrix)</th>",
		      f);
	for (size_t s = 0; s < nsts; s++) {
		fputs("<th>", f);
		rep_xml_escape(f, sts[s]);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (size_t o = 0; o < nops; o++) {
		const struct vecs_cell_result *first = NULL;
		for (size_t i = 0; i < r->n_cells && !first; i++)
			if (!strcmp(r->cells[i].operation, ops[o]))
				first = &r->cells[i];
		fputs("<tr><td class=\"op\"><strong>", f);
		rep_xml_escape(f, ops[o]);
		fputs("</strong><br><small>", f);
		if (first->matrix_row) {
			rep_xml_escape(f, first->matrix_row);
			fputs(": ", f);
		}
		if (faults)
			rep_xml_escape(f, first->title);
		else
			fputs(!strcmp(first->expected, "refused") ? "expected refused"
								 : "expected supported", f);
		if (first->note) {
			fputs("<br>", f);
			rep_xml_escape(f, first->note);
		}
		fputs("</small></td>", f);
		for (size_t s = 0; s < nsts; s++) {
			fputs("<td>", f);
			for (size_t i = 0; i < r->n_cells; i++) {
				const struct vecs_cell_result *c = &r->cells[i];
				char page[256];
				if (strcmp(c->operation, ops[o]) || strcmp(c->storage, sts[s]))
					continue;
				vecs_report_cell_page(c, page, sizeof(page));
				fprintf(f, "<a class=\"cell %s ", vecs_cell_status_name(c->status));
				rep_xml_escape(f, c->expected);
				fputs("\" href=\"", f);
				rep_href(f, NULL, page);
				fputs("\" title=\"", f);
				rep_xml_escape(f, c->reason ? c->reason : c->outcome ? c->outcome : c->id);
				fputs("\"><span class=\"badge\">", f);
				rep_xml_escape(f, status_label(c));
				fputs("</span><br><span class=\"exp\">", f);
				rep_xml_escape(f, c->profile);
				fputs("</span></a>", f);
			}
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n<h2>Run</h2>\n<table class=\"meta\">\n", f);
	meta_row(f, "vecs", r->tool_version);
	meta_row(f, "run id", r->run_id);
	meta_row(f, "run seed", r->run_seed);
	meta_row(f, "target", r->target);
	meta_row(f, "profile", r->profile);
	meta_row(f, "kdf", r->kdf);
	meta_row(f, "started", r->started_at);
	meta_row(f, "finished", r->finished_at);
	meta_row(f, "host", r->hostname);
	meta_row(f, "kernel", r->kernel);
	for (size_t i = 0; i < r->n_components; i++)
		meta_row(f, r->components[i].name, r->components[i].version);
	fputs("</table>\n</body>\n</html>\n", f);
	free(ops);
	free(sts);
	if (ferror(f))
		return vecs_err_set(err, -EIO, "cannot write the HTML report: write error");
	return 0;
}

int vecs_report_html_cell(const struct vecs_run_results *r, const struct vecs_cell_result *c,
			  FILE *f, struct vecs_err *err)
{
	char buf[64];

	head(f, c->id);
	fputs("<p><a href=\"../index.html\">&larr; support matrix</a></p>\n<h1>", f);
	rep_xml_escape(f, c->id);
	fprintf(f, "</h1>\n<p class=\"sub\"><span class=\"cell %s ", vecs_cell_status_name(c->status));
	rep_xml_escape(f, c->expected);
	fputs("\" style=\"padding:2px 8px\">", f);
	rep_xml_escape(f, status_label(c));
	fputs("</span> ", f);
	rep_xml_escape(f, c->title);
	fputs("</p>\n<table class=\"meta\">\n", f);
	meta_row(f, "operation", c->operation);
	if (strcmp(c->expected, "recovers"))
		meta_row(f, "seed's matrix row", c->matrix_row ? c->matrix_row : "(not a matrix row)");
	meta_row(f, "expected", c->expected);
	meta_row(f, "status", vecs_cell_status_name(c->status));
	if (c->reason)
		meta_row(f, "reason", c->reason);
	if (c->note)
		meta_row(f, "note", c->note);
	if (c->outcome)
		meta_row(f, "outcome", c->outcome);
	meta_row(f, "storage", c->storage);
	meta_row(f, "profile", c->profile);
	meta_row(f, "kdf", r->kdf);
	meta_row(f, "cell seed", c->seed);
	snprintf(buf, sizeof(buf), "%llu ms", (unsigned long long)c->setup_ms);
	meta_row(f, "setup", buf);
	snprintf(buf, sizeof(buf), "%llu ms", (unsigned long long)c->steps_ms);
	meta_row(f, "steps", buf);
	snprintf(buf, sizeof(buf), "%llu ms", (unsigned long long)c->teardown_ms);
	meta_row(f, "teardown", buf);
	fputs("</table>\n<h2>Reproduce</h2>\n<pre>vecs run ", f);
	if (!strcmp(c->expected, "recovers"))
		fputs("--faults ", f);
	fputs("--seed ", f);
	rep_xml_escape(f, r->run_seed);
	fputs(" --profile ", f);
	rep_xml_escape(f, c->profile);
	fputs(" --only '", f);
	rep_xml_escape(f, c->id);
	fputs("'</pre>\n<h2>Evidence</h2>\n", f);
	if (!c->n_evidence) {
		fputs("<p>none recorded</p>\n", f);
	} else {
		fputs("<ul>\n", f);
		for (size_t i = 0; i < c->n_evidence; i++) {
			fputs("<li><a href=\"", f);
			rep_href(f, "../", c->evidence[i]);
			fputs("\">", f);
			rep_xml_escape(f, c->evidence[i]);
			fputs("</a></li>\n", f);
		}
		fputs("</ul>\n", f);
	}
	fputs("</body>\n</html>\n", f);
	if (ferror(f))
		return vecs_err_set(err, -EIO, "cannot write the evidence page of %s: write error",
				    c->id);
	return 0;
}

static int write_file(const char *path, const struct vecs_run_results *r,
		      const struct vecs_cell_result *c, struct vecs_err *err)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return vecs_err_set(err, -errno, "cannot create %s: %s", path, strerror(errno));
	rc = c ? vecs_report_html_cell(r, c, f, err) : vecs_report_html_index(r, f, err);
	if (fclose(f) && !rc)
		rc = vecs_err_set(err, -EIO, "cannot write %s", path);
	return rc;
}

int vecs_report_html_dir(const struct vecs_run_results *r, const char *dir, struct vecs_err *err)
{
	char path[PATH_MAX + 300];
	int rc;

	snprintf(path, sizeof(path), "%s/cells", dir);
	if ((mkdir(dir, 0755) && errno != EEXIST) || (mkdir(path, 0755) && errno != EEXIST))
		return vecs_err_set(err, -errno, "cannot create report directory %s: %s", path,
				    strerror(errno));
	snprintf(path, sizeof(path), "%s/index.html", dir);
	if ((rc = write_file(path, r, NULL, err)))
		return rc;
	for (size_t i = 0; i < r->n_cells; i++) {
		char page[256];
		vecs_report_cell_page(&r->cells[i], page, sizeof(page));
		snprintf(path, sizeof(path), "%s/%s", dir, page);
		if ((rc = write_file(path, r, &r->cells[i], err)))
			return rc;
	}
	return 0;
}
