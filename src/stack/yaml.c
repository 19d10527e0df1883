/*
 * yaml.c: YAML text -> jansson, remembering the line of every value.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/err.h"
#include "stack/stack-int.h"

struct yl {
	const char	*name;
	yaml_parser_t	 p;
	json_t		*lines;
	char		**cause;
};

static int	yl_node(struct yl *, yaml_event_t *, const char *, int,
		    json_t **);

static int
yl_next(struct yl *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->p, ev))
		return vp_fail(y->cause, VP_ERR_PARSE, "%s:%zu:%zu: %s",
		    y->name, y->p.problem_mark.line + 1,
		    y->p.problem_mark.column + 1,
		    y->p.problem ? y->p.problem : "malformed YAML");
	return VP_OK;
}

static void
yl_line(struct yl *y, const char *path, const yaml_event_t *ev)
{
	if (y->lines != NULL && *path != '\0')
		json_object_set_new(y->lines, path,
		    json_integer((json_int_t)ev->start_mark.line + 1));
}

static int
is_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (*s < '0' || *s > '9')
		return 0;
	while (*s >= '0' && *s <= '9')
		s++;
	return *s == '\0';
}

static int
is_float(const char *s)
{
	int digits = 0, dot = 0;

	if (*s == '-' || *s == '+')
		s++;
	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (*s == '.' && !dot)
			dot = 1;
		else if ((*s == 'e' || *s == 'E') && digits) {
			s++;
			if (*s == '-' || *s == '+')
				s++;
			return is_int(s) && dot;
		} else
			return 0;
	}
	return digits > 0 && dot;
}

static json_t *
yl_scalar(const yaml_event_t *ev)
{
	const char	*s = (const char *)ev->data.scalar.value;
	size_t		 len = ev->data.scalar.length;
	long long	 ll;
	char		*end;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(s, len);
	if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
		return json_null();
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
	    strcmp(s, "TRUE") == 0)
		return json_true();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
	    strcmp(s, "FALSE") == 0)
		return json_false();
	if (is_int(s)) {
		errno = 0;
		ll = strtoll(s, &end, 10);
		if (errno == 0 && *end == '\0')
			return json_integer(ll);
	}
	if (is_float(s))
		return json_real(strtod(s, NULL));
	return json_stringn(s, len);
}

static int
yl_mapping(struct yl *y, const char *path, int depth, json_t **out)
{
	yaml_event_t	 ev;
	json_t		*obj, *v;
	char		*key = NULL, *sub = NULL;
	int		 r;

	if ((obj = json_object()) == NULL)
		return VP_ERR_NOMEM;
	for (;;) {
		if ((r = yl_next(y, &ev)) != 0)
			goto out;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			r = vp_fail(y->cause, VP_ERR_PARSE,
			    "%s:%zu:%zu: mapping keys must be scalars", y->name,
			    ev.start_mark.line + 1, ev.start_mark.column + 1);
			yaml_event_delete(&ev);
			goto out;
		}
		free(key);
		key = strndup((const char *)ev.data.scalar.value,
		    ev.data.scalar.length);
		if (key == NULL) {
			yaml_event_delete(&ev);
			r = VP_ERR_NOMEM;
			goto out;
		}
		free(sub);
		if (asprintf(&sub, "%s%s%s", path, *path ? "." : "", key) < 0) {
			sub = NULL;
			yaml_event_delete(&ev);
			r = VP_ERR_NOMEM;
			goto out;
		}
		if (json_object_get(obj, key) != NULL) {
			r = vp_fail(y->cause, VP_ERR_PARSE,
			    "%s:%zu: key '%s': duplicate key", y->name,
			    ev.start_mark.line + 1, sub);
			yaml_event_delete(&ev);
			goto out;
		}
		yl_line(y, sub, &ev);
		yaml_event_delete(&ev);
		if ((r = yl_next(y, &ev)) != 0)
			goto out;
		r = yl_node(y, &ev, sub, depth + 1, &v);
		yaml_event_delete(&ev);
		if (r != 0)
			goto out;
		if (json_object_set_new(obj, key, v) != 0) {
			r = VP_ERR_NOMEM;
			goto out;
		}
	}
	*out = obj;
	obj = NULL;
	r = VP_OK;
 out:
	free(key);
	free(sub);
	json_decref(obj);
	return r;
}

static int
yl_sequence(struct yl *y, const char *path, int depth, json_t **out)
{
	yaml_event_t	 ev;
	json_t		*arr, *v;
	char		*sub = NULL;
	int		 r;

	if ((arr = json_array()) == NULL)
		return VP_ERR_NOMEM;
	for (;;) {
		if ((r = yl_next(y, &ev)) != 0)
			goto out;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		free(sub);
		if (asprintf(&sub, "%s[%zu]", path, json_array_size(arr)) < 0) {
			sub = NULL;
			yaml_event_delete(&ev);
			r = VP_ERR_NOMEM;
			goto out;
		}
		yl_line(y, sub, &ev);
		r = yl_node(y, &ev, sub, depth + 1, &v);
		yaml_event_delete(&ev);
		if (r != 0)
			goto out;
		if (json_array_append_new(arr, v) != 0) {
			r = VP_ERR_NOMEM;
			goto out;
		}
	}
	*out = arr;
	arr = NULL;
	r = VP_OK;
 out:
	free(sub);
	json_decref(arr);
	return r;
}

/* ev is the node's first event, owned by the caller. */
static int
yl_node(struct yl *y, yaml_event_t *ev, const char *path, int depth,
    json_t **out)
{
	if (depth > STACK_YAML_DEPTH)
		return vp_fail(y->cause, VP_ERR_PARSE,
		    "%s:%zu:%zu: nesting deeper than %d levels", y->name,
		    ev->start_mark.line + 1, ev->start_mark.column + 1,
		    STACK_YAML_DEPTH);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.tag != NULL &&
		    strcmp((const char *)ev->data.scalar.tag, "!") != 0)
			goto tag;
		if ((*out = yl_scalar(ev)) == NULL)
			return VP_ERR_NOMEM;
		return VP_OK;
	case YAML_MAPPING_START_EVENT:
		if (ev->data.mapping_start.tag != NULL)
			goto tag;
		return yl_mapping(y, path, depth, out);
	case YAML_SEQUENCE_START_EVENT:
		if (ev->data.sequence_start.tag != NULL)
			goto tag;
		return yl_sequence(y, path, depth, out);
	case YAML_ALIAS_EVENT:
		return vp_fail(y->cause, VP_ERR_PARSE,
		    "%s:%zu:%zu: aliases are not supported", y->name,
		    ev->start_mark.line + 1, ev->start_mark.column + 1);
	default:
		return vp_fail(y->cause, VP_ERR_PARSE,
		    "%s:%zu:%zu: unexpected YAML event", y->name,
		    ev->start_mark.line + 1, ev->start_mark.column + 1);
	}
 tag:
	return vp_fail(y->cause, VP_ERR_PARSE,
	    "%s:%zu:%zu: YAML tags are not supported", y->name,
	    ev->start_mark.line + 1, ev->start_mark.column + 1);
}

int
stack_yaml_load(const char *name, const char *data, size_t len,
    json_t **doc, json_t **lines, char **cause)
{
	struct yl	 y;
	yaml_event_t	 ev;
	json_t		*root = NULL;
	int		 r, have = 0;

	*doc = NULL;
	if (lines != NULL)
		*lines = NULL;
	memset(&y, 0, sizeof(y));
	y.name = name;
	y.cause = cause;
	if (len > STACK_FILE_MAX)
		return vp_fail(cause, VP_ERR_TOOBIG, "%s: larger than %u bytes",
		    name, STACK_FILE_MAX);
	if (lines != NULL && (y.lines = json_object()) == NULL)
		return VP_ERR_NOMEM;
	if (!yaml_parser_initialize(&y.p)) {
		json_decref(y.lines);
		return VP_ERR_NOMEM;
	}
	yaml_parser_set_input_string(&y.p, (const unsigned char *)data, len);
	for (;;) {
		if ((r = yl_next(&y, &ev)) != 0)
			goto out;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_STREAM_START_EVENT ||
		    ev.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT) {
			if (have) {
				r = vp_fail(cause, VP_ERR_PARSE,
				    "%s:%zu: only one YAML document is allowed",
				    name, ev.start_mark.line + 1);
				yaml_event_delete(&ev);
				goto out;
			}
			have = 1;
			yaml_event_delete(&ev);
			continue;
		}
		r = yl_node(&y, &ev, "", 0, &root);
		yaml_event_delete(&ev);
		if (r != 0)
			goto out;
	}
	if (root == NULL)
		root = json_null();
	*doc = root;
	root = NULL;
	if (lines != NULL) {
		*lines = y.lines;
		y.lines = NULL;
	}
	r = VP_OK;
 out:
	yaml_parser_delete(&y.p);
	json_decref(root);
	json_decref(y.lines);
	return r;
}

int
stack_line(const json_t *lines, const char *path)
{
	return (int)json_integer_value(json_object_get(lines, path));
}
