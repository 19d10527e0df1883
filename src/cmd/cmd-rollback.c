/*
 * cmd-rollback.c: `vpai rollback`: redeploy a recorded release exactly
 * (its bundle and its image ids) through the health-gated deploy engine
 * (deploy/deploy.h, deploy/release.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "core/child.h"
#include "core/file.h"
#include "core/opt.h"
#include "deploy/deploy.h"
#include "deploy/release.h"
#include "site/site.h"

extern const struct vp_cmd vp_cmd_rollback;

static volatile sig_atomic_t rb_stop;

static void
on_signal(int sig)
{
	(void)sig;
	rb_stop = 1;
}

struct rb_ctx {
	const struct vp_ctx	*ctx;
	const char		*root;
	const json_t		*m;	/* the target release */
	int			 nwritten;
	int			 ntagged;
};

static void
progress(void *arg, const struct deploy_event *ev)
{
	const struct rb_ctx *a = arg;

	if (a->ctx->quiet && ev->type != DEPLOY_EV_FAIL)
		return;
	if (ev->type == DEPLOY_EV_STEP)
		printf("rollback: %s\n", ev->msg);
	else
		printf("  phase %s  %-16s %-22s %6.1fs%s\n", ev->phase,
		    ev->service, ev->state, ev->elapsed,
		    ev->type == DEPLOY_EV_READY ? "  ready" :
		    ev->type == DEPLOY_EV_FAIL ? "  FAILED" : "");
	fflush(stdout);
}

/* The image id a reference resolves to now (allocated), NULL if none. */
static char *
image_id(const char *ref)
{
	struct vp_child	 c = VP_CHILD_INIT;
	char		*id = NULL;

	if (vp_argv_pushl(&c.args, "docker", "image", "inspect", "-f",
	    "{{.Id}}", ref, NULL) == 0 && vp_child_run(&c, NULL) == 0) {
		while (c.out.len > 0 && c.out.buf[c.out.len - 1] == '\n')
			c.out.buf[--c.out.len] = '\0';
		if (c.out.len > 0)
			id = strdup(c.out.buf);
	}
	vp_child_release(&c);
	return id;
}

/*
 * Every recorded image must exist by id; with tag set, a reference that
 * now names another image is tagged back to the recorded id.
 */
static int
pin_images(struct rb_ctx *a, int tag, char **cause)
{
	const json_t	*img;
	const char	*svc, *ref, *want;
	char		*now = NULL, *have = NULL;
	int		 r = VP_OK;

	json_object_foreach(json_object_get(a->m, "images"), svc, img) {
		ref = json_string_value(json_object_get(img, "ref"));
		want = json_string_value(json_object_get(img, "id"));
		if (ref == NULL || want == NULL || *want == '\0')
			continue;
		free(now);
		free(have);
		now = image_id(ref);
		have = image_id(want);
		if (now != NULL && strcmp(now, want) == 0)
			continue;
		if (have == NULL) {
			r = vp_fail(cause, VP_ERR_NOTFOUND, "service '%s': "
			    "image '%s' (%.19s) of the release is no longer on "
			    "this engine; nothing was changed", svc, ref, want);
			goto out;
		}
		if (!tag)
			continue;
		{
			struct vp_child c = VP_CHILD_INIT;

			if ((r = vp_argv_pushl(&c.args, "docker", "tag", want,
			    ref, NULL)) == 0)
				r = vp_child_run(&c, cause);
			if (r > 0)
				r = vp_fail(cause, VP_ERR_CHILD, "docker tag "
				    "%.19s %s: %s", want, ref, c.err.buf);
			vp_child_release(&c);
			if (r != 0)
				goto out;
		}
		if (!a->ctx->quiet)
			printf("rollback: %s: %s tagged back to %.19s\n", svc,
			    ref, want);
		a->ntagged++;
	}
 out:
	free(now);
	free(have);
	return r;
}

static int
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0)
		return VP_ERR_IO;
	return VP_OK;
}

/* After the preflight: images back to their ids, the bundle back. */
static int
prepare(void *arg, char **cause)
{
	struct rb_ctx	*a = arg;
	int		 r;

	if ((r = pin_images(a, 1, cause)) != 0 ||
	    (r = release_restore_bundle(a->root, a->m, &a->nwritten,
	    cause)) != 0)
		return r;
	if (!a->ctx->quiet) {
		printf("rollback: %s: %d files restored from release %s\n",
		    a->root, a->nwritten,
		    json_string_value(json_object_get(a->m, "id")));
		fflush(stdout);
	}
	return install_signals();
}

/*
 * The pre-update backup that holds the data as the target release left
 * it: the one taken by the first apply after the target (up to the
 * current release) that recorded one.  Print it with the exact restore
 * command, or (nwarn: a stateful image changes) say that there is none.
 */
static void
offer_backup(const struct vp_ctx *ctx, const char *root, const json_t *cur,
    const json_t *m, int nwarn)
{
	json_t		*list = NULL, *x, *pb = NULL, *s;
	const char	*tid, *cid, *id, *dir = NULL, *rel = NULL;
	struct vp_buf	 only = VP_BUF_INIT(1 << 12);
	size_t		 i;

	tid = json_string_value(json_object_get(m, "id"));
	cid = json_string_value(json_object_get(cur, "id"));
	if (tid != NULL && cid != NULL &&
	    release_list(root, &list, NULL) == 0)
		json_array_foreach(list, i, x) {
			id = json_string_value(json_object_get(x, "id"));
			if (id == NULL || strcmp(id, tid) <= 0 ||
			    strcmp(id, cid) > 0 || !json_is_object(
			    json_object_get(x, "pre_update_backup")))
				continue;
			pb = json_object_get(x, "pre_update_backup");
			rel = id;
			break;
		}
	if (pb != NULL)
		dir = json_string_value(json_object_get(pb, "dir"));
	if (pb == NULL && nwarn == 0)
		goto out;
	if (dir == NULL || !vp_file_exists(dir)) {
		fprintf(stderr, "vpai rollback: %s: take one (vpai backup) "
		    "before going on if the data matters\n", pb == NULL ?
		    "no pre-update backup was recorded by the releases after "
		    "the target" : "the pre-update backup recorded is no "
		    "longer on disk (removed by the hot retention?)");
		goto out;
	}
	json_array_foreach(json_object_get(pb, "artifacts"), i, s)
		vp_buf_addf(&only, "%s%s", only.len ? "," : "",
		    json_string_value(s));
	fprintf(stderr, "vpai rollback: the data as release %s left it is in "
	    "the pre-update backup %s, taken before release %s updated the "
	    "image.  If the older version refuses the migrated data, after "
	    "the rollback run:\n    vpai -C %s restore --from %s --only %s "
	    "--yes\n", tid, json_string_value(json_object_get(pb, "id")), rel,
	    ctx->site_dir, dir, only.buf);
 out:
	vp_buf_release(&only);
	json_decref(list);
}

/*
 * Say what changes between the current release and the target; warn when
 * a stateful service's image changes (its data may have been migrated).
 * Returns the number of such warnings.
 */
static int
show_plan(const struct vp_ctx *ctx, const char *root, const json_t *cur,
    const json_t *m)
{
	const json_t	*img, *ci;
	const char	*svc, *a, *b, *ra, *rb;
	int		 nwarn = 0;

	json_object_foreach(json_object_get(m, "images"), svc, img) {
		ci = json_object_get(json_object_get(cur, "images"), svc);
		a = json_string_value(json_object_get(ci, "id"));
		b = json_string_value(json_object_get(img, "id"));
		ra = json_string_value(json_object_get(ci, "ref"));
		rb = json_string_value(json_object_get(img, "ref"));
		/* Another id, or another reference (a retag counts). */
		if (a == NULL || b == NULL || (strcmp(a, b) == 0 &&
		    (ra == NULL || rb == NULL || strcmp(ra, rb) == 0)))
			continue;
		printf("rollback: %s: image %s (%.19s) -> %s (%.19s)\n", svc,
		    json_string_value(json_object_get(ci, "ref")), a,
		    json_string_value(json_object_get(img, "ref")), b);
		if (release_stateful(svc)) {
			fprintf(stderr, "vpai rollback: warning: '%s' is "
			    "stateful and release %s changed its image: a "
			    "schema migration made by the newer version may "
			    "not be readable by the older one\n", svc,
			    json_string_value(json_object_get(cur, "id")));
			nwarn++;
		}
	}
	offer_backup(ctx, root, cur, m, nwarn);
	return nwarn;
}

/*
 * The release's compose document (JSON; leading '#' comment lines are
 * skipped).
 */
static int
load_compose(const char *path, json_t **out, char **cause)
{
	struct vp_buf	 b = VP_BUF_INIT(64u << 20);
	json_error_t	 je;
	size_t		 off = 0;
	int		 r, line = 0;

	*out = NULL;
	if ((r = vp_file_read(path, &b, cause)) != 0)
		goto out;
	while (off < b.len && b.buf[off] == '#') {
		while (off < b.len && b.buf[off] != '\n')
			off++;
		if (off < b.len)
			off++;
		line++;
	}
	if ((*out = json_loadb(b.buf + off, b.len - off, 0, &je)) == NULL)
		r = vp_fail(cause, VP_ERR_PARSE, "%s:%d: %s", path,
		    je.line + line, je.text);
 out:
	vp_buf_release(&b);
	return r;
}

static int
confirm(const char *id)
{
	char	line[16];

	if (!isatty(STDIN_FILENO))
		return 0;
	printf("roll back to release %s? [y/N] ", id);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

static int
rollback_run(struct vp_ctx *ctx, int argc, char **argv)
{
	struct site		*site = NULL;
	struct deploy_engine	 e = DEPLOY_ENGINE_INIT;
	struct deploy_result	 res = DEPLOY_RESULT_INIT;
	struct deploy_opts	 o;
	struct rb_ctx		 a;
	json_t			*m = NULL, *curm = NULL, *compose = NULL, *img;
	struct vp_argv		 only = VP_ARGV_INIT;
	char			**pos = NULL, *cause = NULL, *sfile = NULL;
	char			*schema = NULL, *cur = NULL, *bdir = NULL;
	char			*cin = NULL, *cpath = NULL, *spath = NULL;
	const char		*to = NULL, *root, *project, *t, *id, *svc;
	size_t			 i;
	int			 npos = 0, r, yes = 0, timeout = 0;
	const struct vp_option	 opts[] = {
		VP_OPT_STRING(0, "to", &to, "RELEASE",
		    "the release to go back to (default: the one before the "
		    "current one)"),
		VP_OPT_BOOL('y', "yes", &yes, "do not ask for confirmation"),
		VP_OPT_INT(0, "timeout", &timeout, "SEC",
		    "health gate per service (default: from its healthcheck)"),
		VP_OPT_END()
	};

	memset(&o, 0, sizeof(o));
	memset(&a, 0, sizeof(a));
	a.ctx = ctx;
	r = vp_cmd_parse(&vp_cmd_rollback, argc, argv, opts, 0, &pos, &npos);
	if (r == VP_OPT_HELP)
		return VP_OK;
	if (r != 0)
		return r;
	if ((sfile = vp_pipeline_site_file(ctx)) == NULL ||
	    (schema = vp_path_join(ctx->stack_dir, "site-schema.yml")) ==
	    NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = site_load(sfile, schema, NULL, &site, &cause)) != 0)
		goto out;
	root = json_string_value(json_object_get(site_vars(site),
	    "stack_root"));
	project = json_string_value(json_object_get(site_vars(site),
	    "project_name"));
	t = json_string_value(json_object_get(site_vars(site), "target"));
	if (root == NULL || *root != '/' || project == NULL) {
		r = vp_fail(&cause, VP_ERR_INVALID, "stack_root and "
		    "project_name must be set");
		goto out;
	}
	if (t != NULL && strcmp(t, "local") != 0) {
		r = vp_fail(&cause, VP_ERR_REFUSED, "target '%s': rollback "
		    "works on this machine only (target local) for now", t);
		goto out;
	}
	if ((r = release_get(root, to, &m, &cause)) != 0 ||
	    (r = release_current(root, &cur, &cause)) != 0)
		goto out;
	id = json_string_value(json_object_get(m, "id"));
	if (cur != NULL && (r = release_get(root, cur, &curm, &cause)) != 0)
		goto out;
	if (!ctx->quiet)
		printf("rollback: project %s: release %s -> %s (recorded %s)\n",
		    project, cur ? cur : "(none)", id,
		    json_string_value(json_object_get(m, "created")));
	if (curm != NULL)
		show_plan(ctx, root, curm, m);
	a.root = root;
	a.m = m;
	if ((r = pin_images(&a, 0, &cause)) != 0)
		goto out;
	if (!yes && !confirm(id)) {
		r = vp_fail(&cause, VP_ERR_REFUSED, "not confirmed; nothing "
		    "was changed (--yes to roll back without asking)");
		goto out;
	}
	if ((bdir = release_bundle_dir(root, id)) == NULL ||
	    (cin = vp_path_join(bdir, "../compose.json")) == NULL ||
	    (cpath = vp_path_join(root, "docker-compose.yml")) == NULL ||
	    (spath = vp_path_join(root, ".vpai-deploy-state.json")) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = load_compose(cin, &compose, &cause)) != 0)
		goto out;
	/* The services the release ran (an apply --only ran a subset). */
	json_object_foreach(json_object_get(m, "images"), svc, img)
		if ((r = vp_argv_push(&only, svc)) != 0)
			goto out;
	o.only = only.v;
	o.nonly = only.n;
	o.project = project;
	o.compose_file = cpath;
	o.compose = compose;
	o.state_file = spath;
	o.timeout_s = timeout;
	o.stop = &rb_stop;
	o.progress = progress;
	o.prepare = prepare;
	o.arg = &a;
	if ((r = deploy_engine_detect(&e, &cause)) != 0)
		goto out;
	r = deploy_apply(&e, &o, &res, &cause);
	if (r == VP_ERR_HEALTH && res.fail_logs != NULL)
		fprintf(stderr, "%s", res.fail_logs);
	if (r == 0)
		r = release_set_current(root, id, &cause);
	for (i = 0; i < res.n && !ctx->quiet; i++)
		printf("  %-16s phase %s  %-11s %s\n", res.v[i].service,
		    res.v[i].phase, deploy_change_name(res.v[i].change),
		    res.v[i].state);
	if (r == 0 && !ctx->quiet)
		printf("rollback: release %s is current; all healthy in "
		    "%.1fs\n", id, res.elapsed);
 out:
	fflush(stdout);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (r != 0)
		vp_cmd_error("rollback", r, cause);
	free(pos);
	free(sfile);
	free(schema);
	free(cur);
	free(bdir);
	free(cin);
	free(cpath);
	free(spath);
	json_decref(m);
	json_decref(curm);
	json_decref(compose);
	deploy_result_release(&res);
	deploy_engine_release(&e);
	vp_argv_release(&only);
	site_free(site);
	return r;
}

const struct vp_cmd vp_cmd_rollback = {
	"rollback", "redeploy a recorded release exactly, health-gated",
	"rollback [--to RELEASE] [--yes] [--timeout SEC]",
	"Puts back the bundle of a recorded release (checked against its\n"
	"sha256s) and its images (a tag that now names another image is\n"
	"tagged back to the recorded id), then converges through the same\n"
	"health-gated phases as apply.  Warns when the current release changed\n"
	"the image of a stateful service (a schema migration may not go back)\n"
	"and points at the pre-update backups.  See docs/ROLLBACK.md.\n",
	rollback_run
};
