/*
 * u-vault-fuzz.c: a short, deterministic mutation fuzz run of the vault
 * envelope parser (vault_decrypt) and the secrets YAML parser
 * (secrets_parse), under ASan/UBSan, as a ctest.
 *
 * The same file is a libFuzzer harness when built with
 * -DVPAI_LIBFUZZER -fsanitize=fuzzer (clang): the first input byte picks
 * the target (even: YAML, odd: vault), the rest is the input.
 *
 * Properties checked on every input:
 *   - no crash, no leak, no undefined behaviour (sanitizers);
 *   - the result is VP_OK or one of the documented errors, with a cause
 *     on error and no output object;
 *   - YAML: a parsed object re-emits and re-parses to an equal object;
 *   - vault: a decrypted plaintext re-encrypts and decrypts back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef VPAI_LIBFUZZER
#include "t.h"
#endif
#include "core/file.h"
#include "vault/vault.h"

#define PW	"vpai-test-password"

static int
check_yaml(const uint8_t *data, size_t len)
{
	struct vp_buf	 y = VP_BUF_INIT(VAULT_PLAIN_MAX);
	json_t		*o = NULL, *o2 = NULL;
	char		*cause = NULL;
	int		 r, ok = 1;

	r = secrets_parse("fuzz", (const char *)data, len, &o, &cause);
	if (r == 0) {
		ok = o != NULL && json_is_object(o);
		if (ok && secrets_emit(o, &y, NULL) == 0)
			ok = secrets_parse("re", y.buf, y.len, &o2, NULL) == 0 &&
			    json_equal(o, o2);
	} else
		ok = (r == VP_ERR_PARSE || r == VP_ERR_NOMEM) && o == NULL &&
		    cause != NULL;
	if (!ok)
		printf("  yaml property failed: r=%d cause=%s\n", r,
		    cause ? cause : "(null)");
	free(cause);
	json_decref(o);
	json_decref(o2);
	vp_buf_release(&y);
	return ok;
}

static int
check_vault(const uint8_t *data, size_t len)
{
	struct vp_buf	 p = VP_BUF_INIT(VAULT_PLAIN_MAX);
	struct vp_buf	 e = VP_BUF_INIT(VAULT_FILE_MAX);
	struct vp_buf	 p2 = VP_BUF_INIT(VAULT_PLAIN_MAX);
	char		*cause = NULL, *label = NULL;
	int		 r, ok = 1;

	r = vault_decrypt("fuzz", data, len, PW, strlen(PW), &p, &label,
	    &cause);
	if (r == 0) {
		ok = vault_encrypt(p.buf, p.len, PW, strlen(PW), NULL, &e,
		    NULL) == 0 && vault_decrypt("re", e.buf, e.len, PW,
		    strlen(PW), &p2, NULL, NULL) == 0 && p2.len == p.len &&
		    memcmp(p.buf, p2.buf, p.len) == 0;
	} else
		ok = (r == VP_ERR_PARSE || r == VP_ERR_CRYPTO ||
		    r == VP_ERR_TOOBIG || r == VP_ERR_NOMEM) && p.len == 0 &&
		    cause != NULL && label == NULL;
	if (!ok)
		printf("  vault property failed: r=%d cause=%s\n", r,
		    cause ? cause : "(null)");
	free(cause);
	free(label);
	vp_buf_release_secure(&p);
	vp_buf_release_secure(&p2);
	vp_buf_release(&e);
	return ok;
}

#ifdef VPAI_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len == 0)
		return 0;
	if (data[0] & 1)
		check_vault(data + 1, len - 1);
	else
		check_yaml(data + 1, len - 1);
	return 0;
}
#else

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Apply 1-4 random edits to a copy of in. */
static size_t
mutate(const char *in, size_t len, char *out, size_t cap,
    const char *dict)
{
	size_t	n = len < cap ? len : cap, k, i, pos, dl = strlen(dict);
	int	edits = 1 + (int)(next() % 4);

	memcpy(out, in, n);
	for (k = 0; k < (size_t)edits; k++) {
		pos = n ? next() % n : 0;
		switch (next() % 6) {
		case 0:		/* flip a bit */
			if (n)
				out[pos] ^= (char)(1 << (next() % 8));
			break;
		case 1:		/* random byte */
			if (n)
				out[pos] = (char)next();
			break;
		case 2:		/* dictionary byte */
			if (n)
				out[pos] = dict[next() % dl];
			break;
		case 3:		/* truncate */
			n = pos;
			break;
		case 4:		/* delete a run */
			i = 1 + next() % 16;
			if (pos + i <= n) {
				memmove(out + pos, out + pos + i, n - pos - i);
				n -= i;
			}
			break;
		default:	/* duplicate a run */
			i = 1 + next() % 16;
			if (pos + i <= n && n + i <= cap) {
				memmove(out + pos + i, out + pos, n - pos);
				n += i;
			}
			break;
		}
	}
	return n;
}

static const char *
src(const char *rel)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", getenv("VPAI_SOURCE_DIR"), rel);
	return buf;
}

T_TEST(fuzz_yaml)
{
	static const char *const seeds[] = {
		"a: 'x'\nb: \"y\\n\"\nc: plain\n", "---\n# c\n...\n",
		"a: &x 'v'\nb: *x\n", "a: [1, 2]\nb: {c: d}\n",
		"? complex\n: 'v'\n", "a: !!str 1\nb: !vault |\n  x\n",
		"a: |\n  block\n  text\nb: >\n  folded\n", "\357\273\277a: 'bom'\n",
		"a: 'x'\n---\nb: 'y'\n", "a: 0x1f\nb: 1_000\nc: .inf\n",
	};
	struct vp_buf	 f = VP_BUF_INIT(1 << 20);
	static char	 buf[1 << 16];
	size_t		 i, n;
	int		 ok = 1;

	T_INTEQ(vp_file_read(src("tests/fixtures/secrets/plain.yml"), &f,
	    NULL), 0);
	T_ASSERT(check_yaml((const uint8_t *)f.buf, f.len));
	for (i = 0; i < 20000 && ok; i++) {
		if (i % 3 == 0)
			n = mutate(f.buf, f.len, buf, sizeof(buf),
			    ":'\"\n #-!&*[]{}?|>\\\t0yn~");
		else {
			const char *s = seeds[next() % (sizeof(seeds) /
			    sizeof(seeds[0]))];

			n = mutate(s, strlen(s), buf, sizeof(buf),
			    ":'\"\n #-!&*[]{}?|>\\\t0yn~");
		}
		ok = check_yaml((const uint8_t *)buf, n);
	}
	vp_buf_release(&f);
	T_ASSERT(ok);
}

T_TEST(fuzz_vault)
{
	struct vp_buf	 f = VP_BUF_INIT(1 << 20), g = VP_BUF_INIT(1 << 20);
	static char	 buf[1 << 16];
	size_t		 i, n;
	int		 ok = 1;

	T_INTEQ(vp_file_read(src("tests/fixtures/vault/ansible-1.1.vault"),
	    &f, NULL), 0);
	T_INTEQ(vp_file_read(src("tests/fixtures/vault/ansible-1.2-label.vault"),
	    &g, NULL), 0);
	T_ASSERT(check_vault((const uint8_t *)f.buf, f.len));
	/* every truncation of the header region */
	for (i = 0; i < 40 && ok; i++)
		ok = check_vault((const uint8_t *)f.buf, i);
	/* mutations: each that keeps the structure costs one PBKDF2 */
	for (i = 0; i < 600 && ok; i++) {
		if (i % 2)
			n = mutate(f.buf, f.len, buf, sizeof(buf),
			    "0123456789abcdefABCDEF\n\r;$ 1.2AES");
		else
			n = mutate(g.buf, g.len, buf, sizeof(buf),
			    "0123456789abcdef\n;");
		ok = check_vault((const uint8_t *)buf, n);
	}
	vp_buf_release(&f);
	vp_buf_release(&g);
	T_ASSERT(ok);
}

int
main(void)
{
	T_RUN(fuzz_yaml);
	T_RUN(fuzz_vault);
	return T_DONE();
}
#endif
