/* First start of a management server: the zone, the admin user and its key pair
 * written to a 0600 credentials file, and the static host list. */
#ifndef VECS_REF_MGMT_BOOTSTRAP_H
#define VECS_REF_MGMT_BOOTSTRAP_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "db/db_encryptor.h"

/* CloudStack-style key: base64url of 64 random bytes, no padding (86 characters). */
#define MGMT_KEY_LEN 86

/* Make a random key into out (MGMT_KEY_LEN + 1 bytes). */
int mgmt_random_key(char out[MGMT_KEY_LEN + 1], struct vecs_err *err);

/* When the database has no user: create "admin" with a fresh key pair and write
 *   api_key=...\nsecret_key=...\n
 * to path (created or truncated, mode 0600 set on the descriptor, symlinks refused).
 * *created says whether that happened. The secret key is zeroed after use and never
 * logged. */
int mgmt_bootstrap_admin(struct db *db, const struct db_encryptor *enc, const char *path,
			 bool *created, struct vecs_err *err);

/* Whether the installation key decrypts this database, checked before anything else
 * runs (CloudStack fails at start-up when it cannot decrypt its own configuration):
 * the oldest live user's secret key and the newest passphrase row must decrypt (V2,
 * else V1) to what they hold: printable text, a 64-character passphrase. An empty
 * database passes (the first start writes the first values). -EKEYREJECTED with a
 * message naming key_file and the row that failed; no key or value is ever in it. */
int mgmt_check_db_key(struct db *db, const struct db_encryptor *enc, const char *key_file,
		      struct vecs_err *err);

/* Register the hosts of a static host list into zone_id. Format, one host a line:
 *   NAME [ip=ADDR] [hypervisor=KVM] [DETAIL=VALUE ...]
 * e.g. `kvm1 ip=10.0.0.11 host.volume.encryption=true`; '#' starts a comment. Every
 * key other than ip and hypervisor is a host detail. *n counts the hosts. */
int mgmt_load_hosts(struct db *db, int64_t zone_id, const char *path, unsigned *n,
		    struct vecs_err *err);

#endif
