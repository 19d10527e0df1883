/*
 * stack-int.h: internals of the stack engine shared by its files.
 *
 * yaml.c	YAML text -> jansson (with a line for every value's path)
 * emit.c	jansson -> YAML text through libyaml's emitter (deterministic)
 * service.c	one service definition: schema validation into the model
 * render.c	stack_render(): vars, services, bundle files, compose
 * bundle.c	bundle_write(), bundle_find(), bundle_free()
 */
#ifndef VP_STACK_INT_H
#define VP_STACK_INT_H

#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"
#include "stack/stack.h"

#define STACK_FILE_MAX		(1u << 20)	/* one stack data file */
#define STACK_YAML_DEPTH	32

/* stack_yaml_load() is public: see stack/stack.h. */

/*
 * Append doc as block YAML to out: mapping keys sorted, strings plain
 * only when they cannot be read back as anything but that string,
 * otherwise double-quoted.
 */
int	stack_yaml_emit(const json_t *doc, struct vp_buf *out, char **cause);

/* Line of path in a lines object (see stack_yaml_load), or 0. */
int	stack_line(const json_t *lines, const char *path);

/*
 * Validate one service definition (already parsed) and return its
 * normalised form (new reference) in *out.  file is the name used in
 * messages ("stack/services/redis.yml"), base the expected service name.
 */
int	stack_service_check(const char *file, const char *base,
	    const json_t *doc, const json_t *lines, const json_t *networks,
	    json_t **out, char **cause);

/* Evaluate a template boolean expression ("monitoring_enabled"). */
int	stack_expr_true(const char *name, const char *expr, const json_t *vars,
	    int *result, char **cause);

/* "1536M" -> bytes; -1 if malformed. */
long long	stack_parse_mem(const char *);

#endif
