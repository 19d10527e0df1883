/*
 * util.c: hashing, base64, unified diff and secret masking for the host
 * module.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "host/host.h"
#include "host/internal.h"

void
vp_host_sha256(const void *data, size_t len, char hex[65])
{
	unsigned char	md[SHA256_DIGEST_LENGTH];
	size_t		i;

	SHA256(data, len, md);
	for (i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
}

int
vp_host_b64enc(const void *data, size_t len, struct vp_buf *out)
{
	size_t	n = 4 * ((len + 2) / 3);
	int	r;

	if (len > (size_t)INT32_MAX / 2)
		return VP_ERR_TOOBIG;
	if ((r = vp_buf_grow(out, n)) != 0)
		return r;
	EVP_EncodeBlock((unsigned char *)out->buf + out->len, data, (int)len);
	out->len += n;
	out->buf[out->len] = '\0';
	return VP_OK;
}

int
vp_host_b64dec(const char *s, size_t len, struct vp_buf *out)
{
	size_t	pad = 0;
	int	n, r;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
	    s[len - 1] == ' '))
		len--;
	if (len % 4 != 0 || len > (size_t)INT32_MAX / 2)
		return VP_ERR_PARSE;
	if (len == 0)
		return VP_OK;
	if (s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	if ((r = vp_buf_grow(out, len / 4 * 3)) != 0)
		return r;
	n = EVP_DecodeBlock((unsigned char *)out->buf + out->len,
	    (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n < pad)
		return VP_ERR_PARSE;
	out->len += (size_t)n - pad;
	out->buf[out->len] = '\0';
	return VP_OK;
}

/* ---- unified diff ---- */

struct lines {
	const char	**p;	/* start of each line */
	size_t		 *len;	/* length including its '\n' if any */
	size_t		  n;
};

static int
split_lines(const char *s, struct lines *l)
{
	const char	*q;
	size_t		 n = 0, i;

	for (q = s; *q != '\0'; q++)
		if (*q == '\n')
			n++;
	if (q > s && q[-1] != '\n')
		n++;
	l->n = n;
	l->p = calloc(n + 1, sizeof(*l->p));
	l->len = calloc(n + 1, sizeof(*l->len));
	if (l->p == NULL || l->len == NULL)
		return VP_ERR_NOMEM;
	for (i = 0, q = s; i < n; i++) {
		const char *e = strchr(q, '\n');

		l->p[i] = q;
		l->len[i] = e ? (size_t)(e - q) + 1 : strlen(q);
		q += l->len[i];
	}
	return VP_OK;
}

static int
line_eq(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	return a->len[i] == b->len[j] &&
	    memcmp(a->p[i], b->p[j], a->len[i]) == 0;
}

static int
emit_line(struct vp_buf *out, char tag, const char *p, size_t len)
{
	int r;

	if ((r = vp_buf_addc(out, tag)) != 0 ||
	    (r = vp_buf_add(out, p, len)) != 0)
		return r;
	if (len == 0 || p[len - 1] != '\n')
		r = vp_buf_adds(out, "\n\\ No newline at end of file\n");
	return r;
}

#define DIFF_MAX_CELLS	(4u << 20)
#define CTX		3

int
vp_host_diff(const char *a, const char *b, const char *label,
    struct vp_buf *out)
{
	struct lines	 la = { 0 }, lb = { 0 };
	char		*ops = NULL;	/* ' ', '-', '+' per edit */
	size_t		*ai = NULL, *bi = NULL, nops = 0;
	uint32_t	*dp = NULL;
	size_t		 pre = 0, suf = 0, n, m, i, j, k, h, e, w, last = 0;
	size_t		 a0, b0, ac, bc;
	int		 r;

	if ((r = split_lines(a, &la)) != 0 || (r = split_lines(b, &lb)) != 0)
		goto out;
	while (pre < la.n && pre < lb.n && line_eq(&la, pre, &lb, pre))
		pre++;
	while (suf < la.n - pre && suf < lb.n - pre &&
	    line_eq(&la, la.n - 1 - suf, &lb, lb.n - 1 - suf))
		suf++;
	n = la.n - pre - suf;
	m = lb.n - pre - suf;
	ops = malloc(la.n + lb.n + 1);
	ai = calloc(la.n + lb.n + 1, sizeof(*ai));
	bi = calloc(la.n + lb.n + 1, sizeof(*bi));
	if (ops == NULL || ai == NULL || bi == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
#define PUSH(t, x, y) do { ops[nops] = (t); ai[nops] = (x); \
	bi[nops] = (y); nops++; } while (0)
	for (i = 0; i < pre; i++)
		PUSH(' ', i, i);
	if (n > 0 && m > 0 && (n + 1) * (m + 1) <= DIFF_MAX_CELLS) {
		/* LCS table over the middle, filled from the end. */
		w = m + 1;
		if ((dp = calloc((n + 1) * w, sizeof(*dp))) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		for (i = n; i-- > 0;)
			for (j = m; j-- > 0;)
				dp[i * w + j] = line_eq(&la, pre + i, &lb,
				    pre + j) ? dp[(i + 1) * w + j + 1] + 1 :
				    (dp[(i + 1) * w + j] > dp[i * w + j + 1] ?
				    dp[(i + 1) * w + j] : dp[i * w + j + 1]);
		i = j = 0;
		while (i < n && j < m) {
			if (line_eq(&la, pre + i, &lb, pre + j)) {
				PUSH(' ', pre + i, pre + j);
				i++;
				j++;
			} else if (dp[(i + 1) * w + j] >= dp[i * w + j + 1]) {
				PUSH('-', pre + i, pre + j);
				i++;
			} else {
				PUSH('+', pre + i, pre + j);
				j++;
			}
		}
		for (; i < n; i++)
			PUSH('-', pre + i, pre + m);
		for (; j < m; j++)
			PUSH('+', pre + n, pre + j);
	} else {
		for (i = 0; i < n; i++)
			PUSH('-', pre + i, pre);
		for (j = 0; j < m; j++)
			PUSH('+', pre + n, pre + j);
	}
	for (i = 0; i < suf; i++)
		PUSH(' ', pre + n + i, pre + m + i);
#undef PUSH
	if (nops == pre + suf) {
		r = VP_OK;	/* identical */
		goto out;
	}
	if ((r = vp_buf_addf(out, "--- %s\n+++ %s\n", la.n ? label :
	    "/dev/null", label)) != 0)
		goto out;
	for (k = 0; k < nops;) {
		if (ops[k] == ' ') {
			k++;
			continue;
		}
		/* A hunk: CTX lines around changes closer than 2*CTX. */
		h = k >= CTX ? k - CTX : 0;
		if (h < last)
			h = last;
		e = k;
		for (;;) {
			while (e < nops && ops[e] != ' ')
				e++;
			for (j = e; j < nops && ops[j] == ' '; j++)
				;
			if (j < nops && j - e <= 2 * CTX) {
				e = j;
				continue;
			}
			break;
		}
		e = e + CTX < nops ? e + CTX : nops;
		a0 = ai[h];
		b0 = bi[h];
		ac = bc = 0;
		for (j = h; j < e; j++) {
			ac += ops[j] != '+';
			bc += ops[j] != '-';
		}
		if ((r = vp_buf_addf(out, "@@ -%zu,%zu +%zu,%zu @@\n",
		    ac ? a0 + 1 : a0, ac, bc ? b0 + 1 : b0, bc)) != 0)
			goto out;
		for (j = h; j < e; j++) {
			if (ops[j] == '+')
				r = emit_line(out, '+', lb.p[bi[j]],
				    lb.len[bi[j]]);
			else
				r = emit_line(out, ops[j], la.p[ai[j]],
				    la.len[ai[j]]);
			if (r != 0)
				goto out;
		}
		k = last = e;
	}
	r = VP_OK;
 out:
	free(la.p);
	free(la.len);
	free(lb.p);
	free(lb.len);
	free(ops);
	free(ai);
	free(bi);
	free(dp);
	return r;
}

/* ---- masking ---- */

static int
mask_one(struct vp_buf *buf, const char *sec)
{
	struct vp_buf	 nb = VP_BUF_INIT(buf->cap);
	size_t		 sl = strlen(sec);
	const char	*p = buf->buf, *q;
	int		 r;

	if (sl < 4 || strstr(buf->buf, sec) == NULL)
		return VP_OK;
	while ((q = strstr(p, sec)) != NULL) {
		if ((r = vp_buf_add(&nb, p, (size_t)(q - p))) != 0 ||
		    (r = vp_buf_adds(&nb, "***")) != 0)
			goto fail;
		p = q + sl;
	}
	if ((r = vp_buf_adds(&nb, p)) != 0)
		goto fail;
	vp_buf_release_secure(buf);
	*buf = nb;
	return VP_OK;
 fail:
	vp_buf_release_secure(&nb);
	return r;
}

int
vp_host_mask(struct vp_buf *buf, const json_t *want)
{
	const json_t	*secs, *v;
	size_t		 i;
	int		 r;

	if (want == NULL || (secs = json_object_get(want, "secrets")) == NULL)
		return VP_OK;
	json_array_foreach(secs, i, v) {
		if (json_is_string(v) &&
		    (r = mask_one(buf, json_string_value(v))) != 0)
			return r;
	}
	return VP_OK;
}

int
host_step_cause(struct vp_target *t, const char *step, int r, char **cause)
{
	const char	*name = vp_target_name(t);
	size_t		 n = strlen(name);
	char		*c = NULL;

	if (cause == NULL || *cause == NULL)
		return r;
	if ((*cause)[0] == '\'' && strncmp(*cause + 1, name, n) == 0 &&
	    strncmp(*cause + 1 + n, "': ", 3) == 0) {
		if (strncmp(*cause + n + 4, "step ", 5) == 0)
			return r;
		if (asprintf(&c, "'%s': step '%s': %s", name, step,
		    *cause + n + 4) >= 0) {
			free(*cause);
			*cause = c;
		}
		return r;
	}
	return vp_fail_prefix(cause, r, "'%s': step '%s'", name, step);
}
