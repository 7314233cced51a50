/* Times the two passphrase oracles on the same LUKS device, side by side in one
 * process: the native oracle (luks1_native_unlock) and libcryptsetup (lcs_check).
 * usage: vecs-bench-oracle IMAGE PASSPHRASE_FILE [ROUNDS]
 * Prints the best of ROUNDS for each and the ratio native / libcryptsetup. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "oracle/blob.h"
#include "oracle/luks1_libcryptsetup.h"
#include "oracle/luks1_native.h"
#include "util/secret.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint8_t raw[LUKS1_PHDR_SIZE];
	struct luks1_header h;
	struct vecs_secret pass;
	struct vecs_err err = { 0 };
	struct vecs_blob blob;
	double best_native = 1e9, best_lcs = 1e9;
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: %s IMAGE PASSPHRASE_FILE [ROUNDS]\n", argv[0]);
		return 2;
	}
	if (vecs_secret_read_file(&pass, argv[2], &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, raw, sizeof(raw), 0) != (ssize_t)sizeof(raw) ||
	    luks_detect(raw, sizeof(raw)) != LUKS_KIND_V1) {
		fprintf(stderr, "%s: not a readable LUKS1 device\n", argv[1]);
		return 2;
	}
	luks1_decode(raw, &h);
	blob.fd = fd;
	blob.base = 0;
	if (vecs_fd_size(fd, &blob.size) < 0)
		return 2;
	for (int i = 0; i < rounds; i++) {
		struct lcs_result lr;
		double t0 = now(), t1, t2;
		int slot = -1, r;

		r = luks1_native_unlock(&h, &blob, pass.data, pass.len, &slot, NULL, &err);
		t1 = now();
		lcs_check(argv[1], &blob, pass.data, pass.len, &lr);
		t2 = now();
		if (r != 1 || lr.unlock_rc != slot) {
			fprintf(stderr, "oracles did not both unlock (native %d slot %d, libcryptsetup %d)\n",
				r, slot, lr.unlock_rc);
			return 1;
		}
		if (t1 - t0 < best_native)
			best_native = t1 - t0;
		if (t2 - t1 < best_lcs)
			best_lcs = t2 - t1;
	}
	vecs_secret_release(&pass);
	printf("%s %s keyslot iterations %u, digest iterations %u: native %.3f s, libcryptsetup %.3f s, ratio %.2f\n",
	       h.hash_spec, h.cipher_mode, h.keyslots[0].iterations, h.mk_digest_iterations,
	       best_native, best_lcs, best_native / best_lcs);
	close(fd);
	return 0;
}
