/* `vecs corrupt`: flip one on-disk field of an encrypted volume by hand, to reproduce a
 * fault of the catalog, and put it back (faults/corrupt.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "faults/corrupt.h"
#include "util/json_writer.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vecs corrupt --list [--json]\n"
		"       vecs corrupt --target ID --seed S [--undo-file F] [--json] PATH\n"
		"       vecs corrupt --locate --target ID [--json] PATH\n"
		"       vecs corrupt --restore F PATH\n"
		"\n"
		"Flip one field of an encrypted volume at rest, to reproduce a corruption fault by\n"
		"hand. PATH is a file or block device: a qcow2 image with LUKS encryption (the LUKS\n"
		"header is found through crypt_method 2 and the encryption header extension) or\n"
		"raw LUKS1. The volume must not be in use (stop the VM first). The byte and bit\n"
		"changed derive from the seed: the same target, seed and volume layout change the\n"
		"same bit. Iteration counts only lose bits, so no PBKDF gets slower.\n"
		"\n"
		"  --list         the targets: id, what the stack is expected to do on raw LUKS1\n"
		"                 and on qcow2 (refused: it must refuse to open the volume;\n"
		"                 undetectable: LUKS1 has no integrity, reads return other\n"
		"                 bytes; harmless: nobody checks the field), what is changed\n"
		"  --target ID    the field to corrupt (see --list)\n"
		"  --seed S       decimal or 0x-hex 64-bit seed\n"
		"  --undo-file F  write what was changed to F (mode 0600), for --restore\n"
		"  --locate       print where the target's field lies (offset, length); change nothing\n"
		"  --restore F    write back the bytes recorded in undo file F; refused when the\n"
		"                 bytes were changed again since (exit 1)\n"
		"  --json         one JSON object (or, with --list, an array)\n"
		"\n"
		"Example:\n"
		"  vecs corrupt --target luks.ks0.salt --seed 7 --undo-file u.txt vol.qcow2\n"
		"  qemu-img convert ... vol.qcow2 out.raw   # must refuse\n"
		"  vecs corrupt --restore u.txt vol.qcow2\n"
		"\n"
		"Exit status: 0 done; 1 --restore refused (bytes changed since); 2 usage error, or\n"
		"the volume is unreadable or not qcow2+LUKS / LUKS1 (the message says which).\n");
}

static int list_targets(bool json)
{
	if (json) {
		struct json_writer w;

		jw_init(&w, stdout, true);
		jw_arr_begin(&w);
		for (size_t i = 0; i < vecs_corrupt_n_targets; i++) {
			const struct vecs_corrupt_target *t = &vecs_corrupt_targets[i];
			jw_obj_begin(&w);
			jw_kv_str(&w, "id", t->id);
			jw_kv_str(&w, "expect_raw", vecs_corrupt_expect_name(t->expect));
			jw_kv_str(&w, "expect_qcow2", vecs_corrupt_expect_name(t->expect_qcow2));
			jw_kv_str(&w, "description", t->description);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		fputc('\n', stdout);
	} else {
		printf("%-24s %-12s %-12s %s\n", "TARGET", "RAW LUKS1", "QCOW2", "WHAT IS CHANGED");
		for (size_t i = 0; i < vecs_corrupt_n_targets; i++) {
			const struct vecs_corrupt_target *t = &vecs_corrupt_targets[i];
			printf("%-24s %-12s %-12s %s\n", t->id, vecs_corrupt_expect_name(t->expect),
			       vecs_corrupt_expect_name(t->expect_qcow2), t->description);
		}
	}
	return fflush(stdout) == 0 ? VECS_EXIT_OK : VECS_EXIT_USAGE;
}

static void hex_out(FILE *f, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static void print_undo(const char *path, uint64_t seed, const struct vecs_corrupt_undo *u, bool json)
{
	char old[2 * VECS_CORRUPT_UNDO_MAX + 1], now[2 * VECS_CORRUPT_UNDO_MAX + 1];
	const struct vecs_corrupt_target *t = vecs_corrupt_find(u->target);

	for (size_t i = 0; i < u->len; i++) {
		snprintf(old + 2 * i, 3, "%02x", u->old[i]);
		snprintf(now + 2 * i, 3, "%02x", u->now[i]);
	}
	old[2 * u->len] = now[2 * u->len] = '\0';
	if (json) {
		struct json_writer w;

		jw_init(&w, stdout, true);
		jw_obj_begin(&w);
		jw_kv_str(&w, "path", path);
		jw_kv_str(&w, "target", u->target);
		jw_kv_uint(&w, "seed", seed);
		jw_kv_str(&w, "container", u->qcow2 ? "qcow2" : "raw");
		jw_kv_str(&w, "expect", vecs_corrupt_expect_name(vecs_corrupt_expect_on(t, u->qcow2)));
		jw_kv_uint(&w, "offset", u->offset);
		jw_kv_uint(&w, "len", u->len);
		jw_kv_str(&w, "old", old);
		jw_kv_str(&w, "new", now);
		jw_obj_end(&w);
		fputc('\n', stdout);
		return;
	}
	printf("%s: %s (seed %" PRIu64 "): %zu byte%s at %" PRIu64 ": ", path, u->target, seed, u->len,
	       u->len == 1 ? "" : "s", u->offset);
	hex_out(stdout, u->old, u->len);
	printf(" -> ");
	hex_out(stdout, u->now, u->len);
	printf(" (%s; expected: %s)\n", u->qcow2 ? "qcow2" : "raw LUKS1",
	       vecs_corrupt_expect_name(vecs_corrupt_expect_on(t, u->qcow2)));
}

static int parse_seed(const char *s, uint64_t *seed)
{
	char *end;

	errno = 0;
	*seed = strtoull(s, &end, 0);
	return errno || end == s || *end || *s == '-' ? -1 : 0;
}

static int do_restore(const char *undo_file, const char *path)
{
	struct vecs_corrupt_undo u;
	struct vecs_err err = { 0 };
	int r = vecs_corrupt_undo_load(undo_file, &u, &err);

	if (r == 0)
		r = vecs_corrupt_restore(path, &u, &err);
	if (r < 0) {
		fprintf(stderr, "vecs corrupt: %s\n", err.msg);
		return r == -ESTALE ? VECS_EXIT_FAIL : VECS_EXIT_USAGE;
	}
	printf("%s: restored %zu byte%s at %" PRIu64 " (%s)\n", path, u.len, u.len == 1 ? "" : "s",
	       u.offset, u.target);
	return VECS_EXIT_OK;
}

static int do_locate(const char *target, const char *path, bool json)
{
	struct vecs_err err = { 0 };
	uint64_t off;
	size_t len;

	if (vecs_corrupt_locate(path, target, &off, &len, &err) < 0) {
		fprintf(stderr, "vecs corrupt: %s\n", err.msg);
		return VECS_EXIT_USAGE;
	}
	if (json) {
		struct json_writer w;

		jw_init(&w, stdout, true);
		jw_obj_begin(&w);
		jw_kv_str(&w, "path", path);
		jw_kv_str(&w, "target", target);
		jw_kv_uint(&w, "offset", off);
		jw_kv_uint(&w, "len", len);
		jw_obj_end(&w);
		fputc('\n', stdout);
	} else {
		printf("%s: %s at %" PRIu64 ", %zu bytes\n", path, target, off, len);
	}
	return VECS_EXIT_OK;
}

static int do_apply(const char *target, uint64_t seed, const char *undo_file, const char *path,
		    bool json)
{
	struct vecs_corrupt_undo u;
	struct vecs_err err = { 0 };

	if (vecs_corrupt_apply(path, target, seed, &u, &err) < 0) {
		fprintf(stderr, "vecs corrupt: %s\n", err.msg);
		return VECS_EXIT_USAGE;
	}
	if (undo_file && vecs_corrupt_undo_save(undo_file, &u, &err) < 0) {
		/* Do not leave a corruption nobody can undo. */
		struct vecs_err e2 = { 0 };
		int r = vecs_corrupt_restore(path, &u, &e2);
		fprintf(stderr, "vecs corrupt: %s; the change was %s\n", err.msg,
			r == 0 ? "undone" : "NOT undone");
		return VECS_EXIT_USAGE;
	}
	print_undo(path, seed, &u, json);
	return fflush(stdout) == 0 ? VECS_EXIT_OK : VECS_EXIT_USAGE;
}

int cmd_corrupt(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "target", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "undo-file", required_argument, NULL, 'u' },
		{ "restore", required_argument, NULL, 'r' },
		{ "locate", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *target = NULL, *undo_file = NULL, *restore = NULL;
	bool list = false, json = false, locate = false, have_seed = false;
	uint64_t seed = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': list = true; break;
		case 'j': json = true; break;
		case 't': target = optarg; break;
		case 'u': undo_file = optarg; break;
		case 'r': restore = optarg; break;
		case 'L': locate = true; break;
		case 's':
			if (parse_seed(optarg, &seed) < 0) {
				fprintf(stderr, "vecs corrupt: --seed '%s' is not a 64-bit number\n", optarg);
				return VECS_EXIT_USAGE;
			}
			have_seed = true;
			break;
		case 'h':
			usage(stdout);
			return VECS_EXIT_OK;
		default:
			usage(stderr);
			return VECS_EXIT_USAGE;
		}
	}
	if (list) {
		if (optind != argc || target || restore) {
			fprintf(stderr, "vecs corrupt: --list takes no PATH, --target or --restore\n");
			return VECS_EXIT_USAGE;
		}
		return list_targets(json);
	}
	if (optind != argc - 1) {
		fprintf(stderr, "vecs corrupt: exactly one PATH is needed (got %d); see `vecs corrupt --help`\n",
			argc - optind);
		return VECS_EXIT_USAGE;
	}
	if (restore) {
		if (target || have_seed || undo_file || locate) {
			fprintf(stderr, "vecs corrupt: --restore takes only the undo file and PATH\n");
			return VECS_EXIT_USAGE;
		}
		return do_restore(restore, argv[optind]);
	}
	if (!target) {
		fprintf(stderr, "vecs corrupt: --target ID is needed (`vecs corrupt --list` shows the ids)\n");
		return VECS_EXIT_USAGE;
	}
	if (locate)
		return do_locate(target, argv[optind], json);
	if (!have_seed) {
		fprintf(stderr, "vecs corrupt: --seed S is needed: it chooses the byte and bit to flip\n");
		return VECS_EXIT_USAGE;
	}
	return do_apply(target, seed, undo_file, argv[optind], json);
}
