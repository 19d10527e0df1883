/*
 * backup.h: verified backups of a running stack, their manifest, the
 * off-site restic copy, and restore.
 *
 * Calling sequence for a backup:
 *	struct backup_opts o = BACKUP_OPTS_INIT;	(fill project, ...)
 *	struct backup_report rep = BACKUP_REPORT_INIT;
 *	r = backup_run(&o, &rep, &cause);
 *	    r != 0: nothing could be attempted (lock, directory, no memory);
 *	    r == 0: rep.nfailed says how many artifacts failed, each
 *	    rep.v[i].error says why; rep.dir holds the set and manifest.json.
 *	backup_report_release(&rep);
 *
 * Every artifact is produced and verified on its own: a failure in one is
 * recorded in its entry and the next one is attempted.  The drivers run
 * `docker exec`/`docker cp` from argv vectors (core/child.h); secrets
 * reach the containers through the environment of the docker CLI
 * (`docker exec -e NAME`, never NAME=value) or through 0600 files, and
 * reach HTTP APIs in libcurl headers.  Library code: never prints.
 *
 * Ownership: every char * in the structs is owned by its struct and
 * freed by its release function; release functions accept NULL and
 * zeroed structs.  opts members are borrowed.
 */
#ifndef VP_BACKUP_H
#define VP_BACKUP_H

#include <stddef.h>

#include <jansson.h>

/* Artifact names, in the order they are produced. */
#define BACKUP_ARTIFACTS \
	"pg:n8n", "pg:litellm", "pg:openclaw", "redis", "qdrant", \
	"n8n:workflow", "n8n:credentials", "grafana", "configs"
#define BACKUP_NARTIFACTS	9

typedef void (*backup_progress_fn)(void *arg, const char *artifact,
	    const char *msg);

struct backup_opts {
	const char		*project;	/* compose project */
	const char		*stack_root;	/* configs/, data/, compose */
	const char		*backup_dir;	/* NULL: <stack_root>/backups */
	const json_t		*secrets;	/* name -> value */
	const char		*restic_repo;	/* NULL: no off-site copy */
	const char		*heartbeat_url;	/* NULL: none */
	char *const		*only;		/* artifact selectors, or NULL */
	size_t			 nonly;
	int			 hot_days;	/* 0: 3 */
	int			 no_state;	/* do not update state.json */
	const char		*label;		/* set name suffix, or NULL */
	backup_progress_fn	 progress;
	void			*arg;
	const char		*restic_option;	/* "K=V" for restic -o */
};
#define BACKUP_OPTS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, \
	0, NULL, NULL, NULL, NULL }

struct backup_art {
	char		*name;		/* "pg:n8n", "redis", ... */
	char		*file;		/* relative to the set dir, or NULL */
	long long	 size;
	char		 sha256[65];
	int		 ok;		/* produced and verified */
	int		 absent;	/* no source (container or db) */
	char		*error;		/* why not, or NULL */
	char		*verified;	/* what the verification established */
	json_t		*rows;		/* pg: table -> row count (verified) */
	double		 seconds;
};

struct backup_report {
	char			*dir;		/* the set directory */
	char			*stamp;
	struct backup_art	*v;
	size_t			 n;
	size_t			 nfailed;
	double			 elapsed;
	int			 heartbeat;	/* 1 pinged, 0 not, -1 failed */
	char			*restic_snapshot;
	char			*restic_error;	/* the off-site copy failed */
	int			 pruned;	/* hot sets removed */
};
#define BACKUP_REPORT_INIT { NULL, NULL, NULL, 0, 0, 0, 0, NULL, NULL, 0 }

/*
 * Expand selectors ("pg" = every pg:*, "n8n" = both exports, or an exact
 * artifact name) into a 0/1 table indexed like BACKUP_ARTIFACTS.  An
 * unknown selector is VP_ERR_NOTFOUND with a did-you-mean.
 */
int	backup_select(char *const *only, size_t nonly,
	    int sel[BACKUP_NARTIFACTS], char **cause);
/* Split "a,b,c" into an allocated vector (free with backup_strv_free). */
int	backup_split(const char *list, char ***out, size_t *n);
void	backup_strv_free(char **, size_t);
const char *backup_artifact_name(size_t i);

int	backup_run(const struct backup_opts *, struct backup_report *,
	    char **cause);
void	backup_report_release(struct backup_report *);

/* The manifest document of a report (new reference). */
json_t	*backup_manifest(const struct backup_report *, const json_t *tools);
/*
 * Check the manifest of a set directory: every artifact marked ok exists
 * with its size and sha256.  *bad names the first mismatch.
 */
int	backup_manifest_check(const char *dir, const json_t *manifest,
	    char **cause);
/* SHA-256 (hex) and size of a file. */
int	backup_sha256_file(const char *path, char hex[65], long long *size,
	    char **cause);
/*
 * Record in state (an object; updated in place) the artifacts of rep that
 * passed: name -> {stamp, dir, sha256, at}.
 */
int	backup_state_update(json_t *state, const struct backup_report *,
	    long long now);
/* GFS arguments of `restic forget` (a static NULL-terminated vector). */
const char *const *backup_restic_forget_args(void);
/* "20261123T023500Z" -> epoch seconds, -1 when malformed. */
long long	backup_parse_stamp(const char *);

/* ==== Cron and pre-update backups (src/backup/cron.c; pure) ==== */

/*
 * The text of the daily cron file (allocated; NULL on ENOMEM): one job,
 * as root, running `vpai backup` for the site.  schedule "MM HH"; vpai
 * the absolute binary; site_dir; site_file (NULL: none); stack_dir
 * (NULL: the built-in one; else set as VPAI_STACK_DIR); pw_file or
 * secrets_file (the vault password FILE, or a plain secrets file in
 * tests; never a value); repo (NULL: none); log: output appended there.
 * Every word is quoted for sh and '%' escaped for cron.
 */
char	*backup_cron_text(const char *project, const char *schedule,
	    const char *vpai, const char *site_dir, const char *site_file,
	    const char *stack_dir, const char *pw_file,
	    const char *secrets_file, const char *repo, const char *log);
/* backup_time "03:00" -> "55 2" (5 minutes before); NULL if malformed. */
char	*backup_cron_schedule(const char *backup_time);
/* The cron file name for a project: <project>-backup, [A-Za-z0-9_-]. */
char	*backup_cron_name(const char *project);
/*
 * The backup artifacts holding a service's data (NULL-terminated static
 * vector), or NULL for a service without data.
 */
const char *const *backup_artifacts_of(const char *service);

/* ==== Restore ==== */

struct restore_opts {
	const char		*project;
	const char		*stack_root;
	const char		*backup_dir;	/* NULL: <stack_root>/backups */
	const char		*from;		/* set dir, restic snapshot, NULL */
	const char		*restic_repo;
	const json_t		*secrets;
	char *const		*only;
	size_t			 nonly;
	backup_progress_fn	 progress;
	void			*arg;
	/* Called with the plan text; returns 1 to go on. */
	int			(*confirm)(void *arg, const char *plan);
	const char		*restic_option;	/* "K=V" for restic -o */
};
#define RESTORE_OPTS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, \
	NULL, NULL, NULL, NULL }

/*
 * Restore the selected artifacts of a set: plan, confirm, safety backup
 * (into <backup_dir>/pre-restore-STAMP), stop the services using the
 * data, restore, start and health-gate them.  On a midway failure the
 * cause names the safety set and the command that puts it back.
 * *safety_dir (allocated) names the safety set once taken.
 */
int	restore_run(const struct restore_opts *, char **safety_dir,
	    char **cause);

#endif
