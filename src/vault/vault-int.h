/*
 * vault-int.h: internals shared by the files of src/vault/.
 */
#ifndef VP_VAULT_INT_H
#define VP_VAULT_INT_H

#include "vault/vault.h"

/* Fill buf with getrandom(2) bytes; VP_ERR_CRYPTO on failure. */
int	vault_random(void *buf, size_t len);

#endif
