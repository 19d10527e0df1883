/*
 * u-wizard.c: the `vpai init` wizard with scripted answers (no TTY):
 * group order, defaults, bad answers re-asked with the reason, cross-key
 * rules, '?' help, keeping an existing site's values, in-place updates
 * that keep comments, and the external secret questions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/child.h"
#include "core/file.h"
#include "site/site.h"
#include "site/site-int.h"
#include "site/wizard.h"
#include "t.h"

static char schema[4096];

/*
 * A script: each entry answers the first prompt containing match (in
 * order, each entry used once); unmatched prompts get "" (Enter).
 */
struct step {
	const char	*match;
	const char	*answer;
	int		 used;
};

struct script {
	struct step	*steps;
	size_t		 nsteps;
	struct vp_buf	 out;		/* all shown, prompts too */
	int		 prompts;
	int		 secret_prompts;
	int		 eof_after;	/* > 0: EOF after N prompts */
};

static void
s_write(void *arg, const char *text)
{
	struct script *s = arg;

	vp_buf_adds(&s->out, text);
}

static int
s_read(void *arg, const char *prompt, int secret, char **out, char **cause)
{
	struct script	*s = arg;
	size_t		 i;

	(void)cause;
	vp_buf_adds(&s->out, prompt);
	vp_buf_addc(&s->out, '\n');
	s->prompts++;
	s->secret_prompts += secret != 0;
	if (s->eof_after > 0 && s->prompts > s->eof_after)
		return VP_ERR_NOTFOUND;
	for (i = 0; i < s->nsteps; i++)
		if (!s->steps[i].used && strstr(prompt, s->steps[i].match)) {
			s->steps[i].used = 1;
			*out = strdup(s->steps[i].answer);
			return *out ? VP_OK : VP_ERR_NOMEM;
		}
	*out = strdup("");
	return *out ? VP_OK : VP_ERR_NOMEM;
}

static struct site_schema *
load_schema(void)
{
	struct site_schema	*sch = NULL;
	char			*cause = NULL;

	if (site_schema_load(schema, &sch, &cause) != VP_OK) {
		printf("  schema: %s\n", cause);
		free(cause);
	}
	return sch;
}

/* Run the wizard over steps; *ans and the script are the results. */
static int
run(struct site_schema *sch, const json_t *cur, struct step *steps,
    size_t n, struct script *s, json_t **ans, char **cause)
{
	struct wizard_io io = { s_write, s_read, s };

	memset(s, 0, sizeof(*s));
	s->steps = steps;
	s->nsteps = n;
	vp_buf_init(&s->out, 1u << 20);
	*cause = NULL;
	return wizard_site(sch, cur, &io, ans, cause);
}

static int
all_used(struct step *st, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!st[i].used) {
			printf("  step '%s' never asked\n", st[i].match);
			return 0;
		}
	return 1;
}

#define NSTEPS(a)	(sizeof(a) / sizeof((a)[0]))

T_TEST(defaults_everywhere)
{
	struct site_schema	*sch = load_schema();
	struct script		 s;
	struct vp_argv		 sets = VP_ARGV_INIT;
	json_t			*ans = NULL;
	char			*cause = NULL;
	const char		*p1, *p2, *p3;

	T_ASSERT(sch != NULL);
	T_INTEQ(run(sch, NULL, NULL, 0, &s, &ans, &cause), VP_OK);
	/* Every key asked once, none twice: all defaults are valid. */
	T_INTEQ(s.prompts, sch->nkeys);
	T_INTEQ(json_object_size(ans), sch->nkeys);
	T_STREQ(json_string_value(json_object_get(ans, "domain_name")),
	    "vpai.localhost");
	T_STREQ(json_string_value(json_object_get(ans, "stack_root")),
	    "/opt/vpai");
	T_INTEQ(json_integer_value(json_object_get(ans, "prod_ssh_port")), 804);
	T_ASSERT(json_is_false(json_object_get(ans, "vpn_verified")));
	T_STREQ(json_string_value(json_object_get(ans, "n8n_owner_email")),
	    "admin@vpai.localhost");
	/* Groups in order, defaults shown. */
	p1 = strstr(s.out.buf, "== Project ==");
	p2 = strstr(s.out.buf, "== Where to deploy ==");
	p3 = strstr(s.out.buf, "== Backups (S3 + restic) ==");
	T_ASSERT(p1 != NULL && p2 != NULL && p3 != NULL && p1 < p2 &&
	    p2 < p3);
	T_ASSERT(strstr(s.out.buf, "Short project name (lowercase, no "
	    "spaces) [vpai]: ") != NULL);
	T_ASSERT(strstr(s.out.buf, "SSH port after hardening [804]: ") !=
	    NULL);
	T_INTEQ(s.secret_prompts, 0);
	/* Nothing differs from the defaults: nothing to --set. */
	T_INTEQ(wizard_sets(sch, ans, &sets, &cause), VP_OK);
	T_INTEQ(sets.n, 0);
	vp_argv_release(&sets);
	vp_buf_release(&s.out);
	json_decref(ans);
	site_schema_free(sch);
}

T_TEST(bad_answers_are_reasked)
{
	struct step st[] = {
		{ "Short project name", "Bad Name", 0 },
		{ "Short project name", "shop", 0 },
		{ "Deploy on this machine", "remote", 0 },
		{ "Deploy on this machine", "?", 0 },
		{ "Deploy on this machine", "ssh", 0 },
		{ "RAM of the target", "512", 0 },
		{ "RAM of the target", "lots", 0 },
		{ "RAM of the target", "16384", 0 },
		{ "Production server public IP", "", 0 },
		{ "Production server public IP", "203.0.113.300", 0 },
		{ "Production server public IP", "203.0.113.30", 0 },
		{ "Domain name pointing", "exa_mple.com", 0 },
		{ "Domain name pointing", "ai.example.org", 0 },
		{ "SSH port after hardening", "70000", 0 },
		{ "SSH port after hardening", "2222", 0 },
		{ "Display name", "-", 0 },
		{ "Display name", "My Shop", 0 },
	};
	struct site_schema	*sch = load_schema();
	struct script		 s;
	struct vp_argv		 sets = VP_ARGV_INIT;
	json_t			*ans = NULL;
	char			*cause = NULL, *path = NULL;
	struct site		*site = NULL;
	size_t			 i;
	int			 found;

	T_ASSERT(sch != NULL);
	T_INTEQ(run(sch, NULL, st, NSTEPS(st), &s, &ans, &cause), VP_OK);
	T_ASSERT(all_used(st, NSTEPS(st)));
	T_ASSERT(strstr(s.out.buf, "  invalid: invalid value 'Bad Name': "
	    "must match ^[a-z]") != NULL);
	T_ASSERT(strstr(s.out.buf, "  invalid: 512 is below the minimum "
	    "1024\n") != NULL);
	T_ASSERT(strstr(s.out.buf, "  invalid: invalid port '70000': must be "
	    "1-65535\n") != NULL);
	T_ASSERT(strstr(s.out.buf, "label 'exa_mple' has a character other "
	    "than letters") != NULL);
	/* required_when, from the answers so far. */
	T_ASSERT(strstr(s.out.buf, "  invalid: must not be empty when target "
	    "is 'ssh' and target_env is 'prod'\n") != NULL);
	T_ASSERT(strstr(s.out.buf, "  invalid: must not be empty\n") != NULL);
	/* '?' shows the description and the allowed values. */
	T_ASSERT(strstr(s.out.buf, "ssh: deploy on <env>_ip over SSH") !=
	    NULL);
	T_ASSERT(strstr(s.out.buf, "  one of: local ssh\n") != NULL);
	/* Later defaults follow earlier answers. */
	T_ASSERT(strstr(s.out.buf, "Install directory on the target "
	    "[/opt/shop]: ") != NULL);
	T_ASSERT(strstr(s.out.buf, "[admin@ai.example.org]: ") != NULL);
	T_STREQ(json_string_value(json_object_get(ans, "prod_ip")),
	    "203.0.113.30");
	T_INTEQ(json_integer_value(json_object_get(ans, "host_ram_mb")),
	    16384);
	T_INTEQ(wizard_sets(sch, ans, &sets, &cause), VP_OK);
	for (i = 0, found = 0; i < sets.n; i++)
		found += strcmp(sets.v[i], "project_name=shop") == 0 ||
		    strcmp(sets.v[i], "prod_ip=203.0.113.30") == 0 ||
		    strcmp(sets.v[i], "stack_root=/opt/shop") == 0;
	T_INTEQ(found, 2);	/* stack_root follows project_name */
	/* The sets make a valid site with exactly these answers. */
	T_ASSERT(asprintf(&path, "/tmp/u-wizard.%d.yml", (int)getpid()) > 0);
	T_INTEQ(site_init_write(path, schema, sets.v, sets.n, 1, &cause),
	    VP_OK);
	T_INTEQ(site_load(path, schema, NULL, &site, &cause), VP_OK);
	T_STREQ(json_string_value(json_object_get(site_vars(site),
	    "stack_root")), "/opt/shop");
	T_STREQ(json_string_value(json_object_get(site_vars(site),
	    "notification_email")), "admin@ai.example.org");
	unlink(path);
	free(path);
	site_free(site);
	vp_argv_release(&sets);
	vp_buf_release(&s.out);
	json_decref(ans);
	site_schema_free(sch);
}

T_TEST(acme_needs_a_public_domain)
{
	struct step st[] = {
		{ "TLS certificates", "acme", 0 },
		{ "TLS certificates", "internal", 0 },
	};
	struct site_schema	*sch = load_schema();
	struct script		 s;
	json_t			*ans = NULL;
	char			*cause = NULL;

	T_ASSERT(sch != NULL);
	T_INTEQ(run(sch, NULL, st, NSTEPS(st), &s, &ans, &cause), VP_OK);
	T_ASSERT(all_used(st, NSTEPS(st)));
	T_ASSERT(strstr(s.out.buf, "  invalid: 'acme' cannot get a public "
	    "certificate for 'vpai.localhost'") != NULL);
	vp_buf_release(&s.out);
	json_decref(ans);
	site_schema_free(sch);
}

T_TEST(end_of_input_stops)
{
	struct site_schema	*sch = load_schema();
	struct script		 s;
	struct wizard_io	 io = { s_write, s_read, &s };
	json_t			*ans = NULL;
	char			*cause = NULL;

	T_ASSERT(sch != NULL);
	memset(&s, 0, sizeof(s));
	vp_buf_init(&s.out, 1u << 20);
	s.eof_after = 3;
	T_INTEQ(wizard_site(sch, NULL, &io, &ans, &cause), VP_ERR_NOTFOUND);
	T_ASSERT(ans == NULL);
	free(cause);
	vp_buf_release(&s.out);
	site_schema_free(sch);
}

static const char existing[] =
    "# my own comment\n"
    "project_name: \"shop\"   # trailing\n"
    "domain_name: ai.example.org\n"
    "caddy_tls: acme\n"
    "target: ssh\n"
    "prod_ip: 203.0.113.7\n"
    "environments:\n"
    "  preprod:\n"
    "    host_ram_mb: 2048\n";

T_TEST(rerun_keeps_values)
{
	struct step st[] = {
		{ "Production server public IP", "203.0.113.8", 0 },
		{ "SSH port after hardening", "2200", 0 },
	};
	struct site_schema	*sch = load_schema();
	struct site		*cur = NULL, *back = NULL;
	struct script		 s;
	struct vp_argv		 ch = VP_ARGV_INIT;
	struct vp_buf		 out = VP_BUF_INIT(1u << 20);
	json_t			*ans = NULL;
	char			*cause = NULL;

	T_ASSERT(sch != NULL);
	T_INTEQ(site_load_schema(sch, "vpai.yml", existing, strlen(existing),
	    NULL, &cur, &cause), VP_OK);
	/* All Enter: every current value kept, nothing to write. */
	T_INTEQ(run(sch, site_vars(cur), NULL, 0, &s, &ans, &cause), VP_OK);
	T_ASSERT(strstr(s.out.buf, "Short project name (lowercase, no "
	    "spaces) [shop]: ") != NULL);
	T_ASSERT(strstr(s.out.buf, "[ai.example.org]: ") != NULL);
	T_INTEQ(wizard_update(sch, "vpai.yml", existing, strlen(existing),
	    ans, &ch, &out, &cause), VP_OK);
	T_INTEQ(ch.n, 0);
	T_INTEQ(out.len, 0);
	json_decref(ans);
	vp_buf_release(&s.out);
	/* Two changes: one line rewritten in place, one key appended. */
	T_INTEQ(run(sch, site_vars(cur), st, NSTEPS(st), &s, &ans, &cause),
	    VP_OK);
	T_ASSERT(strstr(s.out.buf, "[203.0.113.7]: ") != NULL);
	T_INTEQ(wizard_update(sch, "vpai.yml", existing, strlen(existing),
	    ans, &ch, &out, &cause), VP_OK);
	T_INTEQ(ch.n, 2);
	T_STREQ(ch.v[0], "prod_ip");
	T_STREQ(ch.v[1], "prod_ssh_port");
	T_ASSERT(strstr(out.buf, "# my own comment\n"
	    "project_name: \"shop\"   # trailing\n") == out.buf);
	T_ASSERT(strstr(out.buf, "\nprod_ip: \"203.0.113.8\"\n"
	    "environments:\n  preprod:\n    host_ram_mb: 2048\n"
	    "prod_ssh_port: 2200\n") != NULL);
	T_INTEQ(site_load_schema(sch, "vpai.yml", out.buf, out.len, NULL,
	    &back, &cause), VP_OK);
	T_INTEQ(json_integer_value(json_object_get(site_vars(back),
	    "prod_ssh_port")), 2200);
	vp_argv_release(&ch);
	vp_buf_release(&out);
	vp_buf_release(&s.out);
	json_decref(ans);
	site_free(back);
	site_free(cur);
	site_schema_free(sch);
}

T_TEST(external_secrets)
{
	struct step st[] = {
		{ "(anthropic_api_key)", "not-a-key", 0 },
		{ "(anthropic_api_key)", "?", 0 },
		{ "(anthropic_api_key)", "sk-ant-Typed_1", 0 },
		{ "(openai_api_key)", "", 0 },
		{ "(hetzner_cloud_token)", "-", 0 },
		{ "(s3_access_key)", "AKIA-new", 0 },
	};
	struct script		 s;
	struct wizard_io	 io = { s_write, s_read, &s };
	json_t			*cat, *sec;
	char			*cause = NULL;

	cat = json_pack("{s{ss ss ss} s{ss ss} s{ss} s{ss} s{ss} s{ss}}",
	    "anthropic_api_key", "kind", "external", "pattern",
	    "^sk-ant-[A-Za-z0-9_-]+$", "description", "Anthropic API key",
	    "openai_api_key", "kind", "external", "description", "OpenAI",
	    "hetzner_cloud_token", "kind", "external",
	    "s3_access_key", "kind", "external",
	    "redis_password", "kind", "generated",
	    "n8n_encryption_key", "kind", "generated");
	sec = json_pack("{ss ss ss ss}", "openai_api_key", "sk-kept-Old",
	    "hetzner_cloud_token", "tok-Old", "redis_password", "r-Old",
	    "n8n_encryption_key", "n8n-Old");
	T_ASSERT(cat != NULL && sec != NULL);
	memset(&s, 0, sizeof(s));
	s.steps = st;
	s.nsteps = NSTEPS(st);
	vp_buf_init(&s.out, 1u << 20);
	T_INTEQ(wizard_secrets(cat, sec, &io, &cause), VP_OK);
	T_ASSERT(all_used(st, NSTEPS(st)));
	T_INTEQ(s.secret_prompts, 4 + 2);	/* 4 keys, 2 re-asks */
	T_STREQ(json_string_value(json_object_get(sec, "anthropic_api_key")),
	    "sk-ant-Typed_1");
	T_STREQ(json_string_value(json_object_get(sec, "openai_api_key")),
	    "sk-kept-Old");
	T_STREQ(json_string_value(json_object_get(sec, "hetzner_cloud_token")),
	    "");
	T_STREQ(json_string_value(json_object_get(sec, "s3_access_key")),
	    "AKIA-new");
	/* Generated ones are not asked and not touched. */
	T_STREQ(json_string_value(json_object_get(sec, "n8n_encryption_key")),
	    "n8n-Old");
	T_ASSERT(strstr(s.out.buf, "redis_password") == NULL);
	T_ASSERT(strstr(s.out.buf, "  invalid: 'anthropic_api_key' values "
	    "look like ^sk-ant-") != NULL);
	T_ASSERT(strstr(s.out.buf, "(openai_api_key) [set, Enter keeps]: ") !=
	    NULL);
	/* No value, old or new, is ever shown. */
	T_ASSERT(strstr(s.out.buf, "not-a-key\n") == NULL);
	T_ASSERT(strstr(s.out.buf, "Old") == NULL);
	T_ASSERT(strstr(s.out.buf, "Typed") == NULL);
	vp_buf_release(&s.out);
	json_decref(cat);
	json_decref(sec);
}

int
main(void)
{
	const char *src = getenv("VPAI_SOURCE_DIR");

	snprintf(schema, sizeof(schema), "%s/stack/site-schema.yml",
	    src ? src : ".");
	T_RUN(defaults_everywhere);
	T_RUN(bad_answers_are_reasked);
	T_RUN(acme_needs_a_public_domain);
	T_RUN(end_of_input_stops);
	T_RUN(rerun_keeps_values);
	T_RUN(external_secrets);
	return T_DONE();
}
