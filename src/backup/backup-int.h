/*
 * backup-int.h: internals shared by run.c and restore.c.
 */
#ifndef VP_BACKUP_INT_H
#define VP_BACKUP_INT_H

#include <jansson.h>

#include "backup/backup.h"
#include "core/buf.h"
#include "core/child.h"
#include "deploy/deploy.h"

struct bk {
	const struct backup_opts	*o;
	struct deploy_ctrs		 cs;
	char				*bdir;	/* backup_dir */
	char				*dir;	/* the set being written */
	json_t				*tools;
};

double		 bk_now(void);
/*
 * Run argv (NULL-terminated after arg0) with extra env "K=V" (wiped
 * after); stdout appended to out when not NULL.  Non-zero exit is
 * VP_ERR_CHILD with the last stderr line.  timeout_ms 0: 10 min.
 */
int		 bk_exec(struct vp_buf *out, const char *const *env,
		    int timeout_ms, char **cause, const char *arg0, ...)
		    __attribute__((sentinel));
void		 bk_progress(struct bk *, const char *art, const char *fmt,
		    ...) VP_PRINTF(3, 4);
const char	*bk_secret(const json_t *secrets, const char *name);
const struct deploy_ctr *bk_ctr(const struct deploy_ctrs *, const char *svc,
		    char **cause);
int		 bk_pg_rows(const char *ctr, const char *db, json_t **rows,
		    char **cause);
char		*bk_rows_diff(const json_t *a, const json_t *b);
int		 bk_restic_env(const json_t *secrets, const char *repo,
		    const char *pwfile, struct vp_argv *env);
void		 bk_env_wipe(struct vp_argv *env);
int		 bk_http(const char *method, const char *url, const char *hdr,
		    const char *userpwd, const char *file, struct vp_buf *out,
		    char **cause);
int		 bk_http_send(const char *method, const char *url,
		    const char *hdr, const char *userpwd, const json_t *json,
		    const char *field, const char *file, struct vp_buf *out,
		    char **cause);
/* Qdrant API at base ("http://IP:6333"), hdr "api-key: ..." */
int		 bk_qdrant_get(const char *base, const char *hdr,
		    const char *path, json_t **res, char **cause);
int		 bk_qdrant_points(const char *base, const char *hdr,
		    const char *coll, long long *n, char **cause);
int		 bk_qdrant_upload(const char *base, const char *hdr,
		    const char *coll, const char *file, char **cause);
int		 bk_qdrant_name_ok(const char *);

#endif
