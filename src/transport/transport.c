/*
 * transport.c: the local and ssh transports (see transport.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "transport/transport.h"

struct vp_target {
	char			*name;
	struct vp_target_spec	 spec;
	struct vp_target_opts	 o;
	char			*ssh_config;	/* owned copies of o's strings */
	char			*identity;
	char			*ssh_program;
	char			*cmdir;		/* 0700 dir holding the socket */
	char			*cmpath;
	int			 started;	/* a command went through */
	unsigned		 trips;
};

/* Written to a temp file next to the target, then renamed over it. */
static const char put_sh[] =
    "set -eu\n"
    "p=$1 d=$(dirname -- \"$1\") b=$(basename -- \"$1\")\n"
    "t=\"$d/.$b.vpai-tmp.$$\"\n"
    "trap 'rm -f -- \"$t\"' EXIT\n"
    "umask 077\n"
    "cat >\"$t\"\n"
    "[ -z \"$3\" ] || chown -- \"$3\" \"$t\"\n"
    "[ -z \"$4\" ] || chgrp -- \"$4\" \"$t\"\n"
    "chmod -- \"$2\" \"$t\"\n"
    "mv -f -- \"$t\" \"$p\"\n"
    "trap - EXIT\n";

void
vp_target_spec_release(struct vp_target_spec *s)
{
	if (s == NULL)
		return;
	free(s->user);
	free(s->host);
	s->user = s->host = NULL;
}

static int
bad_word(const char *s, const char *extra)
{
	if (*s == '\0' || *s == '-')
		return 1;
	for (; *s != '\0'; s++)
		if (iscntrl((unsigned char)*s) || isspace((unsigned char)*s) ||
		    strchr(extra, *s) != NULL)
			return 1;
	return 0;
}

int
vp_target_parse(const char *name, struct vp_target_spec *out, char **cause)
{
	const char	*p, *at, *end, *colon;
	char		*e;
	long		 port;
	int		 r = VP_OK;

	memset(out, 0, sizeof(*out));
	if (strcmp(name, "local") == 0) {
		out->kind = VP_TARGET_LOCAL;
		return VP_OK;
	}
	if (strncmp(name, "ssh://", 6) != 0)
		return vp_fail(cause, VP_ERR_USAGE, "target '%s': expected "
		    "'local' or 'ssh://[user@]host[:port]'", name);
	out->kind = VP_TARGET_SSH;
	p = name + 6;
	if ((at = strrchr(p, '@')) != NULL) {
		if ((out->user = strndup(p, (size_t)(at - p))) == NULL)
			return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		p = at + 1;
		if (bad_word(out->user, "/@:'\"\\$`;&|<>()")) {
			r = vp_fail(cause, VP_ERR_USAGE, "target '%s': bad "
			    "user name", name);
			goto fail;
		}
	}
	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL) {
			r = vp_fail(cause, VP_ERR_USAGE, "target '%s': "
			    "missing ']'", name);
			goto fail;
		}
		out->host = strndup(p + 1, (size_t)(end - p - 1));
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL) {
			r = vp_fail(cause, VP_ERR_USAGE, "target '%s': junk "
			    "after ']'", name);
			goto fail;
		}
	} else {
		colon = strrchr(p, ':');
		out->host = colon ? strndup(p, (size_t)(colon - p)) :
		    strdup(p);
	}
	if (out->host == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (bad_word(out->host, "/@'\"\\$`;&|<>()*?!{}")) {
		r = vp_fail(cause, VP_ERR_USAGE, "target '%s': bad host name",
		    name);
		goto fail;
	}
	if (colon != NULL) {
		errno = 0;
		port = strtol(colon + 1, &e, 10);
		if (colon[1] == '\0' || *e != '\0' || port < 1 ||
		    port > 65535) {
			r = vp_fail(cause, VP_ERR_USAGE, "target '%s': bad "
			    "port '%s'", name, colon + 1);
			goto fail;
		}
		out->port = (int)port;
	}
	return VP_OK;
 fail:
	vp_target_spec_release(out);
	return r;
}

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int
vp_target_open(const char *name, const struct vp_target_opts *o,
    struct vp_target **out, char **cause)
{
	struct vp_target_opts	 defo = VP_TARGET_OPTS_INIT;
	struct vp_target	*t;
	const char		*ci;
	char			 tmpl[] = "/tmp/vpai-ssh.XXXXXX";
	int			 r;

	*out = NULL;
	if (o == NULL)
		o = &defo;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	if ((r = vp_target_parse(name, &t->spec, cause)) != 0)
		goto fail;
	t->o = *o;
	if ((t->name = strdup(name)) == NULL ||
	    (o->ssh_config && (t->ssh_config = strdup(o->ssh_config)) == NULL) ||
	    (o->identity && (t->identity = strdup(o->identity)) == NULL) ||
	    (t->ssh_program = dup_or_null(o->ssh_program ? o->ssh_program :
	    "ssh")) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto fail;
	}
	t->o.ssh_config = t->ssh_config;
	t->o.identity = t->identity;
	t->o.ssh_program = t->ssh_program;
	if (o->port > 0)
		t->spec.port = o->port;
	if (t->o.batch < 0) {
		ci = getenv("CI");
		t->o.batch = (ci != NULL && *ci != '\0') || !isatty(0);
	}
	if (t->o.connect_timeout <= 0)
		t->o.connect_timeout = 10;
	if (t->o.persist_s <= 0)
		t->o.persist_s = 60;
	if (t->spec.kind == VP_TARGET_SSH) {
		if (mkdtemp(tmpl) == NULL) {
			r = vp_fail(cause, VP_ERR_IO, "cannot create a control "
			    "socket directory: %s", strerror(errno));
			goto fail;
		}
		if ((t->cmdir = strdup(tmpl)) == NULL ||
		    asprintf(&t->cmpath, "%s/cm", tmpl) < 0) {
			t->cmpath = NULL;
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
			goto fail;
		}
	}
	*out = t;
	return VP_OK;
 fail:
	vp_target_close(t);
	return r;
}

int
vp_target_reopen(const struct vp_target *t, int port, struct vp_target **out,
    char **cause)
{
	struct vp_target_opts	o = t->o;

	o.port = port > 0 ? port : t->spec.port;
	return vp_target_open(t->name, &o, out, cause);
}

int
vp_target_port(const struct vp_target *t)
{
	return t->spec.port;
}

int
vp_target_is_ssh(const struct vp_target *t)
{
	return t->spec.kind == VP_TARGET_SSH;
}

const char *
vp_target_name(const struct vp_target *t)
{
	return t->name;
}

unsigned
vp_target_round_trips(const struct vp_target *t)
{
	return t->trips;
}

void
vp_target_result_release(struct vp_target_result *res)
{
	if (res == NULL)
		return;
	vp_buf_release(&res->out);
	vp_buf_release_secure(&res->err);
	res->status = -1;
}

/* ssh options shared by commands and the master's "-O exit". */
static int
ssh_common(struct vp_target *t, struct vp_argv *a)
{
	int r;

	if ((r = vp_argv_push(a, t->o.ssh_program)) != 0)
		return r;
	if (t->o.ssh_config != NULL &&
	    (r = vp_argv_pushl(a, "-F", t->o.ssh_config, NULL)) != 0)
		return r;
	if (t->o.identity != NULL &&
	    (r = vp_argv_pushl(a, "-i", t->o.identity, NULL)) != 0)
		return r;
	if ((r = vp_argv_pushl(a, "-o", "ControlMaster=auto", NULL)) != 0 ||
	    (r = vp_argv_pushf(a, "-oControlPath=%s", t->cmpath)) != 0 ||
	    (r = vp_argv_pushf(a, "-oControlPersist=%d", t->o.persist_s)) != 0 ||
	    (r = vp_argv_pushf(a, "-oConnectTimeout=%d",
	    t->o.connect_timeout)) != 0 ||
	    /* a dead link fails within a minute instead of hanging */
	    (r = vp_argv_pushl(a, "-o", "ServerAliveInterval=15", "-o",
	    "ServerAliveCountMax=4", NULL)) != 0)
		return r;
	if (t->o.batch && (r = vp_argv_pushl(a, "-o", "BatchMode=yes",
	    NULL)) != 0)
		return r;
	if (t->spec.port > 0 && (r = vp_argv_pushf(a, "-p%d",
	    t->spec.port)) != 0)
		return r;
	if (t->spec.user != NULL && (r = vp_argv_pushl(a, "-l", t->spec.user,
	    NULL)) != 0)
		return r;
	return VP_OK;
}

static int
need_sudo(const struct vp_target *t)
{
	if (!t->o.become)
		return 0;
	if (t->spec.kind == VP_TARGET_LOCAL)
		return geteuid() != 0;
	return t->spec.user == NULL || strcmp(t->spec.user, "root") != 0;
}

int
vp_target_command(struct vp_target *t, const char *const *argv,
    struct vp_argv *out, char **cause)
{
	struct vp_buf	 remote = VP_BUF_INIT(4u << 20);
	const char	*sudo[] = { "sudo", "-n", "--", NULL };
	size_t		 i;
	int		 r;

	if (argv == NULL || argv[0] == NULL)
		return vp_fail(cause, VP_ERR_USAGE, "empty command");
	if (t->spec.kind == VP_TARGET_LOCAL) {
		r = VP_OK;
		if (need_sudo(t))
			for (i = 0; r == VP_OK && sudo[i] != NULL; i++)
				r = vp_argv_push(out, sudo[i]);
		for (i = 0; r == VP_OK && argv[i] != NULL; i++)
			r = vp_argv_push(out, argv[i]);
		goto out;
	}
	if ((r = ssh_common(t, out)) != 0 ||
	    (r = vp_argv_pushl(out, "-T", "--", t->spec.host, NULL)) != 0)
		goto out;
	/* The single quoting step: the remote shell sees words, verbatim. */
	if (need_sudo(t) && ((r = vp_sq_quote_argv(&remote, sudo)) != 0 ||
	    (r = vp_buf_addc(&remote, ' ')) != 0))
		goto out;
	if ((r = vp_sq_quote_argv(&remote, argv)) != 0)
		goto out;
	r = vp_argv_push(out, remote.buf);
 out:
	vp_buf_release(&remote);
	if (r != VP_OK && cause != NULL && *cause == NULL)
		vp_fail(cause, r, "cannot build command: %s", vp_strerror(r));
	return r;
}

/* The last non-empty line of s, trimmed, into a static-free copy. */
static char *
last_line(const char *s)
{
	const char	*end = s + strlen(s), *b;

	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	b = end;
	while (b > s && b[-1] != '\n')
		b--;
	return strndup(b, (size_t)(end - b));
}

int
vp_target_run(struct vp_target *t, const char *const *argv, const void *in,
    size_t in_len, struct vp_target_result *res, char **cause)
{
	struct vp_child	 c = VP_CHILD_INIT;
	char		*ll = NULL;
	int		 r;

	vp_buf_reset(&res->out);
	vp_buf_reset(&res->err);
	res->status = -1;
	if ((r = vp_target_command(t, argv, &c.args, cause)) != 0)
		goto out;
	c.in = in;
	c.in_len = in_len;
	c.timeout_ms = t->o.timeout_ms;
	t->trips++;
	r = vp_child_run(&c, cause);
	if (r < 0) {
		vp_fail_prefix(cause, r == VP_ERR_CHILD ? VP_ERR_REMOTE : r,
		    "'%s'", t->name);
		r = r == VP_ERR_CHILD ? VP_ERR_REMOTE : r;
		goto out;
	}
	res->status = r;
	r = VP_OK;
	if (t->spec.kind == VP_TARGET_SSH)
		t->started = 1;
	if ((ll = last_line(c.err.buf)) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (t->spec.kind == VP_TARGET_SSH && vp_interrupted()) {
		r = vp_fail(cause, VP_ERR_INTERRUPTED, "'%s': interrupted "
		    "(SIGINT/SIGTERM): the host finishes or stops its current "
		    "command, files are replaced whole or not at all; re-run "
		    "to converge", t->name);
		goto out;
	}
	if (t->spec.kind == VP_TARGET_SSH && res->status == 255) {
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': cannot connect: %s",
		    t->name, *ll ? ll : "ssh failed (exit 255)");
		goto out;
	}
	if (need_sudo(t) && res->status == 1 &&
	    strstr(c.err.buf, "sudo: a password is required") != NULL) {
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': sudo needs a "
		    "password (vpai runs 'sudo -n'; allow NOPASSWD for this "
		    "user, or connect as root)", t->name);
		goto out;
	}
	if (need_sudo(t) && res->status == 1 &&
	    strstr(c.err.buf, "sudo: ") != NULL &&
	    strstr(c.err.buf, "not found") != NULL) {
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': sudo is not "
		    "installed", t->name);
		goto out;
	}
	/* Hand the captured output over. */
	vp_buf_release(&res->out);
	vp_buf_release_secure(&res->err);
	res->out = c.out;
	res->err = c.err;
	vp_buf_init(&c.out, c.out.cap);
	vp_buf_init(&c.err, c.err.cap);
 out:
	free(ll);
	vp_child_release(&c);
	return r;
}

int
vp_target_put(struct vp_target *t, const char *path, const void *data,
    size_t len, mode_t mode, const char *owner, const char *group,
    char **cause)
{
	struct vp_target_result	 res = VP_TARGET_RESULT_INIT;
	char			 m[16];
	const char		*argv[] = { "sh", "-c", put_sh, "vpai-put", path,
				    m, owner ? owner : "", group ? group : "",
				    NULL };
	char			*ll = NULL;
	int			 r;

	snprintf(m, sizeof(m), "%04o", (unsigned)(mode & 07777));
	if (*path != '/')
		return vp_fail(cause, VP_ERR_INVALID, "'%s': path '%s' is "
		    "not absolute", t->name, path);
	if ((r = vp_target_run(t, argv, data, len, &res, cause)) != 0)
		goto out;
	if (res.status != 0) {
		ll = last_line(res.err.buf);
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': cannot write '%s': %s",
		    t->name, path, ll && *ll ? ll : "failed");
	}
 out:
	free(ll);
	vp_target_result_release(&res);
	return r;
}

void
vp_target_close(struct vp_target *t)
{
	struct vp_child	c = VP_CHILD_INIT;

	if (t == NULL)
		return;
	if (t->started && t->cmpath != NULL && access(t->cmpath, F_OK) == 0) {
		if (ssh_common(t, &c.args) == 0 &&
		    vp_argv_pushl(&c.args, "-O", "exit", "--", t->spec.host,
		    NULL) == 0) {
			c.timeout_ms = 5000;
			(void)vp_child_run(&c, NULL);
		}
		vp_child_release(&c);
	}
	if (t->cmpath != NULL)
		unlink(t->cmpath);
	/*
	 * A master that is still going away (or ssh's temporary "cm.XXXX"
	 * socket of a failed connection) can hold the directory for a few
	 * milliseconds: retry briefly rather than leave it behind.
	 */
	if (t->cmdir != NULL) {
		struct timespec	ts = { 0, 50 * 1000 * 1000 };
		int		i;

		for (i = 0; rmdir(t->cmdir) != 0 && errno == ENOTEMPTY &&
		    i < 20; i++)
			nanosleep(&ts, NULL);
	}
	vp_target_spec_release(&t->spec);
	free(t->cmpath);
	free(t->cmdir);
	free(t->name);
	free(t->ssh_config);
	free(t->identity);
	free(t->ssh_program);
	free(t);
}
