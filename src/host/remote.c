/*
 * remote.c: what `vpai apply --target ssh://...` needs on top of the host
 * engine: the host roles converged as `vpai converge` does, docker and
 * compose routed through the transport (core/child.h's command host), a
 * unix-socket forward through the ControlMaster, and the stack's files
 * (bundle, probe, data directories) written on the target.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "host/host.h"
#include "host/internal.h"
#include "stack/stack.h"

/* ==== Host roles ==== */

int
vp_host_converge_roles(struct vp_target *t, const char *datadir,
    const json_t *vars, const struct bundle *bundle, const json_t *secrets,
    json_t **want, json_t **skipped, json_t **ops, struct vp_host_result *res,
    char **cause)
{
	json_t		*facts = NULL, *list, *v;
	const char	*k;
	int		 r;

	*want = *skipped = *ops = NULL;
	if ((r = vp_host_roles_want(datadir, vars, bundle, want, skipped,
	    cause)) != 0)
		goto out;
	/* every secret value, for masking (as `vpai converge`) */
	if ((list = json_array()) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	json_object_foreach((json_t *)(uintptr_t)secrets, k, v)
		if (json_is_string(v) && json_string_length(v) >= 4)
			json_array_append(list, v);
	json_object_set_new(*want, "secrets", list);
	if ((r = vp_host_facts_gather(t, datadir, *want, &facts, cause)) != 0)
		goto out;
	if ((r = vp_host_plan(*want, facts, ops, cause)) != 0) {
		vp_fail_prefix(cause, r, "'%s': step 'plan'",
		    vp_target_name(t));
		goto out;
	}
	r = vp_host_apply(t, datadir, *want, *ops, res, cause);
 out:
	json_decref(facts);
	return r;
}

/* ==== docker through the transport ==== */

static int
remote_argv(void *arg, char *const *argv, struct vp_argv *out, char **cause)
{
	struct vp_host_remote	*rm = arg;
	int			 r;

	if ((r = vp_target_command(rm->t, (const char *const *)argv, out,
	    cause)) == 0)
		__atomic_add_fetch(&rm->commands, 1, __ATOMIC_RELAXED);
	return r;
}

void
vp_host_remote_begin(struct vp_host_remote *rm, struct vp_target *t)
{
	rm->t = t;
	rm->commands = 0;
	vp_child_set_remote(remote_argv, rm);
}

int
vp_host_remote_connect(struct vp_target *t, char **cause)
{
	struct vp_target_result	 res = VP_TARGET_RESULT_INIT;
	const char		*argv[] = { "true", NULL };
	int			 r;

	if ((r = vp_target_run(t, argv, NULL, 0, &res, cause)) == 0 &&
	    res.status != 0)
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': 'true' exited %d",
		    vp_target_name(t), res.status);
	if (r != 0)
		vp_fail_prefix(cause, r, "step 'connect'");
	vp_target_result_release(&res);
	return r;
}

void
vp_host_remote_end(struct vp_host_remote *rm)
{
	(void)rm;
	vp_child_set_remote(NULL, NULL);
}

/*
 * ssh -O forward|cancel -L SOCK:HOST:PORT: the transport's own ssh
 * options (config, identity, ControlPath, port, user) are those of
 * vp_target_command() up to its "-T -- HOST COMMAND" tail.
 */
int
vp_host_forward(struct vp_target *t, const char *sock, const char *host,
    int port, int cancel, char **cause)
{
	struct vp_argv	 cmd = VP_ARGV_INIT;
	struct vp_child	 c = VP_CHILD_INIT;
	const char	*probe[] = { "true", NULL };
	char		 line[256];
	size_t		 i, n;
	int		 r;

	if (!vp_target_is_ssh(t))
		return vp_fail(cause, VP_ERR_USAGE, "'%s': forwarding needs an "
		    "ssh target", vp_target_name(t));
	if ((r = vp_target_command(t, probe, &cmd, cause)) != 0)
		goto out;
	/* ... "-T" "--" HOST 'true' */
	n = cmd.n;
	if (n < 5 || strcmp(cmd.v[n - 4], "-T") != 0 ||
	    strcmp(cmd.v[n - 3], "--") != 0) {
		r = vp_fail(cause, VP_ERR_INVALID, "'%s': unexpected ssh "
		    "command shape", vp_target_name(t));
		goto out;
	}
	for (i = 0; i < n - 4; i++)
		if ((r = vp_argv_push(&c.args, cmd.v[i])) != 0)
			goto out;
	if ((r = vp_argv_pushl(&c.args, "-O", cancel ? "cancel" : "forward",
	    "-L", NULL)) != 0 ||
	    (r = vp_argv_pushf(&c.args, "%s:%s:%d", sock, host, port)) != 0 ||
	    (r = vp_argv_pushl(&c.args, "--", cmd.v[n - 2], NULL)) != 0)
		goto out;
	c.timeout_ms = 15000;
	if ((r = vp_child_run(&c, cause)) < 0) {
		vp_fail_prefix(cause, VP_ERR_REMOTE, "'%s': port forward",
		    vp_target_name(t));
		r = VP_ERR_REMOTE;
		goto out;
	}
	if (r != 0) {
		snprintf(line, sizeof(line), "%s", c.err.buf);
		line[strcspn(line, "\n")] = '\0';
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': ssh -O %s -L ...:%s:%d "
		    "failed: %s", vp_target_name(t), cancel ? "cancel" :
		    "forward", host, port, *line ? line : "no ControlMaster");
		goto out;
	}
	r = VP_OK;
 out:
	vp_argv_release(&cmd);
	vp_child_release(&c);
	return r;
}

/* ==== The stack's files ==== */

/* What must be owned by a numeric uid:gid once written. */
struct own {
	char	*path;
	long	 uid;
	long	 gid;
};

struct push {
	const struct vp_host_stack	*s;
	json_t				*dirs;	/* want "directories" */
	json_t				*files;	/* want "files" */
	struct own			*own;
	size_t				 nown;
};

static int
add_own(struct push *p, const char *path, long uid, long gid)
{
	struct own	*nv;

	if (uid < 0 && gid < 0)
		return VP_OK;
	if ((nv = realloc(p->own, (p->nown + 1) * sizeof(*nv))) == NULL)
		return VP_ERR_NOMEM;
	p->own = nv;
	if ((nv[p->nown].path = strdup(path)) == NULL)
		return VP_ERR_NOMEM;
	nv[p->nown].uid = uid;
	nv[p->nown].gid = gid;
	p->nown++;
	return VP_OK;
}

/* A directory entry once (mode NULL: 0755 when created, else kept). */
static int
add_dir(struct push *p, const char *path, const char *mode)
{
	const json_t	*v;
	size_t		 i;

	json_array_foreach(p->dirs, i, v)
		if (strcmp(jstr(v, "path"), path) == 0) {
			if (mode != NULL)
				json_object_set_new((json_t *)(uintptr_t)v,
				    "mode", json_string(mode));
			return VP_OK;
		}
	v = mode ? json_pack("{s:s,s:s}", "path", path, "mode", mode) :
	    json_pack("{s:s}", "path", path);
	if (v == NULL || json_array_append_new(p->dirs, (json_t *)v) != 0)
		return VP_ERR_NOMEM;
	return VP_OK;
}

/* root/rel's directories: ancestors plain, the parent with its attrs. */
static int
bundle_dirs(struct push *p, const char *rel)
{
	const struct vp_host_stack	*s = p->s;
	char				*d = NULL, *full = NULL, *sl;
	char				 m[8];
	mode_t				 mode;
	uid_t				 uid;
	gid_t				 gid;
	int				 r = VP_OK;

	if (strchr(rel, '/') == NULL)
		return VP_OK;
	if ((d = strndup(rel, (size_t)(strrchr(rel, '/') - rel))) == NULL)
		return VP_ERR_NOMEM;
	for (sl = strchr(d, '/'); sl != NULL; sl = strchr(sl + 1, '/')) {
		*sl = '\0';
		full = vp_path_join(s->root, d);
		*sl = '/';
		if (full == NULL || (r = add_dir(p, full, NULL)) != 0) {
			r = r ? r : VP_ERR_NOMEM;
			goto out;
		}
		free(full);
		full = NULL;
	}
	bundle_dir_attr(s->bundle, d, &mode, &uid, &gid);
	snprintf(m, sizeof(m), "%04o", (unsigned)(mode & 07777));
	if ((full = vp_path_join(s->root, d)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = add_dir(p, full, m)) != 0 || (uid != (uid_t)-1 &&
	    (r = add_own(p, full, (long)uid, gid == (gid_t)-1 ? -1 :
	    (long)gid)) != 0))
		goto out;
 out:
	free(full);
	free(d);
	return r;
}

static int
only_has(const struct vp_host_stack *s, const char *name)
{
	size_t i;

	if (s->nonly == 0)
		return 1;
	for (i = 0; i < s->nonly; i++)
		if (strcmp(s->only[i], name) == 0)
			return 1;
	return 0;
}

/* The desired state of the stack root (and what chown must fix). */
static int
build_want(struct push *p, json_t **wantp, char **cause)
{
	const struct vp_host_stack	*s = p->s;
	const struct bundle_file	*f;
	const json_t			*svcs, *svc, *vol;
	const char			*name, *src, *ms;
	json_t				*want = NULL, *sec, *fo;
	char				*full = NULL, m[8];
	size_t				 i;
	long				 uid;
	int				 r;

	if ((want = json_object()) == NULL || (p->dirs = json_array()) ==
	    NULL || (p->files = json_array()) == NULL ||
	    json_object_set(want, "directories", p->dirs) != 0 ||
	    json_object_set(want, "files", p->files) != 0)
		goto nomem;
	if ((r = add_dir(p, s->root, NULL)) != 0)
		goto out;
	for (i = 0; i < s->bundle->n; i++) {
		f = &s->bundle->files[i];
		if (f->len > 0 && (f->data == NULL ||
		    memchr(f->data, '\0', f->len) != NULL)) {
			r = vp_fail(cause, VP_ERR_INVALID, "bundle file '%s': "
			    "binary content cannot go through the host "
			    "engine", f->path);
			goto out;
		}
		if ((r = bundle_dirs(p, f->path)) != 0)
			goto out;
		free(full);
		if ((full = vp_path_join(s->root, f->path)) == NULL)
			goto nomem;
		snprintf(m, sizeof(m), "%04o", (unsigned)(f->mode & 07777));
		if ((fo = json_pack("{s:s,s:s%,s:s,s:b}", "path", full,
		    "content", f->data ? f->data : "", f->len, "mode", m,
		    "secret", f->secret)) == NULL ||
		    json_array_append_new(p->files, fo) != 0)
			goto nomem;
		if (f->uid != (uid_t)-1 && (r = add_own(p, full, (long)f->uid,
		    f->gid == (gid_t)-1 ? -1 : (long)f->gid)) != 0)
			goto out;
	}
	free(full);
	if ((full = vp_path_join(s->root, "bin")) == NULL)
		goto nomem;
	if ((r = add_dir(p, full, "0755")) != 0)
		goto out;
	/* data directories, as deploy_data_dirs() */
	svcs = json_object_get(s->bundle->model, "services");
	json_object_foreach((json_t *)(uintptr_t)svcs, name, svc) {
		if (json_is_false(json_object_get(svc, "enabled")) ||
		    !only_has(s, name))
			continue;
		json_array_foreach(json_object_get(svc, "volumes"), i, vol) {
			ms = json_string_value(json_object_get(vol, "kind"));
			src = json_string_value(json_object_get(vol,
			    "source"));
			if (ms == NULL || strcmp(ms, "data") != 0 ||
			    src == NULL)
				continue;
			ms = json_string_value(json_object_get(vol, "mode"));
			snprintf(m, sizeof(m), "%04lo", ms ? strtoul(ms, NULL,
			    8) & 07777 : 0750UL);
			uid = json_is_integer(json_object_get(vol, "owner")) ?
			    (long)json_integer_value(json_object_get(vol,
			    "owner")) : (long)json_integer_value(
			    json_object_get(svc, "uid"));
			free(full);
			if ((full = vp_path_join(s->root, src)) == NULL)
				goto nomem;
			if ((r = add_dir(p, full, m)) != 0 ||
			    (r = add_own(p, full, uid, (long)
			    json_integer_value(json_object_get(svc, "gid")))) !=
			    0)
				goto out;
		}
	}
	if ((sec = json_array()) == NULL)
		goto nomem;
	json_object_set_new(want, "secrets", sec);
	if (s->secrets != NULL) {
		const char	*k;
		json_t		*v;

		json_object_foreach((json_t *)(uintptr_t)s->secrets, k, v)
			if (json_is_string(v) && json_string_length(v) >= 4)
				json_array_append(sec, v);
	}
	if ((r = vp_host_want_check(want, "stack root", cause)) != 0)
		goto out;
	*wantp = want;
	want = NULL;
	r = VP_OK;
	goto out;
 nomem:
	r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
 out:
	free(full);
	json_decref(want);
	return r;
}

/* Facts for want plus the probe's path (its sha256, never its bytes). */
static int
gather(struct vp_target *t, const char *datadir, const json_t *want,
    const char *probe_path, json_t **facts, char **cause)
{
	char	*extra;
	int	 r;

	if (asprintf(&extra, "f:-:%s", probe_path) < 0)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	r = host_facts_gather(t, datadir, want, extra, "stack facts", facts,
	    cause);
	free(extra);
	return r;
}

/*
 * One round trip: the probe (when data is not NULL) written atomically
 * next to its place, then `chown -h UID:GID PATH` for each pair.
 */
static const char fix_sh[] =
    "set -eu\n"
    "p=$1\n"
    "shift\n"
    "if [ -n \"$p\" ]; then\n"
    "  t=\"$(dirname -- \"$p\")/.vpai-probe.vpai-tmp.$$\"\n"
    "  trap 'rm -f -- \"$t\"' EXIT HUP INT TERM\n"
    "  (umask 077 && cat >\"$t\")\n"
    "  chmod 0755 \"$t\"\n"
    "  mv -f -- \"$t\" \"$p\"\n"
    "  trap - EXIT HUP INT TERM\n"
    "fi\n"
    "while [ $# -ge 2 ]; do chown -h -- \"$1\" \"$2\"; shift 2; done\n";

static int
fixup(struct vp_target *t, const char *probe_path, const struct vp_buf *probe,
    const struct vp_argv *pairs, char **cause)
{
	struct vp_target_result	 res = VP_TARGET_RESULT_INIT;
	struct vp_argv		 argv = VP_ARGV_INIT;
	size_t			 i;
	char			 line[300];
	int			 r;

	if ((r = vp_argv_pushl(&argv, "sh", "-c", fix_sh, "vpai-stack",
	    probe ? probe_path : "", NULL)) != 0)
		goto out;
	for (i = 0; i < pairs->n; i++)
		if ((r = vp_argv_push(&argv, pairs->v[i])) != 0)
			goto out;
	if ((r = vp_target_run(t, (const char *const *)argv.v,
	    probe ? probe->buf : NULL, probe ? probe->len : 0, &res,
	    cause)) != 0)
		goto out;
	if (res.status != 0) {
		snprintf(line, sizeof(line), "%s", res.err.buf);
		line[strcspn(line, "\n")] = '\0';
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': step 'probe and "
		    "owners': %s", vp_target_name(t), *line ? line :
		    "failed");
	}
 out:
	vp_argv_release(&argv);
	vp_target_result_release(&res);
	return r;
}

int
vp_host_stack_push(struct vp_target *t, const char *datadir,
    const struct vp_host_stack *s, struct vp_host_stack_result *res,
    char **cause)
{
	struct push		 p;
	struct vp_host_result	 hr = VP_HOST_RESULT_INIT;
	struct vp_buf		 probe = VP_BUF_INIT(64u << 20);
	struct vp_argv		 pairs = VP_ARGV_INIT;
	json_t			*want = NULL, *facts = NULL, *ops = NULL, *op;
	const json_t		*ff, *fs, *after;
	char			*probe_path = NULL, sha[65];
	unsigned		 t0 = vp_target_round_trips(t);
	size_t			 i;
	int			 r, need_probe;

	memset(&p, 0, sizeof(p));
	memset(res, 0, sizeof(*res));
	p.s = s;
	if (s->root == NULL || *s->root != '/')
		return vp_fail(cause, VP_ERR_INVALID, "stack_root: expected an "
		    "absolute path");
	if ((r = vp_file_read(s->probe, &probe, cause)) != 0) {
		vp_fail_prefix(cause, r, "probe binary (build target "
		    "vpai-probe, or set VPAI_PROBE)");
		goto out;
	}
	if ((probe_path = vp_path_join(s->root, "bin/vpai-probe")) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = build_want(&p, &want, cause)) != 0 ||
	    (r = gather(t, datadir, want, probe_path, &facts, cause)) != 0)
		goto out;
	if ((r = vp_host_plan(want, facts, &ops, cause)) != 0) {
		vp_fail_prefix(cause, r, "'%s': step 'stack plan'",
		    vp_target_name(t));
		goto out;
	}
	json_array_foreach(ops, i, op) {
		if (strcmp(jstr(op, "action"), "noop") == 0)
			continue;
		if (strcmp(jstr(op, "op"), "file") == 0)
			res->nwritten++;
		else if (strcmp(jstr(op, "op"), "directory") == 0 &&
		    strcmp(jstr(op, "action"), "create") == 0)
			res->ndirs++;
	}
	if (vp_host_plan_changes(ops) > 0 && (r = vp_host_apply(t, datadir,
	    want, ops, &hr, cause)) != 0) {
		vp_fail_prefix(cause, r, "stack root '%s'", s->root);
		goto out;
	}
	after = json_object_get(hr.facts_after ? hr.facts_after : facts,
	    "files");
	fs = json_object_get(json_object_get(facts, "files"), probe_path);
	vp_host_sha256(probe.buf, probe.len, sha);
	need_probe = fs == NULL || strcmp(jstr(fs, "sha256"), sha) != 0 ||
	    strcmp(jstr(fs, "mode"), "0755") != 0;
	/* owners only as root, like bundle_write() and deploy_data_dirs() */
	if (json_integer_value(json_object_get(facts, "uid")) == 0 &&
	    json_is_integer(json_object_get(facts, "uid")))
		for (i = 0; i < p.nown; i++) {
			ff = json_object_get(after, p.own[i].path);
			if (ff != NULL && (p.own[i].uid < 0 || p.own[i].uid ==
			    json_integer_value(json_object_get(ff, "uid"))) &&
			    (p.own[i].gid < 0 || p.own[i].gid ==
			    json_integer_value(json_object_get(ff, "gid"))))
				continue;
			if ((r = p.own[i].gid < 0 ? vp_argv_pushf(&pairs,
			    "%ld", p.own[i].uid) : p.own[i].uid < 0 ?
			    vp_argv_pushf(&pairs, ":%ld", p.own[i].gid) :
			    vp_argv_pushf(&pairs, "%ld:%ld", p.own[i].uid,
			    p.own[i].gid)) != 0 ||
			    (r = vp_argv_push(&pairs, p.own[i].path)) != 0)
				goto out;
			res->nowned++;
		}
	if ((need_probe || pairs.n > 0) && (r = fixup(t, probe_path,
	    need_probe ? &probe : NULL, &pairs, cause)) != 0)
		goto out;
	res->probe_changed = need_probe;
 out:
	res->trips = vp_target_round_trips(t) - t0;
	for (i = 0; i < p.nown; i++)
		free(p.own[i].path);
	free(p.own);
	json_decref(p.dirs);
	json_decref(p.files);
	json_decref(want);
	json_decref(facts);
	json_decref(ops);
	vp_host_result_release(&hr);
	vp_argv_release(&pairs);
	vp_buf_release(&probe);
	free(probe_path);
	return r;
}
