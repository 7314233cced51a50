/* Internals of the stack keeper shared by stack.c (bringing the stack up and down) and
 * stack_ctl.c (the control channel D/control.sock and the fault hooks). Not an API:
 * only these two files include it. */
#ifndef VECS_TARGETS_STACK_KEEPER_H
#define VECS_TARGETS_STACK_KEEPER_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "targets/stack.h"
#include "util/err.h"
#include "util/ledger.h"

#define STACK_LEDGER "stack.ledger"
#define STACK_JSON "stack.json"
#define MAX_HOSTS 8
#define MAX_PROCS 24
#define STACK_DIR_MAX (PATH_MAX - 256)
#define PROC_MAX_ARGS 48
#define PROC_MAX_ENV 16

/* A long-running process the keeper started (its child). argv and env are heap
 * copies kept for restarts; env holds the base environment (the agents' fault hooks)
 * followed by what the last `start`/`restart` with ENV asked for. */
struct proc_rec {
	char what[48];
	char log_name[32];
	pid_t pid;
	uint64_t start;
	uint64_t ledger_id; /* its process record in stack.ledger */
	char *argv[PROC_MAX_ARGS + 1];
	char *env[PROC_MAX_ENV + 1];
	int nbase_env;      /* env[0..nbase_env) is the base environment */
};

enum stack_svc_kind {
	SVC_PROC,     /* a child of the keeper: mgmt, agent-hN, scaleio, mariadb */
	SVC_LIBVIRTD, /* started by vecs-host (restart: vecs-host restart-libvirtd) */
	SVC_NFS,      /* nfs-ganesha, started by vecs-nfs (restart: vecs-nfs restart) */
};

/* A service `vecs stack ctl` knows by name. */
struct stack_svc {
	char name[24];
	enum stack_svc_kind kind;
	int proc; /* SVC_PROC: index in keeper.procs */
	int host; /* agent-hN, libvirtd-hN: N */
	const char *state; /* "running", "stopped" (on request), "killed" (on request) */
	char *env[PROC_MAX_ENV + 1]; /* NAME=VALUE of the last start/restart with ENV */
};

struct keeper {
	const struct vecs_stack_opts *o;
	char dir[PATH_MAX];
	char bin[PATH_MAX];
	struct vecs_ledger *ledger;
	char run_id[VECS_RUN_ID_LEN];
	struct proc_rec procs[MAX_PROCS];
	int nprocs;
	char host_uri[MAX_HOSTS][PATH_MAX + 96];
	char api_url[256];
	char scaleio_url[256];
	char db_target[PATH_MAX + 64];
	char system_id[17];
	bool have_nfs, have_agents;
	uint64_t owner_start; /* of o->owner */
	FILE *log;
	/* fault hooks and the control channel (stack_ctl.c) */
	char iofault_so[PATH_MAX];    /* build/lib/libvecs-iofault.so, "" when not built */
	char iofault_rules[PATH_MAX]; /* D/faults/iofault.rules */
	int ctl_fd;                   /* listening D/control.sock, -1 before */
	struct stack_svc svcs[MAX_PROCS + 2 * MAX_HOSTS];
	int nsvcs;
	/* the small-filesystem pool (stack_smallfs.c); "" before it is mounted */
	char small_pool[PATH_MAX];   /* D/pools/smp-small */
	uint64_t small_bytes;        /* its capacity as statvfs reports it */
};

/* stack.c */
int stack_run_cmd_env(struct keeper *k, const char *const argv[], const char *const *env,
		      int timeout_s, const char *log_name, struct vecs_err *err);

/* stack_ctl.c */
int stack_proc_keep_argv(struct keeper *k, struct proc_rec *p, const char *const argv[],
			 struct vecs_err *err);
int stack_faults_setup(struct keeper *k, struct vecs_err *err);
json_t *stack_faults_json(const struct keeper *k);
/* stack.c: an API client with the credentials vecs-mgmt wrote, or NULL (err set) */
struct vecs_api *stack_open_api(const struct keeper *k, struct vecs_err *err);
int stack_ctl_open(struct keeper *k, struct vecs_err *err);
void stack_ctl_serve(struct keeper *k, int timeout_ms);
void stack_ctl_close(struct keeper *k);

/* stack_smallfs.c: pool smp-small on a 64 MiB ext4 of its own (loop device), mounted
 * before the hosts start; its stack.json pool entry (NULL when it was not made) */
int stack_small_pool_up(struct keeper *k, struct vecs_err *err);
json_t *stack_small_pool_json(const struct keeper *k);

#endif
