/* Volume passphrases (CLOUDSTACK.md, "Database" and "Lifecycle").
 *
 * A passphrase is 48 bytes from getrandom(), base64-encoded to exactly 64 characters;
 * the LUKS key is those 64 ASCII characters, not the 48 bytes. It is stored in table
 * `passphrase`, encrypted with the installation's database key (db_encryptor.h), and a
 * volume points at it through volumes.passphrase_id.
 *
 * Plaintext passphrases only ever live in caller buffers of PASSPHRASE_BUF_LEN bytes
 * that the caller zeroes (explicit_bzero) when done, and in zeroed temporaries here.
 * Every function that changes more than one row runs in one transaction (nested inside
 * the caller's, if any). */
#ifndef VECS_REF_DB_PASSPHRASE_H
#define VECS_REF_DB_PASSPHRASE_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "db/db_encryptor.h"
#include "util/err.h"

#define PASSPHRASE_RAW_LEN 48
#define PASSPHRASE_LEN 64
#define PASSPHRASE_BUF_LEN (PASSPHRASE_LEN + 1) /* 64 characters and a NUL */

/* A new passphrase into out (64 characters, NUL-terminated). */
int passphrase_generate(char out[PASSPHRASE_BUF_LEN], struct vecs_err *err);

/* 0 when p (len bytes) is exactly 64 base64 characters decoding to 48 bytes, else
 * -EBADMSG; the message never shows p. */
int passphrase_check_format(const char *p, size_t len, struct vecs_err *err);

/* Give volume_id a passphrase: insert an encrypted row and point the volume at it.
 * A volume that already has one keeps it (*passphrase_id is the existing id), as
 * CloudStack only creates a passphrase when passphrase_id is null. -ENOENT when the
 * volume does not exist or was removed. */
int passphrase_create_for_volume(struct db *db, const struct db_encryptor *enc,
				 int64_t volume_id, int64_t *passphrase_id, struct vecs_err *err);

/* Decrypt passphrase row id into out; the caller zeroes out. -ENOENT for no such row,
 * -EBADMSG when the stored value does not decrypt to a well-formed passphrase. */
int passphrase_fetch(struct db *db, const struct db_encryptor *enc, int64_t passphrase_id,
		     char out[PASSPHRASE_BUF_LEN], struct vecs_err *err);
/* The same through volumes.passphrase_id; -ENODATA when the volume has none. */
int passphrase_fetch_for_volume(struct db *db, const struct db_encryptor *enc,
				int64_t volume_id, char out[PASSPHRASE_BUF_LEN],
				struct vecs_err *err);

/* On volume delete: null volumes.passphrase_id, and delete the passphrase row when no
 * other volume (removed or not) references it. *deleted (may be NULL) says whether
 * the row went. A volume without a passphrase is fine (nothing to do). */
int passphrase_release_for_volume(struct db *db, int64_t volume_id, int *deleted,
				  struct vecs_err *err);

/* On volume migration: the destination volume takes the source's passphrase_id and
 * encrypt_format (same key; the new LUKS header is written with it). -EEXIST when the
 * destination already references a different passphrase (release it first, or it
 * would be orphaned). */
int passphrase_copy_reference(struct db *db, int64_t src_volume_id, int64_t dst_volume_id,
			      struct vecs_err *err);

#endif
