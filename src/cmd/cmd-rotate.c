/*
 * cmd-rotate.c: `vpai rotate-secrets`: new values for secrets, applied to
 * the running services without data loss; the vault is rewritten only
 * once the services run healthy on the new values (deploy/rotate.h).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "core/buf.h"
#include "core/file.h"
#include "core/opt.h"
#include "deploy/deploy.h"
#include "deploy/rotate.h"
#include "site/site.h"
#include "vault/secrets.h"
#include "vault/vault.h"

extern const struct vp_cmd vp_cmd_rotate_secrets;
extern const struct vp_cmd vp_cmd_apply;

/* Overwrite in place, then remove, a plain secrets file. */
static void
wipe_file(const char *path)
{
	struct stat	 st;
	char		*z;
	int		 fd;

	if (path == NULL || stat(path, &st) != 0)
		return;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
		if ((z = calloc(1, (size_t)st.st_size + 1)) != NULL) {
			(void)vp_write_all(fd, z, (size_t)st.st_size);
			(void)fsync(fd);
			free(z);
		}
		close(fd);
	}
	unlink(path);
}

/* secrets as plain YAML at path (0600). */
static int
write_plain(const char *path, const json_t *secrets, char **cause)
{
	struct vp_buf	b = VP_BUF_INIT(8u << 20);
	int		r;

	if ((r = secrets_emit(secrets, &b, cause)) == 0)
		r = vp_file_write_atomic(path, b.buf, b.len, 0600, (uid_t)-1,
		    (gid_t)-1, cause);
	vp_buf_release_secure(&b);
	return r;
}

/* `vpai apply --secrets FILE --only SERVICES` in this process. */
static int
apply_with(struct vp_ctx *ctx, const char *secrets_file, const char *only)
{
	char	*argv[] = { "apply", "--secrets", (char *)secrets_file,
	    "--only", (char *)only, NULL };

	fflush(stdout);
	return vp_cmd_apply.run(ctx, *only ? 5 : 3, argv);
}

static int
confirm(void)
{
	char	line[16];

	if (!isatty(STDIN_FILENO))
		return 0;
	printf("rotate these secrets now? [y/N] ");
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

static int
rotate_run(struct vp_ctx *ctx, int argc, char **argv)
{
	struct site		*site = NULL;
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	struct rotate_sel	 sel = ROTATE_SEL_INIT;
	struct vp_argv		 onlyv = VP_ARGV_INIT, names = VP_ARGV_INIT;
	struct vault_pw		 vpw;
	struct vp_buf		 svcs = VP_BUF_INIT(4096);
	struct vp_buf		 raw = VP_BUF_INIT(8u << 20);
	const struct deploy_ctr	*pgc = NULL;
	json_t			*cat = NULL, *old = NULL, *nsec = NULL;
	char			**pos = NULL, *cause = NULL, *sitef = NULL;
	char			*schema = NULL, *vpath = NULL, *pw = NULL;
	char			*tdir = NULL, *tnew = NULL, *told = NULL;
	char			*s, *t, *save;
	const char		*sfile = NULL, *pwfile = NULL, *root, *project;
	size_t			 i, pwlen = 0;
	int			 npos = 0, r, yes = 0, lockfd = -1, altered = 0;
	const struct vp_option	 opts[] = {
		VP_OPT_LIST(0, "only", &onlyv, "NAME[,..]",
		    "rotate only these secrets (default: every one rotation "
		    "handles)"),
		VP_OPT_BOOL('y', "yes", &yes, "do not ask for confirmation"),
		VP_OPT_STRING(0, "secrets", &sfile, "FILE",
		    "a plain YAML secrets file instead of the vault (tests)"),
		VP_OPT_STRING(0, "vault-password-file", &pwfile, "FILE",
		    "the vault password (or an executable printing it)"),
		VP_OPT_END()
	};

	r = vp_cmd_parse(&vp_cmd_rotate_secrets, argc, argv, opts, 0, &pos,
	    &npos);
	if (r == VP_OPT_HELP)
		return VP_OK;
	if (r != 0)
		return r;
	for (i = 0; i < onlyv.n; i++) {
		if ((s = strdup(onlyv.v[i])) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		for (t = strtok_r(s, ",", &save); t != NULL;
		    t = strtok_r(NULL, ",", &save))
			if ((r = vp_argv_push(&names, t)) != 0)
				break;
		free(s);
		if (r != 0)
			goto out;
	}
	if ((sitef = vp_pipeline_site_file(ctx)) == NULL ||
	    (schema = vp_path_join(ctx->stack_dir, "site-schema.yml")) ==
	    NULL || (vpath = sfile ? strdup(sfile) :
	    vault_default_path(ctx->site_dir)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = site_load(sitef, schema, NULL, &site, &cause)) != 0)
		goto out;
	root = json_string_value(json_object_get(site_vars(site),
	    "stack_root"));
	project = json_string_value(json_object_get(site_vars(site),
	    "project_name"));
	if (root == NULL || *root != '/' || project == NULL) {
		r = vp_fail(&cause, VP_ERR_INVALID, "stack_root and "
		    "project_name must be set");
		goto out;
	}
	/* Held until the end: nobody else rewrites the vault meanwhile. */
	if ((r = vault_lock(vpath, &lockfd, &cause)) != 0)
		goto out;
	if (sfile != NULL) {
		if ((r = vp_file_read(sfile, &raw, &cause)) != 0 ||
		    (r = secrets_parse(sfile, raw.buf, raw.len, &old,
		    &cause)) != 0)
			goto out;
	} else {
		vpw.file = pwfile;
		vpw.allow_prompt = 1;
		if ((r = vault_pw_get(&vpw, &pw, &pwlen, &cause)) != 0 ||
		    (r = vault_read(vpath, pw, pwlen, &old, &cause)) != 0)
			goto out;
	}
	if ((r = secrets_catalogue_load(ctx->stack_dir, &cat, &cause)) != 0 ||
	    (r = rotate_select(cat, old, names.v, names.n, &sel,
	    &cause)) != 0)
		goto out;
	if (sel.n == 0) {
		printf("rotate-secrets: nothing to rotate\n");
		goto out;
	}
	for (i = 0; i < sel.n && !ctx->quiet; i++)
		printf("rotate-secrets: %-24s %s\n", sel.v[i].name,
		    sel.v[i].how == ROTATE_PG_ROLE ? "ALTER ROLE live, then "
		    "re-render and restart its users" : "re-render and "
		    "restart its services");
	if ((r = deploy_list(project, &cs, &cause)) != 0)
		goto out;
	for (i = 0; i < cs.n; i++)
		if (strcmp(cs.v[i].state, "running") == 0 &&
		    (r = vp_buf_addf(&svcs, "%s%s", svcs.len ? "," : "",
		    cs.v[i].service)) != 0)
			goto out;
	if (svcs.len == 0) {
		r = vp_fail(&cause, VP_ERR_NOTFOUND, "project '%s': no running "
		    "service; rotate with `vpai vault` before the first apply",
		    project);
		goto out;
	}
	if (rotate_has_pg(&sel) && ((pgc = deploy_ctrs_find(&cs,
	    "postgresql")) == NULL || strcmp(pgc->state, "running") != 0)) {
		r = vp_fail(&cause, VP_ERR_NOTFOUND, "postgresql of project "
		    "'%s' is not running: the role passwords cannot be changed",
		    project);
		goto out;
	}
	if (!yes && !confirm()) {
		r = vp_fail(&cause, VP_ERR_REFUSED, "not confirmed; nothing "
		    "was changed (--yes to rotate without asking)");
		goto out;
	}
	if ((r = rotate_generate(cat, old, &sel, &nsec, &cause)) != 0)
		goto out;
	/* The values for the re-render, in a 0700 directory of the root. */
	if ((tdir = vp_path_join(root, ".vpai-rotate-XXXXXX")) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if (mkdtemp(tdir) == NULL) {
		r = vp_fail(&cause, VP_ERR_IO, "'%s': cannot create", tdir);
		free(tdir);
		tdir = NULL;
		goto out;
	}
	if ((tnew = vp_path_join(tdir, "new.yml")) == NULL ||
	    (told = vp_path_join(tdir, "old.yml")) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = write_plain(tnew, nsec, &cause)) != 0 ||
	    (r = write_plain(told, old, &cause)) != 0)
		goto out;

	if (pgc != NULL) {
		if ((r = rotate_pg_roles(pgc->id, &sel, nsec, &cause)) != 0)
			goto out;	/* one transaction: nothing changed */
		altered = 1;
		if (!ctx->quiet)
			printf("rotate-secrets: postgresql roles updated\n");
	}
	if (!ctx->quiet)
		printf("rotate-secrets: re-render and restart: %s\n",
		    svcs.buf);
	/*
	 * Apply converges, so running it again after a transient failure
	 * (n8n's REST API answers 404 for a while after its health check
	 * passes) is safe: up to 3 runs.
	 */
	for (i = 0; (r = apply_with(ctx, tnew, svcs.buf)) != 0 &&
	    r != VP_ERR_INTERRUPTED && i < 2; i++) {
		fprintf(stderr, "vpai rotate-secrets: apply failed; trying "
		    "again in 5 s\n");
		sleep(5);
	}
	if (r != 0) {
		r = vp_fail(&cause, r, "the services did not come up healthy "
		    "on the new values");
		goto undo;
	}
	if (sfile != NULL)
		r = write_plain(sfile, nsec, &cause);
	else
		r = vault_write(vpath, nsec, pw, pwlen, &cause);
	if (r != 0) {
		vp_fail_prefix(&cause, r, "writing the vault");
		goto undo;
	}
	if (!ctx->quiet)
		printf("rotate-secrets: %zu secret%s rotated; %s updated\n",
		    sel.n, sel.n == 1 ? "" : "s", vpath);
	goto out;

 undo:
	/* Back to the old values; the vault was not written. */
	fprintf(stderr, "vpai rotate-secrets: %s; putting the old values "
	    "back\n", cause);
	/* postgresql may have been recreated (its init files changed). */
	deploy_ctrs_release(&cs);
	pgc = NULL;
	if (altered && deploy_list(project, &cs, NULL) == 0)
		pgc = deploy_ctrs_find(&cs, "postgresql");
	if (altered && (pgc == NULL ||
	    rotate_pg_roles(pgc->id, &sel, old, NULL) != 0))
		fprintf(stderr, "vpai rotate-secrets: could not restore the "
		    "old PostgreSQL role passwords: run `vpai rotate-secrets` "
		    "again\n");
	if (apply_with(ctx, told, svcs.buf) != 0)
		fprintf(stderr, "vpai rotate-secrets: the re-apply with the "
		    "old values failed: run `vpai apply`\n");
	vp_fail_prefix(&cause, r, "rotation undone, the vault is unchanged");
 out:
	fflush(stdout);
	wipe_file(tnew);
	wipe_file(told);
	if (tdir != NULL)
		rmdir(tdir);
	if (lockfd >= 0)
		vault_unlock(lockfd);
	if (r != 0)
		vp_cmd_error("rotate-secrets", r, cause);
	vault_pw_free(pw, pwlen);
	free(pos);
	free(sitef);
	free(schema);
	free(vpath);
	free(tdir);
	free(tnew);
	free(told);
	json_decref(cat);
	json_decref(old);
	json_decref(nsec);
	vp_buf_release_secure(&raw);
	vp_buf_release(&svcs);
	vp_argv_release(&onlyv);
	vp_argv_release(&names);
	rotate_sel_release(&sel);
	deploy_ctrs_release(&cs);
	site_free(site);
	return r;
}

const struct vp_cmd vp_cmd_rotate_secrets = {
	"rotate-secrets", "new values for secrets, applied live; the vault "
	"updated only once the services accept them",
	"rotate-secrets [--only NAME[,..]] [--yes] [--secrets FILE]",
	"Generates new values (catalogue shapes) and applies them to the\n"
	"running stack: PostgreSQL role passwords by ALTER ROLE (SQL on stdin,\n"
	"statement logging off), then every running service is re-rendered and\n"
	"applied health-gated, so the users of a changed secret restart with\n"
	"it.  Only then is the vault rewritten (held locked throughout).  If\n"
	"anything fails, the roles and the services are put back on the old\n"
	"values and the vault is unchanged.  n8n_encryption_key and the other\n"
	"rotatable: false secrets are refused with the reason.  No secret is\n"
	"printed.  See docs/ROTATE.md.\n",
	rotate_run
};
