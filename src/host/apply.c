/*
 * apply.c: turn planned ops into one script (stack/host/apply.sh plus one
 * call per change plus facts.sh), run it in one round trip, and verify
 * the postconditions by re-planning from the facts it printed.
 *
 * The whole script is wrapped in "{ ... } </dev/null": the shell reads
 * all of it before running anything, and no command can swallow the rest
 * of the script from stdin.  Every argument is quoted by vp_sq_quote(),
 * the one quoting step.  File contents travel base64 in here-documents
 * (the "VPAI.EOF" delimiter cannot occur in base64).
 */
#include <stdlib.h>
#include <string.h>

#include "host/host.h"
#include "host/internal.h"

#define MARK_FACTS	"@vpai-facts"

static int
q(struct vp_buf *b, const char *s)
{
	int r;

	if ((r = vp_buf_addc(b, ' ')) != 0)
		return r;
	return vp_sq_quote(b, s);
}

static const char *
dash(const char *s)
{
	return s && *s ? s : "-";
}

static int
emit_step(struct vp_buf *b, size_t n, const json_t *o)
{
	int r;

	(void)o;
	if ((r = vp_buf_addf(b, "vp_step %zu", n)) != 0)
		return r;
	return vp_buf_addc(b, '\n');
}

static int
emit_content(struct vp_buf *b, const char *content)
{
	int r;

	if ((r = vp_buf_adds(b, " <<'VPAI.EOF'\n")) != 0 ||
	    (r = vp_host_b64enc(content, strlen(content), b)) != 0 ||
	    (r = vp_buf_adds(b, "\nVPAI.EOF\n")) != 0)
		return r;
	return VP_OK;
}

/* Join a JSON string array with sep; "-" when empty. */
static int
emit_joined(struct vp_buf *b, const json_t *arr, const char *sep)
{
	struct vp_buf	 j = VP_BUF_INIT(1u << 20);
	const json_t	*v;
	size_t		 i;
	int		 r = VP_OK;

	json_array_foreach(arr, i, v)
		if ((r = vp_buf_addf(&j, "%s%s", i ? sep : "",
		    json_string_value(v))) != 0)
			break;
	if (r == VP_OK)
		r = q(b, j.len ? j.buf : "-");
	vp_buf_release(&j);
	return r;
}

static int
emit_apt(struct vp_buf *b, const json_t *ops, const char *action,
    size_t step)
{
	const json_t	*o;
	size_t		 i;
	int		 r, any = 0;

	json_array_foreach(ops, i, o) {
		if (strcmp(jstr(o, "op"), "apt") != 0 ||
		    strcmp(jstr(o, "action"), action) != 0)
			continue;
		if (!any && ((r = emit_step(b, step, o)) != 0 ||
		    (r = vp_buf_addf(b, "vp_apt %s", action)) != 0))
			return r;
		any = 1;
		if ((r = q(b, jstr(o, "id"))) != 0)
			return r;
	}
	return any ? vp_buf_addc(b, '\n') : VP_OK;
}

static int
emit_op(struct vp_buf *b, const json_t *o, size_t step)
{
	const char	*k = jstr(o, "op"), *a = jstr(o, "action");
	const json_t	*v;
	char		 num[32];
	size_t		 i;
	int		 r;

	if ((r = emit_step(b, step, o)) != 0)
		return r;
	if (strcmp(k, "file") == 0 && json_object_get(o, "content")) {
		if ((r = vp_buf_adds(b, "vp_put")) != 0 ||
		    (r = q(b, jstr(o, "id"))) != 0 ||
		    (r = q(b, dash(jstr(o, "mode")))) != 0 ||
		    (r = q(b, dash(jstr(o, "owner")))) != 0 ||
		    (r = q(b, dash(jstr(o, "group")))) != 0 ||
		    (r = q(b, dash(jstr(o, "before")))) != 0)
			return r;
		return emit_content(b, jstr(o, "content"));
	}
	if (strcmp(k, "file") == 0 || strcmp(k, "directory") == 0) {
		if ((r = vp_buf_adds(b, strcmp(k, "file") == 0 ? "vp_meta" :
		    "vp_dir")) != 0 ||
		    (r = q(b, jstr(o, "id"))) != 0 ||
		    (r = q(b, dash(jstr(o, "mode")))) != 0 ||
		    (r = q(b, dash(jstr(o, "owner")))) != 0 ||
		    (r = q(b, dash(jstr(o, "group")))) != 0)
			return r;
		return vp_buf_addc(b, '\n');
	}
	if (strcmp(k, "group") == 0) {
		v = json_object_get(o, "gid");
		snprintf(num, sizeof(num), "%lld", json_integer_value(v));
		if ((r = vp_buf_adds(b, "vp_group")) != 0 ||
		    (r = q(b, jstr(o, "id"))) != 0 ||
		    (r = q(b, v ? num : "-")) != 0 ||
		    (r = q(b, jbool_or(o, "system", 0) ? "1" : "0")) != 0)
			return r;
		return vp_buf_addc(b, '\n');
	}
	if (strcmp(k, "user") == 0) {
		v = json_object_get(o, "uid");
		snprintf(num, sizeof(num), "%lld", json_integer_value(v));
		if ((r = vp_buf_addf(b, "vp_user %s", a)) != 0 ||
		    (r = q(b, jstr(o, "id"))) != 0 ||
		    (r = q(b, dash(jstr(o, "home")))) != 0 ||
		    (r = q(b, dash(jstr(o, "shell")))) != 0 ||
		    (r = emit_joined(b, json_object_get(o, "groups"), ",")) !=
		    0 ||
		    (r = q(b, jbool_or(o, "system", 0) ? "1" : "0")) != 0 ||
		    (r = q(b, v ? num : "-")) != 0)
			return r;
		return vp_buf_addc(b, '\n');
	}
	if (strcmp(k, "apt-update") == 0)
		return vp_buf_adds(b, "vp_apt update\n");
	if (strcmp(k, "sysctl") == 0) {
		if ((r = vp_buf_adds(b, "vp_sysctl")) != 0 ||
		    (r = q(b, jstr(o, "id"))) != 0 ||
		    (r = q(b, jstr(o, "value"))) != 0)
			return r;
		return vp_buf_addc(b, '\n');
	}
	if (strcmp(k, "crontab") == 0) {
		if ((r = vp_buf_adds(b, "vp_crontab")) != 0 ||
		    (r = q(b, jstr(o, "id"))) != 0)
			return r;
		return emit_content(b, jstr(o, "content"));
	}
	if (strcmp(k, "timezone") == 0) {
		if ((r = vp_buf_adds(b, "vp_tz")) != 0 ||
		    (r = q(b, jstr(o, "id"))) != 0 ||
		    (r = q(b, jstr(o, "link"))) != 0)
			return r;
		return vp_buf_addc(b, '\n');
	}
	if (strcmp(k, "hostname") == 0) {
		if ((r = vp_buf_adds(b, "vp_hostname")) != 0 ||
		    (r = q(b, jstr(o, "id"))) != 0)
			return r;
		return vp_buf_addc(b, '\n');
	}
	if (strcmp(k, "service") == 0) {
		if ((r = vp_buf_adds(b, "vp_service")) != 0 ||
		    (r = q(b, jstr(o, "id"))) != 0 ||
		    (r = q(b, jbool_or(o, "enable", 0) ? "1" : "0")) != 0 ||
		    (r = q(b, jbool_or(o, "start", 0) ? "1" : "0")) != 0 ||
		    (r = q(b, jbool_or(o, "restart", 0) ? "1" : "0")) != 0)
			return r;
		return vp_buf_addc(b, '\n');
	}
	if (strcmp(k, "ufw") == 0) {
		if ((r = vp_buf_adds(b, "vp_ufw")) != 0)
			return r;
		json_array_foreach(json_object_get(o, "argv"), i, v)
			if ((r = q(b, json_string_value(v))) != 0)
				return r;
		return vp_buf_addc(b, '\n');
	}
	return VP_ERR_INVALID;
}

int
vp_host_apply_script(const char *datadir, const json_t *ops,
    const struct vp_argv *verify_query, struct vp_buf *out, char **cause)
{
	const json_t	*o;
	size_t		 i;
	int		 r, apt_in = 0, apt_rm = 0;

	if ((r = vp_buf_adds(out, "{\n")) != 0 ||
	    (r = vp_host_script(datadir, "apply.sh", out, cause)) != 0)
		goto out;
	json_array_foreach(ops, i, o) {
		if (jbool_or(o, "info", 0) || strcmp(jstr(o, "action"),
		    "noop") == 0)
			continue;
		if (strcmp(jstr(o, "op"), "apt") == 0) {
			/* one apt-get per direction, at the first one */
			if (strcmp(jstr(o, "action"), "install") == 0 &&
			    !apt_in++)
				r = emit_apt(out, ops, "install", i + 1);
			else if (strcmp(jstr(o, "action"), "remove") == 0 &&
			    !apt_rm++)
				r = emit_apt(out, ops, "remove", i + 1);
		} else if ((r = emit_op(out, o, i + 1)) == VP_ERR_INVALID) {
			r = vp_fail(cause, r, "op %zu: unknown kind '%s'", i + 1,
			    jstr(o, "op"));
			goto out;
		}
		if (r != 0)
			goto nomem;
	}
	if (verify_query != NULL) {
		if ((r = vp_buf_adds(out, "echo " MARK_FACTS "\nset --")) != 0)
			goto nomem;
		for (i = 0; i < verify_query->n; i++)
			if ((r = q(out, verify_query->v[i])) != 0)
				goto nomem;
		if ((r = vp_buf_addc(out, '\n')) != 0 ||
		    (r = vp_host_script(datadir, "facts.sh", out, cause)) != 0)
			goto out;
	}
	if ((r = vp_buf_adds(out, "\n} </dev/null\n")) != 0)
		goto nomem;
	return VP_OK;
 nomem:
	r = vp_fail(cause, r, "cannot build the apply script: %s",
	    vp_strerror(r));
 out:
	return r;
}

void
vp_host_result_release(struct vp_host_result *res)
{
	if (res == NULL)
		return;
	json_decref(res->facts_after);
	json_decref(res->ops_after);
	res->facts_after = res->ops_after = NULL;
}

/* "@fail N msg" -> the op and message, for the error. */
static int
report_failure(struct vp_target *t, const json_t *ops, const char *out,
    const struct vp_target_result *res, char **cause)
{
	const char	*f = strstr(out, "@fail "), *msg, *nl;
	const json_t	*o;
	long		 n;

	if (f == NULL || (f != out && f[-1] != '\n'))
		return vp_fail(cause, VP_ERR_REMOTE, "'%s': step 'apply': "
		    "exit %d: %.300s", vp_target_name(t), res->status,
		    res->err.len ? res->err.buf : "(no output)");
	n = strtol(f + 6, (char **)&msg, 10);
	if (*msg == ' ')
		msg++;
	nl = strchr(msg, '\n');
	o = json_array_get(ops, (size_t)(n > 0 ? n - 1 : 0));
	return vp_fail(cause, VP_ERR_REMOTE, "'%s': step %ld (%s %s: %s): "
	    "%.*s", vp_target_name(t), n, jstr(o, "op"), jstr(o, "id"),
	    jstr(o, "action"), (int)(nl ? nl - msg : (long)strlen(msg)), msg);
}

int
vp_host_apply(struct vp_target *t, const char *datadir, const json_t *want,
    const json_t *ops, struct vp_host_result *res, char **cause)
{
	struct vp_argv		 qa = VP_ARGV_INIT;
	struct vp_buf		 script = VP_BUF_INIT(256u << 20);
	struct vp_target_result	 tr = VP_TARGET_RESULT_INIT;
	const char		*argv[] = { "sh", "-s", NULL };
	const char		*m;
	const json_t		*o = NULL;
	size_t			 i;
	int			 r;

	res->changed = vp_host_plan_changes(ops);
	res->noop = 0;
	json_array_foreach(ops, i, o)
		if (!jbool_or(o, "info", 0) && strcmp(jstr(o, "action"),
		    "noop") == 0)
			res->noop++;
	if (res->changed == 0)
		return VP_OK;
	if ((r = vp_host_facts_query(want, &qa, cause)) != 0 ||
	    (r = vp_host_apply_script(datadir, ops, &qa, &script, cause)) != 0)
		goto out;
	if ((r = vp_target_run(t, argv, script.buf, script.len, &tr,
	    cause)) != 0)
		goto out;
	if (tr.status != 0 || (m = strstr(tr.out.buf, MARK_FACTS "\n")) ==
	    NULL) {
		r = report_failure(t, ops, tr.out.buf, &tr, cause);
		goto out;
	}
	m += strlen(MARK_FACTS) + 1;
	if ((r = vp_host_facts_parse(m, tr.out.len - (size_t)(m - tr.out.buf),
	    &qa, &res->facts_after, cause)) != 0 ||
	    (r = vp_host_plan(want, res->facts_after, &res->ops_after,
	    cause)) != 0) {
		vp_fail_prefix(cause, r, "'%s': step 'verify'",
		    vp_target_name(t));
		goto out;
	}
	if (vp_host_plan_changes(res->ops_after) != 0) {
		json_array_foreach(res->ops_after, i, o)
			if (!jbool_or(o, "info", 0) && strcmp(jstr(o,
			    "action"), "noop") != 0)
				break;
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': step 'verify': %s "
		    "%s is still not as wanted after apply (%s)",
		    vp_target_name(t), jstr(o, "op"), jstr(o, "id"),
		    jstr(o, "why"));
	}
 out:
	vp_argv_release(&qa);
	vp_buf_release_secure(&script);
	vp_target_result_release(&tr);
	return r;
}
