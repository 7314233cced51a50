/* `vecs scan`: the ciphertext-at-rest oracle on the command line (oracle/scan.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "oracle/scan.h"
#include "util/json_writer.h"

#define DEFAULT_MAX_HITS 1000
#define MAX_ERRORS 100

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vecs scan --seed S [--json] [--no-hex] [--max-hits N] PATH...\n"
		"\n"
		"Looks for plaintext of the canary of seed S (`vecs canary --help`) at any byte\n"
		"offset of each PATH: a regular file, a block device, or a directory (searched\n"
		"recursively; symlinks below it are not followed). Holes of sparse files are\n"
		"skipped. Pieces of a few dozen bytes are enough: 16 x 0xC3 plus the 4-byte\n"
		"seed id.\n"
		"\n"
		"Each hit is a byte range of one file, consecutive records joined:\n"
		"  match    intact records of seed S (check value verified); the range is exact\n"
		"           to the byte, also for pieces cut from the middle of a record\n"
		"  corrupt  seed S's id, but the record's check value is wrong (cut or altered)\n"
		"  partial  a record of seed S cut by the end of the file or of a data extent\n"
		"  foreign  two or more consecutive records of another seed (its seed id shown)\n"
		"  hex      records of seed S written as hex text, either case (a log line)\n"
		"All kinds are plaintext at rest: any hit means found.\n"
		"\n"
		"Output: one line per hit (PATH: KIND at offset O, L bytes, canary offset C,\n"
		"R records), at most --max-hits lines (default 1000; more are counted), then a\n"
		"summary. --json prints one object instead: {seed, seed_id, files_scanned,\n"
		"files_skipped, bytes_scanned, bytes_skipped_holes, hits: [{path, offset,\n"
		"length, canary_offset, records, kind, seed_id}], hits_total, hits_truncated,\n"
		"errors: [message], found}. canary_offset is null where too little is left to\n"
		"tell. Offsets and lengths are bytes (hex: characters of text).\n"
		"\n"
		"  --seed S       the canary's seed\n"
		"  --json         machine-readable output on stdout\n"
		"  --no-hex       skip the hex-text check\n"
		"  --max-hits N   report at most N hit ranges (0: none, only the counts)\n"
		"\n"
		"Exit status: 0 no canary found; 1 canary found (even if some path failed);\n"
		"2 usage error, or a path could not be read and nothing was found.\n");
}

struct saved_hit {
	struct vecs_scan_hit h;
	char *path;
};

struct out {
	bool json;
	uint64_t max_hits;
	uint64_t total;
	struct saved_hit *hits;
	size_t n_hits;
	char *errors[MAX_ERRORS];
	size_t n_errors;
	uint64_t errors_total;
};

static void hex4(const uint8_t id[4], char out[9])
{
	snprintf(out, 9, "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
}

static void print_hit(const struct vecs_scan_hit *h)
{
	char id[9];

	printf("%s: %s at offset %" PRIu64 ", %" PRIu64 " %s, ", h->path,
	       vecs_scan_kind_name(h->kind), h->offset, h->length,
	       h->kind == VECS_SCAN_HEX ? "characters" : "bytes");
	if (h->canary_offset >= 0)
		printf("canary offset %" PRId64, h->canary_offset);
	else
		printf("canary offset unknown");
	printf(", %" PRIu64 " record%s", h->records, h->records == 1 ? "" : "s");
	if (h->kind == VECS_SCAN_FOREIGN) {
		hex4(h->seed_id, id);
		printf(", seed id %s", id);
	}
	printf("\n");
}

static int on_hit(const struct vecs_scan_hit *h, void *ctx)
{
	struct out *o = ctx;

	o->total++;
	if (o->total > o->max_hits)
		return 0;
	if (!o->json) {
		print_hit(h);
		return 0;
	}
	if ((o->n_hits & (o->n_hits - 1)) == 0) {
		size_t cap = o->n_hits ? 2 * o->n_hits : 16;
		struct saved_hit *n = realloc(o->hits, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		o->hits = n;
	}
	o->hits[o->n_hits].h = *h;
	o->hits[o->n_hits].path = strdup(h->path);
	if (!o->hits[o->n_hits].path)
		return -ENOMEM;
	o->n_hits++;
	return 0;
}

static void note_error(struct out *o, const char *msg)
{
	o->errors_total++;
	fprintf(stderr, "vecs scan: %s\n", msg);
	if (o->json && o->n_errors < MAX_ERRORS) {
		o->errors[o->n_errors] = strdup(msg);
		if (o->errors[o->n_errors])
			o->n_errors++;
	}
}

static void on_error(const struct vecs_err *err, void *ctx)
{
	note_error(ctx, err->msg);
}

static void print_json(const struct out *o, const char *seed, const struct vecs_canary *c,
		       const struct vecs_scan_stats *st)
{
	struct json_writer w;
	char id[9];

	jw_init(&w, stdout, true);
	jw_obj_begin(&w);
	jw_kv_str(&w, "seed", seed);
	hex4(c->seed_id, id);
	jw_kv_str(&w, "seed_id", id);
	jw_kv_uint(&w, "files_scanned", st->files_scanned);
	jw_kv_uint(&w, "files_skipped", st->files_skipped);
	jw_kv_uint(&w, "bytes_scanned", st->bytes_scanned);
	jw_kv_uint(&w, "bytes_skipped_holes", st->bytes_skipped_holes);
	jw_key(&w, "hits");
	jw_arr_begin(&w);
	for (size_t i = 0; i < o->n_hits; i++) {
		const struct vecs_scan_hit *h = &o->hits[i].h;

		jw_obj_begin(&w);
		jw_kv_str(&w, "path", o->hits[i].path);
		jw_kv_uint(&w, "offset", h->offset);
		jw_kv_uint(&w, "length", h->length);
		if (h->canary_offset >= 0)
			jw_kv_int(&w, "canary_offset", h->canary_offset);
		else
			jw_kv_null(&w, "canary_offset");
		jw_kv_uint(&w, "records", h->records);
		jw_kv_str(&w, "kind", vecs_scan_kind_name(h->kind));
		hex4(h->seed_id, id);
		jw_kv_str(&w, "seed_id", id);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_kv_uint(&w, "hits_total", o->total);
	jw_kv_bool(&w, "hits_truncated", o->total > o->n_hits);
	jw_key(&w, "errors");
	jw_arr_begin(&w);
	for (size_t i = 0; i < o->n_errors; i++)
		jw_str(&w, o->errors[i]);
	jw_arr_end(&w);
	jw_kv_bool(&w, "found", o->total > 0);
	jw_obj_end(&w);
	fputc('\n', stdout);
}

static void print_summary(const struct out *o, const struct vecs_canary *c,
			  const struct vecs_scan_stats *st)
{
	char id[9];

	hex4(c->seed_id, id);
	if (o->total > o->max_hits)
		printf("(%" PRIu64 " more hit ranges not listed)\n", o->total - o->max_hits);
	printf("scan: seed id %s; %" PRIu64 " file%s, %" PRIu64 " bytes scanned, %" PRIu64
	       " bytes skipped as holes; ",
	       id, st->files_scanned, st->files_scanned == 1 ? "" : "s", st->bytes_scanned,
	       st->bytes_skipped_holes);
	if (o->total)
		printf("%" PRIu64 " hit%s: canary plaintext FOUND\n", o->total,
		       o->total == 1 ? "" : "s");
	else if (o->errors_total)
		printf("no canary found, but %" PRIu64 " path%s could not be read\n",
		       o->errors_total, o->errors_total == 1 ? "" : "s");
	else
		printf("no canary found\n");
}

int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-hex", no_argument, NULL, 'x' },
		{ "max-hits", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vecs_scan_opts so = { 0 };
	struct out o = { .max_hits = DEFAULT_MAX_HITS };
	struct vecs_err err = { 0 };
	struct vecs_scan *s = NULL;
	const char *seed = NULL;
	int opt, rc;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': seed = optarg; break;
		case 'j': o.json = true; break;
		case 'x': so.no_hex = true; break;
		case 'm': {
			char *end;
			errno = 0;
			o.max_hits = strtoull(optarg, &end, 10);
			if (errno || *end || *optarg < '0' || *optarg > '9') {
				fprintf(stderr, "vecs scan: --max-hits '%s' is not a count; give "
					"a number such as 1000\n", optarg);
				return VECS_EXIT_USAGE;
			}
			break;
		}
		case 'h': usage(stdout); return VECS_EXIT_OK;
		case ':':
			fprintf(stderr, "vecs scan: %s needs a value; `vecs scan --help` "
				"explains it\n", argv[optind - 1]);
			return VECS_EXIT_USAGE;
		default:
			fprintf(stderr, "vecs scan: unknown option '%s'; `vecs scan --help` lists "
				"the options\n", argv[optind - 1]);
			return VECS_EXIT_USAGE;
		}
	}
	if (!seed) {
		fprintf(stderr, "vecs scan: give the canary's seed with --seed S "
			"(the one given to `vecs canary`)\n");
		return VECS_EXIT_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "vecs scan: give at least one file, directory or block device "
			"to scan\n");
		return VECS_EXIT_USAGE;
	}
	so.on_hit = on_hit;
	so.on_error = on_error;
	so.ctx = &o;
	if (vecs_scan_new(&s, seed, &so, &err) < 0) {
		fprintf(stderr, "vecs scan: %s\n", err.msg);
		return VECS_EXIT_USAGE;
	}
	rc = 0;
	for (int i = optind; i < argc; i++) {
		vecs_err_clear(&err);
		if (vecs_scan_path(s, argv[i], &err) < 0) {
			if (err.code == -ENOMEM) {
				note_error(&o, err.msg);
				rc = -ENOMEM;
				break;
			}
			note_error(&o, err.msg);
		}
	}
	if (o.json)
		print_json(&o, seed, vecs_scan_get_canary(s), vecs_scan_get_stats(s));
	else
		print_summary(&o, vecs_scan_get_canary(s), vecs_scan_get_stats(s));
	fflush(stdout);
	vecs_scan_free(s);
	for (size_t i = 0; i < o.n_hits; i++)
		free(o.hits[i].path);
	free(o.hits);
	for (size_t i = 0; i < o.n_errors; i++)
		free(o.errors[i]);
	if (o.total)
		return VECS_EXIT_FAIL;
	if (o.errors_total || rc < 0)
		return VECS_EXIT_USAGE;
	return VECS_EXIT_OK;
}
