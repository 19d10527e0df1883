/*
 * probe.h: the health probe's checks, with no dependency beyond libc so
 * that vpai-probe links statically (see src/probe/CMakeLists.txt).
 *
 * The probe runs inside containers that have no shell tools: it speaks
 * HTTP/1.1, TCP connect and the Redis protocol over plain sockets, to
 * numeric addresses only (no DNS: a health check of 127.0.0.1 must not
 * depend on a resolver, and getaddrinfo does not link statically).
 *
 * Errors: every function returns 0 on success, -1 on failure and writes a
 * one-line reason into the caller's buffer why[whylen] (always
 * NUL-terminated when whylen > 0).  Fixed buffers rather than the core's
 * allocated causes keep the probe free of vp_core and its libraries.  A
 * reason never contains a secret (the Redis password is never echoed).
 */
#ifndef VP_PROBE_H
#define VP_PROBE_H

#include <sys/socket.h>
#include <stddef.h>

#define PROBE_TIMEOUT_MS	3000
#define PROBE_MAX_CODES		16

struct probe_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 text[80];	/* "127.0.0.1:80", "[::1]:80" */
};

struct probe_url {
	struct probe_addr	 addr;
	char			 authority[128];	/* host[:port] as written */
	char			 path[1024];		/* starts with '/' */
};

/* "HOST:PORT", HOST an IPv4 literal or a bracketed IPv6 literal. */
int	probe_parse_hostport(const char *s, struct probe_addr *a, char *why,
	    size_t whylen);

/* "http://HOST[:PORT][/PATH]"; the port defaults to 80. */
int	probe_parse_url(const char *url, struct probe_url *u, char *why,
	    size_t whylen);

/* "200" or "200,204,301": at most PROBE_MAX_CODES codes in 100..599. */
int	probe_parse_codes(const char *s, int *codes, size_t *ncodes,
	    char *why, size_t whylen);

/* The status code of a response's first line "HTTP/1.x NNN ...", or -1. */
int	probe_status_code(const char *buf, size_t len);

/* 0 when the reply line (without CRLF) is the simple string "+want". */
int	probe_redis_is(const char *line, const char *want);

/* Connect, then close. */
int	probe_tcp(const struct probe_addr *a, int timeout_ms, char *why,
	    size_t whylen);

/*
 * GET u->path with "Host: host" (NULL: u->authority).  Healthy when the
 * status is one of codes[0..ncodes) or, with ncodes == 0, any 2xx.  The
 * status seen is stored in *status (-1 if none).
 */
int	probe_http(const struct probe_url *u, const char *host,
	    const int *codes, size_t ncodes, int timeout_ms, int *status,
	    char *why, size_t whylen);

/*
 * AUTH (when password is not NULL; with user when user is not NULL), then
 * PING; healthy on +PONG.  NOAUTH or a refused AUTH is unhealthy.
 */
int	probe_redis(const struct probe_addr *a, const char *user,
	    const char *password, int timeout_ms, char *why, size_t whylen);

/* Overwrite n bytes at p in a way the compiler keeps. */
void	probe_wipe(void *p, size_t n);

#endif
