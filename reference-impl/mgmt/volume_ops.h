/* The work of volume jobs: allocate, call the agent (agent/COMMANDS.md), record the
 * outcome. Each returns 0, or a negative errno with *errcode and errortext set for the
 * job result. Passphrases are created just before a volume's first create on primary
 * storage and sent only inside volume objects (cloud_ops.h, volume_to). */
#ifndef VECS_REF_MGMT_VOLUME_OPS_H
#define VECS_REF_MGMT_VOLUME_OPS_H

#include "db/pool_dao.h"
#include "mgmt/cloud_ops.h"

int volume_ops_host(struct db *db, int64_t host_id, struct host_record *out,
		    struct vecs_err *err);
int volume_ops_service_offering(struct db *db, const char *uuid,
				struct service_offering_record *out, struct vecs_err *err);
int volume_ops_template(struct db *db, const char *uuid, struct template_record *out,
			struct vecs_err *err);
int volume_ops_pool_by_uuid(struct db *db, const char *uuid, struct pool_record *out,
			    struct vecs_err *err);
/* Allocated -> Ready: pool (on host_id's local storage when the offering is local and
 * host_id != 0), passphrase when the offering encrypts, create_volume (from template t
 * or from snapshot snapshot_uuid when given) on host_id or a capable endpoint.
 * A volume that is not Allocated is left alone. */
int volume_ops_create(struct mgmt *m, struct db *db, struct volume_record *v, int64_t host_id,
		      const struct template_record *t, const char *snapshot_uuid, int *errcode,
		      char *errortext, size_t errlen);
int volume_ops_create_on_primary(struct mgmt *m, struct db *db, struct volume_record *v,
				 int64_t host_id, const char *snapshot_uuid, int *errcode,
				 char *errortext, size_t errlen);
int volume_ops_attach(struct mgmt *m, struct db *db, struct volume_record *v,
		      const struct vm_record *vm, int64_t device_id, int *errcode,
		      char *errortext, size_t errlen);
int volume_ops_detach(struct mgmt *m, struct db *db, struct volume_record *v, int *errcode,
		      char *errortext, size_t errlen);
int volume_ops_resize(struct mgmt *m, struct db *db, struct volume_record *v, uint64_t size,
		      int64_t offering_id, int *errcode, char *errortext, size_t errlen);
/* delete_volume on primary storage (if it was created), then volume_remove, which
 * releases the passphrase. */
int volume_ops_destroy(struct mgmt *m, struct db *db, struct volume_record *v, int *errcode,
		       char *errortext, size_t errlen);
int volume_ops_snapshot(struct mgmt *m, struct db *db, struct snapshot_record *s, int *errcode,
			char *errortext, size_t errlen);
int volume_ops_revert(struct mgmt *m, struct db *db, struct snapshot_record *s, int *errcode,
		      char *errortext, size_t errlen);
/* copy_volume to pool_id: a new row takes the source's passphrase_id and encrypt_format
 * (passphrase_copy_reference), then the uuid, and the source row is removed. */
/* PowerFlex: map (map = true) every created volume of vm on a PowerFlex pool to the SDC
 * of host_id, or unmap it from there. Other pools: nothing. */
int volume_ops_pfx_vm(struct mgmt *m, struct db *db, int64_t vm_id, int64_t host_id, bool map,
		      char *errortext, size_t errlen);
int volume_ops_migrate(struct mgmt *m, struct db *db, struct volume_record *v, int64_t pool_id,
		       int *errcode, char *errortext, size_t errlen);

/* Recovery (RECOVERY.md): remove whatever storage v may have on its pool (the agent's
 * delete_volume, idempotent; PowerFlex: the gateway volume too). The row is left alone. */
int volume_ops_discard_storage(struct mgmt *m, struct db *db, const struct volume_record *v,
			       struct vecs_err *err);

#endif
