/* The second LUKS1 oracle: libcryptsetup, the library every Linux LUKS tool uses.
 * It loads the header and tries the passphrase without device-mapper
 * (crypt_activate_by_passphrase with a NULL name only verifies). */
#ifndef VECS_ORACLE_LUKS1_LIBCRYPTSETUP_H
#define VECS_ORACLE_LUKS1_LIBCRYPTSETUP_H

#include <stddef.h>
#include <stdint.h>

#include "oracle/blob.h"

struct lcs_result {
	int load_rc;         /* crypt_load(CRYPT_LUKS1): 0 or -errno */
	int unlock_rc;       /* keyslot >= 0, -EPERM wrong passphrase, other -errno; 1 = not run */
	char message[512];   /* libcryptsetup's last error message, if any */
};

/* Check the LUKS device held by blob (copied into a sealed memfd when it is only part of
 * a file, e.g. a qcow2 encryption header region). pass may be NULL: load only. path is
 * what libcryptsetup opens when the blob is a whole file or device. */
int lcs_check(const char *path, const struct vecs_blob *blob, const uint8_t *pass,
	      size_t pass_len, struct lcs_result *res);

#endif
