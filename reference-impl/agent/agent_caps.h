/* The host capability probe (CloudStack's host.volume.encryption): qemu-img supports
 * LUKS, and libcryptsetup works. Upstream looked for luks after "Supported formats:"
 * and broke when qemu-img 10.1 wrote "Supported image formats:" (#13574): here any
 * line "Supported ... formats:" counts, and so do continuation lines that a wrapping
 * help text may add. */
#ifndef VECS_REF_AGENT_CAPS_H
#define VECS_REF_AGENT_CAPS_H

#include <stdbool.h>

/* Whether qemu-img's --help text lists luks among its formats (a whole word). */
bool agent_caps_help_lists_luks(const char *help);

#endif
