/* err.c: error codes, cause strings and exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static const struct {
	int		 code;
	int		 exit;
	const char	*text;
} errs[] = {
	{ VP_OK,		0,  "success" },
	{ VP_ERR_NOMEM,		70, "out of memory" },
	{ VP_ERR_IO,		74, "input/output error" },
	{ VP_ERR_PARSE,		65, "parse error" },
	{ VP_ERR_INVALID,	65, "invalid value" },
	{ VP_ERR_USAGE,		64, "usage error" },
	{ VP_ERR_NOTFOUND,	66, "not found" },
	{ VP_ERR_TOOBIG,	65, "input too large" },
	{ VP_ERR_CHILD,		71, "subprocess failed" },
	{ VP_ERR_CRYPTO,	77, "decryption failed" },
	{ VP_ERR_CHECK,		3,  "check found errors" },
	{ VP_ERR_REMOTE,	4,  "target step failed" },
	{ VP_ERR_HEALTH,	5,  "health gate failed" },
	{ VP_ERR_REFUSED,	6,  "refused" },
	{ VP_ERR_INTERRUPTED,	130, "interrupted" },
	{ VP_ERR_EXISTS,	73, "already exists" },
};

const char *
vp_strerror(int r)
{
	size_t i;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (errs[i].code == r)
			return errs[i].text;
	return "unknown error";
}

int
vp_exit_code(int r)
{
	size_t i;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (errs[i].code == r)
			return errs[i].exit;
	return 1;
}

int
vp_vfail(char **cause, int r, const char *fmt, va_list ap)
{
	char	*s = NULL;

	if (cause == NULL)
		return r;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	free(*cause);
	*cause = s;
	return r;
}

int
vp_fail(char **cause, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vp_vfail(cause, r, fmt, ap);
	va_end(ap);
	return r;
}

int
vp_fail_prefix(char **cause, int r, const char *fmt, ...)
{
	va_list	 ap;
	char	*pre = NULL, *s = NULL;

	if (cause == NULL)
		return r;
	va_start(ap, fmt);
	if (vasprintf(&pre, fmt, ap) < 0)
		pre = NULL;
	va_end(ap);
	if (pre == NULL)
		return r;
	if (asprintf(&s, "%s: %s", pre, *cause ? *cause : vp_strerror(r)) < 0)
		s = NULL;
	free(pre);
	if (s != NULL) {
		free(*cause);
		*cause = s;
	}
	return r;
}
