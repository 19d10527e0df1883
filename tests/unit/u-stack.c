/*
 * u-stack.c: the stack engine on a small stack written by the test
 * (services web and db), plus the YAML loader and emitter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "core/file.h"
#include "stack/stack.h"
#include "stack/stack-int.h"
#include "t.h"

static char	 dir[64];

/* Assert that text contains needle; show the text when it does not. */
#define T_HAS(text, needle) do {					\
	if (strstr((text), (needle)) == NULL) {				\
		printf("  missing \"%s\" in:\n%s\n", (needle), (text));	\
		T_ASSERT(strstr((text), (needle)) != NULL);		\
	}								\
} while (0)

static void
put(const char *rel, const char *text)
{
	char	path[512], *slash;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	slash = strrchr(path, '/');
	*slash = '\0';
	vp_mkdir_p(path, 0755, NULL);
	*slash = '/';
	vp_file_write_atomic(path, text, strlen(text), 0644, (uid_t)-1,
	    (gid_t)-1, NULL);
}

static const char *web_yml =
    "name: web\n"
    "phase: B\n"
    "user: \"1000:1000\"\n"
    "networks: [front, back]\n"
    "ports: [\"80:80\"]\n"
    "volumes:\n"
    "  - {kind: config, source: configs/web, target: /etc/web}\n"
    "  - {kind: data, source: data/web, target: /var/lib/web}\n"
    "depends_on:\n"
    "  db: service_healthy\n"
    "limits:\n"
    "  prod: {memory: 512M, cpus: \"0.5\", reservation: 128M}\n"
    "  preprod: {memory: 256M, cpus: \"0.5\"}\n"
    "environment:\n"
    "  GREETING: \"{{ greeting }}\"\n"
    "  YES_WORD: \"yes\"\n"
    "healthcheck:\n"
    "  test: [CMD, /vpai/probe, http, \"http://127.0.0.1:80/\"]\n"
    "  interval: 10s\n"
    "  retries: 3\n";

static const char *db_yml =
    "name: db\n"
    "phase: A\n"
    "enabled: db_enabled\n"
    "user: \"999:999\"\n"
    "networks: [back]\n"
    "volumes:\n"
    "  - {kind: config, source: configs/db/db.conf, target: /etc/db.conf}\n"
    "limits:\n"
    "  prod: {memory: 1G}\n"
    "  preprod: {memory: 512M}\n"
    "healthcheck:\n"
    "  test: [CMD, /vpai/probe, tcp, \"127.0.0.1:5432\"]\n";

static const char *bundle_yml =
    "files:\n"
    "  - generator: compose\n"
    "    path: docker-compose.yml\n"
    "    mode: \"0644\"\n"
    "  - template: web.conf.j2\n"
    "    path: configs/web/web.conf\n"
    "    mode: \"0644\"\n"
    "  - template: db.conf.j2\n"
    "    path: configs/db/db.conf\n"
    "    mode: \"0600\"\n"
    "    owner: db\n"
    "  - template: extra.j2\n"
    "    path: configs/extra.txt\n"
    "    readers: [web]\n"
    "    when: extra_enabled\n";

static void
make_stack(void)
{
	snprintf(dir, sizeof(dir), "/tmp/u-stack.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	put("versions.yml", "upstream:\n  web: example/web:1.2.3\n"
	    "  db: example/db:15.4\nlocal:\n  web: vpai-local/web:1\n"
	    "  db: vpai-local/db:1\n");
	put("networks.yml", "networks:\n"
	    "  front: {name: \"{{ project_name }}_front\", "
	    "subnet: 10.9.1.0/24, internal: false}\n"
	    "  back: {name: \"{{ project_name }}_back\", "
	    "subnet: 10.9.2.0/24, internal: true}\n");
	put("services/web.yml", web_yml);
	put("services/db.yml", db_yml);
	put("bundle.yml", bundle_yml);
	put("templates/web.conf.j2", "listen 80\nname {{ web_name }}\n");
	put("templates/db.conf.j2", "password {{ db_password }}\n"
	    "size {{ db_size }}\n");
	put("templates/extra.j2", "extra {{ web_name }}\n");
}

static void
rm_rf(const char *path)
{
	char	*argv[] = { "rm", "-rf", (char *)path, NULL };
	pid_t	 pid;

	if ((pid = fork()) == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static json_t *
base_vars(void)
{
	json_t *site, *sec, *v;

	site = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:s}",
	    "project_name", "demo", "target_env", "prod", "stack_root",
	    "/srv/demo", "greeting", "hello", "web_name", "www",
	    "db_enabled", 1, "extra_enabled", 1, "db_size", "small");
	sec = json_pack("{s:s}", "db_password", "s3cr3t-Pa55word");
	v = stack_vars_new(site, sec, NULL);
	json_decref(site);
	json_decref(sec);
	return v;
}

static char *
render_err(json_t *vars)
{
	struct bundle	*b = NULL;
	char		*cause = NULL;

	if (stack_render(dir, vars, &b, &cause) == 0) {
		bundle_free(b);
		return strdup("(no error)");
	}
	return cause;
}

static const char *
label(const struct bundle *b, const char *svc)
{
	return json_string_value(json_object_get(json_object_get(
	    json_object_get(json_object_get(json_object_get(b->model,
	    "compose"), "services"), svc), "labels"), "vpai.config-hash"));
}

T_TEST(render_default)
{
	json_t			*v = base_vars();
	struct bundle		*b = NULL;
	const struct bundle_file *f;
	char			*cause = NULL;
	int			 r;

	r = stack_render(dir, v, &b, &cause);
	json_decref(v);
	if (r != 0)
		printf("  cause: %s\n", cause);
	free(cause);
	T_ASSERT(r == 0);
	T_INTEQ(b->n, 4);
	T_STREQ(b->files[0].path, "configs/db/db.conf");
	T_STREQ(b->files[3].path, "docker-compose.yml");
	f = bundle_find(b, "configs/db/db.conf");
	T_ASSERT(f != NULL && f->secret && f->mode == 0600 && f->uid == 999);
	f = bundle_find(b, "configs/web/web.conf");
	T_ASSERT(f != NULL && !f->secret && f->uid == (uid_t)-1);
	/* Mounting configs/web makes web a reader of configs/web/web.conf. */
	T_STREQ(json_string_value(json_array_get(f->readers, 0)), "web");
	f = bundle_find(b, "docker-compose.yml");
	T_ASSERT(f != NULL && !f->secret);
	T_HAS(f->data, "    ports:\n    - \"80:80\"\n");
	T_HAS(f->data, "YES_WORD: \"yes\"\n");
	T_HAS(f->data, "GREETING: hello\n");
	T_HAS(f->data, "    - /srv/demo/configs/web:/etc/web:ro\n");
	T_HAS(f->data, "/srv/demo/bin/vpai-probe:/vpai/probe:ro");
	T_HAS(f->data, "    cap_drop:\n    - ALL\n");
	T_HAS(f->data, "no-new-privileges:true");
	T_HAS(f->data, "condition: service_healthy");
	T_HAS(f->data, "        max-size: 10m\n");
	T_HAS(f->data, "image: example/web:1.2.3\n");
	T_HAS(f->data, "memory: 512M");
	/* Keys sorted: "networks" before "services" at the top. */
	T_ASSERT(strstr(f->data, "\nnetworks:") < strstr(f->data,
	    "\nservices:"));
	T_HAS(f->data, "internal: true");
	T_ASSERT(label(b, "web") != NULL && strlen(label(b, "web")) == 64);
	bundle_free(b);
}

T_TEST(render_deterministic)
{
	json_t		*v1 = base_vars(), *v2, *site, *sec;
	struct bundle	*a = NULL, *b = NULL;
	size_t		 i;

	/* Same values, keys inserted in another order. */
	site = json_pack("{s:s,s:b,s:s,s:b,s:s,s:s,s:s,s:s}",
	    "db_size", "small", "extra_enabled", 1, "web_name", "www",
	    "db_enabled", 1, "greeting", "hello", "stack_root", "/srv/demo",
	    "target_env", "prod", "project_name", "demo");
	sec = json_pack("{s:s}", "db_password", "s3cr3t-Pa55word");
	v2 = stack_vars_new(site, sec, NULL);
	T_ASSERT(stack_render(dir, v1, &a, NULL) == 0);
	T_ASSERT(stack_render(dir, v2, &b, NULL) == 0);
	T_INTEQ(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		T_STREQ(a->files[i].path, b->files[i].path);
		T_INTEQ(a->files[i].len, b->files[i].len);
		T_ASSERT(memcmp(a->files[i].data, b->files[i].data,
		    a->files[i].len) == 0);
	}
	bundle_free(a);
	bundle_free(b);
	json_decref(v1);
	json_decref(v2);
	json_decref(site);
	json_decref(sec);
}

T_TEST(config_hash_only_readers)
{
	json_t		*v = base_vars();
	struct bundle	*a = NULL, *b = NULL, *c = NULL;
	char		 wa[65], da[65];

	T_ASSERT(stack_render(dir, v, &a, NULL) == 0);
	snprintf(wa, sizeof(wa), "%s", label(a, "web"));
	snprintf(da, sizeof(da), "%s", label(a, "db"));
	/* db.conf changes: db's hash changes, web's does not. */
	json_object_set_new(v, "db_size", json_string("large"));
	T_ASSERT(stack_render(dir, v, &b, NULL) == 0);
	T_STREQ(label(b, "web"), wa);
	T_ASSERT(strcmp(label(b, "db"), da) != 0);
	/* extra.txt (explicit reader web) changes: only web's hash. */
	json_object_set_new(v, "db_size", json_string("small"));
	json_object_set_new(v, "web_name", json_string("www2"));
	T_ASSERT(stack_render(dir, v, &c, NULL) == 0);
	T_ASSERT(strcmp(label(c, "web"), wa) != 0);
	T_STREQ(label(c, "db"), da);
	bundle_free(a);
	bundle_free(b);
	bundle_free(c);
	json_decref(v);
}

T_TEST(when_false_drops_file)
{
	json_t		*v = base_vars();
	struct bundle	*b = NULL;

	json_object_set_new(v, "extra_enabled", json_false());
	T_ASSERT(stack_render(dir, v, &b, NULL) == 0);
	T_ASSERT(bundle_find(b, "configs/extra.txt") == NULL);
	T_INTEQ(b->n, 3);
	bundle_free(b);
	json_decref(v);
}

T_TEST(secret_mode_refused)
{
	json_t	*v = base_vars();
	char	*cause;

	put("bundle.yml", "files:\n"
	    "  - generator: compose\n"
	    "    path: docker-compose.yml\n"
	    "  - template: web.conf.j2\n"
	    "    path: configs/web/web.conf\n"
	    "  - template: db.conf.j2\n"
	    "    path: configs/db/db.conf\n"
	    "    mode: \"0644\"\n");
	cause = render_err(v);
	put("bundle.yml", bundle_yml);
	json_decref(v);
	T_STREQ(cause, "bundle file 'configs/db/db.conf' holds secrets but "
	    "its mode 0644 lets others in (use 0600, 0400 or 0640)");
	free(cause);
}

T_TEST(secret_in_compose_refused)
{
	json_t	*v = base_vars();
	char	*cause;

	/* A site value equal to a secret reaching the compose file. */
	json_object_set_new(v, "greeting", json_string("s3cr3t-Pa55word"));
	cause = render_err(v);
	json_decref(v);
	T_STREQ(cause, "bundle file 'docker-compose.yml' holds secrets but "
	    "its mode 0644 lets others in (use 0600, 0400 or 0640)");
	free(cause);
}

T_TEST(mounted_dir_traversable)
{
	json_t	*v = base_vars();
	char	*cause;

	/* A secret of db's inside the directory that web mounts. */
	put("bundle.yml", "files:\n"
	    "  - generator: compose\n"
	    "    path: docker-compose.yml\n"
	    "  - template: web.conf.j2\n"
	    "    path: configs/web/web.conf\n"
	    "  - template: db.conf.j2\n"
	    "    path: configs/db/db.conf\n"
	    "    mode: \"0600\"\n"
	    "  - template: db.conf.j2\n"
	    "    path: configs/web/db.conf\n"
	    "    mode: \"0600\"\n"
	    "    owner: db\n");
	cause = render_err(v);
	put("bundle.yml", bundle_yml);
	json_decref(v);
	T_STREQ(cause, "stack/services/web.yml:7: key 'volumes[0].source': "
	    "directory 'configs/web' holds secrets of another owner; the "
	    "container (uid 1000) could not enter it");
	free(cause);
}

T_TEST(dir_attr)
{
	json_t		*v = base_vars();
	struct bundle	*b = NULL;
	mode_t		 m;
	uid_t		 u;
	gid_t		 g;

	T_ASSERT(stack_render(dir, v, &b, NULL) == 0);
	bundle_dir_attr(b, "configs/db", &m, &u, &g);
	T_ASSERT(m == 0750 && u == 999 && g == 999);
	bundle_dir_attr(b, "configs/web", &m, &u, &g);
	T_ASSERT(m == 0755 && u == (uid_t)-1);
	bundle_dir_attr(b, "configs", &m, &u, &g);
	T_ASSERT(m == 0755);
	bundle_free(b);
	json_decref(v);
}

T_TEST(service_unknown_key)
{
	json_t	*v = base_vars();
	char	*cause, *bad;

	bad = malloc(strlen(web_yml) + 64);
	snprintf(bad, strlen(web_yml) + 64, "%shelthcheck: {}\n", web_yml);
	put("services/web.yml", bad);
	cause = render_err(v);
	put("services/web.yml", web_yml);
	free(bad);
	json_decref(v);
	T_STREQ(cause, "stack/services/web.yml:21: key 'helthcheck': unknown "
	    "key (did you mean 'healthcheck'?)");
	free(cause);
}

struct bad_case {
	const char	*from, *to, *want;
};

static const struct bad_case bad_cases[] = {
	{ "memory: 512M,", "memory: lots,",
	  "stack/services/web.yml:12: key 'limits.prod.memory': expected a "
	  "memory size like \"512M\"" },
	{ "phase: B", "phase: C",
	  "stack/services/web.yml:2: key 'phase': expected A (data and proxy) "
	  "or B (applications and observability)" },
	{ "networks: [front, back]", "networks: [front, bak]",
	  "stack/services/web.yml:4: key 'networks[1]': unknown network 'bak' "
	  "(did you mean 'back'?)" },
	{ "db: service_healthy", "db: service_happy",
	  "stack/services/web.yml:10: key 'depends_on.db': expected a "
	  "condition: service_started, service_healthy or "
	  "service_completed_successfully" },
	{ "db: service_healthy", "cache: service_healthy",
	  "stack/services/web.yml:10: key 'depends_on.cache': no service "
	  "'cache'" },
	{ "source: configs/web,", "source: configs/nope,",
	  "stack/services/web.yml:7: key 'volumes[0].source': 'configs/nope' "
	  "is not produced by the bundle (stack/bundle.yml)" },
	{ "user: \"1000:1000\"", "user: root",
	  "stack/services/web.yml:3: key 'user': expected \"UID:GID\" "
	  "(numbers)" },
	{ "interval: 10s", "interval: often",
	  "stack/services/web.yml:19: key 'healthcheck.interval': expected a "
	  "duration like \"30s\"" },
	{ "ports: [\"80:80\"]", "compose: {privileged: true}",
	  "stack/services/web.yml:5: key 'compose.privileged': set by the "
	  "engine; use the service key instead" },
	{ "name: web", "name: www",
	  "stack/services/web.yml:1: key 'name': 'www' does not match the "
	  "file name ('web')" },
};

T_TEST(service_schema_errors)
{
	json_t	*v = base_vars();
	char	*cause, *bad, *p;
	size_t	 i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];

		bad = calloc(1, strlen(web_yml) + 128);
		p = strstr(web_yml, bc->from);
		T_ASSERT(p != NULL);
		memcpy(bad, web_yml, (size_t)(p - web_yml));
		strcat(bad, bc->to);
		strcat(bad, p + strlen(bc->from));
		put("services/web.yml", bad);
		free(bad);
		cause = render_err(v);
		if (cause == NULL || strcmp(cause, bc->want) != 0) {
			printf("  case %zu: got '%s'\n", i, cause);
			free(cause);
			put("services/web.yml", web_yml);
			json_decref(v);
			T_ASSERT(0);
		}
		free(cause);
	}
	put("services/web.yml", web_yml);
	json_decref(v);
}

T_TEST(dependency_cycle)
{
	json_t	*v = base_vars();
	char	*cause, *bad;

	bad = malloc(strlen(db_yml) + 64);
	snprintf(bad, strlen(db_yml) + 64, "%sdepends_on: {web: "
	    "service_started}\nphase: B\n", db_yml);
	/* db.yml has phase A: drop that line so that the cycle is reached. */
	memmove(strstr(bad, "phase: A\n"), strstr(bad, "phase: A\n") + 9,
	    strlen(strstr(bad, "phase: A\n") + 9) + 1);
	put("services/db.yml", bad);
	cause = render_err(v);
	put("services/db.yml", db_yml);
	free(bad);
	json_decref(v);
	T_STREQ(cause, "stack/services/db.yml: key 'depends_on': dependency "
	    "cycle through 'db'");
	free(cause);
}

static char *
replace1(const char *text, const char *from, const char *to)
{
	const char	*p = strstr(text, from);
	char		*out;

	if (p == NULL || (out = calloc(1, strlen(text) + strlen(to) + 1)) ==
	    NULL)
		return NULL;
	memcpy(out, text, (size_t)(p - text));
	strcat(out, to);
	strcat(out, p + strlen(from));
	return out;
}

T_TEST(phase_a_waits_for_b)
{
	json_t	*v = base_vars();
	char	*cause, *w, *d;

	w = replace1(web_yml, "phase: B", "phase: A");
	d = replace1(db_yml, "phase: A", "phase: B");
	T_ASSERT(w != NULL && d != NULL);
	put("services/web.yml", w);
	put("services/db.yml", d);
	cause = render_err(v);
	put("services/web.yml", web_yml);
	put("services/db.yml", db_yml);
	free(w);
	free(d);
	json_decref(v);
	T_STREQ(cause, "stack/services/web.yml:10: key 'depends_on.db': a "
	    "phase A service cannot wait for 'db' (phase B)");
	free(cause);
}

T_TEST(disabled_dependency)
{
	json_t	*v = base_vars();
	char	*cause;

	json_object_set_new(v, "db_enabled", json_false());
	cause = render_err(v);
	json_decref(v);
	T_STREQ(cause, "stack/services/web.yml:10: key 'depends_on.db': "
	    "service 'db' is disabled for this site");
	free(cause);
}

T_TEST(unpinned_image)
{
	json_t	*v = base_vars();
	char	*cause;

	put("versions.yml", "upstream:\n  web: example/web:latest\n"
	    "  db: example/db:15.4\n");
	cause = render_err(v);
	put("versions.yml", "upstream:\n  web: example/web:1.2.3\n"
	    "  db: example/db:15.4\nlocal:\n  web: vpai-local/web:1\n"
	    "  db: vpai-local/db:1\n");
	json_decref(v);
	T_STREQ(cause, "stack/versions.yml:2: key 'upstream.web': image must "
	    "be pinned to a tag or digest (not latest, stable, main...)");
	free(cause);
}

T_TEST(local_image_set)
{
	json_t			*v = base_vars();
	struct bundle		*b = NULL;
	const struct bundle_file *f;

	json_object_set_new(v, "image_set", json_string("local"));
	T_ASSERT(stack_render(dir, v, &b, NULL) == 0);
	f = bundle_find(b, "docker-compose.yml");
	T_HAS(f->data, "image: vpai-local/web:1\n");
	bundle_free(b);
	json_decref(v);
}

T_TEST(preprod_limits)
{
	json_t			*v = base_vars();
	struct bundle		*b = NULL;
	const struct bundle_file *f;

	json_object_set_new(v, "target_env", json_string("preprod"));
	T_ASSERT(stack_render(dir, v, &b, NULL) == 0);
	f = bundle_find(b, "docker-compose.yml");
	T_HAS(f->data, "memory: 256M");
	T_HAS(f->data, "memory: 512M\n");	/* db */
	T_ASSERT(strstr(f->data, "memory: 1G") == NULL);
	bundle_free(b);
	json_decref(v);
}

T_TEST(bundle_write_changed_only)
{
	json_t		*v = base_vars();
	struct bundle	*b = NULL, *b2 = NULL;
	char		 out[600], path[700];
	struct stat	 st;
	int		 n = -1;

	T_ASSERT(stack_render(dir, v, &b, NULL) == 0);
	snprintf(out, sizeof(out), "%s/out", dir);
	T_ASSERT(bundle_write(b, out, &n, NULL) == 0);
	T_INTEQ(n, 4);
	snprintf(path, sizeof(path), "%s/configs/db/db.conf", out);
	T_ASSERT(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	if (geteuid() == 0)	/* owners are applied only as root */
		T_ASSERT(st.st_uid == 999 && st.st_gid == 999);
	snprintf(path, sizeof(path), "%s/configs/db", out);
	T_ASSERT(stat(path, &st) == 0 && (st.st_mode & 07777) == 0750);
	if (geteuid() == 0)
		T_ASSERT(st.st_uid == 999 && st.st_gid == 999);
	T_ASSERT(bundle_write(b, out, &n, NULL) == 0);
	T_INTEQ(n, 0);
	/* A mode change alone is a change. */
	snprintf(path, sizeof(path), "%s/configs/web/web.conf", out);
	chmod(path, 0600);
	T_ASSERT(bundle_write(b, out, &n, NULL) == 0);
	T_INTEQ(n, 1);
	json_object_set_new(v, "db_size", json_string("large"));
	T_ASSERT(stack_render(dir, v, &b2, NULL) == 0);
	T_ASSERT(bundle_write(b2, out, &n, NULL) == 0);
	T_INTEQ(n, 2);		/* db.conf and the compose file (hash) */
	bundle_free(b);
	bundle_free(b2);
	json_decref(v);
}

T_TEST(yaml_load_lines_and_types)
{
	const char	*y = "a: 1\nb:\n  - x\n  - \"2\"\nc: {d: true, e: ~}\n"
	    "f: 1.5\n";
	json_t		*doc = NULL, *lines = NULL;

	T_ASSERT(stack_yaml_load("t.yml", y, strlen(y), &doc, &lines,
	    NULL) == 0);
	T_ASSERT(json_integer_value(json_object_get(doc, "a")) == 1);
	T_STREQ(json_string_value(json_array_get(json_object_get(doc, "b"),
	    1)), "2");
	T_ASSERT(json_is_true(json_object_get(json_object_get(doc, "c"),
	    "d")));
	T_ASSERT(json_is_null(json_object_get(json_object_get(doc, "c"),
	    "e")));
	T_ASSERT(json_real_value(json_object_get(doc, "f")) == 1.5);
	T_INTEQ(stack_line(lines, "b[1]"), 4);
	T_INTEQ(stack_line(lines, "c.e"), 5);
	json_decref(doc);
	json_decref(lines);
}

T_TEST(yaml_load_errors)
{
	char	*cause = NULL;
	json_t	*doc = NULL;

	T_ASSERT(stack_yaml_load("t.yml", "a: 1\na: 2\n", 10, &doc, NULL,
	    &cause) == VP_ERR_PARSE);
	T_STREQ(cause, "t.yml:2: key 'a': duplicate key");
	T_ASSERT(stack_yaml_load("t.yml", "a: &x 1\nb: *x\n", 14, &doc, NULL,
	    &cause) == VP_ERR_PARSE);
	T_STREQ(cause, "t.yml:2:4: aliases are not supported");
	T_ASSERT(stack_yaml_load("t.yml", "a: [1\n", 6, &doc, NULL,
	    &cause) == VP_ERR_PARSE);
	T_ASSERT(strncmp(cause, "t.yml:2:1: ", 11) == 0);
	free(cause);
}

T_TEST(yaml_emit_quoting)
{
	json_t		*doc, *back = NULL;
	struct vp_buf	 out = VP_BUF_INIT(1 << 20);

	doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:b,s:n,s:[],s:{},"
	    "s:s,s:f}", "b_yes", "yes", "c_num", "1.5", "d_port", "80:80",
	    "e_empty", "", "f_path", "/a/b-c_d.e", "g_hash", "# not a comment",
	    "h_int", 3, "i_bool", 1, "j_null", "k_list", "l_map", "a_nl",
	    "two\nlines", "m_real", 0.75);
	json_object_set_new(doc, "n_unit", json_string("512M"));
	json_object_set_new(doc, "o_hex", json_string("0x1F"));
	json_object_set_new(doc, "p_exp", json_string("1e"));
	json_object_set_new(doc, "q_img", json_string("a/b:1.2"));
	json_object_set_new(doc, "r_key", json_string("a: b"));
	T_ASSERT(stack_yaml_emit(doc, &out, NULL) == 0);
	T_STREQ(out.buf, "a_nl: \"two\\nlines\"\nb_yes: \"yes\"\n"
	    "c_num: \"1.5\"\nd_port: \"80:80\"\ne_empty: \"\"\n"
	    "f_path: /a/b-c_d.e\ng_hash: \"# not a comment\"\nh_int: 3\n"
	    "i_bool: true\nj_null: null\nk_list: []\nl_map: {}\n"
	    "m_real: 0.75\nn_unit: 512M\no_hex: \"0x1F\"\np_exp: \"1e\"\n"
	    "q_img: a/b:1.2\nr_key: \"a: b\"\n");
	/* And it reads back as the same document. */
	T_ASSERT(stack_yaml_load("e.yml", out.buf, out.len, &back, NULL,
	    NULL) == 0);
	T_ASSERT(json_equal(doc, back));
	json_decref(doc);
	json_decref(back);
	vp_buf_release(&out);
}

T_TEST(parse_mem)
{
	T_ASSERT(stack_parse_mem("1536M") == 1536LL * 1024 * 1024);
	T_ASSERT(stack_parse_mem("1G") == 1024LL * 1024 * 1024);
	T_ASSERT(stack_parse_mem("64m") == 64LL * 1024 * 1024);
	T_ASSERT(stack_parse_mem("12") == 12);
	T_ASSERT(stack_parse_mem("M") == -1);
	T_ASSERT(stack_parse_mem("1.5G") == -1);
}

int
main(void)
{
	make_stack();
	T_RUN(render_default);
	T_RUN(render_deterministic);
	T_RUN(config_hash_only_readers);
	T_RUN(when_false_drops_file);
	T_RUN(secret_mode_refused);
	T_RUN(secret_in_compose_refused);
	T_RUN(mounted_dir_traversable);
	T_RUN(dir_attr);
	T_RUN(service_unknown_key);
	T_RUN(service_schema_errors);
	T_RUN(dependency_cycle);
	T_RUN(phase_a_waits_for_b);
	T_RUN(disabled_dependency);
	T_RUN(unpinned_image);
	T_RUN(local_image_set);
	T_RUN(preprod_limits);
	T_RUN(bundle_write_changed_only);
	T_RUN(yaml_load_lines_and_types);
	T_RUN(yaml_load_errors);
	T_RUN(yaml_emit_quoting);
	T_RUN(parse_mem);
	rm_rf(dir);
	return T_DONE();
}
