/*
 * u-deploy.c: the deploy engine's pure parts: `docker inspect` parsing
 * (a real engine's output, tests/fixtures/deploy/inspect-healthy.json),
 * the gate verdict, durations and times, gate timeouts, service
 * selection errors, data directories and the probe install.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/file.h"
#include "deploy/deploy.h"
#include "t.h"

static char *
fixture(const char *name)
{
	const char	*src = getenv("VPAI_SOURCE_DIR");
	static char	 path[1024];

	snprintf(path, sizeof(path), "%s/tests/fixtures/deploy/%s",
	    src ? src : ".", name);
	return path;
}

T_TEST(parse_inspect_real)
{
	struct vp_buf		 b = VP_BUF_INIT(1u << 20);
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	const struct deploy_ctr	*c;

	T_ASSERT(vp_file_read(fixture("inspect-healthy.json"), &b, NULL) == 0);
	T_INTEQ(deploy_parse_inspect(b.buf, b.len, &cs, NULL), 0);
	vp_buf_release(&b);
	T_INTEQ(cs.n, 1);
	c = deploy_ctrs_find(&cs, "web");
	T_ASSERT(c != NULL);
	T_STREQ(c->name, "vpai-test-deploy-insp");
	T_STREQ(c->project, "vpai-test-deploy-x");
	T_STREQ(c->state, "running");
	T_STREQ(c->health, "healthy");
	T_STREQ(c->health_out, "probe-ok\n");
	T_STREQ(c->image, "vpai-local/debian:bookworm");
	T_STREQ(c->phase, "A");
	T_STREQ(c->config_hash, "abc123");
	T_INTEQ(c->mem_limit, 64 << 20);
	T_INTEQ(c->restarts, 0);
	T_INTEQ(c->started, deploy_parse_time("2026-11-23T09:41:29Z"));
	T_INTEQ(deploy_gate(c, 0), 1);
	T_ASSERT(deploy_ctrs_find(&cs, "db") == NULL);
	deploy_ctrs_release(&cs);
	deploy_ctrs_release(&cs);	/* twice: NULL-safe */
}

T_TEST(parse_inspect_bad)
{
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	char			*cause = NULL;

	T_INTEQ(deploy_parse_inspect("{", 1, &cs, &cause), VP_ERR_PARSE);
	T_ASSERT(cause != NULL && strstr(cause, "docker inspect") != NULL);
	free(cause);
	cause = NULL;
	T_INTEQ(deploy_parse_inspect("{}", 2, &cs, &cause), VP_ERR_PARSE);
	free(cause);
	/* Missing members are empty strings, not crashes. */
	T_INTEQ(deploy_parse_inspect("[{\"Id\":\"x\"}]", 12, &cs, NULL), 0);
	T_INTEQ(cs.n, 1);
	T_STREQ(cs.v[0].state, "");
	T_STREQ(cs.v[0].health, "");
	T_INTEQ(deploy_gate(&cs.v[0], 0), 0);
	deploy_ctrs_release(&cs);
}

T_TEST(gate_verdicts)
{
	struct deploy_ctr c;

	memset(&c, 0, sizeof(c));
	c.state = (char *)"running";
	c.health = (char *)"starting";
	T_INTEQ(deploy_gate(&c, 0), 0);
	c.health = (char *)"healthy";
	T_INTEQ(deploy_gate(&c, 0), 1);
	c.health = (char *)"";			/* no healthcheck */
	T_INTEQ(deploy_gate(&c, 0), 1);
	c.health = (char *)"unhealthy";
	T_INTEQ(deploy_gate(&c, 0), -1);
	c.health = (char *)"healthy";
	c.restarts = 2;
	T_INTEQ(deploy_gate(&c, 2), 1);		/* old restarts */
	T_INTEQ(deploy_gate(&c, 1), -1);	/* restarted since up */
	c.restarts = 0;
	c.state = (char *)"restarting";
	T_INTEQ(deploy_gate(&c, 0), -1);
	c.state = (char *)"exited";
	T_INTEQ(deploy_gate(&c, 0), -1);
	c.state = (char *)"created";
	c.health = (char *)"starting";
	T_INTEQ(deploy_gate(&c, 0), 0);
}

T_TEST(durations_and_times)
{
	T_INTEQ(deploy_parse_duration("10s"), 10000);
	T_INTEQ(deploy_parse_duration("1m30s"), 90000);
	T_INTEQ(deploy_parse_duration("500ms"), 500);
	T_INTEQ(deploy_parse_duration("1.5s"), 1500);
	T_INTEQ(deploy_parse_duration("1h"), 3600000);
	T_INTEQ(deploy_parse_duration("10"), -1);
	T_INTEQ(deploy_parse_duration("s"), -1);
	T_INTEQ(deploy_parse_duration(""), -1);
	T_INTEQ(deploy_parse_time("1970-01-01T00:00:00Z"), 0);
	T_INTEQ(deploy_parse_time("2026-11-23T09:41:29.364176707Z"),
	    1795426889LL);
	T_INTEQ(deploy_parse_time("2026-11-23T10:41:29+01:00"), 1795426889LL);
	T_INTEQ(deploy_parse_time("0001-01-01T00:00:00Z"), 0);
	T_INTEQ(deploy_parse_time("garbage"), 0);
}

T_TEST(gate_timeouts)
{
	json_t *s;

	s = json_pack("{s:{s:s,s:s,s:s,s:i}}", "healthcheck", "interval",
	    "10s", "timeout", "5s", "start_period", "30s", "retries", 5);
	/* 30 + (10 + 5) * 6 + 10 */
	T_INTEQ(deploy_gate_timeout_ms(s), 130000);
	json_decref(s);
	s = json_pack("{s:s}", "image", "x");
	T_INTEQ(deploy_gate_timeout_ms(s), 30000);
	json_decref(s);
	s = json_pack("{s:{}}", "healthcheck");		/* Docker defaults */
	T_INTEQ(deploy_gate_timeout_ms(s), 0 + (30000 + 30000) * 4 + 10000);
	json_decref(s);
}

T_TEST(only_unknown_service)
{
	struct deploy_engine	 e = DEPLOY_ENGINE_INIT;
	struct deploy_result	 res = DEPLOY_RESULT_INIT;
	struct deploy_opts	 o;
	char			*only[] = { (char *)"redsi" }, *cause = NULL;
	json_t			*doc;

	doc = json_pack("{s:{s:{s:s},s:{s:s}}}", "services", "redis",
	    "image", "r:1", "postgresql", "image", "p:1");
	memset(&o, 0, sizeof(o));
	o.project = "vpai-test-deploy-unit";
	o.compose_file = "/nonexistent.json";
	o.compose = doc;
	o.only = only;
	o.nonly = 1;
	/* Fails before any docker command runs. */
	T_INTEQ(deploy_apply(&e, &o, &res, &cause), VP_ERR_NOTFOUND);
	T_ASSERT(cause != NULL);
	T_ASSERT(strstr(cause, "'redsi'") != NULL);
	T_ASSERT(strstr(cause, "did you mean 'redis'") != NULL);
	free(cause);
	deploy_result_release(&res);
	json_decref(doc);
}

T_TEST(up_errors)
{
	char *cause = NULL;

	/* Compose v1's words on Docker 20.10 (t6001 saw them). */
	T_INTEQ(deploy_up_error("Creating p_web ... \nCreating p_web ... "
	    "error\n\nERROR: for p_web  Cannot start service web: driver "
	    "failed programming external connectivity on endpoint p_web "
	    "(bb96): Error starting userland proxy: listen tcp4 "
	    "127.0.0.1:35477: bind: address already in use\n", "A", &cause),
	    VP_ERR_EXISTS);
	T_STREQ(cause, "phase A: service 'web' cannot start: a published port "
	    "is already in use on this host: 127.0.0.1:35477 (stop what "
	    "listens there, or change the port)");
	T_INTEQ(deploy_up_error("ERROR: for caddy  Cannot start service "
	    "caddy: driver failed programming external connectivity on "
	    "endpoint x: Bind for 0.0.0.0:80 failed: port is already "
	    "allocated\n", "A", &cause), VP_ERR_EXISTS);
	T_ASSERT(strstr(cause, "service 'caddy'") != NULL);
	T_ASSERT(strstr(cause, "host: 0.0.0.0:80 ") != NULL);
	T_INTEQ(deploy_up_error("WARNING: x\nERROR: manifest unknown\n\n",
	    "B", &cause), VP_ERR_CHILD);
	T_STREQ(cause, "phase B: compose up failed:\nWARNING: x\n"
	    "ERROR: manifest unknown");
	free(cause);
}

T_TEST(data_dirs)
{
	char		 tmpl[] = "/tmp/u-deploy-XXXXXX", *root, path[256];
	char		*only[] = { (char *)"redis" }, *cause = NULL;
	struct stat	 sb;
	json_t		*svcs;
	int		 n;

	T_ASSERT((root = mkdtemp(tmpl)) != NULL);
	svcs = json_pack("{s:{s:i,s:i,s:[{s:s,s:s,s:i,s:s},{s:s,s:s}]},"
	    "s:{s:i,s:i,s:[{s:s,s:s,s:i,s:s}]}}",
	    "redis", "uid", 999, "gid", 999, "volumes",
	    "kind", "data", "source", "data/redis", "owner", 999, "mode",
	    "0750", "kind", "config", "source", "configs/redis/redis.conf",
	    "postgresql", "uid", 999, "gid", 999, "volumes",
	    "kind", "data", "source", "data/postgresql", "owner", 999, "mode",
	    "0700");
	T_ASSERT(svcs != NULL);
	T_INTEQ(deploy_data_dirs(svcs, root, only, 1, &n, &cause), 0);
	T_INTEQ(n, 1);
	snprintf(path, sizeof(path), "%s/data/redis", root);
	T_ASSERT(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
	T_INTEQ(sb.st_mode & 07777, 0750);
	if (geteuid() == 0)
		T_INTEQ(sb.st_uid, 999);
	snprintf(path, sizeof(path), "%s/data/postgresql", root);
	T_ASSERT(stat(path, &sb) != 0);		/* not selected */
	/* Second run: nothing new; a wrong mode is repaired. */
	snprintf(path, sizeof(path), "%s/data/redis", root);
	chmod(path, 0777);
	T_INTEQ(deploy_data_dirs(svcs, root, NULL, 0, &n, &cause), 0);
	T_INTEQ(n, 1);				/* postgresql only */
	T_ASSERT(stat(path, &sb) == 0);
	T_INTEQ(sb.st_mode & 07777, 0750);
	snprintf(path, sizeof(path), "%s/data/postgresql", root);
	T_ASSERT(stat(path, &sb) == 0);
	T_INTEQ(sb.st_mode & 07777, 0700);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/data/redis", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/data", root);
	rmdir(path);
	rmdir(root);
	json_decref(svcs);
}

T_TEST(install_probe)
{
	char		 tmpl[] = "/tmp/u-deploy-XXXXXX", *root, src[256];
	char		 dst[256], *cause = NULL;
	struct stat	 sb;
	int		 changed;

	T_ASSERT((root = mkdtemp(tmpl)) != NULL);
	snprintf(src, sizeof(src), "%s/probe-src", root);
	snprintf(dst, sizeof(dst), "%s/bin/vpai-probe", root);
	T_INTEQ(vp_file_write_atomic(src, "ELF?", 4, 0644, (uid_t)-1,
	    (gid_t)-1, NULL), 0);
	T_INTEQ(deploy_install_probe(src, root, &changed, &cause), 0);
	T_INTEQ(changed, 1);
	T_ASSERT(stat(dst, &sb) == 0);
	T_INTEQ(sb.st_mode & 07777, 0755);
	T_INTEQ(deploy_install_probe(src, root, &changed, &cause), 0);
	T_INTEQ(changed, 0);
	T_INTEQ(vp_file_write_atomic(src, "ELF!", 4, 0644, (uid_t)-1,
	    (gid_t)-1, NULL), 0);
	T_INTEQ(deploy_install_probe(src, root, &changed, &cause), 0);
	T_INTEQ(changed, 1);
	unlink(src);
	T_INTEQ(deploy_install_probe(src, root, &changed, &cause),
	    VP_ERR_NOTFOUND);
	T_ASSERT(cause != NULL && strstr(cause, "vpai-probe") != NULL);
	free(cause);
	unlink(dst);
	snprintf(dst, sizeof(dst), "%s/bin", root);
	rmdir(dst);
	rmdir(root);
}

int
main(void)
{
	T_RUN(parse_inspect_real);
	T_RUN(parse_inspect_bad);
	T_RUN(gate_verdicts);
	T_RUN(durations_and_times);
	T_RUN(gate_timeouts);
	T_RUN(only_unknown_service);
	T_RUN(up_errors);
	T_RUN(data_dirs);
	T_RUN(install_probe);
	return T_DONE();
}
