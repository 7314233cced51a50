/* Shared pieces of the report writers: escaping, counts, names. */
#include <ctype.h>
#include <string.h>

#include "report/report_internal.h"

const char *vecs_cell_status_name(enum vecs_cell_status s)
{
	switch (s) {
	case VECS_CELL_PASS: return "pass";
	case VECS_CELL_FAIL: return "fail";
	default: return "skip";
	}
}

struct vecs_run_counts vecs_run_count(const struct vecs_run_results *r)
{
	struct vecs_run_counts c = { 0, 0, 0 };

	for (size_t i = 0; i < r->n_cells; i++) {
		if (r->cells[i].status == VECS_CELL_PASS)
			c.pass++;
		else if (r->cells[i].status == VECS_CELL_FAIL)
			c.fail++;
		else
			c.skip++;
	}
	return c;
}

size_t rep_utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0) {
		n = 2;
		cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3;
		cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates, beyond U+10FFFF, and the XML-forbidden U+FFFE/F */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF || cp == 0xFFFE || cp == 0xFFFF)
		return 0;
	return n;
}

void rep_xml_escape(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		size_t n;
		switch (*p) {
		case '&': fputs("&amp;", f); p++; continue;
		case '<': fputs("&lt;", f); p++; continue;
		case '>': fputs("&gt;", f); p++; continue;
		case '"': fputs("&quot;", f); p++; continue;
		case '\'': fputs("&#39;", f); p++; continue;
		case '\t': case '\n': fputc(*p++, f); continue;
		default: break;
		}
		if (*p < 0x20 || *p == 0x7F) {
			fputs("\xEF\xBF\xBD", f);
			p++;
			continue;
		}
		n = rep_utf8_len(p);
		if (!n) {
			fputs("\xEF\xBF\xBD", f);
			p++;
			continue;
		}
		fwrite(p, 1, n, f);
		p += n;
	}
}

void rep_yaml_quoted(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	fputc('"', f);
	while (*p) {
		size_t n;
		if (*p == '"' || *p == '\\') {
			fputc('\\', f);
			fputc(*p++, f);
			continue;
		}
		if (*p == '\n') {
			fputs("\\n", f);
			p++;
			continue;
		}
		if (*p < 0x20 || *p == 0x7F) {
			fprintf(f, "\\x%02x", *p++);
			continue;
		}
		n = rep_utf8_len(p);
		if (!n) {
			fputs("\\uFFFD", f);
			p++;
			continue;
		}
		fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}

void rep_href(FILE *f, const char *prefix, const char *path)
{
	const unsigned char *p = (const unsigned char *)path;

	if (path[0] == '/')
		fputs("file://", f);
	else if (prefix)
		fputs(prefix, f);
	for (; *p; p++) {
		if (isalnum(*p) || strchr("-._~/", *p))
			fputc(*p, f);
		else
			fprintf(f, "%%%02X", *p);
	}
}

void rep_seconds(FILE *f, uint64_t ms)
{
	fprintf(f, "%llu.%03llu", (unsigned long long)(ms / 1000),
		(unsigned long long)(ms % 1000));
}
