/* Control API of the LD_PRELOAD I/O fault shim (build/lib/libvecs-iofault.so).
 *
 * A process started with LD_PRELOAD=libvecs-iofault.so and VECS_IOFAULT_RULES=FILE maps
 * FILE (layout in iofault_layout.h) and checks every intercepted I/O operation against
 * the rules in it. These functions write that file (arm, disarm), read back how often
 * each rule fired, and translate rules from and to the text syntax of README.md:
 *
 *   path=*.qcow2 op=write off=0-2097152 nth=1 count=1 action=torn:512
 *   path=*.img op=flush action=errno:EIO
 *   comm=qemu-img op=write nth=7 action=kill-before
 *
 * Every firing also appends one line to FILE.log (pid, comm, op, path, offset, action).
 * All functions return 0 or a negative errno and fill err with one sentence. */
#ifndef VECS_FAULTS_IOFAULT_H
#define VECS_FAULTS_IOFAULT_H

#include <stddef.h>
#include <stdint.h>

#include "faults/iofault_layout.h"
#include "util/err.h"

/* Parse rule text: one rule per line, `key=value` words separated by blanks, `#`
 * starts a comment, blank lines are skipped. Keys: path, comm, op (comma list of
 * open,read,write,flush,truncate,allocate,connect,send or `all`), off (LO-HI, LO-,
 * with optional k/M/G suffixes), nth, count, action (errno:NAME|NUMBER,
 * short:FRACTION|PERCENT%, torn:BYTES, delay:MS, kill-before, kill-after). op and
 * action are required. A value may be double-quoted ("a b", \" and \\ escapes).
 * On error err names line:column. *n is the number of rules stored. */
int vecs_iofault_parse(const char *text, struct vecs_iofault_rule *rules, size_t cap,
		       size_t *n, struct vecs_err *err);

/* Write the rules into rules_path (created 0600 if absent, rewritten in place if it
 * exists, so processes that mapped it see the change), zero the counters, bump the
 * generation. At most VECS_IOFAULT_MAX_RULES rules. Appends "# armed" to the log. */
int vecs_iofault_arm(const char *rules_path, const struct vecs_iofault_rule *rules, size_t n,
		     struct vecs_err *err);

/* No rule active any more (nrules 0, new generation); counters kept for
 * vecs_iofault_hits; the file stays so that mappings stay valid. */
int vecs_iofault_disarm(const char *rules_path, struct vecs_err *err);

/* Per-rule firings since the last arm: hits[i] for rule i, *n = rules of that arm. */
int vecs_iofault_hits(const char *rules_path, uint64_t *hits, size_t cap, size_t *n,
		      struct vecs_err *err);

/* One rule back to text (the syntax above, canonical form; parse(format(r)) == r).
 * Returns the length it needs (like snprintf) or a negative errno. */
int vecs_iofault_format(const struct vecs_iofault_rule *r, char *buf, size_t len);

/* Names for reports: "write", "errno" ...; NULL for an unknown value. */
const char *vecs_iofault_op_name(enum vecs_iofault_op op);
const char *vecs_iofault_action_name(enum vecs_iofault_action a);

/* The shim's log next to the rules file: "<rules_path>.log" into buf. */
int vecs_iofault_log_path(const char *rules_path, char *buf, size_t len);

#endif
