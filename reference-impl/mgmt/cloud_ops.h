/* What the VM and volume commands share: the allocator (which pool, which host), the
 * transfer objects sent to agents (agent/COMMANDS.md), the async-job plumbing for
 * commands with parameters, and the response objects (virtualmachine, volume,
 * storagepool, template, snapshot).
 *
 * Allocation follows CloudStack's rules for encryption (CLOUDSTACK.md, "Scheduling"):
 * an encrypted volume only on a pool whose type supports encryption, and a VM with an
 * encrypted volume (or a storage command on one) only on a host whose
 * host.volume.encryption is true; a host without support is never chosen for it. */
#ifndef VECS_REF_MGMT_CLOUD_OPS_H
#define VECS_REF_MGMT_CLOUD_OPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/host_dao.h"
#include "db/offering_dao.h"
#include "db/pool_dao.h"
#include "db/vm_dao.h"
#include "db/volume_dao.h"
#include "mgmt/api_internal.h"
#include "mgmt/jobs.h"
#include "mgmt/mgmt.h"

#define GIB (1024ULL * 1024 * 1024)

/* CloudStack's text when no host can run a command on an encrypted volume (530). */
#define NO_ENCRYPTION_ENDPOINT_TEXT                                                        \
	"No remote endpoint to send command, unable to find a valid endpoint. Requires "   \
	"encryption support: true"

/* Agent command timeouts: volume data copies may take long, the rest not. */
#define AGENT_TIMEOUT_COPY_MS 600000u
#define AGENT_TIMEOUT_MS 120000u

/* Whether the volume is (or will be, once created) encrypted: it has a passphrase, or
 * its disk offering encrypts. */
int volume_is_encrypted(struct db *db, const struct volume_record *v);

/* A pool in zone_id for a volume of offering `off`: live, Up, with the offering's
 * tags, local (scope HOST, on host_id when host_id != 0) when the offering says so and
 * shared otherwise, of a type that supports encryption when `encrypted`; pool `avoid`
 * is skipped. -ENOSPC when there is none. */
int alloc_pool(struct db *db, int64_t zone_id, const struct disk_offering_record *off,
	       bool encrypted, int64_t host_id, int64_t avoid, struct pool_record *out,
	       struct vecs_err *err);

/* A host of zone_id to run on: Up, Enabled, with a connected agent (when the server has
 * an agent channel), host.volume.encryption true when `encrypted`, equal to `only`
 * when only != 0, not `avoid`. -ENODEV when hosts exist but none supports encryption
 * (CloudStack's NO_ENCRYPTION_ENDPOINT_TEXT), -ENOSPC when there is no host at all. */
int alloc_host(struct mgmt *m, struct db *db, int64_t zone_id, bool encrypted, int64_t only,
	       int64_t avoid, struct host_record *out, struct vecs_err *err);

/* Whether host h reports host.volume.encryption = true. */
bool host_supports_encryption(const struct host_record *h);

/* The host to send a storage command on volume v to: the host of its local pool, else
 * its running VM's host, else any capable host of the zone (alloc_host). */
int alloc_endpoint(struct mgmt *m, struct db *db, const struct volume_record *v,
		   const struct pool_record *p, struct host_record *out, struct vecs_err *err);

/* The `pool` object of COMMANDS.md. */
json_t *pool_to(const struct pool_record *p);
/* The `volume` object: with `passphrase` (fetched and decrypted) exactly when the
 * volume has a passphrase_id. The plaintext exists only in a zeroed stack buffer and
 * in the JSON string, which the zeroing allocator wipes when it is freed. */
json_t *volume_to(struct mgmt *m, struct db *db, const struct volume_record *v,
		  const struct pool_record *p, struct vecs_err *err);

/* Run an agent command; on failure errortext gets a sentence for the job result. */
int cloud_agent_call(struct mgmt *m, const struct host_record *h, const char *name,
		     json_t *args, unsigned timeout_ms, json_t **result, char *errortext,
		     size_t errlen);

/* Insert an async job whose parameters are `args` (kept in async_job.job_cmd_info),
 * submit fn with the job's own uuid as its target, and write "jobid" (and "id" when
 * id_uuid is given: CloudStack's create commands return the new object's id). */
int cloud_job_submit(struct api_ctx *c, const char *cmd, const char *instance_type,
		     const char *id_uuid, json_t *args, job_fn fn);
/* In a job: its parameters (a new reference, or NULL after setting errortext). */
json_t *cloud_job_args(struct db *db, const char *job_uuid, char *errortext, size_t errlen);

/* The id of the zone with this uuid, or -1 after a 431 naming param. */
int cloud_zone_id(struct api_ctx *c, const char *param, const char *uuid, int64_t *id);
/* The VM whose uuid is parameter param (required), or -1 after a 431 naming param
 * (no such VM) or a 530. */
int cloud_get_vm(struct api_ctx *c, const char *param, struct vm_record *vm);

/* Handlers of api_storage.c. */
int cmd_create_storage_pool(struct api_ctx *c);
int cmd_list_storage_pools(struct api_ctx *c);
int cmd_register_template(struct api_ctx *c);
int cmd_list_templates(struct api_ctx *c);

/* Response objects. */
void vm_json(struct db *db, struct json_writer *w, const struct vm_record *v);
void volume_json(struct db *db, struct json_writer *w, const struct volume_record *v);
void pool_json(struct json_writer *w, const struct pool_record *p);
void template_json(struct json_writer *w, const struct template_record *t);
void snapshot_json(struct db *db, struct json_writer *w, const struct snapshot_record *s);

#endif
