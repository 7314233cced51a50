/* A fixed set of database connections shared by the HTTP threads and the job workers.
 * A struct db is one connection and is not shared between threads at the same time
 * (its transaction depth is per connection), so each request borrows one for its
 * whole duration. With SQLite in WAL mode the readers run concurrently. */
#ifndef VECS_REF_MGMT_DB_POOL_H
#define VECS_REF_MGMT_DB_POOL_H

#include "db/db.h"

struct db_pool;

/* Open n connections to kind:target and migrate the schema through the first. */
int db_pool_open(struct db_pool **out, const char *kind, const char *target, unsigned n,
		 struct vecs_err *err);
/* Borrow a connection, waiting for one to be returned if all are in use. */
struct db *db_pool_get(struct db_pool *p);
void db_pool_put(struct db_pool *p, struct db *db);
/* All connections must have been returned. NULL is fine. */
void db_pool_close(struct db_pool *p);

#endif
