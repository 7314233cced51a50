/* The qcow2 header, as far as encryption goes: crypt_method (0 none, 1 legacy AES,
 * 2 LUKS) and the full-disk-encryption header extension (type 0x0537be77: offset and
 * length of the LUKS header region inside the file). From QEMU's docs/interop/qcow2.txt. */
#ifndef VECS_ORACLE_QCOW2_CRYPT_H
#define VECS_ORACLE_QCOW2_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oracle/findings.h"

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_EXT_FDE 0x0537be77u
#define QCOW2_CRYPT_NONE 0
#define QCOW2_CRYPT_AES 1
#define QCOW2_CRYPT_LUKS 2
/* Extensions live in the first cluster; clusters are at most 2 MiB. */
#define QCOW2_HEADER_READ_MAX (2u << 20)

struct qcow2_info {
	uint32_t version;
	uint32_t cluster_bits;
	uint64_t virtual_size;
	uint32_t crypt_method;
	uint32_t header_length;
	bool has_fde;
	uint64_t fde_offset;
	uint64_t fde_length;
};

bool qcow2_detect(const uint8_t *buf, size_t len);

/* Parse the header and extensions from buf (the first min(file_size, 2 MiB) bytes).
 * Adds qcow2.* findings. Returns 0 when the encryption header region is known and lies
 * inside the file (info->has_fde), -ENOENT when the image has none, -EINVAL when the
 * header is malformed. Never reads outside buf. */
int qcow2_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct qcow2_info *info,
		struct findings *f);

#endif
