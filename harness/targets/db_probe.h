/* Read-only probes of a target's database: the passphrase of a volume, decrypted with
 * the installation's key, and the raw column as stored. Written here, independently of
 * reference-impl/db, because the probe is how the harness checks that code: CloudStack's
 * V2 format (AES-256-GCM, key SHA-256(secret), base64(IV[12] || ciphertext || tag[16]))
 * is decoded from its specification (CLOUDSTACK.md), not through the code under test. */
#ifndef VECS_TARGETS_DB_PROBE_H
#define VECS_TARGETS_DB_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "util/secret.h"

struct vecs_dbprobe;

/* kind "sqlite" (target: file path, opened read-only) or "mariadb" (target:
 * "socket=PATH;database=NAME"); key: db.cloud.encrypt.secret. */
int vecs_dbprobe_open(struct vecs_dbprobe **out, const char *kind, const char *target,
		      const char *key, struct vecs_err *err);
void vecs_dbprobe_close(struct vecs_dbprobe *p);

struct vecs_volume_pass {
	bool has_passphrase;     /* volumes.passphrase_id is set */
	int64_t passphrase_id;
	bool row_exists;         /* the passphrase row it references exists */
	char stored[256];        /* the column as stored (ciphertext), for at-rest checks */
	char encrypt_format[64];
	struct vecs_secret pass; /* decrypted (64 characters), when it decrypted */
	bool decrypted;
	char why[160];           /* why it did not decrypt or is malformed */
};

/* The passphrase state of the volume with this uuid (removed volumes included). */
int vecs_dbprobe_volume(struct vecs_dbprobe *p, const char *volume_uuid,
			struct vecs_volume_pass *out, struct vecs_err *err);
void vecs_volume_pass_release(struct vecs_volume_pass *v);

/* passphrase rows no volume references. */
int vecs_dbprobe_orphans(struct vecs_dbprobe *p, int64_t *count, struct vecs_err *err);

/* Decrypt a V2 value with key (exposed for known-answer tests). 0, -EBADMSG. */
int vecs_db_v2_decrypt(const char *key, const char *stored, struct vecs_secret *out,
		       struct vecs_err *err);

/* Is p exactly 64 base64 characters that decode to 48 bytes? */
bool vecs_passphrase_well_formed(const unsigned char *p, size_t len);

#endif
