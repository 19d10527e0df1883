/*
 * ydoc.c: one YAML document through libyaml's document API, with
 * file:line:col syntax errors and alias detection.
 */
#include <stdlib.h>
#include <string.h>

#include "site/site-int.h"

int
ydoc_load(struct ydoc *d, const char *name, const char *data, size_t len,
    char **cause)
{
	yaml_parser_t	 p;
	yaml_document_t	 extra;
	int		 r = VP_OK, ok;

	memset(&d->doc, 0, sizeof(d->doc));
	d->loaded = 0;
	d->seen = NULL;
	d->nnodes = 0;
	if (len > SITE_MAX_INPUT)
		return vp_fail(cause, VP_ERR_TOOBIG,
		    "%s: file larger than 1 MiB", name);
	if (memchr(data, '\0', len) != NULL)
		return vp_fail(cause, VP_ERR_PARSE,
		    "%s: file holds a NUL byte (not a text file)", name);
	if (!yaml_parser_initialize(&p))
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	ok = yaml_parser_load(&p, &d->doc);
	if (ok) {
		d->loaded = 1;
		if (yaml_document_get_root_node(&d->doc) != NULL) {
			/* A second document is an error, even if empty. */
			if (!yaml_parser_load(&p, &extra))
				ok = 0;
			else {
				if (yaml_document_get_root_node(&extra) !=
				    NULL) {
					r = vp_fail(cause, VP_ERR_PARSE,
					    "%s:%zu: only one YAML document "
					    "is allowed", name,
					    extra.start_mark.line + 1);
				}
				yaml_document_delete(&extra);
			}
		}
	}
	if (!ok) {
		if (p.error == YAML_MEMORY_ERROR)
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		else if (p.context != NULL)
			r = vp_fail(cause, VP_ERR_PARSE,
			    "%s:%zu:%zu: invalid YAML: %s (%s at line %zu)",
			    name, p.problem_mark.line + 1,
			    p.problem_mark.column + 1,
			    p.problem ? p.problem : "syntax error",
			    p.context, p.context_mark.line + 1);
		else
			r = vp_fail(cause, VP_ERR_PARSE,
			    "%s:%zu:%zu: invalid YAML: %s", name,
			    p.problem_mark.line + 1,
			    p.problem_mark.column + 1,
			    p.problem ? p.problem : "syntax error");
	}
	yaml_parser_delete(&p);
	if (r == VP_OK && d->loaded) {
		d->nnodes = (size_t)(d->doc.nodes.top - d->doc.nodes.start);
		if ((d->seen = calloc(d->nnodes + 1, 1)) == NULL)
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	}
	if (r != VP_OK)
		ydoc_release(d);
	return r;
}

void
ydoc_release(struct ydoc *d)
{
	if (d == NULL)
		return;
	if (d->loaded)
		yaml_document_delete(&d->doc);
	d->loaded = 0;
	free(d->seen);
	d->seen = NULL;
	d->nnodes = 0;
}

yaml_node_t *
ydoc_root(struct ydoc *d)
{
	if (!d->loaded || d->nnodes == 0)
		return NULL;
	return ydoc_take(d, 1);
}

yaml_node_t *
ydoc_take(struct ydoc *d, int id)
{
	if (!d->loaded || id < 1 || (size_t)id > d->nnodes)
		return NULL;
	if (d->seen[id])
		return NULL;
	d->seen[id] = 1;
	return yaml_document_get_node(&d->doc, id);
}

int
ydoc_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

const char *
ydoc_scalar(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	if (strlen((const char *)n->data.scalar.value) !=
	    n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

int
ydoc_quoted(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
}

int
ydoc_is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (s = ydoc_scalar(n)) == NULL)
		return 0;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *
ydoc_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return "a scalar";
	default:
		return "nothing";
	}
}
