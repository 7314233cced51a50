/* The schema, versioned. One text serves every backend: `{ID_PK}` and
 * `{TABLE_OPTIONS}` are replaced by the backend's dialect words (db_backend.h), and
 * everything else is SQL that SQLite and MariaDB both accept. See SCHEMA.md.
 *
 * Migrations only ever append: version N's statements are never edited once released;
 * a change is a new version. db_migrate (db.h) applies the missing ones in order and
 * records each in `schema_version`. */
#ifndef VECS_REF_DB_SCHEMA_H
#define VECS_REF_DB_SCHEMA_H

#include <stddef.h>

#include "db/db.h"

struct db_dialect;

struct schema_migration {
	int version;
	const char *description;
	const char *const *statements; /* NULL-terminated */
};

/* The newest schema version this code knows. */
#define SCHEMA_VERSION_LATEST 3

/* All migrations, in ascending version order. */
const struct schema_migration *schema_migrations(size_t *count);

/* Substitute the dialect words into one statement; *out is malloc'ed. */
int schema_render(const struct db_dialect *dialect, const char *tmpl, char **out,
		  struct vecs_err *err);

/* The text of stmt to run on backend ("sqlite", "mariadb"): a statement prefixed
 * "@sqlite " or "@mariadb " runs on that backend only (NULL elsewhere), without the
 * prefix; any other runs everywhere. */
const char *schema_statement_for(const char *backend, const char *stmt);

/* Version recorded in the database (0 for an empty database). */
int schema_current_version(struct db *db, int *version, struct vecs_err *err);

#endif
