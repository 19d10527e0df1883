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

struct bundle {
	struct bundle_file	*files;
	size_t			 n;
	json_t			*model;	/* {"services":{..},"networks":{..},
					   "compose":{..}} resolved */
};

/*
 * vars: the template variables: site vars, plus "secrets" values merged
 * at top level (the spec's templates use {{ redis_password }}).
 */
int	stack_render(const char *stack_dir, const json_t *vars,
	    struct bundle **out, char **cause);
/* Write every file under dir atomically, with modes; only changed files. */
int	bundle_write(const struct bundle *, const char *dir, int *nchanged,
	    char **cause);
const struct bundle_file *bundle_find(const struct bundle *, const char *path);
void	bundle_free(struct bundle *);

#endif
