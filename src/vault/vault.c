/*
 * vault.c: the ansible-vault 1.1/1.2 AES256 envelope, with libcrypto.
 *
 * As ansible's VaultAES256 (lib/ansible/parsing/vault/__init__.py):
 *   dk = PBKDF2-HMAC-SHA256(password, salt[32], 10000 iterations, 80 bytes)
 *   key1 = dk[0:32] (AES-256), key2 = dk[32:64] (HMAC), iv = dk[64:80]
 *   ct = AES-256-CTR(key1, iv, PKCS7-pad-16(plaintext))
 *   mac = HMAC-SHA256(key2, ct)
 *   inner = hex(salt) "\n" hex(mac) "\n" hex(ct)
 *   file = "$ANSIBLE_VAULT;1.1;AES256\n" + hex(inner) in 80-column lines,
 *          each ending in "\n"
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "vault/vault-int.h"

#define KEY_LEN		32
#define IV_LEN		16
#define MAC_LEN		32
#define DK_LEN		(2 * KEY_LEN + IV_LEN)
#define LINE_COLS	80

static const char hexdig[] = "0123456789abcdef";

int
vault_random(void *buf, size_t len)
{
	unsigned char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = getrandom(p, len > 256 ? 256 : len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return VP_ERR_CRYPTO;
		}
		p += n;
		len -= (size_t)n;
	}
	return VP_OK;
}

int
vault_is_vault(const void *data, size_t len)
{
	return len >= strlen(VAULT_HEADER) &&
	    memcmp(data, VAULT_HEADER, strlen(VAULT_HEADER)) == 0;
}

static int
derive(const char *pw, size_t pwlen, const unsigned char *salt,
    size_t saltlen, unsigned char dk[DK_LEN])
{
	if (PKCS5_PBKDF2_HMAC(pw, (int)pwlen, salt, (int)saltlen,
	    VAULT_ITERATIONS, EVP_sha256(), DK_LEN, dk) != 1)
		return VP_ERR_CRYPTO;
	return VP_OK;
}

/* AES-256-CTR over in[0..len) into out (may be the same buffer). */
static int
ctr(const unsigned char *key, const unsigned char *iv,
    const unsigned char *in, unsigned char *out, size_t len)
{
	EVP_CIPHER_CTX	*c;
	int		 n, ok;
	size_t		 off = 0, chunk;

	if ((c = EVP_CIPHER_CTX_new()) == NULL)
		return VP_ERR_NOMEM;
	ok = EVP_EncryptInit_ex(c, EVP_aes_256_ctr(), NULL, key, iv) == 1;
	while (ok && off < len) {
		chunk = len - off > (1u << 30) ? (1u << 30) : len - off;
		ok = EVP_EncryptUpdate(c, out + off, &n, in + off,
		    (int)chunk) == 1 && (size_t)n == chunk;
		off += chunk;
	}
	ok = ok && EVP_EncryptFinal_ex(c, out + off, &n) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? VP_OK : VP_ERR_CRYPTO;
}

static int
mac(const unsigned char *key, const unsigned char *data, size_t len,
    unsigned char out[MAC_LEN])
{
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), key, KEY_LEN, data, len, out, &n) == NULL ||
	    n != MAC_LEN)
		return VP_ERR_CRYPTO;
	return VP_OK;
}

/* Output of hex(hex(...)), wrapped at LINE_COLS. */
struct outer {
	struct vp_buf	*out;
	char		 line[LINE_COLS + 1];
	size_t		 col;
	int		 r;
};

static void
outer_put(struct outer *o, unsigned char c)
{
	if (o->r != 0)
		return;
	o->line[o->col++] = hexdig[c >> 4];
	o->line[o->col++] = hexdig[c & 15];
	if (o->col == LINE_COLS) {
		o->line[o->col++] = '\n';
		o->r = vp_buf_add(o->out, o->line, o->col);
		o->col = 0;
	}
}

/* Put hex(data) through the outer hexlify. */
static void
outer_hex(struct outer *o, const unsigned char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len && o->r == 0; i++) {
		outer_put(o, (unsigned char)hexdig[data[i] >> 4]);
		outer_put(o, (unsigned char)hexdig[data[i] & 15]);
	}
}

int
vault_encrypt(const void *plain, size_t len, const char *pw, size_t pwlen,
    const unsigned char *fixed_salt, struct vp_buf *out, char **cause)
{
	unsigned char	 dk[DK_LEN], salt[VAULT_SALT_LEN], tag[MAC_LEN];
	unsigned char	*ct = NULL;
	struct outer	 o;
	size_t		 ctlen, pad, total;
	int		 r;

	memset(&o, 0, sizeof(o));
	if (len > VAULT_PLAIN_MAX)
		return vp_fail(cause, VP_ERR_TOOBIG, "vault: plaintext too large "
		    "(%zu bytes, limit %u)", len, VAULT_PLAIN_MAX);
	if (pwlen == 0 || pwlen > VAULT_PW_MAX)
		return vp_fail(cause, VP_ERR_INVALID, "vault: %s password",
		    pwlen ? "too long a" : "empty");
	if (fixed_salt != NULL)
		memcpy(salt, fixed_salt, sizeof(salt));
	else if (vault_random(salt, sizeof(salt)) != 0)
		return vp_fail(cause, VP_ERR_CRYPTO, "vault: getrandom: %s",
		    strerror(errno));
	pad = 16 - len % 16;
	ctlen = len + pad;
	if ((ct = malloc(ctlen)) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	memcpy(ct, plain, len);
	memset(ct + len, (int)pad, pad);
	if ((r = derive(pw, pwlen, salt, sizeof(salt), dk)) != 0 ||
	    (r = ctr(dk, dk + 2 * KEY_LEN, ct, ct, ctlen)) != 0 ||
	    (r = mac(dk + KEY_LEN, ct, ctlen, tag)) != 0) {
		r = vp_fail(cause, r, "vault: encryption failed");
		goto out;
	}
	/* header, then 4 output chars per inner byte plus newlines */
	total = 2 * (2 * VAULT_SALT_LEN + 1 + 2 * MAC_LEN + 1 + 2 * ctlen);
	total += total / LINE_COLS + 2 + 64;
	if ((r = vp_buf_grow(out, total)) != 0 ||
	    (r = vp_buf_adds(out, "$ANSIBLE_VAULT;1.1;AES256\n")) != 0) {
		r = vp_fail(cause, r, "vault: %s", vp_strerror(r));
		goto out;
	}
	o.out = out;
	outer_hex(&o, salt, sizeof(salt));
	outer_put(&o, '\n');
	outer_hex(&o, tag, sizeof(tag));
	outer_put(&o, '\n');
	outer_hex(&o, ct, ctlen);
	if (o.r == 0 && o.col > 0) {
		o.line[o.col++] = '\n';
		o.r = vp_buf_add(out, o.line, o.col);
	}
	if ((r = o.r) != 0)
		r = vp_fail(cause, r, "vault: %s", vp_strerror(r));
 out:
	OPENSSL_cleanse(dk, sizeof(dk));
	if (ct != NULL) {
		OPENSSL_cleanse(ct, ctlen);
		free(ct);
	}
	return r;
}

static int
unhex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Unhexlify s[0..len) into out (len/2 bytes); -1 on bad input. */
static int
unhex(const char *s, size_t len, unsigned char *out)
{
	size_t	i;
	int	h, l;

	if (len % 2 != 0)
		return -1;
	for (i = 0; i < len; i += 2) {
		if ((h = unhex_digit((unsigned char)s[i])) < 0 ||
		    (l = unhex_digit((unsigned char)s[i + 1])) < 0)
			return -1;
		out[i / 2] = (unsigned char)(h << 4 | l);
	}
	return 0;
}

static char *
trimdup(const char *s, size_t len)
{
	char *p;

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/*
 * Parse the header line: "$ANSIBLE_VAULT;1.1;AES256" or
 * "$ANSIBLE_VAULT;1.2;AES256;label".
 */
static int
parse_header(const char *name, const char *h, size_t hlen, char **label,
    char **cause)
{
	const char	*f[5], *p, *end = h + hlen;
	size_t		 fl[5];
	char		*ver = NULL, *cipher = NULL;
	int		 n = 0, r = VP_OK;

	for (p = h; n < 5; n++) {
		const char *semi = memchr(p, ';', (size_t)(end - p));

		f[n] = p;
		fl[n] = (size_t)((semi ? semi : end) - p);
		if (semi == NULL) {
			n++;
			break;
		}
		p = semi + 1;
	}
	if (n < 3 || n > 4)
		return vp_fail(cause, VP_ERR_PARSE, "vault '%s': bad header "
		    "(expected \"$ANSIBLE_VAULT;1.1;AES256\")", name);
	ver = trimdup(f[1], fl[1]);
	cipher = trimdup(f[2], fl[2]);
	if (ver == NULL || cipher == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (strcmp(ver, "1.1") != 0 && strcmp(ver, "1.2") != 0) {
		r = vp_fail(cause, VP_ERR_PARSE, "vault '%s': unsupported "
		    "format version '%.16s' (1.1 and 1.2 are)", name, ver);
		goto out;
	}
	if (strcmp(cipher, "AES256") != 0) {
		r = vp_fail(cause, VP_ERR_PARSE, "vault '%s': unsupported "
		    "cipher '%.16s' (only AES256)", name, cipher);
		goto out;
	}
	if (label != NULL && n == 4 && (*label = trimdup(f[3], fl[3])) ==
	    NULL)
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
 out:
	free(ver);
	free(cipher);
	return r;
}

int
vault_decrypt(const char *name, const void *data, size_t len,
    const char *pw, size_t pwlen, struct vp_buf *plain, char **label,
    char **cause)
{
	const char	*s = data, *nl, *body, *end = s + len;
	unsigned char	 dk[DK_LEN], tag[MAC_LEN], want[MAC_LEN];
	unsigned char	*inner = NULL, *salt = NULL, *ct = NULL, *p1, *p2;
	char		*hex = NULL;
	size_t		 hexlen = 0, innerlen, saltlen, ctlen, i, pad;
	int		 r = VP_OK, ok;

	if (label != NULL)
		*label = NULL;
	memset(dk, 0, sizeof(dk));
	if (!vault_is_vault(data, len))
		return vp_fail(cause, VP_ERR_PARSE, "vault '%s': no "
		    "\"$ANSIBLE_VAULT;\" header", name);
	if (len > VAULT_FILE_MAX)
		return vp_fail(cause, VP_ERR_TOOBIG, "vault '%s': file too "
		    "large", name);
	if (pwlen == 0 || pwlen > VAULT_PW_MAX)
		return vp_fail(cause, VP_ERR_INVALID, "vault '%s': %s "
		    "password", name, pwlen ? "too long a" : "empty");
	nl = memchr(s, '\n', len);
	body = nl ? nl + 1 : end;
	if ((r = parse_header(name, s, (size_t)((nl ? nl : end) - s) -
	    (nl && nl > s && nl[-1] == '\r'), label, cause)) != 0)
		return r;

	/* Join the body lines (ansible: splitlines, then join). */
	if ((hex = malloc((size_t)(end - body) + 1)) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (; body < end; body++)
		if (*body != '\n' && *body != '\r')
			hex[hexlen++] = *body;
	innerlen = hexlen / 2;
	if ((inner = malloc(innerlen + 1)) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (hexlen == 0 || unhex(hex, hexlen, inner) != 0)
		goto corrupt;
	p1 = memchr(inner, '\n', innerlen);
	p2 = p1 ? memchr(p1 + 1, '\n', innerlen - (size_t)(p1 + 1 - inner)) :
	    NULL;
	if (p2 == NULL)
		goto corrupt;
	saltlen = (size_t)(p1 - inner) / 2;
	ctlen = (innerlen - (size_t)(p2 + 1 - inner)) / 2;
	if ((salt = malloc(saltlen + 1)) == NULL ||
	    (ct = malloc(ctlen + 1)) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (unhex((char *)inner, (size_t)(p1 - inner), salt) != 0 ||
	    unhex((char *)p2 + 1, innerlen - (size_t)(p2 + 1 - inner), ct)
	    != 0)
		goto corrupt;
	/* A MAC of the wrong length cannot match: same error as a bad one. */
	ok = (size_t)(p2 - (p1 + 1)) == 2 * MAC_LEN &&
	    unhex((char *)p1 + 1, 2 * MAC_LEN, want) == 0;

	if ((r = derive(pw, pwlen, salt, saltlen, dk)) != 0 ||
	    (r = mac(dk + KEY_LEN, ct, ctlen, tag)) != 0) {
		r = vp_fail(cause, r, "vault '%s': key derivation failed", name);
		goto out;
	}
	if (!ok || CRYPTO_memcmp(tag, want, MAC_LEN) != 0) {
		r = vp_fail(cause, VP_ERR_CRYPTO, "vault '%s': wrong password "
		    "or corrupted file (HMAC mismatch)", name);
		goto out;
	}
	if (ctlen == 0 || ctlen % 16 != 0 || ctlen - 1 > VAULT_PLAIN_MAX) {
		r = vp_fail(cause, ctlen > VAULT_PLAIN_MAX ? VP_ERR_TOOBIG :
		    VP_ERR_CRYPTO, "vault '%s': %s", name, ctlen >
		    VAULT_PLAIN_MAX ? "plaintext too large" :
		    "bad ciphertext length");
		goto out;
	}
	if ((r = vp_buf_grow(plain, ctlen)) != 0) {
		r = vp_fail(cause, r, "vault '%s': plaintext: %s", name,
		    vp_strerror(r));
		goto out;
	}
	if ((r = ctr(dk, dk + 2 * KEY_LEN, ct, (unsigned char *)plain->buf +
	    plain->len, ctlen)) != 0) {
		r = vp_fail(cause, r, "vault '%s': decryption failed", name);
		goto out;
	}
	{
		unsigned char *pt = (unsigned char *)plain->buf + plain->len;

		pad = pt[ctlen - 1];
		ok = pad >= 1 && pad <= 16;
		for (i = 0; ok && i < pad; i++)
			ok = pt[ctlen - 1 - i] == pad;
		if (!ok) {
			OPENSSL_cleanse(pt, ctlen);
			plain->buf[plain->len] = '\0';
			r = vp_fail(cause, VP_ERR_CRYPTO, "vault '%s': bad "
			    "padding after decryption", name);
			goto out;
		}
		OPENSSL_cleanse(pt + ctlen - pad, pad);
		plain->len += ctlen - pad;
		plain->buf[plain->len] = '\0';
	}
	goto out;
 corrupt:
	r = vp_fail(cause, VP_ERR_PARSE, "vault '%s': corrupted file (the "
	    "body is not ansible-vault hex data)", name);
 out:
	OPENSSL_cleanse(dk, sizeof(dk));
	free(hex);
	free(inner);
	free(salt);
	free(ct);
	if (r != 0 && label != NULL) {
		free(*label);
		*label = NULL;
	}
	return r;
}
