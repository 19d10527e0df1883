/*
 * cmd-status.c: `vpai status`: one row per container of the project:
 * state, health, uptime, restarts, memory use against its limit, image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "core/file.h"
#include "core/opt.h"
#include "deploy/deploy.h"
#include "host/host.h"
#include "site/site.h"
#include "transport/transport.h"

extern const struct vp_cmd vp_cmd_status;

static void
fmt_bytes(long long v, char *out, size_t len)
{
	if (v < 0)
		snprintf(out, len, "-");
	else if (v >= 1LL << 30)
		snprintf(out, len, "%.1fG", v / 1073741824.0);
	else if (v >= 1LL << 20)
		snprintf(out, len, "%.1fM", v / 1048576.0);
	else
		snprintf(out, len, "%.0fK", v / 1024.0);
}

static void
fmt_uptime(long long s, char *out, size_t len)
{
	if (s < 0)
		snprintf(out, len, "-");
	else if (s < 60)
		snprintf(out, len, "%llds", s);
	else if (s < 3600)
		snprintf(out, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, len, "%lldh%02lldm", s / 3600, (s / 60) % 60);
	else
		snprintf(out, len, "%lldd%02lldh", s / 86400, (s / 3600) % 24);
}

/* The project name from the site file (no secrets needed). */
static int
site_project(const struct vp_ctx *ctx, char **out, char **cause)
{
	struct site	*s = NULL;
	char		*file = NULL, *schema = NULL;
	const char	*p;
	int		 r;

	if ((file = vp_pipeline_site_file(ctx)) == NULL ||
	    (schema = vp_path_join(ctx->stack_dir, "site-schema.yml")) ==
	    NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = site_load(file, schema, NULL, &s, cause)) != 0)
		goto out;
	p = json_string_value(json_object_get(site_vars(s), "project_name"));
	if (p == NULL) {
		r = vp_fail(cause, VP_ERR_INVALID, "%s: no project_name", file);
		goto out;
	}
	if ((*out = strdup(p)) == NULL)
		r = VP_ERR_NOMEM;
 out:
	site_free(s);
	free(file);
	free(schema);
	return r;
}

static int
status_run(struct vp_ctx *ctx, int argc, char **argv)
{
	struct deploy_engine	 e = DEPLOY_ENGINE_INIT;
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	const char		*project = NULL, *target = NULL;
	const char		*ssh_config = NULL, *identity = NULL;
	struct vp_target_opts	 to = VP_TARGET_OPTS_INIT;
	struct vp_target	*tg = NULL;
	struct vp_host_remote	 rm = VP_HOST_REMOTE_INIT;
	int			 sshport = 0, become = 0, remote_on = 0;
	char			**pos = NULL, *cause = NULL, *proj = NULL;
	char			 up[32], mu[32], ml[32], mem[80];
	json_t			*arr = NULL, *o;
	long long		 now = (long long)time(NULL), upt;
	size_t			 i, bad = 0;
	int			 npos = 0, r, json = 0;
	const struct vp_option	 opts[] = {
		VP_OPT_BOOL(0, "json", &json, "print a JSON array"),
		VP_OPT_STRING('p', "project", &project, "NAME",
		    "compose project (default: the site's project_name)"),
		VP_OPT_STRING(0, "target", &target, "TARGET",
		    "local (default) or ssh://[user@]host[:port]: docker "
		    "runs there"),
		VP_OPT_STRING('F', "ssh-config", &ssh_config, "FILE",
		    "ssh client config (default ~/.ssh/config)"),
		VP_OPT_STRING('i', "identity", &identity, "FILE",
		    "ssh private key (default: agent/config)"),
		VP_OPT_INT(0, "ssh-port", &sshport, "PORT",
		    "ssh port (overrides the target's)"),
		VP_OPT_BOOL('b', "become", &become,
		    "on the target, run docker through 'sudo -n'"),
		VP_OPT_END()
	};

	r = vp_cmd_parse(&vp_cmd_status, argc, argv, opts, 0, &pos, &npos);
	free(pos);
	if (r != VP_OK)
		return r == VP_OPT_HELP ? VP_OK : r;
	if (project == NULL) {
		if ((r = site_project(ctx, &proj, &cause)) != 0)
			goto out;
		project = proj;
	}
	if (target != NULL && strcmp(target, "local") != 0) {
		to.ssh_config = ssh_config;
		to.identity = identity;
		to.port = sshport;
		to.become = become;
		if ((r = vp_target_open(target, &to, &tg, &cause)) != 0 ||
		    (r = vp_host_remote_connect(tg, &cause)) != 0)
			goto out;
		vp_host_remote_begin(&rm, tg);
		remote_on = 1;
	}
	if ((r = deploy_engine_detect(&e, &cause)) != 0 ||
	    (r = deploy_list(project, &cs, &cause)) != 0 ||
	    (r = deploy_mem_usage(&cs, &cause)) != 0)
		goto out;
	if (cs.n == 0) {
		r = vp_fail(&cause, VP_ERR_NOTFOUND, "no containers for project "
		    "'%s' (not deployed yet? run 'vpai apply')", project);
		goto out;
	}
	if (json && (arr = json_array()) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if (!json)
		printf("%-16s %-10s %-9s %-8s %-8s %-17s %s\n", "SERVICE",
		    "STATE", "HEALTH", "UPTIME", "RESTARTS", "MEMORY/LIMIT",
		    "IMAGE");
	for (i = 0; i < cs.n; i++) {
		const struct deploy_ctr *c = &cs.v[i];

		upt = strcmp(c->state, "running") == 0 && c->started > 0 ?
		    now - c->started : -1;
		if (deploy_gate(c, c->restarts) != 1)
			bad++;
		if (json) {
			o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:i,s:I,s:I,"
			    "s:s,s:s}", "service", c->service, "container",
			    c->name, "phase", c->phase, "state", c->state,
			    "health", *c->health ? c->health : "none",
			    "uptime_s", (json_int_t)upt, "restarts",
			    c->restarts, "mem_use", (json_int_t)c->mem_use,
			    "mem_limit", (json_int_t)c->mem_limit, "image",
			    c->image, "config_hash", c->config_hash);
			if (o == NULL || json_array_append_new(arr, o) != 0) {
				r = VP_ERR_NOMEM;
				goto out;
			}
			continue;
		}
		fmt_uptime(upt, up, sizeof(up));
		fmt_bytes(c->mem_use, mu, sizeof(mu));
		if (c->mem_limit > 0)
			fmt_bytes(c->mem_limit, ml, sizeof(ml));
		else
			snprintf(ml, sizeof(ml), "none");
		snprintf(mem, sizeof(mem), "%s/%s", mu, ml);
		printf("%-16s %-10s %-9s %-8s %-8d %-17s %s\n", c->service,
		    c->state, *c->health ? c->health : "-", up, c->restarts,
		    mem, c->image);
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2));

		if (s == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		printf("%s\n", s);
		free(s);
	}
	if (bad > 0)
		r = vp_fail(&cause, VP_ERR_HEALTH, "%zu of %zu services not "
		    "healthy", bad, cs.n);
 out:
	if (remote_on)
		vp_host_remote_end(&rm);
	vp_target_close(tg);
	json_decref(arr);
	deploy_ctrs_release(&cs);
	deploy_engine_release(&e);
	free(proj);
	if (r != 0)
		return vp_cmd_error("status", r, cause);
	return VP_OK;
}

const struct vp_cmd vp_cmd_status = {
	"status", "show each service: state, health, uptime, memory, image",
	"status [--json] [--project NAME] [--target ssh://[user@]host[:port] "
	    "[-F SSH_CONFIG] [-i KEY] [--ssh-port N] [--become]]",
	"One row per container of the compose project: state, health,\n"
	"uptime, restart count, memory use against its limit (cgroup files,\n"
	"else docker stats), and image.  Exits non-zero (health) when a\n"
	"service is not running and healthy.  With --target ssh://..., docker\n"
	"runs on that host over one ssh connection (memory from docker stats).\n",
	status_run
};
