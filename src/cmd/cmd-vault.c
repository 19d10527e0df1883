/*
 * cmd-vault.c: `vpai vault VERB`: view, list, get, set, edit, rekey,
 * encrypt, decrypt, create, generate.  The vault is ansible-vault 1.1
 * compatible (src/vault/vault.h, docs/VAULT.md).
 *
 * Secret values only ever go to stdout (view, get, decrypt -o -) or into
 * the vault; never into argv, messages or world-readable files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/file.h"
#include "core/opt.h"
#include "vault/vault.h"

#define VALUE_MAX	(1u << 20)	/* a value read by `set` */
#define N8N_KEY		"n8n_encryption_key"
#define N8N_FORCE	"i-know-n8n-credentials-break"

extern const struct vp_cmd vp_cmd_vault;

/* Option values, shared by the verbs' tables. */
static const char	*o_vault, *o_pwfile, *o_newpw, *o_output;
static int		 o_n8n_force, o_force_pinned, o_empty;

#define OPT_VAULT VP_OPT_STRING(0, "vault", &o_vault, "FILE",		\
	"the vault (default: <site dir>/secrets.vault)")
#define OPT_PW VP_OPT_STRING(0, "vault-password-file", &o_pwfile, "FILE",\
	"read the password from FILE (run it if executable)")
#define OPT_NEWPW VP_OPT_STRING(0, "new-vault-password-file", &o_newpw,	\
	"FILE", "the new password (else prompted twice on the terminal)")
#define OPT_OUTPUT VP_OPT_STRING('o', "output", &o_output, "FILE",	\
	"write the result to FILE instead of in place ('-': stdout)")
#define OPT_N8N VP_OPT_BOOL(0, N8N_FORCE, &o_n8n_force,			\
	"allow replacing a non-empty n8n_encryption_key (breaks every "	\
	"stored n8n credential)")
#define OPT_PINNED VP_OPT_BOOL(0, "force-non-rotatable", &o_force_pinned,\
	"allow replacing other non-rotatable secrets (see stack/secrets.yml)")

static const struct vp_option opts_read[] = {
	OPT_VAULT, OPT_PW, VP_OPT_END()
};
static const struct vp_option opts_change[] = {
	OPT_VAULT, OPT_PW, OPT_N8N, OPT_PINNED, VP_OPT_END()
};
static const struct vp_option opts_rekey[] = {
	OPT_VAULT, OPT_PW, OPT_NEWPW, VP_OPT_END()
};
static const struct vp_option opts_encrypt[] = {
	OPT_PW, OPT_NEWPW, OPT_OUTPUT, VP_OPT_END()
};
static const struct vp_option opts_decrypt[] = {
	OPT_PW, OPT_OUTPUT, VP_OPT_END()
};
static const struct vp_option opts_create[] = {
	OPT_VAULT, OPT_PW, OPT_NEWPW,
	VP_OPT_BOOL(0, "empty", &o_empty, "create an empty vault (generate "
	    "nothing)"),
	VP_OPT_END()
};
/* Every option, to find the verb among the arguments. */
static const struct vp_option opts_all[] = {
	OPT_VAULT, OPT_PW, OPT_NEWPW, OPT_OUTPUT, OPT_N8N, OPT_PINNED,
	VP_OPT_BOOL(0, "empty", &o_empty, ""),
	VP_OPT_END()
};

struct vctx {
	struct vp_ctx	*ctx;
	const char	*path;		/* the vault */
	char		*path_alloc;
	json_t		*cat;		/* catalogue, loaded on demand */
};

struct verb {
	const char		*name;
	const char		*usage;
	const char		*help;
	int			 minargs, maxargs;
	const struct vp_option	*opts;
	int			(*fn)(struct vctx *, char **, char **);
};

static int	verb_view(struct vctx *, char **, char **);
static int	verb_list(struct vctx *, char **, char **);
static int	verb_get(struct vctx *, char **, char **);
static int	verb_set(struct vctx *, char **, char **);
static int	verb_edit(struct vctx *, char **, char **);
static int	verb_rekey(struct vctx *, char **, char **);
static int	verb_encrypt(struct vctx *, char **, char **);
static int	verb_decrypt(struct vctx *, char **, char **);
static int	verb_create(struct vctx *, char **, char **);
static int	verb_generate(struct vctx *, char **, char **);

static const struct verb verbs[] = {
	{ "view", "vault view [--vault FILE]",
	  "Print the decrypted vault (YAML) on stdout.\n", 0, 0, opts_read,
	  verb_view },
	{ "list", "vault list [--vault FILE]",
	  "List secret names with their state (set, empty, missing) and "
	  "kind,\nwithout values.  Catalogue secrets absent from the vault "
	  "are listed\nas missing.\n", 0, 0, opts_read, verb_list },
	{ "get", "vault get KEY [--vault FILE]",
	  "Print one secret's value and a newline on stdout.\n", 1, 1,
	  opts_read, verb_get },
	{ "set", "vault set KEY [--vault FILE] < value",
	  "Set KEY to the value read from stdin (one trailing newline is "
	  "removed;\nfrom a terminal it is asked without echo).  Never from "
	  "the command line.\nComments in the vault are not kept (it is "
	  "rewritten sorted).\nA non-empty n8n_encryption_key is never "
	  "replaced unless\n--" N8N_FORCE ": n8n encrypts its stored\n"
	  "credentials with it and they would become undecryptable.\n",
	  1, 1, opts_change, verb_set },
	{ "edit", "vault edit [--vault FILE]",
	  "Open the decrypted vault in $EDITOR (default vi), on a 0600 file "
	  "in a\n0700 temporary directory ($TMPDIR, else /dev/shm, else "
	  "/tmp) that is\nwiped and removed afterwards.  The result is "
	  "re-encrypted (as written,\ncomments kept) only if it parses as a "
	  "flat YAML mapping of strings.\n", 0, 0, opts_change, verb_edit },
	{ "rekey", "vault rekey [--vault FILE] [--new-vault-password-file FILE]",
	  "Re-encrypt the vault with a new password.  The content is kept "
	  "byte for\nbyte: no value changes.\n", 0, 0, opts_rekey,
	  verb_rekey },
	{ "encrypt", "vault encrypt FILE [-o OUT]",
	  "Encrypt a plain secrets file (a flat YAML mapping of strings) in "
	  "place\nor to OUT, mode 0600.  The password comes from "
	  "--new-vault-password-file,\n--vault-password-file, "
	  "$VPAI_VAULT_PASSWORD_FILE or the terminal.\n", 1, 1, opts_encrypt,
	  verb_encrypt },
	{ "decrypt", "vault decrypt FILE [-o OUT]",
	  "Decrypt a vault in place or to OUT ('-': stdout), mode 0600.\n",
	  1, 1, opts_decrypt, verb_decrypt },
	{ "create", "vault create [--vault FILE] [--empty]",
	  "Create a new vault holding every generated secret of the "
	  "catalogue\n(stack/secrets.yml), freshly generated with "
	  "getrandom(2), and every\nexternal one empty (set them later with "
	  "`vpai vault set NAME`).\nRefuses to overwrite an existing "
	  "vault.\n", 0, 0, opts_create, verb_create },
	{ "generate", "vault generate [--vault FILE]",
	  "Add every generated secret of the catalogue that the vault lacks "
	  "(or\nhas empty).  Existing values are never regenerated, and "
	  "n8n_encryption_key\nis only ever created when absent.\n", 0, 0,
	  opts_read, verb_generate },
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void
verb_usage(FILE *f, const struct verb *v)
{
	fprintf(f, "usage: vpai %s\n\n%s", v->usage, v->help);
	fprintf(f, "\noptions:\n");
	vp_opt_usage(f, v->opts);
}

/* --- helpers ------------------------------------------------------------ */

static int
get_pw(char **pw, size_t *len, char **cause)
{
	struct vault_pw p = { o_pwfile, 1 };

	return vault_pw_get(&p, pw, len, cause);
}

/* The password of a new vault: the new one if given, else the usual. */
static int
get_new_pw(char **pw, size_t *len, char **cause)
{
	const char *env = getenv("VPAI_VAULT_PASSWORD_FILE");

	if (o_newpw != NULL)
		return vault_pw_read_file(o_newpw, pw, len, cause);
	if (o_pwfile != NULL || (env != NULL && *env != '\0'))
		return get_pw(pw, len, cause);
	return vault_pw_new(NULL, 1, pw, len, cause);
}

static int
load_cat(struct vctx *v, char **cause)
{
	if (v->cat != NULL)
		return VP_OK;
	return secrets_catalogue_load(v->ctx->stack_dir, &v->cat, cause);
}

static int
is_pinned(struct vctx *v, const char *name)
{
	return strcmp(name, N8N_KEY) == 0 ||
	    secrets_catalogue_pinned(v->cat, name);
}

/*
 * Refuse when a non-empty value of a non-rotatable secret in old differs
 * in (or is missing from) new, unless forced.
 */
static int
check_pinned(struct vctx *v, const json_t *old, const json_t *new,
    char **cause)
{
	const char	*name, *why, *nv;
	json_t		*ov;

	json_object_foreach((json_t *)old, name, ov) {
		if (!json_is_string(ov) || json_string_length(ov) == 0 ||
		    !is_pinned(v, name))
			continue;
		nv = json_string_value(json_object_get(new, name));
		if (nv != NULL && strcmp(nv, json_string_value(ov)) == 0)
			continue;
		if (strcmp(name, N8N_KEY) == 0) {
			if (o_n8n_force)
				continue;
			return vp_fail(cause, VP_ERR_REFUSED, "refusing to "
			    "%s '%s': n8n encrypts every stored credential "
			    "with this key, so all existing n8n credentials "
			    "would become undecryptable (use --" N8N_FORCE
			    " if you really mean it)", nv ? "change" :
			    "remove", name);
		}
		if (o_force_pinned)
			continue;
		why = json_string_value(json_object_get(
		    secrets_catalogue_get(v->cat, name), "why"));
		return vp_fail(cause, VP_ERR_REFUSED, "refusing to %s '%s': %s "
		    "(use --force-non-rotatable if you really mean it)",
		    nv ? "change" : "remove", name,
		    why ? why : "it is not rotatable");
	}
	return VP_OK;
}

static int
read_value(const char *key, char **out, size_t *len, char **cause)
{
	struct vp_buf	 b = VP_BUF_INIT(VALUE_MAX);
	char		 chunk[4096], prompt[200];
	ssize_t		 n;
	int		 r = VP_OK;

	*out = NULL;
	*len = 0;
	if (isatty(0)) {
		snprintf(prompt, sizeof(prompt), "value for '%s' (not echoed): ",
		    key);
		return vault_tty_read(prompt, 1, out, len, cause);
	}
	if ((r = vp_buf_grow(&b, 4096)) != 0)
		return vp_fail(cause, r, "out of memory");
	for (;;) {
		n = read(0, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = vp_fail(cause, VP_ERR_IO, "cannot read stdin: %s",
			    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > b.alloc - 1 && b.alloc) {
			/* grow by hand so the old block is wiped */
			struct vp_buf	nb = VP_BUF_INIT(VALUE_MAX);
			size_t		want = b.alloc * 2 > VALUE_MAX ?
			    VALUE_MAX : b.alloc * 2;

			if ((r = vp_buf_grow(&nb, want)) != 0 ||
			    (r = vp_buf_add(&nb, b.buf, b.len)) != 0) {
				vp_buf_release_secure(&nb);
				r = vp_fail(cause, VP_ERR_TOOBIG, "value on "
				    "stdin is larger than %u bytes", VALUE_MAX);
				break;
			}
			vp_buf_release_secure(&b);
			b = nb;
		}
		if ((r = vp_buf_add(&b, chunk, (size_t)n)) != 0) {
			r = vp_fail(cause, VP_ERR_TOOBIG, "value on stdin is "
			    "larger than %u bytes", VALUE_MAX);
			break;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	if (r != 0) {
		vp_buf_release_secure(&b);
		return r;
	}
	if (b.len > 0 && b.buf[b.len - 1] == '\n') {
		b.buf[--b.len] = '\0';
		if (b.len > 0 && b.buf[b.len - 1] == '\r')
			b.buf[--b.len] = '\0';
	}
	*len = b.len;
	*out = vp_buf_detach(&b, NULL);
	return *out ? VP_OK : vp_fail(cause, VP_ERR_NOMEM, "out of memory");
}

static int
need_vault(struct vctx *v, char **cause)
{
	if (!vp_file_exists(v->path))
		return vp_fail(cause, VP_ERR_NOTFOUND, "vault '%s' does not "
		    "exist (create it with `vpai vault create`)", v->path);
	return VP_OK;
}

/* --- verbs -------------------------------------------------------------- */

static int
verb_view(struct vctx *v, char **args, char **cause)
{
	struct vp_buf	 plain = VP_BUF_INIT(VAULT_PLAIN_MAX);
	char		*pw = NULL;
	size_t		 pwlen = 0;
	int		 r;

	(void)args;
	if ((r = need_vault(v, cause)) != 0 ||
	    (r = get_pw(&pw, &pwlen, cause)) != 0 ||
	    (r = vault_read_plain(v->path, pw, pwlen, &plain, cause)) != 0)
		goto out;
	fwrite(plain.buf, 1, plain.len, stdout);
	fflush(stdout);
 out:
	vault_pw_free(pw, pwlen);
	vp_buf_release_secure(&plain);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
verb_list(struct vctx *v, char **args, char **cause)
{
	json_t		*sec = NULL, *all = NULL, *e;
	const char	**names = NULL, *name, *kind;
	char		*pw = NULL;
	size_t		 pwlen = 0, n = 0, i;
	int		 r;

	(void)args;
	if ((r = need_vault(v, cause)) != 0 ||
	    (r = load_cat(v, cause)) != 0 ||
	    (r = get_pw(&pw, &pwlen, cause)) != 0 ||
	    (r = vault_read(v->path, pw, pwlen, &sec, cause)) != 0)
		goto out;
	if ((all = json_object()) == NULL ||
	    json_object_update(all, v->cat) != 0 ||
	    json_object_update_missing(all, sec) != 0 ||
	    (names = calloc(json_object_size(all) + 1, sizeof(*names))) ==
	    NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	json_object_foreach(all, name, e)
		names[n++] = name;
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		e = json_object_get(sec, names[i]);
		kind = json_string_value(json_object_get(
		    secrets_catalogue_get(v->cat, names[i]), "kind"));
		printf("%-32s %-8s %s%s\n", names[i], e == NULL ? "missing" :
		    json_string_length(e) == 0 ? "empty" : "set",
		    kind ? kind : "(not in catalogue)",
		    is_pinned(v, names[i]) ? ", not rotatable" : "");
	}
 out:
	free(names);
	json_decref(all);
	json_decref(sec);
	vault_pw_free(pw, pwlen);
	return r;
}

static int
verb_get(struct vctx *v, char **args, char **cause)
{
	json_t		*sec = NULL, *val;
	char		*pw = NULL;
	size_t		 pwlen = 0;
	int		 r;

	if ((r = need_vault(v, cause)) != 0 ||
	    (r = get_pw(&pw, &pwlen, cause)) != 0 ||
	    (r = vault_read(v->path, pw, pwlen, &sec, cause)) != 0)
		goto out;
	if ((val = json_object_get(sec, args[0])) == NULL) {
		const char	*cands[512], *k, *m;
		json_t		*x;
		size_t		 n = 0;

		json_object_foreach(sec, k, x)
			if (n < 512)
				cands[n++] = k;
		m = vp_did_you_mean(args[0], cands, n);
		r = vp_fail(cause, VP_ERR_NOTFOUND, "no key '%.128s' in vault "
		    "'%s'%s%s%s", args[0], v->path, m ? " (did you mean '" : "",
		    m ? m : "", m ? "'?)" : "");
		goto out;
	}
	fwrite(json_string_value(val), 1, json_string_length(val), stdout);
	fputc('\n', stdout);
	fflush(stdout);
 out:
	json_decref(sec);
	vault_pw_free(pw, pwlen);
	return r;
}

static int
verb_set(struct vctx *v, char **args, char **cause)
{
	json_t		*sec = NULL, *old = NULL, *js;
	const char	*key = args[0];
	char		*pw = NULL, *val = NULL;
	size_t		 pwlen = 0, vlen = 0;
	int		 r, lk = -1;

	if ((r = need_vault(v, cause)) != 0 ||
	    (r = load_cat(v, cause)) != 0)
		goto out;
	if (secrets_catalogue_get(v->cat, key) == NULL && !v->ctx->quiet)
		fprintf(stderr, "vpai vault: note: '%.128s' is not in the "
		    "secrets catalogue (stack/secrets.yml)\n", key);
	if ((r = get_pw(&pw, &pwlen, cause)) != 0 ||
	    (r = read_value(key, &val, &vlen, cause)) != 0 ||
	    (r = vault_lock(v->path, &lk, cause)) != 0 ||
	    (r = vault_read(v->path, pw, pwlen, &sec, cause)) != 0)
		goto out;
	if ((js = json_stringn(val, vlen)) == NULL) {
		r = vp_fail(cause, VP_ERR_INVALID, "key '%.128s': the value is "
		    "not valid UTF-8 text", key);
		goto out;
	}
	if ((old = json_deep_copy(sec)) == NULL ||
	    json_object_set_new(sec, key, js) != 0) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = check_pinned(v, old, sec, cause)) != 0 ||
	    (r = vault_write(v->path, sec, pw, pwlen, cause)) != 0)
		goto out;
	if (!v->ctx->quiet)
		fprintf(stderr, "vpai vault: '%s' set in '%s'\n", key, v->path);
 out:
	vault_unlock(lk);
	json_decref(sec);
	json_decref(old);
	vault_pw_free(val, vlen);
	vault_pw_free(pw, pwlen);
	return r;
}

/* --- edit --------------------------------------------------------------- */

static char	edit_dir[4096];
static char	edit_file[4200];

static void
edit_signal(int sig)
{
	if (edit_file[0] != '\0')
		unlink(edit_file);
	if (edit_dir[0] != '\0')
		rmdir(edit_dir);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Overwrite every file in the private temp dir with zeros, remove all. */
static void
edit_cleanup(void)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		 zero[4096], *p;
	off_t		 left;
	int		 fd;

	if (edit_dir[0] == '\0')
		return;
	memset(zero, 0, sizeof(zero));
	if ((d = opendir(edit_dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if ((p = vp_path_join(edit_dir, de->d_name)) == NULL)
				continue;
			fd = open(p, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0 && fstat(fd, &st) == 0 &&
			    S_ISREG(st.st_mode)) {
				for (left = st.st_size; left > 0;
				    left -= (off_t)sizeof(zero))
					if (vp_write_all(fd, zero,
					    left < (off_t)sizeof(zero) ?
					    (size_t)left : sizeof(zero)) != 0)
						break;
				fsync(fd);
			}
			if (fd >= 0)
				close(fd);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(edit_dir);
	edit_dir[0] = edit_file[0] = '\0';
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
}

static int
edit_setup(const char *plain, size_t len, char **cause)
{
	const char	*base = getenv("TMPDIR");
	struct stat	 st;
	int		 fd, r = VP_OK;

	if (base == NULL || *base == '\0')
		base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	if ((size_t)snprintf(edit_dir, sizeof(edit_dir), "%s/vpai-vault.XXXXXX",
	    base) >= sizeof(edit_dir) || mkdtemp(edit_dir) == NULL) {
		edit_dir[0] = '\0';
		return vp_fail(cause, VP_ERR_IO, "cannot create a temporary "
		    "directory in '%s': %s", base, strerror(errno));
	}
	chmod(edit_dir, 0700);
	snprintf(edit_file, sizeof(edit_file), "%s/secrets.yml", edit_dir);
	signal(SIGTERM, edit_signal);
	signal(SIGHUP, edit_signal);
	fd = open(edit_file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0 || vp_write_all(fd, plain, len) != 0 || fsync(fd) != 0)
		r = vp_fail(cause, VP_ERR_IO, "cannot write '%s': %s",
		    edit_file, strerror(errno));
	if (fd >= 0 && close(fd) != 0 && r == 0)
		r = vp_fail(cause, VP_ERR_IO, "cannot write '%s': %s",
		    edit_file, strerror(errno));
	return r;
}

/*
 * Run $EDITOR on the file with the terminal as its stdin/stdout.  core/
 * child.h always gives children /dev/null as stdin (it never hands over
 * the terminal), so this one interactive case forks here: argv vector,
 * no shell, SIGINT/SIGQUIT ignored meanwhile as system(3) does.
 */
static int
run_editor(const char *file, char **cause)
{
	const char		*ed = getenv("EDITOR");
	char			*copy = NULL, *tok, *save = NULL, *argv[34];
	struct sigaction	 ign, oint, oquit;
	pid_t			 pid;
	int			 n = 0, status, r = VP_OK;

	if (ed == NULL || *ed == '\0')
		ed = getenv("VISUAL");
	if (ed == NULL || *ed == '\0')
		ed = "vi";
	if ((copy = strdup(ed)) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	for (tok = strtok_r(copy, " \t", &save); tok != NULL && n < 32;
	    tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	if (n == 0) {
		free(copy);
		return vp_fail(cause, VP_ERR_USAGE, "EDITOR is empty");
	}
	argv[n++] = (char *)file;
	argv[n] = NULL;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		r = vp_fail(cause, VP_ERR_CHILD, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execvp(argv[0], argv);
		dprintf(2, "vpai vault: cannot run editor '%s': %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			r = vp_fail(cause, VP_ERR_CHILD, "waitpid: %s",
			    strerror(errno));
			goto out;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		r = vp_fail(cause, VP_ERR_CHILD, "editor '%s' %s %d; vault "
		    "unchanged", argv[0], WIFEXITED(status) ? "exited with "
		    "status" : "killed by signal", WIFEXITED(status) ?
		    WEXITSTATUS(status) : WTERMSIG(status));
 out:
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	free(copy);
	return r;
}

/* Ask on the terminal whether to edit again; 0 when there is none. */
static int
ask_again(const char *why)
{
	char	 line[16];
	ssize_t	 n;
	int	 fd;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return 0;
	dprintf(fd, "vpai vault edit: %s\nedit again? [Y/n] ", why);
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	return line[0] != 'n' && line[0] != 'N';
}

static int
verb_edit(struct vctx *v, char **args, char **cause)
{
	struct vp_buf	 plain = VP_BUF_INIT(VAULT_PLAIN_MAX);
	struct vp_buf	 edited = VP_BUF_INIT(VAULT_PLAIN_MAX);
	json_t		*old = NULL, *new = NULL;
	char		*pw = NULL;
	size_t		 pwlen = 0;
	int		 r, lk = -1;

	(void)args;
	if ((r = need_vault(v, cause)) != 0 ||
	    (r = load_cat(v, cause)) != 0 ||
	    (r = get_pw(&pw, &pwlen, cause)) != 0 ||
	    (r = vault_lock(v->path, &lk, cause)) != 0 ||
	    (r = vault_read_plain(v->path, pw, pwlen, &plain, cause)) != 0 ||
	    (r = secrets_parse(v->path, plain.buf, plain.len, &old, cause))
	    != 0 ||
	    (r = edit_setup(plain.buf, plain.len, cause)) != 0)
		goto out;
	for (;;) {
		if ((r = run_editor(edit_file, cause)) != 0)
			goto out;
		vp_buf_release_secure(&edited);
		if ((r = vp_buf_grow(&edited, plain.len + 4096)) != 0 ||
		    (r = vp_file_read(edit_file, &edited, cause)) != 0)
			goto out;
		if (edited.len == plain.len &&
		    memcmp(edited.buf, plain.buf, plain.len) == 0) {
			if (!v->ctx->quiet)
				fprintf(stderr, "vpai vault: no changes; '%s' "
				    "unchanged\n", v->path);
			goto out;
		}
		json_decref(new);
		new = NULL;
		free(*cause);
		*cause = NULL;
		r = secrets_parse("edited vault", edited.buf, edited.len, &new,
		    cause);
		if (r == 0)
			r = check_pinned(v, old, new, cause);
		if (r == 0 || !ask_again(*cause))
			break;
	}
	if (r != 0) {
		vp_fail_prefix(cause, r, "'%s' unchanged", v->path);
		goto out;
	}
	if ((r = vault_write_plain(v->path, "edited vault", edited.buf,
	    edited.len, pw, pwlen, cause)) != 0)
		goto out;
	if (!v->ctx->quiet)
		fprintf(stderr, "vpai vault: '%s' updated\n", v->path);
 out:
	edit_cleanup();
	vault_unlock(lk);
	json_decref(old);
	json_decref(new);
	vault_pw_free(pw, pwlen);
	vp_buf_release_secure(&plain);
	vp_buf_release_secure(&edited);
	return r;
}

/* --- rekey, encrypt, decrypt, create, generate --------------------------- */

static int
verb_rekey(struct vctx *v, char **args, char **cause)
{
	struct vp_buf	 plain = VP_BUF_INIT(VAULT_PLAIN_MAX);
	char		*pw = NULL, *npw = NULL;
	size_t		 pwlen = 0, npwlen = 0;
	int		 r, lk = -1;

	(void)args;
	if ((r = need_vault(v, cause)) != 0 ||
	    (r = get_pw(&pw, &pwlen, cause)) != 0 ||
	    (r = vault_lock(v->path, &lk, cause)) != 0 ||
	    (r = vault_read_plain(v->path, pw, pwlen, &plain, cause)) != 0)
		goto out;
	if (o_newpw != NULL)
		r = vault_pw_read_file(o_newpw, &npw, &npwlen, cause);
	else
		r = vault_pw_new(NULL, 1, &npw, &npwlen, cause);
	if (r != 0)
		goto out;
	if ((r = vault_write_plain(v->path, v->path, plain.buf, plain.len, npw,
	    npwlen, cause)) != 0)
		goto out;
	if (!v->ctx->quiet)
		fprintf(stderr, "vpai vault: '%s' rekeyed\n", v->path);
 out:
	vault_unlock(lk);
	vault_pw_free(pw, pwlen);
	vault_pw_free(npw, npwlen);
	vp_buf_release_secure(&plain);
	return r;
}

static int
verb_encrypt(struct vctx *v, char **args, char **cause)
{
	struct vp_buf	 in = VP_BUF_INIT(VAULT_PLAIN_MAX);
	json_t		*check = NULL;
	const char	*out = o_output ? o_output : args[0];
	char		*pw = NULL;
	size_t		 pwlen = 0;
	int		 r;

	(void)v;
	if (strcmp(out, "-") == 0)
		return vp_fail(cause, VP_ERR_USAGE, "encrypt: -o - is not "
		    "supported; give a file");
	if ((r = vp_file_read(args[0], &in, cause)) != 0)
		goto out;
	if (vault_is_vault(in.buf, in.len)) {
		r = vp_fail(cause, VP_ERR_EXISTS, "'%s' is already encrypted",
		    args[0]);
		goto out;
	}
	if ((r = secrets_parse(args[0], in.buf, in.len, &check, cause)) != 0 ||
	    (r = get_new_pw(&pw, &pwlen, cause)) != 0 ||
	    (r = vault_write_plain(out, args[0], in.buf, in.len, pw, pwlen,
	    cause)) != 0)
		goto out;
	if (!v->ctx->quiet)
		fprintf(stderr, "vpai vault: encrypted '%s'%s%s\n", args[0],
		    o_output ? " to " : "", o_output ? o_output : "");
 out:
	json_decref(check);
	vault_pw_free(pw, pwlen);
	vp_buf_release_secure(&in);
	return r;
}

static int
verb_decrypt(struct vctx *v, char **args, char **cause)
{
	struct vp_buf	 plain = VP_BUF_INIT(VAULT_PLAIN_MAX);
	const char	*out = o_output ? o_output : args[0];
	char		*pw = NULL;
	size_t		 pwlen = 0;
	int		 r;

	if ((r = get_pw(&pw, &pwlen, cause)) != 0 ||
	    (r = vault_read_plain(args[0], pw, pwlen, &plain, cause)) != 0)
		goto out;
	if (strcmp(out, "-") == 0) {
		fwrite(plain.buf, 1, plain.len, stdout);
		fflush(stdout);
		goto out;
	}
	if ((r = vp_file_write_atomic(out, plain.buf, plain.len, 0600,
	    (uid_t)-1, (gid_t)-1, cause)) != 0)
		goto out;
	if (!v->ctx->quiet)
		fprintf(stderr, "vpai vault: decrypted '%s'%s%s (mode 0600; do "
		    "not commit it)\n", args[0], o_output ? " to " : "",
		    o_output ? o_output : "");
 out:
	vault_pw_free(pw, pwlen);
	vp_buf_release_secure(&plain);
	return r;
}

static int
verb_create(struct vctx *v, char **args, char **cause)
{
	struct vp_argv	 added = VP_ARGV_INIT;
	json_t		*sec = NULL, *e;
	const char	*name, *kind;
	char		*pw = NULL;
	size_t		 pwlen = 0, next = 0;
	int		 r;

	(void)args;
	if (vp_file_exists(v->path)) {
		r = vp_fail(cause, VP_ERR_EXISTS, "vault '%s' already exists "
		    "(use `vpai vault generate` to add missing secrets)",
		    v->path);
		goto out;
	}
	if ((r = load_cat(v, cause)) != 0)
		goto out;
	if ((sec = json_object()) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!o_empty) {
		if ((r = secrets_generate_missing(v->cat, sec, &added, cause))
		    != 0)
			goto out;
		json_object_foreach(v->cat, name, e) {
			kind = json_string_value(json_object_get(e, "kind"));
			if (kind != NULL && strcmp(kind, "external") == 0) {
				json_object_set_new(sec, name, json_string(""));
				next++;
			}
		}
	}
	if ((r = get_new_pw(&pw, &pwlen, cause)) != 0 ||
	    (r = vault_write(v->path, sec, pw, pwlen, cause)) != 0)
		goto out;
	if (!v->ctx->quiet)
		fprintf(stderr, "vpai vault: created '%s': %zu generated "
		    "secrets, %zu external ones left empty (set them with "
		    "`vpai vault set NAME`)\n", v->path, added.n, next);
 out:
	vp_argv_release(&added);
	json_decref(sec);
	vault_pw_free(pw, pwlen);
	return r;
}

static int
verb_generate(struct vctx *v, char **args, char **cause)
{
	struct vp_argv	 added = VP_ARGV_INIT;
	json_t		*sec = NULL;
	char		*pw = NULL;
	size_t		 pwlen = 0, i;
	int		 r, lk = -1;

	(void)args;
	if ((r = need_vault(v, cause)) != 0 ||
	    (r = load_cat(v, cause)) != 0 ||
	    (r = get_pw(&pw, &pwlen, cause)) != 0 ||
	    (r = vault_lock(v->path, &lk, cause)) != 0 ||
	    (r = vault_read(v->path, pw, pwlen, &sec, cause)) != 0 ||
	    (r = secrets_generate_missing(v->cat, sec, &added, cause)) != 0)
		goto out;
	if (added.n > 0 && (r = vault_write(v->path, sec, pw, pwlen, cause))
	    != 0)
		goto out;
	if (!v->ctx->quiet) {
		for (i = 0; i < added.n; i++)
			fprintf(stderr, "vpai vault: generated '%s'\n",
			    added.v[i]);
		fprintf(stderr, "vpai vault: %zu secret%s generated in '%s'\n",
		    added.n, added.n == 1 ? "" : "s", v->path);
	}
 out:
	vault_unlock(lk);
	vp_argv_release(&added);
	json_decref(sec);
	vault_pw_free(pw, pwlen);
	return r;
}

/* --- dispatch ----------------------------------------------------------- */

static int
takes_value(const char *a)
{
	const struct vp_option	*o;
	size_t			 len;

	if (a[0] != '-' || a[1] == '\0' || strchr(a, '=') != NULL)
		return 0;
	if (a[1] == '-') {
		len = strlen(a + 2);
		for (o = opts_all; o->type != VP_OPT_T_END; o++)
			if (o->lng && strlen(o->lng) == len &&
			    strcmp(o->lng, a + 2) == 0)
				return o->type == VP_OPT_T_STRING;
		return 0;
	}
	return a[1] == 'o' && a[2] == '\0';
}

static void
list_verbs(FILE *f)
{
	size_t i;

	vp_cmd_usage(f, &vp_cmd_vault, NULL);
	fprintf(f, "\nverbs:\n");
	for (i = 0; i < NVERBS; i++)
		fprintf(f, "  %s\n", verbs[i].usage + 6);
	fprintf(f, "\nRun 'vpai vault VERB --help' for a verb's options.\n");
}

static int
vault_run(struct vp_ctx *ctx, int argc, char **argv)
{
	const struct verb	*vb = NULL;
	struct vctx		 v;
	char			**pos = NULL, *cause = NULL;
	const char		*names[NVERBS], *m;
	int			 npos = 0, i, r;
	size_t			 k;

	o_vault = o_pwfile = o_newpw = o_output = NULL;
	o_n8n_force = o_force_pinned = o_empty = 0;
	memset(&v, 0, sizeof(v));
	v.ctx = ctx;
	vault_secure_json_alloc();

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (takes_value(argv[i])) {
			i++;
			continue;
		}
		if (argv[i][0] != '-')
			break;
	}
	if (i < argc && strcmp(argv[i], "--") != 0) {
		for (k = 0; k < NVERBS; k++)
			if (strcmp(verbs[k].name, argv[i]) == 0)
				vb = &verbs[k];
		if (vb == NULL) {
			for (k = 0; k < NVERBS; k++)
				names[k] = verbs[k].name;
			m = vp_did_you_mean(argv[i], names, NVERBS);
			fprintf(stderr, "vpai vault: '%s' is not a verb%s%s%s\n",
			    argv[i], m ? " (did you mean '" : "", m ? m : "",
			    m ? "'?)" : "");
			list_verbs(stderr);
			return VP_ERR_USAGE;
		}
	}
	r = vp_opt_parse(argc, argv, vb ? vb->opts : opts_all, &pos, &npos,
	    &cause);
	if (r == VP_OPT_HELP) {
		if (vb != NULL)
			verb_usage(stdout, vb);
		else
			list_verbs(stdout);
		return VP_OK;
	}
	if (r != 0)
		goto out;
	if (vb == NULL) {
		free(pos);
		list_verbs(stderr);
		return VP_ERR_USAGE;
	}
	/* pos[0] is the verb */
	if (npos - 1 < vb->minargs || npos - 1 > vb->maxargs) {
		r = vp_fail(&cause, VP_ERR_USAGE, "usage: vpai %s", vb->usage);
		goto out;
	}
	if (o_vault != NULL)
		v.path = o_vault;
	else {
		if ((v.path_alloc = vault_default_path(ctx->site_dir)) ==
		    NULL) {
			r = vp_fail(&cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
		v.path = v.path_alloc;
	}
	r = vb->fn(&v, pos + 1, &cause);
 out:
	free(pos);
	free(v.path_alloc);
	json_decref(v.cat);
	if (r != 0)
		return vp_cmd_error("vault", r, cause);
	free(cause);
	return VP_OK;
}

const struct vp_cmd vp_cmd_vault = {
	"vault", "view and change the encrypted secrets (ansible-vault format)",
	"vault VERB [options]",
	"The vault is <site dir>/secrets.vault unless --vault FILE; it is an\n"
	"ansible-vault 1.1 AES256 file (ansible-vault view/edit open it too).\n"
	"The password comes from --vault-password-file FILE, else the file\n"
	"named by $VPAI_VAULT_PASSWORD_FILE, else a prompt on the terminal; a\n"
	"password file that is executable is run and its output used.\n",
	vault_run
};
