#include "mgmt/jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/async_job_dao.h"

struct job {
	struct job *next;
	int64_t id;
	job_fn fn;
	char target[41];
};

struct job_runner {
	struct mgmt *m;
	pthread_mutex_t mu;
	pthread_cond_t cv, idle;
	struct job *head, *tail;
	unsigned running;
	int stopping;
	unsigned n;
	pthread_t *threads;
};

static void run_one(struct job_runner *jr, struct job *j)
{
	struct mgmt *m = jr->m;
	struct db *db = db_pool_get(m->pool);
	struct vecs_err err = { 0 };
	char errortext[512] = "";
	int errcode = 530, r;
	struct json_writer res;
	char *json;

	jw_init_mem(&res, false);
	jw_set_utf8(&res, true);
	jw_obj_begin(&res);
	r = j->fn(m, db, j->target, &res, &errcode, errortext, sizeof(errortext));
	if (r < 0) {
		jw_reset(&res);
		jw_obj_begin(&res);
		jw_kv_int(&res, "errorcode", errcode);
		jw_kv_str(&res, "errortext", errortext[0] ? errortext : "the job failed");
	}
	jw_obj_end(&res);
	json = jw_take(&res, NULL);
	if (async_job_complete(db, j->id, r < 0 ? ASYNC_JOB_FAILED : ASYNC_JOB_SUCCEEDED,
			       r < 0 ? errcode : 0,
			       json ? json : "{\"errorcode\":530,\"errortext\":\"out of memory\"}",
			       &err) < 0)
		mgmt_log(m, "async job %lld: recording its result failed: %s", (long long)j->id,
			 err.msg);
	else
		mgmt_log(m, "async job %lld: %s (%d)", (long long)j->id,
			 r < 0 ? "failed" : "succeeded", r < 0 ? errcode : 0);
	free(json);
	db_pool_put(m->pool, db);
}

static void *worker(void *arg)
{
	struct job_runner *jr = arg;

	pthread_mutex_lock(&jr->mu);
	for (;;) {
		struct job *j;

		while (!jr->head && !jr->stopping)
			pthread_cond_wait(&jr->cv, &jr->mu);
		if (jr->stopping)
			break;
		j = jr->head;
		jr->head = j->next;
		if (!jr->head)
			jr->tail = NULL;
		jr->running++;
		pthread_mutex_unlock(&jr->mu);
		run_one(jr, j);
		free(j);
		pthread_mutex_lock(&jr->mu);
		jr->running--;
		if (!jr->head && jr->running == 0)
			pthread_cond_broadcast(&jr->idle);
	}
	pthread_mutex_unlock(&jr->mu);
	return NULL;
}

int jobs_start(struct job_runner **out, struct mgmt *m, unsigned nthreads,
	       struct vecs_err *err)
{
	struct job_runner *jr = calloc(1, sizeof(*jr));

	*out = NULL;
	if (!jr || !(jr->threads = calloc(nthreads ? nthreads : 1, sizeof(pthread_t)))) {
		free(jr);
		return vecs_err_set(err, -ENOMEM, "out of memory starting the job workers");
	}
	jr->m = m;
	pthread_mutex_init(&jr->mu, NULL);
	pthread_cond_init(&jr->cv, NULL);
	pthread_cond_init(&jr->idle, NULL);
	for (unsigned i = 0; i < (nthreads ? nthreads : 1); i++) {
		int r = pthread_create(&jr->threads[i], NULL, worker, jr);
		if (r != 0) {
			jobs_stop(jr);
			return vecs_err_set(err, -r, "cannot start a job worker thread: %s",
					    strerror(r));
		}
		jr->n++;
	}
	*out = jr;
	return 0;
}

int jobs_submit(struct job_runner *jr, int64_t job_id, job_fn fn, const char *target_uuid,
		struct vecs_err *err)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return vecs_err_set(err, -ENOMEM, "out of memory queueing an async job");
	j->id = job_id;
	j->fn = fn;
	snprintf(j->target, sizeof(j->target), "%s", target_uuid ? target_uuid : "");
	pthread_mutex_lock(&jr->mu);
	if (jr->stopping) {
		pthread_mutex_unlock(&jr->mu);
		free(j);
		return vecs_err_set(err, -ESHUTDOWN, "the management server is shutting down");
	}
	if (jr->tail)
		jr->tail->next = j;
	else
		jr->head = j;
	jr->tail = j;
	pthread_cond_signal(&jr->cv);
	pthread_mutex_unlock(&jr->mu);
	return 0;
}

void jobs_drain(struct job_runner *jr)
{
	pthread_mutex_lock(&jr->mu);
	while (jr->head || jr->running)
		pthread_cond_wait(&jr->idle, &jr->mu);
	pthread_mutex_unlock(&jr->mu);
}

void jobs_stop(struct job_runner *jr)
{
	if (!jr)
		return;
	pthread_mutex_lock(&jr->mu);
	jr->stopping = 1;
	pthread_cond_broadcast(&jr->cv);
	pthread_mutex_unlock(&jr->mu);
	for (unsigned i = 0; i < jr->n; i++)
		pthread_join(jr->threads[i], NULL);
	while (jr->head) {
		struct job *j = jr->head;
		jr->head = j->next;
		free(j);
	}
	pthread_mutex_destroy(&jr->mu);
	pthread_cond_destroy(&jr->cv);
	pthread_cond_destroy(&jr->idle);
	free(jr->threads);
	free(jr);
}
