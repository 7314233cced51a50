#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/proc.h"

extern char **environ;

/* environ plus extra entries; an extra "NAME=v" replaces an inherited NAME. */
static char **build_env(const char *const *extra)
{
	size_t n = 0, m = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	while (extra && extra[m])
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool replaced = false;
		for (size_t j = 0; j < m && !replaced; j++) {
			const char *eq = strchr(extra[j], '=');
			size_t len = eq ? (size_t)(eq - extra[j]) + 1 : strlen(extra[j]);
			replaced = strncmp(environ[i], extra[j], len) == 0;
		}
		if (!replaced)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		env[k++] = (char *)extra[j];
	env[k] = NULL;
	return env;
}

static void child_fail(int errfd, int e)
{
	/* Tell the parent why; it reads 4 bytes from a close-on-exec pipe. */
	if (write(errfd, &e, sizeof(e)) < 0) {
		/* nothing left to report to */
	}
	_exit(127);
}

static int enter_ns(const char *path, int nstype)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -1;
	r = setns(fd, nstype);
	close(fd);
	return r;
}

static void redirect(const char *path, int target, int flags, int errfd)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd < 0 || dup2(fd, target) < 0)
		child_fail(errfd, errno);
	close(fd);
}

/* The child side: namespaces, stdio, setup hook, optional go signal, exec. */
static void child_exec(const char *const argv[], const struct vecs_spawn_opts *o, char **env,
		       int outfd, int errpipe, int errfd, int gofd)
{
	setpgid(0, 0);
	/* Default signal dispositions for the program we run. */
	signal(SIGPIPE, SIG_DFL);
	if (o->netns && enter_ns(o->netns, CLONE_NEWNET) < 0)
		child_fail(errfd, errno);
	if (o->mntns && enter_ns(o->mntns, CLONE_NEWNS) < 0)
		child_fail(errfd, errno);
	if (o->cwd && chdir(o->cwd) < 0)
		child_fail(errfd, errno);
	redirect(o->stdin_path ? o->stdin_path : "/dev/null", 0, O_RDONLY, errfd);
	if (o->stdout_path)
		redirect(o->stdout_path, 1, O_WRONLY | O_CREAT | O_APPEND, errfd);
	else if (outfd >= 0)
		dup2(outfd, 1);
	else
		redirect("/dev/null", 1, O_WRONLY, errfd);
	if (o->stderr_path)
		redirect(o->stderr_path, 2, O_WRONLY | O_CREAT | O_APPEND, errfd);
	else if (errpipe >= 0)
		dup2(errpipe, 2);
	else
		redirect("/dev/null", 2, O_WRONLY, errfd);
	if (gofd >= 0) {
		char go;
		/* EOF: the parent died or refused before recording us. */
		if (read(gofd, &go, 1) != 1)
			_exit(127);
		close(gofd);
	}
	if (o->child_setup && o->child_setup(o->child_arg) < 0)
		child_fail(errfd, errno ? errno : EPERM);
	/* Nothing but stdio and the exec-error pipe reaches the program. */
	syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
	execvpe(argv[0], (char *const *)argv, env);
	child_fail(errfd, errno);
}

/* After fork: did exec succeed? 0, or the child's errno. */
static int exec_result(int errfd)
{
	int e = 0;
	ssize_t n;

	do
		n = read(errfd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	return n == sizeof(e) ? e : 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append to a head buffer (stdout: keep the beginning). */
static void keep_head(char *buf, size_t cap, size_t *len, const char *p, size_t n)
{
	if (!buf || cap == 0)
		return;
	if (n > cap - 1 - *len)
		n = cap - 1 - *len;
	memcpy(buf + *len, p, n);
	*len += n;
	buf[*len] = '\0';
}

/* Append to a tail buffer (stderr: the end says what went wrong). */
static void keep_tail(char *buf, size_t cap, size_t *len, const char *p, size_t n)
{
	if (!buf || cap < 2)
		return;
	if (n >= cap - 1) {
		p += n - (cap - 1);
		n = cap - 1;
	}
	if (*len + n > cap - 1) {
		size_t drop = *len + n - (cap - 1);
		memmove(buf, buf + drop, *len - drop);
		*len -= drop;
	}
	memcpy(buf + *len, p, n);
	*len += n;
	buf[*len] = '\0';
}

static const char *prog_name(const char *const argv[])
{
	return argv && argv[0] ? argv[0] : "(null)";
}

int vecs_spawn_run(const char *const argv[], struct vecs_spawn_opts *o, int *status,
		   struct vecs_err *err)
{
	struct vecs_spawn_opts none = { 0 };
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, ep[2] = { -1, -1 };
	size_t out_len = 0, err_len = 0;
	int pidfd = -1, wstatus = 0, r = 0, e;
	bool timed_out = false, reaped = false;
	int64_t deadline;
	char **env;
	pid_t pid;

	if (!o)
		o = &none;
	*status = -1;
	if (o->out && o->out_cap)
		o->out[0] = '\0';
	if (o->errbuf && o->err_cap)
		o->errbuf[0] = '\0';
	env = build_env(o->env_extra);
	if (!env)
		return vecs_err_set(err, -ENOMEM, "out of memory starting %s", prog_name(argv));
	if (pipe2(ep, O_CLOEXEC) < 0 || (!o->stdout_path && pipe2(outp, O_CLOEXEC) < 0) ||
	    (!o->stderr_path && pipe2(errp, O_CLOEXEC) < 0)) {
		r = vecs_err_set(err, -errno, "cannot create pipes to run %s: %s", prog_name(argv),
				 strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = vecs_err_set(err, -errno, "cannot fork to run %s: %s", prog_name(argv),
				 strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(ep[0]);
		child_exec(argv, o, env, outp[1], errp[1], ep[1], -1);
	}
	close(ep[1]);
	ep[1] = -1;
	if (outp[1] >= 0) {
		close(outp[1]);
		outp[1] = -1;
	}
	if (errp[1] >= 0) {
		close(errp[1]);
		errp[1] = -1;
	}
	e = exec_result(ep[0]);
	if (e) {
		waitpid(pid, NULL, 0);
		r = vecs_err_set(err, -e, "cannot run %s: %s", prog_name(argv), strerror(e));
		goto out;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	deadline = o->timeout_ms > 0 ? now_ms() + o->timeout_ms : -1;
	/* Read both pipes until the child has exited and the pipes are drained; a
	 * grandchild that keeps a pipe open does not keep us waiting. */
	for (bool exited = false;;) {
		struct pollfd p[3] = { { outp[0], POLLIN, 0 }, { errp[0], POLLIN, 0 },
				       { exited ? -1 : pidfd, POLLIN, 0 } };
		int wait_ms = -1, n;
		char buf[4096];

		if (outp[0] < 0 && errp[0] < 0 && exited)
			break;
		if (exited)
			wait_ms = 0;
		else if (deadline >= 0)
			wait_ms = (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0);
		/* Without a pidfd (valgrind, old kernels) look at the child every 20 ms. */
		if (pidfd < 0 && !exited && (wait_ms < 0 || wait_ms > 20))
			wait_ms = 20;
		n = poll(p, 3, wait_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (pidfd < 0 && !exited && waitpid(pid, &wstatus, WNOHANG) == pid) {
			exited = reaped = true;
			continue;
		}
		if (n == 0 && !exited && (deadline < 0 || now_ms() < deadline))
			continue;
		if (n == 0) {
			if (exited)
				break; /* drained what was there */
			timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			break;
		}
		for (int i = 0; i < 2; i++) {
			int *fd = i == 0 ? &outp[0] : &errp[0];
			ssize_t got;

			if (*fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = read(*fd, buf, sizeof(buf));
			if (got <= 0) {
				close(*fd);
				*fd = -1;
			} else if (i == 0) {
				keep_head(o->out, o->out_cap, &out_len, buf, (size_t)got);
			} else {
				keep_tail(o->errbuf, o->err_cap, &err_len, buf, (size_t)got);
			}
		}
		if (p[2].revents & POLLIN)
			exited = true;
	}
	while (!reaped && waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		*status = -1;
		vecs_err_set(err, -ETIMEDOUT, "%s did not finish within %d ms and was killed",
			     prog_name(argv), o->timeout_ms);
	} else if (WIFEXITED(wstatus)) {
		*status = WEXITSTATUS(wstatus);
	} else if (WIFSIGNALED(wstatus)) {
		*status = 128 + WTERMSIG(wstatus);
	}
out:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	free(env);
	return r;
}

int vecs_spawn_start(const char *const argv[], const struct vecs_spawn_opts *o,
		     int (*before_exec)(pid_t pid, uint64_t starttime, void *arg), void *arg,
		     pid_t *pid_out, uint64_t *start_out, struct vecs_err *err)
{
	struct vecs_spawn_opts none = { 0 };
	int ep[2] = { -1, -1 }, gp[2] = { -1, -1 };
	uint64_t st = 0;
	int r = 0, e;
	char **env;
	pid_t pid;

	if (!o)
		o = &none;
	env = build_env(o->env_extra);
	if (!env)
		return vecs_err_set(err, -ENOMEM, "out of memory starting %s", prog_name(argv));
	if (pipe2(ep, O_CLOEXEC) < 0 || pipe2(gp, O_CLOEXEC) < 0) {
		r = vecs_err_set(err, -errno, "cannot create pipes to start %s: %s",
				 prog_name(argv), strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = vecs_err_set(err, -errno, "cannot fork to start %s: %s", prog_name(argv),
				 strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(ep[0]);
		close(gp[1]);
		child_exec(argv, o, env, -1, -1, ep[1], gp[0]);
	}
	close(ep[1]);
	close(gp[0]);
	ep[1] = gp[0] = -1;
	r = vecs_proc_starttime(pid, &st);
	if (r == 0 && before_exec)
		r = before_exec(pid, st, arg);
	if (r < 0) {
		/* Closing the go pipe without a byte makes the child exit. */
		close(gp[1]);
		gp[1] = -1;
		waitpid(pid, NULL, 0);
		if (!err || !err->code)
			vecs_err_set(err, r, "could not record %s before starting it: %s",
				     prog_name(argv), strerror(-r));
		goto out;
	}
	{
		/* A child killed meanwhile must not take us down with SIGPIPE. */
		struct sigaction ign = { .sa_handler = SIG_IGN }, old;
		ssize_t w;

		sigaction(SIGPIPE, &ign, &old);
		w = write(gp[1], "g", 1);
		e = errno;
		sigaction(SIGPIPE, &old, NULL);
		if (w != 1) {
			waitpid(pid, NULL, 0);
			r = vecs_err_set(err, -e, "cannot signal %s to start: %s",
					 prog_name(argv), strerror(e));
			goto out;
		}
	}
	close(gp[1]);
	gp[1] = -1;
	e = exec_result(ep[0]);
	if (e) {
		waitpid(pid, NULL, 0);
		r = vecs_err_set(err, -e, "cannot start %s: %s", prog_name(argv), strerror(e));
		goto out;
	}
	*pid_out = pid;
	*start_out = st;
out:
	for (int i = 0; i < 2; i++) {
		if (ep[i] >= 0)
			close(ep[i]);
		if (gp[i] >= 0)
			close(gp[i]);
	}
	free(env);
	return r;
}

const char *vecs_spawn_status_str(int status, char *buf, size_t len)
{
	if (status < 0)
		snprintf(buf, len, "timed out");
	else if (status > 128)
		snprintf(buf, len, "killed by signal %d", status - 128);
	else
		snprintf(buf, len, "exit %d", status);
	return buf;
}
