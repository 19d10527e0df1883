/*
 * release.h: release manifests: what every successful apply deployed,
 * kept under <stack_root>/releases/<id>/ so that `vpai rollback` can
 * redeploy it exactly.
 *
 * Layout of one release (directory mode 0700: the bundle holds secrets;
 * the files keep the bundle's own modes):
 *	releases/<id>/manifest.json	id, created, project, site and vault
 *					sha256, images {service: {ref, id}},
 *					files {path: sha256}, rollback_of,
 *					pre_update_backup
 *	releases/<id>/compose.json	the compose document (JSON), as
 *					given to the deploy engine
 *	releases/<id>/bundle/...	a copy of the rendered bundle
 * <id> is the UTC time "YYYYMMDDTHHMMSSZ" (with "-2", "-3"... when two
 * applies share a second), so names sort in creation order.
 *
 * Ownership: every json_t * returned is a new reference for the caller;
 * every char * returned is allocated for the caller.  Library code: never
 * prints.
 */
#ifndef VP_RELEASE_H
#define VP_RELEASE_H

#include <jansson.h>

#include "core/err.h"

struct bundle;

#define RELEASE_KEEP	10

/* The services whose image update may migrate a schema. */
int	release_stateful(const char *service);

/*
 * Record a release of bundle b, just deployed as project on stack_root:
 * the images come from the project's running containers (ref and image
 * id).  site_file and vault_file are hashed (NULL or missing: ""), and
 * rollback_of names the release redeployed (or NULL).  Then keep only the
 * newest keep releases.  When nothing differs from the current release
 * (images, files, site and vault hashes: a no-op apply), no release is
 * written and *isnew is 0.  *idp (may be NULL) receives the id recorded,
 * or the current one.
 */
int	release_record(const char *stack_root, const char *project,
	    const struct bundle *b, const char *site_file,
	    const char *vault_file, const char *rollback_of, int keep,
	    char **idp, int *isnew, char **cause);

/*
 * The pre-update backup of an apply (see src/cmd/apply-backup.c): taken
 * before the deploy, kept in releases/pending-backup.json (0600) until
 * release_record() writes the next new release of an apply (not of a
 * rollback), whose manifest then holds it as "pre_update_backup" ({id,
 * dir, artifacts, skipped, services: {svc: {from, from_id, to}}}; null
 * when the apply took none), and removes the file.  A failed apply
 * leaves it pending for the re-run.
 * release_pending_backup: *out NULL when none.
 */
int	release_pending_backup_set(const char *stack_root, const json_t *rec,
	    char **cause);
int	release_pending_backup(const char *stack_root, json_t **out,
	    char **cause);

/*
 * releases/CURRENT names the release now deployed: release_record() and
 * a successful rollback set it.  *idp: allocated, NULL when none.
 */
int	release_current(const char *stack_root, char **idp, char **cause);
int	release_set_current(const char *stack_root, const char *id,
	    char **cause);

/* Every release's manifest, oldest first (a JSON array; may be empty). */
int	release_list(const char *stack_root, json_t **out, char **cause);

/*
 * The manifest of release id (VP_ERR_NOTFOUND with the known ids when
 * missing).  id NULL: the one before the current one (the rollback
 * default; VP_ERR_NOTFOUND when there is none).
 */
int	release_get(const char *stack_root, const char *id, json_t **out,
	    char **cause);

/* <stack_root>/releases/<id>/bundle (allocated), or NULL. */
char	*release_bundle_dir(const char *stack_root, const char *id);

/*
 * Copy release id's bundle over stack_root (atomically per file, same
 * modes), checking each file against the manifest's sha256 first:
 * VP_ERR_INVALID naming the file when one was altered (nothing written).
 * *nwritten counts the files that differed.
 */
int	release_restore_bundle(const char *stack_root, const json_t *manifest,
	    int *nwritten, char **cause);

/* sha256 of data as 64 hex digits into hex[65]. */
void	release_sha256(const void *data, size_t len, char hex[65]);
/* sha256 of a file as 64 hex digits into hex[65]; "" when it is missing. */
int	release_sha256_file(const char *path, char hex[65], char **cause);

#endif
