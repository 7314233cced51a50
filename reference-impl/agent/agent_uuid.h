/* Names of libvirt secrets: CloudStack names a volume's secret with Java's
 * UUID.nameUUIDFromBytes(path.getBytes()): MD5 over the bytes of the path, no namespace,
 * then the version (3) and variant (RFC 4122) bits set. Not RFC 4122's uuid3(), which
 * hashes a namespace UUID first: following CloudStack keeps a secret defined by this
 * agent and one defined by CloudStack's for the same path the same object. */
#ifndef VECS_REF_AGENT_UUID_H
#define VECS_REF_AGENT_UUID_H

#include <stddef.h>

#define AGENT_UUID_STR 37

/* out: 36 lower-case characters and a NUL. */
void agent_name_uuid(const void *name, size_t len, char out[AGENT_UUID_STR]);

#endif
