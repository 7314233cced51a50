/* Expansion: scenarios x storage types x profiles => cells, then the run's filters
 * (--storage, --only, --shard) and a per-cell seed derived from the run seed.
 *
 * A cell id is `<operation>/<storage>/<profile>`. Which shard a cell falls in depends
 * on its id alone (SHA-256 of the id, mod N), so adding a scenario never moves an
 * existing cell to another shard, and the shards of one N partition the cells. */
#ifndef VECS_ENGINE_EXPAND_H
#define VECS_ENGINE_EXPAND_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/scenario.h"
#include "util/err.h"

#define VECS_SEED_HEX 16 /* seeds are 16 hex digits */

struct vecs_cell {
	char id[160];   /* resize-volume/nfs/cloudstack-4.18 */
	char slug[160]; /* resize-volume-nfs-cloudstack-4-18: safe in names and paths */
	const struct vecs_scenario *scenario;
	const char *storage;
	const struct vecs_run_profile *profile;
	char seed[VECS_SEED_HEX + 1];
};

struct vecs_expand_opts {
	bool storage_set;                    /* else every storage type */
	bool storage[VECS_STORAGE_COUNT];
	const char *const *profiles;         /* run profile ids; NULL: the default profile */
	size_t n_profiles;
	const char *only;                    /* comma-separated globs on the cell id, or NULL */
	unsigned shard_index, shard_count;   /* shard I of N, 1 <= I <= N; 0/0: no sharding */
	const char *run_seed;                /* required: VECS_SEED_HEX hex digits */
};

struct vecs_cell_list {
	struct vecs_cell *cells;
	size_t n;
	size_t n_expanded; /* before --storage, --only and --shard */
};

int vecs_expand(const struct vecs_scenario_set *set, const struct vecs_expand_opts *o,
		struct vecs_cell_list *out, struct vecs_err *err);
void vecs_cell_list_free(struct vecs_cell_list *l);

/* "I/N" with 1 <= I <= N <= 10000. */
int vecs_parse_shard(const char *s, unsigned *index, unsigned *count, struct vecs_err *err);
/* "nfs,local,smp,scaleio" (any non-empty subset). */
int vecs_parse_storage_list(const char *s, bool out[VECS_STORAGE_COUNT], struct vecs_err *err);
/* Does id match one of the comma-separated globs (fnmatch, `*` also matches `/`)? */
bool vecs_cell_matches(const char *patterns, const char *id);
/* The shard (0-based) of a cell id among n. */
unsigned vecs_cell_shard(const char *cell_id, unsigned n);
/* Seed of a cell: first 8 bytes of SHA-256("vecs-cell-seed:" run_seed ":" id), hex. */
void vecs_cell_seed(const char *run_seed, const char *cell_id, char out[VECS_SEED_HEX + 1]);
/* A fresh random run seed; -errno when the kernel gives no randomness. */
int vecs_run_seed_new(char out[VECS_SEED_HEX + 1], struct vecs_err *err);
/* Is s a valid seed (exactly VECS_SEED_HEX lower-case hex digits)? */
bool vecs_seed_valid(const char *s);

#endif
