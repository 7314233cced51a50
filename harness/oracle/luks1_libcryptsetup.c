#include "oracle/luks1_libcryptsetup.h"

#include <errno.h>
#include <libcryptsetup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void capture_log(int level, const char *msg, void *usrptr)
{
	struct lcs_result *res = usrptr;
	size_t n;

	if (level != CRYPT_LOG_ERROR || !res)
		return;
	snprintf(res->message, sizeof(res->message), "%s", msg);
	n = strlen(res->message);
	while (n && (res->message[n - 1] == '\n' || res->message[n - 1] == ' '))
		res->message[--n] = '\0';
}

/* Copy the blob into an anonymous memory file, so libcryptsetup sees exactly the LUKS
 * device and nothing is written to disk. */
static int blob_to_memfd(const struct vecs_blob *blob)
{
	char buf[1 << 16];
	uint64_t off = 0;
	int fd = memfd_create("vecs-luks-region", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (off < blob->size) {
		size_t n = blob->size - off < sizeof(buf) ? (size_t)(blob->size - off) : sizeof(buf);
		int r = vecs_blob_read(blob, off, buf, n);
		if (r < 0 || write(fd, buf, n) != (ssize_t)n) {
			close(fd);
			return r < 0 ? r : -EIO;
		}
		off += n;
	}
	return fd;
}

int lcs_check(const char *path, const struct vecs_blob *blob, const uint8_t *pass,
	      size_t pass_len, struct lcs_result *res)
{
	struct crypt_device *cd = NULL;
	char fdpath[64];
	int memfd = -1, r;

	memset(res, 0, sizeof(*res));
	res->unlock_rc = 1;
	if (blob->base != 0) {
		memfd = blob_to_memfd(blob);
		if (memfd < 0) {
			res->load_rc = memfd;
			snprintf(res->message, sizeof(res->message),
				 "could not copy the LUKS region into memory: %s", strerror(-memfd));
			return memfd;
		}
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", memfd);
		path = fdpath;
	}
	crypt_set_log_callback(NULL, capture_log, res);
	r = crypt_init(&cd, path);
	if (r == 0) {
		crypt_set_log_callback(cd, capture_log, res);
		r = crypt_load(cd, CRYPT_LUKS1, NULL);
	}
	res->load_rc = r;
	if (r == 0 && pass)
		res->unlock_rc = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT,
							      (const char *)pass, pass_len, 0);
	crypt_free(cd);
	crypt_set_log_callback(NULL, NULL, NULL);
	if (memfd >= 0)
		close(memfd);
	return 0;
}
