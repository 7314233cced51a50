/* The state of one vecs-mgmt process, shared by the HTTP threads and the job workers. */
#ifndef VECS_REF_MGMT_MGMT_H
#define VECS_REF_MGMT_MGMT_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "db/db_encryptor.h"
#include "mgmt/db_pool.h"

struct job_runner;
struct agent_channel;
struct pfx;

struct mgmt {
	struct db_pool *pool;
	struct db_encryptor enc;   /* the installation key: secret keys at rest */
	struct job_runner *jobs;
	struct agent_channel *agents; /* NULL without --agent-socket */
	struct pfx *pfx;           /* PowerFlex gateway client; NULL without
	                            * --powerflex-password-file */
	const char *secondary;     /* secondary storage root as hosts see it (snapshots) */
	FILE *log;                 /* NULL: stderr */
	pthread_mutex_t log_lock;
	time_t (*now)(void);       /* clock for `expires`; time() unless a test sets it */
	unsigned agent_timeout_ms; /* --agent-timeout-ms: caps cloud_agent_call's timeouts
	                            * (0: none) */
};

/* One log line (a newline is added). Never pass a secret, a signature or a raw query
 * string: callers log command names, codes and uuids only. */
void mgmt_log(struct mgmt *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
