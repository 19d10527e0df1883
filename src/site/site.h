/*
 * site.h: the site model, loaded from vpai.yml and validated against the
 * schema shipped in the stack data (stack/site-schema.yml).
 *
 * vpai.yml holds flat keys named as in the spec (project_name,
 * domain_name, prod_ssh_port, vpn_network_cidr, ...), plus an optional
 * `environments:` map whose `prod:` and `preprod:` entries override keys
 * for that environment.  Every error names the file, line and key:
 *	"vpai.yml:12: key 'domain_nme': unknown key (did you mean 'domain_name'?)"
 *
 * Ownership: site_load() returns a new site freed with site_free();
 * site_vars() returns a borrowed object valid while the site lives.
 */
#ifndef VP_SITE_H
#define VP_SITE_H

#include <stddef.h>

#include <jansson.h>

struct site;

/*
 * Load and validate path against schema_path.  env is "prod", "preprod"
 * or NULL for the site's own `target_env` (default prod).
 */
int	site_load(const char *path, const char *schema_path, const char *env,
	    struct site **out, char **cause);
void	site_free(struct site *);

/*
 * As site_load(), from memory: name is used in messages ("vpai.yml").
 * data need not be NUL-terminated; len is capped at 1 MiB.
 */
int	site_load_mem(const char *name, const char *data, size_t len,
	    const char *schema_path, const char *env, struct site **out,
	    char **cause);

/*
 * Every schema key with its value: the env overlay, else the flat file
 * value, else the schema's default for that env, else its default.  Also
 * "target_env" (the chosen env).  Borrowed.
 */
const json_t	*site_vars(const struct site *);
const char	*site_env(const struct site *);
const char	*site_path(const struct site *);

/* Line in the site file where key was set, or 0 if it came from a default. */
int		 site_key_line(const struct site *, const char *key);

/*
 * Write a new, valid site file at path from the schema defaults and
 * "key=value" settings (values validated as on load).  Refuses to
 * overwrite an existing file unless force is set.
 */
int	site_init_write(const char *path, const char *schema_path,
	    char *const *sets, size_t nsets, int force, char **cause);

#endif
