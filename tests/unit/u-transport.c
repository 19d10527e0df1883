/*
 * u-transport.c: quoting, target names, and argv that must arrive
 * verbatim through a remote shell (simulated by an ssh shim that does
 * what sshd does: join the words after the host with spaces and run
 * them with `sh -c`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "transport/transport.h"

static char shim_dir[] = "/tmp/u-transport.XXXXXX";
static char shim[256], canary[256];

/* Values that would run something if quoted wrongly. */
static const char *const nasty[] = {
	"plain",
	"with space",
	"it's",
	"'",
	"''",
	"\"double\"",
	"$(touch CANARY)",
	"`touch CANARY`",
	"; touch CANARY",
	"a\nb; touch CANARY\n",
	"$HOME ${HOME} $1 $@ $*",
	"\\",
	"\\'",
	"*",
	"-n",
	"",
	"a\tb",
	"&& touch CANARY ||",
	"| touch CANARY",
	"> CANARY",
	"'\"'\"'$(touch CANARY)'",
	NULL
};

static void
fix_canary(char *dst, size_t n, const char *s)
{
	const char	*p;
	size_t		 o = 0;

	/* Replace CANARY by the canary path (so any execution is seen). */
	while ((p = strstr(s, "CANARY")) != NULL && o + 1 < n) {
		o += (size_t)snprintf(dst + o, n - o, "%.*s%s", (int)(p - s),
		    s, canary);
		s = p + 6;
	}
	if (o < n)
		snprintf(dst + o, n - o, "%s", s);
}

T_TEST(quote_basic)
{
	struct vp_buf	b = VP_BUF_INIT(1024);
	const char	*argv[] = { "a b", "it's", "", NULL };

	T_ASSERT(vp_sq_quote(&b, "abc") == 0);
	T_STREQ(b.buf, "'abc'");
	vp_buf_reset(&b);
	T_ASSERT(vp_sq_quote(&b, "it's") == 0);
	T_STREQ(b.buf, "'it'\\''s'");
	vp_buf_reset(&b);
	T_ASSERT(vp_sq_quote(&b, "") == 0);
	T_STREQ(b.buf, "''");
	vp_buf_reset(&b);
	T_ASSERT(vp_sq_quote_argv(&b, argv) == 0);
	T_STREQ(b.buf, "'a b' 'it'\\''s' ''");
	vp_buf_release(&b);
}

T_TEST(parse_targets)
{
	struct vp_target_spec	s;
	char			*cause = NULL;

	T_ASSERT(vp_target_parse("local", &s, &cause) == 0);
	T_INTEQ(s.kind, VP_TARGET_LOCAL);
	T_ASSERT(vp_target_parse("ssh://deploy@vps.example:804", &s,
	    &cause) == 0);
	T_INTEQ(s.kind, VP_TARGET_SSH);
	T_STREQ(s.user, "deploy");
	T_STREQ(s.host, "vps.example");
	T_INTEQ(s.port, 804);
	vp_target_spec_release(&s);
	T_ASSERT(vp_target_parse("ssh://[::1]:2222", &s, &cause) == 0);
	T_STREQ(s.host, "::1");
	T_ASSERT(s.user == NULL);
	T_INTEQ(s.port, 2222);
	vp_target_spec_release(&s);
	T_ASSERT(vp_target_parse("ssh://h", &s, &cause) == 0);
	T_INTEQ(s.port, 0);
	vp_target_spec_release(&s);
	T_INTEQ(vp_target_parse("ssh://-oProxyCommand=x", &s, &cause),
	    VP_ERR_USAGE);
	T_ASSERT(strstr(cause, "bad host") != NULL);
	T_INTEQ(vp_target_parse("ssh://a b", &s, &cause), VP_ERR_USAGE);
	T_INTEQ(vp_target_parse("ssh://-l@h", &s, &cause), VP_ERR_USAGE);
	T_INTEQ(vp_target_parse("ssh://h:99999", &s, &cause), VP_ERR_USAGE);
	T_INTEQ(vp_target_parse("ssh://h:", &s, &cause), VP_ERR_USAGE);
	T_INTEQ(vp_target_parse("ssh://h;reboot", &s, &cause), VP_ERR_USAGE);
	T_INTEQ(vp_target_parse("ftp://h", &s, &cause), VP_ERR_USAGE);
	T_ASSERT(strstr(cause, "ftp://h") != NULL);
	free(cause);
}

T_TEST(ssh_argv_shape)
{
	struct vp_target_opts	 o = VP_TARGET_OPTS_INIT;
	struct vp_target	*t = NULL;
	struct vp_argv		 a = VP_ARGV_INIT;
	const char		*argv[] = { "echo", "a b", NULL };
	char			*cause = NULL;
	size_t			 i;
	int			 saw_cm = 0, saw_batch = 0, saw_port = 0;

	o.batch = 1;
	o.become = 1;
	o.ssh_config = "/dev/null";
	T_ASSERT(vp_target_open("ssh://deploy@h:2200", &o, &t, &cause) == 0);
	T_ASSERT(vp_target_command(t, argv, &a, &cause) == 0);
	T_STREQ(a.v[0], "ssh");
	for (i = 0; i < a.n; i++) {
		saw_cm |= strcmp(a.v[i], "ControlMaster=auto") == 0;
		saw_batch |= strcmp(a.v[i], "BatchMode=yes") == 0;
		saw_port |= strcmp(a.v[i], "-p2200") == 0;
	}
	T_ASSERT(saw_cm && saw_batch && saw_port);
	T_STREQ(a.v[a.n - 3], "--");
	T_STREQ(a.v[a.n - 2], "h");
	/* become: sudo -n, and exactly one quoting step */
	T_STREQ(a.v[a.n - 1], "'sudo' '-n' '--' 'echo' 'a b'");
	vp_argv_release(&a);
	vp_target_close(t);
	free(cause);
}

/* Run argv through the shim "remote shell"; compare what arrives. */
static int
roundtrip(struct vp_target *t, const char *const *argv, char **got)
{
	struct vp_target_result	 res = VP_TARGET_RESULT_INIT;
	const char		*pre[] = { "printf", "%s\\0", NULL };
	const char		*full[64];
	char			*cause = NULL;
	size_t			 i, n = 0;
	int			 r;

	/* printf '%s\0' ARGS... prints each argument NUL-terminated. */
	full[n++] = pre[0];
	full[n++] = "%s\\0";
	for (i = 0; argv[i] != NULL && n < 63; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	r = vp_target_run(t, full, NULL, 0, &res, &cause);
	if (r == 0 && res.status == 0)
		*got = vp_buf_detach(&res.out, NULL);
	else
		r = -1;
	vp_target_result_release(&res);
	free(cause);
	return r;
}

static int
same(const char *got, const char *const *argv)
{
	size_t i;

	for (i = 0; argv[i] != NULL; i++) {
		if (strcmp(got, argv[i]) != 0)
			return 0;
		got += strlen(got) + 1;
	}
	return 1;
}

static void
check_verbatim(const char *target)
{
	struct vp_target_opts	 o = VP_TARGET_OPTS_INIT;
	struct vp_target	*t = NULL;
	char			 vals[32][256];
	const char		*argv[33];
	char			*cause = NULL, *got = NULL;
	size_t			 i;

	o.ssh_program = shim;
	o.batch = 1;
	if (vp_target_open(target, &o, &t, &cause) != 0) {
		printf("  open: %s\n", cause);
		t_cur_failed = 1;
		free(cause);
		return;
	}
	for (i = 0; nasty[i] != NULL; i++) {
		fix_canary(vals[i], sizeof(vals[i]), nasty[i]);
		argv[i] = vals[i];
	}
	argv[i] = NULL;
	if (roundtrip(t, argv, &got) != 0 || !same(got, argv)) {
		printf("  %s: arguments did not arrive verbatim\n", target);
		t_cur_failed = 1;
	}
	if (access(canary, F_OK) == 0) {
		printf("  %s: an argument was executed\n", target);
		t_cur_failed = 1;
	}
	free(got);
	vp_target_close(t);
}

T_TEST(verbatim_local)
{
	check_verbatim("local");
}

T_TEST(verbatim_ssh_shim)
{
	check_verbatim("ssh://user@host:22");
}

T_TEST(put_atomic_local)
{
	struct vp_target	*t = NULL;
	struct stat		 st;
	char			 path[300], *cause = NULL;
	FILE			*f;
	char			 buf[64] = "";

	snprintf(path, sizeof(path), "%s/it's $(x) a file", shim_dir);
	T_ASSERT(vp_target_open("local", NULL, &t, &cause) == 0);
	T_ASSERT(vp_target_put(t, path, "hello\n", 6, 0640, NULL, NULL,
	    &cause) == 0);
	T_ASSERT(stat(path, &st) == 0);
	T_INTEQ(st.st_mode & 07777, 0640);
	T_ASSERT((f = fopen(path, "r")) != NULL);
	T_ASSERT(fgets(buf, sizeof(buf), f) != NULL);
	fclose(f);
	T_STREQ(buf, "hello\n");
	T_INTEQ(vp_target_put(t, "/nonexistent-dir/x", "a", 1, 0600, NULL,
	    NULL, &cause), VP_ERR_REMOTE);
	T_ASSERT(strstr(cause, "cannot write '/nonexistent-dir/x'") != NULL);
	T_INTEQ(vp_target_round_trips(t), 2);
	unlink(path);
	vp_target_close(t);
	free(cause);
}

T_TEST(unreachable_is_remote_error)
{
	struct vp_target_opts	 o = VP_TARGET_OPTS_INIT;
	struct vp_target	*t = NULL;
	struct vp_target_result	 res = VP_TARGET_RESULT_INIT;
	const char		*argv[] = { "true", NULL };
	char			*cause = NULL;

	o.batch = 1;
	o.connect_timeout = 2;
	o.ssh_config = "/dev/null";
	/* port 1 on loopback: connection refused */
	T_ASSERT(vp_target_open("ssh://nobody@127.0.0.1:1", &o, &t,
	    &cause) == 0);
	T_INTEQ(vp_target_run(t, argv, NULL, 0, &res, &cause), VP_ERR_REMOTE);
	T_ASSERT(strstr(cause, "ssh://nobody@127.0.0.1:1") != NULL);
	T_ASSERT(strstr(cause, "cannot connect") != NULL);
	vp_target_result_release(&res);
	vp_target_close(t);
	free(cause);
}

int
main(void)
{
	FILE	*f;

	if (mkdtemp(shim_dir) == NULL)
		return 1;
	snprintf(shim, sizeof(shim), "%s/ssh", shim_dir);
	snprintf(canary, sizeof(canary), "%s/canary", shim_dir);
	/* What sshd does with the words after the host: join, sh -c. */
	if ((f = fopen(shim, "w")) == NULL)
		return 1;
	fputs("#!/bin/sh\n"
	    "while [ \"$1\" != -- ]; do shift; done\n"
	    "shift 2\n"
	    "exec sh -c \"$*\"\n", f);
	fclose(f);
	chmod(shim, 0700);
	T_RUN(quote_basic);
	T_RUN(parse_targets);
	T_RUN(ssh_argv_shape);
	T_RUN(verbatim_local);
	T_RUN(verbatim_ssh_shim);
	T_RUN(put_atomic_local);
	T_RUN(unreachable_is_remote_error);
	unlink(shim);
	unlink(canary);
	rmdir(shim_dir);
	return T_DONE();
}
