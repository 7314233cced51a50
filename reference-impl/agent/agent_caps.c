#include "agent/agent_caps.h"

#include <ctype.h>
#include <string.h>

/* Whether the word w occurs in [p, end) delimited by spaces or the ends. */
static bool has_word(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	while (p < end) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		const char *s = p;
		while (p < end && !isspace((unsigned char)*p))
			p++;
		if ((size_t)(p - s) == n && !memcmp(s, w, n))
			return true;
	}
	return false;
}

bool agent_caps_help_lists_luks(const char *help)
{
	const char *line = help;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *colon = memchr(line, ':', (size_t)(end - line));

		if (!strncmp(line, "Supported", 9) && colon && colon - line >= 8 &&
		    !memcmp(colon - 7, "formats", 7)) {
			if (has_word(colon + 1, end, "luks"))
				return true;
			/* continuation lines: indented, until a blank or unindented line */
			while (eol && (eol[1] == ' ' || eol[1] == '\t')) {
				line = eol + 1;
				eol = strchr(line, '\n');
				end = eol ? eol : line + strlen(line);
				if (has_word(line, end, "luks"))
					return true;
			}
			return false;
		}
		line = eol ? eol + 1 : NULL;
	}
	return false;
}
