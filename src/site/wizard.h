/*
 * wizard.h: the questions of `vpai init`, without a terminal.
 *
 * The library never prints: every question goes through struct
 * wizard_io (the command passes a terminal, the unit tests a script of
 * answers).  Calling sequence (src/cmd/cmd-init.c):
 *
 *	wizard_schema_load(schema_path, &sch, &cause);
 *	wizard_site(sch, current_vars_or_NULL, &io, &answers, &cause);
 *	new site:      wizard_sets(sch, answers, &sets) then
 *	               site_init_write(path, schema_path, sets.v, sets.n, ...)
 *	existing site: wizard_update(sch, name, text, len, answers, &changed,
 *	               &newtext, &cause) then an atomic write
 *	wizard_secrets(cat, secrets, &io, &cause);   external secrets
 *
 * Ownership: *answers is a new object (key -> typed value) the caller
 * decrefs; vp_argv and vp_buf results are the caller's to release.
 */
#ifndef VP_WIZARD_H
#define VP_WIZARD_H

#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/child.h"

struct site_schema;

struct wizard_io {
	/* Show text (one or more whole lines, or a prompt). */
	void	(*write)(void *arg, const char *text);
	/*
	 * Show prompt and read one line without its terminator into *out
	 * (allocated, wiped and freed by the wizard).  secret: do not echo.
	 * VP_ERR_NOTFOUND at end of input, VP_ERR_INTERRUPTED on Ctrl-C;
	 * any error stops the wizard with nothing written.
	 */
	int	(*read_line)(void *arg, const char *prompt, int secret,
		    char **out, char **cause);
	void	*arg;
};

/* The site schema for the wizard (site_schema_load of site-int.h). */
int	wizard_schema_load(const char *path, struct site_schema **out,
	    char **cause);
void	wizard_schema_free(struct site_schema *);

/*
 * Ask every schema key, group by group in the schema's order.  The
 * default shown is the current value (current: the vars of an existing
 * site, or NULL) else the schema default for the chosen environment,
 * with "{{ key }}" taken from the answers so far.  Enter takes it, "?"
 * shows the description, "-" empties an optional string key.  Each answer
 * is checked with the site validators (type, required, required_when,
 * cross-key rules) and re-asked with the reason.
 */
int	wizard_site(const struct site_schema *sch, const json_t *current,
	    const struct wizard_io *io, json_t **answers, char **cause);

/*
 * "key=value" settings for site_init_write(): the answers that differ
 * from the default the schema would give them.
 */
int	wizard_sets(const struct site_schema *sch, const json_t *answers,
	    struct vp_argv *sets, char **cause);

/*
 * Apply the answers to the text of an existing site file: each changed
 * key's line is rewritten in place (comments, order and environments:
 * are kept), keys set nowhere are appended.  The result is loaded back
 * and must give exactly the answers, else VP_ERR_INVALID and nothing is
 * produced.  changed receives the changed key names; out the new text
 * (left empty if nothing changed).
 */
int	wizard_update(const struct site_schema *sch, const char *name,
	    const char *text, size_t len, const json_t *answers,
	    struct vp_argv *changed, struct vp_buf *out, char **cause);

/*
 * Ask every external secret of the catalogue (kind: external) without
 * echo.  Enter keeps the current value (or leaves it empty), "-" empties
 * it, "?" shows the description; a value that does not match the
 * catalogue's pattern is re-asked.  Values are never shown.
 */
int	wizard_secrets(const json_t *cat, json_t *secrets,
	    const struct wizard_io *io, char **cause);

#endif
