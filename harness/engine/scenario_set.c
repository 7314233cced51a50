/* The scenarios directory as a whole: every matrix (and guest/) scenario and every
 * profile, checked against each other; and the seed's support matrix they are checked
 * against. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/scenario.h"

/* The seed (shared/seed/cloudstack-volume-encryption.txt), "Volume Encryption Support
 * Matrix", in its order. tests/test_scenario.c compares this table with the seed file. */
const struct vecs_matrix_row vecs_matrix[] = {
	{ "start-stop-instance", "Start/Stop Instance", true },
	{ "reboot-instance", "Reboot Instance", true },
	{ "reinstall-instance", "Reinstall Instance", true },
	{ "expunge-recover-instance", "Expunge/recover Instance", true },
	{ "change-service-offering", "Change Instance Service Offering", true },
	{ "migrate-instance", "Migrate running Instance to another host", true },
	{ "instance-snapshot", "Instance Snapshot", false },
	{ "volume-snapshot-running", "Volume snapshot (Running Instance)", false },
	{ "recurring-snapshot", "Recurring snapshot", false },
	{ "attach-detach-volume", "Attach/detach encrypted volume", true },
	{ "volume-snapshot-stopped", "Volume snapshot (stopped Instance)", true },
	{ "revert-snapshot", "Revert to snapshot", true },
	{ "resize-volume", "Resize Volume", true },
	{ "delete-volume", "Delete Volume", true },
	{ "download-volume", "Download Volume", false },
	{ "migrate-volume", "Migrate Volume to another Primary Storage", true },
	{ "recurring-volume-snapshots", "Recurring Volume Snapshots", false },
	{ "template-from-snapshot", "Create Template from encrypted Volume Snapshot", false },
	{ "volume-from-snapshot", "Create Volume from encrypted Volume Snapshot", false },
};
const size_t vecs_matrix_len = sizeof(vecs_matrix) / sizeof(vecs_matrix[0]);

const struct vecs_matrix_row *vecs_matrix_find_row(const char *row_text)
{
	for (size_t i = 0; i < vecs_matrix_len; i++)
		if (!strcmp(vecs_matrix[i].row, row_text))
			return &vecs_matrix[i];
	return NULL;
}

static size_t matrix_rank(const struct vecs_scenario *sc)
{
	for (size_t i = 0; sc->matrix_row && i < vecs_matrix_len; i++)
		if (!strcmp(vecs_matrix[i].row, sc->matrix_row))
			return i;
	return vecs_matrix_len;
}

/* Matrix rows in the seed's order, then other scenarios by id. */
static int cmp_scenario(const void *a, const void *b)
{
	const struct vecs_scenario *x = a, *y = b;
	size_t rx = matrix_rank(x), ry = matrix_rank(y);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int cmp_profile(const void *a, const void *b)
{
	return strcmp(((const struct vecs_run_profile *)a)->id,
		      ((const struct vecs_run_profile *)b)->id);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of DIR's *.yaml files (sorted so load errors come in a stable order). */
static int list_yaml(const char *dir, char ***names, size_t *n, struct vecs_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return vecs_err_set(err, -errno, "cannot open scenario directory %s: %s; point "
				    "--scenarios or VECS_SCENARIOS at the tree's scenarios/", dir,
				    strerror(errno));
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len <= 5 || strcmp(e->d_name + len - 5, ".yaml") || e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			char **nn = realloc(*names, (cap = cap ? cap * 2 : 32) * sizeof(char *));
			if (!nn)
				goto oom;
			*names = nn;
		}
		if (!((*names)[*n] = strdup(e->d_name)))
			goto oom;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof(char *), cmp_str);
	return 0;
oom:
	closedir(d);
	for (size_t i = 0; i < *n; i++)
		free((*names)[i]);
	free(*names);
	return vecs_err_set(err, -ENOMEM, "out of memory listing %s", dir);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Append the scenarios of SUB (names: its *.yaml files) to set. */
static int load_scenarios(struct vecs_scenario_set *set, const char *dir, const char *sub,
			  char **names, size_t n, struct vecs_err *err)
{
	char path[2 * PATH_MAX + 2];
	struct vecs_scenario *grown = realloc(set->scenarios, (set->n + n + 1) * sizeof(*grown));
	int r;

	if (!grown)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	set->scenarios = grown;
	memset(set->scenarios + set->n, 0, (n + 1) * sizeof(*grown));
	for (size_t i = 0; i < n; i++) {
		struct vecs_scenario *sc = &set->scenarios[set->n];
		snprintf(path, sizeof(path), "%s/%s", sub, names[i]);
		if ((r = vecs_scenario_load_file(path, sc, err)))
			return r;
		set->n++;
		if (strlen(sc->id) != strlen(names[i]) - 5 ||
		    strncmp(names[i], sc->id, strlen(sc->id)))
			return vecs_err_set(err, -EINVAL, "%s: scenario id '%s' must equal the file "
					    "name", path, sc->id);
		for (size_t k = 0; k < sc->n_profiles; k++)
			if (!vecs_scenario_set_profile(set, sc->profiles[k]))
				return vecs_err_set(err, -EINVAL, "%s: profile '%s' does not exist in "
						    "%s/profiles", path, sc->profiles[k], dir);
		for (size_t k = 0; k + 1 < set->n; k++) {
			const struct vecs_scenario *o = &set->scenarios[k];
			if (!strcmp(sc->id, o->id))
				return vecs_err_set(err, -EINVAL, "%s: scenario id '%s' is already "
						    "used by %s", path, sc->id, o->path);
			if (sc->matrix_row && o->matrix_row && !strcmp(sc->matrix_row, o->matrix_row))
				return vecs_err_set(err, -EINVAL, "%s: matrix row '%s' is already "
						    "covered by %s", path, sc->matrix_row, o->path);
		}
	}
	return 0;
}

int vecs_scenario_set_load(const char *dir, struct vecs_scenario_set *set, struct vecs_err *err)
{
	char path[2 * PATH_MAX + 2], sub[PATH_MAX];
	char **names;
	size_t n;
	int r;

	memset(set, 0, sizeof(*set));
	/* profiles */
	snprintf(sub, sizeof(sub), "%s/profiles", dir);
	if ((r = list_yaml(sub, &names, &n, err)))
		return r;
	if (!n) {
		free_names(names, n);
		return vecs_err_set(err, -ENOENT, "no profiles in %s (expected <id>.yaml files)",
				    sub);
	}
	set->profiles = calloc(n, sizeof(*set->profiles));
	if (!set->profiles) {
		free_names(names, n);
		return vecs_err_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", sub, names[i]);
		if ((r = vecs_run_profile_load_file(path, &set->profiles[i], err)))
			goto fail;
		set->n_profiles++;
		if (strncmp(names[i], set->profiles[i].id, strlen(names[i]) - 5) ||
		    strlen(set->profiles[i].id) != strlen(names[i]) - 5) {
			r = vecs_err_set(err, -EINVAL, "%s: profile id '%s' must equal the file "
					 "name", path, set->profiles[i].id);
			goto fail;
		}
	}
	free_names(names, n);
	names = NULL;
	qsort(set->profiles, set->n_profiles, sizeof(*set->profiles), cmp_profile);
	size_t defaults = 0;
	for (size_t i = 0; i < set->n_profiles; i++)
		defaults += set->profiles[i].is_default;
	if (defaults != 1) {
		r = vecs_err_set(err, -EINVAL, "%s/profiles: exactly one profile must say "
				 "'default: true' (%zu do)", dir, defaults);
		goto fail;
	}

	/* scenarios: matrix/ (one per support-matrix row), guest/ (optional: scenarios
	 * beyond the matrix, e.g. guest transparency) */
	for (int sd = 0; sd < 2; sd++) {
		snprintf(sub, sizeof(sub), "%s/%s", dir, sd ? "guest" : "matrix");
		if (sd && access(sub, F_OK) < 0)
			break;
		if ((r = list_yaml(sub, &names, &n, err)) ||
		    (r = load_scenarios(set, dir, sub, names, n, err)))
			goto fail;
		free_names(names, n);
		names = NULL;
	}
	if (set->n)
		qsort(set->scenarios, set->n, sizeof(*set->scenarios), cmp_scenario);
	return 0;
fail:
	if (names)
		free_names(names, n);
	vecs_scenario_set_free(set);
	return r;
}

void vecs_scenario_set_free(struct vecs_scenario_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		vecs_scenario_free(&set->scenarios[i]);
	for (size_t i = 0; i < set->n_profiles; i++)
		vecs_run_profile_free(&set->profiles[i]);
	free(set->scenarios);
	free(set->profiles);
	memset(set, 0, sizeof(*set));
}

const struct vecs_run_profile *vecs_scenario_set_profile(const struct vecs_scenario_set *set,
							 const char *id)
{
	for (size_t i = 0; i < set->n_profiles; i++)
		if (!strcmp(set->profiles[i].id, id))
			return &set->profiles[i];
	return NULL;
}

const struct vecs_run_profile *vecs_scenario_set_default_profile(const struct vecs_scenario_set *set)
{
	for (size_t i = 0; i < set->n_profiles; i++)
		if (set->profiles[i].is_default)
			return &set->profiles[i];
	return NULL;
}

const char *vecs_scenarios_dir_default(char *buf, size_t len)
{
	const char *env = getenv("VECS_SCENARIOS");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return buf;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			char cand[PATH_MAX + 32], real[PATH_MAX];
			snprintf(cand, sizeof(cand), "%s/../../scenarios", exe);
			if (realpath(cand, real)) {
				snprintf(buf, len, "%s", real);
				return buf;
			}
		}
	}
	snprintf(buf, len, "scenarios");
	return buf;
}
