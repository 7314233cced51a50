/* Findings: what an oracle says about an artifact. One finding = a stable id (part of
 * the `--json` contract, e.g. "luks.keyslot_overlap"), a severity and one sentence. */
#ifndef VECS_ORACLE_FINDINGS_H
#define VECS_ORACLE_FINDINGS_H

#include <stdbool.h>

enum finding_severity {
	SEV_INFO,
	SEV_WARNING,
	SEV_ERROR, /* makes the verdict "fail" */
};

struct finding {
	const char *id;
	enum finding_severity severity;
	char message[240];
};

#define FINDINGS_MAX 64

struct findings {
	int n;
	int dropped; /* findings past FINDINGS_MAX, counted not stored */
	struct finding items[FINDINGS_MAX];
};

void findings_add(struct findings *f, enum finding_severity sev, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool findings_has(const struct findings *f, const char *id);
bool findings_has_error(const struct findings *f);
const char *finding_severity_name(enum finding_severity sev);

#endif
