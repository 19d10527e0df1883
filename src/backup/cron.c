/*
 * cron.c: the daily backup cron file, and which artifacts hold which
 * service's data (backup.h).  Pure functions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "core/buf.h"

/* Append s quoted for sh, with cron's '%' escaped. */
static int
add_word(struct vp_buf *b, const char *s)
{
	int	e;

	e = vp_buf_addc(b, '\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			e |= vp_buf_adds(b, "'\\''");
		else if (*s == '%')
			e |= vp_buf_adds(b, "\\%");
		else
			e |= vp_buf_addc(b, *s);
	}
	return e | vp_buf_addc(b, '\'');
}

char *
backup_cron_text(const char *project, const char *schedule, const char *vpai,
    const char *site_dir, const char *site_file, const char *stack_dir,
    const char *pw_file, const char *secrets_file, const char *repo,
    const char *log)
{
	struct vp_buf	 b = VP_BUF_INIT(1 << 16);
	char		*s = NULL;
	int		 e;

	e = vp_buf_addf(&b, "# %s: daily verified backup (vpai backup), "
	    "written by `vpai apply`:\n# change the site (backup_time, "
	    "restic_repository) and re-apply instead of editing.\n"
	    "# No secret here: the vault password is read from its file.\n"
	    "SHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
	    "/usr/bin:/sbin:/bin\n%s * * * root ", project, schedule);
	if (stack_dir != NULL)
		e |= vp_buf_adds(&b, "VPAI_STACK_DIR=") |
		    add_word(&b, stack_dir) | vp_buf_addc(&b, ' ');
	e |= add_word(&b, vpai) | vp_buf_adds(&b, " -C ") |
	    add_word(&b, site_dir);
	if (site_file != NULL)
		e |= vp_buf_adds(&b, " --site ") | add_word(&b, site_file);
	e |= vp_buf_adds(&b, " backup");
	if (pw_file != NULL)
		e |= vp_buf_adds(&b, " --vault-password-file ") |
		    add_word(&b, pw_file);
	else if (secrets_file != NULL)
		e |= vp_buf_adds(&b, " --secrets ") |
		    add_word(&b, secrets_file);
	if (repo != NULL && *repo != '\0')
		e |= vp_buf_adds(&b, " --restic ") | add_word(&b, repo);
	e |= vp_buf_adds(&b, " >>") | add_word(&b, log) |
	    vp_buf_adds(&b, " 2>&1\n");
	if (e == 0)
		s = strdup(b.buf);
	vp_buf_release(&b);
	return s;
}

char *
backup_cron_schedule(const char *t)
{
	int	 h, m, n = 0;
	char	*s;

	if (t == NULL || sscanf(t, "%2d:%2d%n", &h, &m, &n) != 2 ||
	    t[n] != '\0' || h < 0 || h > 23 || m < 0 || m > 59)
		return NULL;
	m = (h * 60 + m + 24 * 60 - 5) % (24 * 60);
	if (asprintf(&s, "%d %d", m % 60, m / 60) < 0)
		return NULL;
	return s;
}

char *
backup_cron_name(const char *project)
{
	char	*s, *p;

	if (asprintf(&s, "%s-backup", project) < 0)
		return NULL;
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			*p = '-';
	return s;
}

const char *const *
backup_artifacts_of(const char *svc)
{
	static const char *const pg[] = { "pg", NULL };
	static const char *const redis[] = { "redis", NULL };
	static const char *const qdrant[] = { "qdrant", NULL };
	static const char *const n8n[] = { "pg:n8n", "n8n", NULL };
	static const char *const litellm[] = { "pg:litellm", NULL };
	static const char *const openclaw[] = { "pg:openclaw", NULL };
	static const char *const grafana[] = { "grafana", NULL };

	if (strcmp(svc, "postgresql") == 0)
		return pg;
	if (strcmp(svc, "redis") == 0)
		return redis;
	if (strcmp(svc, "qdrant") == 0)
		return qdrant;
	if (strcmp(svc, "n8n") == 0)
		return n8n;
	if (strcmp(svc, "litellm") == 0)
		return litellm;
	if (strcmp(svc, "openclaw") == 0)
		return openclaw;
	if (strcmp(svc, "grafana") == 0)
		return grafana;
	return NULL;
}
