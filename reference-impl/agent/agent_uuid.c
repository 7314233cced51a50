#include "agent/agent_uuid.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

void agent_name_uuid(const void *name, size_t len, char out[AGENT_UUID_STR])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *p = out;

	if (!EVP_Digest(name, len, md, &mdlen, EVP_md5(), NULL) || mdlen != 16) {
		/* MD5 missing from OpenSSL (a FIPS-only build): a UUID nobody else derives */
		snprintf(out, AGENT_UUID_STR, "00000000-0000-0000-0000-000000000000");
		return;
	}
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x30);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", md[i]);
	}
	*p = '\0';
}
