/*
 * vault.h: ansible-vault compatible secrets storage, password sources,
 * the secrets catalogue and secret generation.
 *
 * Layers, bottom up (see docs/VAULT.md for the file format):
 *
 *   vault_encrypt / vault_decrypt     bytes <-> "$ANSIBLE_VAULT;1.1;AES256"
 *                                     envelope (PBKDF2-HMAC-SHA256 10000,
 *                                     AES-256-CTR, HMAC-SHA256)
 *   secrets_parse / secrets_emit      flat YAML mapping <-> json object
 *                                     of strings (keys sorted on output,
 *                                     values quoted so any string
 *                                     round-trips)
 *   vault_read / vault_write          both of the above plus the file;
 *                                     writes are atomic (lock, temp,
 *                                     fsync, rename) and mode 0600
 *   vault_pw_get                      the password, from the sources in
 *                                     order: --vault-password-file,
 *                                     $VPAI_VAULT_PASSWORD_FILE (a path),
 *                                     a TTY prompt without echo
 *   secrets_catalogue_load            stack/secrets.yml
 *   secrets_generate_missing          getrandom(2) values for every
 *                                     generated secret that is absent
 *
 * Calling sequence for the `vpai init` wizard:
 *
 *	json_t *cat = NULL, *sec = json_object();
 *	char *pw = NULL; size_t pwlen = 0;
 *	r = secrets_catalogue_load(stack_dir, &cat, &cause);
 *	(if a vault exists: r = vault_pw_get(&vpw, &pw, &pwlen, &cause);
 *	 r = vault_read(path, pw, pwlen, &sec, &cause);)
 *	r = secrets_generate_missing(cat, sec, NULL, &cause);
 *	(ask each external secret: every entry of cat whose "kind" is
 *	 "external", with vault_tty_read(prompt, 1, ...) so the answer is
 *	 not echoed; json_object_set_new(sec, name, json_stringn(v, len)))
 *	(new vault: r = vault_pw_new(file_or_NULL, 1, &pw, &pwlen, &cause);)
 *	r = vault_write(path, sec, pw, pwlen, &cause);
 *
 * Rewriting an EXISTING vault: hold vault_lock(path) from before
 * vault_read until after vault_write, as `vpai vault` does, so two
 * writers never lose each other's changes.
 *
 * Commands that only need the secrets (render, deploy) call
 * secrets_load() from secrets.h with struct vault_pw { opt_pwfile, 1 }
 * and path vault_default_path(site_dir) unless told otherwise.
 *	vault_pw_free(pw, pwlen); json_decref(sec); json_decref(cat);
 *
 * Ownership: json_t results are new references (caller decrefs); strings
 * returned through char ** are allocated (caller frees; secret ones with
 * vault_pw_free / freezero-like helpers).  Secrets are never put in a
 * cause string: error messages name the file, the line and the key only.
 */
#ifndef VP_VAULT_H
#define VP_VAULT_H

#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/child.h"
#include "vault/secrets.h"

#define VAULT_HEADER		"$ANSIBLE_VAULT;"
#define VAULT_ITERATIONS	10000
#define VAULT_SALT_LEN		32
#define VAULT_PLAIN_MAX		(8u << 20)	/* plaintext cap: 8 MiB */
/* hexlify twice (x4) plus newlines, header and salt/mac lines */
#define VAULT_FILE_MAX		(VAULT_PLAIN_MAX * 4 + VAULT_PLAIN_MAX / 16 + 4096)
#define VAULT_PW_MAX		4096		/* password bytes */

/* --- format ----------------------------------------------------------- */

/* 1 if data starts with "$ANSIBLE_VAULT;" (leading whitespace allowed). */
int	vault_is_vault(const void *data, size_t len);

/*
 * Encrypt plain into a complete 1.1 AES256 envelope appended to out
 * (header, 80-column hex lines, final newline).  salt is VAULT_SALT_LEN
 * bytes, or NULL for a random one (the normal case; tests pass a fixed
 * salt for known answers).
 */
int	vault_encrypt(const void *plain, size_t len, const char *pw,
	    size_t pwlen, const unsigned char *salt, struct vp_buf *out,
	    char **cause);

/*
 * Decrypt a 1.1 or 1.2 (";label") AES256 envelope; the plaintext is
 * appended to plain (capped at VAULT_PLAIN_MAX; release it with
 * vp_buf_release_secure).  name is used in messages only.  A wrong
 * password or any tampering gives VP_ERR_CRYPTO "vault 'NAME': wrong
 * password or corrupted file (HMAC mismatch)"; a malformed envelope
 * VP_ERR_PARSE.  If label is not NULL it receives the 1.2 vault-id label
 * (allocated) or NULL.
 */
int	vault_decrypt(const char *name, const void *data, size_t len,
	    const char *pw, size_t pwlen, struct vp_buf *plain, char **label,
	    char **cause);

/* --- YAML ------------------------------------------------------------- */

/*
 * Parse a flat YAML mapping of string values.  An empty document gives an
 * empty object.  Non-string scalars (unquoted numbers, booleans, null,
 * dates), sequences, mappings, aliases, tags other than !!str, duplicate
 * keys and keys that are not [A-Za-z_][A-Za-z0-9_]* are errors
 * "NAME:LINE: key 'K': what is wrong" (VP_ERR_PARSE); the value itself is
 * never quoted in the message.
 */
int	secrets_parse(const char *name, const char *data, size_t len,
	    json_t **out, char **cause);

/*
 * Emit obj (every value must be a string) as YAML: a comment line, then
 * one "key: 'value'" per line, keys sorted, values single-quoted (double-
 * quoted with escapes when they hold characters single quotes cannot).
 * Values must be valid UTF-8 without NUL.  Appends to out.
 */
int	secrets_emit(const json_t *obj, struct vp_buf *out, char **cause);

/* --- files ------------------------------------------------------------ */

/*
 * Serialise read-modify-write cycles on an existing vault: open path and
 * flock(LOCK_EX) it, retrying if path was replaced meanwhile (a writer's
 * rename).  *fd is the lock; release with vault_unlock.  The atomic write
 * itself still goes through "<path>.lock".
 */
int	vault_lock(const char *path, int *fd, char **cause);
void	vault_unlock(int fd);

/* Read, decrypt and parse path. */
int	vault_read(const char *path, const char *pw, size_t pwlen,
	    json_t **out, char **cause);

/*
 * Emit, encrypt and atomically replace path (mode 0600): "<path>.lock"
 * is created O_EXCL, written, fsynced and renamed; on any failure path is
 * untouched.
 */
int	vault_write(const char *path, const json_t *secrets, const char *pw,
	    size_t pwlen, char **cause);

/* Read and decrypt path; the plaintext (not parsed) is appended to plain. */
int	vault_read_plain(const char *path, const char *pw, size_t pwlen,
	    struct vp_buf *plain, char **cause);

/*
 * Encrypt plaintext as it is (comments and order kept) and atomically
 * replace path (mode 0600).  The plaintext must parse with
 * secrets_parse (name is used in its messages), else nothing is written.
 */
int	vault_write_plain(const char *path, const char *name,
	    const char *plain, size_t len, const char *pw, size_t pwlen,
	    char **cause);

/* "<site_dir>/secrets.vault", allocated (NULL on ENOMEM). */
char	*vault_default_path(const char *site_dir);

/* --- passwords -------------------------------------------------------- */

/*
 * Get the vault password from, in order: pw->file; the path in
 * $VPAI_VAULT_PASSWORD_FILE; a prompt on /dev/tty without echo when
 * pw->allow_prompt (and a TTY is there).  A password file that is
 * executable is run (no shell, no arguments) and its stdout is used.
 * As ansible-vault does, a file's content is stripped of surrounding
 * whitespace and then CR/LF, a script's output of surrounding CR/LF, so
 * the same password file opens the same vault with both tools.  Empty is
 * an error.  *pw is allocated and NUL-terminated; free it with
 * vault_pw_free(*pw, *len).
 */
int	vault_pw_get(const struct vault_pw *pw, char **out, size_t *len,
	    char **cause);

/* Read one password source file (plain or executable), as above. */
int	vault_pw_read_file(const char *path, char **out, size_t *len,
	    char **cause);

/*
 * Get a NEW password: from file (plain or executable) when not NULL,
 * else prompted twice on /dev/tty (must match) when allow_prompt.
 */
int	vault_pw_new(const char *file, int allow_prompt, char **out,
	    size_t *len, char **cause);

/* Prompt on /dev/tty without echo; VP_ERR_NOTFOUND if no TTY. */
int	vault_pw_prompt(const char *prompt, char **out, size_t *len,
	    char **cause);

/*
 * Read one line from /dev/tty without echo (the wizard's secret
 * questions use it too).  The line terminator is not included.  An empty
 * line is VP_ERR_INVALID unless allow_empty.  SIGINT/SIGTERM/SIGQUIT
 * restore the terminal and are re-raised.  Free with vault_pw_free.
 */
int	vault_tty_read(const char *prompt, int allow_empty, char **out,
	    size_t *len, char **cause);

/* Wipe and free a password (NULL allowed). */
void	vault_pw_free(char *pw, size_t len);

/*
 * Make jansson wipe every block it frees (explicit_bzero over
 * malloc_usable_size before free), so secret strings held in json_t do
 * not linger in freed memory.  Process-wide; call once early, before any
 * jansson allocation, from the command layer.
 */
void	vault_secure_json_alloc(void);

/* --- catalogue and generation ------------------------------------------ */

/*
 * Load and validate <stack_dir>/secrets.yml.  *out is the "secrets"
 * object of the file (name -> {kind, shape, rotatable, why, services,
 * description, pattern}), validated: every generated secret has a known
 * shape.
 */
int	secrets_catalogue_load(const char *stack_dir, json_t **out,
	    char **cause);

/* Borrowed: the catalogue entry of name, or NULL. */
const json_t *secrets_catalogue_get(const json_t *cat, const char *name);

/* 1 if name is in the catalogue and rotatable: false. */
int	secrets_catalogue_pinned(const json_t *cat, const char *name);

/*
 * Generate a value of shape ("base64_32", "hex_32", "sk_hex_24",
 * "alnum_40", ...) with getrandom(2).  *out is allocated; free with
 * vault_pw_free(*out, strlen(*out)).  VP_ERR_INVALID for unknown shapes.
 */
int	secret_generate(const char *shape, char **out, char **cause);

/* 1 if value has shape (for tests and `vpai check`). */
int	secret_shape_ok(const char *shape, const char *value);

/*
 * For every generated secret of cat that is missing from secrets, set a
 * new value.  Missing means absent, or an empty string for a rotatable
 * secret.  A secret with rotatable: false (n8n_encryption_key, ...) is
 * generated only when absent: an existing value, even an empty one, is
 * never replaced.  Values of other types are an error.  If added is not
 * NULL, the names set are pushed to it (sorted).
 */
int	secrets_generate_missing(const json_t *cat, json_t *secrets,
	    struct vp_argv *added, char **cause);

#endif
