/*
 * u-smoke.c: the admin routes smoke derives from a rendered Caddyfile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "deploy/smoke.h"
#include "t.h"

static const char caddyfile[] =
    "{\n\tadmin localhost:2019\n}\n"
    "(security_headers) {\n\theader {\n\t\t-Server\n\t}\n}\n"
    "vpai.localhost {\n"
    "\ttls internal\n"
    "\thandle /health {\n\t\trespond \"OK\" 200\n\t}\n"
    "\thandle_path /litellm/* {\n\t\treverse_proxy litellm:4000\n\t}\n"
    "}\n"
    "# admin.vpai.localhost { handle_path /commented/* }\n"
    "admin.vpai.localhost {\n"
    "\ttls internal\n"
    "\t@not_vpn not remote_ip 100.64.0.0/10\n"
    "\troute {\n"
    "\t\trespond @not_vpn \"Forbidden\" 403\n"
    "\t\thandle_path /n8n/* {\n\t\t\treverse_proxy n8n:5678\n\t\t}\n"
    "\t\thandle_path /grafana/* {\n\t\t\treverse_proxy grafana:3000\n\t\t}\n"
    "\t\thandle /qdrant/* {\n\t\t\treverse_proxy qdrant:6333\n\t\t}\n"
    "\t\thandle {\n\t\t\trespond \"Not Found\" 404\n\t\t}\n"
    "\t}\n"
    "}\n"
    "http://:8081 {\n\thandle_path /other/* {\n\t}\n}\n";

static void
free_v(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

T_TEST(routes_of_admin_block_only)
{
	char	**v = NULL, *cause = NULL;
	size_t	  n = 0;

	T_INTEQ(smoke_admin_routes(caddyfile, "admin.vpai.localhost", &v, &n,
	    &cause), VP_OK);
	T_INTEQ((int)n, 4);
	if (n == 4) {
		T_STREQ(v[0], "/");
		T_STREQ(v[1], "/n8n/");
		T_STREQ(v[2], "/grafana/");
		T_STREQ(v[3], "/qdrant/");
		T_ASSERT(v[4] == NULL);
	}
	free_v(v);
	free(cause);
}

T_TEST(public_block_is_not_admin)
{
	char	**v = NULL, *cause = NULL;
	size_t	  n = 0;

	T_INTEQ(smoke_admin_routes(caddyfile, "vpai.localhost", &v, &n,
	    &cause), VP_OK);
	T_INTEQ((int)n, 3);
	if (n == 3) {
		T_STREQ(v[1], "/health/");
		T_STREQ(v[2], "/litellm/");
	}
	free_v(v);
	free(cause);
}

T_TEST(missing_block)
{
	char	**v = NULL, *cause = NULL;
	size_t	  n = 0;

	T_INTEQ(smoke_admin_routes(caddyfile, "admin.example.org", &v, &n,
	    &cause), VP_ERR_NOTFOUND);
	T_ASSERT(v == NULL && n == 0);
	T_ASSERT(cause != NULL && strstr(cause, "'admin.example.org'"));
	free(cause);
}

int
main(void)
{
	T_RUN(routes_of_admin_block_only);
	T_RUN(public_block_is_not_admin);
	T_RUN(missing_block);
	return T_DONE();
}
