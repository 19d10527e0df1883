/*
 * cmd-smoke.c: `vpai smoke`: the post-deploy smoke test (deploy/smoke.h)
 * against the deployed stack: human lines, --json, --junit FILE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "core/buf.h"
#include "core/file.h"
#include "core/opt.h"
#include "deploy/smoke.h"
#include "host/host.h"
#include "site/site.h"
#include "transport/transport.h"

extern const struct vp_cmd vp_cmd_smoke;

static void
xml_escape(struct vp_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': vp_buf_adds(b, "&lt;"); break;
		case '>': vp_buf_adds(b, "&gt;"); break;
		case '&': vp_buf_adds(b, "&amp;"); break;
		case '"': vp_buf_adds(b, "&quot;"); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n')
				vp_buf_addc(b, *s);
		}
	}
}

static int
write_junit(const char *path, const struct smoke_report *rep, char **cause)
{
	struct vp_buf	b = VP_BUF_INIT(8u << 20);
	size_t		i;
	int		r;

	vp_buf_addf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuites>\n<testsuite name=\"vpai-smoke\" tests=\"%zu\" "
	    "failures=\"%zu\" errors=\"0\" time=\"%.3f\">\n", rep->n,
	    rep->failed, rep->wall_ms / 1000.0);
	for (i = 0; i < rep->n; i++) {
		const struct smoke_check *c = &rep->v[i];

		vp_buf_adds(&b, "  <testcase classname=\"smoke\" name=\"");
		xml_escape(&b, c->name);
		vp_buf_addf(&b, "\" time=\"%.3f\">", c->ms / 1000.0);
		if (!c->ok) {
			vp_buf_adds(&b, "<failure message=\"");
			xml_escape(&b, c->detail);
			vp_buf_adds(&b, "\"/>");
		} else {
			vp_buf_adds(&b, "<system-out>");
			xml_escape(&b, c->detail);
			vp_buf_adds(&b, "</system-out>");
		}
		vp_buf_adds(&b, "</testcase>\n");
	}
	if ((r = vp_buf_adds(&b, "</testsuite>\n</testsuites>\n")) == 0)
		r = vp_file_write_atomic(path, b.buf, b.len, 0644,
		    (uid_t)-1, (gid_t)-1, cause);
	vp_buf_release(&b);
	return r;
}

static int
print_json(const struct smoke_report *rep)
{
	json_t	*o, *arr, *c;
	char	*s;
	size_t	 i;
	int	 r = VP_ERR_NOMEM;

	if ((o = json_object()) == NULL)
		return r;
	if ((arr = json_array()) == NULL ||
	    json_object_set_new(o, "checks", arr) != 0)
		goto out;
	for (i = 0; i < rep->n; i++) {
		c = json_pack("{s:s,s:b,s:I,s:s}", "name", rep->v[i].name,
		    "ok", rep->v[i].ok, "ms", (json_int_t)rep->v[i].ms,
		    "detail", rep->v[i].detail);
		if (c == NULL || json_array_append_new(arr, c) != 0)
			goto out;
	}
	if (json_object_set_new(o, "ok", json_boolean(rep->failed == 0)) ||
	    json_object_set_new(o, "failed", json_integer(rep->failed)) ||
	    json_object_set_new(o, "wall_ms", json_integer(rep->wall_ms)) ||
	    json_object_set_new(o, "slowest_ms",
	    json_integer(rep->slowest_ms)))
		goto out;
	if ((s = json_dumps(o, JSON_INDENT(2))) == NULL)
		goto out;
	printf("%s\n", s);
	free(s);
	r = VP_OK;
 out:
	json_decref(o);
	return r;
}

/* The bytes of path on the target (cat through the transport). */
static int
remote_read(struct vp_target *t, const char *path, struct vp_buf *out,
    char **cause)
{
	struct vp_target_result	 res = VP_TARGET_RESULT_INIT;
	const char		*argv[] = { "cat", "--", path, NULL };
	int			 r;

	if ((r = vp_target_run(t, argv, NULL, 0, &res, cause)) != 0)
		goto out;
	if (res.status != 0) {
		res.err.buf[strcspn(res.err.buf, "\n")] = '\0';
		r = vp_fail(cause, VP_ERR_NOTFOUND, "'%s': %s",
		    vp_target_name(t), res.err.buf);
		goto out;
	}
	r = vp_buf_add(out, res.out.buf, res.out.len);
 out:
	vp_target_result_release(&res);
	return r;
}

static int
smoke_main(struct vp_ctx *ctx, int argc, char **argv)
{
	struct vp_pipeline	 p = VP_PIPELINE_INIT;
	struct vp_pipeline_opts	 po;
	struct smoke_opts	 so;
	struct smoke_report	 rep = SMOKE_REPORT_INIT;
	struct vp_buf		 cf = VP_BUF_INIT(1u << 20);
	const json_t		*vars;
	const char		*env = NULL, *junit = NULL, *base = NULL;
	const char		*resolve = NULL, *sfile = NULL, *pwfile = NULL;
	const char		*cafile = NULL, *project = NULL, *root, *tls;
	char			**pos = NULL, *cause = NULL, *admin = NULL;
	char			*cfpath = NULL, *ca = NULL;
	const char		*target = NULL, *ssh_config = NULL;
	const char		*identity = NULL;
	struct vp_target_opts	 to = VP_TARGET_OPTS_INIT;
	struct vp_target	*tg = NULL;
	struct vp_host_remote	 rm = VP_HOST_REMOTE_INIT;
	struct vp_buf		 crt = VP_BUF_INIT(1u << 20);
	char			 cadir[] = "/tmp/vpai-smoke.XXXXXX";
	size_t			 i;
	int			 npos = 0, r, json = 0, timeout = 10000;
	int			 sshport = 0, become = 0, remote_on = 0;
	int			 mkd = 0;
	const struct vp_option	 opts[] = {
		VP_OPT_STRING('e', "env", &env, "ENV",
		    "prod or preprod (default: the site's)"),
		VP_OPT_BOOL(0, "json", &json, "print a JSON report"),
		VP_OPT_STRING(0, "junit", &junit, "FILE",
		    "also write a JUnit XML report"),
		VP_OPT_INT(0, "timeout-ms", &timeout, "N",
		    "per-check timeout (default 10000)"),
		VP_OPT_STRING(0, "base-url", &base, "URL",
		    "scheme and port Caddy answers on (default https://DOMAIN)"),
		VP_OPT_STRING(0, "resolve", &resolve, "HOST:IP",
		    "pin the vhost names to IP (default 127.0.0.1 for "
		    "*.localhost)"),
		VP_OPT_STRING(0, "cafile", &cafile, "FILE",
		    "CA to trust (default: Caddy's local CA with tls internal)"),
		VP_OPT_STRING(0, "secrets", &sfile, "FILE",
		    "plain YAML secrets instead of the vault (tests)"),
		VP_OPT_STRING(0, "vault-password-file", &pwfile, "FILE",
		    "the vault password (or an executable printing it)"),
		VP_OPT_STRING('p', "project", &project, "NAME",
		    "compose project (default: the site's project_name)"),
		VP_OPT_STRING(0, "target", &target, "TARGET",
		    "local (default) or ssh://[user@]host[:port]: container "
		    "checks run there"),
		VP_OPT_STRING('F', "ssh-config", &ssh_config, "FILE",
		    "ssh client config (default ~/.ssh/config)"),
		VP_OPT_STRING('i', "identity", &identity, "FILE",
		    "ssh private key (default: agent/config)"),
		VP_OPT_INT(0, "ssh-port", &sshport, "PORT",
		    "ssh port (overrides the target's)"),
		VP_OPT_BOOL('b', "become", &become,
		    "on the target, run as root through 'sudo -n'"),
		VP_OPT_END()
	};

	r = vp_cmd_parse(&vp_cmd_smoke, argc, argv, opts, 0, &pos, &npos);
	free(pos);
	if (r != VP_OK)
		return r == VP_OPT_HELP ? VP_OK : r;
	memset(&po, 0, sizeof(po));
	po.env = env;
	po.secrets_file = sfile;
	po.vault_password_file = pwfile;
	po.no_render = 1;
	if ((r = vp_pipeline_load(ctx, &po, &p, &cause)) != 0)
		goto out;
	vars = site_vars(p.site);
	memset(&so, 0, sizeof(so));
	so.project = project ? project : json_string_value(json_object_get(
	    vars, "project_name"));
	so.domain = json_string_value(json_object_get(vars, "domain_name"));
	root = json_string_value(json_object_get(vars, "stack_root"));
	tls = json_string_value(json_object_get(vars, "caddy_tls"));
	if (so.project == NULL || so.domain == NULL || root == NULL) {
		r = vp_fail(&cause, VP_ERR_INVALID, "site: project_name, "
		    "domain_name and stack_root are required");
		goto out;
	}
	if (asprintf(&admin, "%s.%s", json_string_value(json_object_get(vars,
	    "admin_subdomain")) ? json_string_value(json_object_get(vars,
	    "admin_subdomain")) : "admin", so.domain) < 0) {
		admin = NULL;
		r = VP_ERR_NOMEM;
		goto out;
	}
	so.admin_host = admin;
	if ((cfpath = vp_path_join(root, "configs/caddy/Caddyfile")) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
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
	if ((r = tg ? remote_read(tg, cfpath, &cf, &cause) :
	    vp_file_read(cfpath, &cf, &cause)) != 0 ||
	    (r = vp_buf_addc(&cf, '\0')) != 0) {
		vp_fail_prefix(&cause, r, "the deployed Caddyfile (run 'vpai "
		    "apply' first)");
		goto out;
	}
	so.caddyfile = cf.buf;
	if (cafile == NULL && tls != NULL && strcmp(tls, "internal") == 0) {
		if ((ca = vp_path_join(root, "data/caddy/data/caddy/pki/"
		    "authorities/local/root.crt")) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		cafile = ca;
		/* the target's Caddy CA, copied to a private local file */
		if (tg != NULL && remote_read(tg, ca, &crt, NULL) == 0) {
			free(ca);
			ca = NULL;
			if (mkdtemp(cadir) == NULL) {
				r = vp_fail(&cause, VP_ERR_IO, "mkdtemp: %s",
				    strerror(errno));
				goto out;
			}
			mkd = 1;
			if ((ca = vp_path_join(cadir, "root.crt")) == NULL) {
				r = VP_ERR_NOMEM;
				goto out;
			}
			if ((r = vp_file_write_atomic(ca, crt.buf, crt.len,
			    0600, (uid_t)-1, (gid_t)-1, &cause)) != 0)
				goto out;
			cafile = ca;
		}
	}
	so.cafile = cafile;
	so.base_url = base;
	if (resolve != NULL) {
		const char *ip = strrchr(resolve, ':');

		/* HOST:IP, or a bare IP; an IPv6 address has no HOST: part. */
		so.resolve_ip = ip && strchr(ip + 1, '.') ? ip + 1 : resolve;
	}
	so.timeout_ms = timeout;
	so.litellm_key = json_string_value(json_object_get(p.secrets,
	    "litellm_master_key"));
	so.redis_password = json_string_value(json_object_get(p.secrets,
	    "redis_password"));
	if ((r = smoke_run(&so, &rep, &cause)) != 0)
		goto out;
	if (json) {
		if ((r = print_json(&rep)) != 0)
			goto out;
	} else {
		for (i = 0; i < rep.n; i++)
			printf("%-4s %-22s %6lldms  %s\n", rep.v[i].ok ? "ok" :
			    "FAIL", rep.v[i].name, rep.v[i].ms,
			    rep.v[i].detail);
		printf("%zu of %zu checks passed in %lldms (slowest check "
		    "%lldms)\n", rep.n - rep.failed, rep.n, rep.wall_ms,
		    rep.slowest_ms);
	}
	if (junit != NULL && (r = write_junit(junit, &rep, &cause)) != 0)
		goto out;
	if (rep.failed > 0) {
		struct vp_buf names = VP_BUF_INIT(4096);

		for (i = 0; i < rep.n; i++)
			if (!rep.v[i].ok)
				vp_buf_addf(&names, "%s'%s'", names.len ?
				    ", " : "", rep.v[i].name);
		r = vp_fail(&cause, VP_ERR_HEALTH, "%zu check(s) failed: %s",
		    rep.failed, names.len ? names.buf : "?");
		vp_buf_release(&names);
	}
 out:
	if (remote_on)
		vp_host_remote_end(&rm);
	vp_target_close(tg);
	if (mkd) {
		if (ca != NULL)
			unlink(ca);
		rmdir(cadir);
	}
	vp_buf_release(&crt);
	smoke_report_release(&rep);
	vp_buf_release(&cf);
	vp_pipeline_release(&p);
	free(admin);
	free(cfpath);
	free(ca);
	if (r != 0)
		return vp_cmd_error("smoke", r, cause);
	return VP_OK;
}

const struct vp_cmd vp_cmd_smoke = {
	"smoke", "run the post-deploy smoke test (every check in parallel)",
	"smoke [--env ENV] [--json] [--junit FILE] [--timeout-ms N] "
	    "[--base-url URL] [--resolve HOST:IP] [--target ssh://...]",
	"Checks, in parallel, each with its own timeout: HTTPS /health, the\n"
	"TLS certificate (verified; days to expiry), DNS of both vhosts,\n"
	"n8n healthz (direct and through Caddy), Grafana health (following\n"
	"redirects), LiteLLM health and model list (master key from the\n"
	"secrets), pg_isready and redis PING in their containers (password\n"
	"through the environment, never argv), Qdrant healthz, and 403 on\n"
	"every admin route of the deployed Caddyfile from outside the VPN.\n"
	"With caddy_tls internal, Caddy's local CA under the stack root is\n"
	"trusted explicitly.  Exits 0 only when every check passes.\n"
	"With --target ssh://..., docker runs on that host: the direct checks\n"
	"run the probe inside their containers there, redis gets its password\n"
	"on stdin, the Caddyfile and CA are read from there; the HTTPS checks\n"
	"go to the site's public names (--resolve to pin the target's IP).\n",
	smoke_main
};
