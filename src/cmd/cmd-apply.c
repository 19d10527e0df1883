/*
 * cmd-apply.c: `vpai apply`: render, check, write the bundle to the stack
 * root, then converge the containers phase by phase, health-gated
 * (deploy/deploy.h).  Target local for now.
 */
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "check/check.h"
#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "cmd/releases.h"
#include "core/file.h"
#include "core/opt.h"
#include "deploy/deploy.h"
#include "site/site.h"
#include "stack/stack.h"

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

	if (a->p != NULL) {
		svcs = json_object_get(a->p->bundle->model, "services");
		if ((r = bundle_write(a->p->bundle, a->root, &a->nwritten,
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
 * Provisioning after health: the n8n owner account (when n8n is part of
 * this apply).  n8n listens on 5678 (stack/services/n8n.yml).
 */
static int
provision(const struct vp_ctx *ctx, const struct deploy_opts *o,
    const struct vp_pipeline *p, char **cause)
{
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	const struct deploy_ctr	*c;
	const json_t		*vars = site_vars(p->site);
	const char		*email, *pw;
	char			 base[128];
	size_t			 i;
	int			 r, created = 0;

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
	if ((r = deploy_n8n_owner(base, email, pw, &created, cause)) != 0) {
		vp_fail_prefix(cause, r, "provisioning");
		goto out;
	}
	if (!ctx->quiet)
		printf("apply: n8n owner %s %s\n", email, created ? "created" :
		    "already set up");
 out:
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

	for (i = 0; i < res->nrepaired; i++)
		printf("apply: removed network %s so that compose recreates "
		    "it\n", res->repaired[i]);
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
	    a->ndirs == 0)
		printf("apply: nothing changed: %zu containers up to date, no "
		    "file written (%.1fs)\n", nu, res->elapsed);
	else
		printf("apply: %zu created, %zu recreated, %zu started, %zu "
		    "unchanged; all healthy in %.1fs\n", nc, nr, ns, nu,
		    res->elapsed);
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
	const char		*t;
	const json_t		*vars;
	json_t			*cdoc = NULL;
	json_error_t		 je;
	char			**pos = NULL, *cause = NULL, *probe = NULL;
	char			*cpath = NULL, *spath = NULL;
	size_t			 i;
	int			 npos = 0, r, timeout = 0;
	const struct vp_option	 opts[] = {
		VP_OPT_STRING('e', "env", &env, "ENV",
		    "prod or preprod (default: the site's target_env)"),
		VP_OPT_LIST(0, "only", &onlyv, "SERVICE[,..]",
		    "update only these services (repeatable)"),
		VP_OPT_STRING(0, "target", &target, "TARGET",
		    "local (default: the site's target)"),
		VP_OPT_STRING(0, "secrets", &sfile, "FILE",
		    "read secrets from a plain YAML file (tests)"),
		VP_OPT_STRING(0, "vault-password-file", &pwfile, "FILE",
		    "the vault password (or an executable printing it)"),
		VP_OPT_INT(0, "timeout", &timeout, "SEC",
		    "health gate per service (default: from its healthcheck)"),
		VP_OPT_STRING(0, "compose", &cfile, "FILE",
		    "deploy this JSON compose file as is, no render (tests)"),
		VP_OPT_STRING('p', "project", &project, "NAME",
		    "compose project name (with --compose)"),
		VP_OPT_END()
	};

	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	a.ctx = ctx;
	r = vp_opt_parse(argc, argv, opts, &pos, &npos, &cause);
	if (r == VP_OPT_HELP) {
		vp_cmd_usage(stdout, &vp_cmd_apply, opts);
		r = VP_OK;
		goto done;
	}
	if (r == 0 && npos > 0)
		r = vp_fail(&cause, VP_ERR_USAGE, "unexpected argument '%s'",
		    pos[0]);
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
		if (t == NULL || strcmp(t, "local") != 0) {
			r = vp_fail(&cause, VP_ERR_REFUSED, "target '%s': apply "
			    "deploys on this machine only (target local) for "
			    "now", t ? t : "?");
			goto out;
		}
		if ((r = run_check(ctx, &p, &cause)) != 0)
			goto out;
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
		    NULL || (spath = vp_path_join(a.root,
		    ".vpai-deploy-state.json")) == NULL) {
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

	if ((r = deploy_engine_detect(&e, &cause)) != 0)
		goto out;
	if (!ctx->quiet) {
		printf("apply: project %s on docker %s with %s\n", o.project,
		    e.server_version, e.compose_v2 ? "docker compose (v2)" :
		    "docker-compose (v1)");
		fflush(stdout);
	}
	r = deploy_apply(&e, &o, &res, &cause);
	if (r == 0 && a.p != NULL)
		r = provision(ctx, &o, a.p, &cause);
	if (r == 0 && a.p != NULL)
		r = vp_release_after_apply(ctx, a.root, o.project, a.p, sfile,
		    &cause);
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
	"[--timeout SEC]",
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
	"converges.  See docs/DEPLOY.md.\n",
	apply_run
};
