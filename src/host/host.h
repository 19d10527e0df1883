/*
 * host.h: host facts, the pure plan, and apply.
 *
 *   want (desired state, JSON; docs/HOST.md)
 *     -> vp_host_facts_query()   the facts the plan needs (argv for facts.sh)
 *     -> vp_host_facts_gather()  ONE round trip: stack/host/facts.sh on
 *                                stdin to `sh -s -- QUERY...`, parsed into
 *                                facts JSON
 *     -> vp_host_plan()          PURE (want, facts) -> ops; no-ops are
 *                                recorded ("action": "noop")
 *     -> vp_host_apply()         ONE round trip: stack/host/apply.sh plus
 *                                the ops as a generated script on stdin,
 *                                followed by facts.sh again; the re-planned
 *                                ops must all be no-ops (postconditions)
 *
 * Ownership: every json_t ** out-parameter receives a new reference the
 * caller decrefs.  json_t * inputs are borrowed.  Library code never
 * prints.  Secrets (the want's "secrets" list, and any "secret": true
 * file's content) never appear in plan text or plan JSON output: values
 * are replaced by "***".
 */
#ifndef VP_HOST_H
#define VP_HOST_H

#include <jansson.h>

#include "core/buf.h"
#include "core/child.h"
#include "transport/transport.h"

/*
 * Check the desired state; errors name the key path, e.g.
 * "want.json: files[2].mode: expected an octal string like \"0644\"".
 * origin is the file name used in messages.
 */
int	vp_host_want_check(const json_t *want, const char *origin,
	    char **cause);

/* The facts.sh arguments for want (appended to q). */
int	vp_host_facts_query(const json_t *want, struct vp_argv *q,
	    char **cause);

/*
 * Parse facts.sh output (text, len bytes) for query q into a facts
 * object (*facts, new reference).
 */
int	vp_host_facts_parse(const char *text, size_t len,
	    const struct vp_argv *q, json_t **facts, char **cause);

/* Read datadir/host/<name> into out. */
int	vp_host_script(const char *datadir, const char *name,
	    struct vp_buf *out, char **cause);

/*
 * Gather facts for want (want may be NULL: global facts only) in one
 * round trip.
 */
int	vp_host_facts_gather(struct vp_target *, const char *datadir,
	    const json_t *want, json_t **facts, char **cause);

/* PURE: desired state + facts -> ops (new reference, a JSON array). */
int	vp_host_plan(const json_t *want, const json_t *facts, json_t **ops,
	    char **cause);

/* Number of ops that change something (action != "noop"). */
size_t	vp_host_plan_changes(const json_t *ops);

/*
 * Human text: one line per op ("+ file /etc/x: create (mode 0644)",
 * "= file /etc/y: already correct"), unified diffs for content, secrets
 * masked.  verbose 0 omits no-op lines (they are counted).
 */
int	vp_host_plan_text(const json_t *ops, const json_t *want, int verbose,
	    struct vp_buf *out);

/* JSON for output: content removed, diffs masked (new reference). */
json_t	*vp_host_plan_public(const json_t *ops, const json_t *want);

/* The shell script apply runs for ops (appended to out); for tests. */
int	vp_host_apply_script(const char *datadir, const json_t *ops,
	    const struct vp_argv *verify_query, struct vp_buf *out,
	    char **cause);

struct vp_host_result {
	size_t	changed;	/* ops executed that changed something */
	size_t	noop;
	json_t	*facts_after;	/* new reference or NULL */
	json_t	*ops_after;	/* re-planned ops (all no-ops on success) */
	int	 confirmed;	/* sshd/ufw change confirmed by a fresh
				   connection (commit-confirmed) */
	int	 ssh_port;	/* sshd's port after apply (0: unknown) */
	json_t	*warnings;	/* strings ("tailscale URL: tailscale up
				   timed out ..."), secrets masked; NULL
				   when none.  Soft ops (tailscale up) that
				   failed or are still pending after apply
				   are warnings, not errors. */
};
#define VP_HOST_RESULT_INIT { 0, 0, NULL, NULL, 0, 0, NULL }
void	vp_host_result_release(struct vp_host_result *);

/*
 * Apply ops (planned for want) in one round trip, then verify that a
 * re-plan from the facts gathered in that same trip has no changes.
 * Nothing is sent when ops has no changes (0 round trips).  Errors name
 * the target and the failing step.
 *
 * Commit-confirmed (ssh targets): when ops change sshd (/etc/ssh/...,
 * service ssh) or ufw (/etc/ufw/..., /etc/default/ufw, ufw ops), the
 * script first arms a revert on the host (vp_arm, stack/host/revert.sh:
 * saved copies + a detached timer, want "confirm": {"timeout": S},
 * default 60 s).  After the apply, vpai opens a FRESH connection (new
 * control socket) on sshd's port from the verify facts and disarms
 * through it.  If that connection fails, the host restores the saved
 * files and restarts sshd / reloads ufw by itself; vpai waits for it,
 * checks the old path works again and fails with VP_ERR_REMOTE.
 */
int	vp_host_apply(struct vp_target *, const char *datadir,
	    const json_t *want, const json_t *ops, struct vp_host_result *res,
	    char **cause);

/*
 * The host roles as one desired state: datadir/host/roles.yml lists the
 * roles in order; each datadir/host/roles/NAME.yml is rendered with vars
 * (the site's template variables) and merged (lists concatenated);
 * files[].content_from and ufw_from take the rendered bundle's files.
 * *want and *skipped (an array of {"role", "why"} for roles that say
 * "skip") are new references.
 */
struct bundle;
int	vp_host_roles_want(const char *datadir, const json_t *vars,
	    const struct bundle *bundle, json_t **want, json_t **skipped,
	    char **cause);

/* ---- helpers shared by the host module (exposed for unit tests) ---- */

/* Unified diff (3 lines context) of a -> b, appended to out. */
int	vp_host_diff(const char *a, const char *b, const char *label,
	    struct vp_buf *out);

/* Lowercase hex SHA-256 of data into hex[65]. */
void	vp_host_sha256(const void *data, size_t len, char hex[65]);

/* Base64 encode (no newlines) / decode; results appended to out. */
int	vp_host_b64enc(const void *data, size_t len, struct vp_buf *out);
int	vp_host_b64dec(const char *s, size_t len, struct vp_buf *out);

/* Replace every occurrence of each secret (len >= 4) by "***" in buf. */
int	vp_host_mask(struct vp_buf *buf, const json_t *want);

/* ---- remote stack deploy (host/remote.c; docs/DEPLOY.md) ---- */

/*
 * The host roles converged on t exactly as `vpai converge` does:
 * vp_host_roles_want() + every secret value for masking, facts (one round
 * trip), plan, and vp_host_apply() when something changes.  *want,
 * *skipped and *ops are new references (for plan text); res as for
 * vp_host_apply().  secrets: the vault's values (borrowed).
 */
int	vp_host_converge_roles(struct vp_target *t, const char *datadir,
	    const json_t *vars, const struct bundle *bundle,
	    const json_t *secrets, json_t **want, json_t **skipped,
	    json_t **ops, struct vp_host_result *res, char **cause);

/*
 * Route every `docker` and `docker-compose` command of this process
 * through t (core/child.h's command host): the argv becomes the
 * transport's ssh argv over the run's ControlMaster (quoted once, by the
 * transport).  r counts the commands sent.  vp_host_remote_end() puts
 * local execution back.  Only one may be active.
 */
struct vp_host_remote {
	struct vp_target	*t;
	unsigned		 commands;
};
#define VP_HOST_REMOTE_INIT	{ NULL, 0 }
void	vp_host_remote_begin(struct vp_host_remote *r, struct vp_target *t);
/*
 * One round trip (`true`) that opens the ControlMaster: a clear error
 * naming the target and step 'connect' before anything else runs.
 */
int	vp_host_remote_connect(struct vp_target *t, char **cause);
void	vp_host_remote_end(struct vp_host_remote *r);

/*
 * Forward the local unix socket sock (created by ssh, in a private
 * directory of the caller's) to host:port as seen from the target,
 * through t's running ControlMaster (`ssh -O forward -L sock:host:port`);
 * cancel removes the forward again.  Only for ssh targets whose master
 * is up (after a first command).
 */
int	vp_host_forward(struct vp_target *t, const char *sock,
	    const char *host, int port, int cancel, char **cause);

/*
 * Write the stack's files on the target, as bundle_write(),
 * deploy_install_probe() and deploy_data_dirs() do locally:
 *   - every bundle file under root (content, mode; atomically) and its
 *     directories, root/bin, and each "kind: data" volume directory of
 *     the selected services, through the host engine: facts in one round
 *     trip, then, only when something differs, one apply round trip that
 *     verifies itself;
 *   - then, only when needed, one more round trip: the probe binary
 *     (root/bin/vpai-probe, 0755, atomically) and numeric owners
 *     (uid:gid of the bundle and of each data directory; only when the
 *     target runs commands as root, as locally).
 * A no-op push is one round trip.  only/nonly as in deploy_opts.
 * secrets (borrowed, may be NULL): values masked in causes.
 */
struct vp_host_stack {
	const struct bundle	*bundle;
	const char		*root;
	char *const		*only;
	size_t			 nonly;
	const char		*probe;
	const json_t		*secrets;
};
struct vp_host_stack_result {
	int		nwritten;	/* bundle files created or changed */
	int		ndirs;		/* directories created */
	int		probe_changed;
	int		nowned;		/* paths whose owner was fixed */
	unsigned	trips;
};
int	vp_host_stack_push(struct vp_target *t, const char *datadir,
	    const struct vp_host_stack *s, struct vp_host_stack_result *res,
	    char **cause);

#endif
