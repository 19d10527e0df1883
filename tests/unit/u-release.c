/*
 * u-release.c: release manifests (deploy/release.h) and secret selection
 * for rotation (deploy/rotate.h), without Docker.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/file.h"
#include "deploy/release.h"
#include "deploy/rotate.h"
#include "vault/vault.h"
#include "t.h"

static char	root[] = "/tmp/u-release-XXXXXX";

static void
put(const char *rel, const char *data, mode_t mode)
{
	char	*p = vp_path_join(root, rel), *d;

	d = strdup(p);
	*strrchr(d, '/') = '\0';
	vp_mkdir_p(d, 0700, NULL);
	vp_file_write_atomic(p, data, strlen(data), mode, (uid_t)-1,
	    (gid_t)-1, NULL);
	free(d);
	free(p);
}

/* A release by hand: one file "configs/a.conf" with content data. */
static void
fake_release(const char *id, const char *data)
{
	char	path[256], man[512], hex[65], *f;

	snprintf(path, sizeof(path), "releases/%s/bundle/configs/a.conf", id);
	put(path, data, 0640);
	f = vp_path_join(root, path);
	release_sha256_file(f, hex, NULL);
	free(f);
	snprintf(man, sizeof(man), "{\"id\": \"%s\", \"created\": \"x\", "
	    "\"images\": {}, \"files\": {\"configs/a.conf\": \"%s\"}}", id,
	    hex);
	snprintf(path, sizeof(path), "releases/%s/manifest.json", id);
	put(path, man, 0600);
}

T_TEST(list_get_current)
{
	json_t	*l = NULL, *m = NULL;
	char	*cause = NULL;

	T_INTEQ(release_list(root, &l, NULL), 0);
	T_INTEQ(json_array_size(l), 0);
	json_decref(l);
	T_INTEQ(release_get(root, NULL, &m, &cause), VP_ERR_NOTFOUND);
	free(cause);
	cause = NULL;
	cause = NULL;
	fake_release("20260101T000000Z", "one\n");
	fake_release("20260102T000000Z", "two\n");
	fake_release("20260103T000000Z", "three\n");
	T_INTEQ(release_list(root, &l, NULL), 0);
	T_INTEQ(json_array_size(l), 3);
	T_STREQ(json_string_value(json_object_get(json_array_get(l, 0),
	    "id")), "20260101T000000Z");
	json_decref(l);
	/* No CURRENT: the one before the newest. */
	T_INTEQ(release_get(root, NULL, &m, NULL), 0);
	T_STREQ(json_string_value(json_object_get(m, "id")),
	    "20260102T000000Z");
	json_decref(m);
	T_INTEQ(release_set_current(root, "20260102T000000Z", NULL), 0);
	T_INTEQ(release_get(root, NULL, &m, NULL), 0);
	T_STREQ(json_string_value(json_object_get(m, "id")),
	    "20260101T000000Z");
	json_decref(m);
	T_INTEQ(release_get(root, "nope", &m, &cause), VP_ERR_NOTFOUND);
	T_ASSERT(strstr(cause, "release 'nope' not found (known: "
	    "20260101T000000Z, 20260102T000000Z, 20260103T000000Z)") != NULL);
	free(cause);
	cause = NULL;
}

T_TEST(restore_checks_sha)
{
	json_t	*m = NULL;
	char	*cause = NULL, *p;
	struct vp_buf b = VP_BUF_INIT(1024);
	struct stat st;
	int	 n = -1;

	T_INTEQ(release_get(root, "20260103T000000Z", &m, NULL), 0);
	T_INTEQ(release_restore_bundle(root, m, &n, NULL), 0);
	T_INTEQ(n, 1);
	p = vp_path_join(root, "configs/a.conf");
	T_INTEQ(vp_file_read(p, &b, NULL), 0);
	T_STREQ(b.buf, "three\n");
	T_INTEQ(stat(p, &st), 0);
	T_INTEQ(st.st_mode & 07777, 0640);
	T_INTEQ(release_restore_bundle(root, m, &n, NULL), 0);
	T_INTEQ(n, 0);		/* same bytes: nothing written */
	put("releases/20260103T000000Z/bundle/configs/a.conf", "evil\n", 0640);
	T_INTEQ(release_restore_bundle(root, m, &n, &cause), VP_ERR_INVALID);
	T_ASSERT(strstr(cause, "'configs/a.conf' does not match") != NULL);
	vp_buf_reset(&b);
	T_INTEQ(vp_file_read(p, &b, NULL), 0);
	T_STREQ(b.buf, "three\n");	/* untouched */
	free(cause);
	cause = NULL;
	free(p);
	vp_buf_release(&b);
	json_decref(m);
}

static json_t *
catalogue(void)
{
	json_t	*cat = NULL;
	char	*d = vp_path_join(getenv("VPAI_SOURCE_DIR"), "stack");

	secrets_catalogue_load(d, &cat, NULL);
	free(d);
	return cat;
}

T_TEST(pending_backup)
{
	json_t		*rec, *got = NULL;
	char		*cause = NULL, *p;
	struct stat	 st;

	T_INTEQ(release_pending_backup(root, &got, &cause), 0);
	T_ASSERT(got == NULL);
	rec = json_pack("{s:s, s:s, s:[s], s:{s:{s:s, s:s}}}", "id",
	    "20261123T020000Z-pre-update", "dir", "/x/backups/"
	    "20261123T020000Z-pre-update", "artifacts", "redis", "services",
	    "redis", "from", "r:1", "to", "r:2");
	T_INTEQ(release_pending_backup_set(root, rec, &cause), 0);
	T_INTEQ(release_pending_backup(root, &got, &cause), 0);
	T_ASSERT(json_equal(got, rec));
	p = vp_path_join(root, "releases/pending-backup.json");
	T_INTEQ(stat(p, &st), 0);
	T_INTEQ((int)(st.st_mode & 07777), 0600);
	/* garbage is an error, not "none" */
	put("releases/pending-backup.json", "{nope", 0600);
	json_decref(got);
	got = NULL;
	T_ASSERT(release_pending_backup(root, &got, &cause) != 0);
	T_ASSERT(got == NULL);
	unlink(p);
	free(p);
	free(cause);
	json_decref(rec);
	/* grafana migrates its database too */
	T_ASSERT(release_stateful("grafana"));
	T_ASSERT(release_stateful("postgresql"));
	T_ASSERT(!release_stateful("caddy"));
}

T_TEST(rotate_select_rules)
{
	json_t			*cat = catalogue(), *sec, *n = NULL;
	struct rotate_sel	 s = ROTATE_SEL_INIT;
	char			*cause = NULL;
	char			*one[] = { "n8n_encryption_key" };
	char			*two[] = { "redis_pasword" };
	char			*three[] = { "grafana_admin_password" };
	char			*four[] = { "n8n_db_password", "redis_password",
	    "n8n_db_password" };
	char			*five[] = { "anthropic_api_key" };
	char			*six[] = { "n8n_owner_password" };
	json_t			*g = NULL;
	size_t			 i;

	T_ASSERT(cat != NULL);
	sec = json_pack("{s:s, s:s, s:s}", "n8n_db_password", "a",
	    "redis_password", "b", "n8n_encryption_key", "c");
	T_INTEQ(rotate_select(cat, sec, one, 1, &s, &cause), VP_ERR_REFUSED);
	T_ASSERT(strstr(cause, "not rotatable: n8n encrypts") != NULL);
	free(cause);
	cause = NULL;
	T_INTEQ(rotate_select(cat, sec, two, 1, &s, &cause), VP_ERR_NOTFOUND);
	T_ASSERT(strstr(cause, "did you mean 'redis_password'") != NULL);
	free(cause);
	cause = NULL;
	/* Grafana's admin password: through its API (rotate.h). */
	T_INTEQ(rotate_select(cat, sec, three, 1, &s, &cause), 0);
	T_INTEQ(s.n, 1);
	T_INTEQ(s.v[0].how, ROTATE_API);
	T_STREQ(s.v[0].service, "grafana");
	rotate_sel_release(&s);
	T_INTEQ(rotate_select(cat, sec, five, 1, &s, &cause), VP_ERR_REFUSED);
	T_ASSERT(strstr(cause, "vpai vault set anthropic_api_key") != NULL);
	free(cause);
	cause = NULL;
	T_INTEQ(rotate_select(cat, sec, four, 3, &s, NULL), 0);
	T_INTEQ(s.n, 2);
	T_ASSERT(rotate_has_pg(&s));
	T_STREQ(s.v[0].role, "n8n");
	T_INTEQ(rotate_generate(cat, sec, &s, &n, NULL), 0);
	T_INTEQ(json_string_length(json_object_get(n, "n8n_db_password")),
	    40);
	T_ASSERT(strcmp(json_string_value(json_object_get(n,
	    "redis_password")), "b") != 0);
	T_STREQ(json_string_value(json_object_get(n, "n8n_encryption_key")),
	    "c");
	T_STREQ(json_string_value(json_object_get(sec, "redis_password")),
	    "b");	/* the input is not modified */
	rotate_sel_release(&s);
	/* Default: the handled secrets that have a value; every other one
	 * of the catalogue skipped with the reason. */
	T_INTEQ(rotate_select(cat, sec, NULL, 0, &s, NULL), 0);
	T_INTEQ(s.n, 2);
	T_INTEQ(s.n + s.nskip, json_object_size(cat));
	for (i = 0; i < s.nskip; i++)
		if (strcmp(s.skip[i].name, "n8n_encryption_key") == 0)
			T_ASSERT(strstr(s.skip[i].why, "not rotatable: n8n "
			    "encrypts") != NULL);
		else if (strcmp(s.skip[i].name, "anthropic_api_key") == 0)
			T_ASSERT(strstr(s.skip[i].why, "external") != NULL);
		else if (strcmp(s.skip[i].name, "grafana_admin_password") == 0)
			T_ASSERT(strstr(s.skip[i].why, "no value") != NULL);
	T_INTEQ(rotate_sel_drop(&s, 0, "test"), 0);
	T_INTEQ(s.n, 1);
	T_STREQ(s.v[0].name, "redis_password");
	T_STREQ(s.skip[s.nskip - 1].why, "test");
	rotate_sel_release(&s);
	/* n8n's password rules (rotate_generate draws again until met). */
	T_ASSERT(rotate_n8n_password_ok("abcdEF12"));
	T_ASSERT(!rotate_n8n_password_ok("abcdefgh1"));
	T_ASSERT(!rotate_n8n_password_ok("ABCDEFGHi"));
	T_ASSERT(!rotate_n8n_password_ok("aB1"));
	json_object_set_new(sec, "n8n_owner_password", json_string("x"));
	T_INTEQ(rotate_select(cat, sec, six, 1, &s, NULL), 0);
	for (i = 0; i < 50; i++) {
		T_INTEQ(rotate_generate(cat, sec, &s, &g, NULL), 0);
		T_ASSERT(rotate_n8n_password_ok(json_string_value(
		    json_object_get(g, "n8n_owner_password"))));
		json_decref(g);
		g = NULL;
	}
	rotate_sel_release(&s);
	json_decref(n);
	json_decref(sec);
	json_decref(cat);
}

int
main(void)
{
	char	*argv[] = { "rm", "-rf", root, NULL };
	int	 r;

	if (mkdtemp(root) == NULL)
		return 1;
	T_RUN(list_get_current);
	T_RUN(restore_checks_sha);
	T_RUN(pending_backup);
	T_RUN(rotate_select_rules);
	r = T_DONE();
	if (fork() == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	wait(NULL);
	return r;
}
