/*
 * cmd-render.c: `vpai render`: write the deployment bundle to a directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "core/file.h"
#include "core/opt.h"
#include "site/site.h"
#include "stack/stack.h"

extern const struct vp_cmd vp_cmd_render;

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* `render -v`: every directory and file with mode and owner. */
static int
list_bundle(const struct bundle *b)
{
	const char	**dirs = NULL, *k;
	json_t		 *set = json_object(), *x;
	char		  owner[32], *d;
	size_t		  i, n = 0;
	mode_t		  mode;
	uid_t		  uid;
	gid_t		  gid;

	if (set == NULL)
		return VP_ERR_NOMEM;
	for (i = 0; i < b->n; i++) {
		if ((d = strdup(b->files[i].path)) == NULL) {
			json_decref(set);
			return VP_ERR_NOMEM;
		}
		while ((k = strrchr(d, '/')) != NULL) {
			d[k - d] = '\0';
			json_object_set_new(set, d, json_true());
		}
		free(d);
	}
	if ((dirs = calloc(json_object_size(set) + 1, sizeof(*dirs))) == NULL) {
		json_decref(set);
		return VP_ERR_NOMEM;
	}
	json_object_foreach(set, k, x)
		dirs[n++] = k;
	qsort(dirs, n, sizeof(*dirs), cmp_str);
	for (i = 0; i < n; i++) {
		bundle_dir_attr(b, dirs[i], &mode, &uid, &gid);
		snprintf(owner, sizeof(owner), "-");
		if (uid != (uid_t)-1)
			snprintf(owner, sizeof(owner), "%u:%u", (unsigned)uid,
			    (unsigned)gid);
		printf("  %04o %-11s %s/\n", (unsigned)mode, owner, dirs[i]);
	}
	free(dirs);
	json_decref(set);
	for (i = 0; i < b->n; i++) {
		const struct bundle_file *f = &b->files[i];

		snprintf(owner, sizeof(owner), "-");
		if (f->uid != (uid_t)-1)
			snprintf(owner, sizeof(owner), "%u:%u",
			    (unsigned)f->uid, (unsigned)f->gid);
		printf("  %04o %-11s %s%s\n", (unsigned)f->mode, owner,
		    f->path, f->secret ? "  (secret)" : "");
	}
	return VP_OK;
}

static int
render_run(struct vp_ctx *ctx, int argc, char **argv)
{
	struct vp_pipeline	 p = VP_PIPELINE_INIT;
	struct vp_pipeline_opts	 o;
	const char		*outdir = NULL, *env = NULL, *sfile = NULL;
	const char		*pwfile = NULL;
	char			**pos = NULL, *cause = NULL, *def = NULL;
	char			 sub[64];
	int			 npos = 0, r, changed = 0;
	const struct vp_option	 opts[] = {
		VP_OPT_STRING('o', "output", &outdir, "DIR",
		    "write the bundle here (default <site dir>/out/<env>)"),
		VP_OPT_STRING('e', "env", &env, "ENV",
		    "prod or preprod (default: the site's target_env)"),
		VP_OPT_STRING(0, "secrets", &sfile, "FILE",
		    "read secrets from a plain YAML file (tests)"),
		VP_OPT_STRING(0, "vault-password-file", &pwfile, "FILE",
		    "the vault password (or an executable printing it)"),
		VP_OPT_END()
	};

	r = vp_cmd_parse(&vp_cmd_render, argc, argv, opts, 0, &pos, &npos);
	free(pos);
	if (r != VP_OK)
		return r == VP_OPT_HELP ? VP_OK : r;
	if (env != NULL && strcmp(env, "prod") != 0 &&
	    strcmp(env, "preprod") != 0) {
		r = vp_fail(&cause, VP_ERR_USAGE,
		    "--env '%s': expected prod or preprod", env);
		return vp_cmd_error("render", r, cause);
	}

	memset(&o, 0, sizeof(o));
	o.env = env;
	o.secrets_file = sfile;
	o.vault_password_file = pwfile;
	if ((r = vp_pipeline_load(ctx, &o, &p, &cause)) != 0)
		goto out;
	if (outdir == NULL) {
		snprintf(sub, sizeof(sub), "out/%s", site_env(p.site));
		if ((def = vp_path_join(ctx->site_dir, sub)) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		outdir = def;
	}
	if ((r = bundle_write(p.bundle, outdir, &changed, &cause)) != 0)
		goto out;
	if (ctx->verbose > 0 && (r = list_bundle(p.bundle)) != 0)
		goto out;
	if (!ctx->quiet)
		printf("rendered %zu files for %s to %s: %d written, "
		    "%zu unchanged\n", p.bundle->n, site_env(p.site), outdir,
		    changed, p.bundle->n - (size_t)changed);
 out:
	vp_pipeline_release(&p);
	free(def);
	if (r != 0)
		return vp_cmd_error("render", r, cause);
	return VP_OK;
}

const struct vp_cmd vp_cmd_render = {
	"render", "write the deployment bundle (configs, compose, host files)",
	"render [-o DIR] [--env prod|preprod] [--secrets FILE] "
	"[--vault-password-file FILE]",
	"Renders every file of the deployment from the site file, the secrets\n"
	"and the stack data, byte-for-byte deterministic, and writes the ones\n"
	"that changed (atomically, with their modes; owners too when run as\n"
	"root).  Files holding secrets are never group- or world-readable.\n",
	render_run
};
