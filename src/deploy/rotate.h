/*
 * rotate.h: live secret rotation (`vpai rotate-secrets`).
 *
 * Calling sequence (cmd-rotate.c):
 *	rotate_select(cat, secrets, names, n, &sel, &cause)   which, and how
 *	    (no names: every rotatable secret; sel.skip says what was left
 *	    out and why; rotate_sel_drop() moves an item there, e.g. when
 *	    the service its API lives in is not running)
 *	rotate_generate(cat, secrets, &sel, &newsec, &cause)   new values
 *	rotate_grafana_admin(url, user, old, new, &cause)     ROTATE_API items,
 *	rotate_n8n_owner(url, email, old, new, &cause)        each verified
 *	    (first: n8n's logins open database connections with its current
 *	    role password)
 *	rotate_pg_roles(pg_ctr, &sel, newsec, &cause)         ALTER ROLE
 *	(re-render and apply with newsec, health-gated)
 *	success: write the vault with newsec
 *	failure: the API items changed back (new -> old),
 *	         rotate_pg_roles(pg_ctr, &sel, secrets, ...)  back to old,
 *	         re-apply with the old secrets; the vault is untouched
 *
 * Ownership: struct rotate_sel owns its names and skip reasons; json_t
 * results are new references.  Library code: never prints; no secret
 * value is ever put in argv or in a cause.
 */
#ifndef VP_ROTATE_H
#define VP_ROTATE_H

#include <stddef.h>

#include <jansson.h>

#include "core/child.h"
#include "core/err.h"

enum rotate_how {
	ROTATE_PG_ROLE,		/* ALTER ROLE live, then re-render + restart */
	ROTATE_RERENDER,	/* re-render + restart its services */
	ROTATE_API,		/* changed in the service's own database through
				   its API (service), then re-render */
};

struct rotate_item {
	char		*name;
	enum rotate_how	 how;
	const char	*role;	/* ROTATE_PG_ROLE: the PostgreSQL role */
	const char	*service;	/* ROTATE_API: grafana or n8n */
};

struct rotate_skip {
	char	*name;
	char	*why;
};

struct rotate_sel {
	struct rotate_item	*v;
	size_t			 n;
	struct rotate_skip	*skip;	/* left out of a rotate-all, and why */
	size_t			 nskip;
};
#define ROTATE_SEL_INIT	{ NULL, 0, NULL, 0 }

/*
 * Which secrets to rotate: names.  An unknown name is VP_ERR_NOTFOUND
 * with a did-you-mean; a secret with rotatable: false, an external one,
 * or one that cannot be applied to a running service is VP_ERR_REFUSED
 * with the reason.  No names: every secret of the catalogue that has a
 * live method and a value; every other one is put in sel->skip with the
 * reason (not rotatable: the catalogue's why; external; no value).
 */
int	rotate_select(const json_t *cat, const json_t *secrets,
	    char *const *names, size_t n, struct rotate_sel *, char **cause);
/* Move item i of sel to sel->skip with reason why. */
int	rotate_sel_drop(struct rotate_sel *, size_t i, const char *why);
void	rotate_sel_release(struct rotate_sel *);

/*
 * A copy of secrets with new values (catalogue shapes) for sel.  A value
 * the service would refuse is drawn again: n8n_owner_password must hold a
 * digit and an uppercase letter (n8n's password rules).
 */
int	rotate_generate(const json_t *cat, const json_t *secrets,
	    const struct rotate_sel *, json_t **out, char **cause);

/*
 * Set the password of every ROTATE_PG_ROLE role of sel to its value in
 * values, in one transaction, through `docker exec -i CTR psql` as the
 * postgres superuser over the local socket: the SQL (and so the
 * passwords) only travel on stdin, with log_statement and
 * log_min_error_statement turned off for that session.  Nothing to do:
 * VP_OK.
 */
int	rotate_pg_roles(const char *ctr, const struct rotate_sel *,
	    const json_t *values, char **cause);

/* 1 when sel holds a ROTATE_PG_ROLE item. */
int	rotate_has_pg(const struct rotate_sel *);

/* 1 when value passes n8n 1.x's password rules (8-64, a digit, A-Z). */
int	rotate_n8n_password_ok(const char *value);

/*
 * Grafana's admin password, from oldpw to newpw, through Grafana's HTTP
 * API at url ("http://IP:3000"): PUT /api/user/password {oldPassword,
 * newPassword, confirmNew} as user (basic auth), then verified: GET
 * /api/user answers 200 with newpw and 401 with oldpw.  Passwords travel
 * only in request headers and bodies (libcurl, in this process).
 * VP_ERR_REFUSED when Grafana refuses oldpw (the vault and Grafana
 * disagree: nothing was changed).
 */
int	rotate_grafana_admin(const char *url, const char *user,
	    const char *oldpw, const char *newpw, char **cause);

/*
 * The n8n owner's password, through n8n's REST API at url
 * ("http://IP:5678"): POST /rest/login {emailOrLdapLoginId, password}
 * for the n8n-auth cookie, PATCH /rest/me/password {currentPassword,
 * newPassword}, then verified: a login with newpw works and one with
 * oldpw is refused.  n8n rate-limits /rest/login (5 a minute in
 * production): a 429 is waited out (up to twice, for its Retry-After,
 * at most 61 s).
 * VP_ERR_REFUSED when n8n refuses oldpw (nothing was changed).
 */
int	rotate_n8n_owner(const char *url, const char *email,
	    const char *oldpw, const char *newpw, char **cause);

#endif
