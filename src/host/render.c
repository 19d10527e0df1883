/*
 * render.c: the plan as text (with unified diffs) and as public JSON,
 * secrets masked in both.
 */
#include <string.h>

#include "host/host.h"
#include "host/internal.h"

static char
sigil(const char *action)
{
	if (strcmp(action, "noop") == 0)
		return '=';
	if (strcmp(action, "create") == 0 || strcmp(action, "install") == 0 ||
	    strcmp(action, "add") == 0)
		return '+';
	if (strcmp(action, "remove") == 0 || strcmp(action, "delete") == 0)
		return '-';
	return '~';
}

static int
indent(struct vp_buf *out, const char *text)
{
	const char	*p = text, *nl;
	int		 r = VP_OK;

	while (r == VP_OK && *p != '\0') {
		nl = strchr(p, '\n');
		r = vp_buf_addf(out, "    %.*s\n", (int)(nl ? nl - p :
		    (long)strlen(p)), p);
		p = nl ? nl + 1 : p + strlen(p);
	}
	return r;
}

int
vp_host_plan_text(const json_t *ops, const json_t *want, int verbose,
    struct vp_buf *out)
{
	struct vp_buf	 b = VP_BUF_INIT(out->cap);
	const json_t	*o;
	const char	*act;
	size_t		 i, noop = 0, info;
	int		 r = VP_OK;

	json_array_foreach(ops, i, o) {
		act = jstr(o, "action");
		info = jbool_or(o, "info", 0);
		if (strcmp(act, "noop") == 0 && !info)
			noop++;
		/* "warn": a no-op worth seeing (auditd cannot run here) */
		if (strcmp(act, "noop") == 0 && !verbose &&
		    !jbool_or(o, "warn", 0))
			continue;
		if (info)
			r = vp_buf_addf(&b, "    %s %s: %s%s%s\n", jstr(o, "op"),
			    jstr(o, "id"), strcmp(act, "noop") ? act :
			    "already there", *jstr(o, "why") ? " -- " : "",
			    jstr(o, "why"));
		else
			r = vp_buf_addf(&b, "%c %s %s: %s%s%s%s\n",
			    jbool_or(o, "warn", 0) ? '!' : sigil(act),
			    jstr(o, "op"), jstr(o, "id"), strcmp(act, "noop") ?
			    act : "already correct", *jstr(o, "why") &&
			    strcmp(jstr(o, "why"), "already correct") ? " (" :
			    "", strcmp(jstr(o, "why"), "already correct") ?
			    jstr(o, "why") : "", *jstr(o, "why") &&
			    strcmp(jstr(o, "why"), "already correct") ? ")" :
			    "");
		if (r == VP_OK && *jstr(o, "diff") != '\0')
			r = indent(&b, jstr(o, "diff"));
		if (r != VP_OK)
			goto out;
	}
	if ((r = vp_buf_addf(&b, "%zu to change, %zu already correct\n",
	    vp_host_plan_changes(ops), noop)) != 0)
		goto out;
	if ((r = vp_host_mask(&b, want)) != 0)
		goto out;
	r = vp_buf_add(out, b.buf, b.len);
 out:
	vp_buf_release_secure(&b);
	return r;
}

static json_t *
masked(const char *s, const json_t *want)
{
	struct vp_buf	 b = VP_BUF_INIT(64u << 20);
	json_t		*v = NULL;

	if (vp_buf_adds(&b, s) == 0 && vp_host_mask(&b, want) == 0)
		v = json_string(b.buf);
	vp_buf_release_secure(&b);
	return v;
}

json_t *
vp_host_plan_public(const json_t *ops, const json_t *want)
{
	json_t		*out = json_array(), *c, *v;
	const json_t	*o;
	const char	*k;
	size_t		 i;

	json_array_foreach(ops, i, o) {
		if ((c = json_object()) == NULL)
			break;
		json_object_foreach((json_t *)o, k, v) {
			if (strcmp(k, "content") == 0)
				continue;
			if (json_is_string(v))
				json_object_set_new(c, k,
				    masked(json_string_value(v), want));
			else
				json_object_set(c, k, v);
		}
		json_array_append_new(out, c);
	}
	return out;
}
