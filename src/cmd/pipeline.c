/*
 * pipeline.c: load site + secrets, render (see pipeline.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/pipeline.h"
#include "core/err.h"
#include "core/file.h"
#include "site/site.h"
#include "stack/stack.h"
#include "vault/secrets.h"

char *
vp_pipeline_site_file(const struct vp_ctx *ctx)
{
	if (ctx->site_file != NULL)
		return strdup(ctx->site_file);
	return vp_path_join(ctx->site_dir, "vpai.yml");
}

int
vp_pipeline_load(const struct vp_ctx *ctx, const struct vp_pipeline_opts *o,
    struct vp_pipeline *p, char **cause)
{
	struct vault_pw	 pw = { NULL, 1 };
	char		*vault = NULL;
	const char	*sfile;
	int		 r, plain = 0;

	memset(p, 0, sizeof(*p));
	if ((p->site_file = vp_pipeline_site_file(ctx)) == NULL ||
	    (p->schema_file = vp_path_join(ctx->stack_dir,
	    "site-schema.yml")) == NULL)
		return VP_ERR_NOMEM;
	if ((r = site_load(p->site_file, p->schema_file, o->env, &p->site,
	    cause)) != 0)
		return r;

	if (o->secrets_file != NULL) {
		sfile = o->secrets_file;
		plain = 1;
	} else if (o->vault_file != NULL)
		sfile = o->vault_file;
	else {
		if ((vault = vp_path_join(ctx->site_dir,
		    "secrets.vault")) == NULL)
			return VP_ERR_NOMEM;
		sfile = vault;
	}
	pw.file = o->vault_password_file;
	pw.allow_prompt = isatty(0);
	r = secrets_load(sfile, &pw, plain, &p->secrets, cause);
	free(vault);
	if (r != 0)
		return r;
	if ((p->vars = stack_vars_new(site_vars(p->site), p->secrets,
	    cause)) == NULL)
		return cause != NULL && *cause != NULL ? VP_ERR_INVALID :
		    VP_ERR_NOMEM;
	if (o->no_render)
		return VP_OK;
	return stack_render(ctx->stack_dir, p->vars, &p->bundle, cause);
}

void
vp_pipeline_release(struct vp_pipeline *p)
{
	if (p == NULL)
		return;
	bundle_free(p->bundle);
	json_decref(p->vars);
	json_decref(p->secrets);
	site_free(p->site);
	free(p->site_file);
	free(p->schema_file);
	memset(p, 0, sizeof(*p));
}
