/*
 * u-check.c: the policy rules of `vpai check` against hand-written
 * fixtures (tests/fixtures/check): good.json must pass every rule with no
 * finding at all, and every case of broken-<rule>.json (a JSON merge patch
 * of good.json) must make that rule report the expected finding.  Every
 * rule of the table must have its broken-<rule>.json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check/check.h"
#include "core/buf.h"
#include "core/file.h"
#include "stack/stack.h"
#include "t.h"

static char fixdir[1024];
static char policy_path[1100];

/* RFC 7386 merge patch, in place. */
static void
merge_patch(json_t *target, const json_t *patch)
{
	const char	*k;
	json_t		*v, *t;

	json_object_foreach((json_t *)patch, k, v) {
		if (json_is_null(v)) {
			json_object_del(target, k);
			continue;
		}
		t = json_object_get(target, k);
		if (json_is_object(v) && json_is_object(t))
			merge_patch(t, v);
		else
			json_object_set(target, k, v);
	}
}

struct fx {
	json_t		*doc;
	json_t		*policy;
	struct bundle	 files;
	struct bundle	 canary;
	char		 stack_dir[4096];
	struct check_input in;
};

static int
load_files(const json_t *map, struct bundle *b)
{
	const char	*k;
	json_t		*v, *uid, *gid;
	size_t		 i = 0;

	memset(b, 0, sizeof(*b));
	if (json_object_size(map) == 0)
		return 0;
	b->files = calloc(json_object_size(map), sizeof(*b->files));
	if (b->files == NULL)
		return -1;
	json_object_foreach((json_t *)map, k, v) {
		struct bundle_file *f = &b->files[i++];

		f->path = (char *)k;
		f->mode = (mode_t)strtoul(json_string_value(json_object_get(v,
		    "mode")), NULL, 8);
		uid = json_object_get(v, "uid");
		f->uid = json_integer_value(uid) < 0 ? (uid_t)-1 :
		    (uid_t)json_integer_value(uid);
		gid = json_object_get(v, "gid");
		if (gid == NULL)
			f->gid = (gid_t)f->uid;
		else
			f->gid = json_integer_value(gid) < 0 ? (gid_t)-1 :
			    (gid_t)json_integer_value(gid);
		f->data = (char *)json_string_value(json_object_get(v, "data"));
		f->len = strlen(f->data);
		f->secret = json_is_true(json_object_get(v, "secret"));
	}
	b->n = i;
	return 0;
}

static void
fx_release(struct fx *fx)
{
	free(fx->files.files);
	free(fx->canary.files);
	json_decref(fx->doc);
	json_decref(fx->policy);
	memset(fx, 0, sizeof(*fx));
}

/* Load good.json, apply patch (may be NULL), wire the input. */
static int
fx_load(struct fx *fx, const json_t *patch)
{
	json_error_t	 e;
	char		 path[4096], *cause = NULL;
	const char	*sd;

	memset(fx, 0, sizeof(*fx));
	snprintf(path, sizeof(path), "%s/good.json", fixdir);
	if ((fx->doc = json_load_file(path, 0, &e)) == NULL) {
		printf("  %s:%d: %s\n", path, e.line, e.text);
		return -1;
	}
	if (patch != NULL)
		merge_patch(fx->doc, patch);
	if (check_policy_load(policy_path, &fx->policy, &cause) != 0) {
		printf("  %s\n", cause);
		free(cause);
		return -1;
	}
	if (load_files(json_object_get(fx->doc, "files"), &fx->files) != 0 ||
	    load_files(json_object_get(fx->doc, "canary_files"),
	    &fx->canary) != 0)
		return -1;
	/* Borrowed from doc, for check_bundle(). */
	fx->files.model = json_object_get(fx->doc, "model");
	fx->in.vars = json_object_get(fx->doc, "vars");
	fx->in.secrets = json_object_get(fx->doc, "secrets");
	fx->in.bundle = &fx->files;
	fx->in.compose = json_object_get(json_object_get(fx->doc, "model"),
	    "compose");
	fx->in.services = json_object_get(json_object_get(fx->doc, "model"),
	    "services");
	fx->in.policy = fx->policy;
	if ((sd = json_string_value(json_object_get(fx->doc, "stack_dir")))) {
		snprintf(fx->stack_dir, sizeof(fx->stack_dir), "%s/%s", fixdir,
		    sd);
		fx->in.stack_dir = fx->stack_dir;
	}
	fx->in.canary = fx->canary.n ? &fx->canary : NULL;
	return 0;
}

static void
dump(const struct check_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		printf("    %s %s %s: %s [%s]\n", rep->v[i].sev == CHECK_ERROR ?
		    "error" : "warning", rep->v[i].rule, rep->v[i].where,
		    rep->v[i].msg, rep->v[i].hint ? rep->v[i].hint : "");
}

T_TEST(good_passes_every_rule)
{
	struct fx		 fx;
	struct check_report	 rep = CHECK_REPORT_INIT;
	char			*cause = NULL;
	int			 r;

	T_ASSERT(fx_load(&fx, NULL) == 0);
	r = check_run(&fx.in, NULL, &rep, &cause);
	if (rep.n != 0)
		dump(&rep);
	T_INTEQ(r, 0);
	T_INTEQ(rep.n, 0);
	check_report_release(&rep);
	fx_release(&fx);
}

/* Run one case of a broken fixture; returns 0 when it behaved. */
static int
run_case(const char *rule, const json_t *c)
{
	struct fx		 fx;
	struct check_report	 rep = CHECK_REPORT_INIT;
	const char		*name, *expect, *ehint, *sev;
	char			*cause = NULL, line[4096];
	size_t			 i;
	int			 ok = 0, none, want;

	name = json_string_value(json_object_get(c, "name"));
	expect = json_string_value(json_object_get(c, "expect"));
	ehint = json_string_value(json_object_get(c, "expect_hint"));
	sev = json_string_value(json_object_get(c, "severity"));
	none = json_is_true(json_object_get(c, "none"));
	want = sev != NULL && strcmp(sev, "warning") == 0 ? CHECK_WARNING :
	    CHECK_ERROR;
	if (fx_load(&fx, json_object_get(c, "patch")) != 0)
		return -1;
	if (check_run(&fx.in, rule, &rep, &cause) != 0) {
		printf("  %s/%s: %s\n", rule, name, cause);
		free(cause);
		goto out;
	}
	if (none) {
		ok = rep.n == 0;
	} else {
		for (i = 0; i < rep.n && !ok; i++) {
			snprintf(line, sizeof(line), "%s: %s", rep.v[i].where,
			    rep.v[i].msg);
			if ((int)rep.v[i].sev == want && strcmp(rep.v[i].rule,
			    rule) == 0 && strstr(line, expect) != NULL &&
			    (ehint == NULL || (rep.v[i].hint != NULL &&
			    strstr(rep.v[i].hint, ehint) != NULL)))
				ok = 1;
		}
	}
	if (!ok) {
		printf("  case %s/%s: expected %s%s%s%s, got:\n", rule, name,
		    none ? "no finding" : sev ? sev : "error",
		    none ? "" : " containing \"", none ? "" : expect,
		    none ? "" : "\"");
		if (ehint)
			printf("    (hint containing \"%s\")\n", ehint);
		dump(&rep);
	}
 out:
	check_report_release(&rep);
	fx_release(&fx);
	return ok ? 0 : -1;
}

T_TEST(every_rule_has_broken_cases)
{
	const struct check_rule	*rules;
	json_error_t		 e;
	json_t			*doc, *c;
	char			 path[4096];
	size_t			 n, i, j;
	int			 bad = 0, ncases;

	rules = check_rules(&n);
	T_INTEQ(n, 12);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/broken-%s.json", fixdir,
		    rules[i].id);
		if ((doc = json_load_file(path, 0, &e)) == NULL) {
			printf("  %s: %s\n", path, e.text);
			bad++;
			continue;
		}
		ncases = 0;
		json_array_foreach(json_object_get(doc, "cases"), j, c) {
			if (run_case(rules[i].id, c) != 0)
				bad++;
			if (!json_is_true(json_object_get(c, "none")))
				ncases++;
		}
		if (ncases == 0) {
			printf("  %s: no failing case\n", path);
			bad++;
		}
		json_decref(doc);
	}
	T_INTEQ(bad, 0);
}

/* The broken cases must also fail the whole run, not just the one rule. */
T_TEST(broken_fails_full_run)
{
	struct fx		 fx;
	struct check_report	 rep = CHECK_REPORT_INIT;
	json_t			*patch;
	char			*cause = NULL;

	patch = json_pack("{s:{s:s,s:i}}", "vars", "target_env", "preprod",
	    "host_ram_mb", 4096);
	T_ASSERT(fx_load(&fx, patch) == 0);
	json_decref(patch);
	T_INTEQ(check_run(&fx.in, NULL, &rep, &cause), 0);
	T_INTEQ(rep.nerr, 1);
	T_STREQ(rep.v[0].rule, "ram-budget");
	check_report_release(&rep);
	fx_release(&fx);
}

T_TEST(unknown_rule)
{
	struct check_report	 rep = CHECK_REPORT_INIT;
	struct check_input	 in;
	char			*cause = NULL;

	memset(&in, 0, sizeof(in));
	T_INTEQ(check_run(&in, "ram-budgte", &rep, &cause), VP_ERR_NOTFOUND);
	T_STREQ(cause, "no rule 'ram-budgte' (did you mean 'ram-budget'?)");
	free(cause);
}

T_TEST(empty_input_reports_nothing)
{
	struct check_report	 rep = CHECK_REPORT_INIT;
	struct check_input	 in;
	char			*cause = NULL;

	memset(&in, 0, sizeof(in));
	T_INTEQ(check_run(&in, NULL, &rep, &cause), 0);
	T_INTEQ(rep.n, 0);
}

T_TEST(mem_units)
{
	json_t *v;

#define MEM(s, want) do {						\
	v = json_string(s);						\
	T_INTEQ(check_mem_mb(v), want);					\
	json_decref(v);							\
} while (0)
	MEM("1536M", 1536);
	MEM("1536m", 1536);
	MEM("1G", 1024);
	MEM("1.5g", 1536);
	MEM("512MB", 512);
	MEM("2gb", 2048);
	MEM("524288k", 512);
	MEM("1073741824", 1024);
	MEM("1073741824b", 1024);
	MEM("lots", -1);
	MEM("12X", -1);
	MEM("-1G", -1);
	MEM("", -1);
#undef MEM
	v = json_integer(268435456);
	T_INTEQ(check_mem_mb(v), 256);
	json_decref(v);
	T_INTEQ(check_mem_mb(NULL), -1);
}

T_TEST(sort_and_json)
{
	struct check_report	 rep = CHECK_REPORT_INIT;
	json_t			*j;
	char			*s;

	T_INTEQ(check_add(&rep, CHECK_WARNING, "images-pinned", "a", NULL,
	    "w1"), 0);
	T_INTEQ(check_add(&rep, CHECK_ERROR, "volume-owner", "b", "h",
	    "e1 %d", 1), 0);
	T_INTEQ(check_add(&rep, CHECK_ERROR, "images-pinned", "c", NULL,
	    "e2"), 0);
	T_INTEQ(check_add(&rep, CHECK_ERROR, "volume-owner", "d", NULL,
	    "e3"), 0);
	check_report_sort(&rep);
	T_STREQ(rep.v[0].msg, "e2");
	T_STREQ(rep.v[1].msg, "e1 1");
	T_STREQ(rep.v[2].msg, "e3");
	T_STREQ(rep.v[3].msg, "w1");
	T_INTEQ(rep.nerr, 3);
	T_INTEQ(rep.nwarn, 1);
	T_INTEQ(check_report_count(&rep, "volume-owner"), 2);
	j = check_report_json(&rep);
	T_ASSERT(j != NULL);
	s = json_dumps(json_array_get(j, 1), JSON_SORT_KEYS | JSON_COMPACT);
	T_STREQ(s, "{\"hint\":\"h\",\"message\":\"e1 1\",\"rule\":"
	    "\"volume-owner\",\"severity\":\"error\",\"where\":\"b\"}");
	free(s);
	T_ASSERT(json_object_get(json_array_get(j, 0), "hint") == NULL);
	json_decref(j);
	check_report_release(&rep);
	check_report_release(NULL);
}

T_TEST(yaml_policy_parse)
{
	json_t	*d = NULL;
	char	*cause = NULL;
	const char *y = "a: 1\nb: [x, \"2\", true]\nc:\n  d: no\n";

	T_INTEQ(check_yaml_parse("p.yml", y, strlen(y), &d, &cause), 0);
	T_INTEQ(json_integer_value(json_object_get(d, "a")), 1);
	T_ASSERT(json_is_string(json_array_get(json_object_get(d, "b"), 1)));
	T_ASSERT(json_is_true(json_array_get(json_object_get(d, "b"), 2)));
	T_STREQ(json_string_value(json_object_get(json_object_get(d, "c"),
	    "d")), "no");
	json_decref(d);
	y = "a: 1\na: 2\n";
	T_INTEQ(check_yaml_parse("p.yml", y, strlen(y), &d, &cause),
	    VP_ERR_PARSE);
	T_STREQ(cause, "p.yml:2: key 'a': duplicate key");
	free(cause);
	cause = NULL;
	y = "a: [1\n";
	T_INTEQ(check_yaml_parse("p.yml", y, strlen(y), &d, &cause),
	    VP_ERR_PARSE);
	T_ASSERT(strncmp(cause, "p.yml:", 6) == 0);
	free(cause);
	cause = NULL;
	y = "a: &x 1\nb: *x\n";
	T_INTEQ(check_yaml_parse("p.yml", y, strlen(y), &d, &cause),
	    VP_ERR_PARSE);
	T_STREQ(cause, "p.yml:2: aliases are not supported");
	free(cause);
}

/* The real policy with the first `from` replaced by `to`, parsed. */
static int
policy_variant(const char *from, const char *to, char **cause)
{
	struct vp_buf	 b = VP_BUF_INIT(1u << 20), v = VP_BUF_INIT(1u << 20);
	json_t		*doc = NULL;
	char		*p;
	int		 r;

	if ((r = vp_file_read(policy_path, &b, cause)) != 0)
		goto out;
	if ((p = strstr(b.buf, from)) == NULL) {
		printf("  '%s' not in the policy\n", from);
		r = -100;
		goto out;
	}
	if ((r = vp_buf_add(&v, b.buf, (size_t)(p - b.buf))) != 0 ||
	    (r = vp_buf_adds(&v, to)) != 0 ||
	    (r = vp_buf_adds(&v, p + strlen(from))) != 0)
		goto out;
	r = check_policy_parse("policy.yml", v.buf, v.len, &doc, cause);
 out:
	json_decref(doc);
	vp_buf_release(&b);
	vp_buf_release(&v);
	return r;
}

static int
line_of_text(const char *needle)
{
	struct vp_buf	 b = VP_BUF_INIT(1u << 20);
	char		*p;
	int		 line = 0;

	if (vp_file_read(policy_path, &b, NULL) == 0 &&
	    (p = strstr(b.buf, needle)) != NULL) {
		line = 1;
		while (--p >= b.buf)
			if (*p == '\n')
				line++;
	}
	vp_buf_release(&b);
	return line;
}

T_TEST(policy_schema)
{
	char	*cause = NULL, want[256];
	int	 l;

	/* The real policy is valid. */
	T_INTEQ(policy_variant("version: 1", "version: 1", &cause), 0);
	l = line_of_text("\nmatrix:") + 1;
	T_INTEQ(policy_variant("\nmatrix:", "\nmatix:", &cause),
	    VP_ERR_INVALID);
	snprintf(want, sizeof(want), "policy.yml:%d: key 'matix': unknown "
	    "key (did you mean 'matrix'?)", l);
	T_STREQ(cause, want);
	free(cause);
	cause = NULL;
	l = line_of_text("  reserve_pct:");
	T_INTEQ(policy_variant("  reserve_pct:", "  reserve_pc:", &cause),
	    VP_ERR_INVALID);
	snprintf(want, sizeof(want), "policy.yml:%d: key 'ram.reserve_pc': "
	    "unknown key (did you mean 'ram.reserve_pct'?)", l);
	T_STREQ(cause, want);
	free(cause);
	cause = NULL;
	T_INTEQ(policy_variant("  hard_reserve_mb: 256\n", "", &cause),
	    VP_ERR_INVALID);
	T_STREQ(cause, "policy.yml: key 'ram.hard_reserve_mb': missing");
	free(cause);
	cause = NULL;
	l = line_of_text("  min_length:");
	T_INTEQ(policy_variant("  min_length: 8", "  min_length: eight",
	    &cause), VP_ERR_INVALID);
	snprintf(want, sizeof(want), "policy.yml:%d: key 'secrets.min_length':"
	    " expected a non-negative integer", l);
	T_STREQ(cause, want);
	free(cause);
	cause = NULL;
	T_INTEQ(policy_variant("  caddy: [frontend, backend]",
	    "  caddy: frontend", &cause), VP_ERR_INVALID);
	T_ASSERT(strstr(cause, "key 'matrix.caddy': expected a list of "
	    "strings") != NULL);
	free(cause);
}

/* check_bundle(): the entry point of `vpai apply`, and the text format. */
T_TEST(bundle_and_format)
{
	struct fx		 fx;
	struct check_report	 rep = CHECK_REPORT_INIT;
	struct vp_buf		 pol = VP_BUF_INIT(1u << 20);
	struct vp_buf		 out = VP_BUF_INIT(1u << 20);
	json_t			*patch;
	char			 dir[] = "/tmp/u-check.XXXXXX", *p = NULL;
	char			*cause = NULL;

	T_ASSERT(mkdtemp(dir) != NULL);
	T_ASSERT((p = vp_path_join(dir, "policy.yml")) != NULL);
	T_INTEQ(vp_file_read(policy_path, &pol, NULL), 0);
	T_INTEQ(vp_file_write_atomic(p, pol.buf, pol.len, 0644, (uid_t)-1,
	    (gid_t)-1, NULL), 0);
	patch = json_pack("{s:{s:s,s:i}}", "vars", "target_env", "preprod",
	    "host_ram_mb", 4096);
	T_ASSERT(fx_load(&fx, patch) == 0);
	json_decref(patch);
	T_INTEQ(check_bundle(dir, fx.in.vars, fx.in.secrets, fx.in.bundle,
	    &rep, &cause), 0);
	T_INTEQ(rep.nerr, 1);
	T_INTEQ(check_report_format(&rep, 0, &out), 0);
	T_ASSERT(strstr(out.buf, "error  ram-budget  preprod: limits total "
	    "5504 MB: ") == out.buf);
	T_ASSERT(strstr(out.buf, "\n    hint: use scaled limits: multiply "
	    "every preprod limit by 0.60") != NULL);
	/* A missing policy is an error, not a pass. */
	unlink(p);
	check_report_release(&rep);
	T_INTEQ(check_bundle(dir, fx.in.vars, fx.in.secrets, fx.in.bundle,
	    &rep, &cause), VP_ERR_NOTFOUND);
	free(cause);
	rmdir(dir);
	free(p);
	vp_buf_release(&pol);
	vp_buf_release(&out);
	check_report_release(&rep);
	fx_release(&fx);
}

T_TEST(canary_vars)
{
	json_t *v, *c;

	v = json_pack("{s:s,s:s,s:s,s:s,s:i}", "project_name", "vpai",
	    "domain_name", "vpai.example.org", "notification_email",
	    "admin@vpai.example.org", "stack_root", "/opt/vpai",
	    "host_ram_mb", 8192);
	c = check_canary_vars(v);
	T_ASSERT(c != NULL);
	T_STREQ(json_string_value(json_object_get(c, "domain_name")),
	    "canary-domain.invalid");
	T_STREQ(json_string_value(json_object_get(c, "notification_email")),
	    "admin@canary-domain.invalid");
	T_STREQ(json_string_value(json_object_get(c, "stack_root")),
	    "/opt/zzcanaryproj");
	T_STREQ(json_string_value(json_object_get(c, "project_name")),
	    "zzcanaryproj");
	T_INTEQ(json_integer_value(json_object_get(c, "host_ram_mb")), 8192);
	/* The original is untouched. */
	T_STREQ(json_string_value(json_object_get(v, "stack_root")),
	    "/opt/vpai");
	json_decref(c);
	json_decref(v);
}

int
main(void)
{
	const char *src = getenv("VPAI_SOURCE_DIR");

	if (src == NULL)
		src = ".";
	snprintf(fixdir, sizeof(fixdir), "%s/tests/fixtures/check", src);
	snprintf(policy_path, sizeof(policy_path), "%s/stack/policy.yml",
	    src);
	T_RUN(good_passes_every_rule);
	T_RUN(every_rule_has_broken_cases);
	T_RUN(broken_fails_full_run);
	T_RUN(unknown_rule);
	T_RUN(empty_input_reports_nothing);
	T_RUN(mem_units);
	T_RUN(sort_and_json);
	T_RUN(yaml_policy_parse);
	T_RUN(policy_schema);
	T_RUN(bundle_and_format);
	T_RUN(canary_vars);
	return T_DONE();
}
