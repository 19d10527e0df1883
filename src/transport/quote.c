/*
 * quote.c: POSIX single-quote quoting, the only quoting step vpai applies
 * to anything a remote shell will parse (see transport.h).
 */
#include <string.h>

#include "transport/transport.h"

int
vp_sq_quote(struct vp_buf *out, const char *s)
{
	const char	*q;
	int		 r;

	if ((r = vp_buf_addc(out, '\'')) != 0)
		return r;
	while ((q = strchr(s, '\'')) != NULL) {
		if ((r = vp_buf_add(out, s, (size_t)(q - s))) != 0 ||
		    (r = vp_buf_adds(out, "'\\''")) != 0)
			return r;
		s = q + 1;
	}
	if ((r = vp_buf_adds(out, s)) != 0)
		return r;
	return vp_buf_addc(out, '\'');
}

int
vp_sq_quote_argv(struct vp_buf *out, const char *const *argv)
{
	size_t	i;
	int	r;

	for (i = 0; argv[i] != NULL; i++) {
		if (i > 0 && (r = vp_buf_addc(out, ' ')) != 0)
			return r;
		if ((r = vp_sq_quote(out, argv[i])) != 0)
			return r;
	}
	return VP_OK;
}
