/* The `reference` target: the reference deployment (`vecs stack`), reached like any
 * CloudStack through its public API, plus read-only probes that know where this
 * deployment keeps its bytes (stack.json: pool directories, the NFS export, the ScaleIO
 * gateway's volumes) and its database (stack.json: db kind, path and key).
 *
 * Cells run one after another on one stack; a cell's objects are the VMs, volumes,
 * snapshots and offerings that exist while it runs, and its teardown removes them
 * through the API. */
#ifndef VECS_TARGETS_REFERENCE_H
#define VECS_TARGETS_REFERENCE_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#include "engine/target.h"
#include "util/err.h"

struct vecs_reference;

/* Open the stack in stack_dir (start it with `vecs stack up` when start is true;
 * close then stops it again). work_dir holds canary files and evidence (outside the
 * stack, so scanning the stack never finds the harness's own copies). */
int vecs_reference_open(struct vecs_reference **out, const char *stack_dir, bool start,
			const char *bin_dir, const char *work_dir, FILE *progress,
			struct vecs_err *err);
void vecs_reference_close(struct vecs_reference *t);

extern const struct vecs_target_ops vecs_reference_ops;

/* The code above is also the `cloudstack` target (targets/cloudstack.h): the reference
 * target is a cloudstack target whose configuration is made from stack.json plus what
 * only this stack has (scan.at_rest = the stack directory, scan.logs, the ScaleIO
 * gateway's state file). The format is in targets/README.md. */

/* The target configuration of the stack running in stack_dir (new reference). */
int vecs_reference_config(const char *stack_dir, json_t **out, struct vecs_err *err);
/* Open a target from a configuration (the cloudstack target; nothing is started or
 * stopped). conf is referenced, not copied. */
int vecs_reference_open_config(struct vecs_reference **out, json_t *conf, const char *bin_dir,
			       const char *work_dir, struct vecs_err *err);

/* For the fault runner (harness/faults), which reaches into the stack it injects into:
 * the stack directory, the directory of the vecs programs, and where a volume's bytes
 * are (a qcow2 file, or the raw LUKS block device of a ScaleIO volume). */
const char *vecs_reference_stack_dir(const struct vecs_reference *t);
const char *vecs_reference_bin_dir(const struct vecs_reference *t);
/* Replace (or add) one ${env.KEY} value for the rest of the current cell (a fault that
 * puts the cell on a special pool). */
void vecs_reference_env_override(struct vecs_reference *t, const char *key, const char *value);
int vecs_reference_volume_bytes(struct vecs_reference *t, const char *volume_id, char *path,
				size_t len, bool *qcow2, struct vecs_err *err);

#endif
