/*
 * facts.c: which facts the plan needs (the query), gathering them in one
 * round trip with stack/host/facts.sh, and parsing its answer.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "host/host.h"
#include "host/internal.h"

int
vp_host_script(const char *datadir, const char *name, struct vp_buf *out,
    char **cause)
{
	char	*p;
	int	 r;

	if ((p = vp_path_join(datadir, "host")) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	{
		char *q = vp_path_join(p, name);

		free(p);
		if ((p = q) == NULL)
			return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	}
	r = vp_file_read(p, out, cause);
	free(p);
	return r;
}

/* Push "pfx" + s unless already in q. */
static int
q_add(struct vp_argv *q, const char *pfx, const char *s)
{
	size_t	i, pl = strlen(pfx);

	for (i = 0; i < q->n; i++)
		if (strncmp(q->v[i], pfx, pl) == 0 &&
		    strcmp(q->v[i] + pl, s) == 0)
			return VP_OK;
	return vp_argv_pushf(q, "%s%s", pfx, s);
}

/* Files: content requested with the sha we want ("*": always, "-": never).
 * If the same path is asked with different modes, "*" wins. */
static int
q_file(struct vp_argv *q, const char *sha, const char *path)
{
	size_t	 i;
	char	*c;

	for (i = 0; i < q->n; i++) {
		if (strncmp(q->v[i], "f:", 2) != 0 ||
		    (c = strchr(q->v[i] + 2, ':')) == NULL ||
		    strcmp(c + 1, path) != 0)
			continue;
		if (strncmp(q->v[i] + 2, sha, strlen(sha)) == 0 &&
		    q->v[i][2 + strlen(sha)] == ':')
			return VP_OK;
		free(q->v[i]);
		if (asprintf(&q->v[i], "f:*:%s", path) < 0) {
			q->v[i] = NULL;
			return VP_ERR_NOMEM;
		}
		return VP_OK;
	}
	return vp_argv_pushf(q, "f:%s:%s", sha, path);
}

int
vp_host_facts_query(const json_t *want, struct vp_argv *q, char **cause)
{
	const json_t	*v, *o;
	const char	*k, *other;
	char		 sha[65], *key = NULL, *s;
	size_t		 i;
	int		 r = VP_OK;
	json_t		*w;

	if (want == NULL)
		return VP_OK;
	/* "ntp": the facts of its expansion, and the other time daemons */
	if ((w = host_want_ntp(want, NULL, &other)) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	if (json_object_get(want, "ntp") != NULL)
		for (i = 0; host_time_daemons[i] != NULL; i++)
			if ((r = q_add(q, "p:", host_time_daemons[i])) != 0)
				goto out;
	want = w;
	json_array_foreach(json_object_get(want, "apt_repos"), i, v) {
		if ((s = NULL, asprintf(&s, "/etc/apt/keyrings/%s.asc",
		    jstr(v, "name"))) < 0) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		r = q_file(q, "*", s);
		free(s);
		if (r != 0 || (s = NULL, asprintf(&s,
		    "/etc/apt/sources.list.d/%s.sources", jstr(v, "name"))) < 0) {
			r = r ? r : VP_ERR_NOMEM;
			goto out;
		}
		r = q_file(q, "*", s);
		free(s);
		if (r != 0)
			goto out;
	}
	if ((o = json_object_get(want, "packages")) != NULL) {
		json_array_foreach(json_object_get(o, "present"), i, v)
			if ((r = q_add(q, "p:", json_string_value(v))) != 0)
				goto out;
		json_array_foreach(json_object_get(o, "absent"), i, v)
			if ((r = q_add(q, "p:", json_string_value(v))) != 0)
				goto out;
	}
	json_array_foreach(json_object_get(want, "groups"), i, v)
		if ((r = q_add(q, "g:", jstr(v, "name"))) != 0)
			goto out;
	json_array_foreach(json_object_get(want, "users"), i, v)
		if ((r = q_add(q, "u:", jstr(v, "name"))) != 0)
			goto out;
	json_array_foreach(json_object_get(want, "directories"), i, v)
		if ((r = q_file(q, "-", jstr(v, "path"))) != 0)
			goto out;
	json_array_foreach(json_object_get(want, "files"), i, v) {
		k = jstr(v, "content");
		vp_host_sha256(k, strlen(k), sha);
		if ((r = q_file(q, sha, jstr(v, "path"))) != 0)
			goto out;
	}
	json_array_foreach(json_object_get(want, "lines"), i, v)
		if ((r = q_file(q, "*", jstr(v, "path"))) != 0)
			goto out;
	if (json_object_get(want, "hosts") != NULL &&
	    (r = q_file(q, "*", host_hosts_file(want))) != 0)
		goto out;
	if ((o = json_object_get(want, "sysctl")) != NULL) {
		if ((r = q_file(q, "*", jstr(o, "file"))) != 0)
			goto out;
		json_object_foreach((json_t *)json_object_get(o, "values"), k,
		    v) {
			if ((key = strdup(k)) == NULL) {
				r = VP_ERR_NOMEM;
				goto out;
			}
			for (s = key; *s != '\0'; s++)
				if (*s == '.')
					*s = '/';
			r = q_add(q, "s:", key);
			free(key);
			key = NULL;
			if (r != 0)
				goto out;
		}
	}
	json_array_foreach(json_object_get(want, "authorized_keys"), i, v)
		if ((r = q_add(q, "k:", jstr(v, "user"))) != 0 ||
		    (r = q_add(q, "u:", jstr(v, "user"))) != 0)
			goto out;
	json_array_foreach(json_object_get(want, "services"), i, v) {
		if ((r = q_add(q, "v:", jstr(v, "name"))) != 0)
			goto out;
		if (*jstr(v, "needs") != '\0' &&
		    (r = q_add(q, "n:", jstr(v, "needs"))) != 0)
			goto out;
	}
	if (json_is_string(json_object_get(want, "locale")) &&
	    (r = q_add(q, "l:", jstr(want, "locale"))) != 0)
		goto out;
	json_array_foreach(json_object_get(want, "cron"), i, v)
		if ((r = q_add(q, "c:", jstr_or(v, "user", "root"))) != 0)
			goto out;
	/* the VPN: tailscale's state and IPv4 (headscale-node, hardening) */
	if ((json_object_get(want, "tailscale") != NULL ||
	    json_object_get(want, "vpn_ip") != NULL) &&
	    (r = q_add(q, "t:", "vpn")) != 0)
		goto out;
	if ((o = json_object_get(want, "crowdsec")) != NULL) {
		/* CS_CAPI may hold credentials: never its content */
		if (!jbool_or(o, "online", 1) &&
		    ((r = q_file(q, "-", CS_DIR)) != 0 ||
		    (r = q_file(q, "-", CS_CAPI)) != 0))
			goto out;
		json_array_foreach(json_object_get(o, "collections"), i, v)
			if ((r = q_add(q, "z:", json_string_value(v))) != 0)
				goto out;
	}
 out:
	json_decref(w);
	if (r != 0)
		return vp_fail(cause, r, "cannot build the facts query: %s",
		    vp_strerror(r));
	return VP_OK;
}

/* ---- parsing ---- */

static json_t *
obj_at(json_t *facts, const char *key)
{
	json_t *o = json_object_get(facts, key);

	if (o == NULL) {
		o = json_object();
		json_object_set_new(facts, key, o);
	}
	return o;
}

/* "a b c" -> ["a","b","c"] */
static json_t *
words(const char *s, const char *sep)
{
	json_t	*a = json_array();
	char	*copy = strdup(s), *w, *save = NULL;

	if (copy == NULL)
		return a;
	for (w = strtok_r(copy, sep, &save); w != NULL;
	    w = strtok_r(NULL, sep, &save))
		json_array_append_new(a, json_string(w));
	free(copy);
	return a;
}

/* Collapse whitespace runs to one space (sysctl multi-values). */
static char *
squash(const char *s)
{
	char	*d = malloc(strlen(s) + 1), *o = d;

	if (d == NULL)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	while (*s != '\0') {
		if (isspace((unsigned char)*s)) {
			while (isspace((unsigned char)*s))
				s++;
			if (*s != '\0')
				*o++ = ' ';
			continue;
		}
		*o++ = *s++;
	}
	*o = '\0';
	return d;
}

static json_t *
file_fact(const char *rest)
{
	json_t		*f = json_object();
	char		*copy = strdup(rest), *fld[7], *p;
	const char	*type;
	int		 i;

	if (copy == NULL)
		return f;
	p = copy;
	for (i = 0; i < 7; i++) {
		fld[i] = p;
		if (p != NULL && (p = strchr(p, '|')) != NULL)
			*p++ = '\0';
	}
	if (fld[6] == NULL) {
		free(copy);
		return f;
	}
	if (strncmp(fld[0], "regular", 7) == 0)
		type = "file";
	else if (strcmp(fld[0], "directory") == 0)
		type = "directory";
	else if (strcmp(fld[0], "symbolic link") == 0)
		type = "link";
	else
		type = "other";
	json_object_set_new(f, "type", json_string(type));
	{
		char m[16];

		snprintf(m, sizeof(m), "%04lo", strtoul(fld[1], NULL, 8));
		json_object_set_new(f, "mode", json_string(m));
	}
	json_object_set_new(f, "uid", json_integer(atoll(fld[2])));
	json_object_set_new(f, "gid", json_integer(atoll(fld[3])));
	json_object_set_new(f, "owner", json_string(fld[4]));
	json_object_set_new(f, "group", json_string(fld[5]));
	json_object_set_new(f, "size", json_integer(atoll(fld[6])));
	free(copy);
	return f;
}

static void
set_content(json_t *f, const char *b64, size_t len)
{
	struct vp_buf	b = VP_BUF_INIT(64u << 20);
	json_t		*s;

	if (vp_host_b64dec(b64, len, &b) != 0) {
		json_object_set_new(f, "binary", json_true());
		goto out;
	}
	if (memchr(b.buf, '\0', b.len) != NULL ||
	    (s = json_stringn(b.buf, b.len)) == NULL)
		json_object_set_new(f, "binary", json_true());
	else
		json_object_set_new(f, "content", s);
 out:
	vp_buf_release_secure(&b);
}

static int
parse_line(json_t *facts, const char *line, size_t len,
    const struct vp_argv *q, char **cause)
{
	char		 tag, *copy, *rest, *e;
	const char	*qa, *qv;
	long		 idx = 0;
	json_t		*o;
	int		 r = VP_OK;

	if ((copy = strndup(line, len)) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	tag = copy[0];
	rest = len > 2 ? copy + 2 : copy + len;
	if (strchr("FJYBSUNGVCKlnrz", tag) != NULL) {
		idx = strtol(rest, &e, 10);
		if (idx < 1 || (size_t)idx > q->n || (*e != ' ' &&
		    *e != '\0')) {
			r = vp_fail(cause, VP_ERR_PARSE, "facts: bad line "
			    "'%.40s'", copy);
			goto out;
		}
		rest = *e ? e + 1 : e;
		qa = q->v[idx - 1];
		qv = qa + 2;
		if (qa[0] == 'f' && (qv = strchr(qv, ':')) != NULL)
			qv++;
	} else
		qa = qv = "";
	switch (tag) {
	case 'R':
		json_object_set_new(facts, "uid", json_integer(atoll(rest)));
		break;
	case 'O':
		if ((e = strchr(rest, ' ')) != NULL) {
			*e = '\0';
			json_object_set_new(obj_at(facts, "os"), rest,
			    json_string(e + 1));
		}
		break;
	case 'M':
		json_object_set_new(facts, "mem_kb", json_integer(atoll(rest)));
		break;
	case 'H':
		json_object_set_new(obj_at(facts, "hostname"), "file",
		    json_string(rest));
		break;
	case 'h':
		json_object_set_new(obj_at(facts, "hostname"), "live",
		    json_string(rest));
		break;
	case 'T':
		json_object_set_new(obj_at(facts, "timezone"), "file",
		    json_string(rest));
		break;
	case 'L':
		json_object_set_new(obj_at(facts, "timezone"), "link",
		    json_string(rest));
		break;
	case 'I':
		json_object_set_new(facts, "init", json_string(rest));
		break;
	case 'P':
		/* P NAME STATUS VERSION; STATUS is 3 chars, may end in ' ' */
		if ((e = strchr(rest, ' ')) == NULL)
			break;
		*e++ = '\0';
		o = json_object();
		json_object_set_new(o, "status", json_stringn(e,
		    strnlen(e, 2)));
		json_object_set_new(o, "version", json_string(strlen(e) > 4 ?
		    e + 4 : ""));
		json_object_set_new(obj_at(facts, "packages"), rest, o);
		break;
	case 'F':
		if (qa[0] == 'k') {
			o = json_object_get(obj_at(facts, "authorized_keys"),
			    qv);
			if (o != NULL)
				json_object_set_new(o, "file", file_fact(rest));
		} else
			json_object_set_new(obj_at(facts, "files"), qv,
			    file_fact(rest));
		break;
	case 'Q':
		/* TYPE|MODE|UID|GID|USER|GROUP|SIZE|PATH: path after 7 '|' */
		{
			const char	*pp = rest;
			int		 k;

			for (k = 0; k < 7 && pp != NULL; k++)
				if ((pp = strchr(pp, '|')) != NULL)
					pp++;
			if (pp == NULL || *pp != '/')
				break;
			e = (char *)pp - 1;
			*e = '\0';
			json_object_set_new(obj_at(facts, "files"), pp,
			    file_fact(rest));
		}
		break;
	case 'Z':
		/* sha256sum: "SHA  PATH", or "\\SHA  PATH" with PATH escaped */
		if (*rest == '\\' || strlen(rest) < 67 || rest[64] != ' ' ||
		    rest[65] != ' ')
			break;
		rest[64] = '\0';
		if ((o = json_object_get(obj_at(facts, "files"), rest + 66)) !=
		    NULL)
			json_object_set_new(o, "sha256", json_string(rest));
		break;
	case 'A':
		if ((e = strchr(rest, ' ')) == NULL)
			break;
		*e++ = '\0';
		if ((o = json_object_get(obj_at(facts, "files"), e)) != NULL)
			set_content(o, rest, strlen(rest));
		break;
	case 'J':
		o = json_object_get(obj_at(facts, "authorized_keys"), qv);
		if (o != NULL)
			json_object_set_new(o, "dir", file_fact(rest));
		break;
	case 'Y':
	case 'B':
		o = qa[0] == 'k' ? json_object_get(json_object_get(
		    obj_at(facts, "authorized_keys"), qv), "file") :
		    json_object_get(obj_at(facts, "files"), qv);
		if (o == NULL)
			break;
		if (tag == 'Y')
			json_object_set_new(o, "sha256", json_string(rest));
		else
			set_content(o, rest, strlen(rest));
		break;
	case 'S':
		{
			char *k = strdup(qv), *s, *v = squash(rest);

			if (k != NULL && v != NULL) {
				for (s = k; *s; s++)
					if (*s == '/')
						*s = '.';
				json_object_set_new(obj_at(facts, "sysctl"), k,
				    json_string(v));
			}
			free(k);
			free(v);
		}
		break;
	case 'U':
		{
			char *c = strdup(rest), *p, *fld[7];
			int i;

			if (c == NULL)
				break;
			p = c;
			for (i = 0; i < 7; i++) {
				fld[i] = p;
				if (p && (p = strchr(p, ':')))
					*p++ = '\0';
			}
			o = json_object();
			if (fld[6] != NULL) {
				json_object_set_new(o, "uid",
				    json_integer(atoll(fld[2])));
				json_object_set_new(o, "gid",
				    json_integer(atoll(fld[3])));
				json_object_set_new(o, "home",
				    json_string(fld[5]));
				json_object_set_new(o, "shell",
				    json_string(fld[6]));
			}
			json_object_set_new(obj_at(facts, "users"), qv, o);
			free(c);
		}
		break;
	case 'N':
		if ((o = json_object_get(obj_at(facts, "users"), qv)) != NULL)
			json_object_set_new(o, "groups", words(rest, " "));
		break;
	case 'G':
		{
			char *c = strdup(rest), *p, *fld[4];
			int i;

			if (c == NULL)
				break;
			p = c;
			for (i = 0; i < 4; i++) {
				fld[i] = p;
				if (p && (p = strchr(p, ':')))
					*p++ = '\0';
			}
			o = json_object();
			if (fld[3] != NULL) {
				json_object_set_new(o, "gid",
				    json_integer(atoll(fld[2])));
				json_object_set_new(o, "members",
				    words(fld[3], ","));
			}
			json_object_set_new(obj_at(facts, "groups"), qv, o);
			free(c);
		}
		break;
	case 'V':
		{
			json_t *w = words(rest, " ");

			o = json_object();
			json_object_set(o, "enabled", json_array_get(w, 0));
			json_object_set(o, "active", json_array_get(w, 1));
			json_object_set_new(obj_at(facts, "services"), qv, o);
			json_decref(w);
		}
		break;
	case 'C':
		o = obj_at(facts, "crontabs");
		if (strncmp(rest, "present ", 8) == 0 ||
		    strcmp(rest, "present") == 0) {
			json_t		*f = json_object();
			const char	*b = strlen(rest) > 8 ? rest + 8 : "";

			set_content(f, b, strlen(b));
			json_object_set(o, qv, json_object_get(f, "content") ?
			    json_object_get(f, "content") : json_string(""));
			json_decref(f);
		} else
			json_object_set_new(o, qv, json_null());
		break;
	case 'l':
		/* facts.locale: {"name", "available": [...], "gen", "lang"} */
		o = obj_at(facts, "locale");
		json_object_set_new(o, "name", json_string(qv));
		if (strncmp(rest, "a ", 2) == 0 || strcmp(rest, "a") == 0)
			json_object_set_new(o, "available", words(rest + 1,
			    " "));
		else if (strncmp(rest, "g ", 2) == 0)
			json_object_set_new(o, "gen", json_boolean(strcmp(rest +
			    2, "yes") == 0));
		else if (strncmp(rest, "d ", 2) == 0 || strcmp(rest, "d") == 0)
			json_object_set_new(o, "lang", json_string(rest[1] ?
			    rest + 2 : ""));
		break;
	case 'r':
		/* facts.sysctl_ro.KEY: true (cannot be set live here) */
		{
			char *k = strdup(qv), *s;

			if (k != NULL) {
				for (s = k; *s; s++)
					if (*s == '/')
						*s = '.';
				json_object_set_new(obj_at(facts, "sysctl_ro"),
				    k, json_true());
			}
			free(k);
		}
		break;
	case 'z':
		/*
		 * facts.crowdsec_collections.NAME: the target of cscli's
		 * link, or "file" (a local collection)
		 */
		json_object_set_new(obj_at(facts, "crowdsec_collections"), qv,
		    json_string(rest));
		break;
	case 'n':
		/* facts.kernel.audit: ok | denied | unknown */
		json_object_set_new(obj_at(facts, "kernel"), qv,
		    json_string(rest));
		break;
	case 'K':
		o = json_object();
		json_object_set_new(o, "home", json_string(rest));
		json_object_set_new(obj_at(facts, "authorized_keys"), qv, o);
		break;
	case 'D':
		if ((e = strchr(rest, ' ')) != NULL) {
			json_t *d = obj_at(facts, "sshd"), *prev;

			*e++ = '\0';
			/* repeated keys (listenaddress...) become lists */
			if ((prev = json_object_get(d, rest)) == NULL)
				json_object_set_new(d, rest, json_string(e));
			else if (json_is_array(prev))
				json_array_append_new(prev, json_string(e));
			else {
				json_t *l = json_array();

				json_array_append(l, prev);
				json_array_append_new(l, json_string(e));
				json_object_set_new(d, rest, l);
			}
		}
		break;
	case 'W':
		o = obj_at(facts, "ufw");
		if (strncmp(rest, "tuple ", 6) == 0) {
			json_t *t = json_object_get(o, "tuples");

			if (t == NULL) {
				t = json_array();
				json_object_set_new(o, "tuples", t);
			}
			json_array_append_new(t, json_string(rest + 6));
		} else if ((e = strchr(rest, ' ')) != NULL) {
			*e++ = '\0';
			json_object_set_new(o, rest, json_string(e));
		}
		break;
	case 't':
		/*
		 * facts.tailscale: {"installed": bool, "version", "state",
		 * "ip"} (the VPN IP: `tailscale ip -4`)
		 */
		o = obj_at(facts, "tailscale");
		if (strcmp(rest, "absent") == 0)
			json_object_set_new(o, "installed", json_false());
		else {
			if ((e = strchr(rest, ' ')) != NULL)
				*e++ = '\0';
			else
				e = rest + strlen(rest);
			if (strcmp(rest, "installed") == 0) {
				json_object_set_new(o, "installed",
				    json_true());
				json_object_set_new(o, "version",
				    json_string(e));
			} else if (strcmp(rest, "state") == 0 ||
			    strcmp(rest, "ip") == 0)
				json_object_set_new(o, rest, json_string(e));
		}
		break;
	case 'X':
		/* "Docker version 20.10.24+dfsg1, build 297e128" */
		if (strncmp(rest, "Docker version ", 15) == 0) {
			size_t n = strcspn(rest + 15, ", ");

			json_object_set_new(facts, "docker",
			    json_stringn(rest + 15, n));
		}
		break;
	case 'E':
		if (strcmp(copy, "END") == 0)
			json_object_set_new(facts, "complete", json_true());
		break;
	default:
		break;
	}
 out:
	free(copy);
	return r;
}

int
vp_host_facts_parse(const char *text, size_t len, const struct vp_argv *q,
    json_t **facts, char **cause)
{
	const char	*p = text, *end = text + len, *nl;
	json_t		*f;
	int		 r = VP_OK;

	*facts = NULL;
	if ((f = json_object()) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	json_object_set_new(f, "packages", json_object());
	json_object_set_new(f, "files", json_object());
	/* Skip what a login may print first (motd, banner): up to BEGIN. */
	for (;;) {
		if (p >= end) {
			json_decref(f);
			return vp_fail(cause, VP_ERR_REMOTE, "facts: no output "
			    "(no BEGIN line)");
		}
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl - p == 5 && memcmp(p, "BEGIN", 5) == 0) {
			p = nl + 1;
			break;
		}
		p = nl + 1;
	}
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl > p && (r = parse_line(f, p, (size_t)(nl - p), q,
		    cause)) != 0)
			break;
		p = nl + 1;
	}
	if (r == VP_OK && json_object_get(f, "complete") == NULL)
		r = vp_fail(cause, VP_ERR_REMOTE, "facts: output is "
		    "incomplete (no END line)");
	if (r != VP_OK) {
		json_decref(f);
		return r;
	}
	json_object_del(f, "complete");
	*facts = f;
	return VP_OK;
}

int
vp_host_facts_gather(struct vp_target *t, const char *datadir,
    const json_t *want, json_t **facts, char **cause)
{
	return host_facts_gather(t, datadir, want, NULL, "facts", facts, cause);
}

int
host_facts_gather(struct vp_target *t, const char *datadir,
    const json_t *want, const char *extra, const char *step, json_t **facts,
    char **cause)
{
	struct vp_argv		 q = VP_ARGV_INIT, argv = VP_ARGV_INIT;
	struct vp_buf		 script = VP_BUF_INIT(1u << 20);
	struct vp_target_result	 res = VP_TARGET_RESULT_INIT;
	size_t			 i;
	int			 r;

	*facts = NULL;
	/* "{ ... } </dev/null": read it all first; nothing eats stdin */
	if ((r = vp_host_facts_query(want, &q, cause)) != 0 ||
	    (r = vp_buf_adds(&script, "{\n")) != 0 ||
	    (r = vp_host_script(datadir, "facts.sh", &script, cause)) != 0 ||
	    (r = vp_buf_adds(&script, "\n} </dev/null\n")) != 0)
		goto out;
	if ((extra != NULL && (r = vp_argv_push(&q, extra)) != 0) ||
	    (r = vp_argv_pushl(&argv, "sh", "-s", "--", NULL)) != 0)
		goto nomem;
	for (i = 0; i < q.n; i++)
		if ((r = vp_argv_push(&argv, q.v[i])) != 0)
			goto nomem;
	if ((r = vp_target_run(t, (const char *const *)argv.v, script.buf,
	    script.len, &res, cause)) != 0) {
		host_step_cause(t, step, r, cause);
		goto out;
	}
	if (res.status != 0) {
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': step '%s': exit "
		    "%d: %.200s", vp_target_name(t), step, res.status,
		    res.err.buf);
		goto out;
	}
	if ((r = vp_host_facts_parse(res.out.buf, res.out.len, &q, facts,
	    cause)) != 0)
		vp_fail_prefix(cause, r, "'%s'", vp_target_name(t));
	goto out;
 nomem:
	r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
 out:
	vp_argv_release(&q);
	vp_argv_release(&argv);
	vp_buf_release(&script);
	vp_target_result_release(&res);
	return r;
}
