#include "oracle/findings.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void findings_add(struct findings *f, enum finding_severity sev, const char *id, const char *fmt, ...)
{
	struct finding *it;
	va_list ap;

	if (f->n >= FINDINGS_MAX) {
		f->dropped++;
		return;
	}
	it = &f->items[f->n++];
	it->id = id;
	it->severity = sev;
	va_start(ap, fmt);
	vsnprintf(it->message, sizeof(it->message), fmt, ap);
	va_end(ap);
}

bool findings_has(const struct findings *f, const char *id)
{
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->items[i].id, id))
			return true;
	return false;
}

bool findings_has_error(const struct findings *f)
{
	for (int i = 0; i < f->n; i++)
		if (f->items[i].severity == SEV_ERROR)
			return true;
	return f->dropped > 0;
}

const char *finding_severity_name(enum finding_severity sev)
{
	switch (sev) {
	case SEV_INFO: return "info";
	case SEV_WARNING: return "warning";
	case SEV_ERROR: return "error";
	}
	return "error";
}
