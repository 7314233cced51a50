/* Process identity: a pid is only a name for a process together with its start time
 * (field 22 of /proc/PID/stat, clock ticks since boot). Everything that stops a process
 * it recorded earlier checks both, so a reused pid is never signalled. */
#ifndef VECS_UTIL_PROC_H
#define VECS_UTIL_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Start time of pid; 0, or -ENOENT when no such process (or -errno). */
int vecs_proc_starttime(pid_t pid, uint64_t *starttime);

/* True when pid exists, is not a zombie, and started at starttime. */
bool vecs_proc_alive(pid_t pid, uint64_t starttime);

/* Stop the process (pid, starttime): SIGTERM, then SIGKILL after grace_ms, waiting until
 * it has exited (or is a zombie) for at most another second. A process that is gone,
 * or whose start time differs (the pid was reused), is left alone: returns 0 and sets
 * *was_ours false. -ETIMEDOUT when it would not die. Reaps it if it is our child. */
int vecs_proc_stop(pid_t pid, uint64_t starttime, int grace_ms, bool *was_ours);

#endif
