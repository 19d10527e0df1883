/*
 * cmd-plan.c: `vpai plan` and `vpai converge`: the host roles
 * (stack/host/roles.yml) rendered from the site, planned against the
 * target's facts (one round trip) and, for converge, applied and verified
 * (sshd/ufw changes commit-confirmed; docs/HOST.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "core/child.h"
#include "core/opt.h"
#include "host/host.h"
#include "transport/transport.h"

static const char plan_help[] =
    "Render the site, build the host roles (common, docker, backup-config,\n"
    "headscale-node, hardening: stack/host/roles/) and print exactly what\n"
    "`vpai converge` would change on the target: one line per change,\n"
    "unified diffs, secrets masked.  Facts are gathered in one round trip;\n"
    "nothing is changed.  TARGET defaults to ssh://USER@IP:PORT from the\n"
    "site (prod_* or preprod_* for --env preprod).\n";

static const char converge_help[] =
    "Apply the host roles to the target (see `vpai plan`) and verify them.\n"
    "sshd and ufw changes are commit-confirmed: the host reverts them by\n"
    "itself unless a fresh ssh connection through the new configuration\n"
    "works (docs/HOST.md).\n";

static int	plan_run(struct vp_ctx *, int, char **);
static int	converge_run(struct vp_ctx *, int, char **);

const struct vp_cmd vp_cmd_plan = {
	"plan", "show what converging the host would change",
	"plan [--target TARGET] [--env ENV] [-v] [--json]",
	plan_help, plan_run
};

const struct vp_cmd vp_cmd_converge = {
	"converge", "apply the host roles to the target host",
	"converge [--target TARGET] [--env ENV] [--json]",
	converge_help, converge_run
};

/* want.secrets = every secret value, for masking. */
static void
add_secrets(json_t *want, const json_t *secrets)
{
	json_t		*list = json_array();
	const char	*k;
	json_t		*v;

	json_object_foreach((json_t *)secrets, k, v)
		if (json_is_string(v) && json_string_length(v) >= 4)
			json_array_append(list, v);
	json_object_set_new(want, "secrets", list);
}

static char *
site_target(const json_t *vars)
{
	const char	*env = json_string_value(json_object_get(vars,
			    "target_env"));
	const char	*pre = env && strcmp(env, "preprod") == 0 ? "preprod_" :
			    "prod_";
	char		 k[64];
	const char	*ip, *user;
	json_int_t	 port;
	char		*t = NULL;

	snprintf(k, sizeof(k), "%sip", pre);
	ip = json_string_value(json_object_get(vars, k));
	snprintf(k, sizeof(k), "%suser", pre);
	user = json_string_value(json_object_get(vars, k));
	snprintf(k, sizeof(k), "%sssh_port", pre);
	port = json_integer_value(json_object_get(vars, k));
	if (ip == NULL)
		return NULL;
	if (asprintf(&t, "ssh://%s%s%s:%lld", user ? user : "",
	    user ? "@" : "", ip, port > 0 ? (long long)port : 22LL) < 0)
		return NULL;
	return t;
}

static int
run(const struct vp_cmd *cmd, int apply, struct vp_ctx *ctx, int argc,
    char **argv)
{
	const char		*target = NULL, *env = NULL, *sfile = NULL;
	const char		*pwfile = NULL, *ssh_config = NULL;
	const char		*identity = NULL;
	int			 port = 0, become = 0, json = 0, stats = 0;
	const struct vp_option	 opts[] = {
		VP_OPT_STRING('t', "target", &target, "TARGET",
		    "local or ssh://[user@]host[:port] (default: the site's)"),
		VP_OPT_STRING('e', "env", &env, "ENV",
		    "prod or preprod (default: the site's target_env)"),
		VP_OPT_STRING(0, "secrets", &sfile, "FILE",
		    "read secrets from a plain YAML file (tests)"),
		VP_OPT_STRING(0, "vault-password-file", &pwfile, "FILE",
		    "the vault password (or an executable printing it)"),
		VP_OPT_STRING('F', "ssh-config", &ssh_config, "FILE",
		    "ssh client config (default ~/.ssh/config)"),
		VP_OPT_STRING('i', "identity", &identity, "FILE",
		    "ssh private key (default: agent/config)"),
		VP_OPT_INT('p', "ssh-port", &port, "PORT",
		    "ssh port (overrides the target's)"),
		VP_OPT_BOOL('b', "become", &become,
		    "run as root through 'sudo -n'"),
		VP_OPT_BOOL(0, "json", &json, "print the plan as JSON"),
		VP_OPT_BOOL(0, "stats", &stats,
		    "print round trips and counts on stderr"),
		VP_OPT_END()
	};
	struct vp_pipeline	 p = VP_PIPELINE_INIT;
	struct vp_pipeline_opts	 o;
	struct vp_target_opts	 to = VP_TARGET_OPTS_INIT;
	struct vp_target	*t = NULL;
	struct vp_host_result	 res = VP_HOST_RESULT_INIT;
	struct vp_buf		 text = VP_BUF_INIT(64u << 20);
	json_t			*want = NULL, *skipped = NULL, *facts = NULL;
	json_t			*ops = NULL, *pub, *v;
	char			**pos = NULL, *cause = NULL, *def = NULL;
	size_t			 i;
	int			 npos = 0, r;

	r = vp_cmd_parse(cmd, argc, argv, opts, 0, &pos, &npos);
	free(pos);
	if (r != VP_OK)
		return r == VP_OPT_HELP ? VP_OK : r;
	memset(&o, 0, sizeof(o));
	o.env = env;
	o.secrets_file = sfile;
	o.vault_password_file = pwfile;
	if ((r = vp_pipeline_load(ctx, &o, &p, &cause)) != 0)
		goto out;
	if ((r = vp_host_roles_want(ctx->stack_dir, p.vars, p.bundle, &want,
	    &skipped, &cause)) != 0)
		goto out;
	add_secrets(want, p.secrets);
	if (target == NULL && (target = def = site_target(p.vars)) == NULL) {
		r = vp_fail(&cause, VP_ERR_USAGE, "--target is required (the "
		    "site has no prod_ip/preprod_ip)");
		goto out;
	}
	to.ssh_config = ssh_config;
	to.identity = identity;
	to.port = port;
	to.become = become;
	if ((r = vp_target_open(target, &to, &t, &cause)) != 0 ||
	    (r = vp_host_facts_gather(t, ctx->stack_dir, want, &facts,
	    &cause)) != 0)
		goto out;
	if ((r = vp_host_plan(want, facts, &ops, &cause)) != 0) {
		vp_fail_prefix(&cause, r, "'%s': step 'plan'", target);
		goto out;
	}
	if (json) {
		pub = vp_host_plan_public(ops, want);
		json_dumpf(pub, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(pub);
	} else if (!ctx->quiet) {
		json_array_foreach(skipped, i, v)
			printf("- role %s: skipped: %s\n", json_string_value(
			    json_object_get(v, "role")), json_string_value(
			    json_object_get(v, "why")));
		if ((r = vp_host_plan_text(ops, want, ctx->verbose, &text)) !=
		    0) {
			r = vp_fail(&cause, r, "cannot format the plan");
			goto out;
		}
		fputs(text.buf, stdout);
	}
	if (apply) {
		fflush(stdout);
		if ((r = vp_catch_interrupts()) != 0) {
			r = vp_fail(&cause, r, "cannot catch SIGINT");
			goto out;
		}
		if ((r = vp_host_apply(t, ctx->stack_dir, want, ops, &res,
		    &cause)) != 0)
			goto out;
		if (!json && !ctx->quiet) {
			printf("applied: %zu changed, %zu already correct, "
			    "verified\n", res.changed, res.noop);
			if (res.confirmed)
				printf("confirmed: sshd/ufw change kept after "
				    "a fresh ssh connection on port %d\n",
				    res.ssh_port ? res.ssh_port : 22);
		}
		/* soft ops that failed (tailscale up): never an error */
		json_array_foreach(res.warnings, i, v)
			fprintf(json ? stderr : stdout, "! %s\n",
			    json_string_value(v));
	}
	if (stats)
		fprintf(stderr, "vpai %s: %s: %u round trip%s, %zu change%s\n",
		    cmd->name, target, vp_target_round_trips(t),
		    vp_target_round_trips(t) == 1 ? "" : "s",
		    vp_host_plan_changes(ops),
		    vp_host_plan_changes(ops) == 1 ? "" : "s");
 out:
	vp_host_result_release(&res);
	vp_target_close(t);
	vp_buf_release_secure(&text);
	vp_pipeline_release(&p);
	json_decref(want);
	json_decref(skipped);
	json_decref(facts);
	json_decref(ops);
	free(def);
	if (r != VP_OK)
		return vp_cmd_error(cmd->name, r, cause);
	free(cause);
	return r;
}

static int
plan_run(struct vp_ctx *ctx, int argc, char **argv)
{
	return run(&vp_cmd_plan, 0, ctx, argc, argv);
}

static int
converge_run(struct vp_ctx *ctx, int argc, char **argv)
{
	return run(&vp_cmd_converge, 1, ctx, argc, argv);
}
