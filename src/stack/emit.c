/*
 * emit.c: jansson -> YAML through libyaml's emitter, deterministically.
 *
 * Mapping keys are sorted (bytewise).  A string is emitted plain only
 * when a YAML 1.1 or 1.2 reader (PyYAML, Go yaml, libyaml) can read it
 * back only as that same string; every other string is double-quoted.
 * Numbers and booleans are plain, null is "null".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdint.h>

#include <yaml.h>

#include "core/err.h"
#include "stack/stack-int.h"

struct em {
	yaml_emitter_t	 e;
	struct vp_buf	*out;
	int		 err;
};

static int
em_write(void *data, unsigned char *buf, size_t len)
{
	struct em *m = data;

	if (m->err != 0)
		return 0;
	if ((m->err = vp_buf_add(m->out, buf, len)) != 0)
		return 0;
	return 1;
}

/* Words YAML 1.1 reads as booleans or null, in any case. */
static const char *const yaml11_words[] = {
	"y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
};

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Digits then letters ("10s", "512M", "1G"): never a YAML number when the
 * last character is a letter other than e/E and it is not 0x/0o/0b.
 */
static int
safe_unit(const char *s)
{
	size_t		 n = strlen(s);
	const char	*p;

	if (s[0] == '0' && strchr("xXoObB", s[1]) != NULL && s[1] != '\0')
		return 0;
	if (!is_alpha(s[n - 1]) || s[n - 1] == 'e' || s[n - 1] == 'E')
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!is_alpha(*p) && !is_digit(*p) && *p != '.')
			return 0;
	return 1;
}

static int
safe_plain(const char *s)
{
	const char	*p;
	size_t		 i;

	if (*s == '\0')
		return 0;
	for (i = 0; i < sizeof(yaml11_words) / sizeof(yaml11_words[0]); i++)
		if (strcasecmp(s, yaml11_words[i]) == 0)
			return 0;
	if (is_digit(*s))
		return safe_unit(s);
	/* First character: a letter, '/' or '_'; never a sign or digit. */
	if (!is_alpha(*s) && *s != '/' && *s != '_')
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (is_alpha(*p) || is_digit(*p))
			continue;
		/* ':' only inside a word (": " or a final ':' is a key). */
		if (*p == ':' && p[1] != '\0' && p[1] != ' ')
			continue;
		if (strchr("_-./=@+", *p) == NULL)
			return 0;
	}
	return 1;
}

static int
em_event(struct em *m, yaml_event_t *ev)
{
	if (!yaml_emitter_emit(&m->e, ev))
		return m->err != 0 ? m->err : VP_ERR_INVALID;
	return VP_OK;
}

static int
em_scalar(struct em *m, const char *s, size_t len, yaml_scalar_style_t st)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL,
	    (yaml_char_t *)(uintptr_t)s, (int)len, 1, 1, st))
		return VP_ERR_NOMEM;
	return em_event(m, &ev);
}

static int
em_string(struct em *m, const char *s, size_t len)
{
	return em_scalar(m, s, len, strlen(s) == len && safe_plain(s) ?
	    YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
em_node(struct em *m, const json_t *v, int depth)
{
	yaml_event_t	  ev;
	const char	**keys = NULL, *k;
	json_t		 *x;
	char		  num[64];
	size_t		  i, n;
	int		  r = VP_OK;

	if (depth > 64)
		return VP_ERR_INVALID;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		n = json_object_size(v);
		if (n > 0 && (keys = calloc(n, sizeof(*keys))) == NULL)
			return VP_ERR_NOMEM;
		i = 0;
		json_object_foreach((json_t *)(uintptr_t)v, k, x)
			keys[i++] = k;
		if (n > 0)
			qsort(keys, n, sizeof(*keys), cmp_str);
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
		    n == 0 ? YAML_FLOW_MAPPING_STYLE :
		    YAML_BLOCK_MAPPING_STYLE)) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		if ((r = em_event(m, &ev)) != 0)
			goto out;
		for (i = 0; i < n; i++) {
			if ((r = em_string(m, keys[i], strlen(keys[i]))) != 0 ||
			    (r = em_node(m, json_object_get(v, keys[i]),
			    depth + 1)) != 0)
				goto out;
		}
		if (!yaml_mapping_end_event_initialize(&ev)) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		r = em_event(m, &ev);
		break;
	case JSON_ARRAY:
		n = json_array_size(v);
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		    n == 0 ? YAML_FLOW_SEQUENCE_STYLE :
		    YAML_BLOCK_SEQUENCE_STYLE))
			return VP_ERR_NOMEM;
		if ((r = em_event(m, &ev)) != 0)
			return r;
		for (i = 0; i < n; i++)
			if ((r = em_node(m, json_array_get(v, i),
			    depth + 1)) != 0)
				return r;
		if (!yaml_sequence_end_event_initialize(&ev))
			return VP_ERR_NOMEM;
		r = em_event(m, &ev);
		break;
	case JSON_STRING:
		r = em_string(m, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		r = em_scalar(m, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		{
			char	alt[64];
			int	p;

			/* Shortest representation that reads back exactly. */
			for (p = 1; p <= 17; p++) {
				snprintf(alt, sizeof(alt), "%.*g", p,
				    json_real_value(v));
				if (strtod(alt, NULL) == json_real_value(v))
					break;
			}
			if (p <= 17)
				snprintf(num, sizeof(num), "%s", alt);
			if (strpbrk(num, ".eEn") == NULL &&
			    strlen(num) + 3 <= sizeof(num))
				memcpy(num + strlen(num), ".0", 3);
		}
		r = em_scalar(m, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
		break;
	case JSON_TRUE:
		r = em_scalar(m, "true", 4, YAML_PLAIN_SCALAR_STYLE);
		break;
	case JSON_FALSE:
		r = em_scalar(m, "false", 5, YAML_PLAIN_SCALAR_STYLE);
		break;
	case JSON_NULL:
		r = em_scalar(m, "null", 4, YAML_PLAIN_SCALAR_STYLE);
		break;
	}
 out:
	free(keys);
	return r;
}

int
stack_yaml_emit(const json_t *doc, struct vp_buf *out, char **cause)
{
	struct em	 m;
	yaml_event_t	 ev;
	int		 r;

	memset(&m, 0, sizeof(m));
	m.out = out;
	if (!yaml_emitter_initialize(&m.e))
		return VP_ERR_NOMEM;
	yaml_emitter_set_output(&m.e, em_write, &m);
	yaml_emitter_set_unicode(&m.e, 1);
	yaml_emitter_set_width(&m.e, -1);
	yaml_emitter_set_indent(&m.e, 2);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    (r = em_event(&m, &ev)) != 0)
		goto fail;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    (r = em_event(&m, &ev)) != 0)
		goto fail;
	if ((r = em_node(&m, doc, 0)) != 0)
		goto fail;
	if (!yaml_document_end_event_initialize(&ev, 1) ||
	    (r = em_event(&m, &ev)) != 0)
		goto fail;
	if (!yaml_stream_end_event_initialize(&ev) ||
	    (r = em_event(&m, &ev)) != 0)
		goto fail;
	if (!yaml_emitter_flush(&m.e))
		goto fail;
	yaml_emitter_delete(&m.e);
	return VP_OK;
 fail:
	r = m.err != 0 ? m.err : vp_fail(cause, VP_ERR_INVALID,
	    "cannot emit YAML: %s",
	    m.e.problem ? m.e.problem : "emitter error");
	yaml_emitter_delete(&m.e);
	return r;
}
