/*
 * site-int.h: internals of the site module, shared by its files, its unit
 * tests and its fuzz harness.  Not for other modules: use site.h.
 *
 * schema.c	loads stack/site-schema.yml into struct site_schema
 * value.c	converts one scalar to a key's type and validates it
 * site.c	loads vpai.yml, applies overlays and defaults (site_resolve)
 * init.c	writes a new vpai.yml (site_init_write)
 */
#ifndef VP_SITE_INT_H
#define VP_SITE_INT_H

#include <regex.h>
#include <stddef.h>

#include <jansson.h>
#include <yaml.h>

#include "core/buf.h"
#include "core/err.h"

#define SITE_MAX_INPUT	(1u << 20)	/* 1 MiB: site file and schema */
#define SITE_MAX_ERRORS	20		/* error lines kept in a cause */
#define SITE_MAX_ENVS	8

enum site_type {
	ST_STRING, ST_INT, ST_BOOL, ST_DOMAIN, ST_LABEL, ST_HOSTNAME, ST_IP,
	ST_IPV4, ST_CIDR, ST_PORT, ST_TIMEZONE, ST_EMAIL, ST_URL, ST_ENUM,
	ST_LIST
};

struct schema_key {
	char		*name;
	enum site_type	 type;
	enum site_type	 item;		/* ST_LIST: element type */
	char		**values;	/* ST_ENUM: allowed values */
	size_t		 nvalues;
	long long	 min, max;	/* ST_INT bounds (always set) */
	char		*pattern;	/* ST_STRING: ERE, or NULL */
	regex_t		 re;
	int		 has_re;
	json_t		*def;		/* default (may hold "{{ k }}"), NULL */
	json_t		*env_defs;	/* object env -> value, or NULL */
	int		 required;
	char		*when;		/* required_when source text */
	char		**when_keys;	/* "k=v,k2=v2" split */
	char		**when_vals;
	size_t		 nwhen;
	int		 per_env;
	char		*group;
	char		*description;
	char		*question;
	int		 line;		/* in the schema file */
};

struct schema_group {
	char		*name;
	char		*title;
	long		 order;
};

struct site_schema {
	char			*path;
	struct schema_key	*keys;
	size_t			 nkeys;
	const char		**names;	/* keys[i].name (did-you-mean) */
	struct schema_group	*groups;	/* sorted by order */
	size_t			 ngroups;
	const char		*envs[SITE_MAX_ENVS];	/* target_env values */
	size_t			 nenvs;
};

/* Load and check a schema; *out freed with site_schema_free(). */
int	site_schema_load(const char *path, struct site_schema **out,
	    char **cause);
int	site_schema_load_mem(const char *name, const char *data, size_t len,
	    struct site_schema **out, char **cause);
void	site_schema_free(struct site_schema *);
/* Index of key name, or -1. */
int	site_schema_find(const struct site_schema *, const char *name);

/*
 * An error list: one "FILE:LINE: key 'K': what" per line, at most
 * SITE_MAX_ERRORS lines kept, all counted.
 */
struct site_errs {
	struct vp_buf	 buf;
	int		 n;
	int		 nomem;
};
#define SITE_ERRS_INIT	{ VP_BUF_INIT(1u << 16), 0, 0 }

void	site_err(struct site_errs *, const char *file, int line,
	    const char *key, const char *fmt, ...) VP_PRINTF(5, 6);
/* Move the list into *cause (joined by newlines); returns r. */
int	site_errs_finish(struct site_errs *, int r, char **cause);
void	site_errs_release(struct site_errs *);

/*
 * Convert the scalar s (quoted: it was a quoted YAML scalar) to key k's
 * type (or to type t for list items): string-like types give a JSON
 * string, int/port an integer, bool a boolean.  An empty string is
 * accepted for string-like types (it means "not set"; required keys are
 * checked later).  On error returns NULL and sets *why (allocated) to the
 * "what is wrong" part of the message; *why is NULL on ENOMEM.
 */
json_t	*site_value_parse(const struct schema_key *k, enum site_type t,
	    const char *s, int quoted, char **why);
/* "a domain name", "an integer", ...: for "expected X" messages. */
const char *site_type_noun(enum site_type);
const char *site_type_name(enum site_type);
int	site_type_from_name(const char *, enum site_type *);
/* Whether a value of this type is written as a YAML string. */
int	site_type_is_string(enum site_type);

/* Copy of s safe to print: control bytes as \xNN, long values cut. */
char	*site_shown(const char *s);

/* Where time zones are looked up; tests point it elsewhere. */
extern const char *site_zoneinfo_dir;

/*
 * One parsed YAML document (libyaml's document API, so every node knows
 * its line).  ydoc_take() hands out each node once: a second reference
 * to the same node can only come from an alias, which site files do not
 * allow (and which would otherwise allow cycles).
 */
struct ydoc {
	yaml_document_t	 doc;
	int		 loaded;
	unsigned char	*seen;
	size_t		 nnodes;
};
#define YDOC_INIT	{ .loaded = 0, .seen = NULL, .nnodes = 0 }

/*
 * Parse exactly one document of at most SITE_MAX_INPUT bytes.  Errors:
 * VP_ERR_PARSE "NAME:LINE:COL: invalid YAML: ..." or "NAME: ...".
 * Returns with d->doc root possibly NULL for an empty stream.
 */
int		 ydoc_load(struct ydoc *d, const char *name, const char *data,
		    size_t len, char **cause);
void		 ydoc_release(struct ydoc *);
yaml_node_t	*ydoc_root(struct ydoc *);
/* The node, or NULL if id is bad or the node was already taken. */
yaml_node_t	*ydoc_take(struct ydoc *, int id);
/* 1-based line of a node. */
int		 ydoc_line(const yaml_node_t *);
/* The scalar's text, or NULL if not a scalar or it holds a NUL byte. */
const char	*ydoc_scalar(const yaml_node_t *);
int		 ydoc_quoted(const yaml_node_t *);
/* A plain null scalar: "", "~", "null", "Null", "NULL". */
int		 ydoc_is_null(const yaml_node_t *);
/* "a mapping", "a list", "a string" for messages. */
const char	*ydoc_kind(const yaml_node_t *);

/* One key's value from some source; v NULL means "not set". */
struct site_val {
	json_t	*v;
	int	 line;
};

/*
 * Compute the final value of every key for env: the env overlay, else
 * the flat value, else the schema's env default, else its default (with
 * "{{ key }}" replaced by that key's final value).  Checks required keys
 * and cross-key rules.  flat and overlay are arrays of sch->nkeys (overlay
 * may be NULL).  On success *vars is a new object holding every key plus
 * "target_env", and lines[i] (if lines != NULL) the line of each value.
 * Errors are added to errs, prefixed with file (NULL: no prefix).
 */
int	site_resolve(const struct site_schema *sch, const char *file,
	    const struct site_val *flat, const struct site_val *overlay,
	    const char *env, struct site_errs *errs, json_t **vars,
	    int *lines);

/* site_load_mem() against an already loaded schema (borrowed). */
struct site;
int	site_load_schema(const struct site_schema *, const char *name,
	    const char *data, size_t len, const char *env, struct site **out,
	    char **cause);

/* Format a value as it would appear in a site file or message. */
char	*site_value_text(const json_t *);

#endif
