/*
 * stack.h: the stack catalogue (data under stack/) and the rendered bundle.
 *
 * stack_render() loads stack/services/<name>.yml (each first rendered as a
 * template with the variables, then parsed), stack/bundle.yml (the list of
 * templates -> output files with mode, owner and which services read them)
 * and stack/versions.yml, and produces the bundle: every file of the
 * deployment, in a stable order, byte-for-byte deterministic.
 *
 * Ownership: the bundle is new (bundle_free); vars are borrowed.
 */
#ifndef VP_STACK_H
#define VP_STACK_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

struct bundle_file {
	char	*path;		/* relative to the bundle root */
	mode_t	 mode;
	uid_t	 uid;		/* (uid_t)-1: the deploying user */
	gid_t	 gid;
	char	*data;
	size_t	 len;
	int	 secret;	/* holds secret values */
	json_t	*readers;	/* array of service names that read it */
};

/*
 * model (resolved, read-only for callers):
 *   "services": name -> every service of stack/services, enabled or not:
 *	{name, phase "A"|"B", enabled bool, image, image_key, user "U:G",
 *	 uid, gid, networks[], volumes[{kind data|config|host, source,
 *	 target, read_only, owner (data), mode (data, "0750")}], limits,
 *	 healthcheck, depends_on{svc: condition}, cap_add[], env_file[],
 *	 environment{}, command[], ports[], labels{}, compose{}, file}
 *   "networks": name -> {name, subnet, internal}
 *   "compose": the compose document as written to docker-compose.yml
 *	(enabled services only; labels vpai.config-hash, vpai.phase,
 *	vpai.service)
 *   "images": image key -> reference (the site's image_set)
 *   "stack_root", "target_env", "project_name": strings
 * Files are sorted by path.
 */
struct bundle {
	struct bundle_file	*files;
	size_t			 n;
	json_t			*model;
};

/*
 * vars: the template variables: site vars, plus "secrets" values merged
 * at top level (the spec's templates use {{ redis_password }}).
 */
/*
 * Build the variables for stack_render() from the site's vars and the
 * secrets (both borrowed): every secret at top level and under "secrets".
 * A secret named like a site key is an error.  Returns a new reference,
 * NULL on failure (cause set, or out of memory).
 */
json_t	*stack_vars_new(const json_t *site_vars, const json_t *secrets,
	    char **cause);

int	stack_render(const char *stack_dir, const json_t *vars,
	    struct bundle **out, char **cause);
/*
 * The mode and owner of a directory of the bundle (path relative to the
 * root, without a trailing '/'): 0755 unless it directly holds a secret
 * file; then 0750, owned by the owner of its secret files when they all
 * have the same one (so that a container running as that uid can traverse
 * it when it is mounted), else by the deploying user ((uid_t)-1).
 */
void	bundle_dir_attr(const struct bundle *, const char *dir, mode_t *mode,
	    uid_t *uid, gid_t *gid);

/*
 * Write every file under dir atomically, with modes; only changed files.
 * Directories get bundle_dir_attr() (owners only when run as root).
 */
int	bundle_write(const struct bundle *, const char *dir, int *nchanged,
	    char **cause);
const struct bundle_file *bundle_find(const struct bundle *, const char *path);
void	bundle_free(struct bundle *);

/*
 * Parse YAML text (one document) into *doc (new reference).  When lines
 * is not NULL, *lines is a new object mapping each value's path ("a",
 * "a.b", "a[2].c") to its 1-based line.  Aliases, anchors with aliases,
 * tags and duplicate keys are errors.  Plain scalars true/false, null/~,
 * empty, decimal integers and floats are typed; quoted scalars are strings.
 * Errors read "NAME:LINE:COL: what".
 */
int	stack_yaml_load(const char *name, const char *data, size_t len,
	    json_t **doc, json_t **lines, char **cause);


#endif
