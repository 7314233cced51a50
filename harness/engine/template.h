/* `${...}` references in scenario strings, and CloudStack error-text patterns.
 *
 * A reference names one of:
 *   ${cell.KEY}          the cell being run: id, slug, operation, storage, profile,
 *                        kdf, seed, run_id
 *   ${env.KEY}           what the target provides: zoneid, templateid, hypervisor,
 *                        storagetype, storagetag, poolid, otherpoolid, hostid, otherhostid,
 *                        ostypeid
 *   ${steps.STEP.PATH}   a field of an earlier step's response (PATH: a.b[0].c)
 *   ${NAME.PATH}         a name an earlier step bound (`bind: {vm: virtualmachine}`)
 * `$${` writes a literal `${`. */
#ifndef VECS_ENGINE_TEMPLATE_H
#define VECS_ENGINE_TEMPLATE_H

#include <stdbool.h>
#include <stdio.h>

#include "util/err.h"

struct vecs_scenario;
struct vecs_cell;

/* Write the value of ref (without ${ }) to out; -ENOENT (with err) when undefined. */
typedef int (*vecs_template_resolver)(void *ctx, const char *ref, FILE *out,
				      struct vecs_err *err);

/* Expand tmpl into a new string *out (free it). Errors: unterminated or empty ${},
 * a malformed reference, or whatever the resolver reports. */
int vecs_template_expand(const char *tmpl, vecs_template_resolver fn, void *ctx, char **out,
			 struct vecs_err *err);

extern const char *const vecs_cell_keys[];  /* NULL-terminated */
extern const char *const vecs_env_keys[];   /* NULL-terminated */

/* Resolve ref as seen from step `step` of sc (only earlier steps are visible):
 * cell.* from cell (when cell is NULL, written back as ${cell.KEY}), env.* as
 * ${env.KEY}, bound names as their canonical ${steps.STEP.PATH}. This is what the
 * loader validates with and what `vecs run --dry-run` prints. */
int vecs_ref_resolve_symbolic(const struct vecs_scenario *sc, size_t step,
			      const struct vecs_cell *cell, const char *ref, FILE *out,
			      struct vecs_err *err);
/* vecs_template_expand with vecs_ref_resolve_symbolic. */
int vecs_template_expand_symbolic(const struct vecs_scenario *sc, size_t step,
				  const struct vecs_cell *cell, const char *tmpl, char **out,
				  struct vecs_err *err);

/* Does text match a refusal pattern? The pattern is literal text except `<uuid>`
 * (a canonical 8-4-4-4-12 hex UUID) and `<word>` for any other lower-case word (one or
 * more characters, none a newline), as CLOUDSTACK.md writes its messages. */
bool vecs_errortext_match(const char *pattern, const char *text);

#endif
