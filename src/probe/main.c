/*
 * vpai-probe: the static health probe mounted read-only into containers
 * (at /vpai/probe) so that health checks need no tool inside the image.
 *
 *	vpai-probe http URL [--host HOST] [--expect CODE[,CODE]] [--timeout-ms N]
 *	vpai-probe tcp HOST:PORT [--timeout-ms N]
 *	vpai-probe redis HOST:PORT [--user NAME] [--password-file FILE]
 *	    [--timeout-ms N]
 *
 * Exit 0 when healthy (one line on stdout), 1 otherwise (one line on
 * stderr saying why).  Usage errors also exit 1: Docker reserves 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/probe.h"

#define PW_MAX	1024

static const char usage[] =
"usage: vpai-probe http URL [--host HOST] [--expect CODE[,CODE]] "
"[--timeout-ms N]\n"
"       vpai-probe tcp HOST:PORT [--timeout-ms N]\n"
"       vpai-probe redis HOST:PORT [--user NAME] [--password-file FILE] "
"[--timeout-ms N]\n"
"HOST is a numeric address (127.0.0.1); default timeout 3000 ms.\n";

static int
fail(const char *why)
{
	fprintf(stderr, "vpai-probe: %s\n", why);
	return 1;
}

/* Read a secret file; strip one trailing newline.  pw has PW_MAX bytes. */
static int
read_password(const char *path, char *pw, char *why, size_t whylen)
{
	size_t len = 0;
	ssize_t n;
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "password file '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	for (;;) {
		n = read(fd, pw + len, PW_MAX - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, whylen, "password file '%s': %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == PW_MAX - 1) {
			snprintf(why, whylen, "password file '%s': longer "
			    "than %d bytes", path, PW_MAX - 2);
			goto out;
		}
	}
	if (len > 0 && pw[len - 1] == '\n')
		len--;
	if (len > 0 && pw[len - 1] == '\r')
		len--;
	pw[len] = '\0';
	if (len == 0) {
		snprintf(why, whylen, "password file '%s' is empty", path);
		goto out;
	}
	if (memchr(pw, '\n', len) != NULL) {
		snprintf(why, whylen, "password file '%s': more than one line",
		    path);
		goto out;
	}
	ret = 0;
out:
	close(fd);
	if (ret != 0)
		probe_wipe(pw, PW_MAX);
	return ret;
}

static int
parse_timeout(const char *s, int *ms)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 600000)
		return -1;
	*ms = (int)v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct probe_url url;
	struct probe_addr addr;
	const char *mode, *target, *host = NULL, *expect = NULL;
	const char *pwfile = NULL, *user = NULL;
	char why[512], pw[PW_MAX];
	int codes[PROBE_MAX_CODES];
	size_t ncodes = 0;
	int i, timeout = PROBE_TIMEOUT_MS, status, ret = 1;

	pw[0] = '\0';
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 3)
		return fail("usage: vpai-probe http|tcp|redis TARGET [options] "
		    "(--help)");
	mode = argv[1];
	target = argv[2];
	for (i = 3; i < argc; i += 2) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL) {
			snprintf(why, sizeof(why), "option '%s' needs a value "
			    "or is unknown", o);
			return fail(why);
		}
		if (strcmp(o, "--timeout-ms") == 0) {
			if (parse_timeout(v, &timeout) != 0) {
				snprintf(why, sizeof(why), "--timeout-ms '%s': "
				    "expected 1..600000", v);
				return fail(why);
			}
		} else if (strcmp(o, "--host") == 0 && strcmp(mode, "http") == 0)
			host = v;
		else if (strcmp(o, "--expect") == 0 && strcmp(mode, "http") == 0)
			expect = v;
		else if (strcmp(o, "--password-file") == 0 &&
		    strcmp(mode, "redis") == 0)
			pwfile = v;
		else if (strcmp(o, "--user") == 0 && strcmp(mode, "redis") == 0)
			user = v;
		else {
			snprintf(why, sizeof(why), "unknown option '%s' for "
			    "'%s'", o, mode);
			return fail(why);
		}
	}

	if (strcmp(mode, "http") == 0) {
		if (probe_parse_url(target, &url, why, sizeof(why)) != 0)
			goto out;
		if (expect != NULL && probe_parse_codes(expect, codes, &ncodes,
		    why, sizeof(why)) != 0)
			goto out;
		if (probe_http(&url, host, codes, ncodes, timeout, &status,
		    why, sizeof(why)) != 0)
			goto out;
	} else if (strcmp(mode, "tcp") == 0) {
		if (probe_parse_hostport(target, &addr, why, sizeof(why)) != 0)
			goto out;
		if (probe_tcp(&addr, timeout, why, sizeof(why)) != 0)
			goto out;
		snprintf(why, sizeof(why), "tcp %s: connected", addr.text);
	} else if (strcmp(mode, "redis") == 0) {
		if (probe_parse_hostport(target, &addr, why, sizeof(why)) != 0)
			goto out;
		if (pwfile != NULL &&
		    read_password(pwfile, pw, why, sizeof(why)) != 0)
			goto out;
		if (probe_redis(&addr, user, pwfile ? pw : NULL, timeout, why,
		    sizeof(why)) != 0)
			goto out;
	} else {
		snprintf(why, sizeof(why), "unknown check '%s' (http, tcp, "
		    "redis)", mode);
		goto out;
	}
	ret = 0;
out:
	probe_wipe(pw, sizeof(pw));
	if (ret == 0)
		printf("ok: %s\n", why);
	else
		fail(why);
	return ret;
}
