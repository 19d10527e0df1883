/*
 * u-remote: core/child.h's command host as set by host/remote.c.  A
 * `docker` child goes through the ssh transport; the ssh program is a
 * shim that logs its argv and does what sshd does with the words after
 * the host (join them, `sh -c`), with a fake `docker` first in PATH that
 * prints "remote" and its arguments NUL-separated.  Checked: hostile
 * arguments arrive verbatim (a canary file must never appear), stdin,
 * exit statuses and timeouts behave as locally, other programs still run
 * here, a child with its own environment is refused, and the forward
 * command's shape.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/child.h"
#include "core/err.h"
#include "core/file.h"
#include "host/host.h"
#include "t.h"

static char dir[] = "/tmp/u-remote.XXXXXX";
static char shim[256], canary[256], logpath[256];
static struct vp_target		*tg;
static struct vp_host_remote	 rm = VP_HOST_REMOTE_INIT;

static int
write_exec(const char *path, const char *text)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	fclose(f);
	return chmod(path, 0700);
}

static int
run(struct vp_child *c, char **cause)
{
	*cause = NULL;
	return vp_child_run(c, cause);
}

T_TEST(verbatim_through_ssh)
{
	struct vp_child	 c = VP_CHILD_INIT;
	const char	*args[] = { "ps", "a b", "it's", "$(touch CANARY)",
			    "`touch CANARY`", "; touch CANARY", "x\ny", "",
			    "*", "\"q\"", NULL };
	char		 v[10][128], *cause = NULL;
	const char	*p;
	size_t		 i, n = 0;
	unsigned	 before = rm.commands;
	int		 r;

	vp_argv_push(&c.args, "docker");
	for (i = 0; args[i] != NULL; i++) {
		snprintf(v[i], sizeof(v[i]), "%s", args[i]);
		if ((p = strstr(args[i], "CANARY")) != NULL)
			snprintf(v[i] + (p - args[i]), sizeof(v[i]) -
			    (size_t)(p - args[i]), "%s%s", canary, p + 6);
		vp_argv_push(&c.args, v[i]);
	}
	r = run(&c, &cause);
	T_INTEQ(r, 0);
	T_ASSERT(rm.commands == before + 1);
	/* "remote\0" then each argument and "\0" */
	p = c.out.buf;
	T_STREQ(p, "remote");
	p += strlen(p) + 1;
	for (i = 0; args[i] != NULL && p < c.out.buf + c.out.len; i++) {
		T_STREQ(p, v[i]);
		p += strlen(p) + 1;
		n++;
	}
	T_INTEQ((int)n, 10);
	T_ASSERT(access(canary, F_OK) != 0);
	free(cause);
	vp_child_release(&c);
}

T_TEST(stdin_status_timeout)
{
	struct vp_child	 c = VP_CHILD_INIT;
	struct timespec	 a, b;
	char		*cause = NULL;
	int		 r;

	/* stdin through ssh's */
	vp_argv_pushl(&c.args, "docker", "cat", NULL);
	c.in = "line one\nsecret two\n";
	c.in_len = strlen(c.in);
	T_INTEQ(run(&c, &cause), 0);
	T_STREQ(c.out.buf, "line one\nsecret two\n");
	vp_child_release(&c);
	free(cause);
	/* the remote exit status */
	c = (struct vp_child)VP_CHILD_INIT;
	vp_argv_pushl(&c.args, "docker", "exit", "7", NULL);
	T_INTEQ(run(&c, &cause), 7);
	vp_child_release(&c);
	free(cause);
	/* timeouts as locally */
	c = (struct vp_child)VP_CHILD_INIT;
	vp_argv_pushl(&c.args, "docker", "sleep", "5", NULL);
	c.timeout_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = run(&c, &cause);
	clock_gettime(CLOCK_MONOTONIC, &b);
	T_INTEQ(r, VP_ERR_CHILD);
	T_ASSERT(cause != NULL && strstr(cause, "'docker' timed out") != NULL);
	T_ASSERT(b.tv_sec - a.tv_sec < 3);
	vp_child_release(&c);
	free(cause);
}

T_TEST(others_stay_local)
{
	struct vp_child	 c = VP_CHILD_INIT;
	char		*cause = NULL;

	T_ASSERT(vp_child_is_remote("docker"));
	T_ASSERT(vp_child_is_remote("docker-compose"));
	T_ASSERT(!vp_child_is_remote("sh"));
	T_ASSERT(!vp_child_is_remote("/usr/bin/docker"));
	vp_argv_pushl(&c.args, "printf", "%s", "here", NULL);
	T_INTEQ(run(&c, &cause), 0);
	T_STREQ(c.out.buf, "here");
	vp_child_release(&c);
	free(cause);
}

T_TEST(env_refused)
{
	struct vp_child	 c = VP_CHILD_INIT;
	char		*cause = NULL;

	vp_argv_pushl(&c.args, "docker", "exec", "-e", "REDISCLI_AUTH", "x",
	    NULL);
	vp_argv_push(&c.env, "REDISCLI_AUTH=s3cret-value");
	T_INTEQ(run(&c, &cause), VP_ERR_REFUSED);
	T_ASSERT(cause != NULL && strstr(cause, "s3cret") == NULL);
	vp_child_release(&c);
	free(cause);
}

T_TEST(forward_shape)
{
	struct vp_buf	 log = VP_BUF_INIT(1u << 20);
	struct vp_target *lt = NULL;
	char		*cause = NULL;

	unlink(logpath);
	T_INTEQ(vp_host_forward(tg, "/tmp/d/n8n.sock", "172.31.2.4", 5678, 0,
	    &cause), 0);
	T_INTEQ(vp_file_read(logpath, &log, &cause), 0);
	T_ASSERT(strstr(log.buf, "\n-O\nforward\n-L\n/tmp/d/n8n.sock:"
	    "172.31.2.4:5678\n--\nhost\n") != NULL);
	T_ASSERT(strstr(log.buf, "-oControlPath=") != NULL);
	T_ASSERT(strstr(log.buf, "-T\n") == NULL);
	vp_buf_release(&log);
	free(cause);
	cause = NULL;
	T_INTEQ(vp_target_open("local", NULL, &lt, &cause), 0);
	T_INTEQ(vp_host_forward(lt, "/tmp/s", "1.2.3.4", 1, 0, &cause),
	    VP_ERR_USAGE);
	vp_target_close(lt);
	free(cause);
}

T_TEST(end_restores_local)
{
	vp_host_remote_end(&rm);
	T_ASSERT(!vp_child_is_remote("docker"));
}

int
main(void)
{
	struct vp_target_opts	 o = VP_TARGET_OPTS_INIT;
	char			 path[300], *cause = NULL, *text = NULL;
	int			 rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(shim, sizeof(shim), "%s/ssh", dir);
	snprintf(canary, sizeof(canary), "%s/canary", dir);
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	snprintf(path, sizeof(path), "%s/bin", dir);
	mkdir(path, 0700);
	/* sshd: join the words after the host, sh -c them */
	if (asprintf(&text, "#!/bin/sh\n"
	    "printf '%%s\\n' \"$@\" >%s\n"
	    "while [ \"$1\" != -- ]; do shift; done\n"
	    "shift 2\n"
	    "PATH=%s/bin:$PATH exec sh -c \"$*\"\n", logpath, dir) < 0 ||
	    write_exec(shim, text) != 0)
		return 1;
	free(text);
	snprintf(path, sizeof(path), "%s/bin/docker", dir);
	if (write_exec(path, "#!/bin/sh\n"
	    "case \"$1\" in\n"
	    "cat) exec cat ;;\n"
	    "exit) exit \"$2\" ;;\n"
	    "sleep) exec sleep \"$2\" ;;\n"
	    "esac\n"
	    "printf 'remote\\0'\n"
	    "printf '%s\\0' \"$@\"\n") != 0)
		return 1;
	o.ssh_program = shim;
	o.batch = 1;
	if (vp_target_open("ssh://user@host:2222", &o, &tg, &cause) != 0) {
		printf("open: %s\n", cause);
		return 1;
	}
	vp_host_remote_begin(&rm, tg);
	T_RUN(verbatim_through_ssh);
	T_RUN(stdin_status_timeout);
	T_RUN(others_stay_local);
	T_RUN(env_refused);
	T_RUN(forward_shape);
	T_RUN(end_restores_local);
	vp_target_close(tg);
	rc = T_DONE();
	unlink(shim);
	unlink(canary);
	unlink(logpath);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bin", dir);
	rmdir(path);
	rmdir(dir);
	return rc;
}
