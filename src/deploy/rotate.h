/*
 * rotate.h: live secret rotation (`vpai rotate-secrets`).
 *
 * Calling sequence (cmd-rotate.c):
 *	rotate_select(cat, secrets, names, n, &sel, &cause)   which, and how
 *	rotate_generate(cat, secrets, &sel, &newsec, &cause)   new values
 *	rotate_pg_roles(pg_ctr, &sel, newsec, &cause)         ALTER ROLE
 *	(re-render and apply with newsec, health-gated)
 *	success: write the vault with newsec
 *	failure: rotate_pg_roles(pg_ctr, &sel, secrets, ...)  back to old,
 *	         re-apply with the old secrets; the vault is untouched
 *
 * Ownership: struct rotate_sel owns its names; json_t results are new
 * references.  Library code: never prints; no secret value is ever put
 * in argv or in a cause.
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
};

struct rotate_item {
	char		*name;
	enum rotate_how	 how;
	const char	*role;	/* ROTATE_PG_ROLE: the PostgreSQL role */
};

struct rotate_sel {
	struct rotate_item	*v;
	size_t			 n;
};
#define ROTATE_SEL_INIT	{ NULL, 0 }

/*
 * Which secrets to rotate: names (none: every secret that rotation
 * handles and that has a value).  An unknown name is VP_ERR_NOTFOUND with
 * a did-you-mean; a secret with rotatable: false, an external one, or one
 * that cannot be applied to a running service is VP_ERR_REFUSED with the
 * reason.
 */
int	rotate_select(const json_t *cat, const json_t *secrets,
	    char *const *names, size_t n, struct rotate_sel *, char **cause);
void	rotate_sel_release(struct rotate_sel *);

/* A copy of secrets with new values (catalogue shapes) for sel. */
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

#endif
