/* Reports of a run: JUnit XML, TAP 13, the JSON results bundle and the HTML support
 * matrix, all written from one results struct.
 *
 * Writers are pure functions of that struct: no clock, no environment, no file
 * system beyond what they are told to write. Timestamps and versions come in as
 * strings, so the same results always give the same bytes (the golden tests in
 * tests/test_report.c depend on it). */
#ifndef VECS_REPORT_REPORT_H
#define VECS_REPORT_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

enum vecs_cell_status { VECS_CELL_PASS, VECS_CELL_FAIL, VECS_CELL_SKIP };
const char *vecs_cell_status_name(enum vecs_cell_status s); /* "pass" | "fail" | "skip" */

struct vecs_cell_result {
	const char *id;         /* <operation>/<storage>/<profile> */
	const char *operation;  /* scenario id */
	const char *title;      /* scenario title */
	const char *matrix_row; /* the seed's text, or NULL */
	const char *note;       /* seed vs CloudStack difference, or NULL */
	const char *storage;
	const char *profile;
	const char *expected;   /* "supported" | "refused"; fault cells: "recovers" */
	enum vecs_cell_status status;
	const char *reason;     /* why it failed or was skipped; NULL when passed */
	const char *outcome;    /* fault cells: what the fault did to the step and what was
				 * recovered (owned like reason), else NULL */
	const char *seed;       /* reproduces the cell: vecs run --seed <run seed> --only <id> */
	uint64_t setup_ms, steps_ms, teardown_ms;
	/* of those, time inside the target's API calls (setup and teardown included) and
	 * inside its probes (checkpoints, invariants); the rest is the harness's own. Both
	 * 0 when not measured (the JSON bundle then leaves them out) */
	uint64_t api_ms, probe_ms;
	const char *const *evidence; /* paths, relative to the report directory or absolute */
	size_t n_evidence;
};

struct vecs_component_version {
	const char *name;    /* qemu-img, qemu-system-x86_64, libvirt, cryptsetup */
	const char *version; /* first line of its --version, or "not installed" */
};

struct vecs_run_results {
	const char *tool_version; /* vecs version */
	const char *run_id;
	const char *run_seed;
	const char *target;       /* reference | cloudstack */
	const char *profile;      /* run profile id(s) */
	const char *kdf;          /* fast | production */
	const char *kernel;       /* uname: sysname release version machine */
	const char *hostname;
	const char *started_at;   /* ISO 8601 UTC, injected */
	const char *finished_at;
	const struct vecs_component_version *components;
	size_t n_components;
	const struct vecs_cell_result *cells;
	size_t n_cells;
};

struct vecs_run_counts {
	size_t pass, fail, skip;
};
struct vecs_run_counts vecs_run_count(const struct vecs_run_results *r);

/* JUnit XML: one <testsuite> per storage type and profile, classname
 * "vecs.<storage>.<profile>", skips with their reason, failures with the reason and
 * the evidence paths. */
int vecs_report_junit(const struct vecs_run_results *r, FILE *f, struct vecs_err *err);
/* TAP version 13 with a YAML diagnostics block per test point. */
int vecs_report_tap(const struct vecs_run_results *r, FILE *f, struct vecs_err *err);
/* The results bundle (README, "Reports"): versions, kernel, profile, `cells`. */
int vecs_report_json(const struct vecs_run_results *r, FILE *f, struct vecs_err *err);
/* The HTML support matrix: the grid page, and one evidence page per cell. */
int vecs_report_html_index(const struct vecs_run_results *r, FILE *f, struct vecs_err *err);
int vecs_report_html_cell(const struct vecs_run_results *r, const struct vecs_cell_result *c,
			  FILE *f, struct vecs_err *err);
/* File name of a cell's evidence page inside the report directory ("cells/<slug>.html"). */
void vecs_report_cell_page(const struct vecs_cell_result *c, char *buf, size_t len);
/* Write DIR/index.html and DIR/cells/<slug>.html (DIR is created). */
int vecs_report_html_dir(const struct vecs_run_results *r, const char *dir, struct vecs_err *err);

/* Component versions of this machine (qemu-img, qemu-system-x86_64, libvirt,
 * cryptsetup) and the kernel, for the run's metadata. Never fails: a missing tool is
 * reported as "not installed". */
#define VECS_N_COMPONENTS 4
struct vecs_versions {
	char text[VECS_N_COMPONENTS][160];
	struct vecs_component_version list[VECS_N_COMPONENTS];
	char kernel[300];
};
void vecs_versions_collect(struct vecs_versions *v);

#endif
