#include "engine/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/runner.h"

enum msg_type { MSG_READY = 1, MSG_SETUP_FAILED, MSG_RESULT };
enum worker_state { W_STARTING, W_IDLE, W_BUSY, W_STOPPING, W_GONE };

struct msg_head {
	uint32_t type;
	uint32_t len;
	uint64_t index;
};

struct worker {
	pid_t pid;
	int cmd_fd; /* parent -> worker: cell index, or SIZE_MAX to stop */
	int res_fd; /* worker -> parent: messages */
	enum worker_state state;
	size_t cell;
};

static int write_full(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -EPIPE;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/* 0 when n bytes were read, -EPIPE at end of file. */
static int read_full(int fd, void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t k = read(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -EPIPE;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/* ---- the wire form of a result ------------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
	bool bad;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->bad)
		return;
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->bad = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void buf_str(struct buf *b, const char *s)
{
	uint32_t n = s ? (uint32_t)strlen(s) : UINT32_MAX;

	buf_add(b, &n, sizeof(n));
	if (s)
		buf_add(b, s, n);
}

static int send_msg(int fd, enum msg_type type, size_t index, const void *p, size_t len)
{
	struct msg_head h = { .type = type, .len = (uint32_t)len, .index = index };

	if (write_full(fd, &h, sizeof(h)) < 0 || (len && write_full(fd, p, len) < 0))
		return -EPIPE;
	return 0;
}

static int send_result(int fd, size_t index, const struct vecs_cell_result *r)
{
	struct buf b = { 0 };
	uint32_t n = (uint32_t)r->n_evidence;
	int rc;

	buf_add(&b, r, sizeof(*r));
	buf_str(&b, r->reason);
	buf_str(&b, r->outcome);
	buf_add(&b, &n, sizeof(n));
	for (size_t i = 0; i < r->n_evidence; i++)
		buf_str(&b, r->evidence[i]);
	rc = b.bad ? -ENOMEM : send_msg(fd, MSG_RESULT, index, b.p, b.len);
	free(b.p);
	return rc;
}

/* Take a string from p (advancing it); NULL for an absent one. *ok false on a short
 * message. */
static char *take_str(const char **p, const char *end, bool *ok)
{
	uint32_t n;
	char *s;

	if (end - *p < (ptrdiff_t)sizeof(n)) {
		*ok = false;
		return NULL;
	}
	memcpy(&n, *p, sizeof(n));
	*p += sizeof(n);
	if (n == UINT32_MAX)
		return NULL;
	if (end - *p < (ptrdiff_t)n || !(s = strndup(*p, n))) {
		*ok = false;
		return NULL;
	}
	*p += n;
	return s;
}

static int decode_result(const char *p, size_t len, struct vecs_cell_result *r)
{
	const char *end = p + len;
	char **ev = NULL;
	uint32_t n = 0;
	bool ok = len >= sizeof(*r);

	if (!ok)
		return -EPROTO;
	memcpy(r, p, sizeof(*r));
	p += sizeof(*r);
	r->evidence = NULL;
	r->n_evidence = 0;
	r->reason = take_str(&p, end, &ok);
	r->outcome = ok ? take_str(&p, end, &ok) : NULL;
	if (ok && end - p >= (ptrdiff_t)sizeof(n)) {
		memcpy(&n, p, sizeof(n));
		p += sizeof(n);
		ev = n ? calloc(n, sizeof(*ev)) : NULL;
		ok = !n || ev;
	} else {
		ok = false;
	}
	for (uint32_t i = 0; ok && i < n; i++)
		ev[i] = take_str(&p, end, &ok);
	r->evidence = (const char *const *)ev;
	r->n_evidence = ev ? n : 0;
	return ok ? 0 : -EPROTO;
}

/* ---- the worker ---------------------------------------------------------------------- */

static void __attribute__((noreturn))
worker_main(unsigned w, int cmd_fd, int res_fd, const struct vecs_pool_ops *ops, void *ctx)
{
	struct vecs_err err = { 0 };
	void *state = NULL;
	uint64_t index;

	if (ops->setup(ctx, w, &state, &err) < 0) {
		send_msg(res_fd, MSG_SETUP_FAILED, 0, err.msg, strlen(err.msg));
		ops->teardown(ctx, w, NULL);
		fflush(NULL);
		_exit(1);
	}
	send_msg(res_fd, MSG_READY, 0, NULL, 0);
	while (read_full(cmd_fd, &index, sizeof(index)) == 0 && index != UINT64_MAX) {
		struct vecs_cell_result r;
		ops->run_cell(ctx, state, (size_t)index, &r);
		fflush(NULL);
		if (send_result(res_fd, (size_t)index, &r) < 0)
			break;
		vecs_cell_result_free(&r);
	}
	ops->teardown(ctx, w, state);
	fflush(NULL);
	_exit(0);
}

static int start_worker(struct worker *ws, unsigned w, const struct vecs_pool_ops *ops, void *ctx,
			struct vecs_err *err)
{
	int cmd[2], res[2];
	pid_t parent = getpid();

	if (pipe2(cmd, O_CLOEXEC) < 0)
		return vecs_err_set(err, -errno, "cannot make a pipe for worker %u: %s", w + 1,
				    strerror(errno));
	if (pipe2(res, O_CLOEXEC) < 0) {
		int e = errno;
		close(cmd[0]);
		close(cmd[1]);
		return vecs_err_set(err, -e, "cannot make a pipe for worker %u: %s", w + 1, strerror(e));
	}
	fflush(NULL);
	ws[w].pid = fork();
	if (ws[w].pid < 0) {
		int e = errno;
		close(cmd[0]);
		close(cmd[1]);
		close(res[0]);
		close(res[1]);
		return vecs_err_set(err, -e, "cannot fork worker %u: %s", w + 1, strerror(e));
	}
	if (ws[w].pid == 0) {
		/* a killed run takes its workers along; their sandboxes then stop themselves */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		for (unsigned k = 0; k < w; k++) {
			close(ws[k].cmd_fd);
			close(ws[k].res_fd);
		}
		close(cmd[1]);
		close(res[0]);
		worker_main(w, cmd[0], res[1], ops, ctx);
	}
	close(cmd[0]);
	close(res[1]);
	ws[w].cmd_fd = cmd[1];
	ws[w].res_fd = res[0];
	ws[w].state = W_STARTING;
	return 0;
}

/* ---- the parent ---------------------------------------------------------------------- */

struct pool_run {
	size_t n, next, finished;
	unsigned jobs, ready;
	struct worker *ws;
	const struct vecs_pool_ops *ops;
	void *ctx;
	struct vecs_cell_result *results;
	bool *have;
	struct vecs_progress *progress;
	char setup_error[512];
};

static void mark_failed(struct pool_run *pr, size_t index, const char *why)
{
	struct vecs_cell_result *r = &pr->results[index];

	memset(r, 0, sizeof(*r));
	pr->ops->describe(pr->ctx, index, r);
	r->status = VECS_CELL_FAIL;
	r->reason = strdup(why);
	pr->have[index] = true;
	pr->finished++;
}

static void worker_gone(struct pool_run *pr, unsigned w)
{
	struct worker *wk = &pr->ws[w];
	int status = 0;

	if (wk->cmd_fd >= 0)
		close(wk->cmd_fd);
	close(wk->res_fd);
	waitpid(wk->pid, &status, 0);
	if (wk->state == W_BUSY) {
		char why[160];
		if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "worker %u died (signal %d) while running this cell",
				 w + 1, WTERMSIG(status));
		else
			snprintf(why, sizeof(why), "worker %u exited (status %d) while running this cell",
				 w + 1, WEXITSTATUS(status));
		mark_failed(pr, wk->cell, why);
		if (pr->progress)
			vecs_progress_done(pr->progress, w, &pr->results[wk->cell]);
	}
	wk->state = W_GONE;
}

/* Read one message from worker w. */
static void on_message(struct pool_run *pr, unsigned w)
{
	struct worker *wk = &pr->ws[w];
	struct msg_head h;
	char *body = NULL;

	if (read_full(wk->res_fd, &h, sizeof(h)) < 0 ||
	    (h.len && (!(body = malloc(h.len + 1)) || read_full(wk->res_fd, body, h.len) < 0))) {
		free(body);
		worker_gone(pr, w);
		return;
	}
	if (h.type == MSG_READY) {
		wk->state = W_IDLE;
		pr->ready++;
	} else if (h.type == MSG_SETUP_FAILED) {
		body[h.len] = '\0';
		snprintf(pr->setup_error, sizeof(pr->setup_error), "worker %u: %s", w + 1, body);
		if (pr->progress && pr->progress->out)
			fprintf(pr->progress->out, "vecs run: %s\n", pr->setup_error);
	} else if (h.type == MSG_RESULT && wk->state == W_BUSY && h.index == wk->cell) {
		if (decode_result(body, h.len, &pr->results[h.index]) < 0) {
			vecs_cell_result_free(&pr->results[h.index]);
			mark_failed(pr, h.index, "the worker's result was garbled");
		} else {
			pr->have[h.index] = true;
			pr->finished++;
		}
		if (pr->progress)
			vecs_progress_done(pr->progress, w, &pr->results[h.index]);
		wk->state = W_IDLE;
	}
	free(body);
}

static void dispatch(struct pool_run *pr, unsigned w)
{
	struct worker *wk = &pr->ws[w];
	uint64_t index = pr->next < pr->n ? pr->next : UINT64_MAX;

	if (wk->state != W_IDLE)
		return;
	if (write_full(wk->cmd_fd, &index, sizeof(index)) < 0 || index == UINT64_MAX) {
		/* stopping: it tears its sandbox down and exits; its end of file tells */
		wk->state = W_STOPPING;
		close(wk->cmd_fd);
		wk->cmd_fd = -1;
		return;
	}
	wk->state = W_BUSY;
	wk->cell = pr->next++;
	if (pr->progress)
		vecs_progress_start(pr->progress, w, pr->ops->cell_id(pr->ctx, wk->cell));
}

static unsigned live_workers(const struct pool_run *pr)
{
	unsigned n = 0;

	for (unsigned w = 0; w < pr->jobs; w++)
		n += pr->ws[w].state != W_GONE;
	return n;
}

static void loop(struct pool_run *pr)
{
	struct pollfd fds[VECS_PROGRESS_MAX_JOBS];

	while (live_workers(pr)) {
		unsigned idx[VECS_PROGRESS_MAX_JOBS], k = 0;

		for (unsigned w = 0; w < pr->jobs; w++)
			dispatch(pr, w);
		for (unsigned w = 0; w < pr->jobs; w++)
			if (pr->ws[w].state != W_GONE) {
				fds[k] = (struct pollfd){ .fd = pr->ws[w].res_fd, .events = POLLIN };
				idx[k++] = w;
			}
		if (poll(fds, k, 1000) < 0 && errno != EINTR)
			break;
		for (unsigned i = 0; i < k; i++)
			if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
				on_message(pr, idx[i]);
		if (pr->progress)
			vecs_progress_tick(pr->progress);
	}
}

int vecs_pool_run(size_t n, unsigned jobs, const struct vecs_pool_ops *ops, void *ctx,
		  struct vecs_cell_result *results, struct vecs_progress *progress,
		  struct vecs_err *err)
{
	struct worker ws[VECS_PROGRESS_MAX_JOBS];
	struct pool_run pr = { .n = n, .ws = ws, .ops = ops, .ctx = ctx, .results = results,
			       .progress = progress };
	int rc = 0;

	if (jobs < 1 || jobs > VECS_PROGRESS_MAX_JOBS)
		return vecs_err_set(err, -EINVAL, "jobs must be 1 to %d, not %u", VECS_PROGRESS_MAX_JOBS,
				    jobs);
	pr.jobs = jobs < n ? jobs : (unsigned)(n ? n : 1);
	pr.have = calloc(n ? n : 1, sizeof(*pr.have));
	if (!pr.have)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	memset(results, 0, n * sizeof(*results));
	for (unsigned w = 0; w < pr.jobs && rc == 0; w++) {
		rc = start_worker(ws, w, ops, ctx, err);
		if (rc < 0)
			pr.jobs = w; /* run with the workers that started */
	}
	if (pr.jobs)
		loop(&pr);
	for (size_t i = 0; i < n; i++) {
		if (pr.have[i])
			continue;
		mark_failed(&pr, i, pr.setup_error[0] ? pr.setup_error : "no worker was left to run this cell");
		/* a run that started shows every cell; one that never did says why, once */
		if (pr.ready && progress)
			vecs_progress_done(progress, VECS_PROGRESS_MAX_JOBS, &results[i]);
	}
	free(pr.have);
	if (!pr.ready) {
		vecs_err_set(err, rc < 0 ? rc : -EIO, "no worker could set up its sandbox: %s",
			     pr.setup_error[0] ? pr.setup_error : err->msg);
		return rc < 0 ? rc : 0;
	}
	return (int)pr.ready;
}
