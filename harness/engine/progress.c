#include "engine/progress.h"

#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

double vecs_progress_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned term_width(FILE *out)
{
	struct winsize ws;

	if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

void vecs_progress_init(struct vecs_progress *p, FILE *out, bool tty, size_t total, unsigned jobs,
			double (*clock)(void))
{
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->tty = tty;
	p->clock = clock ? clock : vecs_progress_clock;
	p->width = tty && out ? term_width(out) : 80;
	p->total = total;
	p->jobs = jobs ? (jobs > VECS_PROGRESS_MAX_JOBS ? VECS_PROGRESS_MAX_JOBS : jobs) : 1;
	p->started = p->clock();
	p->last_summary = p->started;
}

void vecs_progress_duration(double s, char *buf, size_t len)
{
	unsigned long t = s > 0 ? (unsigned long)(s + 0.5) : 0;

	if (t >= 3600)
		snprintf(buf, len, "%luh%02lum", t / 3600, t / 60 % 60);
	else if (t >= 60)
		snprintf(buf, len, "%lum%02lus", t / 60, t % 60);
	else
		snprintf(buf, len, "%lus", t);
}

/* Seconds left: mean cell time so far x cells not finished / jobs; < 0 when unknown. */
static double time_left(const struct vecs_progress *p)
{
	size_t left = p->total - p->done;
	unsigned par = p->jobs < left ? p->jobs : (unsigned)left;

	if (!p->done)
		return -1;
	if (!left)
		return 0;
	return p->cell_seconds / (double)p->done * (double)left / (double)(par ? par : 1);
}

void vecs_progress_format(const struct vecs_progress *p, char *buf, size_t len)
{
	char el[16], lf[16];
	double left = time_left(p);
	size_t n, running = 0;
	int k;

	if (!len)
		return;
	vecs_progress_duration(p->clock() - p->started, el, sizeof(el));
	if (left >= 0)
		vecs_progress_duration(left, lf, sizeof(lf));
	else
		snprintf(lf, sizeof(lf), "?");
	for (unsigned w = 0; w < p->jobs; w++)
		running += p->running[w] != NULL;
	k = snprintf(buf, len, "%zu/%zu done, %zu passed, %zu failed, %zu skipped, %s elapsed, ~%s left",
		     p->done, p->total, p->pass, p->fail, p->skip, el, lf);
	n = k < 0 ? 0 : (size_t)k < len ? (size_t)k : len - 1;
	if (!running || n >= len - 1)
		return;
	k = snprintf(buf + n, len - n, "; running %zu:", running);
	n = k < 0 ? n : n + (size_t)k < len ? n + (size_t)k : len - 1;
	for (unsigned w = 0; w < p->jobs && n < len - 1; w++) {
		if (!p->running[w])
			continue;
		k = snprintf(buf + n, len - n, " %s", p->running[w]);
		n = k < 0 ? n : n + (size_t)k < len ? n + (size_t)k : len - 1;
	}
}

static void clear_line(struct vecs_progress *p)
{
	if (p->tty && p->line_drawn) {
		fputs("\r\033[K", p->out);
		p->line_drawn = false;
	}
}

static void draw(struct vecs_progress *p)
{
	char line[1024];
	size_t cut = p->width < sizeof(line) ? p->width : sizeof(line);

	if (!p->out || !p->tty)
		return;
	/* one column short of the width: a full line would wrap on some terminals */
	vecs_progress_format(p, line, cut);
	fprintf(p->out, "\r\033[K%s", line);
	fflush(p->out);
	p->line_drawn = true;
}

void vecs_progress_start(struct vecs_progress *p, unsigned worker, const char *id)
{
	if (worker >= p->jobs)
		return;
	p->running[worker] = id;
	p->cell_started[worker] = p->clock();
	draw(p);
}

void vecs_progress_done(struct vecs_progress *p, unsigned worker, const struct vecs_cell_result *r)
{
	if (worker < p->jobs) {
		p->cell_seconds += p->clock() - p->cell_started[worker];
		p->running[worker] = NULL;
	}
	p->done++;
	p->pass += r->status == VECS_CELL_PASS;
	p->fail += r->status == VECS_CELL_FAIL;
	p->skip += r->status == VECS_CELL_SKIP;
	if (!p->out)
		return;
	if (!p->tty || r->status == VECS_CELL_FAIL) {
		clear_line(p);
		fprintf(p->out, "[%zu/%zu] %-4s %s%s%s\n", p->done, p->total,
			vecs_cell_status_name(r->status), r->id, r->reason ? ": " : "",
			r->reason ? r->reason : "");
	}
	/* the last cell: the run's summary follows, and the workers' tear-down lines */
	if (p->done < p->total)
		draw(p);
	else
		clear_line(p);
	if (!p->tty)
		fflush(p->out);
}

void vecs_progress_tick(struct vecs_progress *p)
{
	char line[1024];
	double now = p->clock();

	if (!p->out)
		return;
	if (p->tty) {
		/* not before the first cell: the workers may still print their set-up lines */
		if (p->line_drawn && p->done < p->total)
			draw(p);
		return;
	}
	if (now - p->last_summary < VECS_PROGRESS_SUMMARY_S || p->done == p->total)
		return;
	p->last_summary = now;
	vecs_progress_format(p, line, sizeof(line));
	fprintf(p->out, "vecs run: %s\n", line);
	fflush(p->out);
}

void vecs_progress_finish(struct vecs_progress *p)
{
	if (p->out) {
		clear_line(p);
		fflush(p->out);
	}
}
