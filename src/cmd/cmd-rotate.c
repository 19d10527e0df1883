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

/*
 * The base URL of a ROTATE_API item's service ("http://IP:PORT"), or why
 * it cannot be rotated now (allocated), in *why.
 */
static int
api_url(const struct rotate_item *it, const struct deploy_ctrs *cs,
    const json_t *vars, char *url, size_t len, char **why)
{
	const struct deploy_ctr	*c = deploy_ctrs_find(cs, it->service);
	const char		*email;

	*why = NULL;
	if (strcmp(it->service, "n8n") == 0 && ((email = json_string_value(
	    json_object_get(vars, "n8n_owner_email"))) == NULL ||
	    *email == '\0')) {
		*why = strdup("n8n_owner_email is not set: vpai provisions "
		    "no owner account");
		return *why ? VP_OK : VP_ERR_NOMEM;
	}
	if (c == NULL || strcmp(c->state, "running") != 0 || *c->ip == '\0') {
		if (asprintf(why, "%s is not running: the password lives in "
		    "its database and is changed through its API; start it "
		    "(`vpai apply`) first", it->service) < 0)
			return VP_ERR_NOMEM;
		return VP_OK;
	}
	snprintf(url, len, "http://%s:%d", c->ip,
	    strcmp(it->service, "grafana") == 0 ? 3000 : 5678);
	return VP_OK;
}

/* Change a ROTATE_API secret from one value set to the other. */
static int
api_change(const struct rotate_item *it, const char *url, const json_t *vars,
    const json_t *from, const json_t *to, char **cause)
{
	const char	*a = json_string_value(json_object_get(from, it->name));
	const char	*b = json_string_value(json_object_get(to, it->name));
	const char	*user;

	if (a == NULL || b == NULL)
		return vp_fail(cause, VP_ERR_INVALID, "secret '%s': no value",
		    it->name);
	if (strcmp(it->service, "grafana") == 0) {
		user = json_string_value(json_object_get(vars,
		    "grafana_admin_user"));
		return rotate_grafana_admin(url, user && *user ? user :
		    "admin", a, b, cause);
	}
	return rotate_n8n_owner(url, json_string_value(json_object_get(vars,
	    "n8n_owner_email")), a, b, cause);
}

static const char *
how_text(const struct rotate_item *it)
{
	switch (it->how) {
	case ROTATE_PG_ROLE:
		return "ALTER ROLE live, then re-render and restart its users";
	case ROTATE_API:
		return strcmp(it->service, "grafana") == 0 ? "changed through "
		    "Grafana's API (verified), then re-render" : "changed "
		    "through n8n's REST API (verified)";
	default:
		return "re-render and restart its services";
	}
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
	char			*s, *t, *save, *why = NULL;
	char			(*urls)[80] = NULL;
	unsigned char		*changed = NULL;
	const char		*sfile = NULL, *pwfile = NULL, *root, *project;
	size_t			 i, pwlen = 0;
	int			 npos = 0, r, yes = 0, lockfd = -1, altered = 0;
	const struct vp_option	 opts[] = {
		VP_OPT_LIST(0, "only", &onlyv, "NAME[,..]",
		    "rotate only these secrets (default: every generated "
		    "rotatable one; the others are listed as skipped)"),
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
	/* The API items need their service running. */
	if ((urls = calloc(sel.n + 1, sizeof(*urls))) == NULL ||
	    (changed = calloc(sel.n + 1, 1)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < sel.n; ) {
		if (sel.v[i].how != ROTATE_API) {
			i++;
			continue;
		}
		if ((r = api_url(&sel.v[i], &cs, site_vars(site), urls[i],
		    sizeof(urls[i]), &why)) != 0)
			goto out;
		if (why == NULL) {
			i++;
			continue;
		}
		if (names.n > 0) {
			r = vp_fail(&cause, VP_ERR_REFUSED, "secret '%s' "
			    "cannot be rotated now: %s", sel.v[i].name, why);
			goto out;
		}
		r = rotate_sel_drop(&sel, i, why);
		free(why);
		why = NULL;
		if (r != 0)
			goto out;
		/* urls[] follows the items. */
		memmove(&urls[i], &urls[i + 1], (sel.n - i) *
		    sizeof(urls[0]));
	}
	for (i = 0; i < sel.nskip; i++)
		printf("rotate-secrets: skipped %-24s %s\n", sel.skip[i].name,
		    sel.skip[i].why);
	if (sel.n == 0) {
		printf("rotate-secrets: nothing to rotate\n");
		goto out;
	}
	for (i = 0; i < sel.n && !ctx->quiet; i++)
		printf("rotate-secrets: %-24s %s\n", sel.v[i].name,
		    how_text(&sel.v[i]));
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

	/*
	 * Passwords kept in the services' own databases first, each
	 * verified: n8n needs its current database password to open the
	 * connections a login takes.
	 */
	for (i = 0; i < sel.n; i++) {
		if (sel.v[i].how != ROTATE_API)
			continue;
		if ((r = api_change(&sel.v[i], urls[i], site_vars(site), old,
		    nsec, &cause)) != 0) {
			vp_fail_prefix(&cause, r, "secret '%s'",
			    sel.v[i].name);
			goto undo;
		}
		changed[i] = 1;
		if (!ctx->quiet)
			printf("rotate-secrets: %s changed in %s; the new "
			    "value works, the old one is refused\n",
			    sel.v[i].name, sel.v[i].service);
	}
	if (pgc != NULL) {
		if ((r = rotate_pg_roles(pgc->id, &sel, nsec, &cause)) != 0)
			goto undo;	/* one transaction: no role changed */
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
	fflush(stdout);
	fprintf(stderr, "vpai rotate-secrets: %s; putting the old values "
	    "back\n", cause);
	/* postgresql may have been recreated (its init files changed). */
	deploy_ctrs_release(&cs);
	pgc = NULL;
	if (deploy_list(project, &cs, NULL) == 0 && altered)
		pgc = deploy_ctrs_find(&cs, "postgresql");
	/*
	 * The API items back first, while their services still reach the
	 * database (grafana may have been recreated: new address).
	 */
	for (i = 0; i < sel.n; i++) {
		if (!changed[i])
			continue;
		free(why);
		why = NULL;
		if (api_url(&sel.v[i], &cs, site_vars(site), urls[i],
		    sizeof(urls[i]), &why) != 0 || why != NULL ||
		    api_change(&sel.v[i], urls[i], site_vars(site), nsec, old,
		    NULL) != 0)
			fprintf(stderr, "vpai rotate-secrets: could not set "
			    "'%s' back in %s: it now holds the value that was "
			    "to be rotated in; set it in %s by hand (the vault "
			    "keeps the old one)\n", sel.v[i].name,
			    sel.v[i].service, sel.v[i].service);
	}
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
	free(why);
	free(urls);
	free(changed);
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
	"statement logging off); Grafana's admin password and the n8n owner's\n"
	"through their HTTP APIs, each verified (new accepted, old refused);\n"
	"then every running service is re-rendered and applied health-gated,\n"
	"so the users of a changed secret restart with it.  Only then is the\n"
	"vault rewritten (held locked throughout).  If anything fails, the\n"
	"roles, the API passwords and the services are put back on the old\n"
	"values and the vault is unchanged.  Without --only, every generated\n"
	"rotatable secret is rotated and every other one is listed with the\n"
	"reason it is skipped; with --only, n8n_encryption_key and the other\n"
	"rotatable: false or external secrets are refused with the reason.  No\n"
	"secret is printed.  See docs/ROTATE.md.\n",
	rotate_run
};
