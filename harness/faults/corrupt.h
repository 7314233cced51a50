/* On-disk corruption injectors: flip one field of an encrypted volume at rest, keep
 * what was there, and put it back byte for byte.
 *
 * A target names a field: a LUKS1 phdr field or keyslot field, keyslot 0's key
 * material, the qcow2 crypt_method or encryption header extension, or a byte of
 * ciphertext. The volume is a file or block device holding either a qcow2 image with
 * LUKS encryption (the LUKS header is found through crypt_method 2 and the full-disk
 * encryption header extension, as QEMU finds it) or raw LUKS1 at byte 0.
 *
 * Which byte and bit of the field change derives from the seed, so a fault is
 * reproduced by (target, seed) on an identically laid-out volume. Every change yields
 * a value different from the old one; iteration counts only lose bits (PBKDF2 never
 * gets slower); stripes and key sizes change in their low bits only (no huge
 * allocations). faults/README.md ("Corruption") has the observed behaviour of QEMU,
 * libcryptsetup and `vecs inspect` per target. */
#ifndef VECS_FAULTS_CORRUPT_H
#define VECS_FAULTS_CORRUPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum vecs_corrupt_expect {
	VECS_CORRUPT_REFUSED,      /* the stack must refuse to open or unlock the volume */
	VECS_CORRUPT_UNDETECTABLE, /* LUKS1 has no integrity: the change goes unnoticed
				    * and reads return other bytes (a documented limit) */
	VECS_CORRUPT_HARMLESS,     /* nobody reads or checks the field: opens and reads
				    * as before */
	VECS_CORRUPT_NOT_APPLICABLE, /* the field does not exist in this container (qcow2.*
				      * on raw LUKS1): apply refuses with -EINVAL */
};

struct vecs_corrupt_target {
	const char *id;          /* "luks.ks0.salt" */
	const char *description; /* one sentence: what is changed and how */
	enum vecs_corrupt_expect expect;       /* on raw LUKS1 */
	enum vecs_corrupt_expect expect_qcow2; /* on qcow2 with LUKS (differs for the
						* payload offset: qcow2 ignores it) */
};

extern const struct vecs_corrupt_target vecs_corrupt_targets[];
extern const size_t vecs_corrupt_n_targets;

/* Largest change one target makes (luks.ks1.active rewrites a whole 48-byte keyslot). */
#define VECS_CORRUPT_UNDO_MAX 64

/* What vecs_corrupt_apply changed: bytes [offset, offset + len) held old and now hold
 * now. Restoring checks they still hold now, so a volume rewritten in between (by a
 * guest, or a second fault) is not silently overwritten. */
struct vecs_corrupt_undo {
	char target[40];
	bool qcow2; /* the volume was qcow2 (pick expect_qcow2) */
	uint64_t offset;
	size_t len;
	unsigned char old[VECS_CORRUPT_UNDO_MAX];
	unsigned char now[VECS_CORRUPT_UNDO_MAX];
};

/* The target with this id, or NULL. */
const struct vecs_corrupt_target *vecs_corrupt_find(const char *target_id);

/* t->expect_qcow2 for a qcow2 volume, t->expect for raw LUKS1. */
enum vecs_corrupt_expect vecs_corrupt_expect_on(const struct vecs_corrupt_target *t, bool qcow2);

const char *vecs_corrupt_expect_name(enum vecs_corrupt_expect e);

/* Where target_id's field lies in path: absolute byte offset and length. For
 * "ciphertext": the host cluster backing the lowest allocated guest cluster (qcow2) or
 * the first 64 KiB of the payload (raw LUKS1). 0, or -errno with err saying why
 * (-ENOENT: no such target or nothing to corrupt, e.g. no allocated cluster;
 * -EINVAL: the volume is not qcow2+LUKS or LUKS1, or the field lies outside it). */
int vecs_corrupt_locate(const char *path, const char *target_id, uint64_t *offset, size_t *len,
			struct vecs_err *err);

/* Change target_id's field in path as seed says, fsync, and fill undo. The volume must
 * not be in use. 0, or -errno (err says why; nothing was written). */
int vecs_corrupt_apply(const char *path, const char *target_id, uint64_t seed,
		       struct vecs_corrupt_undo *undo, struct vecs_err *err);

/* Write undo->old back and fsync. -ESTALE when the bytes are no longer undo->now
 * (something else wrote there; nothing is written then). */
int vecs_corrupt_restore(const char *path, const struct vecs_corrupt_undo *undo,
			 struct vecs_err *err);

/* The undo record as a small text file (mode 0600, written atomically), for
 * `vecs corrupt --undo-file` and `--restore`:
 *   vecs-corrupt-undo 1 / target ID / container qcow2|raw / offset N / len N /
 *   old HEX / now HEX (one per line) */
int vecs_corrupt_undo_save(const char *file, const struct vecs_corrupt_undo *undo,
			   struct vecs_err *err);
int vecs_corrupt_undo_load(const char *file, struct vecs_corrupt_undo *undo,
			   struct vecs_err *err);

#endif
