/*
 * fuzz-site.c: libFuzzer harness for the site model.
 *
 * The first byte picks what the rest of the input is:
 *	0-199	a site file (vpai.yml), loaded for the default env and preprod
 *		against the shipped schema (loaded once)
 *	200-229	a schema file (site-schema.yml)
 *	230-255	one scalar, checked against every value type
 * The schema is $VPAI_SOURCE_DIR/stack/site-schema.yml, else
 * VPAI_SCHEMA_PATH as compiled in, else ./stack/site-schema.yml.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "site/site.h"
#include "site/site-int.h"

#ifndef VPAI_SCHEMA_PATH
#define VPAI_SCHEMA_PATH "stack/site-schema.yml"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct site_schema *
schema(void)
{
	static struct site_schema	*s;
	static int			 tried;
	const char			*src;
	char				 path[4096], *cause = NULL;

	if (tried)
		return s;
	tried = 1;
	if ((src = getenv("VPAI_SOURCE_DIR")) != NULL)
		snprintf(path, sizeof(path), "%s/stack/site-schema.yml", src);
	else
		snprintf(path, sizeof(path), "%s", VPAI_SCHEMA_PATH);
	if (site_schema_load(path, &s, &cause) != VP_OK) {
		fprintf(stderr, "fuzz-site: %s\n", cause);
		abort();
	}
	return s;
}

static void
fuzz_site(const char *data, size_t len)
{
	static const char	*envs[] = { NULL, "preprod" };
	struct site		*st;
	char			*cause;
	size_t			 i;

	for (i = 0; i < 2; i++) {
		cause = NULL;
		st = NULL;
		if (site_load_schema(schema(), "vpai.yml", data, len, envs[i],
		    &st, &cause) == VP_OK) {
			if (st == NULL || site_vars(st) == NULL)
				abort();
			(void)site_key_line(st, "domain_name");
		} else if (cause == NULL || st != NULL)
			abort();	/* every error has a cause */
		site_free(st);
		free(cause);
	}
}

static void
fuzz_schema(const char *data, size_t len)
{
	struct site_schema	*s = NULL;
	char			*cause = NULL;

	if (site_schema_load_mem("s.yml", data, len, &s, &cause) != VP_OK &&
	    cause == NULL)
		abort();
	site_schema_free(s);
	free(cause);
}

static void
fuzz_value(const char *data, size_t len)
{
	struct schema_key	 k;
	enum site_type		 t;
	char			*s, *why;
	json_t			*v;

	if ((s = strndup(data, len)) == NULL)
		return;
	memset(&k, 0, sizeof(k));
	k.min = -1000;
	k.max = 1000;
	for (t = ST_STRING; t <= ST_URL; t++) {
		why = NULL;
		v = site_value_parse(&k, t, s, 0, &why);
		if ((v == NULL) == (why == NULL))
			abort();	/* exactly one of value, reason */
		json_decref(v);
		free(why);
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	const char *data = (const char *)buf + 1;

	if (len == 0)
		return 0;
	if (buf[0] < 200)
		fuzz_site(data, len - 1);
	else if (buf[0] < 230)
		fuzz_schema(data, len - 1);
	else
		fuzz_value(data, len - 1);
	return 0;
}
