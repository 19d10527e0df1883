/*
 * smoke.h: the post-deploy smoke test: every check runs in its own
 * thread with its own timeout; HTTP and TLS through libcurl.
 *
 *	struct smoke_opts o = { ... };		all strings borrowed
 *	struct smoke_report rep = SMOKE_REPORT_INIT;
 *	r = smoke_run(&o, &rep, &cause);	VP_OK even if checks fail
 *	... rep.v[i].name, .ok, .ms, .detail; rep.failed, rep.wall_ms ...
 *	smoke_report_release(&rep);
 *
 * Ownership: the report owns its strings; smoke_report_release() accepts
 * NULL and a zeroed report.  Secrets (LiteLLM master key, Redis
 * password) are borrowed, never copied into argv, details or causes: the
 * Redis password reaches redis-cli through `docker exec -i` stdin.
 * Library code: never prints.
 */
#ifndef VP_SMOKE_H
#define VP_SMOKE_H

#include <stddef.h>

struct smoke_opts {
	const char	*project;	/* compose project */
	const char	*domain;	/* public vhost, e.g. vpai.localhost */
	const char	*admin_host;	/* admin vhost, e.g. admin.vpai.localhost */
	const char	*base_url;	/* NULL: https://<domain> */
	const char	*resolve_ip;	/* NULL: from DNS (127.0.0.1 for *.localhost) */
	const char	*cafile;	/* CA bundle to trust, NULL: system */
	const char	*caddyfile;	/* rendered Caddyfile text (admin routes) */
	const char	*litellm_key;	/* secret, borrowed */
	const char	*redis_password; /* secret, borrowed */
	int		 timeout_ms;	/* per check; 0: 10000 */
};

struct smoke_check {
	char		*name;
	int		 ok;
	long long	 ms;
	char		*detail;
};

struct smoke_report {
	struct smoke_check	*v;
	size_t			 n;
	size_t			 failed;
	long long		 wall_ms;
	long long		 slowest_ms;
};
#define SMOKE_REPORT_INIT	{ NULL, 0, 0, 0, 0 }

int	smoke_run(const struct smoke_opts *, struct smoke_report *,
	    char **cause);
void	smoke_report_release(struct smoke_report *);

/*
 * The admin routes of a rendered Caddyfile: "/" plus "/X/" for every
 * handle_path or handle /X/... inside the block whose address starts with
 * admin_host.  *routes is a NULL-terminated allocated array (free each
 * and the array).  VP_ERR_NOTFOUND when there is no such block.
 */
int	smoke_admin_routes(const char *caddyfile, const char *admin_host,
	    char ***routes, size_t *n, char **cause);

#endif
