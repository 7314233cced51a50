/* Conformance profiles: what a header must say beyond the LUKS1 format's own rules. */
#ifndef VECS_ORACLE_PROFILE_H
#define VECS_ORACLE_PROFILE_H

#include "oracle/findings.h"
#include "oracle/luks1_header.h"

struct vecs_profile {
	const char *name;
	const char *description;
	const char *cipher_name;  /* NULL: any */
	const char *cipher_mode;
	const char *hash_spec;
	uint32_t key_bytes;       /* 0: any */
	int active_keyslots;      /* -1: any */
};

/* "cloudstack-4.18" (default) or "luks1" (format rules only); NULL if unknown. */
const struct vecs_profile *vecs_profile_find(const char *name);
const struct vecs_profile *vecs_profile_default(void);
/* NULL-terminated list, for --help and `vecs list`. */
const struct vecs_profile *const *vecs_profiles(void);

/* Add profile.* findings for h. */
void vecs_profile_check(const struct vecs_profile *p, const struct luks1_header *h,
			struct findings *f);

#endif
