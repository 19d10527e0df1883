/*
 * pipeline.h: the sequence shared by render, check and apply: load the
 * site, load the secrets, render the bundle.
 *
 *	struct vp_pipeline p = VP_PIPELINE_INIT;
 *	struct vp_pipeline_opts o = { .env = env, .secrets_file = sf };
 *	if ((r = vp_pipeline_load(ctx, &o, &p, &cause)) != 0)
 *		return vp_cmd_error("render", r, cause);
 *	... p.site, p.secrets, p.vars, p.bundle ...
 *	vp_pipeline_release(&p);
 *
 * Ownership: every member of struct vp_pipeline is owned by it and freed
 * by vp_pipeline_release() (which accepts a zeroed or half-loaded one).
 */
#ifndef VP_PIPELINE_H
#define VP_PIPELINE_H

#include <jansson.h>

#include "cmd/cmd.h"

struct site;
struct bundle;

struct vp_pipeline_opts {
	const char	*env;		/* prod, preprod or NULL: the site's */
	const char	*secrets_file;	/* plain YAML (tests), or NULL */
	const char	*vault_file;	/* NULL: <site_dir>/secrets.vault */
	const char	*vault_password_file;
	int		 no_render;	/* load site + secrets only */
};

struct vp_pipeline {
	struct site	*site;
	json_t		*secrets;	/* name -> value */
	json_t		*vars;		/* the template variables */
	struct bundle	*bundle;
	char		*site_file;	/* the path loaded */
	char		*schema_file;
};
#define VP_PIPELINE_INIT { NULL, NULL, NULL, NULL, NULL, NULL }

int	vp_pipeline_load(const struct vp_ctx *, const struct vp_pipeline_opts *,
	    struct vp_pipeline *, char **cause);
void	vp_pipeline_release(struct vp_pipeline *);

/* The site file the context designates (allocated). */
char	*vp_pipeline_site_file(const struct vp_ctx *);

#endif
