/* `vecs inspect`: everything the oracles say about one volume artifact.
 *
 * Finds the LUKS header (raw file or block device: at byte 0; qcow2: through
 * crypt_method and the encryption header extension), judges it against the LUKS1 format
 * and a profile, and, given a passphrase, asks both oracles (native, libcryptsetup)
 * whether it opens a keyslot. Disagreement between the oracles is a finding itself. */
#ifndef VECS_ORACLE_INSPECT_H
#define VECS_ORACLE_INSPECT_H

#include <stdbool.h>
#include <stdio.h>

#include "oracle/findings.h"
#include "oracle/luks1_header.h"
#include "oracle/profile.h"
#include "oracle/qcow2_crypt.h"
#include "util/err.h"
#include "util/json_writer.h"
#include "util/secret.h"

/* PBKDF2 iteration counts above this are not tried (~1 min of sha256 on one core);
 * QEMU's and cryptsetup's 2-second calibration stays far below it. */
#define VECS_INSPECT_MAX_ITERATIONS 100000000u

enum oracle_status {
	ORACLE_NOT_RUN,
	ORACLE_UNLOCKED,
	ORACLE_NOT_UNLOCKED,
	ORACLE_UNSUPPORTED, /* cipher/hash not implemented by that oracle */
	ORACLE_ERROR,       /* could not decide (unreadable header, damaged key material) */
};

struct oracle_verdict {
	enum oracle_status status;
	int keyslot; /* -1 unless unlocked */
	char message[512];
};

struct inspect_result {
	const char *path;
	const struct vecs_profile *profile;
	bool is_qcow2;
	struct qcow2_info qcow2;
	uint64_t file_size;
	uint64_t luks_offset, luks_size; /* where the LUKS device lies in the file */
	enum luks_kind luks_kind;
	bool luks_decoded;
	struct luks1_header luks;
	bool encrypted;
	bool passphrase_checked;
	bool unlocks;
	int keyslot;
	struct oracle_verdict native, libcryptsetup;
	int libcryptsetup_load_rc;
	struct findings findings;
	bool pass;
};

/* Inspect path. pass may be NULL. Returns 0 when a verdict was reached (see
 * res->pass), or -errno when the path cannot be read (err says why). */
int vecs_inspect(const char *path, const struct vecs_secret *pass,
		 const struct vecs_profile *profile, struct inspect_result *res,
		 struct vecs_err *err);

void vecs_inspect_json(const struct inspect_result *res, struct json_writer *w);
void vecs_inspect_text(const struct inspect_result *res, FILE *out);
const char *oracle_status_name(enum oracle_status s);

#endif
