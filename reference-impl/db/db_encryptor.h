/* Encryption at rest of database values (the passphrase column), compatible with
 * CloudStack's CloudStackEncryptor (CLOUDSTACK.md, "Database"):
 *
 *   V2 (default since 4.18): AES-256-GCM, key = SHA-256(secret), 12-byte random IV,
 *      16-byte tag, no AAD; stored as base64(IV || ciphertext || tag), no prefix.
 *   V1 (legacy, readable): jasypt PBEWithMD5AndDES: 8-byte random salt, key and IV
 *      from PBKDF1-MD5 with 1000 iterations over secret || salt, DES-CBC with PKCS#5
 *      padding; stored as base64(salt || ciphertext).
 *
 * Encryption uses the configured version (V2 when none is). Decryption uses the
 * configured version; without one it tries V2, then V1. A wrong key is an error
 * (-EBADMSG), never garbage: V2 checks its tag; V1 has no integrity, so it only
 * detects bad padding, and callers validate what they decrypted (passphrase.c does).
 *
 * The secret must be printable ASCII: SunJCE's PBEKey refuses anything else for V1,
 * and taking bytes "as-is" for V2 would silently diverge from Java for non-ASCII
 * secrets; refusing keeps the two implementations reading the same database.
 *
 * DES exists in OpenSSL 3 only in the legacy provider. V1 uses a private library
 * context with the legacy and default providers loaded, so the process-wide OpenSSL
 * configuration is left alone. */
#ifndef VECS_REF_DB_ENCRYPTOR_H
#define VECS_REF_DB_ENCRYPTOR_H

#include <stddef.h>

#include "util/err.h"
#include "util/secret.h"

enum db_encryptor_version {
	DB_ENCRYPTOR_UNSET = 0,
	DB_ENCRYPTOR_V1,
	DB_ENCRYPTOR_V2,
};

#define DB_ENCRYPTOR_V2_IV_LEN 12
#define DB_ENCRYPTOR_V2_TAG_LEN 16
#define DB_ENCRYPTOR_V1_SALT_LEN 8
#define DB_ENCRYPTOR_V1_ITERATIONS 1000

/* Property names in the key file. */
#define DB_PROP_SECRET "db.cloud.encrypt.secret"
#define DB_PROP_VERSION "db.cloud.encryptor.version"

struct db_encryptor_v1; /* private OpenSSL library context with the legacy provider */

struct db_encryptor {
	struct vecs_secret secret;
	enum db_encryptor_version version;
	struct db_encryptor_v1 *legacy; /* NULL when the legacy provider is unavailable */
};

/* secret: len bytes, printable ASCII, not empty. With version V1 the legacy provider
 * must load; otherwise its absence only makes V1 values unreadable (with a message
 * saying why when one is met). */
int db_encryptor_init(struct db_encryptor *e, const void *secret, size_t len,
		      enum db_encryptor_version version, struct vecs_err *err);
/* Read db.cloud.encrypt.secret and db.cloud.encryptor.version (V1 or V2, optional)
 * from a properties file that only its owner can access (properties.h). */
int db_encryptor_load(struct db_encryptor *e, const char *path, struct vecs_err *err);
void db_encryptor_release(struct db_encryptor *e);

/* "V1", "V2" (case-insensitive) to a version; -EINVAL otherwise. */
int db_encryptor_parse_version(const char *s, enum db_encryptor_version *v, struct vecs_err *err);
const char *db_encryptor_version_name(enum db_encryptor_version v);

/* Encrypt len bytes; *out is a malloc'ed NUL-terminated base64 string. */
int db_encrypt(const struct db_encryptor *e, const void *plain, size_t len, char **out,
	       struct vecs_err *err);
/* Decrypt a stored value into out (released with vecs_secret_release; out->data is
 * NUL-terminated after out->len bytes). */
int db_decrypt(const struct db_encryptor *e, const char *value, struct vecs_secret *out,
	       struct vecs_err *err);

/* One version explicitly, whatever e->version says. The _iv/_salt forms take the
 * random part from the caller, for known-answer tests only: an IV must never repeat
 * under one key. */
int db_encrypt_v2_iv(const struct db_encryptor *e, const unsigned char iv[DB_ENCRYPTOR_V2_IV_LEN],
		     const void *plain, size_t len, char **out, struct vecs_err *err);
int db_encrypt_v1_salt(const struct db_encryptor *e,
		       const unsigned char salt[DB_ENCRYPTOR_V1_SALT_LEN], const void *plain,
		       size_t len, char **out, struct vecs_err *err);
int db_decrypt_v2(const struct db_encryptor *e, const char *value, struct vecs_secret *out,
		  struct vecs_err *err);
int db_decrypt_v1(const struct db_encryptor *e, const char *value, struct vecs_secret *out,
		  struct vecs_err *err);

#endif
