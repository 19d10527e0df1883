/* u-core.c: buf, err, opt, child and file from src/core. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/child.h"
#include "core/err.h"
#include "core/file.h"
#include "core/opt.h"
#include "t.h"

T_TEST(buf_basic)
{
	struct vp_buf	 b = VP_BUF_INIT(0);
	char		*s;
	size_t		 len;

	T_STREQ(b.buf, "");
	T_INTEQ(vp_buf_adds(&b, "abc"), VP_OK);
	T_INTEQ(vp_buf_addf(&b, "-%d-", 42), VP_OK);
	T_STREQ(b.buf, "abc-42-");
	s = vp_buf_detach(&b, &len);
	T_STREQ(s, "abc-42-");
	T_INTEQ(len, 7);
	T_STREQ(b.buf, "");
	free(s);
}

T_TEST(buf_cap)
{
	struct vp_buf b = VP_BUF_INIT(8);

	T_INTEQ(vp_buf_adds(&b, "12345678"), VP_OK);
	T_INTEQ(vp_buf_addc(&b, '9'), VP_ERR_TOOBIG);
	T_INTEQ(b.len, 0);		/* released on failure */
	T_STREQ(b.buf, "");
}

T_TEST(fail_cause)
{
	char *cause = NULL;

	T_INTEQ(vp_fail(&cause, VP_ERR_PARSE, "%s:%d: bad", "f", 3),
	    VP_ERR_PARSE);
	T_STREQ(cause, "f:3: bad");
	vp_fail_prefix(&cause, VP_ERR_PARSE, "loading");
	T_STREQ(cause, "loading: f:3: bad");
	free(cause);
	T_INTEQ(vp_exit_code(VP_OK), 0);
	T_INTEQ(vp_exit_code(VP_ERR_USAGE), 64);
}

T_TEST(opt_parse)
{
	int			 dry = 0, n = 0, npos = 0;
	const char		*env = "prod";
	struct vp_argv		 sets = VP_ARGV_INIT;
	char			**pos = NULL, *cause = NULL;
	const struct vp_option	 opts[] = {
		VP_OPT_BOOL('n', "dry-run", &dry, "x"),
		VP_OPT_STRING('e', "env", &env, "ENV", "x"),
		VP_OPT_INT(0, "jobs", &n, "N", "x"),
		VP_OPT_LIST(0, "set", &sets, "K=V", "x"),
		VP_OPT_END()
	};
	char *argv[] = { "x", "-n", "a", "--env=preprod", "--set", "k=v",
	    "--jobs", "3", "--", "-b", NULL };

	T_INTEQ(vp_opt_parse(10, argv, opts, &pos, &npos, &cause), VP_OK);
	T_INTEQ(dry, 1);
	T_STREQ(env, "preprod");
	T_INTEQ(n, 3);
	T_INTEQ(sets.n, 1);
	T_STREQ(sets.v[0], "k=v");
	T_INTEQ(npos, 2);
	T_STREQ(pos[0], "a");
	T_STREQ(pos[1], "-b");
	free(pos);
	vp_argv_release(&sets);
	{
		char *bad[] = { "x", "--dry-rn", NULL };

		T_INTEQ(vp_opt_parse(2, bad, opts, &pos, &npos, &cause),
		    VP_ERR_USAGE);
		T_STREQ(cause, "unknown option '--dry-rn' "
		    "(did you mean '--dry-run'?)");
		free(cause);
	}
}

T_TEST(child_capture_and_stdin)
{
	struct vp_child	 c = VP_CHILD_INIT;
	char		*cause = NULL;

	vp_argv_pushl(&c.args, "sh", "-c", "cat; echo err >&2; exit 3", NULL);
	c.in = "secret";
	c.in_len = 6;
	T_INTEQ(vp_child_run(&c, &cause), 3);
	T_STREQ(c.out.buf, "secret");
	T_STREQ(c.err.buf, "err\n");
	vp_child_release(&c);
}

T_TEST(child_missing_and_timeout)
{
	struct vp_child	 c = VP_CHILD_INIT;
	char		*cause = NULL;

	vp_argv_pushl(&c.args, "/nonexistent/prog", NULL);
	T_INTEQ(vp_child_run(&c, &cause), VP_ERR_CHILD);
	T_ASSERT(cause && strstr(cause, "cannot run '/nonexistent/prog'"));
	free(cause);
	cause = NULL;
	vp_child_release(&c);
	vp_argv_pushl(&c.args, "sleep", "5", NULL);
	c.timeout_ms = 100;
	T_INTEQ(vp_child_run(&c, &cause), VP_ERR_CHILD);
	T_ASSERT(cause && strstr(cause, "timed out"));
	free(cause);
	vp_child_release(&c);
}

T_TEST(file_atomic)
{
	char		 dir[] = "/tmp/u-core-XXXXXX", *p, *cause = NULL;
	struct vp_buf	 b = VP_BUF_INIT(0);
	struct stat	 st;

	T_ASSERT(mkdtemp(dir) != NULL);
	p = vp_path_join(dir, "a/b/c.txt");
	{
		char *d = vp_path_join(dir, "a/b");

		T_INTEQ(vp_mkdir_p(d, 0755, &cause), VP_OK);
		free(d);
	}
	T_INTEQ(vp_file_write_atomic(p, "hello", 5, 0600, (uid_t)-1,
	    (gid_t)-1, &cause), VP_OK);
	T_INTEQ(stat(p, &st), 0);
	T_INTEQ(st.st_mode & 0777, 0600);
	T_INTEQ(vp_file_read(p, &b, &cause), VP_OK);
	T_STREQ(b.buf, "hello");
	vp_buf_release(&b);
	/* A held lock makes a second writer fail and leaves the file alone. */
	{
		char *lk = NULL;
		FILE *f;

		T_ASSERT(asprintf(&lk, "%s.lock", p) > 0);
		f = fopen(lk, "w");
		fclose(f);
		T_INTEQ(vp_file_write_atomic(p, "x", 1, 0600, (uid_t)-1,
		    (gid_t)-1, &cause), VP_ERR_EXISTS);
		free(cause);
		cause = NULL;
		unlink(lk);
		free(lk);
	}
	T_INTEQ(vp_file_read(p, &b, &cause), VP_OK);
	T_STREQ(b.buf, "hello");
	vp_buf_release(&b);
	unlink(p);
	free(p);
}

T_TEST(file_batch)
{
	char			 dir[] = "/tmp/u-core-XXXXXX", *a, *b, *lk;
	char			*cause = NULL;
	struct vp_file_batch	 fb = VP_FILE_BATCH_INIT;
	struct vp_buf		 buf = VP_BUF_INIT(0);

	T_ASSERT(mkdtemp(dir) != NULL);
	a = vp_path_join(dir, "a");
	b = vp_path_join(dir, "b");
	T_INTEQ(vp_file_write_atomic(a, "old", 3, 0644, (uid_t)-1,
	    (gid_t)-1, &cause), VP_OK);
	/* Aborted batch: target untouched, no lock file left. */
	T_INTEQ(vp_file_batch_add(&fb, a, "new", 3, 0600, (uid_t)-1,
	    (gid_t)-1, &cause), VP_OK);
	T_ASSERT(asprintf(&lk, "%s.lock", a) > 0);
	T_ASSERT(vp_file_exists(lk));
	vp_file_batch_abort(&fb);
	T_ASSERT(!vp_file_exists(lk));
	T_INTEQ(vp_file_read(a, &buf, &cause), VP_OK);
	T_STREQ(buf.buf, "old");
	vp_buf_reset(&buf);
	/* Committed batch: both files replaced with their modes. */
	T_INTEQ(vp_file_batch_add(&fb, a, "new", 3, 0600, (uid_t)-1,
	    (gid_t)-1, &cause), VP_OK);
	T_INTEQ(vp_file_batch_add(&fb, b, "bee", 3, 0640, (uid_t)-1,
	    (gid_t)-1, &cause), VP_OK);
	/* A second writer of a staged path is refused. */
	T_INTEQ(vp_file_batch_add(&fb, b, "x", 1, 0640, (uid_t)-1,
	    (gid_t)-1, &cause), VP_ERR_EXISTS);
	free(cause);
	cause = NULL;
	T_INTEQ(vp_file_batch_commit(&fb, &cause), VP_OK);
	T_INTEQ(fb.n, 0);
	T_ASSERT(!vp_file_exists(lk));
	T_INTEQ(vp_file_read(a, &buf, &cause), VP_OK);
	T_STREQ(buf.buf, "new");
	vp_buf_reset(&buf);
	T_INTEQ(vp_file_read(b, &buf, &cause), VP_OK);
	T_STREQ(buf.buf, "bee");
	{
		struct stat st;

		T_INTEQ(stat(b, &st), 0);
		T_INTEQ(st.st_mode & 0777, 0640);
	}
	vp_buf_release(&buf);
	unlink(a);
	unlink(b);
	rmdir(dir);
	free(a);
	free(b);
	free(lk);
}

int
main(void)
{
	T_RUN(buf_basic);
	T_RUN(buf_cap);
	T_RUN(fail_cause);
	T_RUN(opt_parse);
	T_RUN(child_capture_and_stdin);
	T_RUN(child_missing_and_timeout);
	T_RUN(file_atomic);
	T_RUN(file_batch);
	return T_DONE();
}
