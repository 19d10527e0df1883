/*
 * cmd-host.c: `vpai host facts|plan|apply`, the plumbing under `vpai plan`
 * and `vpai apply`: converge one target to a desired-state JSON file
 * (docs/HOST.md) through the local or ssh transport.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "core/file.h"
#include "core/opt.h"
#include "host/host.h"
#include "transport/transport.h"

static const char host_help[] =
    "Plumbing: `vpai plan` and `vpai apply` drive the same engine with the\n"
    "desired state rendered from the site.  The desired state here is a JSON\n"
    "file (see docs/HOST.md).\n"
    "  facts   gather facts in one round trip and print them as JSON\n"
    "  plan    print what apply would change (unified diffs, secrets masked)\n"
    "  apply   apply the changes in one round trip, then verify them\n"
    "TARGET is 'local' or 'ssh://[user@]host[:port]'.  ssh honours\n"
    "~/.ssh/config, the agent and known_hosts; BatchMode is on under CI or\n"
    "without a terminal.  Exit 0 on success (plan: also when changes are\n"
    "pending; --stats prints round trips and the number of changes).\n";

static int	host_run(struct vp_ctx *, int, char **);

const struct vp_cmd vp_cmd_host = {
	"host", "plumbing: facts, plan and apply for one target host",
	"host facts|plan|apply --target TARGET [--want FILE] [options]",
	host_help, host_run
};

static int
load_want(const char *path, json_t **want, char **cause)
{
	json_error_t	 je;
	int		 r;

	*want = NULL;
	if (path == NULL)
		return vp_fail(cause, VP_ERR_USAGE, "--want FILE is required");
	if ((*want = json_load_file(path, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL)
		return vp_fail(cause, VP_ERR_PARSE, "%s:%d: %s", path, je.line,
		    je.text);
	if ((r = vp_host_want_check(*want, path, cause)) != 0) {
		json_decref(*want);
		*want = NULL;
	}
	return r;
}

/*
 * --state FILE: {"targets": {"TARGET": {"ssh_port": N}}}.  Remembers the
 * sshd port a confirmed apply moved to, for later runs.
 */
static int
state_port(const char *path, const char *target)
{
	json_t	*st;
	int	 port;

	if (path == NULL || (st = json_load_file(path, 0, NULL)) == NULL)
		return 0;
	port = (int)json_integer_value(json_object_get(json_object_get(
	    json_object_get(st, "targets"), target), "ssh_port"));
	json_decref(st);
	return port;
}

static int
state_save(const char *path, const char *target, int port, char **cause)
{
	json_t		*st, *ts;
	char		*dump = NULL;
	int		 r;

	if ((st = json_load_file(path, 0, NULL)) == NULL || !json_is_object(st)) {
		json_decref(st);
		st = json_object();
	}
	if (!json_is_object(ts = json_object_get(st, "targets"))) {
		ts = json_object();
		json_object_set_new(st, "targets", ts);
	}
	json_object_set_new(ts, target, json_pack("{s:i}", "ssh_port", port));
	if ((dump = json_dumps(st, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL)
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	else
		r = vp_file_write_atomic(path, dump, strlen(dump), 0600,
		    (uid_t)-1, (gid_t)-1, cause);
	free(dump);
	json_decref(st);
	return r;
}

static int
host_run(struct vp_ctx *ctx, int argc, char **argv)
{
	const char		*target = NULL, *want_path = NULL;
	const char		*ssh_config = NULL, *identity = NULL, *sub;
	const char		*state = NULL;
	int			 port = 0, become = 0, json = 0, verbose = 0;
	int			 stats = 0, timeout = 0;
	const struct vp_option	 opts[] = {
		VP_OPT_STRING('t', "target", &target, "TARGET",
		    "local or ssh://[user@]host[:port]"),
		VP_OPT_STRING('w', "want", &want_path, "FILE",
		    "desired state (JSON)"),
		VP_OPT_STRING('F', "ssh-config", &ssh_config, "FILE",
		    "ssh client config (default ~/.ssh/config)"),
		VP_OPT_STRING('i', "identity", &identity, "FILE",
		    "ssh private key (default: agent/config)"),
		VP_OPT_INT('p', "ssh-port", &port, "PORT",
		    "ssh port (overrides the target's)"),
		VP_OPT_BOOL('b', "become", &become,
		    "run as root through 'sudo -n'"),
		VP_OPT_INT(0, "timeout", &timeout, "SECONDS",
		    "give up on one round trip after this long"),
		VP_OPT_STRING(0, "state", &state, "FILE",
		    "remember the ssh port a confirmed apply moved to"),
		VP_OPT_BOOL(0, "json", &json, "print JSON"),
		VP_OPT_COUNT('v', "verbose", &verbose,
		    "also list what is already correct"),
		VP_OPT_BOOL(0, "stats", &stats,
		    "print round trips and counts on stderr"),
		VP_OPT_END()
	};
	struct vp_target_opts	 to = VP_TARGET_OPTS_INIT;
	struct vp_target	*t = NULL;
	struct vp_host_result	 res = VP_HOST_RESULT_INIT;
	struct vp_buf		 text = VP_BUF_INIT(64u << 20);
	json_t			*want = NULL, *facts = NULL, *ops = NULL, *pub;
	char			**pos = NULL, *cause = NULL;
	size_t			 i;
	int			 npos = 0, r;

	r = vp_opt_parse(argc, argv, opts, &pos, &npos, &cause);
	if (r == VP_OPT_HELP) {
		vp_cmd_usage(stdout, &vp_cmd_host, opts);
		r = VP_OK;
		goto out;
	}
	if (r != VP_OK)
		goto out;
	if (npos != 1 || (strcmp(pos[0], "facts") && strcmp(pos[0], "plan") &&
	    strcmp(pos[0], "apply"))) {
		r = vp_fail(&cause, VP_ERR_USAGE, "expected one of facts, plan, "
		    "apply%s%s%s", npos ? " (not '" : "", npos ? pos[0] : "",
		    npos ? "')" : "");
		goto out;
	}
	sub = pos[0];
	if (target == NULL) {
		r = vp_fail(&cause, VP_ERR_USAGE, "--target is required");
		goto out;
	}
	if ((want_path != NULL || strcmp(sub, "facts") != 0) &&
	    (r = load_want(want_path, &want, &cause)) != 0)
		goto out;
	to.ssh_config = ssh_config;
	to.identity = identity;
	to.port = port > 0 ? port : state_port(state, target);
	to.become = become;
	to.timeout_ms = timeout > 0 ? timeout * 1000 : 0;
	if ((r = vp_target_open(target, &to, &t, &cause)) != 0)
		goto out;
	if ((r = vp_host_facts_gather(t, ctx->stack_dir, want, &facts,
	    &cause)) != 0)
		goto out;
	if (strcmp(sub, "facts") == 0) {
		/* file contents may hold the want's secrets: mask them */
		char *dump = json_dumps(facts, JSON_INDENT(2) | JSON_SORT_KEYS);

		if (dump == NULL || (r = vp_buf_adds(&text, dump)) != 0 ||
		    (r = vp_host_mask(&text, want)) != 0) {
			if (dump != NULL)
				explicit_bzero(dump, strlen(dump));
			free(dump);
			r = vp_fail(&cause, VP_ERR_NOMEM, "cannot format facts");
			goto out;
		}
		explicit_bzero(dump, strlen(dump));
		free(dump);
		printf("%s\n", text.buf);
		goto done;
	}
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
		if ((r = vp_host_plan_text(ops, want, verbose, &text)) != 0) {
			r = vp_fail(&cause, r, "cannot format the plan");
			goto out;
		}
		fputs(text.buf, stdout);
	}
	if (strcmp(sub, "plan") == 0)
		goto done;
	fflush(stdout);
	if ((r = vp_host_apply(t, ctx->stack_dir, want, ops, &res,
	    &cause)) != 0)
		goto out;
	if (!json && !ctx->quiet)
		printf("applied: %zu changed, %zu already correct, verified\n",
		    res.changed, res.noop);
	for (i = 0; i < json_array_size(res.warnings); i++)
		fprintf(json ? stderr : stdout, "! %s\n", json_string_value(
		    json_array_get(res.warnings, i)));
	if (res.confirmed && !json && !ctx->quiet)
		printf("confirmed: sshd/ufw change kept after a fresh ssh "
		    "connection on port %d\n", res.ssh_port ? res.ssh_port :
		    22);
	if (res.confirmed && res.ssh_port > 0 && res.ssh_port != to.port &&
	    !(to.port == 0 && res.ssh_port == 22)) {
		if (state != NULL && (r = state_save(state, target,
		    res.ssh_port, &cause)) != 0)
			goto out;
		fprintf(stderr, "vpai: note: sshd now listens on port %d%s%s\n",
		    res.ssh_port, state ? "; remembered in " : "; use -p ",
		    state ? state : "to reach it");
	}
 done:
	if (stats)
		fprintf(stderr, "vpai host %s: %s: %u round trip%s, %zu "
		    "change%s\n", sub, target, vp_target_round_trips(t),
		    vp_target_round_trips(t) == 1 ? "" : "s",
		    ops ? vp_host_plan_changes(ops) : 0,
		    ops && vp_host_plan_changes(ops) == 1 ? "" : "s");
 out:
	vp_host_result_release(&res);
	vp_target_close(t);
	vp_buf_release_secure(&text);
	json_decref(want);
	json_decref(facts);
	json_decref(ops);
	free(pos);
	if (r != VP_OK)
		return vp_cmd_error("host", r, cause);
	free(cause);
	return r;
}
