/* The management server's PowerFlex (ScaleIO) REST client, as CloudStack's PowerFlex
 * driver (ScaleIOGatewayClientImpl) uses the gateway: login with Basic user:password for
 * a token, every other request with Basic user:token, a new login on 401. Volumes are
 * created, mapped to a host's SDC, resized, snapshotted, unmapped and removed here; the
 * agent only sees the device the SDC shows (storage/README.md, agent/COMMANDS.md).
 *
 * The password (from a 0600 file) and the tokens travel only in the Authorization
 * header; they are never logged, put in argv or in an error message. */
#ifndef VECS_REF_MGMT_POWERFLEX_CLIENT_H
#define VECS_REF_MGMT_POWERFLEX_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "db/host_dao.h"
#include "db/pool_dao.h"
#include "util/err.h"

#define PFX_USER "admin"

/* PowerFlex error codes the client tolerates or reports (storage/README.md) */
#define PFX_E_NOT_FOUND_SDC 3
#define PFX_E_VOLUME_NOT_FOUND 79
#define PFX_E_ALREADY_MAPPED 81
#define PFX_E_NOT_MAPPED 84

/* LUKS1 header with a 512-bit key (payload offset 4096 sectors): added to an encrypted
 * volume made from a template, so the template's data fits behind the header. */
#define PFX_LUKS_HEADER_BYTES (2ULL * 1024 * 1024)

struct pfx;

/* Read the password of user admin from path (mode 0600 or stricter, owned file; its
 * bytes exactly, no newline stripped, at most 1023). */
int pfx_open(struct pfx **out, const char *password_path, struct vecs_err *err);
void pfx_close(struct pfx *c);

/* --- pure helpers (unit-tested) ---------------------------------------------------- */

/* gateway_url ("http://H:P/api", "https://H", trailing '/' allowed) + path
 * ("/api/...") -> full URL; -ENAMETOOLONG or -EINVAL. */
int pfx_url(char *out, size_t len, const char *gateway_url, const char *path);
/* Volume size in KiB for `bytes`: rounded up, at least 1. */
uint64_t pfx_size_kb(uint64_t bytes);
/* setVolumeSize's sizeInGB for `bytes`: rounded up, at least 1. */
uint64_t pfx_size_gb(uint64_t bytes);
/* A gateway error body {"message", "httpStatusCode", "errorCode"}: errorCode (0 when
 * absent) and the message (at most msglen-1 bytes, "" when absent). */
int pfx_parse_error(const char *body, char *msg, size_t msglen);
/* A reply carrying an id: a JSON string ("id") or an object with "id"; 0 or -EPROTO. */
int pfx_parse_id(const json_t *reply, char *out, size_t len);
/* The storage pool id for `want` (a pool id or name) in a StoragePool list; with no
 * match and exactly one pool, that pool. 0 or -ENOENT. */
int pfx_pick_pool(const json_t *pools, const char *want, char *out, size_t len);
/* The body of POST /api/types/Volume/instances. */
json_t *pfx_create_body(const char *name, uint64_t bytes, const char *pool_id);

/* --- gateway operations on pool p (gateway_url, system_id; p->path = pool name) --- */

/* A new thin volume of `bytes` named `name`; its id into id_out. */
int pfx_volume_create(struct pfx *c, const struct pool_record *p, const char *name,
		      uint64_t bytes, char *id_out, size_t idlen, struct vecs_err *err);
/* Map to h's SDC (found by h's name, then its IP); already mapped there is success.
 * allowMultipleMappings is TRUE (live migration maps to both hosts for a while). */
int pfx_volume_map(struct pfx *c, const struct pool_record *p, const char *vol_id,
		   const struct host_record *h, struct vecs_err *err);
/* Unmap from h's SDC, or from all SDCs when h is NULL; not mapped is success. */
int pfx_volume_unmap(struct pfx *c, const struct pool_record *p, const char *vol_id,
		     const struct host_record *h, struct vecs_err *err);
/* removeVolume ONLY_ME (after unmapping from all SDCs); an unknown volume is success. */
int pfx_volume_remove(struct pfx *c, const struct pool_record *p, const char *vol_id,
		      struct vecs_err *err);
/* setVolumeSize to `bytes` rounded up to GiB; no call when the volume is already that
 * big. The new size in KiB into *kb_out (may be NULL). */
int pfx_volume_resize(struct pfx *c, const struct pool_record *p, const char *vol_id,
		      uint64_t bytes, uint64_t *kb_out, struct vecs_err *err);
/* snapshotVolumes of one volume; the snapshot's volume id into id_out. */
int pfx_volume_snapshot(struct pfx *c, const struct pool_record *p, const char *vol_id,
			const char *snap_name, char *id_out, size_t idlen, struct vecs_err *err);

#endif
