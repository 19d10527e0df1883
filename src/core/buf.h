/*
 * buf.h: an owned, growable byte buffer with a hard size cap.
 *
 * Invariants (as git's strbuf): `buf` is never NULL after init and is
 * always NUL-terminated; `len` excludes the NUL.  Growing past `cap`
 * fails with VP_ERR_TOOBIG and releases the buffer (as curl's dynbuf), so
 * callers can `goto out` without extra cleanup.
 *
 *	struct vp_buf b = VP_BUF_INIT(VP_BUF_DEFAULT_CAP);
 *	if ((r = vp_buf_addf(&b, "%s=%s\n", k, v)) != 0)
 *		goto out;
 *	s = vp_buf_detach(&b, &len);	caller frees s; b is re-initialised
 *	vp_buf_release(&b);		frees; b is re-initialised
 *	vp_buf_release_secure(&b);	zeroes the allocation first
 */
#ifndef VP_BUF_H
#define VP_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/err.h"

#define VP_BUF_DEFAULT_CAP	(16u << 20)	/* 16 MiB */

extern char vp_buf_empty[];

struct vp_buf {
	char	*buf;
	size_t	 len;
	size_t	 alloc;
	size_t	 cap;
};

#define VP_BUF_INIT(c)	{ vp_buf_empty, 0, 0, (c) }

void	 vp_buf_init(struct vp_buf *, size_t cap);
void	 vp_buf_release(struct vp_buf *);
void	 vp_buf_release_secure(struct vp_buf *);
void	 vp_buf_reset(struct vp_buf *);		/* len = 0, keeps memory */
int	 vp_buf_grow(struct vp_buf *, size_t extra);
int	 vp_buf_add(struct vp_buf *, const void *, size_t);
int	 vp_buf_adds(struct vp_buf *, const char *);
int	 vp_buf_addc(struct vp_buf *, char);
int	 vp_buf_addf(struct vp_buf *, const char *, ...) VP_PRINTF(2, 3);
int	 vp_buf_vaddf(struct vp_buf *, const char *, va_list) VP_PRINTF(2, 0);
/* Returns the allocated string (never NULL on success, NULL on ENOMEM). */
char	*vp_buf_detach(struct vp_buf *, size_t *len);

#endif
