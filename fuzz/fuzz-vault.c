/*
 * fuzz-vault.c: the libFuzzer build of tests/unit/u-vault-fuzz.c (the
 * vault envelope parser and the secrets YAML parser; the first input byte
 * picks which).  One source for the ctest mutation run and this harness.
 */
#define VPAI_LIBFUZZER 1
#include "../tests/unit/u-vault-fuzz.c"
