/*
 * check.h: `vpai check`, the policy rules run over a rendered deployment.
 *
 * Input: the site variables (site_vars()), the secrets (name -> value),
 * the rendered bundle (stack.h: files + model, whose "compose" member is
 * the compose document as JSON and whose "services" member is the
 * normalised service catalogue) and the policy (stack/policy.yml, the
 * designed network matrix, allowed ports, RAM headroom...).  Every input
 * is borrowed and may be NULL when a caller has none; a rule that needs a
 * missing input reports nothing.
 *
 * Output: findings, each {severity, rule id, where, message, hint}.  The
 * rule id is static; the other strings are owned by the report.  Secret
 * VALUES never appear in a finding, only secret names.
 *
 *	struct check_input in = { vars, secrets, bundle, compose, services,
 *	    policy, stack_dir, NULL };
 *	struct check_report rep = CHECK_REPORT_INIT;
 *	if ((r = check_run(&in, NULL, &rep, &cause)) != 0)
 *		goto out;	internal failure (NOMEM...), not findings
 *	check_report_sort(&rep);	errors first, then by rule, stable
 *	... rep.nerr != 0 -> VP_ERR_CHECK
 *	check_report_release(&rep);
 *
 * Library code: never prints.
 */
#ifndef VP_CHECK_H
#define VP_CHECK_H

#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"

struct bundle;

enum check_sev {
	CHECK_ERROR = 0,
	CHECK_WARNING = 1,
};

struct check_finding {
	enum check_sev	 sev;
	const char	*rule;		/* static, e.g. "ram-budget" */
	char		*where;		/* key path or FILE:LINE */
	char		*msg;
	char		*hint;		/* how to fix, or NULL */
};

struct check_report {
	struct check_finding	*v;
	size_t			 n;
	size_t			 alloc;
	size_t			 nerr;
	size_t			 nwarn;
};
#define CHECK_REPORT_INIT	{ NULL, 0, 0, 0, 0 }

struct check_input {
	const json_t		*vars;		/* site vars */
	const json_t		*secrets;	/* name -> string value */
	const struct bundle	*bundle;	/* rendered files, or NULL */
	const json_t		*compose;	/* compose document */
	const json_t		*services;	/* model "services" */
	const json_t		*policy;	/* stack/policy.yml */
	const char		*stack_dir;	/* stack data dir */
	/*
	 * Optional: the same site rendered with canary project_name and
	 * domain_name (see check_canary_vars()); the portability rule looks
	 * for the real values in it: any hit was hard-coded.
	 */
	const struct bundle	*canary;
};

typedef int (*check_fn)(const struct check_input *, struct check_report *,
    char **cause);

struct check_rule {
	const char	*id;
	const char	*summary;
	check_fn	 fn;
};

/* The rule table, in run order; *n set to its length. */
const struct check_rule	*check_rules(size_t *n);
const struct check_rule	*check_rule_find(const char *id);

/*
 * Run every rule (or only the one named `only`, when not NULL) and append
 * the findings to rep.  Returns VP_OK even when findings are errors;
 * non-zero only for internal failures (or VP_ERR_NOTFOUND for an unknown
 * `only`).
 */
int	check_run(const struct check_input *, const char *only,
	    struct check_report *rep, char **cause);

/* Append a finding (copies where/hint/message).  Returns VP_OK or NOMEM. */
int	check_add(struct check_report *, enum check_sev, const char *rule,
	    const char *where, const char *hint, const char *fmt, ...)
	    VP_PRINTF(6, 7);

/* Stable sort: errors before warnings, then by rule table order. */
void	check_report_sort(struct check_report *);
/* Frees the contents; rep is re-initialised.  NULL-safe. */
void	check_report_release(struct check_report *);
/* Number of findings of rule id (for tests). */
size_t	check_report_count(const struct check_report *, const char *rule);

/*
 * The report as a JSON array of {severity, rule, where, message, hint}
 * (new reference, NULL on ENOMEM).
 */
json_t	*check_report_json(const struct check_report *);

/*
 * The findings as text, one per line, "error  RULE  WHERE: MESSAGE" then
 * "    hint: HINT" (the order of rep; sort first).  errors_only skips the
 * warnings.  Appended to out.
 */
int	check_report_format(const struct check_report *, int errors_only,
	    struct vp_buf *out);

/*
 * The whole check for a caller that already rendered the bundle (`vpai
 * apply`): load <stack_dir>/policy.yml, run every rule over vars, secrets
 * and the bundle (its model's "compose" and "services"), sort.  The
 * portability rule scans stack_dir but does no canary render (`vpai check`
 * does).  Returns VP_OK whatever the findings (rep->nerr says), or an
 * error for a bad policy or an internal failure.
 */
int	check_bundle(const char *stack_dir, const json_t *vars,
	    const json_t *secrets, const struct bundle *, struct check_report *,
	    char **cause);

/*
 * Load a policy file (YAML subset: mappings, sequences, scalars; plain
 * integers and true/false typed) into *out (new reference).
 */
int	check_policy_load(const char *path, json_t **out, char **cause);
/*
 * As check_policy_load, from memory; name is used in messages.  Every
 * policy key must be present, known and of its type (a mistyped key must
 * not switch a rule off silently): "policy.yml:12: key 'ram.reserve_pc':
 * unknown key (did you mean 'ram.reserve_pct'?)".
 */
int	check_policy_parse(const char *name, const char *data, size_t len,
	    json_t **out, char **cause);
/* The YAML subset alone, no policy validation. */
int	check_yaml_parse(const char *name, const char *data, size_t len,
	    json_t **out, char **cause);

/*
 * A copy of vars (new reference, NULL on ENOMEM) where every occurrence
 * of the project_name and domain_name values inside any string value is
 * replaced by a canary ("zzcanaryproj", "canary-domain.invalid"), so that
 * derived keys (stack_root, notification_email...) follow.  `vpai check`
 * renders the stack with it; the real values left in that render were
 * hard-coded somewhere in the stack data.
 */
json_t	*check_canary_vars(const json_t *vars);

/* "1536M", "1g", "512m", "1.5G", 1073741824 -> MiB; -1 if malformed. */
long long	check_mem_mb(const json_t *);

#endif
