/* The `cloudstack` target (`vecs run --target cloudstack --target-config F`): a
 * deployment the harness did not start, reached only through its public API plus
 * read-only probes of its storage, database and libvirt hosts, all named by a
 * configuration file (format: targets/README.md, "The target configuration").
 *
 * It shares all its code with the reference target (targets/reference.h): the
 * reference target is a cloudstack target whose configuration is generated from the
 * stack it started (`vecs stack config --dir D` prints that configuration). */
#ifndef VECS_TARGETS_CLOUDSTACK_H
#define VECS_TARGETS_CLOUDSTACK_H

#include <jansson.h>

#include "targets/reference.h"
#include "util/err.h"

/* Read and check the configuration file (JSON; it holds the API secret key, so it must
 * not be readable by group or others). New reference in *out. */
int vecs_cloudstack_config_load(const char *path, json_t **out, struct vecs_err *err);

/* Open the deployment path describes; close with vecs_reference_close (it stops
 * nothing: the deployment is not ours). Use with vecs_reference_ops. */
int vecs_cloudstack_open(struct vecs_reference **out, const char *path, const char *bin_dir,
			 const char *work_dir, struct vecs_err *err);

#endif
