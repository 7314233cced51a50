/* Helpers shared by the report writers; not part of the report API. */
#ifndef VECS_REPORT_INTERNAL_H
#define VECS_REPORT_INTERNAL_H

#include <stdio.h>

#include "report/report.h"

/* XML/HTML text and attribute values: & < > " ' escaped; control characters other
 * than tab and newline, and bytes that are not valid UTF-8, become U+FFFD. */
void rep_xml_escape(FILE *f, const char *s);
/* YAML double-quoted scalar (TAP diagnostics), quotes included. */
void rep_yaml_quoted(FILE *f, const char *s);
/* An href: relative paths as they are, percent-encoded; absolute ones as file:// URLs. */
void rep_href(FILE *f, const char *prefix, const char *path);
/* Seconds with millisecond precision: "1.234". */
void rep_seconds(FILE *f, uint64_t ms);
/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not valid. */
size_t rep_utf8_len(const unsigned char *s);

#endif
