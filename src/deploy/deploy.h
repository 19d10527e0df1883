/*
 * deploy.h: the local deploy engine: a compose driver, health-gated
 * phases, and the status of a project's containers.
 *
 * The engine drives the Docker CLI (`docker`, and `docker compose` v2 or
 * `docker-compose` v1) through core/child.h argv vectors, never a shell.
 * When core/child.h's command host is set (host/remote.c, `vpai apply
 * --target ssh://`), those same commands run on the target over ssh;
 * nothing here changes, except that the engine is then not local (no
 * PATH lookup of docker here, memory from `docker stats`).
 * It reads the compose document as JSON (the render's model "compose"
 * member, or a JSON compose file: JSON is YAML, so the same file is given
 * to compose with -f).
 *
 * Calling sequence for an apply:
 *	struct deploy_engine e = DEPLOY_ENGINE_INIT;
 *	struct deploy_result res = DEPLOY_RESULT_INIT;
 *	if ((r = deploy_engine_detect(&e, &cause)) != 0)	docker down?
 *		goto out;
 *	r = deploy_apply(&e, &opts, &res, &cause);
 *	    VP_ERR_HEALTH: res.fail_service, res.fail_state, res.fail_logs
 *	    VP_ERR_INTERRUPTED: res.v[] says what state is left
 *	deploy_result_release(&res);
 *	deploy_engine_release(&e);
 *
 * Ownership: every char * in the structs below is owned by its struct
 * and freed by its release function; release functions accept NULL and
 * zeroed structs.  Library code: never prints (progress goes through a
 * callback), never exits.
 */
#ifndef VP_DEPLOY_H
#define VP_DEPLOY_H

#include <signal.h>
#include <stddef.h>

#include <jansson.h>

#include "core/child.h"
#include "core/err.h"

/* ==== Engine ==== */

struct deploy_engine {
	int	 compose_v2;	/* 1: `docker compose`, 0: `docker-compose` */
	char	*server_version;
};
#define DEPLOY_ENGINE_INIT	{ 0, NULL }

/*
 * Check that the Docker engine answers (VP_ERR_REMOTE with the engine's
 * own words and DOCKER_HOST otherwise) and choose the compose program:
 * `docker compose` when the plugin answers, else `docker-compose`
 * (VP_ERR_NOTFOUND when neither exists).
 */
int	deploy_engine_detect(struct deploy_engine *, char **cause);
void	deploy_engine_release(struct deploy_engine *);

/* Push the compose prefix: "docker compose|docker-compose -p P -f F". */
int	deploy_compose_argv(const struct deploy_engine *, const char *project,
	    const char *file, struct vp_argv *);

/* ==== Containers ==== */

struct deploy_ctr {
	char		*id;
	char		*name;		/* without the leading '/' */
	char		*service;	/* com.docker.compose.service */
	char		*project;	/* com.docker.compose.project */
	char		*state;		/* running, exited, restarting... */
	char		*health;	/* healthy, unhealthy, starting; "" none */
	char		*health_out;	/* output of the last health check */
	char		*image;		/* the reference it was created from */
	char		*image_id;
	char		*phase;		/* label vpai.phase, or "" */
	char		*config_hash;	/* label vpai.config-hash, or "" */
	char		*ip;		/* first network's address, or "" */
	int		 restarts;
	int		 exit_code;
	long long	 started;	/* epoch seconds, 0 unknown */
	long long	 mem_limit;	/* bytes, 0 none */
	long long	 mem_use;	/* bytes, -1 unknown */
};

struct deploy_ctrs {
	struct deploy_ctr	*v;
	size_t			 n;
};
#define DEPLOY_CTRS_INIT	{ NULL, 0 }

/* Parse `docker inspect` output (a JSON array) and append to ctrs. */
int	deploy_parse_inspect(const char *json, size_t len,
	    struct deploy_ctrs *, char **cause);
/* Every container of a compose project (running or not), sorted by service. */
int	deploy_list(const char *project, struct deploy_ctrs *, char **cause);
/* Inspect these container ids (missing ones are left out). */
int	deploy_inspect(char *const *ids, size_t n, struct deploy_ctrs *,
	    char **cause);
/*
 * Fill mem_use: cgroup files when the engine is local, else `docker
 * stats` (a remote DOCKER_HOST, or the command host of core/child.h).
 */
int	deploy_mem_usage(struct deploy_ctrs *, char **cause);
const struct deploy_ctr *deploy_ctrs_find(const struct deploy_ctrs *,
	    const char *service);
void	deploy_ctrs_release(struct deploy_ctrs *);

/* "2026-11-23T09:37:00.123456789Z" (or +hh:mm) -> epoch; 0 if malformed. */
long long	deploy_parse_time(const char *);
/* Go/compose duration "1m30s", "10s", "500ms" -> ms; -1 if malformed. */
long long	deploy_parse_duration(const char *);

/*
 * The gate verdict for one container: 1 ready (running and healthy, or
 * running without a health check), 0 still waiting, -1 failed
 * (unhealthy, exited, dead, restarting, or restarted more than
 * base_restarts).
 */
int	deploy_gate(const struct deploy_ctr *, int base_restarts);

/*
 * The time a service gets to become healthy: start_period + (interval +
 * timeout) * (retries + 1) + 10 s, from its compose healthcheck (Docker's
 * defaults when absent: 30 s, 30 s, 3); 30 s without a health check.
 */
long long	deploy_gate_timeout_ms(const json_t *compose_service);

/* ==== Apply ==== */

enum deploy_ev_type {
	DEPLOY_EV_STEP,		/* msg: what is being done */
	DEPLOY_EV_WAIT,		/* phase, service, state, elapsed */
	DEPLOY_EV_READY,	/* phase, service, state, elapsed */
	DEPLOY_EV_FAIL,		/* phase, service, state, elapsed */
};

struct deploy_event {
	enum deploy_ev_type	 type;
	const char		*phase;
	const char		*service;
	const char		*state;
	double			 elapsed;	/* seconds since the phase began */
	const char		*msg;
};

typedef void (*deploy_progress_fn)(void *arg, const struct deploy_event *);

struct deploy_opts {
	const char		*project;	/* compose project name */
	const char		*compose_file;	/* given to compose -f */
	const json_t		*compose;	/* the same document, as JSON */
	char *const		*only;		/* services to update, or NULL */
	size_t			 nonly;
	/*
	 * Where the last converged state is kept (JSON; NULL: none).  A phase
	 * whose every service is as recorded (same compose definition, same
	 * running healthy container, same image id) skips `up`: no-op
	 * applies do not pay compose's start-up time.
	 */
	const char		*state_file;
	int			 pull;		/* pull images not present */
	int			 timeout_s;	/* per-service gate; 0: auto */
	int			 poll_ms;	/* 0: 250 */
	volatile sig_atomic_t	*stop;		/* set by a SIGINT handler */
	deploy_progress_fn	 progress;
	/*
	 * Called once the preflight (services, images, networks) passed and
	 * before the first `up`: the caller writes the bundle there, so that
	 * a failed preflight leaves every file as it was.  May be NULL.
	 */
	int			(*prepare)(void *arg, char **cause);
	void			*arg;		/* for progress and prepare */
};

enum deploy_change {
	DEPLOY_NOT_REACHED = 0,	/* its phase never started */
	DEPLOY_UNCHANGED,	/* same container, left alone */
	DEPLOY_STARTED,		/* same container, was not running */
	DEPLOY_CREATED,		/* had no container */
	DEPLOY_RECREATED,	/* new container replaced the old one */
};

struct deploy_svc {
	char			*service;
	char			*phase;
	enum deploy_change	 change;
	char			*state;		/* last seen: healthy, running... */
	double			 ready_s;	/* since its phase began; -1 */
};

struct deploy_result {
	struct deploy_svc	*v;		/* in phase, then name order */
	size_t			 n;
	char			*fail_service;
	char			*fail_state;
	char			*fail_logs;	/* last log lines + health output */
	struct vp_argv		 repaired;	/* networks removed for compose */
	struct vp_argv		 removed;	/* orphan containers removed */
	int			 interrupted;
	double			 elapsed;
};
#define DEPLOY_RESULT_INIT { NULL, 0, NULL, NULL, NULL, VP_ARGV_INIT, \
	VP_ARGV_INIT, 0, 0 }

/*
 * Converge the project on the compose document, phase by phase (the
 * vpai.phase label: "A" first, then "B"; no label counts as B):
 *   1. select the services (opts->only, checked: an unknown name is
 *      VP_ERR_NOTFOUND with a did-you-mean), group them by phase;
 *   2. every image must exist (or be pulled when opts->pull): a missing
 *      one is VP_ERR_NOTFOUND naming service and image, before anything
 *      is stopped or created;
 *   3. networks: one with the document's name that compose would refuse
 *      (labels of another project or none, other driver, subnet or
 *      internal flag) is removed when no container uses it, else
 *      VP_ERR_EXISTS naming the containers;
 *   4. opts->prepare();
 *   5. per phase: `up -d --no-deps <services>`, then poll `docker
 *      inspect` every poll_ms until each is ready (deploy_gate()); a
 *      failure stops there (VP_ERR_HEALTH) with that service's last 30
 *      log lines; nothing already running is stopped;
 *   6. a full apply (no opts->only) that passed every gate removes the
 *      project's containers whose service the document no longer has
 *      (`docker rm -f`, never their volumes or data directories):
 *      res->removed names them.
 * res->v says which containers compose created, recreated or left alone.
 */
int	deploy_apply(const struct deploy_engine *, const struct deploy_opts *,
	    struct deploy_result *, char **cause);
void	deploy_result_release(struct deploy_result *);

/*
 * The cause for a failed `compose up` from its stderr: a published port
 * in use is VP_ERR_EXISTS naming the service and the address; anything
 * else VP_ERR_CHILD with compose's last lines.
 */
int	deploy_up_error(const char *err, const char *phase, char **cause);
const char	*deploy_change_name(enum deploy_change);

/*
 * Create the data directories of the services (model "services": each
 * volume {kind: data, source, owner, mode}) under stack_root, owned by
 * owner:gid of the service when run as root, with their mode.  Existing
 * directories get owner and mode fixed; contents are never touched.
 * only/nonly as in deploy_opts.  *ncreated counts new directories.
 */
int	deploy_data_dirs(const json_t *services, const char *stack_root,
	    char *const *only, size_t nonly, int *ncreated, char **cause);

/*
 * Copy the probe binary src to <stack_root>/bin/vpai-probe (mode 0755)
 * when its bytes differ; *changed set to 1 when written.
 */
int	deploy_install_probe(const char *src, const char *stack_root,
	    int *changed, char **cause);

/* ==== Provisioning (after health) ==== */

/*
 * Create the n8n owner account through n8n's REST setup endpoint (POST
 * base/rest/owner/setup), unless n8n says one exists (GET
 * base/rest/settings: userManagement.showSetupOnFirstLoad false).
 * base is "http://IP:5678".  *created is 1 when this call created it.
 * The password only travels in the request body; it is never in a cause.
 */
int	deploy_n8n_owner(const char *base, const char *email,
	    const char *password, int *created, char **cause);
/*
 * The same through a unix socket (sock; base then only gives the Host
 * header and paths): on a remote target, the ssh ControlMaster's
 * forward of n8n's port (host/host.h: vp_host_forward()).
 */
int	deploy_n8n_owner_at(const char *base, const char *sock,
	    const char *email, const char *password, int *created,
	    char **cause);

/*
 * The last `tail` log lines of a container (stdout and stderr), appended
 * to out.
 */
int	deploy_logs(const char *id, int tail, struct vp_buf *out, char **cause);

#endif
