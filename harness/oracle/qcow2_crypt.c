#include "oracle/qcow2_crypt.h"

#include <errno.h>
#include <string.h>

#include "util/bytes.h"

#define V2_HEADER_LEN 72
#define V3_MIN_HEADER_LEN 104

bool qcow2_detect(const uint8_t *buf, size_t len)
{
	return len >= 4 && be32_load(buf) == QCOW2_MAGIC;
}

static int parse_extensions(const uint8_t *buf, size_t len, uint64_t file_size, size_t start,
			    size_t end, struct qcow2_info *info, struct findings *f)
{
	size_t off = start;

	while (off + 8 <= end) {
		uint32_t type = be32_load(buf + off);
		uint32_t elen = be32_load(buf + off + 4);
		size_t padded = ((size_t)elen + 7) & ~(size_t)7;

		if (type == 0)
			return 0;
		if (padded > end - off - 8) {
			findings_add(f, SEV_ERROR, "qcow2.extension",
				     "header extension 0x%08x at byte %zu claims %u bytes, past the first cluster",
				     type, off, elen);
			return -EINVAL;
		}
		if (type == QCOW2_EXT_FDE) {
			if (elen != 16) {
				findings_add(f, SEV_ERROR, "qcow2.fde_bounds",
					     "encryption header extension has length %u, not 16", elen);
				return -EINVAL;
			}
			info->has_fde = true;
			info->fde_offset = be64_load(buf + off + 8);
			info->fde_length = be64_load(buf + off + 16);
		}
		off += 8 + padded;
	}
	(void)len;
	(void)file_size;
	findings_add(f, SEV_ERROR, "qcow2.extension",
		     "header extension area has no end marker inside the first cluster");
	return -EINVAL;
}

static int parse(const uint8_t *buf, size_t len, uint64_t file_size, struct qcow2_info *info,
		 struct findings *f)
{
	size_t ext_start, cluster, end;
	int r;

	memset(info, 0, sizeof(*info));
	if (len < V2_HEADER_LEN || !qcow2_detect(buf, len)) {
		findings_add(f, SEV_ERROR, "qcow2.header", "file is shorter than a qcow2 header");
		return -EINVAL;
	}
	info->version = be32_load(buf + 4);
	info->cluster_bits = be32_load(buf + 20);
	info->virtual_size = be64_load(buf + 24);
	info->crypt_method = be32_load(buf + 32);
	if (info->version != 2 && info->version != 3) {
		findings_add(f, SEV_ERROR, "qcow2.header", "qcow2 version %u is neither 2 nor 3",
			     info->version);
		return -EINVAL;
	}
	if (info->cluster_bits < 9 || info->cluster_bits > 21) {
		findings_add(f, SEV_ERROR, "qcow2.header", "cluster_bits %u is outside 9..21",
			     info->cluster_bits);
		return -EINVAL;
	}
	if (info->version == 2) {
		info->header_length = V2_HEADER_LEN;
	} else {
		if (len < V3_MIN_HEADER_LEN) {
			findings_add(f, SEV_ERROR, "qcow2.header", "file is shorter than a qcow2 v3 header");
			return -EINVAL;
		}
		info->header_length = be32_load(buf + 100);
		if (info->header_length < V3_MIN_HEADER_LEN || info->header_length % 8) {
			findings_add(f, SEV_ERROR, "qcow2.header",
				     "header_length %u is below 104 or not a multiple of 8",
				     info->header_length);
			return -EINVAL;
		}
	}
	cluster = (size_t)1 << info->cluster_bits;
	end = cluster < len ? cluster : len;
	ext_start = info->header_length;
	if (ext_start > end) {
		findings_add(f, SEV_ERROR, "qcow2.header", "header_length %u lies past the first cluster",
			     info->header_length);
		return -EINVAL;
	}
	r = parse_extensions(buf, len, file_size, ext_start, end, info, f);
	if (r < 0)
		return r;

	switch (info->crypt_method) {
	case QCOW2_CRYPT_NONE:
		findings_add(f, SEV_ERROR, "qcow2.not_encrypted",
			     "qcow2 crypt_method is 0: the image is not encrypted");
		break;
	case QCOW2_CRYPT_AES:
		findings_add(f, SEV_ERROR, "qcow2.legacy_aes",
			     "qcow2 crypt_method is 1 (legacy AES-CBC, known-weak), not LUKS");
		break;
	case QCOW2_CRYPT_LUKS:
		break;
	default:
		findings_add(f, SEV_ERROR, "qcow2.crypt_method", "qcow2 crypt_method %u is unknown",
			     info->crypt_method);
	}
	if (info->crypt_method == QCOW2_CRYPT_LUKS && !info->has_fde) {
		findings_add(f, SEV_ERROR, "qcow2.fde_missing",
			     "crypt_method is LUKS but there is no encryption header extension");
		return -ENOENT;
	}
	if (info->has_fde && info->crypt_method != QCOW2_CRYPT_LUKS)
		findings_add(f, SEV_ERROR, "qcow2.fde_unexpected",
			     "an encryption header extension is present but crypt_method is %u",
			     info->crypt_method);
	if (!info->has_fde)
		return -ENOENT;
	if (info->fde_length < 592) {
		findings_add(f, SEV_ERROR, "qcow2.fde_bounds",
			     "encryption header region is %llu bytes, too small for a LUKS1 header",
			     (unsigned long long)info->fde_length);
		info->has_fde = false;
		return -EINVAL;
	}
	if (info->fde_offset % cluster || info->fde_offset == 0 ||
	    info->fde_offset > file_size || info->fde_length > file_size - info->fde_offset) {
		findings_add(f, SEV_ERROR, "qcow2.fde_bounds",
			     "encryption header region (offset %llu, %llu bytes) is not a cluster-aligned range inside the %llu-byte file",
			     (unsigned long long)info->fde_offset, (unsigned long long)info->fde_length,
			     (unsigned long long)file_size);
		info->has_fde = false;
		return -EINVAL;
	}
	return 0;
}

int qcow2_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct qcow2_info *info,
		struct findings *f)
{
	int r = parse(buf, len, file_size, info, f);

	/* A region is only reported when the whole header made sense. */
	if (r < 0)
		info->has_fde = false;
	return r;
}
