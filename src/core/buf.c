/* buf.c: growable capped buffer; see buf.h for the contract. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

char vp_buf_empty[1];

void
vp_buf_init(struct vp_buf *b, size_t cap)
{
	b->buf = vp_buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap ? cap : VP_BUF_DEFAULT_CAP;
}

void
vp_buf_release(struct vp_buf *b)
{
	size_t cap = b->cap;

	if (b->alloc)
		free(b->buf);
	vp_buf_init(b, cap);
}

void
vp_buf_release_secure(struct vp_buf *b)
{
	if (b->alloc)
		explicit_bzero(b->buf, b->alloc);
	vp_buf_release(b);
}

void
vp_buf_reset(struct vp_buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}

int
vp_buf_grow(struct vp_buf *b, size_t extra)
{
	size_t	 want, n;
	char	*p;

	if (b->cap == 0)
		b->cap = VP_BUF_DEFAULT_CAP;
	if (extra > b->cap || b->len > b->cap - extra) {
		vp_buf_release(b);
		return VP_ERR_TOOBIG;
	}
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return VP_OK;
	n = b->alloc ? b->alloc : 64;
	while (n < want)
		n *= 2;
	if (n > b->cap + 1)
		n = b->cap + 1;
	p = b->alloc ? realloc(b->buf, n) : malloc(n);
	if (p == NULL) {
		vp_buf_release(b);
		return VP_ERR_NOMEM;
	}
	if (!b->alloc)
		p[0] = '\0';
	b->buf = p;
	b->alloc = n;
	return VP_OK;
}

int
vp_buf_add(struct vp_buf *b, const void *p, size_t n)
{
	int r;

	if ((r = vp_buf_grow(b, n)) != 0)
		return r;
	if (n)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return VP_OK;
}

int
vp_buf_adds(struct vp_buf *b, const char *s)
{
	return vp_buf_add(b, s, strlen(s));
}

int
vp_buf_addc(struct vp_buf *b, char c)
{
	return vp_buf_add(b, &c, 1);
}

int
vp_buf_vaddf(struct vp_buf *b, const char *fmt, va_list ap)
{
	va_list	 cp;
	int	 n, r;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return VP_ERR_INVALID;
	if ((r = vp_buf_grow(b, (size_t)n)) != 0)
		return r;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return VP_OK;
}

int
vp_buf_addf(struct vp_buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	r;

	va_start(ap, fmt);
	r = vp_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

char *
vp_buf_detach(struct vp_buf *b, size_t *len)
{
	char	*s;
	size_t	 cap = b->cap;

	if (len != NULL)
		*len = b->len;
	if (b->alloc)
		s = b->buf;
	else
		s = strdup("");
	vp_buf_init(b, cap);
	return s;
}
