/*
 * cmd-apply.c: `vpai apply`: render, check, write the bundle to the stack
 * root, then converge the containers phase by phase, health-gated
 * (deploy/deploy.h).  With --target ssh://..., the host roles first (as
 * `vpai converge`), then the same deploy with every docker command and
 * every stack file going through the transport (host/host.h, "remote
 * stack deploy"; docs/DEPLOY.md).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "check/check.h"
#include "cmd/apply-backup.h"
#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "cmd/releases.h"
#include "core/file.h"
#include "core/opt.h"
#include "deploy/deploy.h"
#include "deploy/prune.h"
#include "host/host.h"
#include "site/site.h"
#include "stack/stack.h"
#include "transport/transport.h"

extern const struct vp_cmd vp_cmd_apply;

static volatile sig_atomic_t apply_stop;

static void
on_signal(int sig)
{
	(void)sig;
	apply_stop = 1;
}

struct apply_ctx {
	const struct vp_ctx	*ctx;
	struct vp_pipeline	*p;		/* NULL with --compose */
	const char		*root;
	const char		*probe;
	char *const		*only;
	size_t			 nonly;
	int			 nwritten;
	int			 ndirs;
	int			 probe_changed;
	struct vp_target	*t;		/* NULL: this machine */
	unsigned		 push_trips;
	struct deploy_stale	 stale;		/* local full apply only */
};

static void
progress(void *arg, const struct deploy_event *ev)
{
	const struct apply_ctx *a = arg;

	if (a->ctx->quiet && ev->type != DEPLOY_EV_FAIL)
		return;
	switch (ev->type) {
	case DEPLOY_EV_STEP:
		printf("apply: %s\n", ev->msg);
		break;
	case DEPLOY_EV_WAIT:
	case DEPLOY_EV_READY:
	case DEPLOY_EV_FAIL:
		printf("  phase %s  %-16s %-22s %6.1fs%s\n", ev->phase,
		    ev->service, ev->state, ev->elapsed,
		    ev->type == DEPLOY_EV_READY ? "  ready" :
		    ev->type == DEPLOY_EV_FAIL ? "  FAILED" : "");
		break;
	}
	fflush(stdout);
}

static int
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: sleeps wake up */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0)
		return VP_ERR_IO;
	return VP_OK;
}

/* Called by deploy_apply() once the preflight passed. */
static int
prepare(void *arg, char **cause)
{
	struct apply_ctx	*a = arg;
	const json_t		*svcs;
	int			 r;

	if (a->p != NULL && a->t != NULL) {
		struct vp_host_stack		s;
		struct vp_host_stack_result	sr;

		memset(&s, 0, sizeof(s));
		s.bundle = a->p->bundle;
		s.root = a->root;
		s.only = a->only;
		s.nonly = a->nonly;
		s.probe = a->probe;
		s.secrets = a->p->secrets;
		if ((r = vp_host_stack_push(a->t, a->ctx->stack_dir, &s, &sr,
		    cause)) != 0) {
			vp_fail_prefix(cause, r, "step 'stack files'");
			return r;
		}
		a->nwritten = sr.nwritten;
		a->ndirs = sr.ndirs;
		a->probe_changed = sr.probe_changed;
		a->push_trips = sr.trips;
		if (!a->ctx->quiet) {
			printf("apply: %s:%s: %zu files, %d written%s, %d "
			    "directories created, %d owners set (%u round "
			    "trip%s)\n", vp_target_name(a->t), a->root,
			    a->p->bundle->n, a->nwritten, a->probe_changed ?
			    " (and the probe)" : "", a->ndirs, sr.nowned,
			    sr.trips, sr.trips == 1 ? "" : "s");
			fflush(stdout);
		}
	} else if (a->p != NULL) {
		svcs = json_object_get(a->p->bundle->model, "services");
		if ((a->nonly == 0 && (r = deploy_stale_find(a->p->bundle,
		    a->root, &a->stale, cause)) != 0) ||
		    (r = bundle_write(a->p->bundle, a->root, &a->nwritten,
		    cause)) != 0 ||
		    (r = deploy_install_probe(a->probe, a->root,
		    &a->probe_changed, cause)) != 0 ||
		    (r = deploy_data_dirs(svcs, a->root, a->only, a->nonly,
		    &a->ndirs, cause)) != 0)
			return r;
		if (!a->ctx->quiet) {
			printf("apply: %s: %zu files, %d written%s, %d data "
			    "directories created\n", a->root,
			    a->p->bundle->n, a->nwritten,
			    a->probe_changed ? " (and the probe)" : "",
			    a->ndirs);
			fflush(stdout);
		}
	}
	/* After bundle_write: its lock-file handler must not replace ours. */
	return install_signals();
}

/*
 * After a full local apply: remove the bundle files of the last apply
 * that the stack no longer has (deploy/prune.h), after the containers
 * that read them are gone; name the edited ones, which stay.
 */
static int
stale_files(const struct vp_ctx *ctx, struct apply_ctx *a, char **cause)
{
	size_t	i;
	int	r;

	r = deploy_stale_remove(a->root, &a->stale, cause);
	for (i = 0; i < a->stale.nremoved && !ctx->quiet; i++)
		printf("apply: removed %s/%s: no longer in the stack\n",
		    a->root, a->stale.remove.v[i]);
	for (i = 0; i < a->stale.edited.n; i++)
		fprintf(stderr, "vpai apply: warning: kept %s/%s: no longer "
		    "in the stack but edited since vpai wrote it (remove it "
		    "by hand)\n", a->root, a->stale.edited.v[i]);
	if (r == 0)
		r = deploy_bundle_record(a->p->bundle, a->root, cause);
	return r;
}

/*
 * Provisioning after health: the n8n owner account (when n8n is part of
 * this apply).  n8n listens on 5678 (stack/services/n8n.yml).
 */
static int
provision(const struct vp_ctx *ctx, const struct deploy_opts *o,
    const struct vp_pipeline *p, struct vp_target *t, char **cause)
{
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	const struct deploy_ctr	*c;
	const json_t		*vars = site_vars(p->site);
	const char		*email, *pw;
	char			 base[128], fwdir[] = "/tmp/vpai-fwd.XXXXXX";
	char			*sock = NULL;
	size_t			 i;
	int			 r, created = 0, fwd = 0, mkd = 0;

	if (json_object_get(json_object_get(o->compose, "services"), "n8n") ==
	    NULL)
		return VP_OK;
	for (i = 0; i < o->nonly; i++)
		if (strcmp(o->only[i], "n8n") == 0)
			break;
	if (o->nonly > 0 && i == o->nonly)
		return VP_OK;
	email = json_string_value(json_object_get(vars, "n8n_owner_email"));
	pw = json_string_value(json_object_get(p->secrets,
	    "n8n_owner_password"));
	if (email == NULL || *email == '\0' || pw == NULL || *pw == '\0') {
		if (!ctx->quiet)
			printf("apply: n8n owner: n8n_owner_email or "
			    "n8n_owner_password not set; skipped\n");
		return VP_OK;
	}
	if ((r = deploy_list(o->project, &cs, cause)) != 0)
		goto out;
	if ((c = deploy_ctrs_find(&cs, "n8n")) == NULL || *c->ip == '\0') {
		r = vp_fail(cause, VP_ERR_NOTFOUND, "n8n owner: no address for "
		    "the n8n container");
		goto out;
	}
	snprintf(base, sizeof(base), "http://%s:5678", c->ip);
	if (t != NULL) {
		/*
		 * The container's address is the target's, not ours: n8n's
		 * port comes through the ControlMaster onto a unix socket in
		 * a private 0700 directory.
		 */
		if (mkdtemp(fwdir) == NULL) {
			r = vp_fail(cause, VP_ERR_IO, "cannot create a "
			    "directory for the n8n forward: %s",
			    strerror(errno));
			goto out;
		}
		mkd = 1;
		if ((sock = vp_path_join(fwdir, "n8n.sock")) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		if ((r = vp_host_forward(t, sock, c->ip, 5678, 0,
		    cause)) != 0) {
			vp_fail_prefix(cause, r, "provisioning");
			goto out;
		}
		fwd = 1;
		snprintf(base, sizeof(base), "http://n8n:5678");
	}
	if ((r = deploy_n8n_owner_at(base, sock, email, pw, &created,
	    cause)) != 0) {
		vp_fail_prefix(cause, r, "provisioning");
		goto out;
	}
	if (!ctx->quiet)
		printf("apply: n8n owner %s %s\n", email, created ? "created" :
		    "already set up");
 out:
	if (fwd)
		(void)vp_host_forward(t, sock, c->ip, 5678, 1, NULL);
	if (sock != NULL)
		unlink(sock);
	if (mkd)
		rmdir(fwdir);
	free(sock);
	deploy_ctrs_release(&cs);
	return r;
}

/* $VPAI_PROBE, else vpai-probe next to this binary. */
static char *
find_probe(void)
{
	const char	*env = getenv("VPAI_PROBE");
	char		 self[PATH_MAX];
	ssize_t		 n;

	if (env != NULL && *env != '\0')
		return strdup(env);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return strdup("vpai-probe");
	self[n] = '\0';
	return vp_path_join(dirname(self), "vpai-probe");
}

/* "a,b" "c" -> a b c (borrowed into one allocation). */
static int
split_only(const struct vp_argv *in, struct vp_argv *out)
{
	char	*s, *t, *save;
	size_t	 i;
	int	 r;

	for (i = 0; i < in->n; i++) {
		if ((s = strdup(in->v[i])) == NULL)
			return VP_ERR_NOMEM;
		for (t = strtok_r(s, ",", &save); t != NULL;
		    t = strtok_r(NULL, ",", &save))
			if ((r = vp_argv_push(out, t)) != 0) {
				free(s);
				return r;
			}
		free(s);
	}
	return VP_OK;
}

static int
run_check(const struct vp_ctx *ctx, struct vp_pipeline *p, char **cause)
{
	struct check_report	 rep = CHECK_REPORT_INIT;
	struct vp_buf		 b = VP_BUF_INIT(VP_BUF_DEFAULT_CAP);
	int			 r;

	if ((r = check_bundle(ctx->stack_dir, site_vars(p->site), p->secrets,
	    p->bundle, &rep, cause)) != 0)
		goto out;
	if (rep.nerr > 0) {
		if ((r = check_report_format(&rep, 1, &b)) != 0)
			goto out;
		fputs(b.buf, stderr);
		r = vp_fail(cause, VP_ERR_CHECK, "check found %zu error%s; "
		    "nothing was changed", rep.nerr, rep.nerr == 1 ? "" : "s");
		goto out;
	}
	if (rep.nwarn > 0 && !ctx->quiet)
		printf("apply: check: %zu warning%s (vpai check shows them)\n",
		    rep.nwarn, rep.nwarn == 1 ? "" : "s");
 out:
	vp_buf_release(&b);
	check_report_release(&rep);
	return r;
}

static void
print_result(const struct vp_ctx *ctx, const struct deploy_result *res,
    const struct apply_ctx *a, int r)
{
	size_t	i, nc = 0, nr = 0, nu = 0, ns = 0;

	for (i = 0; i < res->repaired.n; i++)
		printf("apply: removed network %s so that compose recreates "
		    "it\n", res->repaired.v[i]);
	for (i = 0; i < res->removed.n; i++)
		printf("apply: removed container %s: no longer in the stack "
		    "(its volumes and data directories are kept)\n",
		    res->removed.v[i]);
	for (i = 0; i < res->n; i++) {
		const struct deploy_svc *s = &res->v[i];

		switch (s->change) {
		case DEPLOY_CREATED:
			nc++;
			break;
		case DEPLOY_RECREATED:
			nr++;
			break;
		case DEPLOY_UNCHANGED:
			nu++;
			break;
		case DEPLOY_STARTED:
			ns++;
			break;
		default:
			break;
		}
		if (!ctx->quiet || r != 0)
			printf("  %-16s phase %s  %-11s %s\n", s->service,
			    s->phase, deploy_change_name(s->change),
			    s->state);
	}
	if (r != 0 || ctx->quiet)
		return;
	if (nc + nr + ns == 0 && a->nwritten == 0 && !a->probe_changed &&
	    a->ndirs == 0 && res->removed.n == 0 && a->stale.nremoved == 0)
		printf("apply: nothing changed: %zu containers up to date, no "
		    "file written (%.1fs)\n", nu, res->elapsed);
	else
		printf("apply: %zu created, %zu recreated, %zu started, %zu "
		    "unchanged; all healthy in %.1fs\n", nc, nr, ns, nu,
		    res->elapsed);
}

/*
 * The site's ssh target: ssh://USER@IP:PORT from prod_* (preprod_* with
 * target_env preprod), as `vpai plan`/`vpai converge` default to.
 */
static char *
site_target(const json_t *vars)
{
	const char	*env = json_string_value(json_object_get(vars,
			    "target_env"));
	const char	*pre = env && strcmp(env, "preprod") == 0 ? "preprod_" :
			    "prod_";
	const char	*ip, *user;
	char		 k[64], *t = NULL;
	json_int_t	 port;

	snprintf(k, sizeof(k), "%sip", pre);
	ip = json_string_value(json_object_get(vars, k));
	snprintf(k, sizeof(k), "%suser", pre);
	user = json_string_value(json_object_get(vars, k));
	snprintf(k, sizeof(k), "%sssh_port", pre);
	port = json_integer_value(json_object_get(vars, k));
	if (ip == NULL || *ip == '\0')
		return NULL;
	if (asprintf(&t, "ssh://%s%s%s:%lld", user ? user : "",
	    user ? "@" : "", ip, port > 0 ? (long long)port : 22LL) < 0)
		return NULL;
	return t;
}

/*
 * The operator-side directory of a remote target:
 * <site dir>/.vpai/targets/<user@host_port>/ (0700), holding the deploy
 * state (the no-op fast path) and the release records of that target.
 */
static int
target_dir(const struct vp_ctx *ctx, struct vp_target *t, char **out,
    char **cause)
{
	const char	*n = vp_target_name(t);
	char		*key, *k, *base = NULL;
	int		 r;

	*out = NULL;
	if (strncmp(n, "ssh://", 6) == 0)
		n += 6;
	if ((key = strdup(n)) == NULL)
		return VP_ERR_NOMEM;
	for (k = key; *k != '\0'; k++)
		if (*k == '/' || *k == ':' || *k == '[' || *k == ']')
			*k = '_';
	if (asprintf(&base, "%s/.vpai/targets/%s", ctx->site_dir, key) < 0) {
		base = NULL;
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = vp_mkdir_p(base, 0700, cause)) != 0)
		goto out;
	*out = base;
	base = NULL;
 out:
	free(key);
	free(base);
	return r;
}

static void
print_roles(const struct vp_ctx *ctx, const json_t *skipped,
    const json_t *ops, const struct vp_host_result *hr)
{
	const json_t	*v;
	size_t		 i;

	if (ctx->quiet)
		return;
	json_array_foreach(skipped, i, v)
		printf("apply: role %s: skipped: %s\n", json_string_value(
		    json_object_get(v, "role")), json_string_value(
		    json_object_get(v, "why")));
	if (vp_host_plan_changes(ops) == 0)
		printf("apply: host roles: nothing to change (%zu already "
		    "correct)\n", json_array_size(ops));
	else
		printf("apply: host roles: %zu changed, %zu already correct, "
		    "verified%s\n", hr->changed, hr->noop, hr->confirmed ?
		    "; sshd/ufw change confirmed" : "");
	json_array_foreach(hr->warnings, i, v)
		printf("apply: ! %s\n", json_string_value(v));
	fflush(stdout);
}

static int
apply_run(struct vp_ctx *ctx, int argc, char **argv)
{
	struct vp_pipeline	 p = VP_PIPELINE_INIT;
	struct vp_pipeline_opts	 po;
	struct deploy_engine	 e = DEPLOY_ENGINE_INIT;
	struct deploy_result	 res = DEPLOY_RESULT_INIT;
	struct deploy_opts	 o;
	struct apply_ctx	 a;
	struct vp_argv		 onlyv = VP_ARGV_INIT, only = VP_ARGV_INIT;
	const char		*env = NULL, *sfile = NULL, *pwfile = NULL;
	const char		*cfile = NULL, *project = NULL, *target = NULL;
	const char		*t, *ssh_config = NULL, *identity = NULL;
	const json_t		*vars;
	json_t			*cdoc = NULL, *want = NULL, *skipped = NULL;
	json_t			*hops = NULL;
	json_error_t		 je;
	char			**pos = NULL, *cause = NULL, *probe = NULL;
	char			*cpath = NULL, *spath = NULL, *deftarget = NULL;
	char			*tdir = NULL;
	struct vp_target_opts	 to = VP_TARGET_OPTS_INIT;
	struct vp_target	*tg = NULL;
	struct vp_host_result	 hres = VP_HOST_RESULT_INIT;
	struct vp_host_remote	 rm = VP_HOST_REMOTE_INIT;
	size_t			 i;
	int			 npos = 0, r, timeout = 0, sshport = 0;
	int			 become = 0, stats = 0, remote_on = 0;
	int			 nobackup = 0;
	struct timespec		 ts0, ts1;
	const struct vp_option	 opts[] = {
		VP_OPT_STRING('e', "env", &env, "ENV",
		    "prod or preprod (default: the site's target_env)"),
		VP_OPT_LIST(0, "only", &onlyv, "SERVICE[,..]",
		    "update only these services (repeatable)"),
		VP_OPT_STRING(0, "target", &target, "TARGET",
		    "local, ssh://[user@]host[:port], or site (the site's "
		    "prod_*/preprod_* host; default: the site's target)"),
		VP_OPT_STRING('F', "ssh-config", &ssh_config, "FILE",
		    "ssh client config (default ~/.ssh/config)"),
		VP_OPT_STRING('i', "identity", &identity, "FILE",
		    "ssh private key (default: agent/config)"),
		VP_OPT_INT(0, "ssh-port", &sshport, "PORT",
		    "ssh port (overrides the target's)"),
		VP_OPT_BOOL('b', "become", &become,
		    "on the target, run as root through 'sudo -n'"),
		VP_OPT_BOOL(0, "stats", &stats,
		    "print round trips and wall time on stderr"),
		VP_OPT_STRING(0, "secrets", &sfile, "FILE",
		    "read secrets from a plain YAML file (tests)"),
		VP_OPT_STRING(0, "vault-password-file", &pwfile, "FILE",
		    "the vault password (or an executable printing it)"),
		VP_OPT_INT(0, "timeout", &timeout, "SEC",
		    "health gate per service (default: from its healthcheck)"),
		VP_OPT_BOOL(0, "no-backup", &nobackup,
		    "no pre-update backup when a stateful image changes"),
		VP_OPT_STRING(0, "compose", &cfile, "FILE",
		    "deploy this JSON compose file as is, no render (tests)"),
		VP_OPT_STRING('p', "project", &project, "NAME",
		    "compose project name (with --compose)"),
		VP_OPT_END()
	};

	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	a.ctx = ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts0);
	r = vp_opt_parse(argc, argv, opts, &pos, &npos, &cause);
	if (r == VP_OPT_HELP) {
		vp_cmd_usage(stdout, &vp_cmd_apply, opts);
		r = VP_OK;
		goto done;
	}
	if (r == 0 && npos > 0)
		r = vp_fail(&cause, VP_ERR_USAGE, "unexpected argument '%s'",
		    pos[0]);
	if (r == 0 && cfile != NULL && target != NULL &&
	    strcmp(target, "local") != 0)
		r = vp_fail(&cause, VP_ERR_USAGE, "--compose deploys on this "
		    "machine only (no --target)");
	if (r == 0 && (cfile == NULL) != (project == NULL))
		r = vp_fail(&cause, VP_ERR_USAGE, "--compose and --project "
		    "go together");
	if (r == 0 && env != NULL && strcmp(env, "prod") != 0 &&
	    strcmp(env, "preprod") != 0)
		r = vp_fail(&cause, VP_ERR_USAGE, "--env '%s': expected prod "
		    "or preprod", env);
	if (r != 0) {
		vp_cmd_error("apply", r, cause);
		cause = NULL;
		vp_cmd_usage(stderr, &vp_cmd_apply, opts);
		goto done;
	}
	if ((r = split_only(&onlyv, &only)) != 0)
		goto out;

	if (cfile != NULL) {
		if ((cdoc = json_load_file(cfile, 0, &je)) == NULL) {
			r = vp_fail(&cause, VP_ERR_PARSE, "%s:%d: %s", cfile,
			    je.line, je.text);
			goto out;
		}
		o.compose = cdoc;
		o.compose_file = cfile;
		o.project = project;
		if (asprintf(&spath, "%s.vpai-state", cfile) < 0) {
			spath = NULL;
			r = VP_ERR_NOMEM;
			goto out;
		}
	} else {
		memset(&po, 0, sizeof(po));
		po.env = env;
		po.secrets_file = sfile;
		po.vault_password_file = pwfile;
		if ((r = vp_pipeline_load(ctx, &po, &p, &cause)) != 0)
			goto out;
		vars = site_vars(p.site);
		t = target ? target : json_string_value(json_object_get(vars,
		    "target"));
		if (t != NULL && (strcmp(t, "site") == 0 || strcmp(t, "ssh") ==
		    0)) {
			if ((t = deftarget = site_target(vars)) == NULL) {
				r = vp_fail(&cause, VP_ERR_USAGE, "target ssh: "
				    "the site has no prod_ip/preprod_ip; give "
				    "--target ssh://[user@]host[:port]");
				goto out;
			}
		}
		if (t == NULL || (strcmp(t, "local") != 0 &&
		    strncmp(t, "ssh://", 6) != 0)) {
			r = vp_fail(&cause, VP_ERR_USAGE, "target '%s': expected "
			    "local, ssh://[user@]host[:port] or site",
			    t ? t : "?");
			goto out;
		}
		if ((r = run_check(ctx, &p, &cause)) != 0)
			goto out;
		if (strcmp(t, "local") != 0) {
			to.ssh_config = ssh_config;
			to.identity = identity;
			to.port = sshport;
			to.become = become;
			if ((r = vp_target_open(t, &to, &tg, &cause)) != 0)
				goto out;
			a.t = tg;
			if (!ctx->quiet) {
				printf("apply: target %s: host roles\n", t);
				fflush(stdout);
			}
			/* the first round trip: nothing changed before it */
			if ((r = vp_host_converge_roles(tg, ctx->stack_dir,
			    vars, p.bundle, p.secrets, &want, &skipped, &hops,
			    &hres, &cause)) != 0) {
				vp_fail_prefix(&cause, r, "step 'host roles'");
				goto out;
			}
			print_roles(ctx, skipped, hops, &hres);
			if ((r = target_dir(ctx, tg, &tdir, &cause)) != 0)
				goto out;
			vp_host_remote_begin(&rm, tg);
			remote_on = 1;
		}
		a.p = &p;
		a.root = json_string_value(json_object_get(vars,
		    "stack_root"));
		if (a.root == NULL || *a.root != '/') {
			r = vp_fail(&cause, VP_ERR_INVALID, "stack_root: "
			    "expected an absolute path");
			goto out;
		}
		if ((probe = find_probe()) == NULL ||
		    (cpath = vp_path_join(a.root, "docker-compose.yml")) ==
		    NULL || (spath = vp_path_join(tdir ? tdir : a.root, tdir ?
		    "deploy-state.json" : ".vpai-deploy-state.json")) ==
		    NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		if (!vp_file_exists(probe)) {
			r = vp_fail(&cause, VP_ERR_NOTFOUND, "probe binary '%s' "
			    "not found (build target vpai-probe, or set "
			    "VPAI_PROBE)", probe);
			goto out;
		}
		a.probe = probe;
		o.compose = json_object_get(p.bundle->model, "compose");
		o.compose_file = cpath;
		o.project = json_string_value(json_object_get(vars,
		    "project_name"));
		o.pull = json_string_value(json_object_get(vars,
		    "image_set")) != NULL && strcmp(json_string_value(
		    json_object_get(vars, "image_set")), "upstream") == 0;
	}
	a.only = only.v;
	a.nonly = only.n;
	o.only = only.v;
	o.nonly = only.n;
	o.state_file = spath;
	o.timeout_s = timeout;
	o.stop = &apply_stop;
	o.progress = progress;
	o.prepare = prepare;
	o.arg = &a;

	if ((r = deploy_engine_detect(&e, &cause)) != 0) {
		if (tg != NULL)
			vp_fail_prefix(&cause, r, "'%s': step 'docker'",
			    vp_target_name(tg));
		goto out;
	}
	if (!ctx->quiet) {
		printf("apply: project %s on docker %s with %s%s%s\n",
		    o.project, e.server_version, e.compose_v2 ?
		    "docker compose (v2)" : "docker-compose (v1)",
		    tg ? " on " : "", tg ? vp_target_name(tg) : "");
		fflush(stdout);
	}
	/* the cron job, and the pre-update backup (src/cmd/apply-backup.c) */
	if ((r = vp_apply_backup(ctx, &(struct vp_apply_backup){ a.p, &o,
	    a.root, pwfile, sfile, nobackup }, &cause)) != 0)
		goto out;
	r = deploy_apply(&e, &o, &res, &cause);
	if (r == 0 && a.p != NULL && tg == NULL && a.nonly == 0)
		r = stale_files(ctx, &a, &cause);
	if (r == 0 && a.p != NULL)
		r = provision(ctx, &o, a.p, tg, &cause);
	/* a remote target's releases are kept on this side (tdir) */
	if (r == 0 && a.p != NULL)
		r = vp_release_after_apply(ctx, tdir ? tdir : a.root,
		    o.project, a.p, sfile, &cause);
	if (r == VP_ERR_HEALTH && res.fail_logs != NULL) {
		fprintf(stderr, "%s", res.fail_logs);
		fflush(stderr);
	}
	for (i = 0; i < res.n && res.v[i].change == DEPLOY_NOT_REACHED; i++)
		;
	if (r == 0 || i < res.n || r == VP_ERR_INTERRUPTED)
		print_result(ctx, &res, &a, r);
 out:
	fflush(stdout);
	if (remote_on)
		vp_host_remote_end(&rm);
	deploy_stale_release(&a.stale);
	if (stats && tg != NULL) {
		clock_gettime(CLOCK_MONOTONIC, &ts1);
		fprintf(stderr, "vpai apply: %s: %u round trips (%u host "
		    "engine incl. %u for stack files, %u docker), %.2fs\n",
		    vp_target_name(tg), vp_target_round_trips(tg) +
		    rm.commands, vp_target_round_trips(tg), a.push_trips,
		    rm.commands, (double)(ts1.tv_sec - ts0.tv_sec) +
		    (ts1.tv_nsec - ts0.tv_nsec) / 1e9);
	}
	if (r != 0) {
		vp_cmd_error("apply", r, cause);
		cause = NULL;
	}
 done:
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	free(pos);
	free(probe);
	free(cpath);
	free(spath);
	free(deftarget);
	free(tdir);
	json_decref(want);
	json_decref(skipped);
	json_decref(hops);
	vp_host_result_release(&hres);
	vp_target_close(tg);
	free(cause);
	json_decref(cdoc);
	deploy_result_release(&res);
	deploy_engine_release(&e);
	vp_pipeline_release(&p);
	vp_argv_release(&onlyv);
	vp_argv_release(&only);
	return r;
}

const struct vp_cmd vp_cmd_apply = {
	"apply", "deploy: render, check, write the bundle, start phase A "
	"then B, health-gated",
	"apply [--env ENV] [--only SERVICE[,..]] [--secrets FILE] "
	"[--timeout SEC] [--target local|ssh://[user@]host[:port]|site] "
	"[-F SSH_CONFIG] [-i KEY] [--ssh-port N] [--become] [--no-backup] "
	"[--stats]",
	"Renders and checks the site (nothing is touched on any error), checks\n"
	"that every image exists, writes the changed bundle files to the\n"
	"stack root, creates the data directories owned by each service's\n"
	"uid, then runs `up -d --no-deps` for phase A (data and proxy) and\n"
	"waits until each service is healthy, then phase B the same way.  A\n"
	"service that does not become healthy stops the apply with its last\n"
	"log lines; healthy services keep running.  Compose recreates only\n"
	"the containers whose configuration (or config files, through the\n"
	"vpai.config-hash label) changed; a second apply changes nothing.\n"
	"Ctrl-C stops waiting and leaves the containers as they are; a re-run\n"
	"converges.  A full apply (no --only) then removes the containers of\n"
	"services no longer in the stack (a feature switched off), keeping\n"
	"their volumes and data directories.\n"
	"When a service holding data (postgresql, redis, qdrant, grafana, n8n)\n"
	"gets a new image, its data is backed up and verified first; a failed\n"
	"backup stops the apply before anything changes (--no-backup skips\n"
	"it).  The release records that backup for `vpai rollback`.  On the\n"
	"local target, apply also installs the nightly backup job in\n"
	"/etc/cron.d/PROJECT-backup (docs/BACKUP.md).\n"
	"With --target ssh://..., the host roles are converged first (as `vpai\n"
	"converge`), then the same deploy runs on that host: every docker and\n"
	"compose command over the run's one ssh connection, the stack files\n"
	"written there by the host engine, n8n reached through an ssh forward;\n"
	"the deploy state and releases stay here under .vpai/targets/.  See\n"
	"docs/DEPLOY.md.\n",
	apply_run
};
