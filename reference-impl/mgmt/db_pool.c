#include "mgmt/db_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct db_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned n, nfree;
	struct db **all;
	struct db **free;
};

int db_pool_open(struct db_pool **out, const char *kind, const char *target, unsigned n,
		 struct vecs_err *err)
{
	struct db_pool *p;
	int r = 0;

	*out = NULL;
	if (n == 0)
		return vecs_err_set(err, -EINVAL, "a database pool needs at least one connection");
	p = calloc(1, sizeof(*p));
	if (!p || !(p->all = calloc(n, sizeof(*p->all))) ||
	    !(p->free = calloc(n, sizeof(*p->free)))) {
		if (p) {
			free(p->all);
			free(p);
		}
		return vecs_err_set(err, -ENOMEM, "out of memory opening the database pool");
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (unsigned i = 0; i < n && r == 0; i++) {
		r = db_open(&p->all[i], kind, target, err);
		if (r < 0)
			break;
		p->n++;
		if (i == 0)
			r = db_migrate(p->all[0], err);
		if (r == 0)
			p->free[p->nfree++] = p->all[i];
	}
	if (r < 0) {
		db_pool_close(p);
		return r;
	}
	*out = p;
	return 0;
}

struct db *db_pool_get(struct db_pool *p)
{
	struct db *db;

	pthread_mutex_lock(&p->mu);
	while (p->nfree == 0)
		pthread_cond_wait(&p->cv, &p->mu);
	db = p->free[--p->nfree];
	pthread_mutex_unlock(&p->mu);
	/* a MariaDB restart since this connection's last use: reconnect now; if the server
	 * is still down the work's first statement fails cleanly (-ENOTCONN / 530) */
	(void)db_revive(db, NULL);
	return db;
}

void db_pool_put(struct db_pool *p, struct db *db)
{
	pthread_mutex_lock(&p->mu);
	p->free[p->nfree++] = db;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void db_pool_close(struct db_pool *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++)
		db_close(p->all[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->all);
	free(p->free);
	free(p);
}
