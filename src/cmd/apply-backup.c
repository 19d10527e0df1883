/*
 * apply-backup.c: the backup side of `vpai apply` (apply-backup.h): the
 * daily cron job, and the pre-update backup of the data of every
 * stateful service whose image changes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "backup/backup.h"
#include "cmd/apply-backup.h"
#include "core/child.h"
#include "core/file.h"
#include "deploy/release.h"
#include "site/site.h"

static char *
abs_path(const char *p)
{
	char	buf[PATH_MAX];

	if (p == NULL || realpath(p, buf) == NULL)
		return NULL;
	return strdup(buf);
}

static void
warn(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "vpai apply: warning: ");
	fprintf(stderr, fmt, a, b ? b : "");
	fputc('\n', stderr);
}

/*
 * <cron dir>/<project>-backup: written (0644, root) only when its text
 * changes.  Every problem is a warning: the deploy goes on.
 */
static void
install_cron(const struct vp_ctx *ctx, const struct vp_apply_backup *ab)
{
	const json_t	*vars = site_vars(ab->p->site);
	const char	*project, *cdir, *env, *pwsrc;
	struct vp_buf	 cur = VP_BUF_INIT(1 << 20);
	char		*vpai = NULL, *site = NULL, *sfile = NULL, *sdir = NULL;
	char		*pw = NULL, *sec = NULL, *sched = NULL, *logd = NULL;
	char		*log = NULL, *name = NULL, *path = NULL, *text = NULL;
	char		*cause = NULL;
	int		 r;

	project = json_string_value(json_object_get(vars, "project_name"));
	if ((cdir = getenv("VPAI_CRON_DIR")) == NULL || *cdir == '\0')
		cdir = "/etc/cron.d";
	pwsrc = ab->vault_pw_file;
	if (pwsrc == NULL && (env = getenv("VPAI_VAULT_PASSWORD_FILE")) !=
	    NULL && *env != '\0')
		pwsrc = env;
	if (project == NULL)
		goto out;
	/*
	 * --secrets is for tests: their cron file goes only where the test
	 * says ($VPAI_CRON_DIR), never into the machine's /etc/cron.d.
	 */
	if (pwsrc == NULL && ab->secrets_file != NULL &&
	    getenv("VPAI_CRON_DIR") == NULL)
		goto out;
	if (pwsrc == NULL && ab->secrets_file == NULL) {
		warn("backup cron not installed: the vault password was not "
		    "read from a file (give --vault-password-file or "
		    "$VPAI_VAULT_PASSWORD_FILE; cron cannot type it)%s%s",
		    "", NULL);
		goto out;
	}
	if (pwsrc != NULL && (pw = abs_path(pwsrc)) == NULL) {
		warn("backup cron not installed: vault password file '%s': "
		    "%s", pwsrc, strerror(errno));
		goto out;
	}
	if (pwsrc == NULL && (sec = abs_path(ab->secrets_file)) == NULL) {
		warn("backup cron not installed: '%s': %s", ab->secrets_file,
		    strerror(errno));
		goto out;
	}
	if (!vp_file_exists(cdir)) {
		warn("backup cron not installed: no cron directory '%s'%s",
		    cdir, NULL);
		goto out;
	}
	if ((vpai = abs_path("/proc/self/exe")) == NULL ||
	    (site = abs_path(ctx->site_dir)) == NULL ||
	    (ctx->site_file != NULL && (sfile = abs_path(ctx->site_file)) ==
	    NULL)) {
		warn("backup cron not installed: cannot resolve the vpai "
		    "binary or the site: %s%s", strerror(errno), NULL);
		goto out;
	}
	if ((env = getenv("VPAI_STACK_DIR")) != NULL && *env != '\0' &&
	    (sdir = abs_path(env)) == NULL) {
		warn("backup cron not installed: VPAI_STACK_DIR '%s': %s", env,
		    strerror(errno));
		goto out;
	}
	if ((sched = backup_cron_schedule(json_string_value(json_object_get(
	    vars, "backup_time")))) == NULL && (sched = strdup("55 2")) ==
	    NULL)
		goto out;
	if ((logd = vp_path_join(ab->root, "logs")) == NULL ||
	    (log = vp_path_join(logd, "backup.log")) == NULL ||
	    (name = backup_cron_name(project)) == NULL ||
	    (path = vp_path_join(cdir, name)) == NULL ||
	    (text = backup_cron_text(project, sched, vpai, site, sfile, sdir,
	    pw, sec, json_string_value(json_object_get(vars,
	    "restic_repository")), log)) == NULL)
		goto out;
	/* The log directory must exist, or sh refuses the redirection. */
	if ((r = vp_mkdir_p(logd, 0700, &cause)) != 0) {
		warn("backup cron: %s%s", cause ? cause : vp_strerror(r), NULL);
		goto out;
	}
	if (vp_file_exists(path) && vp_file_read(path, &cur, NULL) == 0 &&
	    strcmp(cur.buf, text) == 0) {
		if (ctx->verbose && !ctx->quiet)
			printf("apply: backup cron %s unchanged\n", path);
		goto out;
	}
	if ((r = vp_file_write_atomic(path, text, strlen(text), 0644,
	    geteuid() == 0 ? 0 : (uid_t)-1, geteuid() == 0 ? 0 : (gid_t)-1,
	    &cause)) != 0) {
		warn("backup cron not installed: %s%s", cause ? cause :
		    vp_strerror(r), NULL);
		goto out;
	}
	if (!ctx->quiet)
		printf("apply: backup cron %s written (%s * * *: vpai backup, "
		    "log %s)\n", path, sched, log);
 out:
	fflush(stdout);
	vp_buf_release(&cur);
	free(vpai);
	free(site);
	free(sfile);
	free(sdir);
	free(pw);
	free(sec);
	free(sched);
	free(logd);
	free(log);
	free(name);
	free(path);
	free(text);
	free(cause);
}

/* The image id a reference names on the engine now ("" when unknown). */
static char *
image_id(const char *ref)
{
	struct vp_child	 c = VP_CHILD_INIT;
	char		*s = NULL;
	size_t		 n;

	if (vp_argv_pushl(&c.args, "docker", "image", "inspect", "--format",
	    "{{.Id}}", ref, NULL) == 0 && vp_child_run(&c, NULL) == 0) {
		n = strcspn(c.out.buf, "\r\n");
		s = strndup(c.out.buf, n);
	}
	vp_child_release(&c);
	return s != NULL ? s : strdup("");
}

static int
in_list(char *const *v, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static void
progress(void *arg, const char *art, const char *msg)
{
	const struct vp_ctx	*ctx = arg;

	if (!ctx->quiet)
		fprintf(stderr, "apply: pre-update backup: %-16s %s\n", art,
		    msg);
}

/*
 * The services of this apply whose running container has another image
 * than the one the compose document asks for, and the artifacts holding
 * their data.  svcs: {svc: {from, from_id, to}}.
 */
static int
changed_images(const struct vp_apply_backup *ab, json_t *svcs,
    struct vp_argv *arts, char **cause)
{
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	const struct deploy_ctr	*c;
	const json_t		*def;
	const char		*svc, *want, *const *a;
	char			*id = NULL;
	int			 r;

	if ((r = deploy_list(ab->o->project, &cs, cause)) != 0)
		return r;
	json_object_foreach((json_t *)json_object_get(ab->o->compose,
	    "services"), svc, def) {
		free(id);
		id = NULL;
		if ((ab->o->nonly > 0 && !in_list(ab->o->only, ab->o->nonly,
		    svc)) || (a = backup_artifacts_of(svc)) == NULL ||
		    (c = deploy_ctrs_find(&cs, svc)) == NULL ||
		    (want = json_string_value(json_object_get(def,
		    "image"))) == NULL)
			continue;
		if (strcmp(c->image, want) == 0) {
			/* Same reference: has the tag moved? */
			if ((id = image_id(want)) == NULL) {
				r = VP_ERR_NOMEM;
				goto out;
			}
			if (*id == '\0' || strcmp(id, c->image_id) == 0)
				continue;
		}
		json_object_set_new(svcs, svc, json_pack("{s:s, s:s, s:s}",
		    "from", c->image, "from_id", c->image_id, "to", want));
		for (; *a != NULL; a++)
			if (!in_list(arts->v, arts->n, *a) &&
			    (r = vp_argv_push(arts, *a)) != 0)
				goto out;
	}
 out:
	free(id);
	deploy_ctrs_release(&cs);
	return r;
}

static int
preupdate(const struct vp_ctx *ctx, const struct vp_apply_backup *ab,
    char **cause)
{
	struct backup_opts	 bo = BACKUP_OPTS_INIT;
	struct backup_report	 rep = BACKUP_REPORT_INIT;
	struct vp_argv		 arts = VP_ARGV_INIT;
	struct vp_buf		 msg = VP_BUF_INIT(1 << 16);
	json_t			*svcs = NULL, *rec = NULL, *ok, *skipped, *x;
	const char		*svc;
	char			*dcopy = NULL;
	size_t			 i;
	int			 r;

	if ((svcs = json_object()) == NULL)
		return VP_ERR_NOMEM;
	if ((r = changed_images(ab, svcs, &arts, cause)) != 0) {
		vp_fail_prefix(cause, r, "pre-update backup: listing the "
		    "containers (nothing was changed)");
		goto out;
	}
	if (arts.n == 0)
		goto out;
	json_object_foreach(svcs, svc, x)
		vp_buf_addf(&msg, "%s%s (%s -> %s)", msg.len ? ", " : "", svc,
		    json_string_value(json_object_get(x, "from")),
		    json_string_value(json_object_get(x, "to")));
	if (ab->no_backup) {
		if (!ctx->quiet)
			printf("apply: image change for %s: pre-update backup "
			    "skipped (--no-backup)\n", msg.buf);
		goto out;
	}
	if (!ctx->quiet) {
		printf("apply: image change for %s: pre-update backup of the "
		    "data first\n", msg.buf);
		fflush(stdout);
	}
	bo.project = ab->o->project;
	bo.stack_root = ab->root;
	bo.secrets = ab->p->secrets;
	bo.only = arts.v;
	bo.nonly = arts.n;
	bo.no_state = 1;
	bo.label = "pre-update";
	bo.hot_days = 3650;		/* the nightly backup prunes */
	bo.progress = progress;
	bo.arg = (void *)(uintptr_t)ctx;
	if ((r = backup_run(&bo, &rep, cause)) != 0) {
		vp_fail_prefix(cause, r, "pre-update backup (nothing was "
		    "changed; --no-backup skips it)");
		goto out;
	}
	vp_buf_reset(&msg);
	if ((rec = json_object()) == NULL || (ok = json_array()) == NULL ||
	    json_object_set_new(rec, "artifacts", ok) != 0 ||
	    (skipped = json_array()) == NULL ||
	    json_object_set_new(rec, "skipped", skipped) != 0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < rep.n; i++) {
		if (rep.v[i].ok)
			json_array_append_new(ok, json_string(rep.v[i].name));
		else if (rep.v[i].absent)
			json_array_append_new(skipped,
			    json_string(rep.v[i].name));
		else
			vp_buf_addf(&msg, "%s%s (%s)", msg.len ? ", " : "",
			    rep.v[i].name, rep.v[i].error ? rep.v[i].error :
			    "?");
	}
	if (msg.len > 0) {
		r = vp_fail(cause, VP_ERR_CHILD, "pre-update backup failed: "
		    "%s; nothing was changed (fix it, or --no-backup to "
		    "update without it)", msg.buf);
		goto out;
	}
	if ((dcopy = strdup(rep.dir)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	json_object_set_new(rec, "id", json_string(basename(dcopy)));
	json_object_set_new(rec, "dir", json_string(rep.dir));
	json_object_set(rec, "services", svcs);
	if ((r = release_pending_backup_set(ab->root, rec, cause)) != 0) {
		vp_fail_prefix(cause, r, "pre-update backup taken in '%s' "
		    "but not recorded (nothing was changed)", rep.dir);
		goto out;
	}
	if (!ctx->quiet) {
		printf("apply: pre-update backup %s: %zu artifacts verified "
		    "(%.1f s)%s\n", rep.dir, json_array_size(ok),
		    rep.elapsed, json_array_size(skipped) > 0 ?
		    "; some had no data to save" : "");
		fflush(stdout);
	}
 out:
	json_decref(svcs);
	json_decref(rec);
	free(dcopy);
	vp_buf_release(&msg);
	vp_argv_release(&arts);
	backup_report_release(&rep);
	return r;
}

int
vp_apply_backup(const struct vp_ctx *ctx, const struct vp_apply_backup *ab,
    char **cause)
{
	if (ab->p == NULL || ab->root == NULL || ab->o == NULL ||
	    vp_child_is_remote("docker"))
		return VP_OK;
	install_cron(ctx, ab);
	return preupdate(ctx, ab, cause);
}
