/* Scenarios x storage x profiles => cells; filters; seeds (engine/expand.h). */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "engine/expand.h"

/* SHA-256 of a || b: a concatenation of short strings, so one buffer will do. */
static void sha256_str(const char *a, const char *b, uint8_t out[32])
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s%s", a, b);

	SHA256((const unsigned char *)buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, out);
}

unsigned vecs_cell_shard(const char *cell_id, unsigned n)
{
	uint8_t d[32];
	uint64_t v = 0;

	sha256_str("vecs-shard:", cell_id, d);
	for (int i = 0; i < 8; i++)
		v = v << 8 | d[i];
	return n ? (unsigned)(v % n) : 0;
}

static void hex8(const uint8_t *d, char out[VECS_SEED_HEX + 1])
{
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

void vecs_cell_seed(const char *run_seed, const char *cell_id, char out[VECS_SEED_HEX + 1])
{
	uint8_t d[32];
	char pre[64];

	snprintf(pre, sizeof(pre), "vecs-cell-seed:%s:", run_seed);
	sha256_str(pre, cell_id, d);
	hex8(d, out);
}

int vecs_run_seed_new(char out[VECS_SEED_HEX + 1], struct vecs_err *err)
{
	uint8_t d[8];

	if (getrandom(d, sizeof(d), 0) != (ssize_t)sizeof(d))
		return vecs_err_set(err, -errno, "cannot draw a run seed from getrandom: %s; give "
				    "one with --seed", strerror(errno));
	hex8(d, out);
	return 0;
}

bool vecs_seed_valid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]))
			return false;
	return n == VECS_SEED_HEX;
}

int vecs_parse_shard(const char *s, unsigned *index, unsigned *count, struct vecs_err *err)
{
	unsigned i, n;
	int used = 0;

	if (sscanf(s, "%u/%u%n", &i, &n, &used) != 2 || s[used] || !isdigit((unsigned char)s[0]) ||
	    n < 1 || n > 10000 || i < 1 || i > n)
		return vecs_err_set(err, -EINVAL, "--shard '%s' must be I/N with 1 <= I <= N <= "
				    "10000 (e.g. 2/4: the second of four shards)", s);
	*index = i;
	*count = n;
	return 0;
}

int vecs_parse_storage_list(const char *s, bool out[VECS_STORAGE_COUNT], struct vecs_err *err)
{
	char *copy = strdup(s), *save = NULL, *tok;
	bool any = false;

	if (!copy)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	memset(out, 0, VECS_STORAGE_COUNT * sizeof(bool));
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k = vecs_storage_index(tok);
		if (k < 0) {
			vecs_err_set(err, -EINVAL, "--storage: unknown storage type '%s' (known: nfs, "
				     "local, smp, scaleio)", tok);
			free(copy);
			return -EINVAL;
		}
		out[k] = any = true;
	}
	free(copy);
	if (!any)
		return vecs_err_set(err, -EINVAL, "--storage needs at least one of nfs, local, "
				    "smp, scaleio");
	return 0;
}

bool vecs_cell_matches(const char *patterns, const char *id)
{
	const char *p = patterns;

	while (*p) {
		size_t n = strcspn(p, ",");
		char pat[256];
		if (n && n < sizeof(pat)) {
			memcpy(pat, p, n);
			pat[n] = '\0';
			if (fnmatch(pat, id, 0) == 0)
				return true;
		}
		p += n + (p[n] == ',');
	}
	return false;
}

static bool scenario_has_profile(const struct vecs_scenario *sc, const char *id)
{
	if (!sc->profiles)
		return true;
	for (size_t i = 0; i < sc->n_profiles; i++)
		if (!strcmp(sc->profiles[i], id))
			return true;
	return false;
}

static void make_slug(const char *id, char *slug, size_t len)
{
	size_t i = 0;

	for (; id[i] && i + 1 < len; i++)
		slug[i] = (isalnum((unsigned char)id[i]) || id[i] == '-') ? id[i] : '-';
	slug[i] = '\0';
}

int vecs_expand(const struct vecs_scenario_set *set, const struct vecs_expand_opts *o,
		struct vecs_cell_list *out, struct vecs_err *err)
{
	const struct vecs_run_profile *def = vecs_scenario_set_default_profile(set);
	const struct vecs_run_profile **profs;
	size_t np = o->profiles ? o->n_profiles : 1, cap;

	memset(out, 0, sizeof(*out));
	if (!o->run_seed || !vecs_seed_valid(o->run_seed))
		return vecs_err_set(err, -EINVAL, "run seed '%s' must be %d lower-case hex digits",
				    o->run_seed ? o->run_seed : "", VECS_SEED_HEX);
	if (o->shard_count && (o->shard_index < 1 || o->shard_index > o->shard_count))
		return vecs_err_set(err, -EINVAL, "shard %u/%u is out of range", o->shard_index,
				    o->shard_count);
	profs = calloc(np ? np : 1, sizeof(*profs));
	if (!profs)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < np; i++) {
		profs[i] = o->profiles ? vecs_scenario_set_profile(set, o->profiles[i]) : def;
		if (!profs[i]) {
			char known[256] = "";
			size_t used = 0;
			for (size_t k = 0; k < set->n_profiles && used < sizeof(known); k++)
				used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
							 k ? ", " : "", set->profiles[k].id);
			free(profs);
			return vecs_err_set(err, -EINVAL, "--profile: no profile '%s' (known: %s)",
					    o->profiles ? o->profiles[i] : "(default)", known);
		}
	}
	cap = set->n * VECS_STORAGE_COUNT * np;
	out->cells = calloc(cap ? cap : 1, sizeof(*out->cells));
	if (!out->cells) {
		free(profs);
		return vecs_err_set(err, -ENOMEM, "out of memory");
	}
	for (size_t s = 0; s < set->n; s++) {
		const struct vecs_scenario *sc = &set->scenarios[s];
		for (int k = 0; k < VECS_STORAGE_COUNT; k++) {
			if (!sc->storage[k])
				continue;
			for (size_t p = 0; p < np; p++) {
				struct vecs_cell *c = &out->cells[out->n];
				if (!scenario_has_profile(sc, profs[p]->id))
					continue;
				/* counted before the run's own filters */
				out->n_expanded++;
				if (o->storage_set && !o->storage[k])
					continue;
				snprintf(c->id, sizeof(c->id), "%s/%s/%s", sc->id,
					 vecs_storage_types[k], profs[p]->id);
				if (o->only && !vecs_cell_matches(o->only, c->id))
					continue;
				if (o->shard_count &&
				    vecs_cell_shard(c->id, o->shard_count) != o->shard_index - 1)
					continue;
				make_slug(c->id, c->slug, sizeof(c->slug));
				c->scenario = sc;
				c->storage = vecs_storage_types[k];
				c->profile = profs[p];
				vecs_cell_seed(o->run_seed, c->id, c->seed);
				out->n++;
			}
		}
	}
	free(profs);
	return 0;
}

void vecs_cell_list_free(struct vecs_cell_list *l)
{
	free(l->cells);
	memset(l, 0, sizeof(*l));
}
