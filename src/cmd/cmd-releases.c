/*
 * cmd-releases.c: `vpai releases`: list the recorded releases
 * (deploy/release.h), and the hook that `vpai apply` calls to record one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "cmd/releases.h"
#include "core/file.h"
#include "core/opt.h"
#include "deploy/release.h"
#include "site/site.h"

extern const struct vp_cmd vp_cmd_releases;

int
vp_release_after_apply(const struct vp_ctx *ctx, const char *root,
    const char *project, const struct vp_pipeline *p,
    const char *secrets_file, char **cause)
{
	char	*vault = NULL, *id = NULL;
	int	 r, isnew = 0;

	if (secrets_file == NULL &&
	    (vault = vp_path_join(ctx->site_dir, "secrets.vault")) == NULL)
		return VP_ERR_NOMEM;
	r = release_record(root, project, p->bundle, p->site_file,
	    secrets_file ? secrets_file : vault, NULL, RELEASE_KEEP, &id,
	    &isnew, cause);
	if (r != 0)
		vp_fail_prefix(cause, r, "deployed and healthy, but the "
		    "release was not recorded");
	else if (!ctx->quiet)
		printf("apply: release %s %s (vpai releases)\n", id,
		    isnew ? "recorded" : "unchanged");
	free(vault);
	free(id);
	return r;
}

static int
releases_run(struct vp_ctx *ctx, int argc, char **argv)
{
	struct site	 *site = NULL;
	json_t		 *list = NULL, *m, *img;
	char		**pos = NULL, *cause = NULL, *sfile = NULL;
	char		 *schema = NULL, *cur = NULL, *s;
	const char	 *root, *svc, *id;
	size_t		  i;
	int		  npos = 0, r, json = 0;
	const struct vp_option opts[] = {
		VP_OPT_BOOL(0, "json", &json, "print the manifests as JSON"),
		VP_OPT_END()
	};

	r = vp_cmd_parse(&vp_cmd_releases, argc, argv, opts, 0, &pos, &npos);
	if (r == VP_OPT_HELP)
		return VP_OK;
	if (r != 0)
		return r;
	if ((sfile = vp_pipeline_site_file(ctx)) == NULL ||
	    (schema = vp_path_join(ctx->stack_dir, "site-schema.yml")) ==
	    NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = site_load(sfile, schema, NULL, &site, &cause)) != 0)
		goto out;
	root = json_string_value(json_object_get(site_vars(site),
	    "stack_root"));
	if (root == NULL) {
		r = vp_fail(&cause, VP_ERR_INVALID, "stack_root: not set");
		goto out;
	}
	if ((r = release_list(root, &list, &cause)) != 0 ||
	    (r = release_current(root, &cur, &cause)) != 0)
		goto out;
	if (json) {
		if ((s = json_dumps(list, JSON_INDENT(2))) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		printf("%s\n", s);
		free(s);
		goto out;
	}
	if (json_array_size(list) == 0) {
		printf("no release recorded under %s/releases (each "
		    "successful apply records one)\n", root);
		goto out;
	}
	json_array_foreach(list, i, m) {
		id = json_string_value(json_object_get(m, "id"));
		printf("%s %-20s %s  %zu files  site %.12s  vault %.12s%s%s\n",
		    cur != NULL && id != NULL && strcmp(cur, id) == 0 ? "*" :
		    " ", id ? id : "?",
		    json_string_value(json_object_get(m, "created")),
		    json_object_size(json_object_get(m, "files")),
		    json_string_value(json_object_get(m, "site_sha256")),
		    json_string_value(json_object_get(m, "vault_sha256")),
		    json_is_string(json_object_get(m, "rollback_of")) ?
		    "  (rollback of " : "",
		    json_is_string(json_object_get(m, "rollback_of")) ?
		    json_string_value(json_object_get(m, "rollback_of")) : "");
		if (ctx->verbose)
			json_object_foreach(json_object_get(m, "images"), svc,
			    img)
				printf("    %-16s %s %.19s\n", svc,
				    json_string_value(json_object_get(img,
				    "ref")), json_string_value(
				    json_object_get(img, "id")));
	}
 out:
	fflush(stdout);
	if (r != 0)
		vp_cmd_error("releases", r, cause);
	free(pos);
	free(sfile);
	free(schema);
	free(cur);
	json_decref(list);
	site_free(site);
	return r;
}

const struct vp_cmd vp_cmd_releases = {
	"releases", "list the recorded releases (the current one marked *)",
	"releases [--json]",
	"Every successful apply records a release under <stack_root>/releases:\n"
	"the image references and ids, the sha256 of every rendered file and a\n"
	"copy of the bundle (mode 0700: it holds secrets), and the hashes of\n"
	"the site file and the vault.  The last 10 are kept.  -v lists the\n"
	"images.  See docs/ROLLBACK.md.\n",
	releases_run
};
