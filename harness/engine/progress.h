/* What a run tells its operator while cells run (`vecs run`, the fault runner).
 *
 * On a terminal: one status line, redrawn in place, with cells done/total, the cells
 * running now, passed/failed/skipped, time elapsed and an estimate of the time left
 * (mean cell time so far x cells left / jobs); a failed cell also gets a line of its
 * own above it. Elsewhere (a log, CI): one plain line per finished cell, as
 * "[k/N] status id: reason", plus a summary line at most every 30 s.
 *
 * The clock is injected, so the formatting is tested with a fake one
 * (tests/test_progress.c). Not thread-safe: one process drives it (the pool's parent). */
#ifndef VECS_ENGINE_PROGRESS_H
#define VECS_ENGINE_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "report/report.h"

#define VECS_PROGRESS_MAX_JOBS 256
#define VECS_PROGRESS_SUMMARY_S 30.0

struct vecs_progress {
	FILE *out;
	bool tty;                 /* redraw one status line (else plain lines) */
	unsigned width;           /* terminal columns the status line is cut to */
	double (*clock)(void);    /* seconds, monotonic */
	size_t total, done, pass, fail, skip;
	unsigned jobs;
	double started, last_summary, cell_seconds;
	double cell_started[VECS_PROGRESS_MAX_JOBS];
	const char *running[VECS_PROGRESS_MAX_JOBS]; /* cell id per worker, or NULL */
	bool line_drawn;
};

/* Monotonic seconds (CLOCK_MONOTONIC): the clock a real run uses. */
double vecs_progress_clock(void);

/* tty: redraw a status line (callers pass isatty(fileno(out))). clock NULL: the real one. */
void vecs_progress_init(struct vecs_progress *p, FILE *out, bool tty, size_t total, unsigned jobs,
			double (*clock)(void));
/* Worker `worker` (0-based) started cell id (a string that outlives the call). */
void vecs_progress_start(struct vecs_progress *p, unsigned worker, const char *id);
/* Worker `worker` finished a cell with result r. */
void vecs_progress_done(struct vecs_progress *p, unsigned worker, const struct vecs_cell_result *r);
/* Called about once a second: redraws the status line, or prints the periodic summary. */
void vecs_progress_tick(struct vecs_progress *p);
/* Clears the status line (a terminal) so the run's last lines print cleanly. */
void vecs_progress_finish(struct vecs_progress *p);

/* The status line (no newline), cut to len - 1 bytes. */
void vecs_progress_format(const struct vecs_progress *p, char *buf, size_t len);
/* "1h02m", "4m05s", "12s". */
void vecs_progress_duration(double seconds, char *buf, size_t len);

#endif
