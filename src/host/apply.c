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
#include <time.h>
#include <unistd.h>

#include "host/host.h"
#include "host/internal.h"

#define MARK_FACTS	"@vpai-facts"
#define CONFIRM_DIR	"/var/lib/vpai/confirm"
#define CONFIRM_DEFAULT	60

/* 1: the op changes sshd, 2: ufw, 0: neither. */
static int
guarded(const json_t *o)
{
	const char *k = jstr(o, "op"), *id = jstr(o, "id");

	if (jbool_or(o, "info", 0) || strcmp(jstr(o, "action"), "noop") == 0)
		return 0;
	if (strcmp(k, "ufw") == 0)
		return 2;
	if (strcmp(k, "service") == 0)
		return strcmp(id, "ssh") == 0 || strcmp(id, "sshd") == 0;
	if (strcmp(k, "file") != 0 && strcmp(k, "directory") != 0)
		return 0;
	if (strncmp(id, "/etc/ssh/", 9) == 0 || strcmp(id, "/etc/ssh") == 0)
		return 1;
	if (strncmp(id, "/etc/ufw/", 9) == 0 ||
	    strcmp(id, "/etc/default/ufw") == 0)
		return 2;
	return 0;
}

/* Bit 1: some op changes sshd, bit 2: ufw. */
static int
guarded_all(const json_t *ops)
{
	const json_t	*o;
	size_t		 i;
	int		 g = 0;

	json_array_foreach(ops, i, o)
		g |= guarded(o);
	return g;
}

static int
confirm_timeout(const json_t *want)
{
	const json_t *v = json_object_get(json_object_get(want, "confirm"),
	    "timeout");

	return v ? (int)json_integer_value(v) : CONFIRM_DEFAULT;
}

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
		    (r = q(b, jbool_or(o, "restart", 0) ? "1" : "0")) != 0 ||
		    (r = q(b, dash(jstr(o, "needs")))) != 0)
			return r;
		return vp_buf_addc(b, '\n');
	}
	if (strcmp(k, "locale") == 0) {
		if ((r = vp_buf_adds(b, "vp_locale")) != 0 ||
		    (r = q(b, jstr(o, "id"))) != 0 ||
		    (r = q(b, jbool_or(o, "generate", 0) ? "1" : "0")) != 0 ||
		    (r = q(b, jbool_or(o, "lang", 0) ? "1" : "0")) != 0)
			return r;
		return vp_buf_addc(b, '\n');
	}
	if (strcmp(k, "tailscale") == 0) {
		/* the auth key travels base64 on stdin, never in an argv */
		snprintf(num, sizeof(num), "%lld", json_integer_value(
		    json_object_get(o, "timeout")));
		if ((r = vp_buf_adds(b, "vp_tailscale")) != 0 ||
		    (r = q(b, num)) != 0)
			return r;
		json_array_foreach(json_object_get(o, "argv"), i, v)
			if ((r = q(b, json_string_value(v))) != 0)
				return r;
		return emit_content(b, jstr(o, "content"));
	}
	if (strcmp(k, "crowdsec-collection") == 0) {
		if ((r = vp_buf_adds(b, "vp_cscoll")) != 0 ||
		    (r = q(b, jstr(o, "id"))) != 0)
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

/* vp_arm DIR SECONDS SSH UFW PATH... <<revert.sh */
static int
emit_arm(struct vp_buf *b, const char *datadir, const json_t *ops,
    int seconds, int g, char **cause)
{
	struct vp_buf	 rv = VP_BUF_INIT(1u << 20);
	const json_t	*o;
	char		 num[32];
	size_t		 i;
	int		 r;
	static const char *const ufw_files[] = { "/etc/ufw/user.rules",
	    "/etc/ufw/user6.rules", "/etc/ufw/ufw.conf", "/etc/default/ufw",
	    NULL };

	if ((r = vp_host_script(datadir, "revert.sh", &rv, cause)) != 0)
		goto out;
	snprintf(num, sizeof(num), "%d", seconds);
	if ((r = vp_buf_adds(b, "vp_step 0\nvp_arm")) != 0 ||
	    (r = q(b, CONFIRM_DIR)) != 0 || (r = q(b, num)) != 0 ||
	    (r = q(b, g & 1 ? "1" : "0")) != 0 ||
	    (r = q(b, g & 2 ? "1" : "0")) != 0)
		goto nomem;
	json_array_foreach(ops, i, o)
		if (guarded(o) && (strcmp(jstr(o, "op"), "file") == 0 ||
		    strcmp(jstr(o, "op"), "directory") == 0) &&
		    (r = q(b, jstr(o, "id"))) != 0)
			goto nomem;
	if (g & 2)
		for (i = 0; ufw_files[i] != NULL; i++)
			if ((r = q(b, ufw_files[i])) != 0)
				goto nomem;
	if ((r = emit_content(b, rv.buf)) != 0)
		goto nomem;
	goto out;
 nomem:
	r = vp_fail(cause, r, "cannot build the apply script: %s",
	    vp_strerror(r));
 out:
	vp_buf_release(&rv);
	return r;
}

static int	apply_script(const char *, const json_t *,
		    const struct vp_argv *, int, struct vp_buf *, char **);

int
vp_host_apply_script(const char *datadir, const json_t *ops,
    const struct vp_argv *verify_query, struct vp_buf *out, char **cause)
{
	return apply_script(datadir, ops, verify_query, 0, out, cause);
}

/* arm_s > 0: arm a commit-confirmed revert of sshd/ufw for arm_s s. */
static int
apply_script(const char *datadir, const json_t *ops,
    const struct vp_argv *verify_query, int arm_s, struct vp_buf *out,
    char **cause)
{
	const json_t	*o;
	size_t		 i;
	int		 r, g, apt_in = 0, apt_rm = 0;

	if ((r = vp_buf_adds(out, "{\n")) != 0 ||
	    (r = vp_host_script(datadir, "apply.sh", out, cause)) != 0)
		goto out;
	g = arm_s > 0 ? guarded_all(ops) : 0;
	json_array_foreach(ops, i, o) {
		if (jbool_or(o, "info", 0) || strcmp(jstr(o, "action"),
		    "noop") == 0)
			continue;
		/* arm right before the first sshd/ufw change: packages
		 * installed by this apply are in place and stay */
		if (g != 0 && guarded(o)) {
			if ((r = emit_arm(out, datadir, ops, arm_s, g,
			    cause)) != 0)
				goto out;
			g = 0;
		}
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
	json_decref(res->warnings);
	res->facts_after = res->ops_after = res->warnings = NULL;
}

/* Append "OP ID: msg" (secrets masked) to res->warnings. */
static void
add_warning(struct vp_host_result *res, const json_t *want, const json_t *o,
    const char *msg, size_t len)
{
	struct vp_buf b = VP_BUF_INIT(1u << 16);

	if (res->warnings == NULL && (res->warnings = json_array()) == NULL)
		return;
	if (vp_buf_addf(&b, "%s %s: %.*s", jstr(o, "op"), jstr(o, "id"),
	    (int)len, msg) == 0 && vp_host_mask(&b, want) == 0)
		json_array_append_new(res->warnings, json_string(b.buf));
	vp_buf_release_secure(&b);
}

/* "@warn N msg" lines of the apply output -> res->warnings. */
static void
collect_warnings(struct vp_host_result *res, const json_t *want,
    const json_t *ops, const char *out)
{
	const char	*p = out, *msg, *nl;
	long		 n;

	while ((p = strstr(p, "@warn ")) != NULL) {
		if (p != out && p[-1] != '\n') {
			p += 6;
			continue;
		}
		n = strtol(p + 6, (char **)&msg, 10);
		if (*msg == ' ')
			msg++;
		nl = strchr(msg, '\n');
		if (n > 0)
			add_warning(res, want, json_array_get(ops,
			    (size_t)n - 1), msg, nl ? (size_t)(nl - msg) :
			    strlen(msg));
		p = nl ? nl : msg + strlen(msg);
	}
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
	if (n == 0)
		return vp_fail(cause, VP_ERR_REMOTE, "'%s': step 'arm' (the "
		    "commit-confirmed revert of sshd/ufw; nothing changed): "
		    "%.*s", vp_target_name(t),
		    (int)(nl ? nl - msg : (long)strlen(msg)), msg);
	o = json_array_get(ops, (size_t)(n > 0 ? n - 1 : 0));
	return vp_fail(cause, VP_ERR_REMOTE, "'%s': step %ld (%s %s: %s): "
	    "%.*s", vp_target_name(t), n, jstr(o, "op"), jstr(o, "id"),
	    jstr(o, "action"), (int)(nl ? nl - msg : (long)strlen(msg)), msg);
}

/* sshd's first port in facts ("sshd": {"port": "22" | [...]}), or 0. */
static int
facts_ssh_port(const json_t *facts)
{
	const json_t	*v = json_object_get(json_object_get(facts, "sshd"),
			    "port");

	if (json_is_array(v))
		v = json_array_get(v, 0);
	return json_is_string(v) ? atoi(json_string_value(v)) : 0;
}

static const char disarm_sh[] =
    "d=" CONFIRM_DIR "\n"
    "if [ -e \"$d/armed\" ]; then\n"
    "\trm -f -- \"$d/armed\"\n"
    "\tkill \"$(cat \"$d/pid\")\" 2>/dev/null\n"
    "\trm -f -- /run/vpai-confirm.armed /etc/cron.d/vpai-confirm-revert "
    "/etc/systemd/system/vpai-confirm-revert.service "
    "/etc/systemd/system/multi-user.target.wants/"
    "vpai-confirm-revert.service\n"
    "\trm -rf -- \"$d\"\n"
    "\techo @vpai-confirmed\n"
    "else\n"
    "\techo @vpai-not-armed\n"
    "fi\n";

static const char reverted_sh[] =
    "d=" CONFIRM_DIR "\n"
    "if [ -e \"$d/reverted\" ]; then\n"
    "\trm -rf -- \"$d\"\n"
    "\techo @vpai-reverted\n"
    "fi\n";

/* Run script over a fresh connection on port; *ok = marker seen. */
static int
fresh_run(struct vp_target *t, int port, const char *script,
    const char *marker, int *ok, char **cause)
{
	struct vp_target	*n = NULL;
	struct vp_target_result	 tr = VP_TARGET_RESULT_INIT;
	const char		*argv[] = { "sh", "-s", NULL };
	int			 r;

	*ok = 0;
	if ((r = vp_target_reopen(t, port, &n, cause)) != 0)
		goto out;
	if ((r = vp_target_run(n, argv, script, strlen(script), &tr,
	    cause)) != 0)
		goto out;
	*ok = tr.status == 0 && strstr(tr.out.buf, marker) != NULL;
 out:
	vp_target_result_release(&tr);
	vp_target_close(n);
	return r;
}

/*
 * Commit-confirmed, after a verified apply: disarm through a fresh
 * connection on the new port, or wait for the host's revert and check
 * that the old path works again.
 */
/*
 * The timer started somewhere between sent (the script was sent) and done
 * (its output came back): packages installed before the arm can take
 * minutes.  Poll for the revert from sent + seconds to done + seconds.
 */
static int
confirm(struct vp_target *t, int seconds, time_t sent, time_t done,
    struct vp_host_result *res, char **cause)
{
	char	*c1 = NULL, *c2 = NULL;
	int	 port, old = vp_target_port(t), ok = 0, r;
	time_t	 until = sent + seconds + 2;

	port = res->ssh_port > 0 ? res->ssh_port : old;
	r = fresh_run(t, port, disarm_sh, "@vpai-confirmed", &ok, &c1);
	if (r == VP_OK && ok) {
		res->confirmed = 1;
		return VP_OK;
	}
	if (r == VP_OK)
		c1 = strdup("the revert timer had already fired; raise "
		    "\"confirm\": {\"timeout\": S}");
	/* the host reverts by itself: wait for it, then check */
	while (time(NULL) < until)
		sleep(1);
	for (;;) {
		free(c2);
		c2 = NULL;
		if (fresh_run(t, old, reverted_sh, "@vpai-reverted", &ok,
		    &c2) == VP_OK && ok)
			break;
		if (time(NULL) > done + seconds + 12)
			break;
		sleep(2);
	}
	if (ok)
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': step 'confirm': a "
		    "fresh ssh connection on port %d failed after the sshd/ufw "
		    "change (%s); the host reverted the change by itself "
		    "after %d s and is reachable again", vp_target_name(t),
		    port ? port : 22, c1 ? c1 : "?", seconds);
	else
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': step 'confirm': a "
		    "fresh ssh connection on port %d failed after the sshd/ufw "
		    "change (%s), and the revert could not be checked on port "
		    "%d: %s", vp_target_name(t), port ? port : 22,
		    c1 ? c1 : "?", old ? old : 22, c2 ? c2 :
		    "no revert recorded in " CONFIRM_DIR);
	free(c1);
	free(c2);
	return r;
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
	time_t			 armed = 0, done;
	size_t			 pending;
	int			 r, arm_s = 0;

	res->changed = vp_host_plan_changes(ops);
	res->noop = 0;
	json_array_foreach(ops, i, o)
		if (!jbool_or(o, "info", 0) && strcmp(jstr(o, "action"),
		    "noop") == 0)
			res->noop++;
	if (res->changed == 0)
		return VP_OK;
	if (vp_target_is_ssh(t) && guarded_all(ops) != 0)
		arm_s = confirm_timeout(want);
	if ((r = vp_host_facts_query(want, &qa, cause)) != 0 ||
	    (r = apply_script(datadir, ops, &qa, arm_s, &script, cause)) != 0)
		goto out;
	armed = time(NULL);
	if ((r = vp_target_run(t, argv, script.buf, script.len, &tr,
	    cause)) != 0) {
		host_step_cause(t, "apply", r, cause);
		goto out;
	}
	done = time(NULL);
	if (tr.status != 0 || (m = strstr(tr.out.buf, MARK_FACTS "\n")) ==
	    NULL) {
		r = report_failure(t, ops, tr.out.buf, &tr, cause);
		if (arm_s > 0 && strstr(tr.out.buf, "@ok 0\n") != NULL &&
		    cause != NULL && *cause != NULL) {
			char *c = NULL;

			if (asprintf(&c, "%s; the host restores its previous "
			    "sshd/ufw configuration by itself within %d s "
			    "(commit-confirmed)", *cause, arm_s) >= 0) {
				free(*cause);
				*cause = c;
			}
		}
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
	/*
	 * "soft" ops (tailscale up) may still be pending: a warning, never
	 * a failed verify (the VPN never blocks a converge).
	 */
	collect_warnings(res, want, ops, tr.out.buf);
	pending = 0;
	json_array_foreach(res->ops_after, i, o) {
		if (jbool_or(o, "info", 0) || strcmp(jstr(o, "action"),
		    "noop") == 0)
			continue;
		if (!jbool_or(o, "soft", 0)) {
			pending++;
			continue;
		}
		{
			char *w = NULL;

			if (asprintf(&w, "still not done after apply (%s)",
			    jstr(o, "why")) >= 0)
				add_warning(res, want, o, w, strlen(w));
			free(w);
		}
	}
	if (pending != 0) {
		json_array_foreach(res->ops_after, i, o)
			if (!jbool_or(o, "info", 0) && !jbool_or(o, "soft",
			    0) && strcmp(jstr(o, "action"), "noop") != 0)
				break;
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': step 'verify': %s "
		    "%s is still not as wanted after apply (%s)",
		    vp_target_name(t), jstr(o, "op"), jstr(o, "id"),
		    jstr(o, "why"));
		/* an armed revert still fires: the host restores itself */
		goto out;
	}
	res->ssh_port = facts_ssh_port(res->facts_after);
	if (arm_s > 0)
		r = confirm(t, arm_s, armed, done, res, cause);
 out:
	vp_argv_release(&qa);
	vp_buf_release_secure(&script);
	vp_target_result_release(&tr);
	return r;
}
