/*
 * u-probe: the probe's parsers and its TCP/HTTP checks against sockets
 * opened here on loopback.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe/probe.h"
#include "t.h"

static char why[512];

/* A listening socket on 127.0.0.1 with a kernel-chosen port. */
static int
listener(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

T_TEST(hostport)
{
	struct probe_addr a;

	T_INTEQ(probe_parse_hostport("127.0.0.1:6379", &a, why, sizeof(why)),
	    0);
	T_STREQ(a.text, "127.0.0.1:6379");
	T_INTEQ(a.ss.ss_family, AF_INET);
	T_INTEQ(probe_parse_hostport("[::1]:80", &a, why, sizeof(why)), 0);
	T_STREQ(a.text, "[::1]:80");
	T_INTEQ(a.ss.ss_family, AF_INET6);
	T_INTEQ(probe_parse_hostport("localhost:80", &a, why, sizeof(why)),
	    -1);
	T_ASSERT(strstr(why, "not a numeric IP address") != NULL);
	T_INTEQ(probe_parse_hostport("127.0.0.1", &a, why, sizeof(why)), -1);
	T_INTEQ(probe_parse_hostport("127.0.0.1:0", &a, why, sizeof(why)), -1);
	T_INTEQ(probe_parse_hostport("127.0.0.1:65536", &a, why, sizeof(why)),
	    -1);
	T_INTEQ(probe_parse_hostport("127.0.0.1:80x", &a, why, sizeof(why)),
	    -1);
	T_INTEQ(probe_parse_hostport("::1:80", &a, why, sizeof(why)), -1);
	T_ASSERT(strstr(why, "brackets") != NULL);
	T_INTEQ(probe_parse_hostport("[::1:80", &a, why, sizeof(why)), -1);
}

T_TEST(url)
{
	struct probe_url u;

	T_INTEQ(probe_parse_url("http://127.0.0.1:5678/healthz", &u, why,
	    sizeof(why)), 0);
	T_STREQ(u.authority, "127.0.0.1:5678");
	T_STREQ(u.path, "/healthz");
	T_STREQ(u.addr.text, "127.0.0.1:5678");
	T_INTEQ(probe_parse_url("http://127.0.0.1", &u, why, sizeof(why)), 0);
	T_STREQ(u.path, "/");
	T_STREQ(u.addr.text, "127.0.0.1:80");
	T_INTEQ(probe_parse_url("http://[::1]:8080/a?b=c", &u, why,
	    sizeof(why)), 0);
	T_STREQ(u.path, "/a?b=c");
	T_STREQ(u.authority, "[::1]:8080");
	T_INTEQ(probe_parse_url("https://127.0.0.1/", &u, why, sizeof(why)),
	    -1);
	T_ASSERT(strstr(why, "https is not supported") != NULL);
	T_INTEQ(probe_parse_url("127.0.0.1/", &u, why, sizeof(why)), -1);
	T_INTEQ(probe_parse_url("http://grafana:3000/", &u, why, sizeof(why)),
	    -1);
	T_INTEQ(probe_parse_url("http://u:p@127.0.0.1/", &u, why,
	    sizeof(why)), -1);
	T_INTEQ(probe_parse_url("http:///x", &u, why, sizeof(why)), -1);
	T_INTEQ(probe_parse_url("http://127.0.0.1/a b", &u, why, sizeof(why)),
	    -1);
}

T_TEST(codes)
{
	int c[PROBE_MAX_CODES];
	size_t n = 0;

	T_INTEQ(probe_parse_codes("200", c, &n, why, sizeof(why)), 0);
	T_INTEQ(n, 1);
	T_INTEQ(c[0], 200);
	T_INTEQ(probe_parse_codes("200,301,404", c, &n, why, sizeof(why)), 0);
	T_INTEQ(n, 3);
	T_INTEQ(c[2], 404);
	T_INTEQ(probe_parse_codes("20", c, &n, why, sizeof(why)), -1);
	T_INTEQ(probe_parse_codes("2000", c, &n, why, sizeof(why)), -1);
	T_INTEQ(probe_parse_codes("200,", c, &n, why, sizeof(why)), -1);
	T_INTEQ(probe_parse_codes("099", c, &n, why, sizeof(why)), -1);
	T_INTEQ(probe_parse_codes("600", c, &n, why, sizeof(why)), -1);
	T_INTEQ(probe_parse_codes("", c, &n, why, sizeof(why)), -1);
	T_INTEQ(probe_parse_codes("200,200,200,200,200,200,200,200,200,200,"
	    "200,200,200,200,200,200,200", c, &n, why, sizeof(why)), -1);
}

T_TEST(status_and_redis_lines)
{
	T_INTEQ(probe_status_code("HTTP/1.1 200 OK\r\n", 17), 200);
	T_INTEQ(probe_status_code("HTTP/1.0 503 Service\r\n", 22), 503);
	T_INTEQ(probe_status_code("HTTP/1.1 204", 12), 204);
	T_INTEQ(probe_status_code("HTTP/2 200 OK\r\n", 15), -1);
	T_INTEQ(probe_status_code("HTTP/1.1 2000\r\n", 15), -1);
	T_INTEQ(probe_status_code("HTTP/1.1 20", 11), -1);
	T_INTEQ(probe_status_code("SSH-2.0-OpenSSH\r\n", 17), -1);
	T_INTEQ(probe_redis_is("+PONG", "PONG"), 0);
	T_INTEQ(probe_redis_is("-NOAUTH Authentication required.", "PONG"),
	    -1);
	T_INTEQ(probe_redis_is("+PONGX", "PONG"), -1);
	T_INTEQ(probe_redis_is("$4", "PONG"), -1);
}

T_TEST(tcp_open_and_refused)
{
	struct probe_addr a;
	char hp[32];
	int fd, port;

	fd = listener(&port);
	T_ASSERT(fd != -1);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
	T_INTEQ(probe_parse_hostport(hp, &a, why, sizeof(why)), 0);
	T_INTEQ(probe_tcp(&a, 1000, why, sizeof(why)), 0);
	close(fd);
	/* The port is closed now: refused, quickly. */
	T_INTEQ(probe_tcp(&a, 1000, why, sizeof(why)), -1);
	T_ASSERT(strstr(why, "refused") != NULL);
}

/* A child answers one request with `reply`, or never answers. */
static pid_t
serve_once(int fd, const char *reply, char *seen, size_t seenlen)
{
	int p[2];
	pid_t pid;

	if (pipe(p) == -1)
		return -1;
	pid = fork();
	if (pid == 0) {
		char buf[2048];
		ssize_t n;
		int c;

		close(p[0]);
		signal(SIGPIPE, SIG_IGN);
		c = accept(fd, NULL, NULL);
		n = read(c, buf, sizeof(buf) - 1);
		if (n > 0 && write(p[1], buf, (size_t)n) < 0)
			n = 0;	/* nobody reads what the request was */
		close(p[1]);
		if (reply != NULL && write(c, reply, strlen(reply)) < 0)
			_exit(1);
		if (reply == NULL)
			sleep(3);
		_exit(0);
	}
	close(p[1]);
	if (seen != NULL) {
		ssize_t n = read(p[0], seen, seenlen - 1);

		seen[n > 0 ? n : 0] = '\0';
	}
	close(p[0]);
	return pid;
}

T_TEST(http_status_host_and_timeout)
{
	struct probe_url u;
	char url[64], seen[2048];
	int fd, port, status, codes[1] = { 401 };
	pid_t pid;
	struct timespec t0, t1;
	long ms;

	fd = listener(&port);
	T_ASSERT(fd != -1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
	T_INTEQ(probe_parse_url(url, &u, why, sizeof(why)), 0);

	/* 200 with the default Host (the URL's authority). */
	pid = serve_once(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	    NULL, 0);
	T_INTEQ(probe_http(&u, NULL, NULL, 0, 2000, &status, why,
	    sizeof(why)), 0);
	T_INTEQ(status, 200);
	T_INTEQ(status, 200);
	waitpid(pid, NULL, 0);

	/* --host is sent as the Host header; a 401 is not healthy by default. */
	pid = fork();
	if (pid == 0) {
		probe_http(&u, "grafana.example.org", NULL, 0, 2000, &status,
		    why, sizeof(why));
		_exit(0);
	}
	T_ASSERT(serve_once(fd, "HTTP/1.1 401 Unauthorized\r\n\r\n", seen,
	    sizeof(seen)) > 0);
	T_ASSERT(strstr(seen, "GET /healthz HTTP/1.1\r\n") == seen);
	T_ASSERT(strstr(seen, "\r\nHost: grafana.example.org\r\n") != NULL);
	while (wait(NULL) > 0)
		;

	pid = serve_once(fd, "HTTP/1.1 401 Unauthorized\r\n\r\n", NULL, 0);
	T_INTEQ(probe_http(&u, NULL, NULL, 0, 2000, &status, why,
	    sizeof(why)), -1);
	T_INTEQ(status, 401);
	T_ASSERT(strstr(why, "HTTP 401") != NULL);
	waitpid(pid, NULL, 0);

	/* ... unless expected. */
	pid = serve_once(fd, "HTTP/1.1 401 Unauthorized\r\n\r\n", NULL, 0);
	T_INTEQ(probe_http(&u, NULL, codes, 1, 2000, &status, why,
	    sizeof(why)), 0);
	waitpid(pid, NULL, 0);

	/* Not HTTP. */
	pid = serve_once(fd, "+PONG\r\n", NULL, 0);
	T_INTEQ(probe_http(&u, NULL, NULL, 0, 2000, &status, why,
	    sizeof(why)), -1);
	T_ASSERT(strstr(why, "not an HTTP") != NULL);
	waitpid(pid, NULL, 0);

	/* A server that never answers: the timeout holds. */
	pid = serve_once(fd, NULL, NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	T_INTEQ(probe_http(&u, NULL, NULL, 0, 300, &status, why,
	    sizeof(why)), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000;
	T_ASSERT(ms >= 290 && ms < 1500);
	T_ASSERT(strstr(why, "timeout") != NULL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fd);
}

int
main(void)
{
	T_RUN(hostport);
	T_RUN(url);
	T_RUN(codes);
	T_RUN(status_and_redis_lines);
	T_RUN(tcp_open_and_refused);
	T_RUN(http_status_host_and_timeout);
	return T_DONE();
}
