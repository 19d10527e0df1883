/*
 * secrets.h: loading the site's secrets.
 *
 * secrets_load() reads path: if it starts with "$ANSIBLE_VAULT;" it is
 * decrypted (ansible-vault 1.1 AES256) with the password from pw;
 * otherwise it must be a plain YAML mapping and is accepted only when
 * allow_plain is set (test fixtures).  The result is a flat JSON object
 * of string values (secret name -> value), new reference, caller decrefs.
 * Secret bytes are never written to cause.
 */
#ifndef VP_SECRETS_H
#define VP_SECRETS_H

#include <jansson.h>

struct vault_pw {
	const char	*file;		/* --vault-password-file, or NULL */
	int		 allow_prompt;	/* prompt on a TTY if nothing else */
};

int	secrets_load(const char *path, const struct vault_pw *pw,
	    int allow_plain, json_t **out, char **cause);

#endif
