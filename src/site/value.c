/*
 * value.c: convert one scalar of a site file to its schema type, and
 * validate it (domains, addresses, networks, ports, time zones, e-mail
 * addresses, URLs, enums, patterns, integer bounds).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/opt.h"
#include "site/site-int.h"

const char *site_zoneinfo_dir = "/usr/share/zoneinfo";

static const struct {
	const char	*name;
	const char	*noun;
	enum site_type	 type;
} types[] = {
	{ "string",	"a string",		ST_STRING },
	{ "int",	"an integer",		ST_INT },
	{ "bool",	"true or false",	ST_BOOL },
	{ "domain",	"a domain name",	ST_DOMAIN },
	{ "label",	"a DNS label",		ST_LABEL },
	{ "hostname",	"a host name",		ST_HOSTNAME },
	{ "ip",		"an IP address",	ST_IP },
	{ "ipv4",	"an IPv4 address",	ST_IPV4 },
	{ "cidr",	"a network (CIDR)",	ST_CIDR },
	{ "port",	"a port number",	ST_PORT },
	{ "timezone",	"a time zone",		ST_TIMEZONE },
	{ "email",	"an e-mail address",	ST_EMAIL },
	{ "url",	"a URL",		ST_URL },
	{ "enum",	"one of the listed values", ST_ENUM },
	{ "list",	"a list",		ST_LIST },
};

const char *
site_type_name(enum site_type t)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == t)
			return types[i].name;
	return "?";
}

const char *
site_type_noun(enum site_type t)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == t)
			return types[i].noun;
	return "?";
}

int
site_type_from_name(const char *s, enum site_type *t)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].name, s) == 0) {
			*t = types[i].type;
			return 0;
		}
	return -1;
}

int
site_type_is_string(enum site_type t)
{
	return t != ST_INT && t != ST_BOOL && t != ST_PORT && t != ST_LIST;
}

char *
site_shown(const char *s)
{
	struct vp_buf	b = VP_BUF_INIT(1024);
	size_t		i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 64) {
			vp_buf_adds(&b, "...");
			break;
		}
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			vp_buf_addf(&b, "\\x%02x", (unsigned char)s[i]);
		else
			vp_buf_addc(&b, s[i]);
	}
	return vp_buf_detach(&b, NULL);
}

static char *
whyf(const char *fmt, ...) VP_PRINTF(1, 2);

static char *
whyf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* "invalid <what> '<value>'[: <reason>]" */
static char *
invalid(const char *what, const char *value, const char *reason)
{
	char	*shown, *s;

	if ((shown = site_shown(value)) == NULL)
		return NULL;
	if (reason != NULL)
		s = whyf("invalid %s '%s': %s", what, shown, reason);
	else
		s = whyf("invalid %s '%s'", what, shown);
	free(shown);
	return s;
}

/*
 * RFC 1123 host name check.  mindots: 1 for a domain.  On error returns
 * an allocated reason.
 */
static char *
name_reason(const char *s, int mindots)
{
	const char	*p, *lab;
	size_t		 n, len = strlen(s), dots = 0;
	int		 alldigits;

	if (len == 0)
		return whyf("empty");
	if (len > 253)
		return whyf("longer than 253 characters");
	for (lab = p = s;; p++) {
		if (*p != '.' && *p != '\0')
			continue;
		n = (size_t)(p - lab);
		if (n == 0)
			return whyf("empty label");
		if (n > 63)
			return whyf("label longer than 63 characters");
		if (lab[0] == '-' || lab[n - 1] == '-')
			return whyf("label '%.*s' starts or ends with '-'",
			    (int)n, lab);
		for (alldigits = 1; lab < p; lab++) {
			if (!isalnum((unsigned char)*lab) && *lab != '-')
				return NULL;	/* reported below */
			if (!isdigit((unsigned char)*lab))
				alldigits = 0;
		}
		if (*p == '\0') {
			if (alldigits && dots > 0)
				return whyf("top-level label is numeric");
			break;
		}
		dots++;
		lab = p + 1;
	}
	if (dots < (size_t)mindots)
		return whyf("needs at least two labels, e.g. example.com");
	return NULL;
}

static char *
check_name(const char *s, int mindots, const char *what)
{
	const char	*p, *lab;
	char		*reason, *shown, *w;

	/* Characters first, naming the label holding the bad one. */
	for (lab = p = s; *p != '\0'; p++) {
		if (*p == '.') {
			lab = p + 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-') {
			const char *e = strchr(lab, '.');
			size_t n = e ? (size_t)(e - lab) : strlen(lab);

			if ((shown = site_shown(lab)) == NULL)
				return NULL;
			if (n < strlen(shown))
				shown[n] = '\0';
			reason = whyf("label '%s' has a character other than "
			    "letters, digits and '-'", shown);
			free(shown);
			w = reason ? invalid(what, s, reason) : NULL;
			free(reason);
			return w;
		}
	}
	if ((reason = name_reason(s, mindots)) == NULL)
		return NULL;
	w = invalid(what, s, reason);
	free(reason);
	return w;
}

static char *
check_label(const char *s)
{
	if (strchr(s, '.') != NULL)
		return invalid("DNS label", s, "must not contain '.'");
	return check_name(s, 0, "DNS label");
}

static int
is_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static int
is_ipv6(const char *s)
{
	struct in6_addr a;

	return inet_pton(AF_INET6, s, &a) == 1;
}

static char *
check_cidr(const char *s)
{
	unsigned char	 addr[16];
	char		 host[64], *end, *shown, *w;
	const char	*slash;
	long		 len;
	int		 af, bits, i;
	size_t		 n;

	if ((slash = strchr(s, '/')) == NULL)
		return invalid("network", s, "expected ADDRESS/PREFIX, e.g. "
		    "100.64.0.0/10");
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(host))
		return invalid("network", s, "bad address");
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, addr) == 1) {
		af = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		af = AF_INET6;
		bits = 128;
	} else
		return invalid("network", s, "bad address");
	errno = 0;
	if (!isdigit((unsigned char)slash[1]) ||
	    (len = strtol(slash + 1, &end, 10), *end != '\0') ||
	    errno != 0 || len < 0 || len > bits ||
	    (slash[1] == '0' && slash[2] != '\0'))
		return invalid("network", s, bits == 32 ?
		    "prefix length must be 0-32" :
		    "prefix length must be 0-128");
	/* Host bits must be zero. */
	for (i = 0; i < bits / 8; i++) {
		int keep = (int)len - i * 8;

		if (keep >= 8)
			continue;
		if (keep <= 0) {
			if (addr[i] != 0)
				break;
			continue;
		}
		if (addr[i] & (0xff >> keep))
			break;
	}
	if (i == bits / 8)
		return NULL;
	for (i = 0; i < bits / 8; i++) {
		int keep = (int)len - i * 8;

		if (keep <= 0)
			addr[i] = 0;
		else if (keep < 8)
			addr[i] &= (unsigned char)(0xff << (8 - keep));
	}
	if (inet_ntop(af, addr, host, sizeof(host)) == NULL)
		return invalid("network", s, "host bits are set");
	if ((shown = whyf("host bits are set (did you mean '%s/%ld'?)",
	    host, len)) == NULL)
		return NULL;
	w = invalid("network", s, shown);
	free(shown);
	return w;
}

/* Time zone: "UTC", or Area/City[/Sub] that exists when tzdata does. */
static char *
check_timezone(const char *s)
{
	const char	*p, *part;
	char		*path = NULL, *w = NULL, *dir = NULL, *slash;
	const char	*cands[512], *m;
	char		*names[512];
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	size_t		 nparts = 1, nc = 0, i;

	if (strlen(s) > 128)
		return invalid("time zone", s, "too long");
	for (part = p = s;; p++) {
		if (*p == '/' || *p == '\0') {
			if (p == part || !isalpha((unsigned char)*part))
				goto shape;
			if (*p == '\0')
				break;
			nparts++;
			part = p + 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' &&
		    *p != '+')
			goto shape;
	}
	if (nparts > 3)
		goto shape;
	if (stat(site_zoneinfo_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		/* No tzdata here: the shape is all we can check. */
		if (nparts == 1 && strcmp(s, "UTC") != 0 &&
		    strcmp(s, "GMT") != 0)
			goto shape;
		return NULL;
	}
	if (asprintf(&path, "%s/%s", site_zoneinfo_dir, s) < 0)
		return NULL;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		free(path);
		return NULL;
	}
	if (nparts == 1) {
		free(path);
		goto shape;
	}
	/* Unknown: suggest a close name in the same directory. */
	m = NULL;
	if ((slash = strrchr(path, '/')) != NULL &&
	    (dir = strndup(path, (size_t)(slash - path))) != NULL &&
	    (d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL && nc < 512) {
			if (de->d_name[0] == '.')
				continue;
			if ((names[nc] = strdup(de->d_name)) == NULL)
				break;
			cands[nc] = names[nc];
			nc++;
		}
		closedir(d);
		m = vp_did_you_mean(slash + 1, cands, nc);
	}
	if (m != NULL) {
		char *r2, *base = strndup(s, (size_t)(strrchr(s, '/') ?
		    strrchr(s, '/') - s + 1 : 0));

		r2 = base ? whyf("not in %s (did you mean '%s%s'?)",
		    site_zoneinfo_dir, base, m) : NULL;
		w = r2 ? invalid("time zone", s, r2) : NULL;
		free(r2);
		free(base);
	} else {
		char *r2 = whyf("not in %s", site_zoneinfo_dir);

		w = r2 ? invalid("time zone", s, r2) : NULL;
		free(r2);
	}
	for (i = 0; i < nc; i++)
		free(names[i]);
	free(dir);
	free(path);
	return w;
 shape:
	return invalid("time zone", s, "expected Area/City, e.g. Europe/Paris");
}

static char *
check_email(const char *s)
{
	const char	*at, *p;
	char		*reason, *w;

	if ((at = strrchr(s, '@')) == NULL)
		return invalid("e-mail address", s, "missing '@'");
	if (at == s)
		return invalid("e-mail address", s, "empty local part");
	if (at - s > 64)
		return invalid("e-mail address", s,
		    "local part longer than 64 characters");
	if (s[0] == '.' || at[-1] == '.')
		return invalid("e-mail address", s,
		    "local part starts or ends with '.'");
	for (p = s; p < at; p++) {
		if (isalnum((unsigned char)*p) ||
		    strchr("!#$%&'*+/=?^_`{|}~-", *p) != NULL)
			continue;
		if (*p == '.' && p[1] != '.')
			continue;
		return invalid("e-mail address", s,
		    "bad character in the local part");
	}
	if (at[1] == '\0')
		return invalid("e-mail address", s, "missing domain after '@'");
	if (strchr(at + 1, '.') == NULL &&
	    strcmp(at + 1, "localhost") != 0)
		return invalid("e-mail address", s,
		    "domain needs at least two labels");
	if ((w = check_name(at + 1, 0, "domain")) == NULL)
		return NULL;
	reason = whyf("bad domain: %s", w);
	free(w);
	w = reason ? invalid("e-mail address", s, reason) : NULL;
	free(reason);
	return w;
}

static char *
check_url(const char *s)
{
	const char	*h, *end, *p, *rest;
	char		 host[256], *w, *r2;
	size_t		 n;
	long		 port;

	if (strncasecmp(s, "http://", 7) == 0)
		h = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		h = s + 8;
	else
		return invalid("URL", s, "must start with http:// or https://");
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return invalid("URL", s,
			    "spaces and control characters are not allowed");
	rest = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(rest - h)) != NULL)
		return invalid("URL", s, "user information is not allowed");
	if (*h == '[') {
		if ((end = memchr(h, ']', (size_t)(rest - h))) == NULL)
			return invalid("URL", s, "missing ']'");
		n = (size_t)(end - h - 1);
		if (n >= sizeof(host))
			return invalid("URL", s, "bad host");
		memcpy(host, h + 1, n);
		host[n] = '\0';
		if (!is_ipv6(host))
			return invalid("URL", s, "bad IPv6 address");
		p = end + 1;
	} else {
		p = h + strcspn(h, ":/?#");
		n = (size_t)(p - h);
		if (n == 0)
			return invalid("URL", s, "missing host");
		if (n >= sizeof(host))
			return invalid("URL", s, "host too long");
		memcpy(host, h, n);
		host[n] = '\0';
		if (!is_ipv4(host) && (w = check_name(host, 0, "host")) !=
		    NULL) {
			r2 = whyf("bad host: %s", w);
			free(w);
			w = r2 ? invalid("URL", s, r2) : NULL;
			free(r2);
			return w;
		}
	}
	if (*p == ':') {
		p++;
		for (port = 0, end = p; isdigit((unsigned char)*end) &&
		    port <= 65535; end++)
			port = port * 10 + (*end - '0');
		if (end == p || port < 1 || port > 65535 ||
		    (*end != '\0' && strchr("/?#", *end) == NULL))
			return invalid("URL", s, "port must be 1-65535");
		p = end;
	}
	if (*p != '\0' && strchr("/?#", *p) == NULL)
		return invalid("URL", s, "bad host");
	return NULL;
}

static int
parse_ll(const char *s, long long *v)
{
	const char	*p = s;
	char		*end;

	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p) || (p[0] == '0' && p[1] != '\0'))
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return (*end != '\0' || errno != 0) ? -1 : 0;
}

static int
parse_bool(const char *s, int *b)
{
	static const char *const t[] = { "true", "yes", "on" };
	static const char *const f[] = { "false", "no", "off" };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strcasecmp(s, t[i]) == 0) {
			*b = 1;
			return 0;
		}
		if (strcasecmp(s, f[i]) == 0) {
			*b = 0;
			return 0;
		}
	}
	return -1;
}

static char *
expected(enum site_type t, const char *s, int quoted)
{
	char *shown, *w;

	if (quoted)
		return whyf("expected %s, got a quoted string (remove the "
		    "quotes)", site_type_noun(t));
	if ((shown = site_shown(s)) == NULL)
		return NULL;
	w = whyf("expected %s, got '%s'", site_type_noun(t), shown);
	free(shown);
	return w;
}

json_t *
site_value_parse(const struct schema_key *k, enum site_type t,
    const char *s, int quoted, char **why)
{
	long long	 v;
	const char	*m;
	char		*shown, *list;
	size_t		 i;
	int		 b;
	json_t		*j;

	*why = NULL;
	switch (t) {
	case ST_INT:
	case ST_PORT:
		if (quoted || parse_ll(s, &v) != 0) {
			*why = expected(t, s, quoted && parse_ll(s, &v) == 0);
			return NULL;
		}
		if (t == ST_PORT && (v < 1 || v > 65535)) {
			*why = invalid("port", s, "must be 1-65535");
			return NULL;
		}
		if (t == ST_INT && v < k->min) {
			*why = whyf("%lld is below the minimum %lld", v,
			    k->min);
			return NULL;
		}
		if (t == ST_INT && v > k->max) {
			*why = whyf("%lld is above the maximum %lld", v,
			    k->max);
			return NULL;
		}
		if ((j = json_integer(v)) == NULL)
			*why = NULL;
		return j;
	case ST_BOOL:
		if (quoted || parse_bool(s, &b) != 0) {
			*why = expected(t, s, quoted && parse_bool(s, &b) == 0);
			return NULL;
		}
		return json_boolean(b);
	case ST_LIST:
		*why = whyf("expected a list");
		return NULL;
	default:
		break;
	}
	if (*s == '\0')
		return json_string("");
	switch (t) {
	case ST_STRING:
		if (k->has_re && regexec(&k->re, s, 0, NULL, 0) != 0) {
			if ((shown = site_shown(s)) == NULL)
				return NULL;
			*why = whyf("invalid value '%s': must match %s", shown,
			    k->pattern);
			free(shown);
			return NULL;
		}
		break;
	case ST_DOMAIN:
		*why = check_name(s, 1, "domain");
		break;
	case ST_HOSTNAME:
		*why = check_name(s, 0, "host name");
		break;
	case ST_LABEL:
		*why = check_label(s);
		break;
	case ST_IP:
		if (!is_ipv4(s) && !is_ipv6(s))
			*why = invalid("IP address", s, NULL);
		break;
	case ST_IPV4:
		if (!is_ipv4(s))
			*why = invalid("IPv4 address", s, NULL);
		break;
	case ST_CIDR:
		*why = check_cidr(s);
		break;
	case ST_TIMEZONE:
		*why = check_timezone(s);
		break;
	case ST_EMAIL:
		*why = check_email(s);
		break;
	case ST_URL:
		*why = check_url(s);
		break;
	case ST_ENUM:
		for (i = 0; i < k->nvalues; i++)
			if (strcmp(s, k->values[i]) == 0)
				break;
		if (i < k->nvalues)
			break;
		{
			struct vp_buf lb = VP_BUF_INIT(4096);

			for (i = 0; i < k->nvalues; i++)
				vp_buf_addf(&lb, "%s%s", i ? ", " : "",
				    k->values[i]);
			list = vp_buf_detach(&lb, NULL);
		}
		m = vp_did_you_mean(s, (const char *const *)k->values,
		    k->nvalues);
		if ((shown = site_shown(s)) != NULL && list != NULL)
			*why = whyf("invalid value '%s': expected one of "
			    "%s%s%s%s", shown, list, m ? " (did you mean '" : "",
			    m ? m : "", m ? "'?)" : "");
		free(shown);
		free(list);
		return NULL;
	default:
		break;
	}
	if (*why != NULL)
		return NULL;
	if ((j = json_string(s)) == NULL)
		*why = whyf("the value is not valid UTF-8");
	return j;
}

char *
site_value_text(const json_t *v)
{
	size_t	 i;
	char	*s, *item;
	struct vp_buf b = VP_BUF_INIT(1u << 20);

	if (v == NULL || json_is_null(v))
		return strdup("");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		if (asprintf(&s, "%lld", (long long)json_integer_value(v)) < 0)
			return NULL;
		return s;
	}
	if (json_is_boolean(v))
		return strdup(json_is_true(v) ? "true" : "false");
	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++) {
			if ((item = site_value_text(json_array_get(v, i))) ==
			    NULL) {
				vp_buf_release(&b);
				return NULL;
			}
			vp_buf_addf(&b, "%s%s", i ? "," : "", item);
			free(item);
		}
		return vp_buf_detach(&b, NULL);
	}
	return strdup("");
}
