/* Scenario and profile files: YAML (libyaml's document API) into engine/scenario.h.
 *
 * Everything is checked here, once, with the position of the offending node: unknown
 * keys, duplicate keys, wrong types, values out of range, references to steps, names
 * and labels that do not exist (yet), and the rules that make a scenario a test of its
 * matrix row (a refused row refuses and leaves state unchanged; a supported row keeps
 * canary data across the operation). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "engine/scenario.h"
#include "engine/template.h"
#include "oracle/profile.h"

const char *const vecs_storage_types[VECS_STORAGE_COUNT] = { "nfs", "local", "smp", "scaleio" };

int vecs_storage_index(const char *name)
{
	for (int i = 0; i < VECS_STORAGE_COUNT; i++)
		if (!strcmp(name, vecs_storage_types[i]))
			return i;
	return -1;
}

const char *vecs_expected_name(enum vecs_expected e)
{
	return e == VECS_EXPECT_REFUSED ? "refused" : "supported";
}

static const char *const invariant_names[VECS_INV__COUNT] = {
	"no_plaintext_at_rest",   "luks_header_conformant",       "passphrase_in_db",
	"passphrase_encrypted_at_rest", "passphrase_unlocks",     "passphrase_unchanged",
	"passphrase_new",         "passphrase_removed",           "no_secret_in_argv",
	"no_secret_in_logs",      "no_libvirt_secret_left",       "no_orphan_passphrase",
	"no_stray_key_file",      "api_matches_storage",          "no_leaked_domain",
};

const char *vecs_invariant_name(enum vecs_invariant inv)
{
	return (unsigned)inv < VECS_INV__COUNT ? invariant_names[inv] : "?";
}

int vecs_invariant_from_name(const char *name)
{
	for (int i = 0; i < VECS_INV__COUNT; i++)
		if (!strcmp(name, invariant_names[i]))
			return i;
	return -1;
}

static const char *const checkpoint_names[] = { "write_canary", "verify_canary",
						"snapshot_state", "verify_unchanged",
						"guest_report" };

const char *vecs_checkpoint_name(enum vecs_checkpoint cp)
{
	return checkpoint_names[cp];
}

/* --- the YAML walk ------------------------------------------------------------------ */

struct ld {
	const char *name;
	yaml_document_t doc;
	struct vecs_err *err;
};

static struct vecs_pos pos_of(const yaml_node_t *n)
{
	return (struct vecs_pos){ (int)n->start_mark.line + 1, (int)n->start_mark.column + 1 };
}

__attribute__((format(printf, 3, 4))) static int fail(struct ld *l, const yaml_node_t *n,
						      const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		return vecs_err_set(l->err, -EINVAL, "%s:%d:%d: %s", l->name,
				    (int)n->start_mark.line + 1, (int)n->start_mark.column + 1, msg);
	return vecs_err_set(l->err, -EINVAL, "%s: %s", l->name, msg);
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static yaml_node_t *node(struct ld *l, int idx)
{
	return yaml_document_get_node(&l->doc, idx);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain `key:` with no value, `~` or `null`. */
static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !strcmp(sval(n), "") || !strcmp(sval(n), "~") || !strcmp(sval(n), "null");
}

static int want(struct ld *l, const yaml_node_t *n, yaml_node_type_t t, const char *what)
{
	if (n->type == t)
		return 0;
	return fail(l, n, "%s must be %s, not %s", what,
		    t == YAML_MAPPING_NODE ? "a mapping" : t == YAML_SEQUENCE_NODE ? "a list" : "a scalar",
		    kind_name(n));
}

/* Keys of a mapping: scalars, unique, each in allowed (NULL-terminated). */
static int check_keys(struct ld *l, const yaml_node_t *map, const char *what,
		      const char *const allowed[])
{
	yaml_node_pair_t *p, *q;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(l, p->key);
		bool ok = false;
		char known[300] = "";
		size_t used = 0;

		if (k->type != YAML_SCALAR_NODE)
			return fail(l, k, "a key of %s must be a scalar, not %s", what, kind_name(k));
		for (q = map->data.mapping.pairs.start; q < p; q++)
			if (!strcmp(sval(node(l, q->key)), sval(k)))
				return fail(l, k, "duplicate key '%s' in %s", sval(k), what);
		if (!allowed)
			continue;
		for (size_t i = 0; allowed[i]; i++) {
			if (!strcmp(allowed[i], sval(k)))
				ok = true;
			if (used < sizeof(known))
				used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
							 i ? ", " : "", allowed[i]);
		}
		if (!ok)
			return fail(l, k, "unknown key '%s' in %s (known keys: %s)", sval(k), what,
				    known);
	}
	return 0;
}

static yaml_node_t *get(struct ld *l, const yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++)
		if (!strcmp(sval(node(l, p->key)), key))
			return node(l, p->value);
	return NULL;
}

static int need(struct ld *l, const yaml_node_t *map, const char *key, const char *what,
		yaml_node_t **out)
{
	*out = get(l, map, key);
	if (!*out)
		return fail(l, map, "%s needs '%s'", what, key);
	return 0;
}

/* A non-empty scalar, copied. */
static int str(struct ld *l, const yaml_node_t *n, const char *what, char **out)
{
	int r = want(l, n, YAML_SCALAR_NODE, what);

	if (r)
		return r;
	if (is_null(n) || !n->data.scalar.length)
		return fail(l, n, "%s must not be empty", what);
	if (strlen(sval(n)) != n->data.scalar.length)
		return fail(l, n, "%s contains a NUL byte", what);
	*out = strdup(sval(n));
	return *out ? 0 : vecs_err_set(l->err, -ENOMEM, "%s: out of memory", l->name);
}

/* Any scalar (may be empty: a parameter's empty value), copied. */
static int scalar_any(struct ld *l, const yaml_node_t *n, const char *what, char **out)
{
	int r = want(l, n, YAML_SCALAR_NODE, what);

	if (r)
		return r;
	if (strlen(sval(n)) != n->data.scalar.length)
		return fail(l, n, "%s contains a NUL byte", what);
	*out = strdup(is_null(n) ? "" : sval(n));
	return *out ? 0 : vecs_err_set(l->err, -ENOMEM, "%s: out of memory", l->name);
}

static int boolean(struct ld *l, const yaml_node_t *n, const char *what, bool *out)
{
	int r = want(l, n, YAML_SCALAR_NODE, what);

	if (r)
		return r;
	if (!strcmp(sval(n), "true"))
		*out = true;
	else if (!strcmp(sval(n), "false"))
		*out = false;
	else
		return fail(l, n, "%s must be true or false, not '%s'", what, sval(n));
	return 0;
}

/* Decimal integer in [lo, hi]; with `sizes`, a K/M/G suffix multiplies by 1024^n. */
static int number(struct ld *l, const yaml_node_t *n, const char *what, uint64_t lo,
		  uint64_t hi, bool sizes, uint64_t *out)
{
	const char *s;
	char *end;
	unsigned long long v;
	int r = want(l, n, YAML_SCALAR_NODE, what);

	if (r)
		return r;
	s = sval(n);
	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno)
		goto bad;
	if (sizes && *end) {
		int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : -1;
		if (shift < 0 || end[1] || v > (UINT64_MAX >> shift))
			goto bad;
		v <<= shift;
		end++;
	}
	if (*end)
		goto bad;
	if (v < lo || v > hi)
		return fail(l, n, "%s must be between %llu and %llu, not %s", what,
			    (unsigned long long)lo, (unsigned long long)hi, s);
	*out = v;
	return 0;
bad:
	return fail(l, n, "%s must be a whole number%s, not '%s'", what,
		    sizes ? " (suffix K, M or G allowed)" : "", s);
}

static bool name_ok(const char *s, const char *extra)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr(extra, *p)))
			return false;
	return true;
}

/* --- scenario ----------------------------------------------------------------------- */

static const char *const scenario_keys[] = { "id", "title", "matrix_row", "note", "expected",
					     "storage", "profiles", "needs", "invariants", "steps",
					     NULL };
static const char *const needs_keys[] = { "hosts", "pools", "guest", NULL };
static const char *const api_step_keys[] = { "id", "call", "params", "async", "timeout",
					     "bind", "expect", "operation", "invariants",
					     "skip_invariants", NULL };
static const char *const cp_step_keys[] = { "id", "checkpoint", "label", "volume", "vm",
					    "offset", "size", "present", "invariants",
					    "skip_invariants", NULL };
static const char *const any_step_keys[] = { "id", "call", "checkpoint", "params", "async",
					     "timeout", "bind", "expect", "operation", "label",
					     "volume", "vm", "offset", "size", "present",
					     "invariants", "skip_invariants", NULL };
static const char *const expect_keys[] = { "success", "refused", NULL };
static const char *const refused_keys[] = { "errorcode", "errortext", NULL };
static const char *const inv_arg_keys[] = { "volume", NULL };

static int invariant_name(struct ld *l, const yaml_node_t *n, int *out)
{
	int r = want(l, n, YAML_SCALAR_NODE, "an invariant");

	if (r)
		return r;
	*out = vecs_invariant_from_name(sval(n));
	if (*out < 0) {
		char known[400] = "";
		size_t used = 0;
		for (int i = 0; i < VECS_INV__COUNT && used < sizeof(known); i++)
			used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
						 i ? ", " : "", invariant_names[i]);
		return fail(l, n, "unknown invariant '%s' (known: %s)", sval(n), known);
	}
	return 0;
}

static int invariant_mask(struct ld *l, const yaml_node_t *seq, const char *what,
			  uint32_t *mask)
{
	int r = want(l, seq, YAML_SEQUENCE_NODE, what);

	if (r)
		return r;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++) {
		int inv;
		if ((r = invariant_name(l, node(l, *i), &inv)))
			return r;
		if (*mask & (1u << inv))
			return fail(l, node(l, *i), "invariant '%s' is listed twice in %s",
				    invariant_names[inv], what);
		*mask |= 1u << inv;
	}
	return 0;
}

static int load_step_invariants(struct ld *l, const yaml_node_t *seq, struct vecs_step *st)
{
	int r = want(l, seq, YAML_SEQUENCE_NODE, "a step's invariants");
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);

	if (r)
		return r;
	st->invariants = calloc(n ? n : 1, sizeof(*st->invariants));
	if (!st->invariants)
		return vecs_err_set(l->err, -ENOMEM, "%s: out of memory", l->name);
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++) {
		yaml_node_t *it = node(l, *i), *name = it, *args = NULL, *v;
		struct vecs_inv_ref *ref = &st->invariants[st->n_invariants];
		int inv;

		if (it->type == YAML_MAPPING_NODE) {
			if (it->data.mapping.pairs.top - it->data.mapping.pairs.start != 1)
				return fail(l, it, "an invariant with arguments is a mapping of one "
					    "name to its arguments ({passphrase_new: {volume: ...}})");
			name = node(l, it->data.mapping.pairs.start->key);
			args = node(l, it->data.mapping.pairs.start->value);
		}
		if ((r = invariant_name(l, name, &inv)))
			return r;
		ref->inv = (enum vecs_invariant)inv;
		ref->pos = pos_of(name);
		st->n_invariants++;
		if (!args)
			continue;
		if ((r = want(l, args, YAML_MAPPING_NODE, "an invariant's arguments")) ||
		    (r = check_keys(l, args, "an invariant's arguments", inv_arg_keys)))
			return r;
		if ((v = get(l, args, "volume"))) {
			if ((r = str(l, v, "an invariant's volume", &ref->volume)))
				return r;
			ref->pos = pos_of(v);
		}
	}
	return 0;
}

static int load_expect(struct ld *l, const yaml_node_t *n, struct vecs_step *st)
{
	yaml_node_t *k, *v, *x;
	uint64_t code;
	int r;

	st->expect_pos = pos_of(n);
	if (n->type == YAML_SCALAR_NODE) {
		if (strcmp(sval(n), "success"))
			return fail(l, n, "expect must be 'success', {success: {FIELD: VALUE}} or "
				    "{refused: {errorcode: N, errortext: TEXT}}, not '%s'", sval(n));
		return 0;
	}
	if ((r = want(l, n, YAML_MAPPING_NODE, "expect")) ||
	    (r = check_keys(l, n, "expect", expect_keys)))
		return r;
	if (n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
		return fail(l, n, "expect holds exactly one of success or refused");
	k = node(l, n->data.mapping.pairs.start->key);
	v = node(l, n->data.mapping.pairs.start->value);
	if (!strcmp(sval(k), "success")) {
		size_t cnt;
		if (is_null(v))
			return 0;
		if ((r = want(l, v, YAML_MAPPING_NODE, "expect.success (response fields)")) ||
		    (r = check_keys(l, v, "expect.success", NULL)))
			return r;
		cnt = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
		st->fields = calloc(cnt ? cnt : 1, sizeof(*st->fields));
		if (!st->fields)
			return vecs_err_set(l->err, -ENOMEM, "%s: out of memory", l->name);
		for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
		     p++) {
			struct vecs_kv *f = &st->fields[st->n_fields];
			yaml_node_t *fk = node(l, p->key), *fv = node(l, p->value);
			if (!name_ok(sval(fk), "_.[]"))
				return fail(l, fk, "'%s' is not a response field path (a.b[0].c, "
					    "lower case)", sval(fk));
			if ((r = str(l, fk, "a field path", &f->name)) ||
			    (r = scalar_any(l, fv, "an expected field value", &f->value)))
				return r;
			f->pos = pos_of(fv);
			st->n_fields++;
		}
		return 0;
	}
	st->expect_refused = true;
	if ((r = want(l, v, YAML_MAPPING_NODE, "expect.refused")) ||
	    (r = check_keys(l, v, "expect.refused", refused_keys)) ||
	    (r = need(l, v, "errorcode", "expect.refused", &x)) ||
	    (r = number(l, x, "errorcode", 400, 599, false, &code)))
		return r;
	st->errorcode = (int)code;
	if ((r = need(l, v, "errortext", "expect.refused", &x)) ||
	    (r = str(l, x, "errortext", &st->errortext)))
		return r;
	return 0;
}

static int load_params(struct ld *l, const yaml_node_t *n, struct vecs_step *st)
{
	size_t cnt;
	int r;

	if ((r = want(l, n, YAML_MAPPING_NODE, "params")) ||
	    (r = check_keys(l, n, "params", NULL)))
		return r;
	cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	st->params = calloc(cnt ? cnt : 1, sizeof(*st->params));
	if (!st->params)
		return vecs_err_set(l->err, -ENOMEM, "%s: out of memory", l->name);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
		struct vecs_kv *kv = &st->params[st->n_params];
		const char *s = sval(k);
		bool ok = *s != 0;
		for (; *s; s++)
			ok = ok && (isalnum((unsigned char)*s) || strchr("_.[]", *s));
		if (!ok)
			return fail(l, k, "'%s' is not an API parameter name", sval(k));
		if (v->type != YAML_SCALAR_NODE)
			return fail(l, v, "parameter '%s' must be a scalar, not %s", sval(k),
				    kind_name(v));
		if ((r = str(l, k, "a parameter name", &kv->name)) ||
		    (r = scalar_any(l, v, "a parameter value", &kv->value)))
			return r;
		kv->pos = pos_of(v);
		st->n_params++;
	}
	return 0;
}

static bool bind_defined(const struct vecs_scenario *sc, size_t upto, const char *name)
{
	for (size_t i = 0; i < upto; i++)
		for (size_t b = 0; b < sc->steps[i].n_binds; b++)
			if (!strcmp(sc->steps[i].binds[b].name, name))
				return true;
	return false;
}

static int load_binds(struct ld *l, const yaml_node_t *n, struct vecs_scenario *sc,
		      struct vecs_step *st)
{
	size_t cnt;
	int r;

	if ((r = want(l, n, YAML_MAPPING_NODE, "bind")) || (r = check_keys(l, n, "bind", NULL)))
		return r;
	cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	st->binds = calloc(cnt ? cnt : 1, sizeof(*st->binds));
	if (!st->binds)
		return vecs_err_set(l->err, -ENOMEM, "%s: out of memory", l->name);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
		struct vecs_bind *b = &st->binds[st->n_binds];
		const char *s = sval(k);
		if (!name_ok(s, "_") || isdigit((unsigned char)s[0]))
			return fail(l, k, "bound name '%s' must be lower-case letters, digits "
				    "and _, starting with a letter", s);
		if (!strcmp(s, "steps") || !strcmp(s, "cell") || !strcmp(s, "env"))
			return fail(l, k, "'%s' is reserved and cannot be bound", s);
		if (bind_defined(sc, (size_t)(st - sc->steps), s))
			return fail(l, k, "name '%s' is already bound by an earlier step", s);
		if ((r = str(l, k, "a bound name", &b->name)) ||
		    (r = str(l, v, "a response path", &b->path)))
			return r;
		if (!name_ok(b->path, "_.[]"))
			return fail(l, v, "'%s' is not a response path (a.b[0].c, lower case)",
				    b->path);
		b->pos = pos_of(v);
		st->n_binds++;
	}
	return 0;
}

static const struct vecs_step *find_label(const struct vecs_scenario *sc, size_t upto,
					  enum vecs_checkpoint cp, const char *label)
{
	for (size_t i = 0; i < upto; i++)
		if (sc->steps[i].kind == VECS_STEP_CHECKPOINT && sc->steps[i].checkpoint == cp &&
		    !strcmp(sc->steps[i].label, label))
			return &sc->steps[i];
	return NULL;
}

/* The write_canary or guest_report (the guest's own write) of a label. */
static const struct vecs_step *find_canary(const struct vecs_scenario *sc, size_t upto,
					   const char *label)
{
	const struct vecs_step *w = find_label(sc, upto, VECS_CP_WRITE_CANARY, label);

	return w ? w : find_label(sc, upto, VECS_CP_GUEST_REPORT, label);
}

static int load_checkpoint(struct ld *l, const yaml_node_t *n, struct vecs_scenario *sc,
			   struct vecs_step *st)
{
	yaml_node_t *v, *cpn = get(l, n, "checkpoint");
	size_t idx = (size_t)(st - sc->steps);
	uint64_t x;
	int r, cp = -1;

	if ((r = check_keys(l, n, "a checkpoint step", cp_step_keys)) ||
	    (r = want(l, cpn, YAML_SCALAR_NODE, "checkpoint")))
		return r;
	for (int i = 0; i < (int)(sizeof(checkpoint_names) / sizeof(checkpoint_names[0])); i++)
		if (!strcmp(sval(cpn), checkpoint_names[i]))
			cp = i;
	if (cp < 0)
		return fail(l, cpn, "unknown checkpoint '%s' (known: write_canary, verify_canary, "
			    "snapshot_state, verify_unchanged, guest_report)", sval(cpn));
	st->kind = VECS_STEP_CHECKPOINT;
	st->checkpoint = (enum vecs_checkpoint)cp;
	st->size = 1 << 20;
	st->present = true;
	if ((r = need(l, n, "label", "a checkpoint", &v)) || (r = str(l, v, "label", &st->label)))
		return r;
	if (!name_ok(st->label, "-_"))
		return fail(l, v, "label '%s' must be lower-case letters, digits, - and _",
			    st->label);
	switch (st->checkpoint) {
	case VECS_CP_WRITE_CANARY:
	case VECS_CP_GUEST_REPORT:
		/* a guest_report is the guest's write_canary: one label space */
		if (find_canary(sc, idx, st->label))
			return fail(l, v, "label '%s' is already used by an earlier write_canary or "
				    "guest_report", st->label);
		break;
	case VECS_CP_SNAPSHOT_STATE:
		if (find_label(sc, idx, st->checkpoint, st->label))
			return fail(l, v, "label '%s' is already used by an earlier %s", st->label,
				    checkpoint_names[cp]);
		break;
	case VECS_CP_VERIFY_CANARY:
		if (!find_canary(sc, idx, st->label))
			return fail(l, v, "no earlier write_canary has label '%s' (nor a "
				    "guest_report)", st->label);
		break;
	case VECS_CP_VERIFY_UNCHANGED:
		if (!find_label(sc, idx, VECS_CP_SNAPSHOT_STATE, st->label))
			return fail(l, v, "no earlier snapshot_state has label '%s'", st->label);
		break;
	}
	bool canary = st->checkpoint == VECS_CP_WRITE_CANARY || st->checkpoint == VECS_CP_VERIFY_CANARY ||
		      st->checkpoint == VECS_CP_GUEST_REPORT;
	static const char *const canary_only[] = { "volume", "vm", "offset", "size", NULL };
	for (size_t i = 0; canary_only[i]; i++)
		if (!canary && (v = get(l, n, canary_only[i])))
			return fail(l, v, "'%s' belongs to write_canary, verify_canary and "
				    "guest_report, not %s",
				    canary_only[i], checkpoint_names[cp]);
	if (canary) {
		if ((r = need(l, n, "volume", "a canary checkpoint", &v)) ||
		    (r = str(l, v, "volume", &st->volume)))
			return r;
		if ((v = get(l, n, "vm")) && (r = str(l, v, "vm", &st->vm)))
			return r;
		if (!v && st->checkpoint == VECS_CP_GUEST_REPORT)
			return fail(l, n, "a guest_report needs 'vm' (whose serial log it reads)");
		if ((v = get(l, n, "offset"))) {
			if ((r = number(l, v, "offset", 0, 1ull << 40, true, &x)))
				return r;
			if (x % 512)
				return fail(l, v, "offset must be a multiple of 512");
			st->offset = x;
		}
		if ((v = get(l, n, "size"))) {
			if ((r = number(l, v, "size", 32, 1ull << 30, true, &x)))
				return r;
			st->size = x;
		}
	}
	if ((v = get(l, n, "present"))) {
		if (st->checkpoint != VECS_CP_VERIFY_CANARY)
			return fail(l, v, "'present' belongs to verify_canary");
		if ((r = boolean(l, v, "present", &st->present)))
			return r;
	}
	if (st->checkpoint == VECS_CP_VERIFY_CANARY) {
		/* the same bytes, read where they were written */
		const struct vecs_step *w = find_canary(sc, idx, st->label);
		if (get(l, n, "offset") && st->offset != w->offset)
			return fail(l, get(l, n, "offset"), "offset differs from write_canary "
				    "'%s' (leave it out: it is taken from there)", st->label);
		if (get(l, n, "size") && st->size != w->size)
			return fail(l, get(l, n, "size"), "size differs from write_canary '%s' "
				    "(leave it out: it is taken from there)", st->label);
		st->offset = w->offset;
		st->size = w->size;
	}
	return 0;
}

static int load_api_step(struct ld *l, const yaml_node_t *n, struct vecs_scenario *sc,
			 struct vecs_step *st)
{
	yaml_node_t *v;
	uint64_t x;
	int r;

	st->kind = VECS_STEP_API;
	if ((r = check_keys(l, n, "an API step", api_step_keys)) ||
	    (r = str(l, get(l, n, "call"), "call", &st->call)))
		return r;
	for (const char *s = st->call; *s; s++)
		if (!isalpha((unsigned char)*s))
			return fail(l, get(l, n, "call"), "'%s' is not a CloudStack API command "
				    "name", st->call);
	if ((v = get(l, n, "params")) && !is_null(v) && (r = load_params(l, v, st)))
		return r;
	if ((v = get(l, n, "async")) && (r = boolean(l, v, "async", &st->async)))
		return r;
	if ((v = get(l, n, "timeout"))) {
		if ((r = number(l, v, "timeout (seconds)", 1, 86400, false, &x)))
			return r;
		st->timeout_s = (unsigned)x;
	}
	if ((v = get(l, n, "operation")) && (r = boolean(l, v, "operation", &st->operation)))
		return r;
	st->expect_pos = st->pos;
	if ((v = get(l, n, "expect")) && (r = load_expect(l, v, st)))
		return r;
	if ((v = get(l, n, "bind")) && (r = load_binds(l, v, sc, st)))
		return r;
	return 0;
}

static int check_template(struct ld *l, const struct vecs_scenario *sc, size_t step,
			  const char *tmpl, struct vecs_pos pos)
{
	struct vecs_err e = { 0 };
	char *out = NULL;
	int r = vecs_template_expand_symbolic(sc, step, NULL, tmpl, &out, &e);

	free(out);
	if (r)
		return vecs_err_set(l->err, r, "%s:%d:%d: %s", l->name, pos.line, pos.col, e.msg);
	return 0;
}

/* References in step i, and in the binds it makes, resolve from its position. */
static int check_step_refs(struct ld *l, const struct vecs_scenario *sc, size_t i)
{
	const struct vecs_step *st = &sc->steps[i];
	int r;

	for (size_t k = 0; k < st->n_params; k++)
		if ((r = check_template(l, sc, i, st->params[k].value, st->params[k].pos)))
			return r;
	for (size_t k = 0; k < st->n_fields; k++)
		if ((r = check_template(l, sc, i, st->fields[k].value, st->fields[k].pos)))
			return r;
	if (st->errortext && (r = check_template(l, sc, i, st->errortext, st->expect_pos)))
		return r;
	if (st->volume && (r = check_template(l, sc, i, st->volume, st->pos)))
		return r;
	if (st->vm && (r = check_template(l, sc, i, st->vm, st->pos)))
		return r;
	for (size_t k = 0; k < st->n_invariants; k++)
		if (st->invariants[k].volume &&
		    (r = check_template(l, sc, i + 1, st->invariants[k].volume, st->invariants[k].pos)))
			return r;
	return 0;
}

static int load_steps(struct ld *l, const yaml_node_t *seq, struct vecs_scenario *sc)
{
	size_t cnt = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	int r;

	if (!cnt)
		return fail(l, seq, "steps must not be empty");
	sc->steps = calloc(cnt, sizeof(*sc->steps));
	if (!sc->steps)
		return vecs_err_set(l->err, -ENOMEM, "%s: out of memory", l->name);
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *n = node(l, seq->data.sequence.items.start[i]), *v;
		struct vecs_step *st = &sc->steps[i];
		bool api, cp;

		sc->n_steps = i + 1;
		st->pos = pos_of(n);
		if ((r = want(l, n, YAML_MAPPING_NODE, "a step")))
			return r;
		if ((r = need(l, n, "id", "a step", &v)) || (r = str(l, v, "a step id", &st->id)))
			return r;
		if (!name_ok(st->id, "-_") || !isalnum((unsigned char)st->id[0]))
			return fail(l, v, "step id '%s' must be lower-case letters, digits, - and _",
				    st->id);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(sc->steps[k].id, st->id))
				return fail(l, v, "step id '%s' is already used by step %zu", st->id,
					    k + 1);
		api = get(l, n, "call") != NULL;
		cp = get(l, n, "checkpoint") != NULL;
		if (!api && !cp && (r = check_keys(l, n, "a step", any_step_keys)))
			return r; /* a misspelt call or checkpoint is reported as such */
		if (api == cp)
			return fail(l, n, "step '%s' needs exactly one of 'call' (an API call) or "
				    "'checkpoint'", st->id);
		r = api ? load_api_step(l, n, sc, st) : load_checkpoint(l, n, sc, st);
		if (r)
			return r;
		if ((v = get(l, n, "invariants")) && (r = load_step_invariants(l, v, st)))
			return r;
		if ((v = get(l, n, "skip_invariants")) &&
		    (r = invariant_mask(l, v, "skip_invariants", &st->skip_invariants)))
			return r;
	}
	/* references once every step is known, so a forward one says "not run yet" */
	for (size_t i = 0; i < cnt; i++)
		if ((r = check_step_refs(l, sc, i)))
			return r;
	return 0;
}

/* What makes the file a test of its row: see scenarios/README.md, "Rules". */
static int check_rules(struct ld *l, const yaml_node_t *root, struct vecs_scenario *sc)
{
	yaml_node_t *steps = get(l, root, "steps");
	size_t first = SIZE_MAX, last = 0;

	for (size_t i = 0; i < sc->n_steps; i++) {
		const struct vecs_step *st = &sc->steps[i];
		if (!st->operation)
			continue;
		if (first == SIZE_MAX)
			first = i;
		last = i;
		if (sc->expected == VECS_EXPECT_REFUSED && !st->expect_refused)
			return vecs_err_set(l->err, -EINVAL, "%s:%d:%d: operation step '%s' must "
					    "expect refused: the scenario is expected: refused",
					    l->name, st->pos.line, st->pos.col, st->id);
		if (sc->expected == VECS_EXPECT_SUPPORTED && st->expect_refused)
			return vecs_err_set(l->err, -EINVAL, "%s:%d:%d: operation step '%s' must "
					    "expect success: the scenario is expected: supported",
					    l->name, st->pos.line, st->pos.col, st->id);
	}
	if (first == SIZE_MAX)
		return fail(l, steps, "no step is marked 'operation: true' (the call the "
			    "scenario is about)");
	bool before = false, after = false;
	for (size_t i = 0; i < sc->n_steps; i++) {
		const struct vecs_step *st = &sc->steps[i];
		if (st->kind != VECS_STEP_CHECKPOINT)
			continue;
		if (sc->expected == VECS_EXPECT_REFUSED) {
			if (i < first && st->checkpoint == VECS_CP_SNAPSHOT_STATE)
				before = true;
			if (i > last && st->checkpoint == VECS_CP_VERIFY_UNCHANGED &&
			    find_label(sc, first, VECS_CP_SNAPSHOT_STATE, st->label))
				after = true;
		} else {
			if (i < first && (st->checkpoint == VECS_CP_WRITE_CANARY ||
					  st->checkpoint == VECS_CP_GUEST_REPORT))
				before = true;
			if (i > last && st->checkpoint == VECS_CP_VERIFY_CANARY && st->present &&
			    find_canary(sc, first, st->label))
				after = true;
		}
	}
	if (sc->expected == VECS_EXPECT_REFUSED && !(before && after))
		return fail(l, steps, "a refused scenario needs a snapshot_state before its "
			    "operation and a verify_unchanged of it after (nothing changed)");
	if (sc->expected == VECS_EXPECT_SUPPORTED && !(before && after))
		return fail(l, steps, "a supported scenario needs a write_canary before its "
			    "operation and a verify_canary of it after (data kept; a guest_report "
			    "counts as a write_canary)");
	return 0;
}

static int load_scenario(struct ld *l, const yaml_node_t *root, struct vecs_scenario *sc)
{
	yaml_node_t *v;
	uint64_t x;
	int r;

	if ((r = want(l, root, YAML_MAPPING_NODE, "a scenario")) ||
	    (r = check_keys(l, root, "a scenario", scenario_keys)))
		return r;
	if ((r = need(l, root, "id", "a scenario", &v)) || (r = str(l, v, "id", &sc->id)))
		return r;
	if (!name_ok(sc->id, "-") || !isalnum((unsigned char)sc->id[0]))
		return fail(l, v, "id '%s' must be lower-case letters, digits and -", sc->id);
	if ((r = need(l, root, "title", "a scenario", &v)) || (r = str(l, v, "title", &sc->title)))
		return r;
	if ((v = get(l, root, "note")) && (r = str(l, v, "note", &sc->note)))
		return r;
	if ((r = need(l, root, "expected", "a scenario", &v)) ||
	    (r = want(l, v, YAML_SCALAR_NODE, "expected")))
		return r;
	if (!strcmp(sval(v), "supported"))
		sc->expected = VECS_EXPECT_SUPPORTED;
	else if (!strcmp(sval(v), "refused"))
		sc->expected = VECS_EXPECT_REFUSED;
	else
		return fail(l, v, "expected must be supported or refused, not '%s'", sval(v));
	if ((v = get(l, root, "matrix_row"))) {
		const struct vecs_matrix_row *row;
		if ((r = str(l, v, "matrix_row", &sc->matrix_row)))
			return r;
		row = vecs_matrix_find_row(sc->matrix_row);
		if (!row)
			return fail(l, v, "'%s' is not an operation of the seed's support matrix "
				    "(copy its text exactly)", sc->matrix_row);
		if (row->supported != (sc->expected == VECS_EXPECT_SUPPORTED))
			return fail(l, get(l, root, "expected"), "expected: %s contradicts the "
				    "seed's support matrix ('%s': %s)",
				    vecs_expected_name(sc->expected), row->row,
				    row->supported ? "Yes" : "No");
	}
	if ((v = get(l, root, "storage"))) {
		if ((r = want(l, v, YAML_SEQUENCE_NODE, "storage")))
			return r;
		if (v->data.sequence.items.top == v->data.sequence.items.start)
			return fail(l, v, "storage must not be empty (leave it out for all four)");
		for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
		     i++) {
			yaml_node_t *s = node(l, *i);
			int k;
			if ((r = want(l, s, YAML_SCALAR_NODE, "a storage type")))
				return r;
			if ((k = vecs_storage_index(sval(s))) < 0)
				return fail(l, s, "unknown storage type '%s' (known: nfs, local, smp, "
					    "scaleio)", sval(s));
			if (sc->storage[k])
				return fail(l, s, "storage type '%s' is listed twice", sval(s));
			sc->storage[k] = true;
		}
	} else {
		for (int k = 0; k < VECS_STORAGE_COUNT; k++)
			sc->storage[k] = true;
	}
	if ((v = get(l, root, "profiles"))) {
		size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		if ((r = want(l, v, YAML_SEQUENCE_NODE, "profiles")))
			return r;
		if (!cnt)
			return fail(l, v, "profiles must not be empty (leave it out for all)");
		sc->profiles = calloc(cnt, sizeof(char *));
		if (!sc->profiles)
			return vecs_err_set(l->err, -ENOMEM, "%s: out of memory", l->name);
		for (size_t i = 0; i < cnt; i++) {
			yaml_node_t *s = node(l, v->data.sequence.items.start[i]);
			if ((r = str(l, s, "a profile id", &sc->profiles[i])))
				return r;
			sc->n_profiles = i + 1;
		}
	}
	sc->needs.hosts = 1;
	sc->needs.pools = 1;
	if ((v = get(l, root, "needs"))) {
		yaml_node_t *x2;
		if ((r = want(l, v, YAML_MAPPING_NODE, "needs")) ||
		    (r = check_keys(l, v, "needs", needs_keys)))
			return r;
		if ((x2 = get(l, v, "hosts"))) {
			if ((r = number(l, x2, "needs.hosts", 1, 8, false, &x)))
				return r;
			sc->needs.hosts = (unsigned)x;
		}
		if ((x2 = get(l, v, "pools"))) {
			if ((r = number(l, x2, "needs.pools", 1, 4, false, &x)))
				return r;
			sc->needs.pools = (unsigned)x;
		}
		if ((x2 = get(l, v, "guest")) && (r = boolean(l, x2, "needs.guest", &sc->needs.guest)))
			return r;
	}
	if ((v = get(l, root, "invariants")) &&
	    (r = invariant_mask(l, v, "invariants", &sc->invariants)))
		return r;
	if ((r = need(l, root, "steps", "a scenario", &v)) ||
	    (r = want(l, v, YAML_SEQUENCE_NODE, "steps")) || (r = load_steps(l, v, sc)))
		return r;
	return check_rules(l, root, sc);
}

/* --- profiles ----------------------------------------------------------------------- */

static const char *const profile_keys[] = { "id", "title", "oracle_profile", "kdf", "default",
					    "luks", "passphrase", "encrypt_format", NULL };
static const char *const luks_keys[] = { "version", "cipher", "mode", "key_bytes", "hash",
					 "active_keyslots", NULL };
static const char *const passphrase_keys[] = { "random_bytes", "encoding", "length", NULL };

static int load_profile(struct ld *l, const yaml_node_t *root, struct vecs_run_profile *p)
{
	yaml_node_t *v, *m;
	uint64_t x;
	int r;

	if ((r = want(l, root, YAML_MAPPING_NODE, "a profile")) ||
	    (r = check_keys(l, root, "a profile", profile_keys)) ||
	    (r = need(l, root, "id", "a profile", &v)) || (r = str(l, v, "id", &p->id)))
		return r;
	if (!name_ok(p->id, "-.") || !isalnum((unsigned char)p->id[0]))
		return fail(l, v, "profile id '%s' must be lower-case letters, digits, - and .",
			    p->id);
	if ((r = need(l, root, "title", "a profile", &v)) || (r = str(l, v, "title", &p->title)) ||
	    (r = need(l, root, "oracle_profile", "a profile", &v)) ||
	    (r = str(l, v, "oracle_profile", &p->oracle_profile)))
		return r;
	const struct vecs_profile *op = vecs_profile_find(p->oracle_profile);
	if (!op)
		return fail(l, v, "oracle_profile '%s' is not a profile `vecs inspect` knows",
			    p->oracle_profile);
	if ((r = need(l, root, "kdf", "a profile", &v)) || (r = str(l, v, "kdf", &p->kdf)))
		return r;
	if (strcmp(p->kdf, "fast") && strcmp(p->kdf, "production"))
		return fail(l, v, "kdf must be fast or production, not '%s'", p->kdf);
	if ((v = get(l, root, "default")) && (r = boolean(l, v, "default", &p->is_default)))
		return r;
	if ((r = need(l, root, "encrypt_format", "a profile", &v)) ||
	    (r = str(l, v, "encrypt_format", &p->encrypt_format)))
		return r;
	if ((r = need(l, root, "luks", "a profile", &m)) ||
	    (r = want(l, m, YAML_MAPPING_NODE, "luks")) ||
	    (r = check_keys(l, m, "luks", luks_keys)) ||
	    (r = need(l, m, "version", "luks", &v)) ||
	    (r = number(l, v, "luks.version", 1, 1, false, &x)) ||
	    (r = need(l, m, "cipher", "luks", &v)) || (r = str(l, v, "luks.cipher", &p->cipher)) ||
	    (r = need(l, m, "mode", "luks", &v)) || (r = str(l, v, "luks.mode", &p->mode)) ||
	    (r = need(l, m, "hash", "luks", &v)) || (r = str(l, v, "luks.hash", &p->hash)) ||
	    (r = need(l, m, "key_bytes", "luks", &v)) ||
	    (r = number(l, v, "luks.key_bytes", 16, 64, false, &x)))
		return r;
	p->key_bytes = (unsigned)x;
	if ((r = need(l, m, "active_keyslots", "luks", &v)) ||
	    (r = number(l, v, "luks.active_keyslots", 1, 8, false, &x)))
		return r;
	p->active_keyslots = (unsigned)x;
	/* the profile must say what the oracle will check, or reports would disagree */
	if ((op->cipher_name && strcmp(op->cipher_name, p->cipher)) ||
	    (op->cipher_mode && strcmp(op->cipher_mode, p->mode)) ||
	    (op->hash_spec && strcmp(op->hash_spec, p->hash)) ||
	    (op->key_bytes && op->key_bytes != p->key_bytes) ||
	    (op->active_keyslots >= 0 && (unsigned)op->active_keyslots != p->active_keyslots))
		return fail(l, m, "luks settings disagree with oracle profile '%s' (%s-%s, %u-byte "
			    "key, %s, %d keyslot)", op->name, op->cipher_name ? op->cipher_name : "any",
			    op->cipher_mode ? op->cipher_mode : "any", op->key_bytes,
			    op->hash_spec ? op->hash_spec : "any", op->active_keyslots);
	if ((r = need(l, root, "passphrase", "a profile", &m)) ||
	    (r = want(l, m, YAML_MAPPING_NODE, "passphrase")) ||
	    (r = check_keys(l, m, "passphrase", passphrase_keys)) ||
	    (r = need(l, m, "random_bytes", "passphrase", &v)) ||
	    (r = number(l, v, "passphrase.random_bytes", 16, 192, false, &x)))
		return r;
	p->passphrase_bytes = (unsigned)x;
	if ((r = need(l, m, "encoding", "passphrase", &v)) ||
	    (r = want(l, v, YAML_SCALAR_NODE, "passphrase.encoding")))
		return r;
	if (strcmp(sval(v), "base64"))
		return fail(l, v, "passphrase.encoding must be base64, not '%s'", sval(v));
	if ((r = need(l, m, "length", "passphrase", &v)) ||
	    (r = number(l, v, "passphrase.length", 1, 256, false, &x)))
		return r;
	p->passphrase_length = (unsigned)x;
	if (p->passphrase_length != (p->passphrase_bytes + 2) / 3 * 4)
		return fail(l, v, "passphrase.length %u is not the base64 length of %u bytes",
			    p->passphrase_length, p->passphrase_bytes);
	return 0;
}

/* --- entry points --------------------------------------------------------------------- */

typedef int (*loader_fn)(struct ld *l, const yaml_node_t *root, void *out);

static int load_doc(const char *name, const char *buf, size_t len, loader_fn fn, void *out,
		    struct vecs_err *err)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	struct ld l = { .name = name, .err = err };
	yaml_node_t *root;
	int r;

	if (!yaml_parser_initialize(&parser))
		return vecs_err_set(err, -ENOMEM, "%s: cannot initialise the YAML parser", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &l.doc)) {
		r = vecs_err_set(err, -EINVAL, "%s:%d:%d: YAML syntax: %s%s%s", name,
				 (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1,
				 parser.problem ? parser.problem : "error",
				 parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return r;
	}
	root = yaml_document_get_root_node(&l.doc);
	if (!root) {
		r = vecs_err_set(err, -EINVAL, "%s: the file is empty", name);
		goto out;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		r = vecs_err_set(err, -EINVAL, "%s:%d:%d: YAML syntax: %s", name,
				 (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1,
				 parser.problem ? parser.problem : "error");
		goto out;
	}
	if (yaml_document_get_root_node(&extra)) {
		r = vecs_err_set(err, -EINVAL, "%s:%d:%d: a second YAML document; one per file",
				 name, (int)extra.start_mark.line + 1,
				 (int)extra.start_mark.column + 1);
		yaml_document_delete(&extra);
		goto out;
	}
	yaml_document_delete(&extra);
	r = fn(&l, root, out);
out:
	yaml_document_delete(&l.doc);
	yaml_parser_delete(&parser);
	return r;
}

static int read_file(const char *path, char **buf, size_t *len, struct vecs_err *err)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0;
	char *b;

	if (!f)
		return vecs_err_set(err, -errno, "cannot open scenario file %s: %s", path,
				    strerror(errno));
	b = malloc(cap);
	while (b) {
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		if (cap >= (1u << 22)) {
			fclose(f);
			free(b);
			return vecs_err_set(err, -EFBIG, "%s is larger than 4 MiB; not a scenario",
					    path);
		}
		char *nb = realloc(b, cap *= 2);
		if (!nb)
			free(b);
		b = nb;
	}
	if (!b || ferror(f)) {
		int e = b ? -EIO : -ENOMEM;
		fclose(f);
		free(b);
		return vecs_err_set(err, e, "cannot read %s", path);
	}
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

static int scenario_fn(struct ld *l, const yaml_node_t *root, void *out)
{
	return load_scenario(l, root, out);
}

static int profile_fn(struct ld *l, const yaml_node_t *root, void *out)
{
	return load_profile(l, root, out);
}

int vecs_scenario_load_string(const char *name, const char *yaml, struct vecs_scenario *sc,
			      struct vecs_err *err)
{
	int r;

	memset(sc, 0, sizeof(*sc));
	sc->path = strdup(name);
	r = sc->path ? load_doc(name, yaml, strlen(yaml), scenario_fn, sc, err) : -ENOMEM;
	if (r)
		vecs_scenario_free(sc);
	return r;
}

int vecs_scenario_load_file(const char *path, struct vecs_scenario *sc, struct vecs_err *err)
{
	char *buf;
	size_t len;
	int r = read_file(path, &buf, &len, err);

	if (r)
		return r;
	memset(sc, 0, sizeof(*sc));
	sc->path = strdup(path);
	r = sc->path ? load_doc(path, buf, len, scenario_fn, sc, err) : -ENOMEM;
	free(buf);
	if (r)
		vecs_scenario_free(sc);
	return r;
}

void vecs_scenario_free(struct vecs_scenario *sc)
{
	for (size_t i = 0; i < sc->n_steps; i++) {
		struct vecs_step *st = &sc->steps[i];
		for (size_t k = 0; k < st->n_params; k++) {
			free(st->params[k].name);
			free(st->params[k].value);
		}
		for (size_t k = 0; k < st->n_fields; k++) {
			free(st->fields[k].name);
			free(st->fields[k].value);
		}
		for (size_t k = 0; k < st->n_binds; k++) {
			free(st->binds[k].name);
			free(st->binds[k].path);
		}
		for (size_t k = 0; k < st->n_invariants; k++)
			free(st->invariants[k].volume);
		free(st->params);
		free(st->fields);
		free(st->binds);
		free(st->invariants);
		free(st->id);
		free(st->call);
		free(st->errortext);
		free(st->label);
		free(st->volume);
		free(st->vm);
	}
	/* a step that failed half-way may hold allocations beyond n_steps: none, since
	 * n_steps counts the step being loaded */
	free(sc->steps);
	for (size_t i = 0; i < sc->n_profiles; i++)
		free(sc->profiles[i]);
	free(sc->profiles);
	free(sc->path);
	free(sc->id);
	free(sc->title);
	free(sc->matrix_row);
	free(sc->note);
	memset(sc, 0, sizeof(*sc));
}

int vecs_run_profile_load_string(const char *name, const char *yaml, struct vecs_run_profile *p,
				 struct vecs_err *err)
{
	int r;

	memset(p, 0, sizeof(*p));
	p->path = strdup(name);
	r = p->path ? load_doc(name, yaml, strlen(yaml), profile_fn, p, err) : -ENOMEM;
	if (r)
		vecs_run_profile_free(p);
	return r;
}

int vecs_run_profile_load_file(const char *path, struct vecs_run_profile *p,
			       struct vecs_err *err)
{
	char *buf;
	size_t len;
	int r = read_file(path, &buf, &len, err);

	if (r)
		return r;
	memset(p, 0, sizeof(*p));
	p->path = strdup(path);
	r = p->path ? load_doc(path, buf, len, profile_fn, p, err) : -ENOMEM;
	free(buf);
	if (r)
		vecs_run_profile_free(p);
	return r;
}

void vecs_run_profile_free(struct vecs_run_profile *p)
{
	free(p->path);
	free(p->id);
	free(p->title);
	free(p->oracle_profile);
	free(p->kdf);
	free(p->cipher);
	free(p->mode);
	free(p->hash);
	free(p->encrypt_format);
	memset(p, 0, sizeof(*p));
}
