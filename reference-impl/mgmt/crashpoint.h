/* Test hook for crash recovery (RECOVERY.md): with VECS_MGMT_CRASHPOINT=NAME in its
 * environment, vecs-mgmt kills itself with SIGKILL when it reaches the point called
 * NAME, exactly as an outside kill -9 at that moment would. Points:
 *
 *   create_volume:before_agent   Creating row committed, create_volume not yet sent
 *   create_volume:after_agent    the agent created the volume, the row still Creating
 *   delete_volume:after_agent    the agent deleted it, the row still in Destroy
 *   migrate_volume:before_agent  the Migrating destination row exists, no copy yet
 *   migrate_volume:after_agent   the copy exists, nothing committed
 *   migrate_volume:after_commit  the swap committed, the source copy not yet deleted
 *   snapshot:after_agent         the snapshot file written, the row still Allocated
 *   start_vm:after_agent         the domain runs, the VM row not yet Running
 *
 * Without the variable (production) a point costs one pointer comparison. The name is
 * not a secret; the variable holds nothing else. */
#ifndef VECS_REF_MGMT_CRASHPOINT_H
#define VECS_REF_MGMT_CRASHPOINT_H

#include "mgmt/mgmt.h"

void mgmt_crashpoint(struct mgmt *m, const char *name);

#endif
