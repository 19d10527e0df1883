/*
 * u-backup.c: artifact selection, manifest, checksums, state file, the
 * restic GFS arguments, stamps and row-count comparison.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "backup/backup-int.h"
#include "backup/backup.h"
#include "core/file.h"
#include "t.h"

T_TEST(select)
{
	int	 sel[BACKUP_NARTIFACTS], i, n;
	char	**v = NULL, *cause = NULL;
	size_t	 nv = 0;

	T_INTEQ(backup_select(NULL, 0, sel, &cause), 0);
	for (i = n = 0; i < BACKUP_NARTIFACTS; i++)
		n += sel[i];
	T_INTEQ(n, BACKUP_NARTIFACTS);
	T_INTEQ(backup_split("pg,redis,,n8n:credentials", &v, &nv), 0);
	T_INTEQ((int)nv, 3);
	T_INTEQ(backup_select(v, nv, sel, &cause), 0);
	T_INTEQ(sel[0] + sel[1] + sel[2], 3);	/* pg = every pg:* */
	T_INTEQ(sel[3], 1);			/* redis */
	T_INTEQ(sel[4], 0);			/* qdrant */
	T_INTEQ(sel[5], 0);			/* n8n:workflow */
	T_INTEQ(sel[6], 1);			/* n8n:credentials */
	T_INTEQ(sel[8], 0);
	backup_strv_free(v, nv);
	T_INTEQ(backup_split("n8n,pg:litellm", &v, &nv), 0);
	T_INTEQ(backup_select(v, nv, sel, &cause), 0);
	T_INTEQ(sel[5] + sel[6] + sel[1], 3);
	T_INTEQ(sel[0] + sel[2] + sel[3], 0);
	backup_strv_free(v, nv);
	T_INTEQ(backup_split("rdis", &v, &nv), 0);
	T_INTEQ(backup_select(v, nv, sel, &cause), VP_ERR_NOTFOUND);
	T_ASSERT(cause && strstr(cause, "did you mean 'redis'") != NULL);
	free(cause);
	cause = NULL;
	backup_strv_free(v, nv);
	/* "pg:" prefix match must not select "pg:n8nx"-like names. */
	T_INTEQ(backup_split("pg:n8", &v, &nv), 0);
	T_INTEQ(backup_select(v, nv, sel, &cause), VP_ERR_NOTFOUND);
	free(cause);
	backup_strv_free(v, nv);
}

T_TEST(sha_manifest_state)
{
	struct backup_report	 rep = BACKUP_REPORT_INIT;
	struct backup_art	 a[2];
	char	 dir[] = "/tmp/u-backup-XXXXXX", *p, hex[65], *cause = NULL;
	long long	 size;
	json_t	*m, *st, *tools;
	FILE	*f;

	T_ASSERT(mkdtemp(dir) != NULL);
	p = vp_path_join(dir, "redis.rdb");
	f = fopen(p, "w");
	fputs("abc", f);
	fclose(f);
	T_INTEQ(backup_sha256_file(p, hex, &size, &cause), 0);
	T_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	T_INTEQ((int)size, 3);

	memset(a, 0, sizeof(a));
	a[0].name = "redis";
	a[0].file = "redis.rdb";
	a[0].ok = 1;
	a[0].size = 3;
	strcpy(a[0].sha256, hex);
	a[0].verified = "redis-check-rdb";
	a[1].name = "qdrant";
	a[1].error = "service 'qdrant' has no container";
	rep.v = a;
	rep.n = 2;
	rep.nfailed = 1;
	rep.stamp = "20261123T025500Z";
	rep.dir = dir;
	tools = json_pack("{s:s}", "restic", "restic 0.14.0");
	m = backup_manifest(&rep, tools);
	T_ASSERT(m != NULL);
	T_INTEQ((int)json_integer_value(json_object_get(m, "failed")), 1);
	T_STREQ(json_string_value(json_object_get(json_object_get(m, "tools"),
	    "restic")), "restic 0.14.0");
	T_STREQ(json_string_value(json_object_get(json_array_get(
	    json_object_get(m, "artifacts"), 1), "error")),
	    "service 'qdrant' has no container");
	T_ASSERT(json_object_get(json_array_get(json_object_get(m,
	    "artifacts"), 1), "sha256") == NULL);
	T_INTEQ(backup_manifest_check(dir, m, &cause), 0);
	/* One changed byte is caught. */
	f = fopen(p, "w");
	fputs("abd", f);
	fclose(f);
	T_INTEQ(backup_manifest_check(dir, m, &cause), VP_ERR_INVALID);
	T_ASSERT(cause && strstr(cause, "'redis'") != NULL);
	free(cause);
	cause = NULL;
	/* A path escaping the set is refused. */
	json_object_set_new(json_array_get(json_object_get(m, "artifacts"), 0),
	    "file", json_string("../x"));
	T_INTEQ(backup_manifest_check(dir, m, &cause), VP_ERR_PARSE);
	free(cause);
	json_decref(m);
	json_decref(tools);

	st = json_pack("{s:{s:s}}", "qdrant", "stamp", "20261120T025500Z");
	T_INTEQ(backup_state_update(st, &rep, 1000), 0);
	/* Failed artifacts keep their last good entry. */
	T_STREQ(json_string_value(json_object_get(json_object_get(st,
	    "qdrant"), "stamp")), "20261120T025500Z");
	T_STREQ(json_string_value(json_object_get(json_object_get(st,
	    "redis"), "stamp")), "20261123T025500Z");
	T_INTEQ((int)json_integer_value(json_object_get(json_object_get(st,
	    "redis"), "at")), 1000);
	json_decref(st);
	unlink(p);
	free(p);
	rmdir(dir);
}

T_TEST(restic_stamp_rows)
{
	const char *const	*v = backup_restic_forget_args();
	char			 line[256] = "";
	json_t			*a, *b;
	char			*d;

	for (; *v != NULL; v++) {
		strcat(line, *v);
		strcat(line, " ");
	}
	T_STREQ(line, "forget --keep-daily 7 --keep-weekly 4 --keep-monthly 6 "
	    "--keep-yearly 2 --prune ");
	T_INTEQ((int)backup_parse_stamp("19700102T000000Z"), 86400);
	T_INTEQ((int)backup_parse_stamp("19700102T000001Z-pre-restore"),
	    86401);
	T_INTEQ((int)backup_parse_stamp("state.json"), -1);
	T_INTEQ((int)backup_parse_stamp("19700102T000000Zx"), -1);

	a = json_pack("{s:i, s:i}", "public.t", 3, "public.u", 0);
	b = json_pack("{s:i, s:i}", "public.t", 3, "public.u", 0);
	d = bk_rows_diff(a, b);
	T_STREQ(d, "");
	free(d);
	json_object_set_new(b, "public.t", json_integer(2));
	d = bk_rows_diff(a, b);
	T_STREQ(d, "table public.t: 3 rows in the source, 2 restored");
	free(d);
	json_object_set_new(b, "public.t", json_integer(3));
	json_object_set_new(b, "public.v", json_integer(1));
	d = bk_rows_diff(a, b);
	T_STREQ(d, "table public.v: restored but not in the source");
	free(d);
	json_decref(a);
	json_decref(b);
}

T_TEST(cron_and_preupdate)
{
	char	*t, *s;

	s = backup_cron_schedule("03:00");
	T_STREQ(s, "55 2");
	free(s);
	s = backup_cron_schedule("00:02");
	T_STREQ(s, "57 23");
	free(s);
	T_ASSERT(backup_cron_schedule("3:00x") == NULL);
	T_ASSERT(backup_cron_schedule("24:00") == NULL);
	T_ASSERT(backup_cron_schedule(NULL) == NULL);
	s = backup_cron_name("my-proj");
	T_STREQ(s, "my-proj-backup");
	free(s);
	s = backup_cron_name("a.b c");
	T_STREQ(s, "a-b-c-backup");
	free(s);
	/* quoted for sh, '%' escaped for cron, the password FILE only */
	t = backup_cron_text("p", "55 2", "/usr/bin/vpai", "/srv/my site",
	    NULL, NULL, "/root/pw'file", NULL, "s3:https://h/b%1",
	    "/opt/vpai/logs/backup.log");
	T_ASSERT(t != NULL);
	T_ASSERT(strstr(t, "\n55 2 * * * root '/usr/bin/vpai' -C "
	    "'/srv/my site' backup --vault-password-file '/root/pw'\\''file' "
	    "--restic 's3:https://h/b\\%1' >>'/opt/vpai/logs/backup.log' "
	    "2>&1\n") != NULL);
	T_ASSERT(strstr(t, "SHELL=/bin/sh\n") != NULL);
	T_ASSERT(strstr(t, "VPAI_STACK_DIR") == NULL);
	free(t);
	t = backup_cron_text("p", "0 3", "/v", "/s", "/s/other.yml",
	    "/data/stack", NULL, "/s/plain.yml", NULL, "/l");
	T_ASSERT(strstr(t, "0 3 * * * root VPAI_STACK_DIR='/data/stack' '/v' "
	    "-C '/s' --site '/s/other.yml' backup --secrets '/s/plain.yml' "
	    ">>'/l' 2>&1\n") != NULL);
	T_ASSERT(strstr(t, "--restic") == NULL);
	free(t);
	/* which artifacts hold which service's data */
	T_STREQ(backup_artifacts_of("postgresql")[0], "pg");
	T_STREQ(backup_artifacts_of("n8n")[0], "pg:n8n");
	T_STREQ(backup_artifacts_of("n8n")[1], "n8n");
	T_ASSERT(backup_artifacts_of("n8n")[2] == NULL);
	T_STREQ(backup_artifacts_of("grafana")[0], "grafana");
	T_STREQ(backup_artifacts_of("qdrant")[0], "qdrant");
	T_ASSERT(backup_artifacts_of("caddy") == NULL);
	T_ASSERT(backup_artifacts_of("loki") == NULL);
	/* every selector is one backup_select() accepts */
	{
		const char *const svcs[] = { "postgresql", "redis", "qdrant",
		    "n8n", "litellm", "openclaw", "grafana" };
		const char *const *a;
		int	 sel[BACKUP_NARTIFACTS];
		char	*cause = NULL;
		size_t	 i;

		for (i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++)
			for (a = backup_artifacts_of(svcs[i]); *a; a++)
				T_INTEQ(backup_select((char *const *)a, 1,
				    sel, &cause), 0);
		free(cause);
	}
	T_ASSERT(bk_qdrant_name_ok("memories_v1.2-x"));
	T_ASSERT(!bk_qdrant_name_ok("../x"));
	T_ASSERT(!bk_qdrant_name_ok(".hidden"));
	T_ASSERT(!bk_qdrant_name_ok("a b"));
	T_ASSERT(!bk_qdrant_name_ok(""));
}

int
main(void)
{
	T_RUN(select);
	T_RUN(sha_manifest_state);
	T_RUN(restic_stamp_rows);
	T_RUN(cron_and_preupdate);
	return T_DONE();
}
