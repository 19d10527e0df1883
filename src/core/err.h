/*
 * err.h: one error-code enum for every module, plus cause strings.
 *
 * Library code never prints and never exits.  A function that can fail
 * returns VP_OK (0) or a negative VP_ERR_* code, and may fill a
 * caller-owned `char **cause` with an allocated message (free() it).
 * Only src/cmd/ and src/main.c print.  Process exit codes are stable and
 * documented in docs/EXIT-CODES.md; vp_exit_code() maps errors to them.
 */
#ifndef VP_ERR_H
#define VP_ERR_H

#include <stdarg.h>

#define VP_PRINTF(f, a) __attribute__((format(printf, f, a)))

enum vp_err {
	VP_OK = 0,
	VP_ERR_NOMEM = -1,	/* out of memory */
	VP_ERR_IO = -2,		/* read/write/filesystem failure */
	VP_ERR_PARSE = -3,	/* malformed input (YAML, template, vault...) */
	VP_ERR_INVALID = -4,	/* well-formed but invalid value */
	VP_ERR_USAGE = -5,	/* bad command line */
	VP_ERR_NOTFOUND = -6,	/* file, key, service or selector not found */
	VP_ERR_TOOBIG = -7,	/* input or output over its cap */
	VP_ERR_CHILD = -8,	/* a subprocess could not run or failed */
	VP_ERR_CRYPTO = -9,	/* wrong password, bad MAC, crypto failure */
	VP_ERR_CHECK = -10,	/* policy check found errors */
	VP_ERR_REMOTE = -11,	/* target host unreachable or a step failed */
	VP_ERR_HEALTH = -12,	/* a health gate failed */
	VP_ERR_REFUSED = -13,	/* the operation is refused by design */
	VP_ERR_INTERRUPTED = -14, /* SIGINT/SIGTERM */
	VP_ERR_EXISTS = -15,	/* would overwrite something that exists */
};

/* Static description of an error code; never NULL. */
const char *vp_strerror(int r);

/* Stable process exit code for an error code (0 for VP_OK). */
int vp_exit_code(int r);

/*
 * Set *cause (if cause != NULL) to a newly allocated formatted message,
 * freeing any previous one.  Returns r, so that
 *	return vp_fail(cause, VP_ERR_PARSE, "%s:%d: bad", f, l);
 * reads naturally.
 */
int vp_fail(char **cause, int r, const char *fmt, ...) VP_PRINTF(3, 4);
int vp_vfail(char **cause, int r, const char *fmt, va_list ap)
    VP_PRINTF(3, 0);

/* Prefix an existing *cause with "prefix: ".  Returns r. */
int vp_fail_prefix(char **cause, int r, const char *fmt, ...) VP_PRINTF(3, 4);

#endif
