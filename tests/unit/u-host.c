/*
 * u-host.c: the host module without a remote host.
 *
 *  - every tests/plan/<op>/<case>.json fixture:
 *      {"want": ..., "facts": ..., "ops": [...]}   ops compared in order,
 *          each expected op's keys must equal the planned op's (subset);
 *      or {"want": ..., "facts": ..., "error": "substring"};
 *      optional "text_has"/"text_lacks": strings the plan text must
 *      (not) contain (masking), and "changes": the number of changes.
 *  - unified diff, base64, facts parsing, masking;
 *  - a local converge in a temp dir (facts -> plan -> apply -> verify),
 *    twice: the second run must have nothing to do.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "host/host.h"
#include "stack/stack.h"

static char	datadir[4096], plandir[4096];

T_TEST(diff_basic)
{
	struct vp_buf b = VP_BUF_INIT(1u << 20);

	T_ASSERT(vp_host_diff("a\nb\nc\n", "a\nB\nc\n", "f", &b) == 0);
	T_STREQ(b.buf, "--- f\n+++ f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
	vp_buf_reset(&b);
	T_ASSERT(vp_host_diff("", "x\n", "f", &b) == 0);
	T_STREQ(b.buf, "--- /dev/null\n+++ f\n@@ -0,0 +1,1 @@\n+x\n");
	vp_buf_reset(&b);
	T_ASSERT(vp_host_diff("same\n", "same\n", "f", &b) == 0);
	T_STREQ(b.buf, "");
	vp_buf_reset(&b);
	T_ASSERT(vp_host_diff("a", "b", "f", &b) == 0);
	T_STREQ(b.buf, "--- f\n+++ f\n@@ -1,1 +1,1 @@\n-a\n\\ No newline at "
	    "end of file\n+b\n\\ No newline at end of file\n");
	vp_buf_reset(&b);
	/* two distant changes: two hunks */
	T_ASSERT(vp_host_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
	    "X\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\nY\n", "f", &b) == 0);
	T_STREQ(b.buf, "--- f\n+++ f\n@@ -1,4 +1,4 @@\n-1\n+X\n 2\n 3\n 4\n"
	    "@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+Y\n");
	vp_buf_release(&b);
}

T_TEST(b64_roundtrip)
{
	struct vp_buf	e = VP_BUF_INIT(1024), d = VP_BUF_INIT(1024);
	const char	*s[] = { "", "a", "ab", "abc", "abcd", "\x01\xff", NULL };
	size_t		 i;

	for (i = 0; s[i] != NULL; i++) {
		vp_buf_reset(&e);
		vp_buf_reset(&d);
		T_ASSERT(vp_host_b64enc(s[i], strlen(s[i]), &e) == 0);
		T_ASSERT(vp_host_b64dec(e.buf, e.len, &d) == 0);
		T_INTEQ(d.len, strlen(s[i]));
		T_ASSERT(memcmp(d.buf, s[i], d.len) == 0);
	}
	T_ASSERT(vp_host_b64dec("abc", 3, &d) != 0);
	vp_buf_release(&e);
	vp_buf_release(&d);
}

T_TEST(facts_parse)
{
	struct vp_argv	 q = VP_ARGV_INIT;
	const char	*out =
	    "Linux vps 6.1.0 #1 SMP (a motd line)\nBEGIN\n"
	    "R 0\nO ID debian\nO PRETTY_NAME Debian GNU/Linux 12 (bookworm)\n"
	    "M 4000000\nH vps\nh vps\nT Etc/UTC\nI sysv\n"
	    "Q regular file|644|0|0|root|root|6|/etc/a file\n"
	    "Z 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	    "  /etc/a file\n"
	    "A aGVsbG8K /etc/a file\n"
	    "S 2 1\t2\n"
	    "U 3 deploy:x:1000:1000::/home/deploy:/bin/bash\n"
	    "N 3 deploy sudo\n"
	    "C 4 absent\n"
	    "P jq ii  1.6-2.1\n"
	    "D port 22\nD listenaddress 0.0.0.0:22\nD listenaddress [::]:22\n"
	    "W enabled no\nW tuple allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n"
	    "X Docker version 20.10.24+dfsg1, build 297e128\n"
	    "t installed 1.76.1\nt state Running\nt ip 100.64.0.7\n"
	    "END\n";
	json_t		*f = NULL;
	char		*cause = NULL;

	vp_argv_pushl(&q, "f:-:/etc/a file", "s:net/ipv4/ip_local_port_range",
	    "u:deploy", "c:root", "p:jq", NULL);
	T_ASSERT(vp_host_facts_parse(out, strlen(out), &q, &f, &cause) == 0);
	T_STREQ(json_string_value(json_object_get(json_object_get(f, "os"),
	    "ID")), "debian");
	/* the motd line before BEGIN was not taken for an 'L' fact */
	T_ASSERT(json_object_get(f, "timezone") == NULL ||
	    json_object_get(json_object_get(f, "timezone"), "link") == NULL);
	T_INTEQ(json_integer_value(json_object_get(f, "mem_kb")), 4000000);
	T_STREQ(json_string_value(json_object_get(json_object_get(
	    json_object_get(f, "files"), "/etc/a file"), "content")),
	    "hello\n");
	T_STREQ(json_string_value(json_object_get(json_object_get(
	    json_object_get(f, "files"), "/etc/a file"), "mode")), "0644");
	T_STREQ(json_string_value(json_object_get(json_object_get(
	    json_object_get(f, "files"), "/etc/a file"), "sha256")),
	    "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
	T_STREQ(json_string_value(json_object_get(json_object_get(f,
	    "sysctl"), "net.ipv4.ip_local_port_range")), "1 2");
	T_STREQ(json_string_value(json_object_get(json_object_get(
	    json_object_get(f, "users"), "deploy"), "home")), "/home/deploy");
	T_INTEQ(json_array_size(json_object_get(json_object_get(
	    json_object_get(f, "users"), "deploy"), "groups")), 2);
	T_ASSERT(json_is_null(json_object_get(json_object_get(f, "crontabs"),
	    "root")));
	T_STREQ(json_string_value(json_object_get(json_object_get(
	    json_object_get(f, "packages"), "jq"), "status")), "ii");
	T_STREQ(json_string_value(json_object_get(json_object_get(
	    json_object_get(f, "packages"), "jq"), "version")), "1.6-2.1");
	T_INTEQ(json_array_size(json_object_get(json_object_get(f, "sshd"),
	    "listenaddress")), 2);
	T_STREQ(json_string_value(json_object_get(f, "docker")),
	    "20.10.24+dfsg1");
	/* the VPN IP fact */
	T_ASSERT(json_is_true(json_object_get(json_object_get(f,
	    "tailscale"), "installed")));
	T_STREQ(json_string_value(json_object_get(json_object_get(f,
	    "tailscale"), "version")), "1.76.1");
	T_STREQ(json_string_value(json_object_get(json_object_get(f,
	    "tailscale"), "state")), "Running");
	T_STREQ(json_string_value(json_object_get(json_object_get(f,
	    "tailscale"), "ip")), "100.64.0.7");
	json_decref(f);
	f = NULL;
	T_ASSERT(vp_host_facts_parse("BEGIN\nt absent\nEND\n", 19, &q, &f,
	    &cause) == 0);
	T_ASSERT(json_is_false(json_object_get(json_object_get(f,
	    "tailscale"), "installed")));
	json_decref(f);
	f = NULL;
	/* truncated output (no END) is an error, not an empty host */
	T_INTEQ(vp_host_facts_parse("BEGIN\nR 0\n", 10, &q, &f, &cause),
	    VP_ERR_REMOTE);
	T_ASSERT(f == NULL);
	T_INTEQ(vp_host_facts_parse("R 0\nEND\n", 8, &q, &f, &cause),
	    VP_ERR_REMOTE);
	T_ASSERT(f == NULL);
	/* an index out of range is a parse error */
	T_INTEQ(vp_host_facts_parse("BEGIN\nF 9 x\nEND\n", 16, &q, &f,
	    &cause), VP_ERR_PARSE);
	vp_argv_release(&q);
	free(cause);
}

T_TEST(mask)
{
	struct vp_buf	 b = VP_BUF_INIT(1024);
	json_t		*w = json_pack("{s:[ss]}", "secrets", "hunter22",
			    "abc");

	vp_buf_adds(&b, "pw=hunter22 x=abc hunter22");
	T_ASSERT(vp_host_mask(&b, w) == 0);
	/* secrets shorter than 4 chars are not masked (too many hits) */
	T_STREQ(b.buf, "pw=*** x=abc ***");
	vp_buf_release(&b);
	json_decref(w);
}

/* Every key of exp equals the same key of got. */
static int
subset(const json_t *exp, const json_t *got, char *why, size_t n)
{
	const char	*k;
	json_t		*v;

	json_object_foreach((json_t *)exp, k, v)
		if (!json_equal(v, json_object_get(got, k))) {
			char *g = json_dumps(json_object_get(got, k),
			    JSON_ENCODE_ANY);

			snprintf(why, n, "key '%s': got %s", k, g ? g : "none");
			free(g);
			return 0;
		}
	return 1;
}

static int fixtures_run;

static void
run_fixture(const char *path)
{
	json_error_t	 je;
	json_t		*fx, *ops = NULL, *e;
	struct vp_buf	 text = VP_BUF_INIT(16u << 20);
	const json_t	*v;
	char		*cause = NULL, why[512], *dump;
	size_t		 i;
	int		 r;

	if ((fx = json_load_file(path, 0, &je)) == NULL) {
		printf("  %s:%d: %s\n", path, je.line, je.text);
		t_cur_failed = 1;
		return;
	}
	fixtures_run++;
	r = vp_host_plan(json_object_get(fx, "want"), json_object_get(fx,
	    "facts"), &ops, &cause);
	if ((v = json_object_get(fx, "error")) != NULL) {
		if (r == 0 || cause == NULL || strstr(cause,
		    json_string_value(v)) == NULL) {
			printf("  %s: expected error '%s', got %s\n", path,
			    json_string_value(v), r ? cause : "success");
			t_cur_failed = 1;
		}
		goto out;
	}
	if (r != 0) {
		printf("  %s: plan failed: %s\n", path, cause);
		t_cur_failed = 1;
		goto out;
	}
	e = json_object_get(fx, "ops");
	for (i = 0; i < json_array_size(e) || i < json_array_size(ops); i++) {
		if (i >= json_array_size(e) || i >= json_array_size(ops) ||
		    !subset(json_array_get(e, i), json_array_get(ops, i), why,
		    sizeof(why))) {
			if (i >= json_array_size(e))
				snprintf(why, sizeof(why), "unexpected op");
			else if (i >= json_array_size(ops))
				snprintf(why, sizeof(why), "missing op");
			dump = json_dumps(json_array_get(ops, i), JSON_COMPACT);
			printf("  %s: op %zu: %s\n    planned: %.600s\n", path, i,
			    why, dump ? dump : "-");
			free(dump);
			t_cur_failed = 1;
			goto out;
		}
	}
	if ((v = json_object_get(fx, "changes")) != NULL &&
	    (size_t)json_integer_value(v) != vp_host_plan_changes(ops)) {
		printf("  %s: %zu changes, expected %lld\n", path,
		    vp_host_plan_changes(ops), json_integer_value(v));
		t_cur_failed = 1;
	}
	vp_host_plan_text(ops, json_object_get(fx, "want"), 1, &text);
	json_array_foreach(json_object_get(fx, "text_has"), i, v)
		if (strstr(text.buf, json_string_value(v)) == NULL) {
			printf("  %s: plan text lacks '%s':\n%s", path,
			    json_string_value(v), text.buf);
			t_cur_failed = 1;
		}
	json_array_foreach(json_object_get(fx, "text_lacks"), i, v) {
		json_t *pub = vp_host_plan_public(ops, json_object_get(fx,
		    "want"));

		dump = json_dumps(pub, JSON_COMPACT);
		if (strstr(text.buf, json_string_value(v)) != NULL ||
		    (dump && strstr(dump, json_string_value(v)) != NULL)) {
			printf("  %s: plan output shows '%s'\n", path,
			    json_string_value(v));
			t_cur_failed = 1;
		}
		free(dump);
		json_decref(pub);
	}
 out:
	vp_buf_release(&text);
	json_decref(ops);
	json_decref(fx);
	free(cause);
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

T_TEST(plan_fixtures)
{
	DIR		*d, *sd;
	struct dirent	*de, *se;
	char		 sub[4608], path[4864], *names[512];
	size_t		 n = 0, i;

	T_ASSERT((d = opendir(plandir)) != NULL);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", plandir, de->d_name);
		if ((sd = opendir(sub)) == NULL)
			continue;
		while ((se = readdir(sd)) != NULL && n < 512) {
			size_t l = strlen(se->d_name);

			if (l > 5 && strcmp(se->d_name + l - 5, ".json") == 0) {
				snprintf(path, sizeof(path), "%s/%s", sub,
				    se->d_name);
				names[n++] = strdup(path);
			}
		}
		closedir(sd);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), namecmp);
	for (i = 0; i < n; i++) {
		run_fixture(names[i]);
		free(names[i]);
	}
	printf("  %d plan fixtures\n", fixtures_run);
	T_ASSERT(fixtures_run >= 20);
}

T_TEST(apply_script_quotes_once)
{
	json_t		*ops = json_pack("[{s:s,s:s,s:s,s:s,s:s,s:s}]", "op",
			    "file", "id", "/tmp/it's $(reboot)", "action",
			    "create", "mode", "0600", "content", "x'y\n",
			    "before", "absent");
	struct vp_buf	 b = VP_BUF_INIT(1u << 20);
	char		*cause = NULL;

	T_ASSERT(vp_host_apply_script(datadir, ops, NULL, &b, &cause) == 0);
	T_ASSERT(strstr(b.buf, "vp_put '/tmp/it'\\''s $(reboot)' '0600' '-' "
	    "'-' 'absent' <<'VPAI.EOF'\neCd5Cg==\nVPAI.EOF\n") != NULL);
	T_ASSERT(strncmp(b.buf, "{\n", 2) == 0);
	json_decref(ops);
	vp_buf_reset(&b);
	/* apt: one update, then one install for all packages, in order */
	ops = json_pack("[{s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s},"
	    "{s:s,s:s,s:s}]", "op", "apt-update", "action", "update",
	    "op", "apt", "id", "jq", "action", "install",
	    "op", "apt", "id", "curl", "action", "noop",
	    "op", "apt", "id", "tmux", "action", "install");
	T_ASSERT(vp_host_apply_script(datadir, ops, NULL, &b, &cause) == 0);
	T_ASSERT(strstr(b.buf, "vp_step 1\nvp_apt update\nvp_step 2\n"
	    "vp_apt install 'jq' 'tmux'\n") != NULL);
	T_ASSERT(strstr(b.buf, "\n} </dev/null\n") != NULL);
	json_decref(ops);
	vp_buf_reset(&b);
	/*
	 * tailscale up: the auth key only base64 in a here-document (on
	 * the script's stdin), never a word of any command line
	 */
	ops = json_pack("[{s:s,s:s,s:s,s:s,s:[sss],s:i}]", "op", "tailscale",
	    "id", "https://hs", "action", "up", "content",
	    "tskey-auth-SECRET", "argv", "--reset", "--login-server",
	    "https://hs", "timeout", 7);
	T_ASSERT(vp_host_apply_script(datadir, ops, NULL, &b, &cause) == 0);
	T_ASSERT(strstr(b.buf, "vp_step 1\nvp_tailscale '7' '--reset' "
	    "'--login-server' 'https://hs' <<'VPAI.EOF'\n"
	    "dHNrZXktYXV0aC1TRUNSRVQ=\nVPAI.EOF\n") != NULL);
	T_ASSERT(strstr(b.buf, "tskey-auth-SECRET") == NULL);
	vp_buf_release(&b);
	json_decref(ops);
	free(cause);
}

T_TEST(large_file_no_diff)
{
	size_t	 n = (1u << 20) + 10;
	char	*big = malloc(n + 1), *cause = NULL;
	json_t	*want, *facts = json_object(), *ops = NULL;

	T_ASSERT(big != NULL);
	memset(big, 'x', n);
	big[n] = '\0';
	want = json_pack("{s:[{s:s,s:s}]}", "files", "path", "/srv/big",
	    "content", big);
	free(big);
	T_ASSERT(vp_host_plan(want, facts, &ops, &cause) == 0);
	T_ASSERT(strstr(json_string_value(json_object_get(json_array_get(ops,
	    0), "diff")), "too large to diff") != NULL);
	json_decref(ops);
	json_decref(want);
	json_decref(facts);
}

/* The apply refuses to replace a file changed since the plan. */
T_TEST(apply_refuses_changed_file)
{
	char			 root[] = "/tmp/u-host2.XXXXXX", path[256];
	struct vp_target	*t = NULL;
	struct vp_host_result	 res = VP_HOST_RESULT_INIT;
	json_t			*want, *facts = NULL, *ops = NULL;
	char			*cause = NULL, buf[64] = "";
	FILE			*f;
	size_t			 n;

	T_ASSERT(mkdtemp(root) != NULL);
	snprintf(path, sizeof(path), "%s/x.conf", root);
	T_ASSERT((f = fopen(path, "w")) != NULL);
	fputs("x=1\n", f);
	fclose(f);
	want = json_pack("{s:[{s:s,s:s}]}", "files", "path", path, "content",
	    "x=2\n");
	T_ASSERT(vp_target_open("local", NULL, &t, &cause) == 0);
	T_ASSERT(vp_host_facts_gather(t, datadir, want, &facts, &cause) == 0);
	T_ASSERT(vp_host_plan(want, facts, &ops, &cause) == 0);
	/* someone edits the file between plan and apply */
	T_ASSERT((f = fopen(path, "w")) != NULL);
	fputs("x=manual\n", f);
	fclose(f);
	T_INTEQ(vp_host_apply(t, datadir, want, ops, &res, &cause),
	    VP_ERR_REMOTE);
	T_ASSERT(strstr(cause, "changed since the plan") != NULL);
	T_ASSERT(strstr(cause, "step 1 (file") != NULL);
	T_ASSERT((f = fopen(path, "r")) != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	T_STREQ(buf, "x=manual\n");
	unlink(path);
	rmdir(root);
	vp_host_result_release(&res);
	vp_target_close(t);
	json_decref(want);
	json_decref(facts);
	json_decref(ops);
	free(cause);
}

/* Full local converge in a temp dir: facts, plan, apply, verify, twice. */
T_TEST(local_converge)
{
	char			 root[] = "/tmp/u-host.XXXXXX", p[3][512];
	struct vp_target	*t = NULL;
	json_t			*want, *facts = NULL, *ops = NULL;
	struct vp_host_result	 res = VP_HOST_RESULT_INIT;
	char			*cause = NULL;
	struct stat		 st;
	FILE			*f;
	int			 round;

	T_ASSERT(mkdtemp(root) != NULL);
	snprintf(p[0], sizeof(p[0]), "%s/d i r", root);
	snprintf(p[1], sizeof(p[1]), "%s/d i r/it's $(touch x).conf", root);
	snprintf(p[2], sizeof(p[2]), "%s/login.defs", root);
	T_ASSERT((f = fopen(p[2], "w")) != NULL);
	fputs("# defs\nUMASK 022\nPASS_MAX_DAYS 99999\n", f);
	fclose(f);
	want = json_pack("{s:[{s:s,s:s}],s:[{s:s,s:s,s:s}],"
	    "s:[{s:s,s:s,s:s},{s:s,s:s}],s:[s]}",
	    "directories", "path", p[0], "mode", "0750",
	    "files", "path", p[1], "content", "secret=hunter22\n", "mode",
	    "0600",
	    "lines", "path", p[2], "line", "UMASK 027", "regexp", "^UMASK\\s",
	    "path", p[2], "line", "LOGIN_RETRIES 5",
	    "secrets", "hunter22");
	T_ASSERT(want != NULL);
	T_ASSERT(vp_target_open("local", NULL, &t, &cause) == 0);
	for (round = 0; round < 2; round++) {
		T_ASSERT(vp_host_facts_gather(t, datadir, want, &facts,
		    &cause) == 0);
		if (vp_host_plan(want, facts, &ops, &cause) != 0) {
			printf("  %s\n", cause);
			T_ASSERT(0);
		}
		/* dir + file + 2 line infos + login.defs file */
		T_INTEQ(vp_host_plan_changes(ops), round == 0 ? 3 : 0);
		if (vp_host_apply(t, datadir, want, ops, &res, &cause) != 0) {
			printf("  %s\n", cause);
			T_ASSERT(0);
		}
		T_INTEQ(res.changed, round == 0 ? 3 : 0);
		vp_host_result_release(&res);
		json_decref(facts);
		json_decref(ops);
		facts = ops = NULL;
	}
	/* facts + apply(+verify) + facts: 3 round trips for two runs */
	T_INTEQ(vp_target_round_trips(t), 3);
	T_ASSERT(stat(p[1], &st) == 0);
	T_INTEQ(st.st_mode & 07777, 0600);
	T_ASSERT(stat(p[0], &st) == 0 && S_ISDIR(st.st_mode));
	T_INTEQ(st.st_mode & 07777, 0750);
	{
		char	buf[256] = "";
		size_t	n;

		T_ASSERT((f = fopen(p[2], "r")) != NULL);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		T_STREQ(buf, "# defs\nUMASK 027\nPASS_MAX_DAYS 99999\n"
		    "LOGIN_RETRIES 5\n");
	}
	T_ASSERT(access("x", F_OK) != 0);
	unlink(p[1]);
	unlink(p[2]);
	rmdir(p[0]);
	rmdir(root);
	vp_target_close(t);
	json_decref(want);
	free(cause);
}

static void
put_file(const char *dir, const char *name, const char *text)
{
	char	 path[4096];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	T_ASSERT((f = fopen(path, "w")) != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* Roles: templates, content_from, ufw_from, skip, merged users. */
/* "ntp": the facts of its expansion plus every other time daemon. */
T_TEST(facts_query_ntp)
{
	json_t		*want = json_pack("{s:{s:s}}", "ntp", "content",
	    "[Time]\n");
	struct vp_argv	 q = VP_ARGV_INIT;
	char		*cause = NULL, *all = NULL;
	size_t		 i, n = 0;
	const char	*need[] = { "p:systemd-timesyncd", "p:chrony",
	    "p:ntpsec", "p:ntp", "p:openntpd", "v:systemd-timesyncd",
	    "n:clock", "/etc/systemd/timesyncd.conf.d/vpai.conf",
	    ":/etc/systemd/timesyncd.conf.d", NULL };

	T_INTEQ(vp_host_facts_query(want, &q, &cause), 0);
	for (i = 0; i < q.n; i++)
		n += strlen(q.v[i]) + 2;
	T_ASSERT((all = calloc(1, n + 2)) != NULL);
	for (i = 0; all != NULL && i < q.n; i++) {
		strcat(all, " ");
		strcat(all, q.v[i]);
		strcat(all, " ");
	}
	for (i = 0; all != NULL && need[i] != NULL; i++) {
		char w[128];

		snprintf(w, sizeof(w), "%s%s ", need[i][0] == '/' ||
		    need[i][0] == ':' ? "" : " ", need[i]);
		if (strstr(all, w) == NULL)
			fprintf(stderr, "  query lacks '%s': %s\n", need[i], all);
		T_ASSERT(strstr(all, w) != NULL);
	}
	free(all);
	free(cause);
	vp_argv_release(&q);
	json_decref(want);
}

T_TEST(roles_want)
{
	char			 root[] = "/tmp/u-host-roles.XXXXXX", p[4200];
	struct bundle_file	 files[] = {
		{ "host/ssh/x.conf", 0600, 0, 0, "Port 804\n", 9, 1, NULL },
		{ "host/timesyncd/vpai.conf", 0644, 0, 0, "[Time]\nNTP=a b\n",
		  15, 0, NULL },
		{ "host/ufw/rules", 0644, 0, 0, "default incoming deny\n"
		  "default routed deny\nallow 804/tcp from 10.0.0.0/8 # ssh\n"
		  "allow 443/udp\n", 82, 0, NULL },
	};
	struct bundle		 b = { files, 3, NULL };
	json_t			*vars = json_pack("{s:s,s:s}", "user", "ops",
				    "routes", "fd00:1::/64,10.9.0.0/24");
	json_t			*want = NULL, *sk = NULL, *u;
	char			*cause = NULL;
	int			 r;

	files[2].len = strlen(files[2].data);
	T_ASSERT(mkdtemp(root) != NULL);
	snprintf(p, sizeof(p), "%s/host", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/host/roles", root);
	mkdir(p, 0700);
	put_file(root, "host/roles.yml", "roles: [a, skipme, b, c]\n");
	/* headscale-node's form: a comma-separated site value as a list */
	put_file(root, "host/roles/c.yml", "tailscale:\n  login_server: "
	    "https://hs\n  routes: [{{ routes }}]\n");
	put_file(root, "host/roles/a.yml", "users:\n  - name: {{ user }}\n"
	    "    groups: [sudo]\npackages:\n  present: [jq]\n");
	put_file(root, "host/roles/skipme.yml", "skip: \"not in Debian\"\n");
	put_file(root, "host/roles/b.yml", "users:\n  - name: {{ user }}\n"
	    "    groups: [docker, sudo]\npackages:\n  present: [ufw]\n"
	    "files:\n  - path: /etc/ssh/sshd_config.d/v.conf\n"
	    "    content_from: host/ssh/x.conf\nufw_from: host/ufw/rules\n"
	    "ntp:\n  content_from: host/timesyncd/vpai.conf\n");
	r = vp_host_roles_want(root, vars, &b, &want, &sk, &cause);
	T_INTEQ(r, 0);
	if (r != 0)
		fprintf(stderr, "cause: %s\n", cause);
	if (r == 0) {
		T_INTEQ((int)json_array_size(json_object_get(want, "users")),
		    1);
		u = json_array_get(json_object_get(want, "users"), 0);
		T_STREQ(json_string_value(json_object_get(u, "name")), "ops");
		T_INTEQ((int)json_array_size(json_object_get(u, "groups")), 2);
		T_INTEQ((int)json_array_size(json_object_get(json_object_get(
		    want, "packages"), "present")), 2);
		u = json_array_get(json_object_get(want, "files"), 0);
		T_STREQ(json_string_value(json_object_get(u, "content")),
		    "Port 804\n");
		T_ASSERT(json_is_true(json_object_get(u, "secret")));
		T_ASSERT(json_object_get(u, "content_from") == NULL);
		u = json_object_get(want, "ufw");
		T_STREQ(json_string_value(json_object_get(u,
		    "default_incoming")), "deny");
		T_INTEQ((int)json_array_size(json_object_get(u, "rules")), 2);
		u = json_array_get(json_object_get(u, "rules"), 0);
		T_STREQ(json_string_value(json_object_get(u, "port")), "804");
		T_STREQ(json_string_value(json_object_get(u, "from")),
		    "10.0.0.0/8");
		u = json_object_get(json_object_get(want, "tailscale"),
		    "routes");
		T_INTEQ((int)json_array_size(u), 2);
		T_STREQ(json_string_value(json_array_get(u, 0)),
		    "fd00:1::/64");
		T_STREQ(json_string_value(json_array_get(u, 1)),
		    "10.9.0.0/24");
		u = json_object_get(want, "ntp");
		T_STREQ(json_string_value(json_object_get(u, "content")),
		    "[Time]\nNTP=a b\n");
		T_ASSERT(json_object_get(u, "content_from") == NULL);
		T_INTEQ((int)json_array_size(sk), 1);
		T_STREQ(json_string_value(json_object_get(json_array_get(sk,
		    0), "role")), "skipme");
	}
	json_decref(want);
	json_decref(sk);
	want = sk = NULL;
	free(cause);
	cause = NULL;
	/* a bad rule line and a missing bundle file are errors */
	files[2].data = "allow everything\n";
	files[2].len = strlen(files[2].data);
	T_ASSERT(vp_host_roles_want(root, vars, &b, &want, &sk, &cause) != 0);
	T_ASSERT(cause != NULL && strstr(cause, "host/ufw/rules: line 1") !=
	    NULL);
	free(cause);
	cause = NULL;
	b.n = 1;
	T_ASSERT(vp_host_roles_want(root, vars, &b, &want, &sk, &cause) ==
	    VP_ERR_NOTFOUND);
	free(cause);
	cause = NULL;
	T_ASSERT(want == NULL && sk == NULL);
	json_decref(vars);
	{
		const char *n[] = { "host/roles/a.yml", "host/roles/b.yml",
		    "host/roles/c.yml",
		    "host/roles/skipme.yml", "host/roles.yml", "host/roles",
		    "host", "" };
		size_t i;

		for (i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", root, n[i]);
			if (remove(p) != 0)
				T_ASSERT(!"cannot clean up");
		}
	}
}

/* The commit-confirmed window is checked. */
T_TEST(confirm_check)
{
	json_t	*w = json_pack("{s:{s:i}}", "confirm", "timeout", 5);
	char	*cause = NULL;

	T_ASSERT(vp_host_want_check(w, "w.json", &cause) == VP_ERR_INVALID);
	T_ASSERT(cause != NULL && strstr(cause, "confirm") != NULL);
	free(cause);
	cause = NULL;
	json_decref(w);
	w = json_pack("{s:{s:i}}", "confirm", "timeout", 30);
	T_INTEQ(vp_host_want_check(w, "w.json", &cause), 0);
	json_decref(w);
	free(cause);
}

int
main(void)
{
	const char *src = getenv("VPAI_SOURCE_DIR");

	if (src == NULL)
		src = ".";
	snprintf(datadir, sizeof(datadir), "%s/stack", src);
	snprintf(plandir, sizeof(plandir), "%s/tests/plan", src);
	T_RUN(diff_basic);
	T_RUN(b64_roundtrip);
	T_RUN(facts_parse);
	T_RUN(mask);
	T_RUN(plan_fixtures);
	T_RUN(facts_query_ntp);
	T_RUN(apply_script_quotes_once);
	T_RUN(local_converge);
	T_RUN(large_file_no_diff);
	T_RUN(apply_refuses_changed_file);
	T_RUN(roles_want);
	T_RUN(confirm_check);
	return T_DONE();
}
