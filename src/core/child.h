/*
 * child.h: run subprocesses from an argv vector; never through a shell.
 *
 * Calling sequence (as git's run-command):
 *   1. struct vp_child c = VP_CHILD_INIT;
 *   2. vp_argv_pushl(&c.args, "docker", "ps", NULL);  (and c.env, c.cwd,
 *      c.in/c.in_len for stdin bytes, c.timeout_ms, c.capture_out/err)
 *   3. r = vp_child_run(&c, &cause);
 *        r < 0: could not start, or timed out (VP_ERR_CHILD), cause says
 *        r >= 0: the exit status (128+sig when killed by a signal)
 *      c.out / c.err hold captured output when capture_* was set.
 *   4. vp_child_release(&c);
 *
 * Secrets go through c.in (stdin) or files, never through argv.
 */
#ifndef VP_CHILD_H
#define VP_CHILD_H

#include <stddef.h>

#include "core/buf.h"

struct vp_argv {
	char	**v;
	size_t	  n;
	size_t	  alloc;
};
#define VP_ARGV_INIT	{ NULL, 0, 0 }

int	vp_argv_push(struct vp_argv *, const char *);
int	vp_argv_pushl(struct vp_argv *, ...) __attribute__((sentinel));
int	vp_argv_pushf(struct vp_argv *, const char *, ...) VP_PRINTF(2, 3);
void	vp_argv_release(struct vp_argv *);

struct vp_child {
	struct vp_argv	 args;
	struct vp_argv	 env;		/* extra "K=V" added to environ */
	const char	*cwd;
	const void	*in;		/* bytes for stdin (else /dev/null) */
	size_t		 in_len;
	int		 capture_out;	/* 0: inherit stdout, 1: into out */
	int		 capture_err;	/* 0: inherit stderr, 1: into err */
	int		 timeout_ms;	/* 0: none */
	struct vp_buf	 out;
	struct vp_buf	 err;
	int		 pid;
};
#define VP_CHILD_INIT { VP_ARGV_INIT, VP_ARGV_INIT, NULL, NULL, 0, 1, 1, 0, \
	VP_BUF_INIT(64u << 20), VP_BUF_INIT(1u << 20), -1 }

int	vp_child_run(struct vp_child *, char **cause);
void	vp_child_release(struct vp_child *);

/*
 * The command host: one explicit, process-wide hook for running the
 * container engine on another machine (`vpai apply --target ssh://`).
 * When set, vp_child_run() hands the argv of every child whose program
 * is "docker" or "docker-compose" to fn, which appends to out the argv
 * that really runs (for ssh: the transport's ssh argv, quoted once by
 * the transport; src/host/remote.c).  stdin feeding, capture, timeouts
 * and exit statuses are unchanged (ssh returns the remote status; 255
 * when the connection fails).  A child with c->env or c->cwd set is
 * refused (VP_ERR_REFUSED): they would not reach the remote command.
 * fn NULL: everything runs locally again.
 */
typedef int (*vp_child_remote_fn)(void *arg, char *const *argv,
	    struct vp_argv *out, char **cause);
void	vp_child_set_remote(vp_child_remote_fn fn, void *arg);
/* 1 when a child running prog would run on the command host. */
int	vp_child_is_remote(const char *prog);

/* Search PATH for an executable; returns 1 when found. */
int	vp_have_program(const char *name);

/*
 * Ctrl-C during a remote step: from here on SIGINT and SIGTERM only set a
 * flag instead of killing vpai (the children of the foreground process
 * group, ssh among them, still get Ctrl-C from the terminal), so that the
 * command can say which host and step were interrupted, close its
 * connections and exit 130.  vp_interrupted() is 1 once one came.
 */
int	vp_catch_interrupts(void);
int	vp_interrupted(void);

#endif
