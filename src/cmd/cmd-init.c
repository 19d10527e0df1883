/*
 * cmd-init.c: `vpai init`, the site wizard: vpai.yml and secrets.vault.
 *
 * Interactive (a terminal on stdin): every question of the site schema
 * (src/site/wizard.c), then the external secrets without echo, then the
 * vault password; nothing is written before the last answer, so Ctrl-C
 * or end of input leaves every file as it was.  --non-interactive takes
 * the defaults and --set values, and the external secrets from
 * --secret-file.  Both generate every missing internal secret (never an
 * existing one) and write the vault atomically under its lock.
 * docs/INIT.md describes the whole journey.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/file.h"
#include "core/opt.h"
#include "site/site.h"
#include "site/wizard.h"
#include "vault/vault.h"

extern const struct vp_cmd vp_cmd_init;

#define PWFILE_NAME	".vault_password"

struct init {
	struct vp_ctx	*ctx;
	int		 nonint, force;
	const char	*output, *vault, *pwfile, *secret_file;
	struct vp_argv	*sets;
	char		*site_dir;	/* directory of the site file */
	char		*schema;
	char		*vpath;		/* the vault */
	char		*pwpath;	/* .vault_password we may create */
	char		*staged;	/* new site file, renamed last */
	struct vp_argv	 final_sets;	/* its settings (validated) */
	struct vp_buf	 update;	/* rewritten site file (rerun) */
	mode_t		 site_mode;
	int		 site_exists, keep_site, vault_exists, lock;
	int		 new_pwfile;
	char		*pw;
	size_t		 pwlen;
	json_t		*cat, *sec;
	json_t		*sec_before;	/* as read (no-op check) */
	struct vp_argv	 added, changed;
};

/* ---- terminal I/O for the wizard ------------------------------------- */

static void
tty_write(void *arg, const char *text)
{
	(void)arg;
	fputs(text, stdout);
	fflush(stdout);
}

static int
tty_read(void *arg, const char *prompt, int secret, char **out,
    char **cause)
{
	char	*line = NULL;
	size_t	 cap = 0, len;
	ssize_t	 n;

	(void)arg;
	*out = NULL;
	if (secret)
		return vault_tty_read(prompt, 1, out, &len, cause);
	fputs(prompt, stdout);
	fflush(stdout);
	if ((n = getline(&line, &cap, stdin)) < 0) {
		free(line);
		fputc('\n', stdout);
		return vp_fail(cause, VP_ERR_NOTFOUND, "end of input: nothing "
		    "was written");
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	*out = line;
	return VP_OK;
}

static int
confirm(const char *prompt, int *yes, char **cause)
{
	char	*a = NULL;
	int	 r;

	*yes = 0;
	if ((r = tty_read(NULL, prompt, 0, &a, cause)) != VP_OK)
		return r;
	*yes = a[0] == '\0' || a[0] == 'y' || a[0] == 'Y';
	free(a);
	return VP_OK;
}

/* ---- helpers ----------------------------------------------------------- */

static char *
dir_of(const char *path)
{
	char *c, *d;

	if ((c = strdup(path)) == NULL)
		return NULL;
	d = strdup(dirname(c));
	free(c);
	return d;
}

/*
 * The top of the git work tree holding dir, or NULL (allocated).  A
 * ".git" directory or file (worktrees, submodules) marks it.
 */
static char *
git_top(const char *dir)
{
	char	 buf[PATH_MAX], *p, *g;
	int	 found;

	if (realpath(dir, buf) == NULL)
		return NULL;
	for (;;) {
		if ((g = vp_path_join(buf, ".git")) == NULL)
			return NULL;
		found = vp_file_exists(g);
		free(g);
		if (found)
			return strdup(buf);
		if (strcmp(buf, "/") == 0 || (p = strrchr(buf, '/')) == NULL)
			return NULL;
		if (p == buf)
			p[1] = '\0';
		else
			*p = '\0';
	}
}

/* Add PWFILE_NAME to DIR/.gitignore unless a line already names it. */
static int
gitignore_add(const char *dir, char **cause)
{
	struct vp_buf	 b = VP_BUF_INIT(1u << 20);
	char		*path, *p, *q, *nl;
	int		 r;
	size_t		 n = strlen(PWFILE_NAME);

	if ((path = vp_path_join(dir, ".gitignore")) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	if (vp_file_exists(path) &&
	    (r = vp_file_read(path, &b, cause)) != VP_OK)
		goto out;
	for (p = b.buf; *p != '\0'; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		q = p + (*p == '/');
		if (strncmp(q, PWFILE_NAME, n) == 0 &&
		    (q[n] == '\n' || q[n] == '\0')) {
			r = VP_OK;
			goto out;
		}
	}
	if (b.len > 0 && b.buf[b.len - 1] != '\n')
		vp_buf_addc(&b, '\n');
	vp_buf_adds(&b, "# the vault password of this site: never commit it\n"
	    "/" PWFILE_NAME "\n");
	r = vp_file_write_atomic(path, b.buf, b.len, 0644, (uid_t)-1,
	    (gid_t)-1, cause);
 out:
	vp_buf_release(&b);
	free(path);
	return r;
}

/* ---- the site file ------------------------------------------------------ */

static int
do_site(struct init *in, const struct wizard_io *io, char **cause)
{
	struct site_schema	*sch = NULL;
	struct site		*cur = NULL;
	struct vp_argv		 sets = VP_ARGV_INIT;
	struct vp_buf		 text = VP_BUF_INIT(1u << 20);
	json_t			*ans = NULL;
	struct stat		 st;
	size_t			 i;
	int			 r;

	in->site_exists = vp_file_exists(in->output);
	if (in->nonint) {
		if (in->site_exists && !in->force) {
			if (in->sets->n > 0)
				return vp_fail(cause, VP_ERR_EXISTS, "'%s' "
				    "already exists", in->output);
			/* A rerun: keep the site, complete the vault. */
			in->keep_site = 1;
			r = site_load(in->output, in->schema, NULL, &cur,
			    cause);
			goto out;
		}
		for (i = 0; i < in->sets->n; i++)
			if (vp_argv_push(&sets, in->sets->v[i]) != VP_OK)
				return vp_fail(cause, VP_ERR_NOMEM,
				    "out of memory");
	} else {
		if ((r = wizard_schema_load(in->schema, &sch, cause)) != VP_OK)
			goto out;
		if (in->site_exists && !in->force) {
			if ((r = site_load(in->output, in->schema, NULL, &cur,
			    cause)) != VP_OK) {
				r = vp_fail_prefix(cause, r, "cannot offer the "
				    "current values (fix the file, or start "
				    "over with --force)");
				goto out;
			}
			io->write(io->arg, "The current values of ");
			io->write(io->arg, in->output);
			io->write(io->arg, " are offered: Enter keeps each "
			    "one.\n");
		}
		if ((r = wizard_site(sch, cur ? site_vars(cur) : NULL, io,
		    &ans, cause)) != VP_OK)
			goto out;
		if (cur != NULL) {
			if ((r = vp_file_read(in->output, &text, cause)) !=
			    VP_OK)
				goto out;
			if ((r = wizard_update(sch, in->output, text.buf,
			    text.len, ans, &in->changed, &in->update,
			    cause)) != VP_OK)
				goto out;
			in->keep_site = in->changed.n == 0;
			in->site_mode = stat(in->output, &st) == 0 ?
			    (st.st_mode & 07777) : 0644;
			r = VP_OK;
			goto out;
		}
		if ((r = wizard_sets(sch, ans, &sets, cause)) != VP_OK)
			goto out;
	}
	/* Validate and stage the new site file; renamed at the very end. */
	if (asprintf(&in->staged, "%s.init-%ld", in->output,
	    (long)getpid()) < 0) {
		in->staged = NULL;
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	/*
	 * Validate now (a bad --set fails before anything else happens),
	 * write for real only at the end: Ctrl-C at a later question must
	 * leave nothing behind.
	 */
	r = site_init_write(in->staged, in->schema, sets.v, sets.n, 1, cause);
	unlink(in->staged);
	if (r != VP_OK) {
		free(in->staged);
		in->staged = NULL;
		goto out;
	}
	in->final_sets = sets;
	sets.v = NULL;
	sets.n = sets.alloc = 0;
 out:
	vp_buf_release(&text);
	vp_argv_release(&sets);
	json_decref(ans);
	site_free(cur);
	wizard_schema_free(sch);
	return r;
}

/* ---- the vault ---------------------------------------------------------- */

/* Merge --secret-file into in->sec; a pinned secret is never replaced. */
static int
merge_secret_file(struct init *in, char **cause)
{
	struct vp_buf	 b = VP_BUF_INIT(VAULT_PLAIN_MAX);
	json_t		*add = NULL, *v;
	const json_t	*old;
	const char	*k, *why;
	int		 r;

	if ((r = vp_file_read(in->secret_file, &b, cause)) != VP_OK)
		goto out;
	if (vault_is_vault(b.buf, b.len)) {
		r = vp_fail(cause, VP_ERR_INVALID, "'%s' is a vault: "
		    "--secret-file takes a plain YAML file of secrets",
		    in->secret_file);
		goto out;
	}
	if ((r = secrets_parse(in->secret_file, b.buf, b.len, &add, cause)) !=
	    VP_OK)
		goto out;
	json_object_foreach(add, k, v) {
		if (secrets_catalogue_get(in->cat, k) == NULL) {
			r = vp_fail(cause, VP_ERR_INVALID, "%s: key '%s': not "
			    "a secret of the catalogue (stack/secrets.yml)",
			    in->secret_file, k);
			goto out;
		}
		old = json_object_get(in->sec, k);
		if (old != NULL && json_string_length(old) > 0 &&
		    secrets_catalogue_pinned(in->cat, k) &&
		    !json_equal((json_t *)old, v)) {
			why = json_string_value(json_object_get(
			    secrets_catalogue_get(in->cat, k), "why"));
			r = vp_fail(cause, VP_ERR_REFUSED, "%s: key '%s': "
			    "refusing to replace the existing value: %s",
			    in->secret_file, k, why ? why : "it is not "
			    "rotatable");
			goto out;
		}
		if (json_object_set(in->sec, k, v) != 0) {
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
 out:
	json_decref(add);
	vp_buf_release_secure(&b);
	return r;
}

/* The password of an existing vault. */
static int
old_password(struct init *in, char **cause)
{
	struct vault_pw	 vpw = { in->pwfile, !in->nonint };

	if (vpw.file == NULL && getenv("VPAI_VAULT_PASSWORD_FILE") == NULL &&
	    vp_file_exists(in->pwpath))
		vpw.file = in->pwpath;
	return vault_pw_get(&vpw, &in->pw, &in->pwlen, cause);
}

/* The password of a new vault; may plan a new .vault_password. */
static int
new_password(struct init *in, char **cause)
{
	const char	*file = in->pwfile;
	int		 r = VP_OK, tries;

	if (file == NULL && (file = getenv("VPAI_VAULT_PASSWORD_FILE")) !=
	    NULL && *file == '\0')
		file = NULL;
	if (file == NULL && vp_file_exists(in->pwpath))
		file = in->pwpath;
	if (file != NULL)
		return vault_pw_read_file(file, &in->pw, &in->pwlen, cause);
	if (in->nonint) {
		if ((r = secret_generate("alnum_40", &in->pw, cause)) != VP_OK)
			return r;
		in->pwlen = strlen(in->pw);
		in->new_pwfile = 1;
		return VP_OK;
	}
	printf("\nChoose the vault password (not echoed).  Keep it safe: "
	    "without it the secrets are lost.\n");
	fflush(stdout);
	for (tries = 0; tries < 3; tries++) {
		r = vault_pw_new(NULL, 1, &in->pw, &in->pwlen, cause);
		if (r != VP_ERR_INVALID)
			break;
		printf("%s; again.\n", *cause ? *cause : "no match");
		fflush(stdout);
	}
	return r;
}

static int
do_vault(struct init *in, const struct wizard_io *io, char **cause)
{
	char		*top = NULL;
	int		 r;

	if ((r = secrets_catalogue_load(in->ctx->stack_dir, &in->cat,
	    cause)) != VP_OK)
		return r;
	in->vault_exists = vp_file_exists(in->vpath);
	top = git_top(in->site_dir);
	if (in->vault_exists) {
		/* Peek: an unencrypted vault must not sit in a git tree. */
		struct vp_buf big = VP_BUF_INIT(VAULT_FILE_MAX);

		r = vp_file_read(in->vpath, &big, cause);
		if (r == VP_OK && !vault_is_vault(big.buf, big.len))
			r = vp_fail(cause, VP_ERR_REFUSED, "'%s' is not "
			    "encrypted%s%s%s: encrypt it first (vpai vault "
			    "encrypt), or move it out", in->vpath,
			    top ? " and is inside the git work tree '" : "",
			    top ? top : "", top ? "'" : "");
		vp_buf_release_secure(&big);
		if (r != VP_OK)
			goto out;
		if ((r = vault_lock(in->vpath, &in->lock, cause)) != VP_OK)
			goto out;
		if ((r = old_password(in, cause)) != VP_OK)
			goto out;
		if ((r = vault_read(in->vpath, in->pw, in->pwlen, &in->sec,
		    cause)) != VP_OK)
			goto out;
		if ((in->sec_before = json_deep_copy(in->sec)) == NULL) {
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
	} else if ((in->sec = json_object()) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (in->secret_file != NULL &&
	    (r = merge_secret_file(in, cause)) != VP_OK)
		goto out;
	if ((r = secrets_generate_missing(in->cat, in->sec, &in->added,
	    cause)) != VP_OK)
		goto out;
	if (!in->nonint && (r = wizard_secrets(in->cat, in->sec, io,
	    cause)) != VP_OK)
		goto out;
	/* Externals never given are stored empty, to be set later. */
	{
		const char	*k;
		json_t		*e;

		json_object_foreach(in->cat, k, e)
			if (json_object_get(in->sec, k) == NULL &&
			    json_object_set_new(in->sec, k, json_string("")) !=
			    0) {
				r = vp_fail(cause, VP_ERR_NOMEM,
				    "out of memory");
				goto out;
			}
	}
	if (!in->vault_exists && (r = new_password(in, cause)) != VP_OK)
		goto out;
 out:
	free(top);
	return r;
}

/* ---- writing and the summary ------------------------------------------- */

static int
write_all(struct init *in, char **cause)
{
	struct vp_buf	 pwb = VP_BUF_INIT(VAULT_PW_MAX + 2);
	int		 r = VP_OK;

	if (in->new_pwfile) {
		vp_buf_add(&pwb, in->pw, in->pwlen);
		vp_buf_addc(&pwb, '\n');
		/* Ignored before it exists: never committable. */
		if ((r = gitignore_add(in->site_dir, cause)) != VP_OK)
			goto out;
		if ((r = vp_file_write_atomic(in->pwpath, pwb.buf, pwb.len,
		    0600, (uid_t)-1, (gid_t)-1, cause)) != VP_OK)
			goto out;
	}
	if (!json_equal(in->sec, in->sec_before) && (r = vault_write(in->vpath,
	    in->sec, in->pw, in->pwlen, cause)) != VP_OK)
		goto out;
	if (in->staged != NULL) {
		if ((r = site_init_write(in->staged, in->schema,
		    in->final_sets.v, in->final_sets.n, 1, cause)) != VP_OK)
			goto out;
		if (rename(in->staged, in->output) != 0) {
			r = vp_fail(cause, VP_ERR_IO, "cannot rename '%s' to "
			    "'%s': %s", in->staged, in->output,
			    strerror(errno));
			goto out;
		}
		free(in->staged);
		in->staged = NULL;
	} else if (!in->keep_site && in->update.len > 0)
		r = vp_file_write_atomic(in->output, in->update.buf,
		    in->update.len, in->site_mode, (uid_t)-1, (gid_t)-1,
		    cause);
 out:
	vp_buf_release_secure(&pwb);
	return r;
}

static void
summary(struct init *in)
{
	const char	*k;
	json_t		*e;
	size_t		 i, nset = 0, nempty = 0;

	if (in->ctx->quiet)
		return;
	if (in->keep_site)
		printf("kept %s (unchanged)\n", in->output);
	else if (in->changed.n > 0) {
		printf("updated %s:", in->output);
		for (i = 0; i < in->changed.n; i++)
			printf(" %s", in->changed.v[i]);
		printf("\n");
	} else
		printf("wrote %s\n", in->output);
	if (json_equal(in->sec, in->sec_before))
		printf("kept %s (unchanged)\n", in->vpath);
	else
		printf("%s %s (ansible-vault 1.1 AES256, mode 0600)\n",
		    in->vault_exists ? "updated" : "wrote", in->vpath);
	if (in->added.n > 0) {
		printf("  generated:");
		for (i = 0; i < in->added.n; i++)
			printf(" %s", in->added.v[i]);
		printf("\n");
	} else
		printf("  generated: none (existing secrets are kept)\n");
	printf("  external, empty (set later with `vpai vault set NAME`):");
	json_object_foreach(in->cat, k, e) {
		if (strcmp(json_string_value(json_object_get(e, "kind")) ?
		    json_string_value(json_object_get(e, "kind")) : "",
		    "external") != 0)
			continue;
		if (json_string_length(json_object_get(in->sec, k)) > 0)
			nset++;
		else {
			printf(" %s", k);
			nempty++;
		}
	}
	printf("%s\n  external, set: %zu\n", nempty ? "" : " none", nset);
	if (in->new_pwfile)
		printf("created %s (mode 0600, random vault password) and "
		    "listed it in %s/.gitignore: keep a copy outside this "
		    "machine\n", in->pwpath, in->site_dir);
	printf("next: vpai check, then vpai apply\n");
}

static int
init_run(struct vp_ctx *ctx, int argc, char **argv)
{
	struct vp_argv		 sets = VP_ARGV_INIT;
	struct init		 in;
	struct wizard_io	 io = { tty_write, tty_read, NULL };
	char			**pos = NULL, *cause = NULL, *path = NULL;
	int			 npos = 0, r, yes;
	const struct vp_option opts[] = {
		VP_OPT_BOOL(0, "non-interactive", &in.nonint,
		    "ask nothing: defaults, --set and --secret-file"),
		VP_OPT_LIST(0, "set", &sets, "KEY=VALUE",
		    "set a site key (repeatable; --non-interactive)"),
		VP_OPT_STRING(0, "secret-file", &in.secret_file, "FILE",
		    "plain YAML of secrets to store (--non-interactive)"),
		VP_OPT_STRING(0, "vault-password-file", &in.pwfile, "FILE",
		    "the vault password (else $VPAI_VAULT_PASSWORD_FILE)"),
		VP_OPT_STRING(0, "vault", &in.vault, "FILE",
		    "the vault (default: secrets.vault next to the site file)"),
		VP_OPT_BOOL('f', "force", &in.force,
		    "start the site file over from the defaults"),
		VP_OPT_STRING('o', "output", &in.output, "FILE",
		    "the site file (default: DIR/vpai.yml)"),
		VP_OPT_END()
	};

	memset(&in, 0, sizeof(in));
	in.ctx = ctx;
	in.sets = &sets;
	in.lock = -1;
	vp_buf_init(&in.update, 1u << 20);
	vault_secure_json_alloc();
	r = vp_cmd_parse(&vp_cmd_init, argc, argv, opts, 0, &pos, &npos);
	if (r == VP_OPT_HELP) {
		r = VP_OK;
		goto out;
	}
	if (r != VP_OK)
		goto out;
	if (!in.nonint && (sets.n > 0 || in.secret_file != NULL)) {
		r = vp_cmd_error("init", VP_ERR_USAGE, strdup("--set and "
		    "--secret-file need --non-interactive"));
		goto out;
	}
	if (!in.nonint && !isatty(STDIN_FILENO)) {
		r = vp_cmd_error("init", VP_ERR_USAGE, strdup("the "
		    "interactive wizard needs a terminal on stdin; use "
		    "--non-interactive [--set KEY=VALUE ...] [--secret-file "
		    "FILE]"));
		goto out;
	}
	if (in.output == NULL)
		in.output = ctx->site_file;
	if (in.output == NULL) {
		if ((path = vp_path_join(ctx->site_dir, "vpai.yml")) == NULL) {
			r = vp_cmd_error("init", VP_ERR_NOMEM, NULL);
			goto out;
		}
		in.output = path;
	}
	if ((in.site_dir = dir_of(in.output)) == NULL ||
	    (in.schema = vp_path_join(ctx->stack_dir, "site-schema.yml")) ==
	    NULL || (in.pwpath = vp_path_join(in.site_dir, PWFILE_NAME)) ==
	    NULL || (in.vpath = in.vault ? strdup(in.vault) :
	    vault_default_path(in.site_dir)) == NULL) {
		r = vp_cmd_error("init", VP_ERR_NOMEM, NULL);
		goto out;
	}
	if ((r = do_site(&in, &io, &cause)) != VP_OK) {
		if (r == VP_ERR_EXISTS) {
			fprintf(stderr, "vpai init: %s (use --force to "
			    "overwrite)\n", cause);
			goto out;
		}
		r = vp_cmd_error("init", r, cause);
		cause = NULL;
		goto out;
	}
	if ((r = do_vault(&in, &io, &cause)) != VP_OK) {
		r = vp_cmd_error("init", r, cause);
		cause = NULL;
		goto out;
	}
	if (!in.nonint) {
		if (in.changed.n > 0) {
			size_t i;

			printf("\nChanged in %s:", in.output);
			for (i = 0; i < in.changed.n; i++)
				printf(" %s", in.changed.v[i]);
			printf("\n");
		} else if (in.keep_site)
			printf("\n%s: no change\n", in.output);
		if ((r = confirm("\nWrite the site file and the vault? [Y/n] ",
		    &yes, &cause)) != VP_OK) {
			r = vp_cmd_error("init", r, cause);
			cause = NULL;
			goto out;
		}
		if (!yes) {
			printf("nothing was written\n");
			r = VP_ERR_INTERRUPTED;
			goto out;
		}
	}
	if ((r = write_all(&in, &cause)) != VP_OK) {
		r = vp_cmd_error("init", r, cause);
		cause = NULL;
		goto out;
	}
	summary(&in);
 out:
	if (in.staged != NULL)
		unlink(in.staged);
	if (in.lock >= 0)
		vault_unlock(in.lock);
	vault_pw_free(in.pw, in.pwlen);
	json_decref(in.sec);
	json_decref(in.sec_before);
	json_decref(in.cat);
	vp_buf_release(&in.update);
	vp_argv_release(&in.added);
	vp_argv_release(&in.changed);
	vp_argv_release(&in.final_sets);
	free(in.staged);
	free(in.site_dir);
	free(in.schema);
	free(in.pwpath);
	free(in.vpath);
	free(cause);
	free(path);
	free(pos);
	vp_argv_release(&sets);
	return r;
}

const struct vp_cmd vp_cmd_init = {
	"init", "the site wizard: write vpai.yml and secrets.vault",
	"init --non-interactive [--set KEY=VALUE ...] [--secret-file FILE]\n"
	"           [--vault-password-file FILE] [--vault FILE] [--force] "
	"[-o FILE]\n"
	"   or: vpai init [--vault-password-file FILE] [--vault FILE] "
	"[--force] [-o FILE]",
	"Without --non-interactive, asks every site question (grouped, with\n"
	"its default, '?' for help; a bad answer is re-asked with the\n"
	"reason), then the external API keys without echo, then the vault\n"
	"password twice.  On an existing site every current value is offered\n"
	"(Enter keeps it) and only the changed lines are rewritten.  Every\n"
	"missing internal secret is generated; an existing one never is.\n"
	"Nothing is written before the last answer.\n"
	"\n"
	"--non-interactive: the site file from the schema defaults and --set\n"
	"(an existing one is kept as it is, or started over with --force);\n"
	"the external secrets from --secret-file.  Without a vault password\n"
	"source, a random one is written to .vault_password (0600) next to\n"
	"the site file and listed in .gitignore.  See docs/INIT.md.\n",
	init_run
};
