/* Native LUKS1 oracle: does a passphrase open a keyslot? Computed here from the header
 * alone, with luks1_crypto (PBKDF2, keyslot decryption, AF merge, digest check). */
#ifndef VECS_ORACLE_LUKS1_NATIVE_H
#define VECS_ORACLE_LUKS1_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#include "oracle/blob.h"
#include "oracle/luks1_header.h"
#include "util/err.h"

/* Try every enabled keyslot. Returns 1 and sets *slot when one opens (and copies the
 * volume key to mk_out, key_bytes long, when mk_out is not NULL), 0 when none does,
 * -ENOTSUP when the header's cipher or hash is not implemented natively, other
 * negative errno on read errors. */
int luks1_native_unlock(const struct luks1_header *h, const struct vecs_blob *dev,
			const uint8_t *pass, size_t pass_len, int *slot, uint8_t *mk_out,
			struct vecs_err *err);

/* Does key (h->key_bytes long) match the header's master-key digest? 1/0/-errno. */
int luks1_native_check_mk(const struct luks1_header *h, const uint8_t *key);

#endif
