/*
 * cmd-check.c: `vpai check`, the policy rules (src/check) over the site,
 * its secrets and the rendered bundle.
 *
 * Loads everything through the render pipeline (cmd/pipeline.h), renders
 * the site a second time with canary project/domain names for the
 * portability rule, runs every rule and prints the findings, errors first.
 * Exit status: VP_ERR_CHECK when any finding is an error; 0 when there are
 * only warnings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "core/file.h"
#include "core/opt.h"
#include "site/site.h"
#include "stack/stack.h"

extern const struct vp_cmd vp_cmd_check;

static void
list_rules(FILE *f)
{
	const struct check_rule	*rules;
	size_t			 n, i;

	rules = check_rules(&n);
	for (i = 0; i < n; i++)
		fprintf(f, "%-20s %s\n", rules[i].id, rules[i].summary);
}

/* With quiet, only the errors (no warnings, no summary). */
static int
print_human(FILE *f, const struct check_report *rep, const char *env,
    int quiet)
{
	struct vp_buf	 b = VP_BUF_INIT(VP_BUF_DEFAULT_CAP);
	int		 r;

	if ((r = check_report_format(rep, quiet, &b)) != 0)
		return r;
	fputs(b.buf, f);
	vp_buf_release(&b);
	if (!quiet)
		fprintf(f, "%s: %zu error%s, %zu warning%s\n", env, rep->nerr,
		    rep->nerr == 1 ? "" : "s", rep->nwarn,
		    rep->nwarn == 1 ? "" : "s");
	return VP_OK;
}

/* Render the canary bundle: same site, canary project and domain. */
static int
render_canary(const char *stack_dir, const json_t *site_vars,
    const json_t *secrets, struct bundle **out, char **cause)
{
	json_t	*cv = NULL, *vars = NULL;
	int	 r;

	*out = NULL;
	if ((cv = check_canary_vars(site_vars)) == NULL)
		return VP_ERR_NOMEM;
	if ((vars = stack_vars_new(cv, secrets, cause)) == NULL) {
		r = cause && *cause ? VP_ERR_INVALID : VP_ERR_NOMEM;
		goto out;
	}
	r = stack_render(stack_dir, vars, out, cause);
 out:
	json_decref(vars);
	json_decref(cv);
	return r;
}

static int
check_run_cmd(struct vp_ctx *ctx, int argc, char **argv)
{
	struct check_report	 rep = CHECK_REPORT_INIT;
	struct check_input	 in;
	struct vp_pipeline	 p = VP_PIPELINE_INIT;
	struct vp_pipeline_opts	 o;
	struct bundle		*canary = NULL;
	json_t			*policy = NULL, *j = NULL;
	const char		*env = NULL, *secrets = NULL, *pwfile = NULL;
	const char		*only = NULL;
	char			**pos = NULL, *cause = NULL, *ppath = NULL;
	int			 npos = 0, json = 0, list = 0, r;
	int			 nocanary = 0;
	const struct vp_option opts[] = {
		VP_OPT_STRING('e', "env", &env, "ENV",
		    "prod or preprod (default: the site's target_env)"),
		VP_OPT_BOOL(0, "json", &json, "print the findings as a JSON "
		    "array"),
		VP_OPT_BOOL(0, "list", &list, "list the rules and exit"),
		VP_OPT_STRING(0, "rule", &only, "ID", "run only this rule"),
		VP_OPT_STRING(0, "secrets", &secrets, "FILE",
		    "plain YAML secrets file (tests) instead of the vault"),
		VP_OPT_STRING(0, "vault-password-file", &pwfile, "FILE",
		    "read the vault password from FILE"),
		VP_OPT_BOOL(0, "no-canary", &nocanary, "skip the canary "
		    "render of the portability rule"),
		VP_OPT_END()
	};

	r = vp_cmd_parse(&vp_cmd_check, argc, argv, opts, 0, &pos, &npos);
	if (r != VP_OK) {
		if (r == VP_OPT_HELP)
			r = VP_OK;
		goto out;
	}
	if (list) {
		list_rules(stdout);
		r = VP_OK;
		goto out;
	}
	if (only != NULL && check_rule_find(only) == NULL) {
		/* check_run() words the error (with a suggestion). */
		memset(&in, 0, sizeof(in));
		r = check_run(&in, only, &rep, &cause);
		r = vp_cmd_error("check", r, cause);
		cause = NULL;
		goto out;
	}
	if ((ppath = vp_path_join(ctx->stack_dir, "policy.yml")) == NULL) {
		r = vp_cmd_error("check", VP_ERR_NOMEM, NULL);
		goto out;
	}
	if ((r = check_policy_load(ppath, &policy, &cause)) != 0) {
		r = vp_cmd_error("check", r, cause);
		cause = NULL;
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.env = env;
	o.secrets_file = secrets;
	o.vault_password_file = pwfile;
	if ((r = vp_pipeline_load(ctx, &o, &p, &cause)) != 0) {
		r = vp_cmd_error("check", r, cause);
		cause = NULL;
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.vars = site_vars(p.site);
	in.secrets = p.secrets;
	in.bundle = p.bundle;
	in.compose = json_object_get(p.bundle->model, "compose");
	in.services = json_object_get(p.bundle->model, "services");
	in.policy = policy;
	in.stack_dir = ctx->stack_dir;
	if (!nocanary && (only == NULL || strcmp(only, "portability") == 0)) {
		/*
		 * A site the canary names break is itself a finding, not a
		 * reason to skip every other rule.
		 */
		if ((r = render_canary(ctx->stack_dir, site_vars(p.site),
		    p.secrets, &canary, &cause)) != 0) {
			r = check_add(&rep, CHECK_WARNING, "portability",
			    "canary render", NULL, "rendering with canary "
			    "project and domain names failed: %s", cause ?
			    cause : vp_strerror(r));
			free(cause);
			cause = NULL;
			if (r != 0) {
				r = vp_cmd_error("check", r, NULL);
				goto out;
			}
		}
		in.canary = canary;
	}
	if ((r = check_run(&in, only, &rep, &cause)) != 0) {
		r = vp_cmd_error("check", r, cause);
		cause = NULL;
		goto out;
	}
	check_report_sort(&rep);
	if (json) {
		if ((j = check_report_json(&rep)) == NULL ||
		    json_dumpf(j, stdout, JSON_INDENT(2)) != 0) {
			r = vp_cmd_error("check", VP_ERR_NOMEM, NULL);
			goto out;
		}
		fputc('\n', stdout);
	} else if ((r = print_human(stdout, &rep, site_env(p.site),
	    ctx->quiet)) != 0) {
		r = vp_cmd_error("check", r, NULL);
		goto out;
	}
	r = rep.nerr > 0 ? VP_ERR_CHECK : VP_OK;
 out:
	json_decref(j);
	json_decref(policy);
	check_report_release(&rep);
	bundle_free(canary);
	vp_pipeline_release(&p);
	free(ppath);
	free(pos);
	free(cause);
	return r;
}

const struct vp_cmd vp_cmd_check = {
	"check", "run the policy rules over the rendered deployment",
	"check [--env prod|preprod] [--json] [--list] [--rule ID] "
	"[--secrets FILE] [--vault-password-file FILE]",
	"Prints one line per finding, errors first:\n"
	"  error  RULE  WHERE: MESSAGE\n"
	"    hint: HOW TO FIX\n"
	"Exits 3 when any finding is an error, 0 with only warnings.  With -q\n"
	"(vpai -q check) only errors are printed.\n"
	"The rules read stack/policy.yml (network matrix, allowed ports, RAM\n"
	"headroom...); `vpai check --list` lists them.\n",
	check_run_cmd
};
