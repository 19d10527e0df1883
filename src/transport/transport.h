/*
 * transport.h: run commands and put files on a target host, locally or
 * over SSH, behind one interface.
 *
 * Targets are named "local" or "ssh://[user@]host[:port]".  The ssh
 * transport runs the system OpenSSH client, so ~/.ssh/config, the agent
 * and known_hosts apply as usual.  One run opens one connection: the
 * first command starts a ControlMaster (ControlPersist) whose socket
 * lives in a private 0700 directory; vp_target_close() stops it.
 *
 * Commands are argv vectors.  For ssh, the remote shell re-joins words,
 * so the argv is quoted exactly once, by vp_sq_quote_argv(), and nowhere
 * else: a host, path or value with spaces, quotes, $(...), ';' or
 * newlines arrives verbatim and never executes.  Secrets travel on
 * stdin, never in argv.
 *
 * Calling sequence:
 *	struct vp_target_opts o = VP_TARGET_OPTS_INIT;
 *	struct vp_target *t = NULL;
 *	r = vp_target_open("ssh://deploy@vps:804", &o, &t, &cause);
 *	r = vp_target_run(t, argv, in, in_len, &res, &cause);
 *		r < 0: transport failure (VP_ERR_REMOTE: unreachable, auth...)
 *		r == 0: res.status holds the remote exit status
 *	vp_target_result_release(&res);
 *	vp_target_close(t);		NULL-safe
 */
#ifndef VP_TRANSPORT_H
#define VP_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/child.h"

/* ---- quoting (the one place) ---- */

/*
 * Append s to out as one POSIX shell word: wrapped in single quotes, each
 * embedded ' written as '\''.  The empty string becomes ''.
 */
int	vp_sq_quote(struct vp_buf *out, const char *s);

/* Quote each element of the NULL-terminated argv, separated by spaces. */
int	vp_sq_quote_argv(struct vp_buf *out, const char *const *argv);

/* ---- targets ---- */

enum vp_target_kind { VP_TARGET_LOCAL, VP_TARGET_SSH };

/* A parsed target name.  Strings are owned; release with _release. */
struct vp_target_spec {
	enum vp_target_kind	 kind;
	char			*user;	/* NULL: ssh's default */
	char			*host;
	int			 port;	/* 0: ssh's default */
};

/*
 * Parse "local" or "ssh://[user@]host[:port]" ("[v6addr]" accepted).
 * Host and user must not start with '-' and may not hold '/', '@' or
 * control characters.
 */
int	vp_target_parse(const char *name, struct vp_target_spec *out,
	    char **cause);
void	vp_target_spec_release(struct vp_target_spec *);

struct vp_target_opts {
	const char	*ssh_config;	/* ssh -F FILE, NULL: ~/.ssh/config */
	const char	*identity;	/* ssh -i FILE, NULL: agent/config */
	int		 port;		/* overrides the name's port if > 0 */
	int		 become;	/* run as root via `sudo -n` */
	int		 batch;		/* 1 yes, 0 no, -1 auto (CI or !tty) */
	int		 connect_timeout; /* seconds, 0: 10 */
	int		 timeout_ms;	/* per command, 0: none */
	int		 persist_s;	/* ControlPersist seconds, 0: 60 */
	const char	*ssh_program;	/* NULL: "ssh" (tests use a shim) */
};
#define VP_TARGET_OPTS_INIT { NULL, NULL, 0, 0, -1, 0, 0, 0, NULL }

struct vp_target;

/* Prepare a target; no connection is made until the first command. */
int	vp_target_open(const char *name, const struct vp_target_opts *,
	    struct vp_target **out, char **cause);

/* Stop the ControlMaster (if any), remove the socket dir, free. */
void	vp_target_close(struct vp_target *);

/*
 * Open a NEW target with t's name and options (its own control socket,
 * so its first command makes a fresh connection), on port when > 0.
 */
int	vp_target_reopen(const struct vp_target *t, int port,
	    struct vp_target **out, char **cause);

/* The port in use (0: ssh's default); 1 if t is an ssh target. */
int	vp_target_port(const struct vp_target *);
int	vp_target_is_ssh(const struct vp_target *);

/* "local" or "ssh://user@host:port" as given; borrowed. */
const char *vp_target_name(const struct vp_target *);

/* Number of commands run so far (each is one round trip for ssh). */
unsigned vp_target_round_trips(const struct vp_target *);

struct vp_target_result {
	int		status;		/* remote exit status */
	struct vp_buf	out;
	struct vp_buf	err;
};
#define VP_TARGET_RESULT_INIT { -1, VP_BUF_INIT(64u << 20), \
	VP_BUF_INIT(1u << 20) }
void	vp_target_result_release(struct vp_target_result *);

/*
 * Run argv on the target (as root through `sudo -n` when become is set),
 * feeding in/in_len to its stdin and capturing stdout/stderr in res.
 * Returns VP_OK when the command ran (whatever its exit status), else
 * VP_ERR_REMOTE with a cause naming the target (unreachable, host key,
 * authentication, sudo needs a password) or VP_ERR_CHILD.
 */
int	vp_target_run(struct vp_target *, const char *const *argv,
	    const void *in, size_t in_len, struct vp_target_result *res,
	    char **cause);

/*
 * Write data to path on the target atomically: a temp file in the same
 * directory, owner/group/mode applied, then renamed over path.  The data
 * goes over stdin.  owner/group NULL: unchanged (the runner's).
 */
int	vp_target_put(struct vp_target *, const char *path, const void *data,
	    size_t len, mode_t mode, const char *owner, const char *group,
	    char **cause);

/*
 * The argv the transport would execute for argv (for tests and -v).
 * Appends to out.
 */
int	vp_target_command(struct vp_target *, const char *const *argv,
	    struct vp_argv *out, char **cause);

#endif
