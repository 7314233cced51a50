/* `vecs canary`: write canary bytes (oracle/canary.h) to stdout. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "oracle/canary.h"

#define CHUNK (1u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vecs canary --seed S --size N\n"
		"\n"
		"Writes the first N bytes of the canary of seed S to stdout: plaintext that\n"
		"`vecs scan --seed S` recognises at any byte offset, so a leak of it to disk\n"
		"(unencrypted clusters, copies, temp files, logs) can be found and located.\n"
		"The same seed always gives the same bytes.\n"
		"\n"
		"  --seed S   any non-empty string; name the test with it (not a secret)\n"
		"  --size N   byte count; suffix K, M, G or T for powers of 1024 (64M);\n"
		"             need not be a multiple of 32; at most 128G\n"
		"\n"
		"Format: 32-byte records; record i holds stream bytes [32i, 32i+32):\n"
		"  0..15   16 x 0xC3 (a constant run the scanner finds fast)\n"
		"  16..19  seed id: first 4 bytes of SHA-256(\"vecs-canary-seed:\" || S)\n"
		"  20..23  i as uint32 little-endian\n"
		"  24..31  check: first 8 bytes of SHA-256(\"vecs-canary-rec:\" || S || le64(i))\n"
		"\n"
		"Exit status: 0 written; 2 usage error or stdout not writable.\n");
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int cmd_canary(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *seed = NULL, *size_arg = NULL;
	struct vecs_canary c;
	struct vecs_err err = { 0 };
	uint64_t size, off = 0;
	uint8_t *buf;
	int o, r = 0;

	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case 's': seed = optarg; break;
		case 'n': size_arg = optarg; break;
		case 'h': usage(stdout); return VECS_EXIT_OK;
		case ':':
			fprintf(stderr, "vecs canary: %s needs a value; `vecs canary --help` "
				"explains it\n", argv[optind - 1]);
			return VECS_EXIT_USAGE;
		default:
			fprintf(stderr, "vecs canary: unknown option '%s'; `vecs canary --help` "
				"lists the options\n", argv[optind - 1]);
			return VECS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vecs canary: unexpected argument '%s'; the canary goes to "
			"stdout, redirect it to a file\n", argv[optind]);
		return VECS_EXIT_USAGE;
	}
	if (!seed || !size_arg) {
		fprintf(stderr, "vecs canary: give both --seed S and --size N "
			"(e.g. `vecs canary --seed t1 --size 1M > f`)\n");
		return VECS_EXIT_USAGE;
	}
	if (vecs_canary_parse_size(size_arg, &size, &err) < 0) {
		fprintf(stderr, "vecs canary: %s\n", err.msg);
		return VECS_EXIT_USAGE;
	}
	if (size > VECS_CANARY_MAX_SIZE) {
		fprintf(stderr, "vecs canary: --size %s is more than the canary holds (128G); "
			"use several seeds for more\n", size_arg);
		return VECS_EXIT_USAGE;
	}
	if (vecs_canary_init(&c, seed, &err) < 0) {
		fprintf(stderr, "vecs canary: %s\n", err.msg);
		return VECS_EXIT_USAGE;
	}
	buf = malloc(CHUNK);
	if (!buf) {
		vecs_canary_free(&c);
		fprintf(stderr, "vecs canary: out of memory\n");
		return VECS_EXIT_USAGE;
	}
	while (off < size && r == 0) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;

		r = vecs_canary_fill(&c, off, buf, n, &err);
		if (r < 0) {
			fprintf(stderr, "vecs canary: %s\n", err.msg);
			break;
		}
		r = write_all(STDOUT_FILENO, buf, n);
		if (r < 0)
			fprintf(stderr, "vecs canary: cannot write to stdout: %s; redirect it to "
				"a writable file or pipe\n", strerror(-r));
		off += n;
	}
	free(buf);
	vecs_canary_free(&c);
	return r < 0 ? VECS_EXIT_USAGE : VECS_EXIT_OK;
}
