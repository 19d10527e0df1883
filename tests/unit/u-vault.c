/*
 * u-vault.c: src/vault: the ansible-vault format (known answers from the
 * real ansible-vault under tests/fixtures/vault/), tampering, the secrets
 * YAML, password sources, the catalogue and secret generation.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "core/file.h"
#include "vault/vault.h"

static char	tmpdir[] = "/tmp/u-vault.XXXXXX";

static const char *
src(const char *rel)
{
	static char	buf[4][4096];
	static int	i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", getenv("VPAI_SOURCE_DIR"),
	    rel);
	return buf[i];
}

static const char *
tmp(const char *name)
{
	static char	buf[4][4096];
	static int	i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

static int
slurp(const char *path, struct vp_buf *b)
{
	vp_buf_init(b, VAULT_FILE_MAX);
	return vp_file_read(path, b, NULL);
}

static int
spit(const char *path, const char *s, mode_t mode)
{
	unlink(path);
	return vp_file_write_atomic(path, s, strlen(s), mode, (uid_t)-1,
	    (gid_t)-1, NULL);
}

#define PW	"vpai-test-password"

/* --- known answers from the real ansible-vault ---------------------- */

T_TEST(kat_decrypt_ansible_11)
{
	struct vp_buf	 f, want, plain = VP_BUF_INIT(VAULT_PLAIN_MAX);
	char		*cause = NULL, *label = (char *)1;

	T_INTEQ(slurp(src("tests/fixtures/vault/ansible-1.1.vault"), &f), 0);
	T_INTEQ(slurp(src("tests/fixtures/vault/ansible-1.1.plain.yml"),
	    &want), 0);
	T_INTEQ(vault_decrypt("x", f.buf, f.len, PW, strlen(PW), &plain,
	    &label, &cause), 0);
	T_ASSERT(label == NULL);
	T_INTEQ(plain.len, want.len);
	T_ASSERT(memcmp(plain.buf, want.buf, want.len) == 0);
	vp_buf_release(&f);
	vp_buf_release(&want);
	vp_buf_release_secure(&plain);
}

T_TEST(kat_decrypt_ansible_12_label_utf8_password)
{
	struct vp_buf	 f, want, plain = VP_BUF_INIT(VAULT_PLAIN_MAX);
	char		*cause = NULL, *label = NULL, *pw = NULL;
	size_t		 pwlen = 0;

	T_INTEQ(vault_pw_read_file(src("tests/fixtures/vault/password-utf8"),
	    &pw, &pwlen, &cause), 0);
	T_STREQ(pw, "p\xc3\xa4ssw\xc3\xb6rd-\xc3\xbc\xe2\x9c\x93");
	T_INTEQ(slurp(src("tests/fixtures/vault/ansible-1.2-label.vault"),
	    &f), 0);
	T_INTEQ(slurp(src("tests/fixtures/vault/ansible-1.1.plain.yml"),
	    &want), 0);
	T_INTEQ(vault_decrypt("x", f.buf, f.len, pw, pwlen, &plain, &label,
	    &cause), 0);
	T_STREQ(label, "prod");
	T_INTEQ(plain.len, want.len);
	T_ASSERT(memcmp(plain.buf, want.buf, want.len) == 0);
	free(label);
	vault_pw_free(pw, pwlen);
	vp_buf_release(&f);
	vp_buf_release(&want);
	vp_buf_release_secure(&plain);
}

/* fixed-salt.vault: ansible's own VaultAES256.encrypt with this salt. */
T_TEST(kat_encrypt_equals_ansible_byte_for_byte)
{
	struct vp_buf	 f, pt, out = VP_BUF_INIT(VAULT_FILE_MAX);
	char		*cause = NULL;

	T_INTEQ(slurp(src("tests/fixtures/vault/fixed-salt.vault"), &f), 0);
	T_INTEQ(slurp(src("tests/fixtures/vault/ansible-1.1.plain.yml"), &pt),
	    0);
	T_INTEQ(vault_encrypt(pt.buf, pt.len, PW, strlen(PW),
	    (const unsigned char *)"vpai-known-answer-salt-32-bytes!", &out,
	    &cause), 0);
	T_INTEQ(out.len, f.len);
	T_STREQ(out.buf, f.buf);
	vp_buf_release(&f);
	vp_buf_release(&pt);
	vp_buf_release(&out);
}

/* --- tampering ------------------------------------------------------- */

/*
 * Decode the outer hex of a vault file, flip one hex digit of the inner
 * text at field (0 salt, 1 mac, 2 ciphertext), re-encode: the file stays
 * well-formed, only the data changes.
 */
static void
tamper(struct vp_buf *f, int field)
{
	char		*body = strchr(f->buf, '\n') + 1, *p, *q;
	static char	 inner[1 << 16];
	size_t		 n = 0, i, k, pos;
	unsigned	 x;
	int		 nl = 0;

	for (p = body; *p; p++)
		if (*p != '\n')
			body[n++] = *p;
	body[n] = '\0';
	for (i = 0; i < n; i += 2) {
		sscanf(body + i, "%2x", &x);
		inner[i / 2] = (char)x;
	}
	/* position: 3rd char of the field */
	for (pos = 0; nl < field; pos++)
		if (inner[pos] == '\n')
			nl++;
	pos += 2;
	inner[pos] = inner[pos] == '0' ? '1' : '0';
	/* re-encode with 80-column lines */
	q = body;
	for (i = 0, k = 0; i < n / 2; i++) {
		q += sprintf(q, "%02x", (unsigned char)inner[i]);
		if ((k += 2) == 80) {
			*q++ = '\n';
			k = 0;
		}
	}
	if (k)
		*q++ = '\n';
	*q = '\0';
	f->len = (size_t)(q - f->buf);
}

T_TEST(tamper_salt_mac_ciphertext_and_wrong_password)
{
	static const char *const want =
	    "vault 'v': wrong password or corrupted file (HMAC mismatch)";
	struct vp_buf	 f, plain = VP_BUF_INIT(VAULT_PLAIN_MAX);
	char		*cause = NULL;
	int		 field;

	for (field = 0; field < 3; field++) {
		T_INTEQ(slurp(src("tests/fixtures/vault/ansible-1.1.vault"),
		    &f), 0);
		tamper(&f, field);
		T_INTEQ(vault_decrypt("v", f.buf, f.len, PW, strlen(PW), &plain,
		    NULL, &cause), VP_ERR_CRYPTO);
		T_STREQ(cause, want);
		T_INTEQ(plain.len, 0);
		free(cause);
		cause = NULL;
		vp_buf_release(&f);
	}
	T_INTEQ(slurp(src("tests/fixtures/vault/ansible-1.1.vault"), &f), 0);
	T_INTEQ(vault_decrypt("v", f.buf, f.len, "vpai-test-passwore", 18,
	    &plain, NULL, &cause), VP_ERR_CRYPTO);
	T_STREQ(cause, want);
	free(cause);
	cause = NULL;
	/* a non-hex byte in the body: malformed, not a crypto error */
	f.buf[40] = 'z';
	T_INTEQ(vault_decrypt("v", f.buf, f.len, PW, strlen(PW), &plain,
	    NULL, &cause), VP_ERR_PARSE);
	T_ASSERT(strstr(cause, "corrupted") != NULL);
	free(cause);
	cause = NULL;
	/* truncated */
	T_INTEQ(vault_decrypt("v", f.buf, 30, PW, strlen(PW), &plain, NULL,
	    &cause), VP_ERR_PARSE);
	free(cause);
	cause = NULL;
	/* unknown version */
	memcpy(f.buf, "$ANSIBLE_VAULT;2.0", 18);
	T_INTEQ(vault_decrypt("v", f.buf, f.len, PW, strlen(PW), &plain,
	    NULL, &cause), VP_ERR_PARSE);
	T_ASSERT(strstr(cause, "unsupported format version '2.0'") != NULL);
	free(cause);
	vp_buf_release(&f);
	vp_buf_release_secure(&plain);
}

/* --- YAML ------------------------------------------------------------ */

T_TEST(round_trip_any_string)
{
	static const char *const vals[] = {
		"", " leading and trailing ", "it's", "\"dq\"", "a: b",
		"# not a comment", "yes", "123", "0x1f", "~", "null", "-",
		"line1\nline2\n", "tab\there", "\x01\x7f control",
		"h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x94\x91",
		"{[,]}&*!|>'\"%@`", "back\\slash", "\r\n", "...", "---",
		"sk-0123456789abcdef", "=+/ABC==", "  ", "\xc2\x85nel",
	};
	struct vp_buf	 y = VP_BUF_INIT(VAULT_PLAIN_MAX);
	struct vp_buf	 e = VP_BUF_INIT(VAULT_FILE_MAX);
	struct vp_buf	 d = VP_BUF_INIT(VAULT_PLAIN_MAX);
	json_t		*in = json_object(), *out = NULL, *out2 = NULL;
	char		*cause = NULL, k[32];
	size_t		 i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		snprintf(k, sizeof(k), "k%02zu", i);
		json_object_set_new(in, k, json_string(vals[i]));
	}
	T_INTEQ(secrets_emit(in, &y, &cause), 0);
	T_INTEQ(secrets_parse("y", y.buf, y.len, &out, &cause), 0);
	T_ASSERT(json_equal(in, out));
	/* keys sorted, single quotes where possible */
	T_ASSERT(strstr(y.buf, "k00: ''\nk01: ' leading and trailing '\n"
	    "k02: 'it''s'\n") != NULL);
	/* and through the cipher */
	T_INTEQ(vault_encrypt(y.buf, y.len, "p\xc3\xa4ss", 5, NULL, &e,
	    &cause), 0);
	T_INTEQ(vault_decrypt("e", e.buf, e.len, "p\xc3\xa4ss", 5, &d, NULL,
	    &cause), 0);
	T_INTEQ(secrets_parse("d", d.buf, d.len, &out2, &cause), 0);
	T_ASSERT(json_equal(in, out2));
	json_decref(in);
	json_decref(out);
	json_decref(out2);
	vp_buf_release(&y);
	vp_buf_release(&e);
	vp_buf_release_secure(&d);
}

T_TEST(emit_rejects_bad_values)
{
	struct vp_buf	 y = VP_BUF_INIT(VAULT_PLAIN_MAX);
	json_t		*o = json_object();
	char		*cause = NULL;

	json_object_set_new(o, "a", json_stringn("x\0y", 3));
	T_INTEQ(secrets_emit(o, &y, &cause), VP_ERR_INVALID);
	free(cause);
	cause = NULL;
	json_object_set_new(o, "a", json_integer(3));
	T_INTEQ(secrets_emit(o, &y, &cause), VP_ERR_INVALID);
	T_STREQ(cause, "key 'a': value is not a string");
	free(cause);
	json_decref(o);
	vp_buf_release(&y);
}

static void
parse_err(const char *yaml, const char *want, int *ok)
{
	json_t	*o = NULL;
	char	*cause = NULL;
	int	 r;

	r = secrets_parse("f.yml", yaml, strlen(yaml), &o, &cause);
	*ok = r == VP_ERR_PARSE && o == NULL && cause != NULL &&
	    strcmp(cause, want) == 0;
	if (!*ok)
		printf("  yaml %s\n  got r=%d '%s'\n  want '%s'\n", yaml, r,
		    cause ? cause : "", want);
	free(cause);
}

T_TEST(parse_errors_name_file_line_key_never_value)
{
	int ok;

	parse_err("a: 'x'\nport: 5432\n", "f.yml:2: key 'port': value is an "
	    "integer, not a string (quote it, or write '' for an empty value)",
	    &ok);
	T_ASSERT(ok);
	parse_err("a: yes\n", "f.yml:1: key 'a': value is a boolean, not a "
	    "string (quote it, or write '' for an empty value)", &ok);
	T_ASSERT(ok);
	parse_err("\n\nempty:\n", "f.yml:3: key 'empty': value is null, not "
	    "a string (quote it, or write '' for an empty value)", &ok);
	T_ASSERT(ok);
	parse_err("x: 3.25\n", "f.yml:1: key 'x': value is a float, not a "
	    "string (quote it, or write '' for an empty value)", &ok);
	T_ASSERT(ok);
	parse_err("x: 2024-01-02\n", "f.yml:1: key 'x': value is a date, not "
	    "a string (quote it, or write '' for an empty value)", &ok);
	T_ASSERT(ok);
	parse_err("keys:\n  - a\n", "f.yml:2: key 'keys': expected a string, "
	    "got a sequence", &ok);
	T_ASSERT(ok);
	parse_err("a: 'x'\na: 'y'\n", "f.yml:2: key 'a': duplicate key", &ok);
	T_ASSERT(ok);
	parse_err("a: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n",
	    "f.yml:1: key 'a': tag '!vault' is not supported (only plain "
	    "strings; inline !vault values are not)", &ok);
	T_ASSERT(ok);
	parse_err("- a\n", "f.yml:1: expected a mapping of secret names to "
	    "strings, got a sequence", &ok);
	T_ASSERT(ok);
	parse_err("a: 'x'\n---\nb: 'y'\n", "f.yml:2: more than one YAML "
	    "document", &ok);
	T_ASSERT(ok);
	parse_err("bad-key: 'x'\n", "f.yml:1: key 'bad-key': not a valid "
	    "secret name ([A-Za-z_][A-Za-z0-9_]*)", &ok);
	T_ASSERT(ok);
}

T_TEST(parse_accepts_strings_ansible_sees_as_strings)
{
	static const char y[] = "---\n# c\nhex: 12ab34\nq: '123'\n"
	    "d: \"yes\"\ns: !!str 42\nt: sk-abc\nu: 1e5\n...\n";
	json_t	*o = NULL;
	char	*cause = NULL;

	T_INTEQ(secrets_parse("f", y, strlen(y), &o, &cause), 0);
	T_STREQ(json_string_value(json_object_get(o, "hex")), "12ab34");
	T_STREQ(json_string_value(json_object_get(o, "q")), "123");
	T_STREQ(json_string_value(json_object_get(o, "d")), "yes");
	T_STREQ(json_string_value(json_object_get(o, "s")), "42");
	T_STREQ(json_string_value(json_object_get(o, "u")), "1e5");
	T_INTEQ(json_object_size(o), 6);
	json_decref(o);
	T_INTEQ(secrets_parse("f", "", 0, &o, &cause), 0);
	T_INTEQ(json_object_size(o), 0);
	json_decref(o);
	T_INTEQ(secrets_parse("f", "# only\n", 7, &o, &cause), 0);
	T_INTEQ(json_object_size(o), 0);
	json_decref(o);
}

/* --- files and secrets_load ------------------------------------------ */

T_TEST(vault_write_read_mode_0600)
{
	json_t		*s = json_object(), *r = NULL;
	struct stat	 st;
	char		*cause = NULL;

	json_object_set_new(s, "redis_password", json_string("r1"));
	json_object_set_new(s, "empty", json_string(""));
	T_INTEQ(vault_write(tmp("w.vault"), s, PW, strlen(PW), &cause), 0);
	T_INTEQ(stat(tmp("w.vault"), &st), 0);
	T_INTEQ(st.st_mode & 07777, 0600);
	T_ASSERT(!vp_file_exists(tmp("w.vault.lock")));
	T_INTEQ(vault_read(tmp("w.vault"), PW, strlen(PW), &r, &cause), 0);
	T_ASSERT(json_equal(s, r));
	json_decref(r);
	r = NULL;
	T_INTEQ(vault_read(tmp("w.vault"), "nope", 4, &r, &cause),
	    VP_ERR_CRYPTO);
	T_ASSERT(strstr(cause, "HMAC mismatch") != NULL);
	free(cause);
	json_decref(s);
}

T_TEST(secrets_load_vault_and_plain_policy)
{
	struct vault_pw	 pw = { NULL, 0 };
	json_t		*s = NULL;
	char		*cause = NULL;

	/* plain refused unless allowed */
	T_INTEQ(secrets_load(src("tests/fixtures/secrets/plain.yml"), &pw, 0,
	    &s, &cause), VP_ERR_REFUSED);
	free(cause);
	cause = NULL;
	pw.file = src("tests/fixtures/vault/password");
	T_INTEQ(secrets_load(src("tests/fixtures/vault/ansible-1.1.vault"),
	    &pw, 0, &s, &cause), 0);
	T_STREQ(json_string_value(json_object_get(s, "plain_value")),
	    "just text");
	T_STREQ(json_string_value(json_object_get(s, "empty_value")), "");
	json_decref(s);
	s = NULL;
	/* no source at all: clear error */
	pw.file = NULL;
	unsetenv("VPAI_VAULT_PASSWORD_FILE");
	T_INTEQ(secrets_load(src("tests/fixtures/vault/ansible-1.1.vault"),
	    &pw, 0, &s, &cause), VP_ERR_NOTFOUND);
	T_ASSERT(strstr(cause, "--vault-password-file") != NULL);
	free(cause);
	cause = NULL;
	/* the environment variable names a file */
	setenv("VPAI_VAULT_PASSWORD_FILE", src("tests/fixtures/vault/password"),
	    1);
	T_INTEQ(secrets_load(src("tests/fixtures/vault/ansible-1.1.vault"),
	    &pw, 0, &s, &cause), 0);
	unsetenv("VPAI_VAULT_PASSWORD_FILE");
	json_decref(s);
}

T_TEST(plain_fixture_is_complete_and_well_shaped)
{
	json_t		*cat = NULL, *s = NULL, *e;
	const char	*name, *shape;
	char		*cause = NULL;

	T_INTEQ(secrets_catalogue_load(src("stack"), &cat, &cause), 0);
	T_INTEQ(secrets_load(src("tests/fixtures/secrets/plain.yml"), NULL, 1,
	    &s, &cause), 0);
	T_INTEQ(json_object_size(s), json_object_size(cat));
	json_object_foreach(cat, name, e) {
		T_ASSERT(json_is_string(json_object_get(s, name)));
		shape = json_string_value(json_object_get(e, "shape"));
		if (shape != NULL && !secret_shape_ok(shape,
		    json_string_value(json_object_get(s, name)))) {
			printf("  %s: bad shape\n", name);
			T_ASSERT(0);
		}
	}
	T_ASSERT(secrets_catalogue_pinned(cat, "n8n_encryption_key"));
	T_ASSERT(!secrets_catalogue_pinned(cat, "redis_password"));
	json_decref(cat);
	json_decref(s);
}

/* --- passwords --------------------------------------------------------- */

T_TEST(password_files_and_scripts)
{
	char	*pw = NULL, *cause = NULL;
	size_t	 len = 0;

	/* as ansible: surrounding whitespace stripped from a file */
	T_INTEQ(spit(tmp("pw1"), "  s3cret pass\t\r\n\n", 0600), 0);
	T_INTEQ(vault_pw_read_file(tmp("pw1"), &pw, &len, &cause), 0);
	T_STREQ(pw, "s3cret pass");
	T_INTEQ(len, 11);
	vault_pw_free(pw, len);
	/* executable: run, stdout stripped of CR/LF only */
	T_INTEQ(spit(tmp("pw2"), "#!/bin/sh\nprintf ' from script \\n'\n",
	    0700), 0);
	T_INTEQ(vault_pw_read_file(tmp("pw2"), &pw, &len, &cause), 0);
	T_STREQ(pw, " from script ");
	vault_pw_free(pw, len);
	/* failing script */
	T_INTEQ(spit(tmp("pw3"), "#!/bin/sh\nexit 3\n", 0700), 0);
	T_INTEQ(vault_pw_read_file(tmp("pw3"), &pw, &len, &cause),
	    VP_ERR_CHILD);
	T_ASSERT(strstr(cause, "exited with status 3") != NULL);
	free(cause);
	cause = NULL;
	/* empty */
	T_INTEQ(spit(tmp("pw4"), "\n\n", 0600), 0);
	T_INTEQ(vault_pw_read_file(tmp("pw4"), &pw, &len, &cause),
	    VP_ERR_INVALID);
	T_ASSERT(strstr(cause, "empty") != NULL);
	free(cause);
	cause = NULL;
	T_INTEQ(vault_pw_read_file(tmp("missing"), &pw, &len, &cause),
	    VP_ERR_NOTFOUND);
	free(cause);
}

/* --- generation -------------------------------------------------------- */

T_TEST(generation_shapes)
{
	static const struct {
		const char	*shape;
		size_t		 len;
	} t[] = {
		{ "base64_32", 44 }, { "base64_24", 32 }, { "hex_32", 64 },
		{ "sk_hex_24", 51 }, { "alnum_40", 40 }, { "base64_1", 4 },
	};
	char	*a = NULL, *b = NULL, *cause = NULL;
	size_t	 i, k;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (k = 0; k < 20; k++) {
			T_INTEQ(secret_generate(t[i].shape, &a, &cause), 0);
			T_INTEQ(strlen(a), t[i].len);
			T_ASSERT(secret_shape_ok(t[i].shape, a));
			T_INTEQ(secret_generate(t[i].shape, &b, &cause), 0);
			T_ASSERT(t[i].len < 8 || strcmp(a, b) != 0);
			vault_pw_free(a, strlen(a));
			vault_pw_free(b, strlen(b));
		}
	}
	T_ASSERT(!secret_shape_ok("hex_32", "ABCD"));
	T_ASSERT(!secret_shape_ok("sk_hex_24", "sk-xyz"));
	T_INTEQ(secret_generate("hex_0", &a, &cause), VP_ERR_INVALID);
	free(cause);
	cause = NULL;
	T_INTEQ(secret_generate("rot13_5", &a, &cause), VP_ERR_INVALID);
	free(cause);
}

T_TEST(generate_missing_never_regenerates)
{
	json_t		*cat = NULL, *s = json_object(), *copy, *e;
	struct vp_argv	 added = VP_ARGV_INIT;
	const char	*name, *kind;
	char		*cause = NULL;
	size_t		 ngen = 0;

	T_INTEQ(secrets_catalogue_load(src("stack"), &cat, &cause), 0);
	T_INTEQ(secrets_generate_missing(cat, s, &added, &cause), 0);
	json_object_foreach(cat, name, e) {
		kind = json_string_value(json_object_get(e, "kind"));
		if (strcmp(kind, "generated") == 0) {
			ngen++;
			T_ASSERT(secret_shape_ok(json_string_value(
			    json_object_get(e, "shape")), json_string_value(
			    json_object_get(s, name))));
		} else
			T_ASSERT(json_object_get(s, name) == NULL);
	}
	T_INTEQ(added.n, ngen);
	T_ASSERT(ngen >= 15);
	T_ASSERT(strlen(json_string_value(json_object_get(s,
	    "litellm_master_key"))) == 51);
	vp_argv_release(&added);
	/* second run: nothing changes */
	copy = json_deep_copy(s);
	T_INTEQ(secrets_generate_missing(cat, s, &added, &cause), 0);
	T_INTEQ(added.n, 0);
	T_ASSERT(json_equal(copy, s));
	json_decref(copy);
	/* an empty n8n_encryption_key is kept, an empty redis one filled */
	json_object_set_new(s, "n8n_encryption_key", json_string(""));
	json_object_set_new(s, "redis_password", json_string(""));
	json_object_del(s, "qdrant_api_key");
	T_INTEQ(secrets_generate_missing(cat, s, &added, &cause), 0);
	T_STREQ(json_string_value(json_object_get(s, "n8n_encryption_key")),
	    "");
	T_INTEQ(added.n, 2);
	T_STREQ(added.v[0], "qdrant_api_key");
	T_STREQ(added.v[1], "redis_password");
	T_ASSERT(secret_shape_ok("base64_32", json_string_value(
	    json_object_get(s, "redis_password"))));
	vp_argv_release(&added);
	/* a set n8n_encryption_key is kept, whatever its shape */
	json_object_set_new(s, "n8n_encryption_key", json_string("legacy"));
	T_INTEQ(secrets_generate_missing(cat, s, NULL, &cause), 0);
	T_STREQ(json_string_value(json_object_get(s, "n8n_encryption_key")),
	    "legacy");
	json_decref(s);
	json_decref(cat);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	vault_secure_json_alloc();
	T_RUN(kat_decrypt_ansible_11);
	T_RUN(kat_decrypt_ansible_12_label_utf8_password);
	T_RUN(kat_encrypt_equals_ansible_byte_for_byte);
	T_RUN(tamper_salt_mac_ciphertext_and_wrong_password);
	T_RUN(round_trip_any_string);
	T_RUN(emit_rejects_bad_values);
	T_RUN(parse_errors_name_file_line_key_never_value);
	T_RUN(parse_accepts_strings_ansible_sees_as_strings);
	T_RUN(vault_write_read_mode_0600);
	T_RUN(secrets_load_vault_and_plain_policy);
	T_RUN(plain_fixture_is_complete_and_well_shaped);
	T_RUN(password_files_and_scripts);
	T_RUN(generation_shapes);
	T_RUN(generate_missing_never_regenerates);
	{
		const char *const f[] = { "w.vault", "pw1", "pw2", "pw3",
		    "pw4" };
		size_t i;

		for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			unlink(tmp(f[i]));
		rmdir(tmpdir);
	}
	return T_DONE();
}
