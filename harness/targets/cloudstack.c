#include "targets/cloudstack.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static const char *str_at(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* What the configuration must have, checked before anything is contacted. */
static int check_config(const char *path, json_t *c, struct vecs_err *err)
{
	json_t *db = json_object_get(c, "db"), *scan = json_object_get(c, "scan"), *v;
	static const char *const storage[] = { "nfs", "local", "smp", "scaleio" };
	size_t i;

	if (strcmp(str_at(c, "format") ?: "", "vecs-target-1"))
		return vecs_err_set(err, -EINVAL, "%s: \"format\" must be \"vecs-target-1\"", path);
	if (!str_at(c, "api_url") || !str_at(c, "api_key") || !str_at(c, "secret_key"))
		return vecs_err_set(err, -EINVAL, "%s: needs api_url, api_key and secret_key (the "
				    "API endpoint http://HOST:PORT/client/api and a user's keys)", path);
	if (!str_at(db, "kind") || (!str_at(db, "path") && !str_at(db, "dsn")) ||
	    (!str_at(db, "encryption_key") && !str_at(db, "encryption_key_file")))
		return vecs_err_set(err, -EINVAL, "%s: db needs kind (sqlite|mariadb), path or dsn, "
				    "and encryption_key_file (db.cloud.encrypt.secret)", path);
	if (!json_is_array(json_object_get(c, "hosts")) || !json_array_size(json_object_get(c, "hosts")))
		return vecs_err_set(err, -EINVAL, "%s: hosts must list the KVM hosts (name, libvirt_uri)",
				    path);
	json_array_foreach(json_object_get(c, "hosts"), i, v)
		if (!str_at(v, "name") || !str_at(v, "libvirt_uri"))
			return vecs_err_set(err, -EINVAL, "%s: hosts[%zu] needs name and libvirt_uri", path, i);
	json_array_foreach(json_object_get(c, "pools"), i, v) {
		bool known = false;
		for (size_t k = 0; k < 4; k++)
			known |= !strcmp(str_at(v, "type") ?: "", storage[k]);
		if (!known || !json_is_object(json_object_get(v, "probe")))
			return vecs_err_set(err, -EINVAL, "%s: pools[%zu] needs type (nfs, local, smp or "
					    "scaleio) and probe", path, i);
	}
	if (!json_is_array(json_object_get(scan, "at_rest")) || !json_is_array(json_object_get(scan, "logs")))
		return vecs_err_set(err, -EINVAL, "%s: scan needs at_rest and logs (lists of "
				    "directories; may be empty)", path);
	return 0;
}

int vecs_cloudstack_config_load(const char *path, json_t **out, struct vecs_err *err)
{
	json_error_t je;
	struct stat st;
	json_t *c;
	int r;

	*out = NULL;
	if (stat(path, &st) < 0)
		return vecs_err_set(err, -errno, "cannot read the target configuration %s: %s", path,
				    strerror(errno));
	if (st.st_mode & 077)
		return vecs_err_set(err, -EPERM, "%s holds the API secret key and is readable by "
				    "others (mode %03o): chmod 600 it", path, (unsigned)(st.st_mode & 0777));
	c = json_load_file(path, 0, &je);
	if (!c)
		return vecs_err_set(err, -EINVAL, "%s:%d:%d: %s", path, je.line, je.column, je.text);
	r = check_config(path, c, err);
	if (r < 0) {
		json_decref(c);
		return r;
	}
	*out = c;
	return 0;
}

int vecs_cloudstack_open(struct vecs_reference **out, const char *path, const char *bin_dir,
			 const char *work_dir, struct vecs_err *err)
{
	json_t *c = NULL;
	int r = vecs_cloudstack_config_load(path, &c, err);

	*out = NULL;
	if (r == 0)
		r = vecs_reference_open_config(out, c, bin_dir, work_dir, err);
	json_decref(c);
	return r;
}
