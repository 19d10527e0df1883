/*
 * probe.c: HTTP/TCP/Redis health checks over plain non-blocking sockets,
 * each bounded by one deadline.  libc only (see probe.h).
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe/probe.h"

static void
why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

void
probe_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline, at least 0. */
static int
left_ms(long long deadline)
{
	long long d = deadline - now_ms();

	return d < 0 ? 0 : (int)d;
}

static int
parse_port(const char *s, size_t len, int *port)
{
	int p = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		p = p * 10 + (s[i] - '0');
	}
	if (p < 1 || p > 65535)
		return -1;
	*port = p;
	return 0;
}

/* host[hostlen] is a numeric IPv4 or IPv6 literal (no brackets). */
static int
fill_addr(const char *host, size_t hostlen, int port, struct probe_addr *a,
    char *why, size_t whylen)
{
	char h[64];
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (hostlen == 0 || hostlen >= sizeof(h)) {
		why_set(why, whylen, "empty or too long address");
		return -1;
	}
	memcpy(h, host, hostlen);
	h[hostlen] = '\0';
	if (inet_pton(AF_INET, h, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((unsigned short)port);
		a->len = sizeof(*in4);
		snprintf(a->text, sizeof(a->text), "%s:%d", h, port);
		return 0;
	}
	memset(&a->ss, 0, sizeof(a->ss));
	if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)port);
		a->len = sizeof(*in6);
		snprintf(a->text, sizeof(a->text), "[%s]:%d", h, port);
		return 0;
	}
	why_set(why, whylen, "'%s' is not a numeric IP address (the probe "
	    "does not resolve names: use 127.0.0.1)", h);
	return -1;
}

/*
 * Split "host:port" or "[v6]:port" at s[0..len); the port is required when
 * defport is 0.
 */
static int
split_hostport(const char *s, size_t len, int defport, struct probe_addr *a,
    char *why, size_t whylen)
{
	const char *host, *colon = NULL, *end = s + len;
	size_t hostlen;
	int port = defport;

	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (rb == NULL) {
			why_set(why, whylen, "'%.*s': missing ']'", (int)len, s);
			return -1;
		}
		host = s + 1;
		hostlen = (size_t)(rb - host);
		if (rb + 1 < end) {
			if (rb[1] != ':') {
				why_set(why, whylen, "'%.*s': expected ':' "
				    "after ']'", (int)len, s);
				return -1;
			}
			colon = rb + 1;
		}
	} else {
		host = s;
		colon = memchr(s, ':', len);
		hostlen = colon ? (size_t)(colon - s) : len;
		if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
			why_set(why, whylen, "'%.*s': write an IPv6 address "
			    "in brackets", (int)len, s);
			return -1;
		}
	}
	if (colon != NULL) {
		if (parse_port(colon + 1, (size_t)(end - colon - 1),
		    &port) != 0) {
			why_set(why, whylen, "'%.*s': bad port", (int)len, s);
			return -1;
		}
	} else if (defport == 0) {
		why_set(why, whylen, "'%.*s': expected HOST:PORT", (int)len, s);
		return -1;
	}
	return fill_addr(host, hostlen, port, a, why, whylen);
}

int
probe_parse_hostport(const char *s, struct probe_addr *a, char *why,
    size_t whylen)
{
	return split_hostport(s, strlen(s), 0, a, why, whylen);
}

int
probe_parse_url(const char *url, struct probe_url *u, char *why,
    size_t whylen)
{
	const char *auth, *slash;
	size_t alen;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "https://", 8) == 0) {
		why_set(why, whylen, "'%s': https is not supported (probe "
		    "plain http on 127.0.0.1)", url);
		return -1;
	}
	if (strncmp(url, "http://", 7) != 0) {
		why_set(why, whylen, "'%s': expected http://HOST[:PORT]/PATH",
		    url);
		return -1;
	}
	auth = url + 7;
	slash = strchr(auth, '/');
	alen = slash ? (size_t)(slash - auth) : strlen(auth);
	if (alen == 0 || alen >= sizeof(u->authority)) {
		why_set(why, whylen, "'%s': bad host", url);
		return -1;
	}
	if (memchr(auth, '@', alen) != NULL) {
		why_set(why, whylen, "'%s': credentials in the URL are not "
		    "supported", url);
		return -1;
	}
	if (split_hostport(auth, alen, 80, &u->addr, why, whylen) != 0)
		return -1;
	memcpy(u->authority, auth, alen);
	u->authority[alen] = '\0';
	if (slash == NULL)
		slash = "/";
	if (strlen(slash) >= sizeof(u->path)) {
		why_set(why, whylen, "'%s': path too long", url);
		return -1;
	}
	if (strpbrk(slash, " \r\n\t") != NULL) {
		why_set(why, whylen, "'%s': whitespace in the path", url);
		return -1;
	}
	strcpy(u->path, slash);
	return 0;
}

int
probe_parse_codes(const char *s, int *codes, size_t *ncodes, char *why,
    size_t whylen)
{
	const char *p = s;
	size_t n = 0;

	for (;;) {
		int c = 0, digits = 0;

		while (*p >= '0' && *p <= '9' && digits < 4) {
			c = c * 10 + (*p++ - '0');
			digits++;
		}
		if (digits != 3 || c < 100 || c > 599 ||
		    (*p != ',' && *p != '\0')) {
			why_set(why, whylen, "'%s': expected CODE[,CODE...] "
			    "with 3-digit HTTP codes", s);
			return -1;
		}
		if (n == PROBE_MAX_CODES) {
			why_set(why, whylen, "'%s': more than %d codes", s,
			    PROBE_MAX_CODES);
			return -1;
		}
		codes[n++] = c;
		if (*p == '\0')
			break;
		p++;
	}
	*ncodes = n;
	return 0;
}

int
probe_status_code(const char *buf, size_t len)
{
	int c;

	/* "HTTP/1.1 200" is the shortest acceptable prefix. */
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 ||
	    (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ')
		return -1;
	if (buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9')
		return -1;
	if (len > 12 && buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')
		return -1;
	c = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	return c;
}

int
probe_redis_is(const char *line, const char *want)
{
	if (line[0] != '+')
		return -1;
	return strcmp(line + 1, want) == 0 ? 0 : -1;
}

/* A connected non-blocking socket, or -1. */
static int
dial(const struct probe_addr *a, long long deadline, char *why,
    size_t whylen)
{
	struct pollfd pfd;
	int fd, err = 0, r;
	socklen_t elen = sizeof(err);

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		why_set(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		why_set(why, whylen, "connect %s: %s", a->text,
		    strerror(errno));
		goto fail;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do {
		r = poll(&pfd, 1, left_ms(deadline));
	} while (r == -1 && errno == EINTR);
	if (r == 0) {
		why_set(why, whylen, "connect %s: timed out", a->text);
		goto fail;
	}
	if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
	    &elen) == -1) {
		why_set(why, whylen, "connect %s: %s", a->text,
		    strerror(errno));
		goto fail;
	}
	if (err != 0) {
		why_set(why, whylen, "connect %s: %s", a->text,
		    strerror(err));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int
send_all(int fd, const char *p, size_t n, long long deadline,
    const char *what, char *why, size_t whylen)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t w;
	int r;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR) {
			why_set(why, whylen, "%s: send: %s", what,
			    strerror(errno));
			return -1;
		}
		r = poll(&pfd, 1, left_ms(deadline));
		if (r == 0) {
			why_set(why, whylen, "%s: send timed out", what);
			return -1;
		}
	}
	return 0;
}

/*
 * Read into buf until `lines` CRLF-terminated lines are in, EOF, or the
 * buffer is full.  Returns the byte count, or -1 on error or timeout.
 */
static ssize_t
recv_lines(int fd, char *buf, size_t cap, int lines, long long deadline,
    const char *what, char *why, size_t whylen)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;
	int r, seen;

	for (;;) {
		char *p;

		seen = 0;
		for (p = buf; p + 1 < buf + len; p++)
			if (p[0] == '\r' && p[1] == '\n')
				seen++;
		if (seen >= lines || len + 1 >= cap)
			break;
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			why_set(why, whylen, "%s: recv: %s", what,
			    strerror(errno));
			return -1;
		}
		do {
			r = poll(&pfd, 1, left_ms(deadline));
		} while (r == -1 && errno == EINTR);
		if (r == 0) {
			why_set(why, whylen, "%s: no answer within the "
			    "timeout", what);
			return -1;
		}
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

int
probe_tcp(const struct probe_addr *a, int timeout_ms, char *why,
    size_t whylen)
{
	int fd;

	fd = dial(a, now_ms() + timeout_ms, why, whylen);
	if (fd == -1)
		return -1;
	close(fd);
	return 0;
}

int
probe_http(const struct probe_url *u, const char *host, const int *codes,
    size_t ncodes, int timeout_ms, int *status, char *why, size_t whylen)
{
	long long deadline = now_ms() + timeout_ms;
	char req[2048], resp[4096], what[1200];
	ssize_t n;
	size_t i;
	int fd = -1, code, ret = -1, len;

	*status = -1;
	snprintf(what, sizeof(what), "http://%s%s", u->addr.text, u->path);
	if (host == NULL)
		host = u->authority;
	if (strpbrk(host, " \r\n\t") != NULL || host[0] == '\0') {
		why_set(why, whylen, "bad Host header '%s'", host);
		return -1;
	}
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: vpai-probe\r\nAccept: */*\r\nConnection: close\r\n"
	    "\r\n", u->path, host);
	if (len < 0 || (size_t)len >= sizeof(req)) {
		why_set(why, whylen, "%s: request too long", what);
		return -1;
	}
	if ((fd = dial(&u->addr, deadline, why, whylen)) == -1)
		goto out;
	if (send_all(fd, req, (size_t)len, deadline, what, why, whylen) != 0)
		goto out;
	n = recv_lines(fd, resp, sizeof(resp), 1, deadline, what, why,
	    whylen);
	if (n == -1)
		goto out;
	if (n == 0) {
		why_set(why, whylen, "%s: connection closed without a "
		    "response", what);
		goto out;
	}
	if ((code = probe_status_code(resp, (size_t)n)) == -1) {
		why_set(why, whylen, "%s: not an HTTP/1.x response", what);
		goto out;
	}
	*status = code;
	if (ncodes == 0) {
		if (code >= 200 && code <= 299)
			ret = 0;
	} else {
		for (i = 0; i < ncodes; i++)
			if (codes[i] == code)
				ret = 0;
	}
	if (ret != 0)
		why_set(why, whylen, "%s (Host: %s): HTTP %d, expected %s",
		    what, host, code, ncodes == 0 ? "2xx" : "--expect codes");
	else
		why_set(why, whylen, "%s (Host: %s): HTTP %d", what, host,
		    code);
out:
	if (fd != -1)
		close(fd);
	return ret;
}

/* Append one RESP bulk string. */
static int
resp_bulk(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t sl = strlen(s);
	int n;

	n = snprintf(buf + *len, cap - *len, "$%zu\r\n", sl);
	if (n < 0 || (size_t)n >= cap - *len || sl + 2 > cap - *len - n)
		return -1;
	*len += (size_t)n;
	memcpy(buf + *len, s, sl);
	*len += sl;
	memcpy(buf + *len, "\r\n", 2);
	*len += 2;
	return 0;
}

/* The first reply line's leading word ("-NOAUTH", "-WRONGPASS"...). */
static void
first_word(const char *line, char *w, size_t wlen)
{
	size_t i;

	for (i = 0; i + 1 < wlen && line[i] != '\0' && line[i] != ' ' &&
	    line[i] != '\r'; i++)
		w[i] = line[i];
	w[i] = '\0';
}

int
probe_redis(const struct probe_addr *a, const char *user,
    const char *password, int timeout_ms, char *why, size_t whylen)
{
	long long deadline = now_ms() + timeout_ms;
	char req[1200], resp[1024], what[100], word[40];
	char *line2;
	size_t len = 0;
	ssize_t n;
	int fd = -1, ret = -1, want = 1;

	snprintf(what, sizeof(what), "redis %s", a->text);
	if (password != NULL) {
		if (strlen(password) > 1000) {
			why_set(why, whylen, "%s: password longer than 1000 "
			    "bytes", what);
			goto out;
		}
		memcpy(req, user ? "*3\r\n$4\r\nAUTH\r\n" :
		    "*2\r\n$4\r\nAUTH\r\n", 14);
		len = 14;
		if ((user && resp_bulk(req, sizeof(req), &len, user) != 0) ||
		    resp_bulk(req, sizeof(req), &len, password) != 0) {
			why_set(why, whylen, "%s: AUTH too long", what);
			goto out;
		}
		want = 2;
	}
	if (len + 14 > sizeof(req))
		goto out;
	memcpy(req + len, "*1\r\n$4\r\nPING\r\n", 14);
	len += 14;
	if ((fd = dial(a, deadline, why, whylen)) == -1)
		goto out;
	if (send_all(fd, req, len, deadline, what, why, whylen) != 0)
		goto out;
	n = recv_lines(fd, resp, sizeof(resp), want, deadline, what, why,
	    whylen);
	if (n == -1)
		goto out;
	if (n == 0) {
		why_set(why, whylen, "%s: connection closed without a reply",
		    what);
		goto out;
	}
	line2 = strstr(resp, "\r\n");
	if (line2 == NULL || (resp[0] != '+' && resp[0] != '-')) {
		why_set(why, whylen, "%s: not a Redis reply", what);
		goto out;
	}
	*line2 = '\0';
	line2 += 2;
	if (want == 2) {
		if (probe_redis_is(resp, "OK") != 0) {
			first_word(resp, word, sizeof(word));
			why_set(why, whylen, "%s: AUTH refused (%s)", what,
			    word);
			goto out;
		}
		if (strstr(line2, "\r\n") == NULL) {
			why_set(why, whylen, "%s: no reply to PING", what);
			goto out;
		}
		*strstr(line2, "\r\n") = '\0';
	} else
		line2 = resp;
	if (probe_redis_is(line2, "PONG") != 0) {
		first_word(line2, word, sizeof(word));
		if (strcmp(word, "-NOAUTH") == 0)
			why_set(why, whylen, "%s: NOAUTH (a password is "
			    "required: --password-file)", what);
		else
			why_set(why, whylen, "%s: PING answered '%s', "
			    "expected +PONG", what, word);
		goto out;
	}
	why_set(why, whylen, "%s: PONG", what);
	ret = 0;
out:
	probe_wipe(req, sizeof(req));
	if (fd != -1)
		close(fd);
	return ret;
}
