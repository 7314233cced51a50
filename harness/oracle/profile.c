#include "oracle/profile.h"

#include <string.h>

/* CLOUDSTACK.md: QEMU and cryptsetup defaults as the 4.18 KVM agent calls them. */
static const struct vecs_profile cloudstack_418 = {
	.name = "cloudstack-4.18",
	.description = "LUKS1, aes xts-plain64, 64-byte key, sha256, exactly one active keyslot",
	.cipher_name = "aes",
	.cipher_mode = "xts-plain64",
	.hash_spec = "sha256",
	.key_bytes = 64,
	.active_keyslots = 1,
};

static const struct vecs_profile luks1_any = {
	.name = "luks1",
	.description = "any valid LUKS1 header (format rules only)",
	.active_keyslots = -1,
};

static const struct vecs_profile *const all[] = { &cloudstack_418, &luks1_any, NULL };

const struct vecs_profile *const *vecs_profiles(void)
{
	return all;
}

const struct vecs_profile *vecs_profile_default(void)
{
	return &cloudstack_418;
}

const struct vecs_profile *vecs_profile_find(const char *name)
{
	for (int i = 0; all[i]; i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}

void vecs_profile_check(const struct vecs_profile *p, const struct luks1_header *h,
			struct findings *f)
{
	int active = luks1_active_keyslots(h);

	if (p->cipher_name && strcmp(h->cipher_name, p->cipher_name))
		findings_add(f, SEV_ERROR, "profile.cipher_name",
			     "cipher is '%s'; profile %s requires '%s'", h->cipher_name, p->name,
			     p->cipher_name);
	if (p->cipher_mode && strcmp(h->cipher_mode, p->cipher_mode))
		findings_add(f, SEV_ERROR, "profile.cipher_mode",
			     "cipher mode is '%s'; profile %s requires '%s'", h->cipher_mode, p->name,
			     p->cipher_mode);
	if (p->key_bytes && h->key_bytes != p->key_bytes)
		findings_add(f, SEV_ERROR, "profile.key_bytes",
			     "key is %u bits; profile %s requires %u bits", h->key_bytes * 8, p->name,
			     p->key_bytes * 8);
	if (p->hash_spec && strcmp(h->hash_spec, p->hash_spec))
		findings_add(f, SEV_ERROR, "profile.hash_spec",
			     "hash is '%s'; profile %s requires '%s'", h->hash_spec, p->name,
			     p->hash_spec);
	if (p->active_keyslots >= 0 && active != p->active_keyslots)
		findings_add(f, SEV_ERROR, "profile.keyslot_count",
			     "%d keyslots are enabled; profile %s requires exactly %d", active, p->name,
			     p->active_keyslots);
}
