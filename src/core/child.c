/* child.c: fork/exec from argv with stdin feeding, capture and timeout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/child.h"

extern char **environ;

static vp_child_remote_fn	 remote_fn;
static void			*remote_arg;

void
vp_child_set_remote(vp_child_remote_fn fn, void *arg)
{
	remote_fn = fn;
	remote_arg = fn != NULL ? arg : NULL;
}

int
vp_child_is_remote(const char *prog)
{
	return remote_fn != NULL && prog != NULL &&
	    (strcmp(prog, "docker") == 0 ||
	    strcmp(prog, "docker-compose") == 0);
}

int
vp_argv_push(struct vp_argv *a, const char *s)
{
	char	**v;
	size_t	  n;

	if (a->n + 2 > a->alloc) {
		n = a->alloc ? a->alloc * 2 : 16;
		if ((v = realloc(a->v, n * sizeof(*v))) == NULL)
			return VP_ERR_NOMEM;
		a->v = v;
		a->alloc = n;
	}
	if ((a->v[a->n] = strdup(s)) == NULL)
		return VP_ERR_NOMEM;
	a->n++;
	a->v[a->n] = NULL;
	return VP_OK;
}

int
vp_argv_pushl(struct vp_argv *a, ...)
{
	va_list		 ap;
	const char	*s;
	int		 r = VP_OK;

	va_start(ap, a);
	while (r == VP_OK && (s = va_arg(ap, const char *)) != NULL)
		r = vp_argv_push(a, s);
	va_end(ap);
	return r;
}

int
vp_argv_pushf(struct vp_argv *a, const char *fmt, ...)
{
	va_list	 ap;
	char	*s = NULL;
	int	 r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return VP_ERR_NOMEM;
	r = vp_argv_push(a, s);
	free(s);
	return r;
}

void
vp_argv_release(struct vp_argv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->alloc = 0;
}

void
vp_child_release(struct vp_child *c)
{
	vp_argv_release(&c->args);
	vp_argv_release(&c->env);
	vp_buf_release(&c->out);
	vp_buf_release_secure(&c->err);
}

int
vp_have_program(const char *name)
{
	const char	*path = getenv("PATH");
	char		*copy, *dir, *save = NULL, *full = NULL;
	int		 found = 0;

	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0;
	if (path == NULL || (copy = strdup(path)) == NULL)
		return 0;
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		if (asprintf(&full, "%s/%s", dir, name) < 0)
			break;
		found = access(full, X_OK) == 0;
		free(full);
	}
	free(copy);
	return found;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
child_exec(struct vp_child *c, char *const *argv, int in, int out, int err)
{
	size_t i;

	if (in >= 0)
		dup2(in, 0);
	else {
		int fd = open("/dev/null", O_RDONLY);

		if (fd >= 0)
			dup2(fd, 0);
	}
	if (out >= 0)
		dup2(out, 1);
	if (err >= 0)
		dup2(err, 2);
	if (c->cwd != NULL && chdir(c->cwd) != 0) {
		dprintf(2, "vpai: cannot chdir to '%s': %s\n", c->cwd,
		    strerror(errno));
		_exit(127);
	}
	for (i = 0; argv == c->args.v && i < c->env.n; i++)
		putenv(c->env.v[i]);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	dprintf(2, "vpai: cannot run '%s': %s\n", argv[0],
	    strerror(errno));
	_exit(127);
}

/*
 * Feed stdin and drain stdout/stderr until all are closed or the deadline
 * passes.  fd[0] is stdin's write end, fd[1]/fd[2] the read ends; each is
 * -1 when absent and is set to -1 once closed here.  The caller closes
 * whatever is left open.
 */
static int
pump(struct vp_child *c, int fd[3], char **cause)
{
	struct pollfd	 p[3];
	size_t		 off = 0;
	char		 chunk[16384];
	long		 deadline = c->timeout_ms ? now_ms() + c->timeout_ms : 0;
	ssize_t		 n;
	int		 i, k, np, t, slot[3];

	for (;;) {
		np = 0;
		for (k = 0; k < 3; k++) {
			if (fd[k] < 0)
				continue;
			p[np].fd = fd[k];
			p[np].events = k == 0 ? POLLOUT : POLLIN;
			slot[np++] = k;
		}
		if (np == 0)
			return VP_OK;
		t = -1;
		if (deadline) {
			t = (int)(deadline - now_ms());
			if (t <= 0)
				return vp_fail(cause, VP_ERR_CHILD,
				    "'%s' timed out after %d ms", c->args.v[0],
				    c->timeout_ms);
		}
		if (poll(p, (nfds_t)np, t) < 0) {
			if (errno == EINTR)
				continue;
			return vp_fail(cause, VP_ERR_CHILD, "poll: %s",
			    strerror(errno));
		}
		for (i = 0; i < np; i++) {
			if (p[i].revents == 0)
				continue;
			k = slot[i];
			if (k == 0) {
				n = write(fd[0], (const char *)c->in + off,
				    c->in_len - off);
				if (n < 0 && errno == EINTR)
					continue;
				if (n > 0)
					off += (size_t)n;
				if (n < 0 || off == c->in_len) {
					close(fd[0]);
					fd[0] = -1;
				}
				continue;
			}
			n = read(fd[k], chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(fd[k]);
				fd[k] = -1;
				continue;
			}
			if (vp_buf_add(k == 1 ? &c->out : &c->err, chunk,
			    (size_t)n) != 0)
				return vp_fail(cause, VP_ERR_TOOBIG,
				    "'%s' output too large", c->args.v[0]);
		}
	}
}

int
vp_child_run(struct vp_child *c, char **cause)
{
	struct vp_argv	 rargv = VP_ARGV_INIT;
	char *const	*argv;
	int		 pin[2] = { -1, -1 }, pout[2] = { -1, -1 };
	int		 perr[2] = { -1, -1 }, status, r;
	pid_t		 pid;

	if (c->args.n == 0)
		return vp_fail(cause, VP_ERR_USAGE, "empty command");
	argv = c->args.v;
	if (vp_child_is_remote(c->args.v[0])) {
		/* Its environment would stay here: refuse, never drop it. */
		if (c->env.n > 0 || c->cwd != NULL)
			return vp_fail(cause, VP_ERR_REFUSED, "'%s %s' needs a "
			    "local environment or directory and cannot run on "
			    "the remote host", c->args.v[0], c->args.n > 1 ?
			    c->args.v[1] : "");
		if ((r = remote_fn(remote_arg, c->args.v, &rargv, cause)) != 0)
			goto fail;
		argv = rargv.v;
	}
	if ((c->in_len && pipe2(pin, O_CLOEXEC) != 0) ||
	    (c->capture_out && pipe2(pout, O_CLOEXEC) != 0) ||
	    (c->capture_err && pipe2(perr, O_CLOEXEC) != 0)) {
		r = vp_fail(cause, VP_ERR_CHILD, "pipe: %s", strerror(errno));
		goto fail;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		r = vp_fail(cause, VP_ERR_CHILD, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child_exec(c, argv, pin[0], pout[1], perr[1]);
	c->pid = pid;
	if (pin[0] >= 0)
		close(pin[0]);
	if (pout[1] >= 0)
		close(pout[1]);
	if (perr[1] >= 0)
		close(perr[1]);
	{
		struct sigaction sa, old;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, &old);
		int fds[3] = { pin[1], pout[0], perr[0] }, i;

		r = pump(c, fds, cause);
		sigaction(SIGPIPE, &old, NULL);
		for (i = 0; i < 3; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	if (r != VP_OK)
		kill(pid, SIGKILL);
	vp_argv_release(&rargv);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			return vp_fail(cause, VP_ERR_CHILD, "waitpid: %s",
			    strerror(errno));
		}
	if (r != VP_OK)
		return r;
	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == 127 && c->capture_err &&
		    strstr(c->err.buf, "vpai: cannot run") != NULL)
			return vp_fail(cause, VP_ERR_CHILD, "%s",
			    c->err.buf + 6);
		return WEXITSTATUS(status);
	}
	return 128 + WTERMSIG(status);
 fail:
	vp_argv_release(&rargv);
	if (pin[0] >= 0) { close(pin[0]); close(pin[1]); }
	if (pout[0] >= 0) { close(pout[0]); close(pout[1]); }
	if (perr[0] >= 0) { close(perr[0]); close(perr[1]); }
	return r;
}

static volatile sig_atomic_t	interrupted;

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

int
vp_catch_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0)
		return VP_ERR_IO;
	return VP_OK;
}

int
vp_interrupted(void)
{
	return interrupted != 0;
}
