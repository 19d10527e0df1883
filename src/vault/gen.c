/*
 * gen.c: the secrets catalogue (stack/secrets.yml) and secret generation
 * with getrandom(2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "core/file.h"
#include "vault/vault-int.h"

#define CATALOGUE_MAX	(1u << 20)
#define SHAPE_MAX_N	1024

enum shape_kind { SHAPE_BASE64, SHAPE_HEX, SHAPE_SK_HEX, SHAPE_ALNUM };

static const char alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* "base64_32" -> SHAPE_BASE64, 32.  Returns 0 or -1. */
static int
shape_parse(const char *shape, enum shape_kind *kind, size_t *n)
{
	static const struct {
		const char	*prefix;
		enum shape_kind	 kind;
	} t[] = {
		{ "base64_", SHAPE_BASE64 },
		{ "sk_hex_", SHAPE_SK_HEX },
		{ "hex_", SHAPE_HEX },
		{ "alnum_", SHAPE_ALNUM },
	};
	const char	*p;
	char		*end;
	unsigned long	 v;
	size_t		 i, l;

	if (shape == NULL)
		return -1;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		l = strlen(t[i].prefix);
		if (strncmp(shape, t[i].prefix, l) != 0)
			continue;
		p = shape + l;
		if (*p < '1' || *p > '9')
			return -1;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (*end != '\0' || errno != 0 || v > SHAPE_MAX_N)
			return -1;
		*kind = t[i].kind;
		*n = v;
		return 0;
	}
	return -1;
}

int
secret_generate(const char *shape, char **out, char **cause)
{
	enum shape_kind	 kind;
	unsigned char	 raw[SHAPE_MAX_N], b;
	char		*s = NULL;
	size_t		 n, i, len, off = 0;
	int		 r = VP_OK;

	*out = NULL;
	if (shape_parse(shape, &kind, &n) != 0)
		return vp_fail(cause, VP_ERR_INVALID, "unknown secret shape "
		    "'%.40s' (base64_N, hex_N, sk_hex_N or alnum_N)",
		    shape ? shape : "");
	switch (kind) {
	case SHAPE_BASE64:
		len = 4 * ((n + 2) / 3);
		break;
	case SHAPE_HEX:
		len = 2 * n;
		break;
	case SHAPE_SK_HEX:
		len = 3 + 2 * n;
		break;
	default:
		len = n;
		break;
	}
	if ((s = malloc(len + 1)) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	if (kind == SHAPE_ALNUM) {
		/* Rejection sampling: 248 = 4 * 62, so no modulo bias. */
		while (off < n) {
			if (vault_random(&b, 1) != 0) {
				r = VP_ERR_CRYPTO;
				goto out;
			}
			if (b < 248)
				s[off++] = alnum[b % 62];
		}
		s[off] = '\0';
		b = 0;
		goto out;
	}
	if (vault_random(raw, n) != 0) {
		r = VP_ERR_CRYPTO;
		goto out;
	}
	if (kind == SHAPE_BASE64) {
		if (EVP_EncodeBlock((unsigned char *)s, raw, (int)n) !=
		    (int)len)
			r = VP_ERR_CRYPTO;
		s[len] = '\0';
		goto out;
	}
	if (kind == SHAPE_SK_HEX) {
		memcpy(s, "sk-", 3);
		off = 3;
	}
	for (i = 0; i < n; i++) {
		s[off++] = "0123456789abcdef"[raw[i] >> 4];
		s[off++] = "0123456789abcdef"[raw[i] & 15];
	}
	s[off] = '\0';
 out:
	explicit_bzero(raw, sizeof(raw));
	if (r != 0) {
		vault_pw_free(s, len + 1);
		return vp_fail(cause, r, "getrandom: %s", strerror(errno));
	}
	*out = s;
	return VP_OK;
}

static int
all_in(const char *s, size_t len, const char *set)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

int
secret_shape_ok(const char *shape, const char *v)
{
	enum shape_kind	kind;
	size_t		n, len, want, pad;

	if (v == NULL || shape_parse(shape, &kind, &n) != 0)
		return 0;
	len = strlen(v);
	switch (kind) {
	case SHAPE_BASE64:
		want = 4 * ((n + 2) / 3);
		pad = (3 - n % 3) % 3;
		return len == want && all_in(v, len - pad, b64chars) &&
		    all_in(v + len - pad, pad, "=");
	case SHAPE_HEX:
		return len == 2 * n && all_in(v, len, "0123456789abcdef");
	case SHAPE_SK_HEX:
		return len == 3 + 2 * n && strncmp(v, "sk-", 3) == 0 &&
		    all_in(v + 3, len - 3, "0123456789abcdef");
	case SHAPE_ALNUM:
		return len == n && all_in(v, len, alnum);
	}
	return 0;
}

/* --- catalogue -------------------------------------------------------- */

/* Convert a libyaml node to JSON: scalars are strings, except plain
 * true/false, which are booleans. */
static json_t *
node_json(yaml_document_t *d, yaml_node_t *node, int depth)
{
	yaml_node_pair_t	*pr;
	yaml_node_item_t	*it;
	json_t			*j, *v;
	yaml_node_t		*k;

	if (node == NULL || depth > 16)
		return NULL;
	switch (node->type) {
	case YAML_SCALAR_NODE:
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			if (strcmp((char *)node->data.scalar.value, "true") == 0)
				return json_true();
			if (strcmp((char *)node->data.scalar.value, "false") ==
			    0)
				return json_false();
		}
		return json_stringn((char *)node->data.scalar.value,
		    node->data.scalar.length);
	case YAML_SEQUENCE_NODE:
		if ((j = json_array()) == NULL)
			return NULL;
		for (it = node->data.sequence.items.start;
		    it < node->data.sequence.items.top; it++) {
			v = node_json(d, yaml_document_get_node(d, *it),
			    depth + 1);
			if (v == NULL || json_array_append_new(j, v) != 0) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	case YAML_MAPPING_NODE:
		if ((j = json_object()) == NULL)
			return NULL;
		for (pr = node->data.mapping.pairs.start;
		    pr < node->data.mapping.pairs.top; pr++) {
			k = yaml_document_get_node(d, pr->key);
			if (k == NULL || k->type != YAML_SCALAR_NODE) {
				json_decref(j);
				return NULL;
			}
			v = node_json(d, yaml_document_get_node(d, pr->value),
			    depth + 1);
			if (v == NULL || json_object_set_new(j,
			    (char *)k->data.scalar.value, v) != 0) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	default:
		return NULL;
	}
}

static int
catalogue_check(const char *path, json_t *secrets, char **cause)
{
	const char	*name, *kind, *shape;
	json_t		*e, *rot;
	enum shape_kind	 sk;
	size_t		 n;

	json_object_foreach(secrets, name, e) {
		if (!json_is_object(e))
			return vp_fail(cause, VP_ERR_PARSE, "%s: key '%s': "
			    "expected a mapping", path, name);
		kind = json_string_value(json_object_get(e, "kind"));
		if (kind == NULL || (strcmp(kind, "generated") != 0 &&
		    strcmp(kind, "external") != 0))
			return vp_fail(cause, VP_ERR_PARSE, "%s: key '%s': "
			    "kind must be 'generated' or 'external'", path,
			    name);
		shape = json_string_value(json_object_get(e, "shape"));
		if (strcmp(kind, "generated") == 0 &&
		    shape_parse(shape, &sk, &n) != 0)
			return vp_fail(cause, VP_ERR_PARSE, "%s: key '%s': "
			    "unknown shape '%.40s'", path, name,
			    shape ? shape : "");
		rot = json_object_get(e, "rotatable");
		if (rot != NULL && !json_is_boolean(rot))
			return vp_fail(cause, VP_ERR_PARSE, "%s: key '%s': "
			    "rotatable must be true or false", path, name);
		if (json_is_false(rot) &&
		    !json_is_string(json_object_get(e, "why")))
			return vp_fail(cause, VP_ERR_PARSE, "%s: key '%s': "
			    "rotatable: false needs a 'why'", path, name);
	}
	return VP_OK;
}

int
secrets_catalogue_load(const char *stack_dir, json_t **out, char **cause)
{
	struct vp_buf	 b = VP_BUF_INIT(CATALOGUE_MAX);
	yaml_parser_t	 p;
	yaml_document_t	 d;
	json_t		*root = NULL, *sec;
	char		*path = NULL;
	int		 r, have_doc = 0, have_p = 0;

	*out = NULL;
	if ((path = vp_path_join(stack_dir, "secrets.yml")) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	if ((r = vp_file_read(path, &b, cause)) != 0)
		goto out;
	if (!yaml_parser_initialize(&p)) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	have_p = 1;
	yaml_parser_set_input_string(&p, (unsigned char *)b.buf, b.len);
	if (!yaml_parser_load(&p, &d)) {
		r = vp_fail(cause, VP_ERR_PARSE, "%s:%zu: %s", path,
		    p.problem_mark.line + 1, p.problem ? p.problem :
		    "YAML syntax error");
		goto out;
	}
	have_doc = 1;
	root = node_json(&d, yaml_document_get_root_node(&d), 0);
	sec = json_object_get(root, "secrets");
	if (!json_is_object(sec)) {
		r = vp_fail(cause, VP_ERR_PARSE, "%s: no 'secrets' mapping",
		    path);
		goto out;
	}
	if ((r = catalogue_check(path, sec, cause)) != 0)
		goto out;
	*out = json_incref(sec);
 out:
	if (have_doc)
		yaml_document_delete(&d);
	if (have_p)
		yaml_parser_delete(&p);
	json_decref(root);
	vp_buf_release(&b);
	free(path);
	return r;
}

const json_t *
secrets_catalogue_get(const json_t *cat, const char *name)
{
	return json_object_get(cat, name);
}

int
secrets_catalogue_pinned(const json_t *cat, const char *name)
{
	return json_is_false(json_object_get(json_object_get(cat, name),
	    "rotatable"));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
secrets_generate_missing(const json_t *cat, json_t *secrets,
    struct vp_argv *added, char **cause)
{
	const char	**names = NULL, *name, *kind;
	json_t		 *e, *v;
	char		 *val = NULL;
	size_t		  n = 0, i;
	int		  r = VP_OK;

	if (!json_is_object(cat) || !json_is_object(secrets))
		return vp_fail(cause, VP_ERR_INVALID, "secrets: not an object");
	if ((names = calloc(json_object_size(cat) + 1, sizeof(*names))) ==
	    NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	json_object_foreach((json_t *)cat, name, e)
		names[n++] = name;
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		e = json_object_get(cat, names[i]);
		kind = json_string_value(json_object_get(e, "kind"));
		if (kind == NULL || strcmp(kind, "generated") != 0)
			continue;
		if ((v = json_object_get(secrets, names[i])) != NULL) {
			if (!json_is_string(v)) {
				r = vp_fail(cause, VP_ERR_INVALID, "key '%s': "
				    "value is not a string", names[i]);
				goto out;
			}
			if (json_string_length(v) > 0 ||
			    secrets_catalogue_pinned(cat, names[i]))
				continue;
		}
		if ((r = secret_generate(json_string_value(json_object_get(e,
		    "shape")), &val, cause)) != 0)
			goto out;
		if (json_object_set_new(secrets, names[i], json_string(val)) !=
		    0 || (added != NULL && vp_argv_push(added, names[i]) != 0)) {
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
		vault_pw_free(val, strlen(val));
		val = NULL;
	}
 out:
	if (val != NULL)
		vault_pw_free(val, strlen(val));
	free(names);
	return r;
}
