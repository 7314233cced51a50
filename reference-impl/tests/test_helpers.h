/* Shared fixtures of the db tests: a migrated in-memory database, an encryptor with a
 * test key, and volumes to hang passphrases on. */
#ifndef VECS_REF_TESTS_HELPERS_H
#define VECS_REF_TESTS_HELPERS_H

#include <stdint.h>

#include "db/db.h"
#include "db/db_encryptor.h"

#define TEST_DB_SECRET "vecs-unit-test-db-secret"

/* A migrated database (":memory:" when path is NULL); fails the test on error. */
struct db *test_db_open(const char *path);
/* The same database, not migrated (schema version 0), for migration tests. */
struct db *test_db_open_empty(const char *path);
void test_encryptor(struct db_encryptor *e, enum db_encryptor_version v);
/* A disk offering (encrypt as given) and a DATADISK volume of it; returns the volume
 * id, or 0 after a failed assertion. */
int64_t test_volume(struct db *db, const char *name, int encrypt);
/* Raw text of one column of one row (a malloc'ed copy, NULL for SQL NULL or no row). */
char *test_raw_text(struct db *db, const char *sql, int64_t id);
/* Count rows of a constant query with one int64 parameter. */
int64_t test_count(struct db *db, const char *sql, int64_t id);
/* Write text to a new file at path with the given mode (fchmod, so umask is moot). */
void test_write_file(const char *path, const char *text, unsigned mode);

#endif
