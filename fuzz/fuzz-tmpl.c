/*
 * fuzz-tmpl.c: libFuzzer harness for the template engine.
 *
 * The input is a template; it is parsed and, when it parses, evaluated
 * against a fixed set of variables (strings, numbers, bools, null, lists,
 * nested dicts) with a 1 MiB output cap.  Errors are fine; crashes,
 * sanitizer reports, leaks and a success that leaves a cause set are not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "tmpl/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char vars_json[] =
    "{\"name\": \"vpai\", \"n\": 3, \"f\": 1.5, \"neg\": -7, \"t\": true, "
    "\"no\": false, \"nil\": null, \"empty\": \"\", \"big\": "
    "9223372036854775807, \"small\": -9223372036854775808, "
    "\"list\": [\"a\", \"b\", \"c\"], \"nums\": [3, 1, 2, 0.5], "
    "\"pairs\": [[\"k\", 1], [\"j\", 2]], \"nested\": [[[[1]]]], "
    "\"map\": {\"b\": 2, \"a\": 1, \"C\": 3, \"\": 0}, "
    "\"site\": {\"domain\": \"example.com\", \"admin\": {\"email\": "
    "\"ops@example.com\"}, \"tags\": [], \"ports\": {\"http\": 80}}, "
    "\"text\": \"line1\\nline2\\n\\n'quoted' \\\"dq\\\" $x \\u00e9\"}";

static json_t *
vars(void)
{
	static json_t	*v;
	json_error_t	 je;

	if (v == NULL && (v = json_loads(vars_json, 0, &je)) == NULL) {
		fprintf(stderr, "fuzz-tmpl: vars: %s\n", je.text);
		abort();
	}
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct vp_buf	 out = VP_BUF_INIT(1u << 20);
	struct tmpl	*t = NULL;
	char		*cause = NULL;
	int		 r;

	r = tmpl_parse("fuzz", (const char *)data, len, &t, &cause);
	if (r == VP_OK) {
		if (cause != NULL)
			abort();	/* success must not leave a cause */
		if (t == NULL)
			abort();
		r = tmpl_eval(t, vars(), &out, &cause);
	} else if (t != NULL)
		abort();		/* failure must not return a template */
	/* Every error names the template (or is out of memory). */
	if (r != VP_OK && (cause == NULL || (strncmp(cause, "fuzz:", 5) != 0 &&
	    strcmp(cause, "out of memory") != 0))) {
		fprintf(stderr, "fuzz-tmpl: bad cause: %s\n",
		    cause ? cause : "(null)");
		abort();
	}
	if (r == VP_OK && out.buf[out.len] != '\0')
		abort();
	free(cause);
	tmpl_free(t);
	vp_buf_release(&out);
	return 0;
}
