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

#endif
