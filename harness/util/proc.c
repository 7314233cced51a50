#include "util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* State letter and start time from /proc/PID/stat. The command name (field 2) may hold
 * spaces and parentheses, so parsing starts after its last ')'. */
static int read_stat(pid_t pid, char *state, uint64_t *starttime)
{
	char path[64], buf[1024], *p;
	unsigned long long st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	/* after ") ": field 3 is state; starttime is field 22, i.e. 19 more fields on */
	p += 2;
	*state = *p;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	if (sscanf(p, "%llu", &st) != 1)
		return -EINVAL;
	*starttime = st;
	return 0;
}

int vecs_proc_starttime(pid_t pid, uint64_t *starttime)
{
	char state;

	if (pid <= 0)
		return -EINVAL;
	return read_stat(pid, &state, starttime);
}

bool vecs_proc_alive(pid_t pid, uint64_t starttime)
{
	uint64_t st;
	char state;

	if (pid <= 0 || read_stat(pid, &state, &st) < 0)
		return false;
	return st == starttime && state != 'Z' && state != 'X';
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Wait until the process has exited (or is a zombie), for at most ms: through its
 * pidfd, or by polling /proc where pidfds are unavailable. */
static bool wait_gone(int pidfd, pid_t pid, uint64_t starttime, int ms)
{
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		/* A pidfd polls readable once the process has exited, zombie or not. */
		if (poll(&p, 1, ms) > 0) {
			(void)waitpid(pid, NULL, WNOHANG); /* our own child: reap it */
			return true;
		}
		return !vecs_proc_alive(pid, starttime);
	}
	for (int waited = 0;; waited += 10) {
		struct timespec ts = { 0, 10 * 1000000L };

		(void)waitpid(pid, NULL, WNOHANG);
		if (!vecs_proc_alive(pid, starttime))
			return true;
		if (waited >= ms)
			return false;
		nanosleep(&ts, NULL);
	}
}

/* Signal (pid, starttime): through the pidfd when there is one; otherwise (kernels
 * before 5.3, valgrind) check the start time right before kill(2), which leaves only
 * the microseconds between the two for a pid to be reused. */
static int send_sig(int pidfd, pid_t pid, uint64_t starttime, int sig)
{
	if (pidfd >= 0)
		return pidfd_signal(pidfd, sig) < 0 && errno != ESRCH ? -errno : 0;
	if (!vecs_proc_alive(pid, starttime))
		return 0;
	return kill(pid, sig) < 0 && errno != ESRCH ? -errno : 0;
}

int vecs_proc_stop(pid_t pid, uint64_t starttime, int grace_ms, bool *was_ours)
{
	int pidfd, r = 0;

	if (was_ours)
		*was_ours = false;
	if (pid <= 0)
		return -EINVAL;
	/* Open a pidfd first, then check the start time: if it matches, the pidfd refers
	 * to the recorded process and signals through it cannot reach a successor that
	 * reused the pid. */
	pidfd = pidfd_open_(pid);
	if (pidfd < 0 && errno == ESRCH)
		return 0;
	if (pidfd < 0 && errno != ENOSYS)
		return -errno;
	if (!vecs_proc_alive(pid, starttime)) {
		(void)waitpid(pid, NULL, WNOHANG);
		goto out;
	}
	if (was_ours)
		*was_ours = true;
	if ((r = send_sig(pidfd, pid, starttime, SIGTERM)) < 0)
		goto out;
	if (wait_gone(pidfd, pid, starttime, grace_ms))
		goto out;
	if ((r = send_sig(pidfd, pid, starttime, SIGKILL)) < 0)
		goto out;
	if (!wait_gone(pidfd, pid, starttime, 2000))
		r = -ETIMEDOUT;
out:
	if (pidfd >= 0)
		close(pidfd);
	return r;
}
