/*
 * u-site.c: the site model: loading vpai.yml against stack/site-schema.yml,
 * exact error messages, overlays, defaults, and `init` round trips.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/child.h"
#include "core/file.h"
#include "site/site.h"
#include "site/site-int.h"
#include "t.h"

static char schema[4096];
static char fixtures[4096];
static char tmpdir[256];

/* Load text as "vpai.yml"; returns the error code, cause in *causep. */
static int
load(const char *text, const char *env, struct site **sp, char **causep)
{
	*causep = NULL;
	return site_load_mem("vpai.yml", text, strlen(text), schema, env, sp,
	    causep);
}

/* Expect text to fail with exactly the message want. */
static int
fails_with(const char *text, const char *want)
{
	struct site	*s = NULL;
	char		*cause = NULL;
	int		 r, ok;

	r = load(text, NULL, &s, &cause);
	ok = r != VP_OK && cause != NULL && strcmp(cause, want) == 0;
	if (!ok)
		printf("  want: %s\n  got (%d): %s\n", want, r,
		    cause ? cause : "(null)");
	site_free(s);
	free(cause);
	return ok;
}

static const char *
str(const struct site *s, const char *key)
{
	return json_string_value(json_object_get(site_vars(s), key));
}

static long long
num(const struct site *s, const char *key)
{
	return json_integer_value(json_object_get(site_vars(s), key));
}

T_TEST(defaults_applied)
{
	struct site	*s = NULL;
	char		*cause = NULL;

	T_INTEQ(load("project_name: demo\n", NULL, &s, &cause), VP_OK);
	T_STREQ(str(s, "project_name"), "demo");
	T_STREQ(str(s, "stack_root"), "/opt/demo");
	T_STREQ(str(s, "s3_bucket_backups"), "demo-backups");
	T_STREQ(str(s, "restic_repository"),
	    "s3:https://fsn1.your-objectstorage.com/demo-backups");
	T_STREQ(str(s, "domain_name"), "vpai.localhost");
	T_STREQ(str(s, "notification_email"), "admin@vpai.localhost");
	T_STREQ(str(s, "n8n_owner_email"), "admin@vpai.localhost");
	T_STREQ(str(s, "caddy_tls"), "internal");
	T_STREQ(str(s, "target"), "local");
	T_STREQ(str(s, "image_set"), "upstream");
	T_STREQ(str(s, "vpn_network_cidr"), "100.64.0.0/10");
	T_STREQ(str(s, "timezone"), "Europe/Paris");
	T_STREQ(str(s, "locale"), "fr_FR.UTF-8");
	T_STREQ(str(s, "prod_ip"), "");
	T_STREQ(str(s, "target_env"), "prod");
	T_INTEQ(num(s, "host_ram_mb"), 8192);
	T_INTEQ(num(s, "prod_ssh_port"), 804);
	T_ASSERT(json_is_false(json_object_get(site_vars(s),
	    "vpn_verified")));
	T_ASSERT(json_is_true(json_object_get(site_vars(s),
	    "monitoring_enabled")));
	T_STREQ(site_env(s), "prod");
	T_STREQ(site_path(s), "vpai.yml");
	T_INTEQ(site_key_line(s, "project_name"), 1);
	T_INTEQ(site_key_line(s, "domain_name"), 0);
	site_free(s);
}

T_TEST(typed_values)
{
	struct site	*s = NULL;
	char		*cause = NULL;

	T_INTEQ(load("# comment\n"
	    "project_name: shop\n"
	    "domain_name: ai.example.org\n"
	    "target: ssh\n"
	    "prod_ip: \"2001:db8::1\"\n"
	    "prod_ssh_port: 2222\n"
	    "caddy_tls: acme\n"
	    "vpn_verified: yes\n"
	    "host_ram_mb: 16384\n"
	    "stack_root: /srv/shop\n"
	    "prod_user: no\n"
	    "notification_webhook_url: https://hooks.example.org:8443/x?y=1\n"
	    "vpn_network_cidr: fd7a:115c:a1e0::/48\n"
	    "timezone: America/Argentina/Buenos_Aires\n",
	    NULL, &s, &cause), VP_OK);
	T_STREQ(str(s, "prod_ip"), "2001:db8::1");
	T_INTEQ(num(s, "prod_ssh_port"), 2222);
	T_ASSERT(json_is_true(json_object_get(site_vars(s),
	    "vpn_verified")));
	T_STREQ(str(s, "stack_root"), "/srv/shop");
	/* A plain "no" is a string where the schema says string. */
	T_STREQ(str(s, "prod_user"), "no");
	/* Derived defaults use the final values. */
	T_STREQ(str(s, "notification_email"), "admin@ai.example.org");
	T_INTEQ(site_key_line(s, "prod_ssh_port"), 6);
	site_free(s);
}

T_TEST(unknown_key_did_you_mean)
{
	T_ASSERT(fails_with("project_name: vpai\n\ndomain_nme: x.org\n",
	    "vpai.yml:3: key 'domain_nme': unknown key (did you mean "
	    "'domain_name'?)"));
	T_ASSERT(fails_with("zzzzzzzzzz: 1\n",
	    "vpai.yml:1: key 'zzzzzzzzzz': unknown key"));
}

T_TEST(bad_domain)
{
	T_ASSERT(fails_with("domain_name: exa_mple.com\n",
	    "vpai.yml:1: key 'domain_name': invalid domain 'exa_mple.com': "
	    "label 'exa_mple' has a character other than letters, digits "
	    "and '-'"));
	T_ASSERT(fails_with("domain_name: a..com\n",
	    "vpai.yml:1: key 'domain_name': invalid domain 'a..com': "
	    "empty label"));
	T_ASSERT(fails_with("domain_name: -a.com\n",
	    "vpai.yml:1: key 'domain_name': invalid domain '-a.com': "
	    "label '-a' starts or ends with '-'"));
	T_ASSERT(fails_with("domain_name: localhost\n",
	    "vpai.yml:1: key 'domain_name': invalid domain 'localhost': "
	    "needs at least two labels, e.g. example.com"));
	T_ASSERT(fails_with("domain_name: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".com\n",
	    "vpai.yml:1: key 'domain_name': invalid domain "
	    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "...': label longer than 63 characters"));
	T_ASSERT(fails_with("domain_name: a.123\n",
	    "vpai.yml:1: key 'domain_name': invalid domain 'a.123': "
	    "top-level label is numeric"));
}

T_TEST(bad_ip)
{
	T_ASSERT(fails_with("prod_ip: 1.2.3.256\n",
	    "vpai.yml:1: key 'prod_ip': invalid IP address '1.2.3.256'"));
	T_ASSERT(fails_with("prod_ip: 01.2.3.4\n",
	    "vpai.yml:1: key 'prod_ip': invalid IP address '01.2.3.4'"));
	T_ASSERT(fails_with("vpn_headscale_ip: \"1::2::3\"\n",
	    "vpai.yml:1: key 'vpn_headscale_ip': invalid IP address "
	    "'1::2::3'"));
}

T_TEST(bad_cidr)
{
	T_ASSERT(fails_with("vpn_network_cidr: 100.64.0.1/10\n",
	    "vpai.yml:1: key 'vpn_network_cidr': invalid network "
	    "'100.64.0.1/10': host bits are set (did you mean "
	    "'100.64.0.0/10'?)"));
	T_ASSERT(fails_with("vpn_network_cidr: 100.64.0.0/33\n",
	    "vpai.yml:1: key 'vpn_network_cidr': invalid network "
	    "'100.64.0.0/33': prefix length must be 0-32"));
	T_ASSERT(fails_with("vpn_network_cidr: 100.64.0.0\n",
	    "vpai.yml:1: key 'vpn_network_cidr': invalid network "
	    "'100.64.0.0': expected ADDRESS/PREFIX, e.g. 100.64.0.0/10"));
	T_ASSERT(fails_with("vpn_network_cidr: 100.64.0/10\n",
	    "vpai.yml:1: key 'vpn_network_cidr': invalid network "
	    "'100.64.0/10': bad address"));
	T_ASSERT(fails_with("vpn_network_cidr: \"fd00::1/8\"\n",
	    "vpai.yml:1: key 'vpn_network_cidr': invalid network "
	    "'fd00::1/8': host bits are set (did you mean 'fd00::/8'?)"));
}

T_TEST(bad_port)
{
	T_ASSERT(fails_with("prod_ssh_port: 0\n",
	    "vpai.yml:1: key 'prod_ssh_port': invalid port '0': must be "
	    "1-65535"));
	T_ASSERT(fails_with("prod_ssh_port: 65536\n",
	    "vpai.yml:1: key 'prod_ssh_port': invalid port '65536': must be "
	    "1-65535"));
	T_ASSERT(fails_with("prod_ssh_port: ssh\n",
	    "vpai.yml:1: key 'prod_ssh_port': expected a port number, got "
	    "'ssh'"));
}

T_TEST(bad_timezone)
{
	T_ASSERT(fails_with("timezone: paris\n",
	    "vpai.yml:1: key 'timezone': invalid time zone 'paris': expected "
	    "Area/City, e.g. Europe/Paris"));
	T_ASSERT(fails_with("timezone: Europe/../../etc/passwd\n",
	    "vpai.yml:1: key 'timezone': invalid time zone "
	    "'Europe/../../etc/passwd': expected Area/City, e.g. "
	    "Europe/Paris"));
}

T_TEST(timezone_with_and_without_tzdata)
{
	struct site	*s = NULL;
	char		*cause = NULL, dir[512], path[600], want[1024];
	const char	*saved = site_zoneinfo_dir;
	int		 fd;

	snprintf(dir, sizeof(dir), "%s/zoneinfo", tmpdir);
	snprintf(path, sizeof(path), "%s/Europe", dir);
	T_ASSERT(vp_mkdir_p(path, 0755, NULL) == 0);
	snprintf(path, sizeof(path), "%s/Europe/Paris", dir);
	T_ASSERT((fd = open(path, O_CREAT | O_WRONLY, 0644)) >= 0);
	close(fd);
	site_zoneinfo_dir = dir;
	T_INTEQ(load("timezone: Europe/Paris\n", NULL, &s, &cause), VP_OK);
	site_free(s);
	snprintf(want, sizeof(want), "vpai.yml:1: key 'timezone': invalid "
	    "time zone 'Europe/Pariss': not in %s (did you mean "
	    "'Europe/Paris'?)", dir);
	T_ASSERT(fails_with("timezone: Europe/Pariss\n", want));
	snprintf(want, sizeof(want), "vpai.yml:1: key 'timezone': invalid "
	    "time zone 'Mars/Olympus': not in %s", dir);
	T_ASSERT(fails_with("timezone: Mars/Olympus\n", want));
	/* No tzdata: only the shape is checked. */
	site_zoneinfo_dir = "/nonexistent/zoneinfo";
	T_INTEQ(load("timezone: Mars/Olympus\n", NULL, &s, &cause), VP_OK);
	site_free(s);
	T_INTEQ(load("timezone: UTC\n", NULL, &s, &cause), VP_OK);
	site_free(s);
	T_ASSERT(fails_with("timezone: Paris\n",
	    "vpai.yml:1: key 'timezone': invalid time zone 'Paris': expected "
	    "Area/City, e.g. Europe/Paris"));
	site_zoneinfo_dir = saved;
}

T_TEST(bad_email)
{
	T_ASSERT(fails_with("notification_email: bob\n",
	    "vpai.yml:1: key 'notification_email': invalid e-mail address "
	    "'bob': missing '@'"));
	T_ASSERT(fails_with("notification_email: bob@\n",
	    "vpai.yml:1: key 'notification_email': invalid e-mail address "
	    "'bob@': missing domain after '@'"));
	T_ASSERT(fails_with("notification_email: bo..b@x.org\n",
	    "vpai.yml:1: key 'notification_email': invalid e-mail address "
	    "'bo..b@x.org': bad character in the local part"));
	T_ASSERT(fails_with("notification_email: bob@x_y.org\n",
	    "vpai.yml:1: key 'notification_email': invalid e-mail address "
	    "'bob@x_y.org': bad domain: invalid domain 'x_y.org': label "
	    "'x_y' has a character other than letters, digits and '-'"));
}

T_TEST(bad_url)
{
	T_ASSERT(fails_with("s3_endpoint: ftp://x.org\n",
	    "vpai.yml:1: key 's3_endpoint': invalid URL 'ftp://x.org': must "
	    "start with http:// or https://"));
	T_ASSERT(fails_with("s3_endpoint: https://\n",
	    "vpai.yml:1: key 's3_endpoint': invalid URL 'https://': missing "
	    "host"));
	T_ASSERT(fails_with("s3_endpoint: https://x.org:0/\n",
	    "vpai.yml:1: key 's3_endpoint': invalid URL 'https://x.org:0/': "
	    "port must be 1-65535"));
	T_ASSERT(fails_with("s3_endpoint: \"https://x.org/a b\"\n",
	    "vpai.yml:1: key 's3_endpoint': invalid URL 'https://x.org/a b': "
	    "spaces and control characters are not allowed"));
	T_ASSERT(fails_with("backup_heartbeat_url: https://u:p@x.org/\n",
	    "vpai.yml:1: key 'backup_heartbeat_url': invalid URL "
	    "'https://u:p@x.org/': user information is not allowed"));
}

T_TEST(good_urls)
{
	struct site	*s = NULL;
	char		*cause = NULL;

	T_INTEQ(load("s3_endpoint: http://[::1]:9000/minio\n"
	    "backup_heartbeat_url: https://hc-ping.com/abc-123#x\n"
	    "vpn_headscale_url: http://10.0.0.1:8080\n", NULL, &s, &cause),
	    VP_OK);
	site_free(s);
}

T_TEST(bad_enum)
{
	T_ASSERT(fails_with("caddy_tls: acmee\n",
	    "vpai.yml:1: key 'caddy_tls': invalid value 'acmee': expected one "
	    "of acme, internal (did you mean 'acme'?)"));
	T_ASSERT(fails_with("target: docker\n",
	    "vpai.yml:1: key 'target': invalid value 'docker': expected one "
	    "of local, ssh"));
}

T_TEST(wrong_type)
{
	T_ASSERT(fails_with("host_ram_mb: lots\n",
	    "vpai.yml:1: key 'host_ram_mb': expected an integer, got 'lots'"));
	T_ASSERT(fails_with("host_ram_mb: \"8192\"\n",
	    "vpai.yml:1: key 'host_ram_mb': expected an integer, got a quoted "
	    "string (remove the quotes)"));
	T_ASSERT(fails_with("host_ram_mb: 512\n",
	    "vpai.yml:1: key 'host_ram_mb': 512 is below the minimum 1024"));
	T_ASSERT(fails_with("host_ram_mb: 0x10\n",
	    "vpai.yml:1: key 'host_ram_mb': expected an integer, got '0x10'"));
	T_ASSERT(fails_with("vpn_verified: \"true\"\n",
	    "vpai.yml:1: key 'vpn_verified': expected true or false, got a "
	    "quoted string (remove the quotes)"));
	T_ASSERT(fails_with("vpn_verified: maybe\n",
	    "vpai.yml:1: key 'vpn_verified': expected true or false, got "
	    "'maybe'"));
	T_ASSERT(fails_with("domain_name:\n  a: b\n",
	    "vpai.yml:2: key 'domain_name': expected a domain name, got a "
	    "mapping"));
	T_ASSERT(fails_with("project_name: [a, b]\n",
	    "vpai.yml:1: key 'project_name': expected a string, got a list"));
	T_ASSERT(fails_with("project_name: My Project\n",
	    "vpai.yml:1: key 'project_name': invalid value 'My Project': must "
	    "match ^[a-z][a-z0-9-]{0,30}[a-z0-9]$"));
}

T_TEST(duplicate_key)
{
	T_ASSERT(fails_with("domain_name: a.org\nproject_name: x1\n"
	    "domain_name: b.org\n",
	    "vpai.yml:3: key 'domain_name': duplicate key (first set on "
	    "line 1)"));
	T_ASSERT(fails_with("environments:\n  prod: {}\n  prod:\n"
	    "    host_ram_mb: 2048\n",
	    "vpai.yml:3: key 'environments.prod': duplicate key (first set "
	    "on line 2)"));
}

T_TEST(yaml_syntax_error)
{
	T_ASSERT(fails_with("project_name: vpai\ndomain_name x\ntarget: ssh\n",
	    "vpai.yml:3:1: invalid YAML: could not find expected ':' (while "
	    "scanning a simple key at line 2)"));
	T_ASSERT(fails_with("project_name: vpai\n  domain_name: x\n",
	    "vpai.yml:2:14: invalid YAML: mapping values are not allowed in "
	    "this context"));
	T_ASSERT(fails_with("domain_name: \"abc\n",
	    "vpai.yml:2:1: invalid YAML: found unexpected end of stream "
	    "(while scanning a quoted scalar at line 1)"));
}

T_TEST(structure_errors)
{
	T_ASSERT(fails_with("- a\n- b\n",
	    "vpai.yml:1: the top level must be a mapping of site keys, not "
	    "a list"));
	T_ASSERT(fails_with("just text\n",
	    "vpai.yml:1: the top level must be a mapping of site keys, not "
	    "a string"));
	T_ASSERT(fails_with("",
	    "vpai.yml: the file is empty (expected a mapping of site keys)"));
	T_ASSERT(fails_with("# only a comment\n",
	    "vpai.yml: the file is empty (expected a mapping of site keys)"));
	T_ASSERT(fails_with("project_name: a1\n---\nproject_name: b1\n",
	    "vpai.yml:2: only one YAML document is allowed"));
	T_ASSERT(fails_with("project_name: &p vpai\nproject_display_name: *p\n",
	    "vpai.yml:2: key 'project_display_name': aliases are not "
	    "supported"));
	T_ASSERT(fails_with("? [a]\n: b\n",
	    "vpai.yml:1: keys must be non-empty strings, got a list"));
}

T_TEST(size_cap)
{
	struct site	*s = NULL;
	char		*cause = NULL, *big;
	size_t		 n = SITE_MAX_INPUT + 1;

	T_ASSERT((big = malloc(n)) != NULL);
	memset(big, '#', n);
	T_INTEQ(site_load_mem("vpai.yml", big, n, schema, NULL, &s, &cause),
	    VP_ERR_TOOBIG);
	T_STREQ(cause, "vpai.yml: file larger than 1 MiB");
	T_ASSERT(s == NULL);
	free(cause);
	free(big);
}

T_TEST(all_errors_reported)
{
	T_ASSERT(fails_with("domain_nme: x.org\n"
	    "prod_ip: 300.1.1.1\n"
	    "prod_ssh_port: 0\n"
	    "caddy_tls: none\n",
	    "vpai.yml:1: key 'domain_nme': unknown key (did you mean "
	    "'domain_name'?)\n"
	    "vpai.yml:2: key 'prod_ip': invalid IP address '300.1.1.1'\n"
	    "vpai.yml:3: key 'prod_ssh_port': invalid port '0': must be "
	    "1-65535\n"
	    "vpai.yml:4: key 'caddy_tls': invalid value 'none': expected one "
	    "of acme, internal"));
}

T_TEST(errors_capped_at_20)
{
	struct vp_buf	 b = VP_BUF_INIT(1u << 20);
	struct site	*s = NULL;
	char		*cause = NULL;
	const char	*p;
	int		 i, lines = 1;

	for (i = 0; i < 25; i++)
		vp_buf_addf(&b, "unknown_%d: 1\n", i);
	T_INTEQ(load(b.buf, NULL, &s, &cause), VP_ERR_INVALID);
	for (p = cause; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	T_INTEQ(lines, 21);
	T_ASSERT(strstr(cause, "vpai.yml:20: key 'unknown_19': unknown key\n"
	    "(5 more errors not shown)") != NULL);
	T_ASSERT(strstr(cause, "unknown_20") == NULL);
	free(cause);
	vp_buf_release(&b);
}

T_TEST(env_overlay_only_for_its_env)
{
	static const char text[] =
	    "domain_name: ai.example.org\n"
	    "caddy_tls: acme\n"
	    "environments:\n"
	    "  preprod:\n"
	    "    domain_name: preprod.example.org\n"
	    "    monitoring_enabled: false\n"
	    "  prod:\n"
	    "    host_ram_mb: 16384\n";
	struct site	*s = NULL;
	char		*cause = NULL;

	T_INTEQ(load(text, NULL, &s, &cause), VP_OK);
	T_STREQ(site_env(s), "prod");
	T_STREQ(str(s, "domain_name"), "ai.example.org");
	T_INTEQ(num(s, "host_ram_mb"), 16384);
	T_INTEQ(site_key_line(s, "host_ram_mb"), 8);
	T_ASSERT(json_is_true(json_object_get(site_vars(s),
	    "monitoring_enabled")));
	site_free(s);

	T_INTEQ(load(text, "preprod", &s, &cause), VP_OK);
	T_STREQ(site_env(s), "preprod");
	T_STREQ(str(s, "target_env"), "preprod");
	T_STREQ(str(s, "domain_name"), "preprod.example.org");
	T_STREQ(str(s, "notification_email"), "admin@preprod.example.org");
	T_INTEQ(site_key_line(s, "domain_name"), 5);
	/* The schema's preprod default, as the spec's 4 GB preprod. */
	T_INTEQ(num(s, "host_ram_mb"), 4096);
	T_ASSERT(json_is_false(json_object_get(site_vars(s),
	    "monitoring_enabled")));
	site_free(s);

	/* target_env in the file picks the env when none is given. */
	T_INTEQ(load("target_env: preprod\nenvironments:\n  preprod:\n"
	    "    host_ram_mb: 2048\n", NULL, &s, &cause), VP_OK);
	T_STREQ(site_env(s), "preprod");
	T_INTEQ(num(s, "host_ram_mb"), 2048);
	site_free(s);

	/* Errors in the other env's overlay are still reported. */
	T_ASSERT(fails_with("environments:\n  preprod:\n"
	    "    domain_nme: x.org\n",
	    "vpai.yml:3: key 'environments.preprod.domain_nme': unknown key "
	    "(did you mean 'domain_name'?)"));
	T_ASSERT(fails_with("environments:\n  preprod:\n"
	    "    project_name: other\n",
	    "vpai.yml:3: key 'environments.preprod.project_name': cannot be "
	    "set per environment"));
	T_ASSERT(fails_with("environments:\n  preprod: 3\n",
	    "vpai.yml:2: key 'environments.preprod': expected a mapping of "
	    "keys, got a scalar"));
}

T_TEST(unknown_env)
{
	struct site	*s = NULL;
	char		*cause = NULL;

	T_ASSERT(fails_with("environments:\n  prd:\n    host_ram_mb: 2048\n",
	    "vpai.yml:2: key 'environments.prd': unknown environment (did "
	    "you mean 'prod'?)"));
	T_ASSERT(fails_with("environments:\n  staging: {}\n",
	    "vpai.yml:2: key 'environments.staging': unknown environment"));
	T_INTEQ(load("project_name: vpai\n", "prd", &s, &cause),
	    VP_ERR_USAGE);
	T_STREQ(cause, "unknown environment 'prd' (did you mean 'prod'?)");
	T_ASSERT(s == NULL);
	free(cause);
	T_ASSERT(fails_with("target_env: qa\n",
	    "vpai.yml:1: key 'target_env': invalid value 'qa': expected one "
	    "of prod, preprod"));
}

T_TEST(required_keys)
{
	struct site	*s = NULL;
	char		*cause = NULL;

	T_ASSERT(fails_with("target: ssh\n",
	    "vpai.yml: key 'prod_ip': required key is missing (required when "
	    "target is 'ssh' and target_env is 'prod')"));
	T_ASSERT(fails_with("target: ssh\nprod_ip: \"\"\n",
	    "vpai.yml:2: key 'prod_ip': must not be empty when target is "
	    "'ssh' and target_env is 'prod'"));
	T_ASSERT(fails_with("domain_name: \"\"\n",
	    "vpai.yml:1: key 'domain_name': must not be empty"));
	/* prod_ip is not needed to deploy preprod. */
	T_INTEQ(load("target: ssh\npreprod_ip: 192.0.2.7\n", "preprod", &s,
	    &cause), VP_OK);
	site_free(s);
	/* A null value means "use the default". */
	T_INTEQ(load("domain_name:\nprod_ip: ~\n", NULL, &s, &cause), VP_OK);
	T_STREQ(str(s, "domain_name"), "vpai.localhost");
	site_free(s);
}

T_TEST(acme_needs_public_domain)
{
	struct site	*s = NULL;
	char		*cause = NULL;

	T_ASSERT(fails_with("caddy_tls: acme\n",
	    "vpai.yml:1: key 'caddy_tls': 'acme' cannot get a public "
	    "certificate for 'vpai.localhost' (use 'internal', or a public "
	    "domain_name)"));
	T_ASSERT(fails_with("domain_name: box.lan\ncaddy_tls: acme\n",
	    "vpai.yml:2: key 'caddy_tls': 'acme' cannot get a public "
	    "certificate for 'box.lan' (use 'internal', or a public "
	    "domain_name)"));
	T_INTEQ(load("domain_name: planet.example.com\ncaddy_tls: acme\n",
	    NULL, &s, &cause), VP_OK);
	site_free(s);
}

T_TEST(derived_default_invalid)
{
	T_ASSERT(fails_with("project_name: ab\nnotification_email: \"\"\n",
	    "vpai.yml:2: key 'notification_email': must not be empty"));
}

T_TEST(fixtures)
{
	struct site	*s = NULL;
	char		*cause = NULL, path[4200];

	snprintf(path, sizeof(path), "%s/good-vps.yml", fixtures);
	T_INTEQ(site_load(path, schema, NULL, &s, &cause), VP_OK);
	T_STREQ(str(s, "domain_name"), "ai.mondomaine.com");
	T_STREQ(str(s, "target"), "ssh");
	site_free(s);
	T_INTEQ(site_load(path, schema, "preprod", &s, &cause), VP_OK);
	T_STREQ(str(s, "domain_name"), "preprod.ai.mondomaine.com");
	T_INTEQ(num(s, "host_ram_mb"), 4096);
	site_free(s);
	snprintf(path, sizeof(path), "%s/good-local.yml", fixtures);
	T_INTEQ(site_load(path, schema, NULL, &s, &cause), VP_OK);
	site_free(s);
	snprintf(path, sizeof(path), "%s/bad-many.yml", fixtures);
	T_INTEQ(site_load(path, schema, NULL, &s, &cause), VP_ERR_INVALID);
	T_ASSERT(strstr(cause, "bad-many.yml:3: key 'domain_nme': unknown "
	    "key (did you mean 'domain_name'?)") != NULL);
	free(cause);
	cause = NULL;
	snprintf(path, sizeof(path), "%s/missing.yml", fixtures);
	T_INTEQ(site_load(path, schema, NULL, &s, &cause), VP_ERR_NOTFOUND);
	free(cause);
}

/* ---- init ----------------------------------------------------------- */

static int
read_file(const char *path, struct vp_buf *b)
{
	vp_buf_reset(b);
	return vp_file_read(path, b, NULL);
}

T_TEST(init_round_trip)
{
	struct site	*s = NULL, *d = NULL;
	char		*cause = NULL, path[512];
	struct vp_buf	 b = VP_BUF_INIT(1u << 20);
	struct stat	 st;
	const char	*k;
	json_t		*v;

	snprintf(path, sizeof(path), "%s/init1.yml", tmpdir);
	T_INTEQ(site_init_write(path, schema, NULL, 0, 0, &cause), VP_OK);
	T_ASSERT(stat(path, &st) == 0);
	T_INTEQ(st.st_mode & 0777, 0644);
	T_INTEQ(site_load(path, schema, NULL, &s, &cause), VP_OK);
	T_INTEQ(load("project_name: vpai\n", NULL, &d, &cause), VP_OK);
	/* Every key written equals the default. */
	json_object_foreach((json_t *)site_vars(d), k, v) {
		if (!json_equal(v, json_object_get(site_vars(s), k)))
			printf("  key %s differs\n", k);
		T_ASSERT(json_equal(v, json_object_get(site_vars(s), k)));
		if (strcmp(k, "target_env") != 0)
			T_ASSERT(site_key_line(s, k) > 0);
	}
	T_INTEQ(json_object_size(site_vars(s)),
	    json_object_size(site_vars(d)));
	site_free(s);
	site_free(d);
	/* Commented, grouped, with the env defaults as overlays. */
	T_INTEQ(read_file(path, &b), VP_OK);
	T_ASSERT(strstr(b.buf, "# === Project ===\n") != NULL);
	T_ASSERT(strstr(b.buf, "project_name: \"vpai\"\n") != NULL);
	T_ASSERT(strstr(b.buf, "prod_ssh_port: 804\n") != NULL);
	T_ASSERT(strstr(b.buf, "vpn_verified: false\n") != NULL);
	T_ASSERT(strstr(b.buf, "# Set to true only after SSH over the VPN") !=
	    NULL);
	T_ASSERT(strstr(b.buf, "  preprod:\n    host_ram_mb: 4096\n") !=
	    NULL);
	T_INTEQ(site_load(path, schema, "preprod", &s, &cause), VP_OK);
	T_INTEQ(num(s, "host_ram_mb"), 4096);
	site_free(s);
	vp_buf_release(&b);
}

T_TEST(init_sets)
{
	char *sets[] = {
		"target=ssh", "domain_name=ai.example.net", "prod_ip=203.0.113.42",
		"caddy_tls=acme", "vpn_verified=true", "host_ram_mb=16384",
		"project_name=acme", "project_display_name=Acme \"AI\" \\ Lab",
		"vpn_headscale_url=",
	};
	struct site	*s = NULL;
	struct vp_buf	 b = VP_BUF_INIT(1u << 20);
	char		*cause = NULL, path[512], want[1024];

	snprintf(path, sizeof(path), "%s/init2.yml", tmpdir);
	T_INTEQ(site_init_write(path, schema, sets, 9, 0, &cause), VP_OK);
	T_INTEQ(site_load(path, schema, NULL, &s, &cause), VP_OK);
	T_STREQ(str(s, "target"), "ssh");
	T_STREQ(str(s, "prod_ip"), "203.0.113.42");
	T_STREQ(str(s, "stack_root"), "/opt/acme");
	T_STREQ(str(s, "notification_email"), "admin@ai.example.net");
	T_STREQ(str(s, "project_display_name"), "Acme \"AI\" \\ Lab");
	T_INTEQ(num(s, "host_ram_mb"), 16384);
	T_ASSERT(json_is_true(json_object_get(site_vars(s),
	    "vpn_verified")));
	site_free(s);
	/* An explicit --set is not overridden by the preprod default. */
	T_INTEQ(read_file(path, &b), VP_OK);
	T_ASSERT(strstr(b.buf, "host_ram_mb: 4096") == NULL);
	T_ASSERT(strstr(b.buf, "  preprod: {}\n") != NULL);
	/* preprod over ssh needs its own address. */
	T_INTEQ(site_load(path, schema, "preprod", &s, &cause),
	    VP_ERR_INVALID);
	snprintf(want, sizeof(want), "%s:66: key 'preprod_ip': must not be "
	    "empty when target is 'ssh' and target_env is 'preprod'", path);
	T_STREQ(cause, want);
	free(cause);
	vp_buf_release(&b);
}

T_TEST(init_refuses_overwrite)
{
	struct vp_buf	 b = VP_BUF_INIT(1u << 20);
	char		*cause = NULL, path[512], want[600];
	char		*sets[] = { "project_name=second" };
	int		 fd;

	snprintf(path, sizeof(path), "%s/init3.yml", tmpdir);
	T_ASSERT((fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600)) >= 0);
	T_ASSERT(write(fd, "keep: me\n", 9) == 9);
	close(fd);
	T_INTEQ(site_init_write(path, schema, sets, 1, 0, &cause),
	    VP_ERR_EXISTS);
	snprintf(want, sizeof(want), "'%s' already exists", path);
	T_STREQ(cause, want);
	free(cause);
	cause = NULL;
	T_INTEQ(read_file(path, &b), VP_OK);
	T_STREQ(b.buf, "keep: me\n");
	T_INTEQ(site_init_write(path, schema, sets, 1, 1, &cause), VP_OK);
	T_INTEQ(read_file(path, &b), VP_OK);
	T_ASSERT(strstr(b.buf, "project_name: \"second\"\n") != NULL);
	vp_buf_release(&b);
}

static int
init_fails_with(char **sets, size_t n, const char *want)
{
	char	*cause = NULL, path[512];
	int	 r, ok;

	snprintf(path, sizeof(path), "%s/never.yml", tmpdir);
	r = site_init_write(path, schema, sets, n, 0, &cause);
	ok = r == VP_ERR_INVALID && cause != NULL && strcmp(cause, want) == 0
	    && !vp_file_exists(path);
	if (!ok)
		printf("  want: %s\n  got (%d): %s\n", want, r,
		    cause ? cause : "(null)");
	free(cause);
	return ok;
}

T_TEST(init_bad_set_names_key)
{
	char *a[] = { "domain_name=exa_mple.com" };
	char *b[] = { "prod_ssh_port=99999", "domain_nme=x.org" };
	char *c[] = { "novalue" };
	char *d[] = { "target=ssh" };
	char *e[] = { "vpn_verified=maybe" };

	T_ASSERT(init_fails_with(a, 1, "--set: key 'domain_name': invalid "
	    "domain 'exa_mple.com': label 'exa_mple' has a character other "
	    "than letters, digits and '-'"));
	T_ASSERT(init_fails_with(b, 2, "--set: key 'prod_ssh_port': invalid "
	    "port '99999': must be 1-65535\n"
	    "--set: key 'domain_nme': unknown key (did you mean "
	    "'domain_name'?)"));
	T_ASSERT(init_fails_with(c, 1, "--set: 'novalue': expected "
	    "KEY=VALUE"));
	T_ASSERT(init_fails_with(d, 1, "--set: key 'prod_ip': required key "
	    "is missing (required when target is 'ssh' and target_env is "
	    "'prod')"));
	T_ASSERT(init_fails_with(e, 1, "--set: key 'vpn_verified': expected "
	    "true or false, got 'maybe'"));
}

/* ---- values and schema ---------------------------------------------- */

T_TEST(value_table)
{
	static const struct {
		enum site_type	 t;
		const char	*v;
		int		 ok;
	} cases[] = {
		{ ST_DOMAIN, "example.com", 1 },
		{ ST_DOMAIN, "xn--bcher-kva.example", 1 },
		{ ST_DOMAIN, "a.b-c.d", 1 },
		{ ST_DOMAIN, "a.b.", 0 },
		{ ST_DOMAIN, ".a.b", 0 },
		{ ST_DOMAIN, "a b.c", 0 },
		{ ST_HOSTNAME, "vps-prod-01", 1 },
		{ ST_HOSTNAME, "vps_prod", 0 },
		{ ST_LABEL, "admin", 1 },
		{ ST_LABEL, "a.b", 0 },
		{ ST_IP, "::", 1 },
		{ ST_IP, "fe80::1%eth0", 0 },
		{ ST_IPV4, "::1", 0 },
		{ ST_IPV4, "192.0.2.1", 1 },
		{ ST_CIDR, "0.0.0.0/0", 1 },
		{ ST_CIDR, "10.0.0.0/8", 1 },
		{ ST_CIDR, "10.0.0.0/08", 0 },
		{ ST_CIDR, "10.0.0.0/", 0 },
		{ ST_CIDR, "::/0", 1 },
		{ ST_CIDR, "::/129", 0 },
		{ ST_PORT, "1", 1 },
		{ ST_PORT, "65535", 1 },
		{ ST_PORT, "-1", 0 },
		{ ST_PORT, "99999999999999999999999", 0 },
		{ ST_EMAIL, "a.b+c@x.org", 1 },
		{ ST_EMAIL, ".a@x.org", 0 },
		{ ST_EMAIL, "a@b@x.org", 0 },
		{ ST_URL, "https://x.org", 1 },
		{ ST_URL, "HTTPS://X.ORG/", 1 },
		{ ST_URL, "https://x.org:/", 0 },
		{ ST_URL, "https://x.org:80x", 0 },
		{ ST_URL, "https://[::1", 0 },
		{ ST_URL, "https://-x.org", 0 },
		{ ST_BOOL, "off", 1 },
		{ ST_BOOL, "1", 0 },
		{ ST_INT, "007", 0 },
		{ ST_INT, "-5", 1 },
		{ ST_STRING, "caf\xc3\xa9", 1 },
		{ ST_STRING, "caf\xe9", 0 },
	};
	struct schema_key	 k;
	json_t			*v;
	char			*why;
	size_t			 i;

	memset(&k, 0, sizeof(k));
	k.min = -100;
	k.max = 100;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = site_value_parse(&k, cases[i].t, cases[i].v, 0, &why);
		if ((v != NULL) != cases[i].ok)
			printf("  case %zu: %s '%s': %s\n", i,
			    site_type_name(cases[i].t), cases[i].v,
			    why ? why : "accepted");
		T_ASSERT((v != NULL) == cases[i].ok);
		T_ASSERT((why == NULL) == cases[i].ok);
		json_decref(v);
		free(why);
	}
}

static int
schema_fails_with(const char *text, const char *want)
{
	struct site_schema	*s = NULL;
	char			*cause = NULL;
	int			 r, ok;

	r = site_schema_load_mem("s.yml", text, strlen(text), &s, &cause);
	ok = r != VP_OK && s == NULL && cause != NULL &&
	    strcmp(cause, want) == 0;
	if (!ok)
		printf("  want: %s\n  got (%d): %s\n", want, r,
		    cause ? cause : "(null)");
	free(cause);
	site_schema_free(s);
	return ok;
}

#define S_HEAD	"version: 1\ngroups:\n  g:\n    order: 1\n    title: G\n" \
	"keys:\n  target_env:\n    type: enum\n    values: [prod]\n" \
	"    default: prod\n    group: g\n    secret: false\n" \
	"    description: d\n    question: q\n"

T_TEST(schema_errors)
{
	T_ASSERT(schema_fails_with(S_HEAD "  x:\n    type: strng\n"
	    "    group: g\n    secret: false\n    description: d\n"
	    "    question: q\n",
	    "s.yml:15: key 'x': unknown type 'strng'"));
	T_ASSERT(schema_fails_with(S_HEAD "  x:\n    type: string\n"
	    "    group: h\n    secret: true\n    description: d\n"
	    "    question: q\n    defualt: a\n",
	    "s.yml:21: key 'x': unknown field 'defualt' (did you mean "
	    "'default'?)\n"
	    "s.yml:18: key 'x': needs 'secret: false' (secrets live in the "
	    "vault, not in the site file)\n"
	    "s.yml:15: key 'x': unknown group 'h'"));
	T_ASSERT(schema_fails_with(S_HEAD "  x:\n    type: port\n"
	    "    default: 0\n    group: g\n    secret: false\n"
	    "    description: d\n    question: q\n",
	    "s.yml:17: key 'x': default: invalid port '0': must be 1-65535"));
	T_ASSERT(schema_fails_with(S_HEAD "  x:\n    type: string\n"
	    "    default: \"{{ nope }}\"\n    group: g\n    secret: false\n"
	    "    description: d\n    question: q\n",
	    "s.yml:15: key 'x': default refers to unknown key 'nope'"));
	T_ASSERT(schema_fails_with("version: 2\n",
	    "s.yml: unsupported schema version (want 'version: 1')"));
}

T_TEST(shipped_schema_loads)
{
	struct site_schema	*s = NULL;
	char			*cause = NULL;
	size_t			 i;

	T_INTEQ(site_schema_load(schema, &s, &cause), VP_OK);
	T_INTEQ(s->nenvs, 2);
	T_STREQ(s->envs[0], "prod");
	T_STREQ(s->envs[1], "preprod");
	for (i = 0; i < s->nkeys; i++) {
		T_ASSERT(s->keys[i].description != NULL);
		T_ASSERT(s->keys[i].question != NULL);
		T_ASSERT(s->keys[i].group != NULL);
	}
	T_ASSERT(site_schema_find(s, "vpn_verified") >= 0);
	site_schema_free(s);
}

int
main(void)
{
	const char *src = getenv("VPAI_SOURCE_DIR");

	if (src == NULL)
		src = ".";
	snprintf(schema, sizeof(schema), "%s/stack/site-schema.yml", src);
	snprintf(fixtures, sizeof(fixtures), "%s/tests/fixtures/site", src);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/u-site.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	T_RUN(defaults_applied);
	T_RUN(typed_values);
	T_RUN(unknown_key_did_you_mean);
	T_RUN(bad_domain);
	T_RUN(bad_ip);
	T_RUN(bad_cidr);
	T_RUN(bad_port);
	T_RUN(bad_timezone);
	T_RUN(timezone_with_and_without_tzdata);
	T_RUN(bad_email);
	T_RUN(bad_url);
	T_RUN(good_urls);
	T_RUN(bad_enum);
	T_RUN(wrong_type);
	T_RUN(duplicate_key);
	T_RUN(yaml_syntax_error);
	T_RUN(structure_errors);
	T_RUN(size_cap);
	T_RUN(all_errors_reported);
	T_RUN(errors_capped_at_20);
	T_RUN(env_overlay_only_for_its_env);
	T_RUN(unknown_env);
	T_RUN(required_keys);
	T_RUN(acme_needs_public_domain);
	T_RUN(derived_default_invalid);
	T_RUN(fixtures);
	T_RUN(init_round_trip);
	T_RUN(init_sets);
	T_RUN(init_refuses_overwrite);
	T_RUN(init_bad_set_names_key);
	T_RUN(value_table);
	T_RUN(schema_errors);
	T_RUN(shipped_schema_loads);
	{
		struct vp_child c = VP_CHILD_INIT;

		vp_argv_pushl(&c.args, "rm", "-rf", tmpdir, NULL);
		vp_child_run(&c, NULL);
		vp_child_release(&c);
	}
	return T_DONE();
}
