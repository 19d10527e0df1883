/*
 * u-prune: deploy/prune.c, stale bundle files.  A bundle is written and
 * recorded in a temporary stack root; the next bundle drops two files:
 * the one still as recorded is removed (and its emptied directory), the
 * one edited since is kept and named; a file vpai never recorded, and a
 * tampered record pointing outside the root, are never touched.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "deploy/prune.h"
#include "t.h"

static char	root[] = "/tmp/u-prune.XXXXXX";

static struct bundle_file
bf(const char *path, const char *data)
{
	struct bundle_file f;

	memset(&f, 0, sizeof(f));
	f.path = (char *)path;
	f.mode = 0644;
	f.uid = (uid_t)-1;
	f.gid = (gid_t)-1;
	f.data = (char *)data;
	f.len = strlen(data);
	return f;
}

static int
exists(const char *rel)
{
	char		 p[512];
	struct stat	 st;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return lstat(p, &st) == 0;
}

static void
put(const char *rel, const char *data)
{
	char	p[512];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if ((f = fopen(p, "w")) != NULL) {
		fputs(data, f);
		fclose(f);
	}
}

T_TEST(stale_files)
{
	struct bundle_file	 v1[] = { bf("a.conf", "a"),
				    bf("grafana/g.ini", "g"),
				    bf("loki/l.yml", "l"), bf("z.env", "z") };
	struct bundle_file	 v2[] = { bf("a.conf", "a2"), bf("z.env", "z") };
	struct bundle		 b1 = { v1, 4, NULL }, b2 = { v2, 2, NULL };
	struct deploy_stale	 st = DEPLOY_STALE_INIT;
	char			*cause = NULL;
	int			 n;

	T_ASSERT(mkdtemp(root) != NULL);
	/* no record yet: nothing is stale */
	T_ASSERT(deploy_stale_find(&b1, root, &st, &cause) == 0);
	T_INTEQ(st.remove.n + st.edited.n, 0);
	T_ASSERT(bundle_write(&b1, root, &n, &cause) == 0);
	T_ASSERT(deploy_bundle_record(&b1, root, &cause) == 0);
	put("mine.txt", "the operator's");
	put("loki/l.yml", "edited by hand");
	T_ASSERT(deploy_stale_find(&b2, root, &st, &cause) == 0);
	T_INTEQ(st.remove.n, 1);
	T_STREQ(st.remove.v[0], "grafana/g.ini");
	T_INTEQ(st.edited.n, 1);
	T_STREQ(st.edited.v[0], "loki/l.yml");
	T_ASSERT(bundle_write(&b2, root, &n, &cause) == 0);
	T_ASSERT(deploy_stale_remove(root, &st, &cause) == 0);
	T_INTEQ(st.nremoved, 1);
	T_ASSERT(!exists("grafana/g.ini"));
	T_ASSERT(!exists("grafana"));		/* emptied: removed */
	T_ASSERT(exists("loki/l.yml"));
	T_ASSERT(exists("mine.txt"));
	T_ASSERT(exists("a.conf") && exists("z.env"));
	T_ASSERT(deploy_bundle_record(&b2, root, &cause) == 0);
	deploy_stale_release(&st);
	/* the new record knows only b2: nothing stale any more */
	T_ASSERT(deploy_stale_find(&b2, root, &st, &cause) == 0);
	T_INTEQ(st.remove.n + st.edited.n, 0);
	deploy_stale_release(&st);
}

T_TEST(tampered_record)
{
	struct bundle_file	 v[] = { bf("a.conf", "a") };
	struct bundle		 b = { v, 1, NULL };
	struct deploy_stale	 st = DEPLOY_STALE_INIT;
	char			 rec[512], out[512], *cause = NULL;
	const char		*hex = "ca978112ca1bbdcafac231b39a23dc4da786eff8"
				    "147c4e72b9807785afee48bb";	/* "a" */
	FILE			*f;

	/* "../x" with the right hash of x's bytes: never looked at */
	snprintf(out, sizeof(out), "%s.x", root);
	T_ASSERT((f = fopen(out, "w")) != NULL);
	fputs("a", f);
	fclose(f);
	snprintf(rec, sizeof(rec), "%s/" DEPLOY_BUNDLE_RECORD, root);
	T_ASSERT((f = fopen(rec, "w")) != NULL);
	fprintf(f, "{\"files\": {\"../%s\": \"%s\", \"/etc/hostname\": "
	    "\"%s\", \"./a\": \"%s\"}}", strrchr(out, '/') + 1, hex, hex, hex);
	fclose(f);
	T_ASSERT(deploy_stale_find(&b, root, &st, &cause) == 0);
	T_INTEQ(st.remove.n + st.edited.n, 0);
	T_ASSERT(access(out, F_OK) == 0);
	unlink(out);
	/* not JSON: an error naming the file */
	T_ASSERT((f = fopen(rec, "w")) != NULL);
	fputs("{", f);
	fclose(f);
	T_ASSERT(deploy_stale_find(&b, root, &st, &cause) == VP_ERR_PARSE);
	T_ASSERT(cause != NULL && strstr(cause, rec) != NULL);
	free(cause);
	deploy_stale_release(&st);
}

/* What the tests leave in root. */
static void
cleanup(void)
{
	static const char *const left[] = { "a.conf", "z.env", "mine.txt",
	    "loki/l.yml", "loki", DEPLOY_BUNDLE_RECORD, "" };
	char	p[512];
	size_t	i;

	for (i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, left[i]);
		if (unlink(p) != 0)
			rmdir(p);
	}
}

int
main(void)
{
	T_RUN(stale_files);
	T_RUN(tampered_record);
	cleanup();
	return T_DONE();
}
