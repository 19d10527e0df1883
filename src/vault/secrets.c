/*
 * secrets.c: the secrets YAML (flat mapping of strings), its emitter,
 * secrets_load() and vault_read()/vault_write().
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "core/file.h"
#include "vault/vault.h"

/*
 * Plain scalars that YAML 1.1 (PyYAML, hence ansible) resolves to
 * something other than a string.  Quoted scalars are always strings.
 */
static const char *const nonstr_re[] = {
	/* null */
	"^(~|null|Null|NULL)$",
	/* bool */
	"^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|"
	    "off|Off|OFF)$",
	/* int */
	"^[-+]?0b[0-1_]+$",
	"^[-+]?0[0-7_]+$",
	"^[-+]?(0|[1-9][0-9_]*)$",
	"^[-+]?0x[0-9a-fA-F_]+$",
	"^[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+$",
	/* float */
	"^[-+]?([0-9][0-9_]*)?\\.[0-9_]*([eE][-+][0-9]+)?$",
	"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*$",
	"^[-+]?\\.(inf|Inf|INF)$",
	"^\\.(nan|NaN|NAN)$",
	/* timestamp */
	"^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$",
	"^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
	    "([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](\\.[0-9]*)?"
	    "(([ \t]*)Z|[-+][0-9][0-9]?(:[0-9][0-9])?)?$",
};

/* What a plain scalar resolves to: NULL for a string. */
static const char *
plain_type(const char *s)
{
	static const char *const names[] = { "null", "a boolean",
	    "an integer", "an integer", "an integer", "an integer",
	    "an integer", "a float", "a float", "a float", "a float",
	    "a date", "a timestamp" };
	regex_t	re;
	size_t	i;
	int	m;

	if (*s == '\0')
		return "null";
	/* Cheap filter: every pattern starts with one of these. */
	if (strchr("~nNyYtTfFoO0123456789+-.", *s) == NULL)
		return NULL;
	for (i = 0; i < sizeof(nonstr_re) / sizeof(nonstr_re[0]); i++) {
		if (regcomp(&re, nonstr_re[i], REG_EXTENDED | REG_NOSUB) != 0)
			continue;
		m = regexec(&re, s, 0, NULL, 0) == 0;
		regfree(&re);
		if (m)
			return names[i];
	}
	return NULL;
}

static int
key_ok(const char *k)
{
	const char *p;

	if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
	    *k == '_'))
		return 0;
	for (p = k + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return p - k <= 128;
}

static const char *
event_what(yaml_event_type_t t)
{
	switch (t) {
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_ALIAS_EVENT:
		return "an alias";
	default:
		return "not a scalar";
	}
}

int
secrets_parse(const char *name, const char *data, size_t len, json_t **out,
    char **cause)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	json_t		*obj = NULL;
	char		*key = NULL;
	const char	*what, *tag;
	size_t		 line;
	int		 r = VP_OK, have_ev = 0, state = 0, done = 0;

	/*
	 * state: 0 stream start, 1 document start, 2 mapping or empty
	 * document, 3 key or mapping end, 4 value, 5 document end, 6 end.
	 */
	*out = NULL;
	if (!yaml_parser_initialize(&p))
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	if ((obj = json_object()) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			r = vp_fail(cause, VP_ERR_PARSE, "%s:%zu: %s%s%s", name,
			    p.problem_mark.line + 1,
			    p.problem ? p.problem : "YAML syntax error",
			    p.context ? " " : "", p.context ? p.context : "");
			goto out;
		}
		have_ev = 1;
		line = ev.start_mark.line + 1;
		switch (state) {
		case 0:
			if (ev.type != YAML_STREAM_START_EVENT)
				goto bad;
			state = 1;
			break;
		case 1:
			if (ev.type == YAML_STREAM_END_EVENT) {
				done = 1;	/* empty file */
				break;
			}
			if (ev.type != YAML_DOCUMENT_START_EVENT)
				goto bad;
			state = 2;
			break;
		case 2:
			if (ev.type == YAML_SCALAR_EVENT &&
			    ev.data.scalar.length == 0 &&
			    ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
				state = 5;	/* empty document */
				break;
			}
			if (ev.type != YAML_MAPPING_START_EVENT) {
				r = vp_fail(cause, VP_ERR_PARSE, "%s:%zu: expected "
				    "a mapping of secret names to strings, got "
				    "%s", name, line, ev.type ==
				    YAML_SCALAR_EVENT ? "a scalar" :
				    event_what(ev.type));
				goto out;
			}
			state = 3;
			break;
		case 3:
			if (ev.type == YAML_MAPPING_END_EVENT) {
				state = 5;
				break;
			}
			if (ev.type != YAML_SCALAR_EVENT) {
				r = vp_fail(cause, VP_ERR_PARSE, "%s:%zu: a key "
				    "must be a plain name, not %s", name, line,
				    event_what(ev.type));
				goto out;
			}
			if (!key_ok((const char *)ev.data.scalar.value) ||
			    strlen((const char *)ev.data.scalar.value) !=
			    ev.data.scalar.length) {
				r = vp_fail(cause, VP_ERR_PARSE, "%s:%zu: key "
				    "'%.64s': not a valid secret name "
				    "([A-Za-z_][A-Za-z0-9_]*)", name, line,
				    (const char *)ev.data.scalar.value);
				goto out;
			}
			if (json_object_get(obj,
			    (const char *)ev.data.scalar.value) != NULL) {
				r = vp_fail(cause, VP_ERR_PARSE, "%s:%zu: key "
				    "'%s': duplicate key", name, line,
				    (const char *)ev.data.scalar.value);
				goto out;
			}
			if ((key = strdup((const char *)ev.data.scalar.value)) ==
			    NULL) {
				r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
				goto out;
			}
			state = 4;
			break;
		case 4:
			if (ev.type != YAML_SCALAR_EVENT) {
				r = vp_fail(cause, VP_ERR_PARSE, "%s:%zu: key "
				    "'%s': expected a string, got %s", name,
				    line, key, event_what(ev.type));
				goto out;
			}
			tag = (const char *)ev.data.scalar.tag;
			if (tag != NULL && strcmp(tag, "tag:yaml.org,2002:str")
			    != 0) {
				r = vp_fail(cause, VP_ERR_PARSE, "%s:%zu: key "
				    "'%s': tag '%.40s' is not supported (only "
				    "plain strings; inline !vault values are "
				    "not)", name, line, key, tag);
				goto out;
			}
			if (tag == NULL && ev.data.scalar.style ==
			    YAML_PLAIN_SCALAR_STYLE && (what = plain_type(
			    (const char *)ev.data.scalar.value)) != NULL) {
				r = vp_fail(cause, VP_ERR_PARSE, "%s:%zu: key "
				    "'%s': value is %s, not a string (quote "
				    "it, or write '' for an empty value)", name,
				    line, key, what);
				goto out;
			}
			if (memchr(ev.data.scalar.value, '\0',
			    ev.data.scalar.length) != NULL) {
				r = vp_fail(cause, VP_ERR_PARSE, "%s:%zu: key "
				    "'%s': value contains a NUL character",
				    name, line, key);
				goto out;
			}
			if (json_object_set_new(obj, key, json_stringn(
			    (const char *)ev.data.scalar.value,
			    ev.data.scalar.length)) != 0) {
				r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
				goto out;
			}
			free(key);
			key = NULL;
			state = 3;
			break;
		case 5:
			if (ev.type != YAML_DOCUMENT_END_EVENT)
				goto bad;
			state = 6;
			break;
		case 6:
			if (ev.type == YAML_STREAM_END_EVENT) {
				done = 1;
				break;
			}
			r = vp_fail(cause, VP_ERR_PARSE, "%s:%zu: more than one "
			    "YAML document", name, line);
			goto out;
		}
		yaml_event_delete(&ev);
		have_ev = 0;
	}
	*out = obj;
	obj = NULL;
	goto out;
 bad:
	r = vp_fail(cause, VP_ERR_PARSE, "%s:%zu: unexpected YAML structure",
	    name, line);
 out:
	if (have_ev)
		yaml_event_delete(&ev);
	yaml_parser_delete(&p);
	free(key);
	json_decref(obj);
	return r;
}

/* --- emitter ------------------------------------------------------------ */

static int
emit_write(void *data, unsigned char *buffer, size_t size)
{
	return vp_buf_add(data, buffer, size) == 0;
}

static int
utf8_ok(const unsigned char *s, size_t len)
{
	size_t	i = 0, n, k;
	unsigned c;

	while (i < len) {
		c = s[i];
		if (c < 0x80) {
			if (c == 0)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return 0;
		if (i + n >= len)
			return 0;	/* truncated sequence */
		for (k = 1; k <= n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		if (c == 0xe0 && s[i + 1] < 0xa0)
			return 0;	/* overlong */
		if (c == 0xed && s[i + 1] >= 0xa0)
			return 0;	/* surrogate */
		if (c == 0xf0 && s[i + 1] < 0x90)
			return 0;	/* overlong */
		if (c == 0xf4 && s[i + 1] >= 0x90)
			return 0;	/* > U+10FFFF */
		i += n + 1;
	}
	return 1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
secrets_emit(const json_t *obj, struct vp_buf *out, char **cause)
{
	yaml_emitter_t	 e;
	yaml_event_t	 ev;
	const char	**keys = NULL, *k;
	const json_t	*v;
	size_t		 n = 0, i;
	int		 r = VP_OK, ok;

	if (!json_is_object(obj))
		return vp_fail(cause, VP_ERR_INVALID, "secrets: not an object");
	if ((keys = calloc(json_object_size(obj) + 1, sizeof(*keys))) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	json_object_foreach((json_t *)obj, k, v) {
		if (!json_is_string(v)) {
			free(keys);
			return vp_fail(cause, VP_ERR_INVALID, "key '%s': value "
			    "is not a string", k);
		}
		if (!key_ok(k)) {
			free(keys);
			return vp_fail(cause, VP_ERR_INVALID, "key '%.64s': not "
			    "a valid secret name ([A-Za-z_][A-Za-z0-9_]*)", k);
		}
		if (!utf8_ok((const unsigned char *)json_string_value(v),
		    json_string_length(v))) {
			free(keys);
			return vp_fail(cause, VP_ERR_INVALID, "key '%s': value "
			    "is not valid UTF-8 text (or contains NUL)", k);
		}
		keys[n++] = k;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	/*
	 * Size the buffer once (escapes take at most 10 bytes per input
	 * byte, single quotes 2), so that no realloc leaves copies of the
	 * secrets in freed memory; the cap still applies.
	 */
	{
		size_t est = 256;

		for (i = 0; i < n; i++)
			est += strlen(keys[i]) + 8 + 2 * json_string_length(
			    json_object_get(obj, keys[i]));
		if (est > out->cap - out->len)
			est = out->cap - out->len;
		if ((r = vp_buf_grow(out, est)) != 0) {
			free(keys);
			return vp_fail(cause, r, "secrets: %s",
			    vp_strerror(r));
		}
	}
	if ((r = vp_buf_adds(out, "# vpai secrets (edit with `vpai vault "
	    "edit`; catalogue: stack/secrets.yml)\n")) != 0) {
		free(keys);
		return vp_fail(cause, r, "secrets: %s", vp_strerror(r));
	}
	if (!yaml_emitter_initialize(&e)) {
		free(keys);
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	}
	yaml_emitter_set_output(&e, emit_write, out);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	yaml_emitter_set_break(&e, YAML_LN_BREAK);

	ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
	    yaml_emitter_emit(&e, &ev);
	ok = ok && yaml_document_start_event_initialize(&ev, NULL, NULL, NULL,
	    1) && yaml_emitter_emit(&e, &ev);
	ok = ok && yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
	    n == 0 ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE) &&
	    yaml_emitter_emit(&e, &ev);
	for (i = 0; ok && i < n; i++) {
		v = json_object_get(obj, keys[i]);
		ok = yaml_scalar_event_initialize(&ev, NULL, NULL,
		    (yaml_char_t *)keys[i], (int)strlen(keys[i]), 1, 1,
		    YAML_PLAIN_SCALAR_STYLE) && yaml_emitter_emit(&e, &ev);
		ok = ok && yaml_scalar_event_initialize(&ev, NULL, NULL,
		    (yaml_char_t *)json_string_value(v),
		    (int)json_string_length(v), 1, 1,
		    YAML_SINGLE_QUOTED_SCALAR_STYLE) &&
		    yaml_emitter_emit(&e, &ev);
	}
	ok = ok && yaml_mapping_end_event_initialize(&ev) &&
	    yaml_emitter_emit(&e, &ev);
	ok = ok && yaml_document_end_event_initialize(&ev, 1) &&
	    yaml_emitter_emit(&e, &ev);
	ok = ok && yaml_stream_end_event_initialize(&ev) &&
	    yaml_emitter_emit(&e, &ev);
	ok = ok && yaml_emitter_flush(&e);
	if (!ok) {
		/* out was released by vp_buf_add if over its cap */
		r = vp_fail(cause, out->cap && out->len == 0 && e.problem ==
		    NULL ? VP_ERR_TOOBIG : VP_ERR_INVALID,
		    "cannot write secrets YAML: %s",
		    e.problem ? e.problem : "output too large");
	}
	yaml_emitter_delete(&e);
	free(keys);
	return r;
}

/* --- files -------------------------------------------------------------- */

int
vault_read(const char *path, const char *pw, size_t pwlen, json_t **out,
    char **cause)
{
	struct vp_buf	file = VP_BUF_INIT(VAULT_FILE_MAX);
	struct vp_buf	plain = VP_BUF_INIT(VAULT_PLAIN_MAX);
	int		r;

	*out = NULL;
	if ((r = vp_file_read(path, &file, cause)) != 0)
		goto out;
	if (!vault_is_vault(file.buf, file.len)) {
		r = vp_fail(cause, VP_ERR_PARSE, "'%s' is not an ansible-vault "
		    "file (no \"$ANSIBLE_VAULT;\" header)", path);
		goto out;
	}
	if ((r = vault_decrypt(path, file.buf, file.len, pw, pwlen, &plain,
	    NULL, cause)) != 0)
		goto out;
	r = secrets_parse(path, plain.buf, plain.len, out, cause);
 out:
	vp_buf_release(&file);
	vp_buf_release_secure(&plain);
	return r;
}

int
vault_write(const char *path, const json_t *secrets, const char *pw,
    size_t pwlen, char **cause)
{
	struct vp_buf	plain = VP_BUF_INIT(VAULT_PLAIN_MAX);
	struct vp_buf	enc = VP_BUF_INIT(VAULT_FILE_MAX);
	int		r;

	if ((r = secrets_emit(secrets, &plain, cause)) != 0)
		goto out;
	if ((r = vault_encrypt(plain.buf, plain.len, pw, pwlen, NULL, &enc,
	    cause)) != 0)
		goto out;
	r = vp_file_write_atomic(path, enc.buf, enc.len, 0600, (uid_t)-1,
	    (gid_t)-1, cause);
 out:
	vp_buf_release_secure(&plain);
	vp_buf_release(&enc);
	return r;
}

int
secrets_load(const char *path, const struct vault_pw *pw, int allow_plain,
    json_t **out, char **cause)
{
	struct vp_buf	 file = VP_BUF_INIT(VAULT_FILE_MAX);
	struct vp_buf	 plain = VP_BUF_INIT(VAULT_PLAIN_MAX);
	char		*pass = NULL;
	size_t		 passlen = 0;
	int		 r;

	*out = NULL;
	if ((r = vp_file_read(path, &file, cause)) != 0)
		goto out;
	if (!vault_is_vault(file.buf, file.len)) {
		if (!allow_plain) {
			r = vp_fail(cause, VP_ERR_REFUSED, "'%s' is not an "
			    "encrypted vault; plain secrets files are only "
			    "accepted as test fixtures (encrypt it with "
			    "`vpai vault encrypt`)", path);
			goto out;
		}
		r = secrets_parse(path, file.buf, file.len, out, cause);
		goto out;
	}
	if (pw == NULL) {
		struct vault_pw none = { NULL, 0 };

		r = vault_pw_get(&none, &pass, &passlen, cause);
	} else
		r = vault_pw_get(pw, &pass, &passlen, cause);
	if (r != 0)
		goto out;
	if ((r = vault_decrypt(path, file.buf, file.len, pass, passlen,
	    &plain, NULL, cause)) != 0)
		goto out;
	r = secrets_parse(path, plain.buf, plain.len, out, cause);
 out:
	vault_pw_free(pass, passlen);
	vp_buf_release_secure(&file);
	vp_buf_release_secure(&plain);
	return r;
}

int
vault_lock(const char *path, int *fdp, char **cause)
{
	struct stat	 a, b;
	char		*lockname = NULL;
	int		 fd = -1, tries, r;

	*fdp = -1;
	for (tries = 0; tries < 100; tries++) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return vp_fail(cause, errno == ENOENT ?
			    VP_ERR_NOTFOUND : VP_ERR_IO, "cannot open '%s': %s",
			    path, strerror(errno));
		if (flock(fd, LOCK_EX) != 0) {
			close(fd);
			return vp_fail(cause, VP_ERR_IO, "cannot lock '%s': %s",
			    path, strerror(errno));
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			break;
		close(fd);	/* replaced while we waited: lock the new one */
		fd = -1;
	}
	if (fd < 0)
		return vp_fail(cause, VP_ERR_IO, "cannot lock '%s': it keeps "
		    "changing", path);
	/*
	 * Every vpai writer holds this lock while it writes "<path>.lock",
	 * so one that exists now was left by a writer that died: fail
	 * before the (possibly long) decryption rather than at the end.
	 */
	if (asprintf(&lockname, "%s.lock", path) < 0) {
		close(fd);
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	}
	if (access(lockname, F_OK) == 0) {
		r = vp_fail(cause, VP_ERR_EXISTS, "cannot write '%s': '%s' "
		    "exists (another vpai running? if not, remove the stale "
		    "lock file)", path, lockname);
		free(lockname);
		close(fd);
		return r;
	}
	free(lockname);
	*fdp = fd;
	return VP_OK;
}


void
vault_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int
vault_read_plain(const char *path, const char *pw, size_t pwlen,
    struct vp_buf *plain, char **cause)
{
	struct vp_buf	file = VP_BUF_INIT(VAULT_FILE_MAX);
	int		r;

	if ((r = vp_file_read(path, &file, cause)) != 0)
		goto out;
	if (!vault_is_vault(file.buf, file.len)) {
		r = vp_fail(cause, VP_ERR_PARSE, "'%s' is not an ansible-vault "
		    "file (no \"$ANSIBLE_VAULT;\" header)", path);
		goto out;
	}
	r = vault_decrypt(path, file.buf, file.len, pw, pwlen, plain, NULL,
	    cause);
 out:
	vp_buf_release(&file);
	return r;
}

int
vault_write_plain(const char *path, const char *name, const char *plain,
    size_t len, const char *pw, size_t pwlen, char **cause)
{
	struct vp_buf	 enc = VP_BUF_INIT(VAULT_FILE_MAX);
	json_t		*check = NULL;
	int		 r;

	if ((r = secrets_parse(name, plain, len, &check, cause)) != 0)
		goto out;
	if ((r = vault_encrypt(plain, len, pw, pwlen, NULL, &enc, cause)) != 0)
		goto out;
	r = vp_file_write_atomic(path, enc.buf, enc.len, 0600, (uid_t)-1,
	    (gid_t)-1, cause);
 out:
	json_decref(check);
	vp_buf_release(&enc);
	return r;
}

char *
vault_default_path(const char *site_dir)
{
	return vp_path_join(site_dir ? site_dir : ".", "secrets.vault");
}
