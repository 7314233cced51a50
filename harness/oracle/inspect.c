#include "oracle/inspect.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oracle/blob.h"
#include "oracle/luks1_libcryptsetup.h"
#include "oracle/luks1_native.h"

const char *oracle_status_name(enum oracle_status s)
{
	switch (s) {
	case ORACLE_NOT_RUN: return "not_run";
	case ORACLE_UNLOCKED: return "unlocked";
	case ORACLE_NOT_UNLOCKED: return "not_unlocked";
	case ORACLE_UNSUPPORTED: return "unsupported";
	case ORACLE_ERROR: return "error";
	}
	return "error";
}

static void run_native(struct inspect_result *res, const struct vecs_blob *dev,
		       const struct vecs_secret *pass)
{
	struct vecs_err e = { 0 };
	int slot = -1;
	int r = luks1_native_unlock(&res->luks, dev, pass->data, pass->len, &slot, NULL, &e);

	res->native.keyslot = slot;
	if (r == 1) {
		res->native.status = ORACLE_UNLOCKED;
	} else if (r == 0) {
		res->native.status = ORACLE_NOT_UNLOCKED;
	} else {
		res->native.status = r == -ENOTSUP ? ORACLE_UNSUPPORTED : ORACLE_ERROR;
		snprintf(res->native.message, sizeof(res->native.message), "%s", e.msg);
	}
}

static void run_libcryptsetup(struct inspect_result *res, const struct vecs_blob *dev,
			      const struct vecs_secret *pass)
{
	struct lcs_result lr;

	lcs_check(res->path, dev, pass ? pass->data : NULL, pass ? pass->len : 0, &lr);
	res->libcryptsetup_load_rc = lr.load_rc;
	res->libcryptsetup.keyslot = -1;
	snprintf(res->libcryptsetup.message, sizeof(res->libcryptsetup.message), "%s", lr.message);
	if (!pass) {
		res->libcryptsetup.status = ORACLE_NOT_RUN;
	} else if (lr.load_rc < 0) {
		res->libcryptsetup.status = lr.load_rc == -ENOTSUP ? ORACLE_UNSUPPORTED : ORACLE_ERROR;
	} else if (lr.unlock_rc >= 0) {
		res->libcryptsetup.status = ORACLE_UNLOCKED;
		res->libcryptsetup.keyslot = lr.unlock_rc;
	} else if (lr.unlock_rc == -EPERM || lr.unlock_rc == -ENOENT) {
		/* -ENOENT: no usable keyslot at all, so nothing opens either */
		res->libcryptsetup.status = ORACLE_NOT_UNLOCKED;
	} else {
		res->libcryptsetup.status = lr.unlock_rc == -ENOTSUP ? ORACLE_UNSUPPORTED : ORACLE_ERROR;
	}
}

static bool definite(enum oracle_status s)
{
	return s == ORACLE_UNLOCKED || s == ORACLE_NOT_UNLOCKED;
}

/* Combine the two oracles into one answer, and record what they disagree on. */
static void judge_passphrase(struct inspect_result *res)
{
	const struct oracle_verdict *n = &res->native, *l = &res->libcryptsetup;
	struct findings *f = &res->findings;

	if (definite(n->status) && definite(l->status)) {
		if (n->status != l->status || n->keyslot != l->keyslot) {
			findings_add(f, SEV_ERROR, "oracle.disagreement",
				     "the oracles disagree: native says %s (keyslot %d), libcryptsetup says %s (keyslot %d)",
				     oracle_status_name(n->status), n->keyslot,
				     oracle_status_name(l->status), l->keyslot);
			return;
		}
		res->unlocks = n->status == ORACLE_UNLOCKED;
		res->keyslot = n->keyslot;
	} else if (definite(l->status)) {
		/* Only one oracle could decide. A native *error* on a header libcryptsetup
		 * opens is a disagreement; a native *unsupported* cipher is a known gap. */
		if (n->status == ORACLE_ERROR)
			findings_add(f, SEV_ERROR, "oracle.disagreement",
				     "native oracle failed (%s) where libcryptsetup says %s",
				     n->message, oracle_status_name(l->status));
		else
			findings_add(f, SEV_INFO, "oracle.native_unsupported",
				     "native oracle cannot check this header (%s); libcryptsetup alone decided",
				     n->message);
		res->unlocks = l->status == ORACLE_UNLOCKED;
		res->keyslot = l->keyslot;
	} else if (definite(n->status)) {
		findings_add(f, SEV_WARNING, "oracle.libcryptsetup_failed",
			     "libcryptsetup could not check the passphrase (%s); native oracle alone decided",
			     l->message[0] ? l->message : oracle_status_name(l->status));
		res->unlocks = n->status == ORACLE_UNLOCKED;
		res->keyslot = n->keyslot;
	} else {
		findings_add(f, SEV_ERROR, "passphrase.undecided",
			     "neither oracle could check the passphrase (native: %s; libcryptsetup: %s)",
			     n->message[0] ? n->message : oracle_status_name(n->status),
			     l->message[0] ? l->message : oracle_status_name(l->status));
		return;
	}
	if (!res->unlocks)
		findings_add(f, SEV_ERROR, "passphrase.no_unlock",
			     definite(n->status) && definite(l->status)
				     ? "the passphrase opens no keyslot (both oracles agree)"
				     : "the passphrase opens no keyslot (one oracle decided; see the other's finding)");
}

/* A hostile header can ask for 2^32 PBKDF2 iterations: hours for either oracle. */
static bool iterations_within_limit(struct inspect_result *res)
{
	const struct luks1_header *h = &res->luks;
	bool ok = h->mk_digest_iterations <= VECS_INSPECT_MAX_ITERATIONS;

	for (int i = 0; i < LUKS1_NUMKEYS; i++)
		if (h->keyslots[i].active == LUKS1_KEY_ENABLED &&
		    h->keyslots[i].iterations > VECS_INSPECT_MAX_ITERATIONS)
			ok = false;
	if (!ok)
		findings_add(&res->findings, SEV_ERROR, "passphrase.iterations_limit",
			     "passphrase not checked: an iteration count exceeds %u (checking would take minutes to hours)",
			     VECS_INSPECT_MAX_ITERATIONS);
	return ok;
}

/* Where is the LUKS device? Fills res->luks_offset/size, or adds a finding. */
static int locate_luks(struct inspect_result *res, int fd, struct vecs_err *err)
{
	size_t want = res->file_size < QCOW2_HEADER_READ_MAX ? (size_t)res->file_size : QCOW2_HEADER_READ_MAX;
	struct vecs_blob whole = { .fd = fd, .base = 0, .size = res->file_size };
	uint8_t *head = malloc(want ? want : 1);
	int r;

	if (!head)
		return vecs_err_set(err, -ENOMEM, "out of memory reading %s", res->path);
	r = vecs_blob_read(&whole, 0, head, want);
	if (r < 0) {
		free(head);
		return vecs_err_set(err, r, "cannot read %s: %s", res->path, strerror(-r));
	}
	res->luks_offset = 0;
	res->luks_size = res->file_size;
	if (qcow2_detect(head, want)) {
		res->is_qcow2 = true;
		r = qcow2_parse(head, want, res->file_size, &res->qcow2, &res->findings);
		free(head);
		if (r < 0)
			return 1; /* no LUKS region to look at; findings say why */
		res->luks_offset = res->qcow2.fde_offset;
		res->luks_size = res->qcow2.fde_length;
		return 0;
	}
	r = luks_detect(head, want) == LUKS_KIND_NONE;
	free(head);
	if (r) {
		findings_add(&res->findings, SEV_ERROR, "container.not_encrypted",
			     "neither a LUKS header nor a qcow2 header at byte 0: the volume is not encrypted");
		return 1;
	}
	return 0;
}

int vecs_inspect(const char *path, const struct vecs_secret *pass,
		 const struct vecs_profile *profile, struct inspect_result *res,
		 struct vecs_err *err)
{
	uint8_t phdr[LUKS1_PHDR_SIZE];
	struct vecs_blob dev;
	size_t n;
	int fd, r;

	memset(res, 0, sizeof(*res));
	res->path = path;
	res->profile = profile;
	res->keyslot = -1;
	res->native.keyslot = res->libcryptsetup.keyslot = -1;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer; the type check follows. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return vecs_err_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
	r = vecs_fd_size(fd, &res->file_size);
	if (r < 0) {
		close(fd);
		return vecs_err_set(err, r, "%s is neither a regular file nor a block device (%s)", path,
				    strerror(-r));
	}
	r = locate_luks(res, fd, err);
	if (r != 0) {
		close(fd);
		if (r < 0)
			return r;
		goto verdict;
	}

	dev = (struct vecs_blob){ .fd = fd, .base = res->luks_offset, .size = res->luks_size };
	n = res->luks_size < LUKS1_PHDR_SIZE ? (size_t)res->luks_size : LUKS1_PHDR_SIZE;
	r = vecs_blob_read(&dev, 0, phdr, n);
	if (r < 0) {
		close(fd);
		return vecs_err_set(err, r, "cannot read the LUKS header of %s: %s", path, strerror(-r));
	}
	res->luks_kind = luks_detect(phdr, n);
	switch (res->luks_kind) {
	case LUKS_KIND_NONE:
		findings_add(&res->findings, SEV_ERROR, "luks.magic",
			     res->is_qcow2 ? "no LUKS magic at the qcow2 encryption header offset"
					   : "no LUKS magic");
		break;
	case LUKS_KIND_V2:
		res->encrypted = !res->is_qcow2 || res->qcow2.crypt_method == QCOW2_CRYPT_LUKS;
		findings_add(&res->findings, SEV_ERROR, "luks.version2",
			     "this is a LUKS2 header; the profile requires LUKS1");
		break;
	case LUKS_KIND_OTHER:
		findings_add(&res->findings, SEV_ERROR, "luks.version",
			     "LUKS magic with unknown version %u", (phdr[6] << 8) | phdr[7]);
		break;
	case LUKS_KIND_TRUNCATED:
		findings_add(&res->findings, SEV_ERROR, "luks.truncated",
			     "LUKS1 magic, but the device holds only %zu of the header's 592 bytes", n);
		break;
	case LUKS_KIND_V1:
		/* a LUKS region that qcow2 does not use (crypt_method != 2) encrypts nothing */
		res->encrypted = !res->is_qcow2 || res->qcow2.crypt_method == QCOW2_CRYPT_LUKS;
		res->luks_decoded = true;
		luks1_decode(phdr, &res->luks);
		luks1_validate(&res->luks, res->luks_size, &res->findings);
		vecs_profile_check(profile, &res->luks, &res->findings);
		break;
	}

	if (res->luks_decoded) {
		bool structural_errors = findings_has_error(&res->findings);

		if (pass && !iterations_within_limit(res)) {
			res->passphrase_checked = true;
			pass = NULL; /* neither oracle would finish in useful time */
		}
		if (pass) {
			res->passphrase_checked = true;
			run_native(res, &dev, pass);
		}
		run_libcryptsetup(res, &dev, pass);
		/* The two oracles must agree on whether the header is loadable, too. */
		if (res->libcryptsetup_load_rc < 0 && !structural_errors)
			findings_add(&res->findings, SEV_ERROR, "oracle.load_disagreement",
				     "libcryptsetup refuses a header the native parser accepts: %s",
				     res->libcryptsetup.message[0] ? res->libcryptsetup.message
								  : strerror(-res->libcryptsetup_load_rc));
		if (pass)
			judge_passphrase(res);
	}
	close(fd);
verdict:
	res->pass = !findings_has_error(&res->findings) &&
		    (!res->passphrase_checked || res->unlocks);
	return 0;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void json_oracle(struct json_writer *w, const char *key, const struct oracle_verdict *v)
{
	jw_key(w, key);
	jw_obj_begin(w);
	jw_kv_str(w, "status", oracle_status_name(v->status));
	if (v->keyslot >= 0)
		jw_kv_int(w, "keyslot", v->keyslot);
	else
		jw_kv_null(w, "keyslot");
	if (v->message[0])
		jw_kv_str(w, "message", v->message);
	jw_obj_end(w);
}

void vecs_inspect_json(const struct inspect_result *res, struct json_writer *w)
{
	const struct luks1_header *h = &res->luks;
	char buf[2 * LUKS1_SALT_SIZE + 1];

	jw_obj_begin(w);
	jw_kv_str(w, "path", res->path);
	jw_kv_str(w, "container", res->is_qcow2 ? "qcow2" : "raw");
	jw_kv_uint(w, "size", res->file_size);
	jw_kv_str(w, "profile", res->profile->name);
	jw_kv_bool(w, "encrypted", res->encrypted);
	if (res->is_qcow2) {
		jw_key(w, "qcow2");
		jw_obj_begin(w);
		jw_kv_uint(w, "version", res->qcow2.version);
		jw_kv_uint(w, "crypt_method", res->qcow2.crypt_method);
		jw_kv_uint(w, "cluster_bits", res->qcow2.cluster_bits);
		jw_kv_uint(w, "virtual_size", res->qcow2.virtual_size);
		if (res->qcow2.has_fde) {
			jw_kv_uint(w, "luks_offset", res->qcow2.fde_offset);
			jw_kv_uint(w, "luks_length", res->qcow2.fde_length);
		}
		jw_obj_end(w);
	}
	jw_key(w, "luks");
	if (!res->luks_decoded) {
		if (res->luks_kind == LUKS_KIND_V2) {
			jw_obj_begin(w);
			jw_kv_int(w, "version", 2);
			jw_obj_end(w);
		} else {
			jw_null(w);
		}
	} else {
		jw_obj_begin(w);
		jw_kv_uint(w, "version", h->version);
		jw_kv_str(w, "cipher_name", h->cipher_name);
		jw_kv_str(w, "cipher_mode", h->cipher_mode);
		jw_kv_str(w, "hash_spec", h->hash_spec);
		jw_kv_uint(w, "key_bytes", h->key_bytes);
		jw_kv_uint(w, "payload_offset", h->payload_offset);
		jw_kv_uint(w, "mk_digest_iterations", h->mk_digest_iterations);
		hex(buf, h->mk_digest_salt, LUKS1_SALT_SIZE);
		jw_kv_str(w, "mk_digest_salt", buf);
		jw_kv_str(w, "uuid", h->uuid);
		jw_kv_int(w, "active_keyslots", luks1_active_keyslots(h));
		jw_key(w, "keyslots");
		jw_arr_begin(w);
		for (int i = 0; i < LUKS1_NUMKEYS; i++) {
			const struct luks1_keyslot *ks = &h->keyslots[i];
			jw_obj_begin(w);
			jw_kv_int(w, "index", i);
			jw_kv_bool(w, "active", ks->active == LUKS1_KEY_ENABLED);
			jw_kv_uint(w, "state", ks->active);
			jw_kv_uint(w, "iterations", ks->iterations);
			jw_kv_uint(w, "stripes", ks->stripes);
			jw_kv_uint(w, "key_material_offset", ks->key_material_offset);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_key(w, "passphrase");
	jw_obj_begin(w);
	jw_kv_bool(w, "checked", res->passphrase_checked);
	jw_kv_bool(w, "unlocks", res->passphrase_checked && res->unlocks);
	if (res->passphrase_checked && res->unlocks)
		jw_kv_int(w, "keyslot", res->keyslot);
	else
		jw_kv_null(w, "keyslot");
	jw_key(w, "oracles");
	jw_obj_begin(w);
	json_oracle(w, "native", &res->native);
	json_oracle(w, "libcryptsetup", &res->libcryptsetup);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_key(w, "libcryptsetup_load");
	if (res->luks_decoded)
		jw_str(w, res->libcryptsetup_load_rc == 0 ? "ok" : strerror(-res->libcryptsetup_load_rc));
	else
		jw_null(w);
	jw_key(w, "findings");
	jw_arr_begin(w);
	for (int i = 0; i < res->findings.n; i++) {
		const struct finding *fi = &res->findings.items[i];
		jw_obj_begin(w);
		jw_kv_str(w, "id", fi->id);
		jw_kv_str(w, "severity", finding_severity_name(fi->severity));
		jw_kv_str(w, "message", fi->message);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	if (res->findings.dropped)
		jw_kv_int(w, "findings_dropped", res->findings.dropped);
	jw_kv_str(w, "verdict", res->pass ? "pass" : "fail");
	jw_obj_end(w);
}

/* One report line. Header fields are attacker-controlled: every byte outside printable
 * ASCII is written as \xNN, so no escape sequence reaches the operator's terminal. */
__attribute__((format(printf, 2, 3))) static void text_line(FILE *out, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f)
			fputc(*p, out);
		else
			fprintf(out, "\\x%02x", *p);
	}
	fputc('\n', out);
}

void vecs_inspect_text(const struct inspect_result *res, FILE *out)
{
	const struct luks1_header *h = &res->luks;

	text_line(out, "%s: %s, %s", res->path, res->is_qcow2 ? "qcow2" : "raw",
		  res->encrypted ? "encrypted" : "NOT encrypted");
	if (res->is_qcow2 && res->qcow2.has_fde)
		text_line(out, "  qcow2 v%u, crypt_method %u, LUKS region at %llu (%llu bytes)",
			  res->qcow2.version, res->qcow2.crypt_method,
			  (unsigned long long)res->qcow2.fde_offset,
			  (unsigned long long)res->qcow2.fde_length);
	else if (res->is_qcow2)
		text_line(out, "  qcow2 v%u, crypt_method %u, no LUKS region", res->qcow2.version,
			  res->qcow2.crypt_method);
	if (res->luks_decoded) {
		text_line(out, "  LUKS%u %s-%s, %u-bit key, hash %s, payload at sector %u, uuid %s",
			  h->version, h->cipher_name, h->cipher_mode, h->key_bytes * 8, h->hash_spec,
			  h->payload_offset, h->uuid);
		for (int i = 0; i < LUKS1_NUMKEYS; i++)
			if (h->keyslots[i].active == LUKS1_KEY_ENABLED)
				text_line(out, "  keyslot %d: enabled, %u iterations, material at sector %u",
					  i, h->keyslots[i].iterations, h->keyslots[i].key_material_offset);
	}
	if (res->passphrase_checked)
		text_line(out, "  passphrase: %s (native: %s, libcryptsetup: %s)",
			  res->unlocks ? "unlocks" : "does NOT unlock",
			  oracle_status_name(res->native.status),
			  oracle_status_name(res->libcryptsetup.status));
	for (int i = 0; i < res->findings.n; i++)
		text_line(out, "  %-7s %s: %s", finding_severity_name(res->findings.items[i].severity),
			  res->findings.items[i].id, res->findings.items[i].message);
	text_line(out, "verdict: %s (profile %s)", res->pass ? "PASS" : "FAIL", res->profile->name);
}
