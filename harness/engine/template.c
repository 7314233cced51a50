/* `${...}` references and refusal-text patterns (engine/template.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/expand.h"
#include "engine/scenario.h"
#include "engine/template.h"

const char *const vecs_cell_keys[] = { "id", "slug", "operation", "storage", "profile", "kdf",
				       "seed", NULL };
const char *const vecs_env_keys[] = { "zoneid", "templateid", "hypervisor", "storagetype",
				      "storagetag", "poolid", "otherpoolid", "hostid",
				      "otherhostid", "ostypeid", "guestkernel", "guestinitrd",
				      "guestimage", NULL };

static bool ref_char(char c)
{
	return islower((unsigned char)c) || isdigit((unsigned char)c) || c == '_' || c == '-' ||
	       c == '.' || c == '[' || c == ']';
}

int vecs_template_expand(const char *tmpl, vecs_template_resolver fn, void *ctx, char **out,
			 struct vecs_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *p = tmpl;
	int r = 0;

	*out = NULL;
	if (!f)
		return vecs_err_set(err, -ENOMEM, "out of memory expanding a template");
	while (*p) {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			fputs("${", f);
			p += 3;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			fputc(*p++, f);
			continue;
		}
		const char *start = p + 2, *end = strchr(start, '}');
		if (!end) {
			r = vecs_err_set(err, -EINVAL, "unterminated reference '%.40s' (no '}')", p);
			break;
		}
		size_t n = (size_t)(end - start);
		char ref[256];
		if (!n) {
			r = vecs_err_set(err, -EINVAL, "empty reference '${}'");
			break;
		}
		if (n >= sizeof(ref)) {
			r = vecs_err_set(err, -EINVAL, "reference '${%.40s...' is too long", start);
			break;
		}
		memcpy(ref, start, n);
		ref[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (!ref_char(ref[i])) {
				r = vecs_err_set(err, -EINVAL, "malformed reference '${%s}': names "
						 "are lower-case letters, digits, _ - . and [N]", ref);
				break;
			}
		if (r || (r = fn(ctx, ref, f, err)))
			break;
		p = end + 1;
	}
	if (fclose(f) && !r)
		r = vecs_err_set(err, -ENOMEM, "out of memory expanding a template");
	if (r) {
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}

/* A response path: name(.name|[N])* with lower-case names. */
static bool path_ok(const char *p)
{
	bool need_name = true;

	if (!*p)
		return false;
	while (*p) {
		if (need_name) {
			if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_'))
				return false;
			while (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_')
				p++;
			need_name = false;
		} else if (*p == '.') {
			p++;
			need_name = true;
		} else if (*p == '[') {
			p++;
			if (!isdigit((unsigned char)*p))
				return false;
			while (isdigit((unsigned char)*p))
				p++;
			if (*p++ != ']')
				return false;
		} else {
			return false;
		}
	}
	return !need_name;
}

static bool in_list(const char *const list[], const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

static const char *cell_value(const struct vecs_cell *c, const char *key)
{
	if (!strcmp(key, "id")) return c->id;
	if (!strcmp(key, "slug")) return c->slug;
	if (!strcmp(key, "operation")) return c->scenario->id;
	if (!strcmp(key, "storage")) return c->storage;
	if (!strcmp(key, "profile")) return c->profile->id;
	if (!strcmp(key, "kdf")) return c->profile->kdf;
	if (!strcmp(key, "seed")) return c->seed;
	return NULL;
}

int vecs_ref_resolve_symbolic(const struct vecs_scenario *sc, size_t step,
			      const struct vecs_cell *cell, const char *ref, FILE *out,
			      struct vecs_err *err)
{
	size_t hl = strcspn(ref, ".[");
	const char *rest = ref + hl;

	if (hl == 4 && !strncmp(ref, "cell", 4)) {
		if (*rest != '.' || !in_list(vecs_cell_keys, rest + 1))
			return vecs_err_set(err, -ENOENT, "undefined reference '${%s}': cell has "
					    "id, slug, operation, storage, profile, kdf, seed", ref);
		if (cell)
			fputs(cell_value(cell, rest + 1), out);
		else
			fprintf(out, "${%s}", ref);
		return 0;
	}
	if (hl == 3 && !strncmp(ref, "env", 3)) {
		if (*rest != '.' || !in_list(vecs_env_keys, rest + 1))
			return vecs_err_set(err, -ENOENT, "undefined reference '${%s}': env has "
					    "zoneid, templateid, hypervisor, storagetype, "
					    "storagetag, poolid, otherpoolid, hostid, otherhostid, "
					    "ostypeid, guestkernel, guestinitrd, guestimage", ref);
		fprintf(out, "${%s}", ref);
		return 0;
	}
	if (hl == 5 && !strncmp(ref, "steps", 5)) {
		const char *id = rest + 1;
		size_t il = strcspn(id, ".[");
		if (*rest != '.' || !il)
			return vecs_err_set(err, -ENOENT, "undefined reference '${%s}': write "
					    "${steps.STEP.PATH}", ref);
		for (size_t i = 0; i < sc->n_steps; i++) {
			const struct vecs_step *st = &sc->steps[i];
			if (strlen(st->id) != il || strncmp(st->id, id, il))
				continue;
			if (i >= step)
				return vecs_err_set(err, -ENOENT, "undefined reference '${%s}': step "
						    "'%s' has not run yet at this point", ref, st->id);
			if (st->kind != VECS_STEP_API)
				return vecs_err_set(err, -ENOENT, "undefined reference '${%s}': "
						    "step '%s' is a checkpoint and has no response",
						    ref, st->id);
			if (id[il] && (id[il] != '.' || !path_ok(id + il + 1)))
				return vecs_err_set(err, -EINVAL, "malformed reference '${%s}': the "
						    "path after the step id is a.b[0].c", ref);
			fprintf(out, "${%s}", ref);
			return 0;
		}
		return vecs_err_set(err, -ENOENT, "undefined reference '${%s}': no step '%.*s' "
				    "in scenario %s", ref, (int)il, id, sc->id);
	}
	for (size_t i = 0; i < sc->n_steps; i++) {
		const struct vecs_step *st = &sc->steps[i];
		for (size_t b = 0; b < st->n_binds; b++) {
			if (strlen(st->binds[b].name) != hl || strncmp(st->binds[b].name, ref, hl))
				continue;
			if (i >= step)
				return vecs_err_set(err, -ENOENT, "undefined reference '${%s}': '%s' "
						    "is bound by step '%s', which has not run yet "
						    "at this point", ref, st->binds[b].name, st->id);
			char full[300];
			snprintf(full, sizeof(full), "%s%s", st->binds[b].path, rest);
			if (!path_ok(full))
				return vecs_err_set(err, -EINVAL, "malformed reference '${%s}': the "
						    "path after a bound name is .a.b[0]", ref);
			fprintf(out, "${steps.%s.%s%s}", st->id, st->binds[b].path, rest);
			return 0;
		}
	}
	return vecs_err_set(err, -ENOENT, "undefined reference '${%s}': '%.*s' is not cell, "
			    "env, steps or a name bound by an earlier step", ref, (int)hl, ref);
}

struct sym_ctx {
	const struct vecs_scenario *sc;
	size_t step;
	const struct vecs_cell *cell;
};

static int sym_resolve(void *ctx, const char *ref, FILE *out, struct vecs_err *err)
{
	struct sym_ctx *c = ctx;

	return vecs_ref_resolve_symbolic(c->sc, c->step, c->cell, ref, out, err);
}

int vecs_template_expand_symbolic(const struct vecs_scenario *sc, size_t step,
				  const struct vecs_cell *cell, const char *tmpl, char **out,
				  struct vecs_err *err)
{
	struct sym_ctx c = { sc, step, cell };

	return vecs_template_expand(tmpl, sym_resolve, &c, out, err);
}

/* --- refusal texts ------------------------------------------------------------------ */

static size_t uuid_len(const char *t)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	size_t n = 0;

	for (int g = 0; g < 5; g++) {
		if (g) {
			if (t[n] != '-')
				return 0;
			n++;
		}
		for (int i = 0; i < groups[g]; i++, n++)
			if (!isxdigit((unsigned char)t[n]))
				return 0;
	}
	return n;
}

/* Length of a `<word>` placeholder at p (0 when p is not one). */
static size_t placeholder_len(const char *p)
{
	size_t n = 1;

	if (*p != '<' || !islower((unsigned char)p[1]))
		return 0;
	while (islower((unsigned char)p[n]) || p[n] == '_')
		n++;
	return p[n] == '>' ? n + 1 : 0;
}

bool vecs_errortext_match(const char *pattern, const char *text)
{
	size_t ph = placeholder_len(pattern);

	if (!*pattern)
		return !*text;
	if (!ph)
		return *text == *pattern && vecs_errortext_match(pattern + 1, text + 1);
	if (ph == 6 && !strncmp(pattern, "<uuid>", 6)) {
		size_t n = uuid_len(text);
		return n && vecs_errortext_match(pattern + 6, text + n);
	}
	/* any other placeholder: one or more characters, shortest first */
	for (size_t n = 1; text[n - 1] && text[n - 1] != '\n'; n++)
		if (vecs_errortext_match(pattern + ph, text + n))
			return true;
	return false;
}
