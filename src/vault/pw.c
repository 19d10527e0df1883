/*
 * pw.c: where the vault password comes from, and keeping it secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "core/child.h"
#include "core/file.h"
#include "vault/vault-int.h"

#define PW_SCRIPT_TIMEOUT_MS	120000

void
vault_pw_free(char *pw, size_t len)
{
	if (pw == NULL)
		return;
	explicit_bzero(pw, len);
	free(pw);
}

static void
secure_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void
vault_secure_json_alloc(void)
{
	json_set_alloc_funcs(malloc, secure_free);
}

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

static int
is_crlf(unsigned char c)
{
	return c == '\n' || c == '\r';
}

/* Copy s[0..len) stripped by pred on both ends into a new string. */
static int
strip_dup(const char *s, size_t len, int (*pred)(unsigned char), char **out,
    size_t *outlen)
{
	char *p;

	while (len > 0 && pred((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && pred((unsigned char)s[len - 1]))
		len--;
	if ((p = malloc(len + 1)) == NULL)
		return VP_ERR_NOMEM;
	memcpy(p, s, len);
	p[len] = '\0';
	*out = p;
	*outlen = len;
	return VP_OK;
}

static int
run_script(const char *path, char **out, size_t *len, char **cause)
{
	struct vp_child	c = VP_CHILD_INIT;
	int		r;

	vp_buf_init(&c.out, VAULT_PW_MAX * 2);
	c.capture_err = 0;	/* the script may talk to the operator */
	c.timeout_ms = PW_SCRIPT_TIMEOUT_MS;
	if ((r = vp_argv_push(&c.args, path)) != 0) {
		r = vp_fail(cause, r, "out of memory");
		goto out;
	}
	r = vp_child_run(&c, cause);
	if (r < 0) {
		vp_fail_prefix(cause, r, "vault password script '%s'", path);
		goto out;
	}
	if (r != 0) {
		r = vp_fail(cause, VP_ERR_CHILD, "vault password script '%s' "
		    "exited with status %d", path, r);
		goto out;
	}
	if ((r = strip_dup(c.out.buf, c.out.len, is_crlf, out, len)) != 0)
		r = vp_fail(cause, r, "out of memory");
 out:
	if (c.out.alloc)
		explicit_bzero(c.out.buf, c.out.alloc);
	vp_child_release(&c);
	return r;
}

int
vault_pw_read_file(const char *path, char **out, size_t *len, char **cause)
{
	struct vp_buf	b = VP_BUF_INIT(VAULT_PW_MAX * 2);
	struct stat	st;
	int		r;

	*out = NULL;
	*len = 0;
	if (stat(path, &st) != 0)
		return vp_fail(cause, errno == ENOENT ? VP_ERR_NOTFOUND :
		    VP_ERR_IO, "vault password file '%s': %s", path,
		    strerror(errno));
	if (S_ISDIR(st.st_mode))
		return vp_fail(cause, VP_ERR_INVALID, "vault password file "
		    "'%s' is a directory", path);
	if (S_ISREG(st.st_mode) && (st.st_mode & 0111) &&
	    access(path, X_OK) == 0) {
		if ((r = run_script(path, out, len, cause)) != 0)
			return r;
	} else {
		if ((r = vp_buf_grow(&b, 256)) != 0 ||
		    (r = vp_file_read(path, &b, cause)) != 0) {
			vp_buf_release_secure(&b);
			return r == VP_ERR_TOOBIG ? vp_fail(cause, r, "vault "
			    "password file '%s' is too large", path) : r;
		}
		/* ansible: f.read().strip(), then .strip(b'\r\n') */
		r = strip_dup(b.buf, b.len, is_space, out, len);
		vp_buf_release_secure(&b);
		if (r != 0)
			return vp_fail(cause, r, "out of memory");
	}
	if (*len == 0) {
		vault_pw_free(*out, 0);
		*out = NULL;
		return vp_fail(cause, VP_ERR_INVALID, "vault password file '%s' "
		    "gave an empty password", path);
	}
	if (*len > VAULT_PW_MAX) {
		vault_pw_free(*out, *len);
		*out = NULL;
		*len = 0;
		return vp_fail(cause, VP_ERR_TOOBIG, "vault password from '%s' "
		    "is longer than %d bytes", path, VAULT_PW_MAX);
	}
	return VP_OK;
}

static volatile sig_atomic_t prompt_signal;

static void
prompt_handler(int sig)
{
	prompt_signal = sig;
}

int
vault_tty_read(const char *prompt, int allow_empty, char **out, size_t *len,
    char **cause)
{
	struct termios		 old, noecho;
	struct sigaction	 sa, osa[3];
	static const int	 sigs[3] = { SIGINT, SIGTERM, SIGQUIT };
	char			*buf = NULL, c;
	size_t			 n = 0;
	ssize_t			 k;
	int			 fd, r = VP_OK, restore = 0, i;

	*out = NULL;
	*len = 0;
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return vp_fail(cause, VP_ERR_NOTFOUND, "no terminal to prompt "
		    "on");
	if ((buf = malloc(VAULT_PW_MAX + 1)) == NULL) {
		close(fd);
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	}
	prompt_signal = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = prompt_handler;	/* no SA_RESTART: read gets EINTR */
	for (i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &osa[i]);
	if (tcgetattr(fd, &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		noecho.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &noecho) == 0)
			restore = 1;
	}
	(void)vp_write_all(fd, prompt, strlen(prompt));
	for (;;) {
		k = read(fd, &c, 1);
		if (k < 0 && errno == EINTR && !prompt_signal)
			continue;
		if (k < 0 || prompt_signal) {
			r = prompt_signal ? vp_fail(cause, VP_ERR_INTERRUPTED,
			    "interrupted") : vp_fail(cause, VP_ERR_IO,
			    "cannot read the terminal: %s", strerror(errno));
			break;
		}
		if (k == 0 || c == '\n')
			break;
		if (n == VAULT_PW_MAX) {
			r = vp_fail(cause, VP_ERR_TOOBIG, "vault password is "
			    "longer than %d bytes", VAULT_PW_MAX);
			break;
		}
		buf[n++] = c;
	}
	c = 0;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	(void)vp_write_all(fd, "\n", 1);
	close(fd);
	for (i = 0; i < 3; i++)
		sigaction(sigs[i], &osa[i], NULL);
	if (r == 0 && n == 0 && !allow_empty)
		r = vp_fail(cause, VP_ERR_INVALID, "empty answer");
	if (r != 0) {
		vault_pw_free(buf, VAULT_PW_MAX + 1);
		if (prompt_signal)
			raise(prompt_signal);
		return r;
	}
	*out = buf;
	*len = n;
	return VP_OK;
}

int
vault_pw_prompt(const char *prompt, char **out, size_t *len, char **cause)
{
	int r;

	r = vault_tty_read(prompt, 0, out, len, cause);
	if (r == VP_ERR_NOTFOUND)
		return vp_fail(cause, r, "no vault password: no terminal to "
		    "prompt on; use --vault-password-file FILE or set "
		    "VPAI_VAULT_PASSWORD_FILE to a file's path");
	if (r == VP_ERR_INVALID)
		return vp_fail(cause, r, "empty vault password");
	return r;
}

int
vault_pw_get(const struct vault_pw *pw, char **out, size_t *len,
    char **cause)
{
	const char	*env;
	int		 r;

	*out = NULL;
	*len = 0;
	if (pw != NULL && pw->file != NULL)
		return vault_pw_read_file(pw->file, out, len, cause);
	if ((env = getenv("VPAI_VAULT_PASSWORD_FILE")) != NULL &&
	    *env != '\0') {
		/* Not the path in the message: it may be a misplaced password. */
		if (access(env, F_OK) != 0)
			return vp_fail(cause, VP_ERR_NOTFOUND,
			    "VPAI_VAULT_PASSWORD_FILE does not name an existing "
			    "file (it must name a password file, not hold the "
			    "password)");
		if ((r = vault_pw_read_file(env, out, len, cause)) != 0)
			vp_fail_prefix(cause, r, "VPAI_VAULT_PASSWORD_FILE");
		return r;
	}
	if (pw != NULL && pw->allow_prompt)
		return vault_pw_prompt("Vault password: ", out, len, cause);
	return vp_fail(cause, VP_ERR_NOTFOUND, "no vault password: use "
	    "--vault-password-file FILE or set VPAI_VAULT_PASSWORD_FILE to a "
	    "file's path");
}

int
vault_pw_new(const char *file, int allow_prompt, char **out, size_t *len,
    char **cause)
{
	char	*again = NULL;
	size_t	 alen = 0;
	int	 r;

	*out = NULL;
	*len = 0;
	if (file != NULL)
		return vault_pw_read_file(file, out, len, cause);
	if (!allow_prompt)
		return vp_fail(cause, VP_ERR_NOTFOUND, "no new vault password: "
		    "use --new-vault-password-file FILE");
	if ((r = vault_pw_prompt("New vault password: ", out, len, cause))
	    != 0)
		return r;
	if ((r = vault_pw_prompt("Confirm new vault password: ", &again,
	    &alen, cause)) != 0)
		goto fail;
	if (alen != *len || memcmp(again, *out, alen) != 0) {
		r = vp_fail(cause, VP_ERR_INVALID, "the passwords do not match");
		goto fail;
	}
	vault_pw_free(again, alen);
	return VP_OK;
 fail:
	vault_pw_free(again, alen);
	vault_pw_free(*out, *len);
	*out = NULL;
	*len = 0;
	return r;
}
