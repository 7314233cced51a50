/* Running external programs: argv arrays, never a shell.
 *
 * Every external process of vecs goes through here: a timeout, stderr captured (its
 * tail, for error messages), stdout captured or sent to a file, extra environment
 * entries, and optionally entering a network or mount namespace before exec. Nothing a
 * caller passes here may be a secret: argv and the environment are readable by every
 * user of the machine (/proc/PID/cmdline, /proc/PID/environ is root-only but still
 * leaks into core dumps and child processes). Pass secrets as 0600 files. */
#ifndef VECS_UTIL_SPAWN_H
#define VECS_UTIL_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

struct vecs_spawn_opts {
	int timeout_ms;               /* 0: wait forever; then SIGKILL to the child's group */
	const char *const *env_extra; /* NULL-terminated "NAME=value" added to environ */
	const char *netns;            /* netns file to enter (/run/netns/N, /proc/P/ns/net) */
	const char *mntns;            /* mount namespace file to enter (/proc/P/ns/mnt) */
	const char *cwd;              /* working directory of the child */
	const char *stdin_path;       /* default /dev/null */
	const char *stdout_path;      /* append stdout here instead of capturing it */
	const char *stderr_path;      /* append stderr here instead of capturing it */
	char *out;                    /* captured stdout (NUL-terminated, head), or NULL */
	size_t out_cap;
	char *errbuf;                 /* captured stderr (NUL-terminated, tail), or NULL */
	size_t err_cap;
	/* Run in the child after fork and namespace entry, before exec; a negative
	 * return aborts the child with status 127. Must be async-signal-safe when the
	 * parent is multi-threaded. */
	int (*child_setup)(void *arg);
	void *child_arg;
};

/* Run argv[0] (searched in PATH) to completion. Returns 0 when the program ran and
 * *status holds its result: the exit code, 128+N when killed by signal N, or -1 on a
 * timeout (then also err is set). Returns -errno when it could not run at all (no such
 * program: -ENOENT, with a message). */
int vecs_spawn_run(const char *const argv[], struct vecs_spawn_opts *o, int *status,
		   struct vecs_err *err);

/* Start argv in the background and return at once with its pid and start time
 * (vecs_proc_*). stdout and stderr go to the opts' paths (or /dev/null); out/errbuf
 * and timeout_ms are ignored. Before the child may exec, `before_exec(pid, starttime,
 * arg)` runs in the parent (e.g. to write the pid to a ledger): if it fails, or the
 * parent dies first, the child exits without running the program, so a process
 * always exists only once it is recorded. The child is in its own process group. */
int vecs_spawn_start(const char *const argv[], const struct vecs_spawn_opts *o,
		     int (*before_exec)(pid_t pid, uint64_t starttime, void *arg), void *arg,
		     pid_t *pid, uint64_t *starttime, struct vecs_err *err);

/* Human-readable summary of a status from vecs_spawn_run ("exit 3", "signal 9",
 * "timed out") into buf. */
const char *vecs_spawn_status_str(int status, char *buf, size_t len);

#endif
