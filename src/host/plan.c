/*
 * plan.c: the pure plan (want, facts) -> ops, and want validation.
 *
 * No I/O here: everything the plan needs is in the facts.  Each op is a
 * JSON object {"op": KIND, "id": WHAT, "action": VERB|"noop", "why": ...}
 * plus what apply needs.  Ops with "info": true only explain (one line
 * of a file, one cron entry, one key); the file/crontab op next to them
 * carries the change.  Ops come in apply order: apt repositories (and one
 * apt-update when they change), packages, groups, users, directories,
 * files, sysctl, crontabs, timezone, hostname, locale, tailscale, CrowdSec
 * collections, services, firewall.  CrowdSec's "offline" marker file (and
 * its directory) comes before the packages: the package's postinst reads
 * it.  No-ops with "warn": true say that something cannot be done
 * on this host (auditd where the kernel refuses audit, systemd-timesyncd
 * without systemd, a read-only /proc/sys key); they are printed even
 * without -v.  "ntp" is expanded first (host_want_ntp).
 */
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/opt.h"
#include "host/host.h"
#include "host/internal.h"

#define DIFF_MAX_BYTES	(1u << 20)	/* larger files: no diff shown */

struct plan {
	const json_t	*want;
	const json_t	*facts;
	json_t		*ops;
	char		**cause;
	int		 err;	/* first buffer error (sticky) */
};

/* Record the first failure of a buffer call; vp_host_plan() reports it. */
#define BUF(p, call) do {						\
	int b_r_ = (call);						\
	if (b_r_ != 0 && (p)->err == 0)					\
		(p)->err = b_r_;					\
} while (0)

static json_t *
op_add(struct plan *p, const char *kind, const char *id, const char *action,
    const char *fmt, ...) VP_PRINTF(5, 6);

static json_t *
op_add(struct plan *p, const char *kind, const char *id, const char *action,
    const char *fmt, ...)
{
	json_t	*o = json_object();
	va_list	 ap;
	char	*why = NULL;

	json_object_set_new(o, "op", json_string(kind));
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "action", json_string(action));
	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&why, fmt, ap) < 0)
			why = NULL;
		va_end(ap);
		if (why != NULL)
			json_object_set_new(o, "why", json_string(why));
		free(why);
	}
	json_array_append_new(p->ops, o);
	return o;
}

static const json_t *
fact(const struct plan *p, const char *a, const char *b)
{
	return json_object_get(json_object_get(p->facts, a), b);
}

/* ---------------------------------------------------------------- */
/* validation */

static int
check_name(const char *s, const char *extra)
{
	if (*s == '\0' || *s == '-')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return 0;
	return 1;
}

static int
check_mode(const json_t *v)
{
	const char	*s = json_string_value(v);
	size_t		 n;

	if (v == NULL)
		return 1;
	if (s == NULL || (n = strlen(s)) < 3 || n > 4)
		return 0;
	return strspn(s, "01234567") == n;
}

static int
check_path(const char *s)
{
	/* no newline (facts are line-based), no '\\' (sha256sum escapes) */
	return s[0] == '/' && strstr(s, "/../") == NULL &&
	    strchr(s, '\n') == NULL && strchr(s, '\\') == NULL &&
	    strlen(s) < 4096;
}

#define WERR(...) do { r = vp_fail(cause, VP_ERR_INVALID, __VA_ARGS__); \
	goto out; } while (0)

static int
check_list(const json_t *want, const char *key, const char *origin,
    char **cause)
{
	const json_t *v = json_object_get(want, key);

	if (v != NULL && !json_is_array(v))
		return vp_fail(cause, VP_ERR_INVALID, "%s: %s: expected a "
		    "list", origin, key);
	return VP_OK;
}

/* A hub item name: VENDOR/NAME, each [a-z0-9_.-]+, no "..". */
static int
crowdsec_name(const char *s)
{
	const char *sl = strchr(s, '/');

	return sl != NULL && sl != s && sl[1] != '\0' &&
	    strchr(sl + 1, '/') == NULL && strstr(s, "..") == NULL &&
	    s[0] != '.' && sl[1] != '.' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-/") ==
	    strlen(s);
}

int
vp_host_want_check(const json_t *want, const char *origin, char **cause)
{
	static const char *const known[] = { "apt_repos", "packages",
	    "groups", "users",
	    "directories", "files", "lines", "sysctl", "authorized_keys",
	    "services", "cron", "ufw", "timezone", "locale", "hostname",
	    "hosts", "hosts_file", "secrets", "confirm", "tailscale",
	    "vpn_ip", "ntp", "crowdsec", NULL };
	static const char *const lists[] = { "apt_repos", "groups", "users",
	    "directories", "files", "lines", "authorized_keys", "services",
	    "cron", "hosts", "secrets", NULL };
	const json_t	*v, *o, *x;
	const char	*k, *s;
	size_t		 i, j;
	regex_t		 re;
	int		 r = VP_OK, found;

	if (!json_is_object(want))
		return vp_fail(cause, VP_ERR_INVALID, "%s: expected a JSON "
		    "object", origin);
	json_object_foreach((json_t *)want, k, v) {
		found = 0;
		for (i = 0; known[i] != NULL; i++)
			found |= strcmp(known[i], k) == 0;
		if (!found) {
			s = vp_did_you_mean(k, known,
			    sizeof(known) / sizeof(known[0]) - 1);
			WERR("%s: key '%s': unknown key%s%s%s", origin, k,
			    s ? " (did you mean '" : "", s ? s : "",
			    s ? "'?)" : "");
		}
	}
	if ((v = json_object_get(want, "confirm")) != NULL) {
		x = json_object_get(v, "timeout");
		if (!json_is_object(v) || json_object_size(v) !=
		    (x != NULL) || (x != NULL && (!json_is_integer(x) ||
		    json_integer_value(x) < 10 ||
		    json_integer_value(x) > 3600)))
			WERR("%s: confirm: expected {\"timeout\": SECONDS} "
			    "with 10 <= SECONDS <= 3600", origin);
	}
	for (i = 0; lists[i] != NULL; i++)
		if ((r = check_list(want, lists[i], origin, cause)) != 0)
			goto out;
	json_array_foreach(json_object_get(want, "apt_repos"), i, v) {
		if (!check_name(jstr(v, "name"), "._-"))
			WERR("%s: apt_repos[%zu].name: bad name", origin, i);
		s = jstr(v, "uri");
		if ((strncmp(s, "https://", 8) != 0 && strncmp(s, "http://",
		    7) != 0) || strpbrk(s, " \t\n") != NULL)
			WERR("%s: apt_repos[%zu].uri: expected an http(s) URL",
			    origin, i);
		if (!check_name(jstr(v, "suite"), "._/-") ||
		    !check_name(jstr_or(v, "components", "main"), " ._-") ||
		    !check_name(jstr_or(v, "architectures", "x"), " _-"))
			WERR("%s: apt_repos[%zu]: bad suite, components or "
			    "architectures", origin, i);
		if (strstr(jstr(v, "key"), "-----BEGIN PGP PUBLIC KEY BLOCK"
		    "-----") == NULL)
			WERR("%s: apt_repos[%zu].key: expected an ASCII-armored "
			    "OpenPGP public key", origin, i);
	}
	if ((o = json_object_get(want, "packages")) != NULL) {
		static const char *const pk[] = { "present", "absent" };

		for (j = 0; j < 2; j++)
			json_array_foreach(json_object_get(o, pk[j]), i, v)
				if (!json_is_string(v) || !check_name(
				    json_string_value(v), "+.-") ||
				    isupper((unsigned char)
				    json_string_value(v)[0]))
					WERR("%s: packages.%s[%zu]: bad package "
					    "name", origin, pk[j], i);
	}
	json_array_foreach(json_object_get(want, "groups"), i, v)
		if (!check_name(jstr(v, "name"), "_.-"))
			WERR("%s: groups[%zu].name: bad group name", origin, i);
	json_array_foreach(json_object_get(want, "users"), i, v) {
		if (!check_name(jstr(v, "name"), "_.-"))
			WERR("%s: users[%zu].name: bad user name", origin, i);
		json_array_foreach(json_object_get(v, "groups"), j, x)
			if (!json_is_string(x) || !check_name(
			    json_string_value(x), "_.-"))
				WERR("%s: users[%zu].groups[%zu]: bad group "
				    "name", origin, i, j);
		if ((s = jstr_or(v, "home", NULL)) != NULL && !check_path(s))
			WERR("%s: users[%zu].home: expected an absolute path",
			    origin, i);
		if ((s = jstr_or(v, "shell", NULL)) != NULL && !check_path(s))
			WERR("%s: users[%zu].shell: expected an absolute "
			    "path", origin, i);
	}
	{
		static const char *const fl[] = { "directories", "files",
		    "lines" };

		for (j = 0; j < 3; j++)
			json_array_foreach(json_object_get(want, fl[j]), i, v) {
				if (!check_path(jstr(v, "path")))
					WERR("%s: %s[%zu].path: expected an "
					    "absolute path", origin, fl[j], i);
				if (!check_mode(json_object_get(v, "mode")))
					WERR("%s: %s[%zu].mode: expected an "
					    "octal string like \"0644\"",
					    origin, fl[j], i);
				if (((s = jstr_or(v, "owner", NULL)) != NULL &&
				    !check_name(s, "_.-")) ||
				    ((s = jstr_or(v, "group", NULL)) != NULL &&
				    !check_name(s, "_.-")))
					WERR("%s: %s[%zu]: bad owner or group",
					    origin, fl[j], i);
			}
	}
	json_array_foreach(json_object_get(want, "files"), i, v)
		if (!json_is_string(json_object_get(v, "content")))
			WERR("%s: files[%zu].content: expected a string",
			    origin, i);
	json_array_foreach(json_object_get(want, "lines"), i, v) {
		if (!json_is_string(json_object_get(v, "line")) ||
		    strchr(jstr(v, "line"), '\n') != NULL)
			WERR("%s: lines[%zu].line: expected one line of text",
			    origin, i);
		s = jstr_or(v, "state", "present");
		if (strcmp(s, "present") != 0 && strcmp(s, "absent") != 0)
			WERR("%s: lines[%zu].state: expected \"present\" or "
			    "\"absent\"", origin, i);
		if ((s = jstr_or(v, "regexp", NULL)) != NULL) {
			if (regcomp(&re, s, REG_EXTENDED | REG_NOSUB) != 0)
				WERR("%s: lines[%zu].regexp: not a valid "
				    "extended regular expression", origin, i);
			regfree(&re);
		}
	}
	if ((o = json_object_get(want, "sysctl")) != NULL) {
		if (!check_path(jstr(o, "file")))
			WERR("%s: sysctl.file: expected an absolute path",
			    origin);
		if (!json_is_object(json_object_get(o, "values")))
			WERR("%s: sysctl.values: expected an object", origin);
		json_object_foreach(json_object_get(o, "values"), k, x) {
			if (!check_name(k, "._-") || strstr(k, "..") != NULL)
				WERR("%s: sysctl.values: key '%s': bad sysctl "
				    "name", origin, k);
			if (!json_is_string(x) || strchr(json_string_value(x),
			    '\n') != NULL)
				WERR("%s: sysctl.values: key '%s': expected a "
				    "string", origin, k);
		}
	}
	json_array_foreach(json_object_get(want, "authorized_keys"), i, v) {
		if (!check_name(jstr(v, "user"), "_.-"))
			WERR("%s: authorized_keys[%zu].user: bad user name",
			    origin, i);
		s = jstr(v, "key");
		if (strncmp(s, "ssh-", 4) != 0 && strncmp(s, "ecdsa-", 6) != 0 &&
		    strncmp(s, "sk-", 3) != 0)
			WERR("%s: authorized_keys[%zu].key: expected an "
			    "OpenSSH public key", origin, i);
		if (strchr(s, '\n') != NULL || strchr(s, ' ') == NULL)
			WERR("%s: authorized_keys[%zu].key: expected one key "
			    "line", origin, i);
	}
	json_array_foreach(json_object_get(want, "services"), i, v) {
		if (!check_name(jstr(v, "name"), "_.@-"))
			WERR("%s: services[%zu].name: bad service name",
			    origin, i);
		if (check_list(v, "restart_on", origin, cause) != 0)
			WERR("%s: services[%zu].restart_on: expected a list of "
			    "paths", origin, i);
		if (json_object_get(v, "needs") != NULL &&
		    strcmp(jstr(v, "needs"), "audit") != 0 &&
		    strcmp(jstr(v, "needs"), "clock") != 0)
			WERR("%s: services[%zu].needs: expected \"audit\" or "
			    "\"clock\"", origin, i);
	}
	json_array_foreach(json_object_get(want, "cron"), i, v) {
		if (*jstr(v, "name") == '\0' || strchr(jstr(v, "name"),
		    '\n') != NULL)
			WERR("%s: cron[%zu].name: expected a one-line name",
			    origin, i);
		if (!check_name(jstr_or(v, "user", "root"), "_.-"))
			WERR("%s: cron[%zu].user: bad user name", origin, i);
		s = jstr(v, "schedule");
		{
			size_t	nf = 0;
			int	inw = 0;

			for (; *s; s++) {
				if (isspace((unsigned char)*s))
					inw = 0;
				else if (!inw) {
					inw = 1;
					nf++;
				}
			}
			if (!(nf == 5 || (nf == 1 && jstr(v, "schedule")[0] ==
			    '@')) || strchr(jstr(v, "schedule"), '\n'))
				WERR("%s: cron[%zu].schedule: expected 5 "
				    "fields or @keyword", origin, i);
		}
		if (*jstr(v, "job") == '\0' || strchr(jstr(v, "job"), '\n'))
			WERR("%s: cron[%zu].job: expected a one-line command",
			    origin, i);
	}
	if ((v = json_object_get(want, "timezone")) != NULL &&
	    (!json_is_string(v) || !check_name(json_string_value(v),
	    "/_+-") || strstr(json_string_value(v), "..") != NULL))
		WERR("%s: timezone: expected a zone name like "
		    "\"Europe/Paris\"", origin);
	if ((v = json_object_get(want, "locale")) != NULL &&
	    (!json_is_string(v) || !check_name(json_string_value(v),
	    "_.@-") || strstr(json_string_value(v), "..") != NULL))
		WERR("%s: locale: expected a locale name like "
		    "\"fr_FR.UTF-8\"", origin);
	if ((v = json_object_get(want, "hostname")) != NULL &&
	    (!json_is_string(v) || !check_name(json_string_value(v), ".-")))
		WERR("%s: hostname: bad host name", origin);
	json_array_foreach(json_object_get(want, "hosts"), i, v) {
		if (!check_name(jstr(v, "ip"), ".:"))
			WERR("%s: hosts[%zu].ip: bad address", origin, i);
		if (json_array_size(json_object_get(v, "names")) == 0)
			WERR("%s: hosts[%zu].names: expected a list of names",
			    origin, i);
		json_array_foreach(json_object_get(v, "names"), j, x)
			if (!json_is_string(x) || !check_name(
			    json_string_value(x), ".-"))
				WERR("%s: hosts[%zu].names[%zu]: bad name",
				    origin, i, j);
	}
	if ((o = json_object_get(want, "ntp")) != NULL) {
		if (!json_is_object(o) || !json_is_string(json_object_get(o,
		    "content")))
			WERR("%s: ntp.content: expected the text of a "
			    "timesyncd.conf drop-in", origin);
		json_object_foreach((json_t *)o, s, v)
			if (strcmp(s, "content") != 0)
				WERR("%s: ntp.%s: unknown key (expected "
				    "\"content\")", origin, s);
	}
	if ((o = json_object_get(want, "crowdsec")) != NULL) {
		static const char *const ck[] = { "online", "collections",
		    NULL };

		if (!json_is_object(o))
			WERR("%s: crowdsec: expected an object", origin);
		json_object_foreach((json_t *)o, k, v) {
			found = 0;
			for (i = 0; ck[i] != NULL; i++)
				found |= strcmp(ck[i], k) == 0;
			if (!found)
				WERR("%s: crowdsec: key '%s': unknown key "
				    "(expected online, collections)", origin, k);
		}
		if ((v = json_object_get(o, "online")) != NULL &&
		    !json_is_boolean(v))
			WERR("%s: crowdsec.online: expected true or false",
			    origin);
		if ((v = json_object_get(o, "collections")) != NULL &&
		    !json_is_array(v))
			WERR("%s: crowdsec.collections: expected a list",
			    origin);
		json_array_foreach(json_object_get(o, "collections"), i, v)
			if (!json_is_string(v) || !crowdsec_name(
			    json_string_value(v)))
				WERR("%s: crowdsec.collections[%zu]: expected a "
				    "hub name like \"crowdsecurity/sshd\"",
				    origin, i);
	}
	if ((o = json_object_get(want, "ufw")) != NULL) {
		s = jstr_or(o, "default_incoming", "deny");
		if (strcmp(s, "deny") && strcmp(s, "allow") && strcmp(s,
		    "reject"))
			WERR("%s: ufw.default_incoming: expected deny, allow "
			    "or reject", origin);
		json_array_foreach(json_object_get(o, "rules"), i, v) {
			s = jstr_or(v, "action", "allow");
			if (strcmp(s, "allow") && strcmp(s, "deny") &&
			    strcmp(s, "limit") && strcmp(s, "reject"))
				WERR("%s: ufw.rules[%zu].action: expected "
				    "allow, deny, limit or reject", origin, i);
			s = jstr_or(v, "proto", "tcp");
			if (strcmp(s, "tcp") && strcmp(s, "udp") &&
			    strcmp(s, "any"))
				WERR("%s: ufw.rules[%zu].proto: expected tcp, "
				    "udp or any", origin, i);
			if (!check_name(jstr(v, "port"), ":"))
				WERR("%s: ufw.rules[%zu].port: expected a port "
				    "or range like \"60000:61000\"", origin, i);
			if (!check_name(jstr_or(v, "from", "any"), ".:/"))
				WERR("%s: ufw.rules[%zu].from: expected an "
				    "address, a CIDR or \"any\"", origin, i);
		}
	}
	if ((o = json_object_get(want, "tailscale")) != NULL) {
		static const char *const tk[] = { "login_server", "auth_key",
		    "routes", "hostname", "timeout", "expect_ip", NULL };

		if (!json_is_object(o))
			WERR("%s: tailscale: expected an object", origin);
		json_object_foreach((json_t *)o, k, v) {
			found = 0;
			for (i = 0; tk[i] != NULL; i++)
				found |= strcmp(tk[i], k) == 0;
			if (!found)
				WERR("%s: tailscale: key '%s': unknown key",
				    origin, k);
		}
		s = jstr(o, "login_server");
		if ((strncmp(s, "https://", 8) != 0 && strncmp(s, "http://",
		    7) != 0) || strpbrk(s, " \t\n'\"") != NULL)
			WERR("%s: tailscale.login_server: expected an http(s) "
			    "URL", origin);
		if ((v = json_object_get(o, "auth_key")) != NULL &&
		    (!json_is_string(v) || strpbrk(json_string_value(v),
		    "\n\r") != NULL))
			WERR("%s: tailscale.auth_key: expected a one-line "
			    "string", origin);
		if (check_list(o, "routes", origin, cause) != 0)
			WERR("%s: tailscale.routes: expected a list of CIDRs",
			    origin);
		json_array_foreach(json_object_get(o, "routes"), i, v)
			if (!json_is_string(v) || !check_name(
			    json_string_value(v), ".:/"))
				WERR("%s: tailscale.routes[%zu]: expected a "
				    "CIDR", origin, i);
		if ((s = jstr_or(o, "hostname", NULL)) != NULL && *s != '\0' &&
		    !check_name(s, ".-"))
			WERR("%s: tailscale.hostname: bad host name", origin);
		if ((s = jstr_or(o, "expect_ip", NULL)) != NULL && *s != '\0' &&
		    !check_name(s, ".:"))
			WERR("%s: tailscale.expect_ip: expected an IP address",
			    origin);
		x = json_object_get(o, "timeout");
		if (x != NULL && (!json_is_integer(x) ||
		    json_integer_value(x) < 1 ||
		    json_integer_value(x) > 600))
			WERR("%s: tailscale.timeout: expected 1..600 seconds",
			    origin);
	}
	if ((v = json_object_get(want, "vpn_ip")) != NULL &&
	    (!json_is_string(v) || !check_name(json_string_value(v), ".:")))
		WERR("%s: vpn_ip: expected an IP address", origin);
 out:
	return r;
}

/* ---------------------------------------------------------------- */
/* files */

static char *
mode_str(const json_t *v, const char *def)
{
	const char	*s = json_string_value(v);
	char		 m[8];

	if (s == NULL)
		return def ? strdup(def) : NULL;
	snprintf(m, sizeof(m), "%04lo", strtoul(s, NULL, 8));
	return strdup(m);
}

static int
is_secret(const struct plan *p, const char *content)
{
	const json_t	*v;
	size_t		 i;

	json_array_foreach(json_object_get(p->want, "secrets"), i, v)
		if (json_is_string(v) && strlen(json_string_value(v)) >= 4 &&
		    strstr(content, json_string_value(v)) != NULL)
			return 1;
	return 0;
}

/*
 * Plan one file: desired content (NULL: metadata only), mode/owner/group
 * (NULL: keep; for a new file mode defaults to 0644).
 */
static int
plan_file(struct plan *p, const char *source, const char *path,
    const char *content, const char *mode, const char *owner,
    const char *group, int secret)
{
	const json_t	*f = fact(p, "files", path);
	json_t		*op, *changes = json_array();
	struct vp_buf	 diff = VP_BUF_INIT(16u << 20);
	const char	*cur = NULL, *action;
	char		 sha[65];
	int		 r = VP_OK, create = f == NULL;

	if (f != NULL && strcmp(jstr(f, "type"), "file") != 0) {
		json_decref(changes);
		return vp_fail(p->cause, VP_ERR_REFUSED, "'%s' exists and is a "
		    "%s, not a file", path, jstr(f, "type"));
	}
	if (content != NULL) {
		vp_host_sha256(content, strlen(content), sha);
		if (create || strcmp(jstr(f, "sha256"), sha) != 0) {
			json_array_append_new(changes, json_string("content"));
			cur = create ? "" : jstr_or(f, "content", NULL);
			if (secret || is_secret(p, content))
				BUF(p, vp_buf_adds(&diff,
				    "(content hidden: secret)\n"));
			else if (strlen(content) > DIFF_MAX_BYTES ||
			    (cur != NULL && strlen(cur) > DIFF_MAX_BYTES))
				BUF(p, vp_buf_addf(&diff, "(%zu bytes, new "
				    "sha256 %s: too large to diff)\n",
				    strlen(content), sha));
			else if (cur == NULL)
				vp_buf_addf(&diff, "(current content not "
				    "available: binary or too large; new "
				    "sha256 %s)\n", sha);
			else
				r = vp_host_diff(cur, content, path, &diff);
			if (r != 0)
				goto out;
		}
	}
	if (create && mode == NULL)
		mode = "0644";
	if (!create) {
		if (mode && strcmp(jstr(f, "mode"), mode) != 0)
			json_array_append_new(changes, json_string("mode"));
		if (owner && strcmp(jstr(f, "owner"), owner) != 0)
			json_array_append_new(changes, json_string("owner"));
		if (group && strcmp(jstr(f, "group"), group) != 0)
			json_array_append_new(changes, json_string("group"));
	}
	action = create ? "create" : json_array_size(changes) ? "update" :
	    "noop";
	if (strcmp(action, "noop") == 0)
		op = op_add(p, "file", path, action, "already correct");
	else if (create)
		op = op_add(p, "file", path, action, "does not exist");
	else {
		struct vp_buf	w = VP_BUF_INIT(4096);
		json_t		*c;
		size_t		 i;

		/* "content and mode differ: mode 0644 -> 0600" */
		json_array_foreach(changes, i, c)
			BUF(p, vp_buf_addf(&w, "%s%s", i == 0 ? "" : i + 1 ==
			    json_array_size(changes) ? " and " : ", ",
			    json_string_value(c)));
		BUF(p, vp_buf_adds(&w, json_array_size(changes) == 1 ?
		    " differs" : " differ"));
		if (mode && strcmp(jstr(f, "mode"), mode) != 0)
			BUF(p, vp_buf_addf(&w, ": mode %s -> %s",
			    jstr(f, "mode"), mode));
		if (owner && strcmp(jstr(f, "owner"), owner) != 0)
			BUF(p, vp_buf_addf(&w, ": owner %s -> %s",
			    jstr(f, "owner"), owner));
		op = op_add(p, "file", path, action, "%s", w.buf);
		vp_buf_release(&w);
	}
	json_object_set_new(op, "source", json_string(source));
	if (strcmp(action, "noop") != 0) {
		json_object_set(op, "changes", changes);
		if (mode)
			json_object_set_new(op, "mode", json_string(mode));
		if (owner)
			json_object_set_new(op, "owner", json_string(owner));
		if (group)
			json_object_set_new(op, "group", json_string(group));
		if (content != NULL && (create || strcmp(jstr(f, "sha256"),
		    sha) != 0)) {
			json_object_set_new(op, "content", json_string(content));
			json_object_set_new(op, "before", json_string(create ?
			    "absent" : jstr(f, "sha256")));
			json_object_set_new(op, "diff", json_string(diff.buf));
		}
		if (secret)
			json_object_set_new(op, "secret", json_true());
	}
 out:
	json_decref(changes);
	vp_buf_release_secure(&diff);
	return r;
}

static int
plan_dir(struct plan *p, const char *path, const char *mode,
    const char *owner, const char *group)
{
	const json_t	*f = fact(p, "files", path);
	json_t		*op, *changes;

	if (f == NULL) {
		op = op_add(p, "directory", path, "create", "does not exist");
		json_object_set_new(op, "mode", json_string(mode ? mode :
		    "0755"));
		if (owner)
			json_object_set_new(op, "owner", json_string(owner));
		if (group)
			json_object_set_new(op, "group", json_string(group));
		return VP_OK;
	}
	if (strcmp(jstr(f, "type"), "directory") != 0)
		return vp_fail(p->cause, VP_ERR_REFUSED, "'%s' exists and is a "
		    "%s, not a directory", path, jstr(f, "type"));
	changes = json_array();
	if (mode && strcmp(jstr(f, "mode"), mode) != 0)
		json_array_append_new(changes, json_string("mode"));
	if (owner && strcmp(jstr(f, "owner"), owner) != 0)
		json_array_append_new(changes, json_string("owner"));
	if (group && strcmp(jstr(f, "group"), group) != 0)
		json_array_append_new(changes, json_string("group"));
	if (json_array_size(changes) == 0) {
		op_add(p, "directory", path, "noop", "already correct");
		json_decref(changes);
		return VP_OK;
	}
	op = op_add(p, "directory", path, "update", "%s%s%s differ%s",
	    json_string_value(json_array_get(changes, 0)),
	    json_array_size(changes) > 1 ? ", " : "",
	    json_array_size(changes) > 1 ? json_string_value(
	    json_array_get(changes, 1)) : "",
	    json_array_size(changes) == 1 ? "s" : "");
	json_object_set_new(op, "changes", changes);
	if (mode)
		json_object_set_new(op, "mode", json_string(mode));
	if (owner)
		json_object_set_new(op, "owner", json_string(owner));
	if (group)
		json_object_set_new(op, "group", json_string(group));
	return VP_OK;
}

/* ---------------------------------------------------------------- */
/* line-in-file, /etc/hosts */

struct text {
	char	**l;	/* lines without '\n' */
	size_t	  n;
};

static int
text_split(const char *s, struct text *t)
{
	const char	*e;

	t->l = NULL;
	t->n = 0;
	while (*s != '\0') {
		char **nl = realloc(t->l, (t->n + 1) * sizeof(*t->l));

		if (nl == NULL)
			return VP_ERR_NOMEM;
		t->l = nl;
		e = strchr(s, '\n');
		if ((t->l[t->n] = strndup(s, e ? (size_t)(e - s) :
		    strlen(s))) == NULL)
			return VP_ERR_NOMEM;
		t->n++;
		s = e ? e + 1 : s + strlen(s);
	}
	return VP_OK;
}

static void
text_free(struct text *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->l[i]);
	free(t->l);
	t->l = NULL;
	t->n = 0;
}

static char *
text_join(const struct text *t)
{
	struct vp_buf	b = VP_BUF_INIT(64u << 20);
	size_t		i;

	for (i = 0; i < t->n; i++)
		if (vp_buf_adds(&b, t->l[i]) != 0 || vp_buf_addc(&b, '\n') != 0)
			return NULL;
	return vp_buf_detach(&b, NULL);
}

/*
 * Apply one line rule to t.  Returns the info action ("noop", "add",
 * "replace", "remove") via *action.
 */
static int
line_apply(struct text *t, const char *line, const char *regexp,
    int present, const char **action)
{
	regex_t	 re;
	size_t	 i, last = (size_t)-1, exact = (size_t)-1, o;
	int	 match;

	if (regexp && regcomp(&re, regexp, REG_EXTENDED | REG_NOSUB) != 0)
		return VP_ERR_INVALID;
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->l[i], line) == 0)
			exact = i;
		if (regexp && regexec(&re, t->l[i], 0, NULL, 0) == 0)
			last = i;
	}
	*action = "noop";
	if (present) {
		if (last != (size_t)-1) {
			if (strcmp(t->l[last], line) != 0) {
				char *d = strdup(line);

				if (d == NULL)
					goto nomem;
				free(t->l[last]);
				t->l[last] = d;
				*action = "replace";
			}
		} else if (exact == (size_t)-1) {
			char **nl = realloc(t->l, (t->n + 1) * sizeof(*t->l));

			if (nl == NULL)
				goto nomem;
			t->l = nl;
			if ((t->l[t->n] = strdup(line)) == NULL)
				goto nomem;
			t->n++;
			*action = "add";
		}
	} else {
		for (i = o = 0; i < t->n; i++) {
			match = regexp ? regexec(&re, t->l[i], 0, NULL, 0) == 0 :
			    strcmp(t->l[i], line) == 0;
			if (match) {
				free(t->l[i]);
				*action = "remove";
			} else
				t->l[o++] = t->l[i];
		}
		t->n = o;
	}
	if (regexp)
		regfree(&re);
	return VP_OK;
 nomem:
	if (regexp)
		regfree(&re);
	return VP_ERR_NOMEM;
}

/* All rules (lines, then hosts entries) for one path, as one file op. */
static int
plan_lines_for(struct plan *p, const char *path)
{
	const json_t	*f = fact(p, "files", path), *v, *x;
	struct text	 t = { NULL, 0 };
	struct vp_buf	 re = VP_BUF_INIT(4096), ln = VP_BUF_INIT(4096);
	const char	*action, *mode = NULL, *owner = NULL, *group = NULL;
	char		*content = NULL;
	size_t		 i, j;
	int		 r = VP_OK, create = 0;

	if (f != NULL && json_object_get(f, "content") == NULL)
		return vp_fail(p->cause, VP_ERR_REFUSED, "'%s': cannot edit "
		    "lines (binary, too large or not a file)", path);
	if ((r = text_split(f ? jstr(f, "content") : "", &t)) != 0)
		goto out;
	json_array_foreach(json_object_get(p->want, "lines"), i, v) {
		if (strcmp(jstr(v, "path"), path) != 0)
			continue;
		if (f == NULL && !jbool_or(v, "create", 0)) {
			r = vp_fail(p->cause, VP_ERR_REFUSED, "'%s' does not "
			    "exist (set \"create\": true to create it)", path);
			goto out;
		}
		create |= f == NULL;
		mode = jstr_or(v, "mode", mode);
		owner = jstr_or(v, "owner", owner);
		group = jstr_or(v, "group", group);
		if ((r = line_apply(&t, jstr(v, "line"), jstr_or(v, "regexp",
		    NULL), strcmp(jstr_or(v, "state", "present"), "present") ==
		    0, &action)) != 0)
			goto out;
		op_add(p, "line", path, action, "%s", jstr(v, "line"));
		json_object_set_new(json_array_get(p->ops,
		    json_array_size(p->ops) - 1), "info", json_true());
	}
	if (strcmp(path, host_hosts_file(p->want)) == 0)
		json_array_foreach(json_object_get(p->want, "hosts"), i, v) {
			vp_buf_reset(&re);
			vp_buf_reset(&ln);
			BUF(p, vp_buf_adds(&re, "^"));
			for (x = json_object_get(v, "ip"), j = 0;
			    json_string_value(x)[j]; j++) {
				char c = json_string_value(x)[j];

				if (c == '.')
					BUF(p, vp_buf_adds(&re, "\\."));
				else
					BUF(p, vp_buf_addc(&re, c));
			}
			BUF(p, vp_buf_adds(&re, "[[:space:]]"));
			BUF(p, vp_buf_adds(&ln, jstr(v, "ip")));
			json_array_foreach(json_object_get(v, "names"), j, x)
				BUF(p, vp_buf_addf(&ln, " %s",
				    json_string_value(x)));
			if ((r = line_apply(&t, ln.buf, re.buf, 1, &action)) !=
			    0)
				goto out;
			op_add(p, "hosts", jstr(v, "ip"), action, "%s", ln.buf);
			json_object_set_new(json_array_get(p->ops,
			    json_array_size(p->ops) - 1), "info", json_true());
		}
	if ((content = text_join(&t)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if (f == NULL && !create && t.n == 0)
		goto out;
	r = plan_file(p, "lines", path, content, create ? (mode ? mode :
	    "0644") : NULL, owner, group, 0);
 out:
	if (r == VP_ERR_NOMEM)
		vp_fail(p->cause, r, "out of memory");
	text_free(&t);
	free(content);
	vp_buf_release(&re);
	vp_buf_release(&ln);
	return r;
}

static int
plan_lines(struct plan *p)
{
	const json_t	*v, *w;
	size_t		 i, j;
	int		 r, seen;

	json_array_foreach(json_object_get(p->want, "lines"), i, v) {
		seen = 0;
		for (j = 0; j < i && !seen; j++) {
			w = json_array_get(json_object_get(p->want, "lines"), j);
			seen = strcmp(jstr(w, "path"), jstr(v, "path")) == 0;
		}
		if (!seen && (r = plan_lines_for(p, jstr(v, "path"))) != 0)
			return r;
	}
	if (json_array_size(json_object_get(p->want, "hosts")) > 0) {
		seen = 0;
		json_array_foreach(json_object_get(p->want, "lines"), i, v)
			seen |= strcmp(jstr(v, "path"),
			    host_hosts_file(p->want)) == 0;
		if (!seen && (r = plan_lines_for(p,
		    host_hosts_file(p->want))) != 0)
			return r;
	}
	return VP_OK;
}

/* ---------------------------------------------------------------- */
/* apt repositories, packages, groups, users */

/*
 * Each repository: its key in /etc/apt/keyrings/NAME.asc and a deb822
 * source /etc/apt/sources.list.d/NAME.sources with Signed-By; when
 * either changes, an "apt-update" op runs before any install.
 */
static int
plan_apt_repos(struct plan *p)
{
	const json_t	*v;
	struct vp_buf	 src = VP_BUF_INIT(64u << 10);
	char		*key = NULL, *list = NULL;
	size_t		 i, before;
	int		 r = VP_OK, changed = 0;

	json_array_foreach(json_object_get(p->want, "apt_repos"), i, v) {
		free(key);
		free(list);
		list = NULL;
		if (asprintf(&key, "/etc/apt/keyrings/%s.asc", jstr(v,
		    "name")) < 0 || asprintf(&list,
		    "/etc/apt/sources.list.d/%s.sources", jstr(v, "name")) < 0) {
			key = list = NULL;
			r = vp_fail(p->cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
		vp_buf_reset(&src);
		BUF(p, vp_buf_addf(&src, "# managed by vpai: do not edit\n"
		    "Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\n",
		    jstr(v, "uri"), jstr(v, "suite"), jstr_or(v, "components",
		    "main")));
		if (json_object_get(v, "architectures") != NULL)
			BUF(p, vp_buf_addf(&src, "Architectures: %s\n",
			    jstr(v, "architectures")));
		BUF(p, vp_buf_addf(&src, "Signed-By: %s\n", key));
		before = vp_host_plan_changes(p->ops);
		if ((r = plan_file(p, "apt_repos", key, jstr(v, "key"), "0644",
		    "root", "root", 0)) != 0 ||
		    (r = plan_file(p, "apt_repos", list, src.buf, "0644",
		    "root", "root", 0)) != 0)
			goto out;
		changed |= vp_host_plan_changes(p->ops) > before;
	}
	if (changed)
		op_add(p, "apt-update", "package lists", "update", "a "
		    "repository changes");
 out:
	free(key);
	free(list);
	vp_buf_release(&src);
	return r;
}

/*
 * crowdsec.online false: the marker file (a comment only) must be there
 * before the package's postinst runs, so it is planned before packages.
 * An existing file may hold the Central API login and password: its
 * content is never gathered (query "-") and the diff is hidden.
 */
static int
plan_crowdsec_pre(struct plan *p)
{
	const json_t	*o = json_object_get(p->want, "crowdsec");
	int		 r;

	if (o == NULL || jbool_or(o, "online", 1))
		return VP_OK;
	if ((r = plan_dir(p, CS_DIR, "0755", "root", "root")) != 0)
		return r;
	return plan_file(p, "crowdsec", CS_CAPI, CS_OFFLINE, "0600", "root",
	    "root", fact(p, "files", CS_CAPI) != NULL);
}

/*
 * crowdsec.collections: enabled when the fact (the target of
 * CS_COLLECTIONS/NAME.yaml, "file" for a local one) ends with
 * "/collections/VENDOR/NAME.yaml".  Otherwise `cscli collections install`
 * (which needs the hub: hub-cdn.crowdsec.net).  The op's "path" lets a
 * service restart_on CS_COLLECTIONS "/".
 */
static int
plan_crowdsec(struct plan *p)
{
	const json_t	*v, *f;
	const char	*n, *t;
	char		*suf = NULL, *path = NULL;
	size_t		 i, tl, sl;
	json_t		*op;
	int		 r = VP_OK;

	json_array_foreach(json_object_get(json_object_get(p->want,
	    "crowdsec"), "collections"), i, v) {
		n = json_string_value(v);
		free(suf);
		free(path);
		if (asprintf(&suf, "/collections/%s.yaml", n) < 0) {
			suf = path = NULL;
			r = vp_fail(p->cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (asprintf(&path, "%s/%s.yaml", CS_COLLECTIONS,
		    strchr(n, '/') + 1) < 0) {
			path = NULL;
			r = vp_fail(p->cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
		f = fact(p, "crowdsec_collections", n);
		t = json_string_value(f);
		tl = t ? strlen(t) : 0;
		sl = strlen(suf);
		if (t != NULL && (strcmp(t, "file") == 0 || (tl >= sl &&
		    strcmp(t + tl - sl, suf) == 0))) {
			op_add(p, "crowdsec-collection", n, "noop", "enabled "
			    "(%s)", strcmp(t, "file") == 0 ? "local" : t);
			continue;
		}
		op = op_add(p, "crowdsec-collection", n, "install", "%s",
		    t == NULL ? "not enabled" : "links elsewhere");
		json_object_set_new(op, "path", json_string(path));
	}
 out:
	free(suf);
	free(path);
	return r;
}

static int
plan_packages(struct plan *p)
{
	const json_t	*o = json_object_get(p->want, "packages"), *v, *f;
	const char	*n, *st;
	json_t		*op;
	size_t		 i;

	json_array_foreach(json_object_get(o, "present"), i, v) {
		n = json_string_value(v);
		f = fact(p, "packages", n);
		st = jstr(f, "status");
		if (strcmp(st, "ii") == 0)
			op_add(p, "apt", n, "noop", "installed (%s)",
			    jstr(f, "version"));
		else {
			op = op_add(p, "apt", n, "install", "%s", f ?
			    "not fully installed" : "not installed");
			(void)op;
		}
	}
	json_array_foreach(json_object_get(o, "absent"), i, v) {
		n = json_string_value(v);
		f = fact(p, "packages", n);
		st = jstr(f, "status");
		if (f == NULL || st[1] == 'n' || st[1] == 'c')
			op_add(p, "apt", n, "noop", "not installed");
		else
			op_add(p, "apt", n, "remove", "installed (%s)",
			    jstr(f, "version"));
	}
	return VP_OK;
}

static int
plan_groups(struct plan *p)
{
	const json_t	*v, *f;
	json_t		*op;
	size_t		 i;

	json_array_foreach(json_object_get(p->want, "groups"), i, v) {
		f = fact(p, "groups", jstr(v, "name"));
		if (f != NULL) {
			if (json_object_get(v, "gid") != NULL &&
			    json_integer_value(json_object_get(v, "gid")) !=
			    json_integer_value(json_object_get(f, "gid")))
				return vp_fail(p->cause, VP_ERR_REFUSED,
				    "group '%s' exists with gid %lld, not "
				    "%lld: vpai does not renumber groups",
				    jstr(v, "name"), json_integer_value(
				    json_object_get(f, "gid")),
				    json_integer_value(json_object_get(v,
				    "gid")));
			op_add(p, "group", jstr(v, "name"), "noop",
			    "exists (gid %lld)", json_integer_value(
			    json_object_get(f, "gid")));
			continue;
		}
		op = op_add(p, "group", jstr(v, "name"), "create",
		    "does not exist");
		if (json_object_get(v, "gid"))
			json_object_set(op, "gid", json_object_get(v, "gid"));
		if (jbool_or(v, "system", 0))
			json_object_set_new(op, "system", json_true());
	}
	return VP_OK;
}

static int
has_word(const json_t *arr, const char *w)
{
	const json_t	*v;
	size_t		 i;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), w) == 0)
			return 1;
	return 0;
}

static int
plan_users(struct plan *p)
{
	const json_t	*v, *f, *g;
	json_t		*op, *add, *changes;
	size_t		 i, j;

	json_array_foreach(json_object_get(p->want, "users"), i, v) {
		f = fact(p, "users", jstr(v, "name"));
		if (f == NULL) {
			op = op_add(p, "user", jstr(v, "name"), "create",
			    "does not exist");
			if (json_object_get(v, "groups"))
				json_object_set(op, "groups", json_object_get(v,
				    "groups"));
			if (json_object_get(v, "home"))
				json_object_set(op, "home", json_object_get(v,
				    "home"));
			if (json_object_get(v, "shell"))
				json_object_set(op, "shell", json_object_get(v,
				    "shell"));
			if (json_object_get(v, "uid"))
				json_object_set(op, "uid", json_object_get(v,
				    "uid"));
			if (jbool_or(v, "system", 0))
				json_object_set_new(op, "system", json_true());
			continue;
		}
		changes = json_array();
		add = json_array();
		if (json_object_get(v, "shell") && strcmp(jstr(v, "shell"),
		    jstr(f, "shell")) != 0)
			json_array_append_new(changes, json_string("shell"));
		if (json_object_get(v, "home") && strcmp(jstr(v, "home"),
		    jstr(f, "home")) != 0)
			json_array_append_new(changes, json_string("home"));
		json_array_foreach(json_object_get(v, "groups"), j, g)
			if (!has_word(json_object_get(f, "groups"),
			    json_string_value(g)))
				json_array_append_new(add, json_string(
				    json_string_value(g)));
		if (json_array_size(add) > 0)
			json_array_append_new(changes, json_string("groups"));
		if (json_array_size(changes) == 0) {
			op_add(p, "user", jstr(v, "name"), "noop", "exists "
			    "(uid %lld)", json_integer_value(json_object_get(f,
			    "uid")));
			json_decref(changes);
			json_decref(add);
			continue;
		}
		op = op_add(p, "user", jstr(v, "name"), "update", "%s differ",
		    json_string_value(json_array_get(changes, 0)));
		json_object_set_new(op, "changes", changes);
		if (json_array_size(add) > 0)
			json_object_set(op, "groups", add);
		json_decref(add);
		if (json_object_get(v, "shell"))
			json_object_set(op, "shell", json_object_get(v,
			    "shell"));
		if (json_object_get(v, "home"))
			json_object_set(op, "home", json_object_get(v, "home"));
	}
	return VP_OK;
}

/* ---------------------------------------------------------------- */
/* directories, files, sysctl, authorized keys */

static int
plan_dirs(struct plan *p)
{
	const json_t	*v;
	char		*m;
	size_t		 i;
	int		 r;

	json_array_foreach(json_object_get(p->want, "directories"), i, v) {
		m = mode_str(json_object_get(v, "mode"), NULL);
		r = plan_dir(p, jstr(v, "path"), m, jstr_or(v, "owner", NULL),
		    jstr_or(v, "group", NULL));
		free(m);
		if (r != 0)
			return r;
	}
	return VP_OK;
}

static int
plan_files(struct plan *p)
{
	const json_t	*v, *w;
	char		*m;
	size_t		 i, j;
	int		 r;

	json_array_foreach(json_object_get(p->want, "files"), i, v) {
		json_array_foreach(json_object_get(p->want, "lines"), j, w)
			if (strcmp(jstr(w, "path"), jstr(v, "path")) == 0)
				return vp_fail(p->cause, VP_ERR_INVALID,
				    "'%s' is both a managed file and edited "
				    "by lines", jstr(v, "path"));
		m = mode_str(json_object_get(v, "mode"), NULL);
		r = plan_file(p, "file", jstr(v, "path"), jstr(v, "content"),
		    m, jstr_or(v, "owner", NULL), jstr_or(v, "group", NULL),
		    jbool_or(v, "secret", 0));
		free(m);
		if (r != 0)
			return r;
	}
	return plan_lines(p);
}

static int
keycmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
plan_sysctl(struct plan *p)
{
	const json_t	*o = json_object_get(p->want, "sysctl"), *v;
	struct vp_buf	 c = VP_BUF_INIT(1u << 20);
	const char	*k, **keys = NULL, *live;
	json_t		*op;
	size_t		 n = 0, i;
	int		 r;

	if (o == NULL)
		return VP_OK;
	if ((keys = calloc(json_object_size(json_object_get(o, "values")) + 1,
	    sizeof(*keys))) == NULL)
		return vp_fail(p->cause, VP_ERR_NOMEM, "out of memory");
	json_object_foreach((json_t *)json_object_get(o, "values"), k, v)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), keycmp);
	BUF(p, vp_buf_adds(&c, "# managed by vpai: do not edit\n"));
	for (i = 0; i < n; i++)
		BUF(p, vp_buf_addf(&c, "%s = %s\n", keys[i],
		    jstr(json_object_get(o, "values"), keys[i])));
	r = plan_file(p, "sysctl", jstr(o, "file"), c.buf, "0644", "root",
	    "root", 0);
	for (i = 0; r == 0 && i < n; i++) {
		v = json_object_get(json_object_get(o, "values"), keys[i]);
		live = json_string_value(fact(p, "sysctl", keys[i]));
		if (!jbool_or(o, "live", 1))
			op_add(p, "sysctl", keys[i], "noop", "persisted only "
			    "(live: false)");
		else if (live != NULL && strcmp(live, json_string_value(v)) ==
		    0)
			op_add(p, "sysctl", keys[i], "noop", "live value is %s",
			    live);
		else if (json_is_true(fact(p, "sysctl_ro", keys[i]))) {
			/* said loudly, not an error: the file applies at
			 * boot on a host that allows it */
			op = op_add(p, "sysctl", keys[i], "noop", "live value "
			    "is %s; cannot be set here (read-only /proc/sys: "
			    "a container?), persisted only", live ? live :
			    "unknown");
			json_object_set_new(op, "warn", json_true());
		} else {
			op = op_add(p, "sysctl", keys[i], "set", "live value "
			    "is %s", live ? live : "unknown");
			json_object_set_new(op, "value", json_string(
			    json_string_value(v)));
		}
	}
	free(keys);
	vp_buf_release(&c);
	return r;
}

/* "type base64" of a key line, to compare keys whatever their comment. */
static size_t
key_core(const char *s)
{
	const char *sp = strchr(s, ' ');

	if (sp == NULL)
		return strlen(s);
	sp += strcspn(sp + 1, " ") + 1;
	return (size_t)(sp - s);
}

static int
plan_akeys(struct plan *p)
{
	const json_t	*v, *w, *fa, *fu, *ff;
	struct text	 t = { NULL, 0 };
	const char	*user, *home, *key;
	char		*content = NULL, *path = NULL, *dir = NULL;
	size_t		 i, j, l, kc;
	int		 r = VP_OK, seen, have;

	json_array_foreach(json_object_get(p->want, "authorized_keys"), i, v) {
		user = jstr(v, "user");
		seen = 0;
		for (j = 0; j < i && !seen; j++) {
			w = json_array_get(json_object_get(p->want,
			    "authorized_keys"), j);
			seen = strcmp(jstr(w, "user"), user) == 0;
		}
		if (seen)
			continue;
		fa = fact(p, "authorized_keys", user);
		fu = fact(p, "users", user);
		home = fa ? jstr(fa, "home") : fu ? jstr(fu, "home") : NULL;
		if (home == NULL)
			json_array_foreach(json_object_get(p->want, "users"),
			    j, w)
				if (strcmp(jstr(w, "name"), user) == 0)
					home = jstr_or(w, "home", NULL);
		if (home == NULL && strcmp(user, "root") == 0)
			home = "/root";
		if (home == NULL) {
			if ((dir = NULL, asprintf(&dir, "/home/%s", user)) < 0)
				goto nomem;
			home = dir;
		}
		ff = json_object_get(fa, "file");
		if (ff != NULL && json_object_get(ff, "content") == NULL) {
			r = vp_fail(p->cause, VP_ERR_REFUSED, "'%s/.ssh/"
			    "authorized_keys' is not a readable text file",
			    home);
			goto out;
		}
		if ((r = text_split(ff ? jstr(ff, "content") : "", &t)) != 0)
			goto nomem;
		json_array_foreach(json_object_get(p->want,
		    "authorized_keys"), j, w) {
			if (strcmp(jstr(w, "user"), user) != 0)
				continue;
			key = jstr(w, "key");
			kc = key_core(key);
			have = 0;
			for (l = 0; l < t.n && !have; l++)
				have = key_core(t.l[l]) == kc &&
				    strncmp(t.l[l], key, kc) == 0;
			if (!have) {
				char **nl = realloc(t.l, (t.n + 1) *
				    sizeof(*t.l));

				if (nl == NULL)
					goto nomem;
				t.l = nl;
				if ((t.l[t.n] = strdup(key)) == NULL)
					goto nomem;
				t.n++;
			}
			op_add(p, "authorized_key", user, have ? "noop" : "add",
			    "%.*s...", (int)(kc > 40 ? 40 : kc), key);
			json_object_set_new(json_array_get(p->ops,
			    json_array_size(p->ops) - 1), "info", json_true());
		}
		free(path);
		path = NULL;
		if (asprintf(&path, "%s/.ssh", home) < 0)
			goto nomem;
		if (json_object_get(fa, "dir") != NULL)
			json_object_set(json_object_get(p->facts, "files"),
			    path, json_object_get(fa, "dir"));
		if ((r = plan_dir(p, path, "0700", user, NULL)) != 0)
			goto out;
		free(path);
		if (asprintf(&path, "%s/.ssh/authorized_keys", home) < 0) {
			path = NULL;
			goto nomem;
		}
		if ((content = text_join(&t)) == NULL)
			goto nomem;
		/* the file fact lives under authorized_keys: copy it over */
		if (ff != NULL)
			json_object_set(json_object_get(p->facts, "files"),
			    path, (json_t *)ff);
		if ((r = plan_file(p, "authorized_keys", path, content, "0600",
		    user, NULL, 0)) != 0)
			goto out;
		free(content);
		content = NULL;
		free(dir);
		dir = NULL;
		text_free(&t);
	}
	goto out;
 nomem:
	r = vp_fail(p->cause, VP_ERR_NOMEM, "out of memory");
 out:
	text_free(&t);
	free(content);
	free(path);
	free(dir);
	return r;
}

/* ---------------------------------------------------------------- */
/* cron, timezone, hostname, services, ufw */

static int
plan_cron(struct plan *p)
{
	const json_t	*v, *w, *f;
	struct text	 t = { NULL, 0 };
	struct vp_buf	 mark = VP_BUF_INIT(4096), job = VP_BUF_INIT(8192);
	const char	*user, *action;
	char		*content = NULL;
	size_t		 i, j, l;
	json_t		*op;
	int		 r = VP_OK, seen, found;

	json_array_foreach(json_object_get(p->want, "cron"), i, v) {
		user = jstr_or(v, "user", "root");
		seen = 0;
		for (j = 0; j < i && !seen; j++) {
			w = json_array_get(json_object_get(p->want, "cron"), j);
			seen = strcmp(jstr_or(w, "user", "root"), user) == 0;
		}
		if (seen)
			continue;
		f = fact(p, "crontabs", user);
		if ((r = text_split(json_is_string(f) ? json_string_value(f) :
		    "", &t)) != 0)
			goto out;
		json_array_foreach(json_object_get(p->want, "cron"), j, w) {
			if (strcmp(jstr_or(w, "user", "root"), user) != 0)
				continue;
			vp_buf_reset(&mark);
			vp_buf_reset(&job);
			BUF(p, vp_buf_addf(&mark, "#vpai: %s",
			    jstr(w, "name")));
			BUF(p, vp_buf_addf(&job, "%s %s", jstr(w, "schedule"),
			    jstr(w, "job")));
			found = 0;
			action = "add";
			for (l = 0; l < t.n && !found; l++) {
				if (strcmp(t.l[l], mark.buf) != 0)
					continue;
				found = 1;
				if (l + 1 < t.n && strcmp(t.l[l + 1],
				    job.buf) == 0)
					action = "noop";
				else if (l + 1 < t.n && t.l[l + 1][0] != '#') {
					char *d = strdup(job.buf);

					if (d == NULL) {
						r = VP_ERR_NOMEM;
						goto out;
					}
					free(t.l[l + 1]);
					t.l[l + 1] = d;
					action = "update";
				} else
					found = 0;
			}
			if (!found) {
				char **nl = realloc(t.l, (t.n + 2) *
				    sizeof(*t.l));

				if (nl == NULL) {
					r = VP_ERR_NOMEM;
					goto out;
				}
				t.l = nl;
				t.l[t.n] = strdup(mark.buf);
				t.l[t.n + 1] = strdup(job.buf);
				if (t.l[t.n] == NULL || t.l[t.n + 1] == NULL) {
					free(t.l[t.n]);
					free(t.l[t.n + 1]);
					r = VP_ERR_NOMEM;
					goto out;
				}
				t.n += 2;
			}
			op_add(p, "cron", jstr(w, "name"), action, "%s: %s",
			    user, job.buf);
			json_object_set_new(json_array_get(p->ops,
			    json_array_size(p->ops) - 1), "info", json_true());
		}
		if ((content = text_join(&t)) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		if (json_is_string(f) && strcmp(json_string_value(f),
		    content) == 0)
			op_add(p, "crontab", user, "noop", "already correct");
		else {
			struct vp_buf d = VP_BUF_INIT(16u << 20);

			vp_host_diff(json_is_string(f) ? json_string_value(f) :
			    "", content, "crontab", &d);
			op = op_add(p, "crontab", user, "install", "%s",
			    json_is_string(f) ? "entries differ" :
			    "no crontab");
			json_object_set_new(op, "content", json_string(content));
			json_object_set_new(op, "diff", json_string(d.buf));
			vp_buf_release(&d);
		}
		free(content);
		content = NULL;
		text_free(&t);
	}
 out:
	if (r == VP_ERR_NOMEM)
		vp_fail(p->cause, r, "out of memory");
	text_free(&t);
	free(content);
	vp_buf_release(&mark);
	vp_buf_release(&job);
	return r;
}

static int
plan_tz_host(struct plan *p)
{
	const char	*tz = jstr_or(p->want, "timezone", NULL);
	const char	*hn = jstr_or(p->want, "hostname", NULL);
	const json_t	*f;
	const char	*cur;
	char		*link = NULL;
	json_t		*op;

	if (tz != NULL) {
		f = json_object_get(p->facts, "timezone");
		if (asprintf(&link, "/usr/share/zoneinfo/%s", tz) < 0)
			return vp_fail(p->cause, VP_ERR_NOMEM, "out of memory");
		/* "../usr/share/zoneinfo/X" (Debian's relative link) too */
		cur = jstr(f, "link");
		while (strncmp(cur, "../", 3) == 0)
			cur += 3;
		if (*cur == '/')
			cur++;
		if (strcmp(jstr(f, "file"), tz) == 0 && strcmp(cur, link + 1) ==
		    0)
			op_add(p, "timezone", tz, "noop", "already set");
		else {
			op = op_add(p, "timezone", tz, "set", "is %s",
			    *jstr(f, "file") ? jstr(f, "file") : "unset");
			json_object_set_new(op, "link", json_string(link));
		}
		free(link);
	}
	if (hn != NULL) {
		f = json_object_get(p->facts, "hostname");
		if (strcmp(jstr(f, "file"), hn) == 0 && strcmp(jstr(f, "live"),
		    hn) == 0)
			op_add(p, "hostname", hn, "noop", "already set");
		else
			op_add(p, "hostname", hn, "set", "is %s (live %s)",
			    *jstr(f, "file") ? jstr(f, "file") : "unset",
			    jstr(f, "live"));
	}
	return VP_OK;
}

/*
 * "fr_FR.UTF-8" -> "fr_FR.utf8", as `locale -a` lists it (the codeset
 * lowercased without '-').  Returns a new string or NULL.
 */
static char *
locale_norm(const char *name)
{
	char		*d = malloc(strlen(name) + 1), *o = d;
	const char	*s = name;
	int		 cs = 0;

	if (d == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		if (*s == '.')
			cs = 1;
		else if (*s == '@')
			cs = 0;
		if (cs && *s == '-')
			continue;
		*o++ = cs ? (char)tolower((unsigned char)*s) : *s;
	}
	*o = '\0';
	return d;
}

/*
 * locale: generated (listed by `locale -a`, and an uncommented line in
 * /etc/locale.gen so that a later locale-gen keeps it) and LANG in
 * /etc/default/locale.  C, POSIX and C.UTF-8 are built in: only LANG.
 */
static int
plan_locale(struct plan *p)
{
	const char	*name = jstr_or(p->want, "locale", NULL);
	const json_t	*f, *v;
	char		*norm, *vn;
	size_t		 i;
	int		 builtin, avail = 0, gen, lang;
	json_t		*op;

	if (name == NULL)
		return VP_OK;
	f = json_object_get(p->facts, "locale");
	builtin = strcmp(name, "C") == 0 || strcmp(name, "POSIX") == 0 ||
	    strcmp(name, "C.UTF-8") == 0 || strcmp(name, "C.utf8") == 0;
	if ((norm = locale_norm(name)) == NULL)
		return vp_fail(p->cause, VP_ERR_NOMEM, "out of memory");
	json_array_foreach(json_object_get(f, "available"), i, v) {
		if ((vn = locale_norm(json_string_value(v) ?
		    json_string_value(v) : "")) == NULL) {
			free(norm);
			return vp_fail(p->cause, VP_ERR_NOMEM, "out of memory");
		}
		avail |= strcmp(vn, norm) == 0;
		free(vn);
	}
	free(norm);
	gen = !builtin && (!avail || !jbool_or(f, "gen", 0));
	lang = strcmp(jstr(f, "lang"), name) != 0;
	if (!gen && !lang) {
		op_add(p, "locale", name, "noop", "generated, LANG=%s", name);
		return VP_OK;
	}
	op = op_add(p, "locale", name, gen && lang ? "generate+set" : gen ?
	    "generate" : "set", "%s%s%s%s", gen ? (avail ? "not in "
	    "/etc/locale.gen" : "not generated") : "", gen && lang ? ", " : "",
	    lang ? "LANG is " : "", lang ? (*jstr(f, "lang") ? jstr(f,
	    "lang") : "unset") : "");
	json_object_set_new(op, "generate", json_boolean(gen));
	json_object_set_new(op, "lang", json_boolean(lang));
	return VP_OK;
}

/* ---------------------------------------------------------------- */
/* ntp: systemd-timesyncd, unless another time daemon keeps the clock */

/* Debian 12: each Provides/Conflicts time-daemon, as systemd-timesyncd. */
const char *const host_time_daemons[] = { "chrony", "ntpsec", "ntp",
    "openntpd", NULL };

json_t *
host_want_ntp(const json_t *want, const json_t *facts, const char **other)
{
	const json_t	*n = json_object_get(want, "ntp"), *f;
	const char	*st;
	json_t		*w, *o;
	size_t		 i;

	*other = NULL;
	if (n == NULL)
		return json_incref((json_t *)want);
	for (i = 0; facts != NULL && host_time_daemons[i] != NULL; i++) {
		f = json_object_get(json_object_get(facts, "packages"),
		    host_time_daemons[i]);
		st = jstr(f, "status");
		if (f != NULL && strlen(st) >= 2 && st[1] != 'n' &&
		    st[1] != 'c') {
			*other = host_time_daemons[i];
			break;
		}
	}
	if ((w = json_deep_copy(want)) == NULL)
		return NULL;
	json_object_del(w, "ntp");
	if (*other != NULL)
		return w;
	if ((o = json_object_get(w, "packages")) == NULL) {
		o = json_object();
		json_object_set_new(w, "packages", o);
	}
	if (json_object_get(o, "present") == NULL)
		json_object_set_new(o, "present", json_array());
	json_array_append_new(json_object_get(o, "present"),
	    json_string("systemd-timesyncd"));
	if (json_object_get(w, "directories") == NULL)
		json_object_set_new(w, "directories", json_array());
	json_array_append_new(json_object_get(w, "directories"), json_pack(
	    "{s:s,s:s}", "path", "/etc/systemd/timesyncd.conf.d", "mode",
	    "0755"));
	if (json_object_get(w, "files") == NULL)
		json_object_set_new(w, "files", json_array());
	json_array_append_new(json_object_get(w, "files"), json_pack(
	    "{s:s,s:s,s:O}", "path", HOST_NTP_FILE, "mode", "0644", "content",
	    json_object_get(n, "content")));
	if (json_object_get(w, "services") == NULL)
		json_object_set_new(w, "services", json_array());
	json_array_append_new(json_object_get(w, "services"), json_pack(
	    "{s:s,s:s,s:[s]}", "name", "systemd-timesyncd", "needs", "clock",
	    "restart_on", HOST_NTP_FILE));
	return w;
}

/*
 * Does any op change path?  A path ending with "/" matches everything
 * under it.  File and directory ops change their id, crowdsec-collection
 * ops their "path".
 */
static int
path_changes(const struct plan *p, const char *path)
{
	const json_t	*o;
	const char	*k, *at;
	size_t		 i, n = strlen(path);
	int		 dir = n > 1 && path[n - 1] == '/';

	json_array_foreach(p->ops, i, o) {
		k = jstr(o, "op");
		if (strcmp(k, "file") == 0 || strcmp(k, "directory") == 0)
			at = jstr(o, "id");
		else if (strcmp(k, "crowdsec-collection") == 0)
			at = jstr(o, "path");
		else
			continue;
		if (strcmp(jstr(o, "action"), "noop") != 0 &&
		    (dir ? strncmp(at, path, n) == 0 : strcmp(at, path) == 0))
			return 1;
	}
	return 0;
}

static int
plan_services(struct plan *p)
{
	const json_t	*v, *f, *w;
	const char	*au;
	struct vp_buf	 act = VP_BUF_INIT(256), why = VP_BUF_INIT(4096);
	int		 en, start, restart = 0, is_en, is_act;
	size_t		 i, j;
	json_t		*op;

	json_array_foreach(json_object_get(p->want, "services"), i, v) {
		f = fact(p, "services", jstr(v, "name"));
		is_en = strcmp(jstr(f, "enabled"), "enabled") == 0;
		is_act = strcmp(jstr(f, "active"), "active") == 0;
		en = jbool_or(v, "enabled", 1) && !is_en;
		start = jbool_or(v, "started", 1) && !is_act;
		/*
		 * needs "clock": systemd-timesyncd runs only under systemd
		 * (no init script), and its unit skips containers
		 * (ConditionVirtualization=!container: the clock is the
		 * host's).  Said with a "!" line, not an error.
		 */
		au = json_string_value(fact(p, "kernel", "clock"));
		if (strcmp(jstr(v, "needs"), "clock") == 0 && au != NULL &&
		    strcmp(au, "nosystemd") == 0) {
			op = op_add(p, "service", jstr(v, "name"), "noop",
			    "not enabled or started: no systemd here (sysv "
			    "init), and %s runs only under systemd",
			    jstr(v, "name"));
			json_object_set_new(op, "warn", json_true());
			continue;
		}
		if (strcmp(jstr(v, "needs"), "clock") == 0 && au != NULL &&
		    strcmp(au, "container") == 0 && !is_act) {
			op = op_add(p, "service", jstr(v, "name"), en ?
			    "enable" : "noop", "%snot started: a container "
			    "cannot set the clock (the host's clock is used)",
			    en ? "" : "enabled, ");
			if (en) {
				json_object_set_new(op, "enable", json_true());
				json_object_set_new(op, "start", json_false());
				json_object_set_new(op, "restart",
				    json_false());
			} else
				json_object_set_new(op, "warn", json_true());
			continue;
		}
		/*
		 * needs "audit": auditd cannot run where the kernel refuses
		 * audit (a container's own PID namespace, LXC/OpenVZ VPS).
		 * Said loudly ("warn"), not an error: enabled, not started.
		 */
		au = json_string_value(fact(p, "kernel", "audit"));
		if (strcmp(jstr(v, "needs"), "audit") == 0 && au != NULL &&
		    strcmp(au, "denied") == 0 && !is_act) {
			if (en) {
				op = op_add(p, "service", jstr(v, "name"),
				    "enable", "not started: the kernel refuses "
				    "audit here (container or PID namespace)");
				json_object_set_new(op, "enable", json_true());
				json_object_set_new(op, "start", json_false());
				json_object_set_new(op, "restart",
				    json_false());
			} else {
				op = op_add(p, "service", jstr(v, "name"),
				    "noop", "enabled, not started: the kernel "
				    "refuses audit here (container or PID "
				    "namespace)");
				json_object_set_new(op, "warn", json_true());
			}
			continue;
		}
		restart = 0;
		vp_buf_reset(&act);
		vp_buf_reset(&why);
		json_array_foreach(json_object_get(v, "restart_on"), j, w)
			if (!restart && json_is_string(w) && path_changes(p,
			    json_string_value(w))) {
				restart = is_act;
				BUF(p, vp_buf_addf(&why, "%s changes",
				    json_string_value(w)));
			}
		if (en)
			BUF(p, vp_buf_adds(&act, "enable"));
		if (start)
			BUF(p, vp_buf_addf(&act, "%sstart", en ? "+" : ""));
		if (restart)
			BUF(p, vp_buf_addf(&act, "%srestart", en ? "+" : ""));
		if (act.len == 0) {
			op_add(p, "service", jstr(v, "name"), "noop", "%s, %s",
			    f ? jstr(f, "enabled") : "unknown",
			    f ? jstr(f, "active") : "unknown");
			continue;
		}
		op = op_add(p, "service", jstr(v, "name"), act.buf, "%s",
		    why.len ? why.buf : f ? "not running or not enabled" :
		    "not installed yet");
		json_object_set_new(op, "enable", json_boolean(en));
		json_object_set_new(op, "start", json_boolean(start));
		json_object_set_new(op, "restart", json_boolean(restart));
		if (*jstr(v, "needs") != '\0')
			json_object_set(op, "needs", json_object_get(v,
			    "needs"));
	}
	vp_buf_release(&act);
	vp_buf_release(&why);
	return VP_OK;
}

/* Another time daemon keeps the clock: say so, and leave it alone. */
static int
plan_ntp_other(struct plan *p, const char *other)
{
	json_t	*op;

	if (other == NULL)
		return VP_OK;
	op = op_add(p, "ntp", "systemd-timesyncd", "noop", "not installed: %s "
	    "is installed and keeps the clock (they conflict; remove %s to "
	    "let vpai manage NTP)", other, other);
	json_object_set_new(op, "warn", json_true());
	return VP_OK;
}

/* ufw's tuple fields (user.rules "### tuple ###" lines). */
struct tuple {
	char	a[16], pr[16], dp[64], dst[64], sp[64], src[64], dir[8];
	int	vpai;	/* comment 'vpai': added by vpai */
};

/*
 * "allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in comment=76706169": 7 fields
 * and an optional hex-encoded comment.  Rules with application names or
 * interfaces have other shapes: 0 (never matched, never deleted).
 */
static int
tuple_parse(const char *s, struct tuple *t)
{
	char	rest[32];
	int	n;

	memset(t, 0, sizeof(*t));
	n = sscanf(s, "%15s %15s %63s %63s %63s %63s %7s %31s", t->a, t->pr,
	    t->dp, t->dst, t->sp, t->src, t->dir, rest);
	if (n < 7 || strcmp(t->dir, "in") != 0)
		return 0;
	/* hex of UFW_COMMENT */
	t->vpai = n == 8 && strcmp(rest, "comment=76706169") == 0;
	return 1;
}

#define UFW_COMMENT	"vpai"

static int
tuple_match(const struct tuple *t, const char *action, const char *proto,
    const char *port, const char *from)
{
	if (strcmp(from, "any") == 0)
		from = strchr(t->src, ':') ? "::/0" : "0.0.0.0/0";
	return strcmp(t->a, action) == 0 && strcmp(t->pr, proto) == 0 &&
	    strcmp(t->dp, port) == 0 && strcmp(t->src, from) == 0 &&
	    strcmp(t->sp, "any") == 0 && (strcmp(t->dst, "0.0.0.0/0") == 0 ||
	    strcmp(t->dst, "::/0") == 0);
}

static const char *
ufw_any(const char *net)
{
	return strcmp(net, "0.0.0.0/0") == 0 || strcmp(net, "::/0") == 0 ?
	    "any" : net;
}

/*
 * Rules vpai added (comment 'vpai') that the want no longer has: deleted
 * ("ufw delete RULE" ignores comments; "from any" covers IPv4 and IPv6,
 * so each rule is one op).  Rules without the comment are the operator's
 * and are never deleted.
 */
static int
plan_ufw_deletes(struct plan *p, const json_t *rules, const json_t *tuples)
{
	const json_t	*t, *v;
	struct tuple	 tp;
	json_t		*seen = json_object(), *op, *argv;
	char		 id[256];
	size_t		 i, j;
	int		 keep;

	json_array_foreach(tuples, i, t) {
		if (!tuple_parse(json_string_value(t), &tp) || !tp.vpai)
			continue;
		keep = 0;
		json_array_foreach(rules, j, v)
			keep |= tuple_match(&tp, jstr_or(v, "action", "allow"),
			    jstr_or(v, "proto", "tcp"), jstr(v, "port"),
			    jstr_or(v, "from", "any"));
		if (keep)
			continue;
		snprintf(id, sizeof(id), "%s %s/%s from %s", tp.a, tp.dp, tp.pr,
		    ufw_any(tp.src));
		if (json_object_get(seen, id) != NULL)
			continue;
		json_object_set_new(seen, id, json_true());
		op = op_add(p, "ufw", id, "delete", "added by vpai (comment "
		    "'%s'), no longer in the rules", UFW_COMMENT);
		argv = json_pack("[ss]", "delete", tp.a);
		if (strcmp(tp.pr, "any") != 0) {
			json_array_append_new(argv, json_string("proto"));
			json_array_append_new(argv, json_string(tp.pr));
		}
		json_array_append_new(argv, json_string("from"));
		json_array_append_new(argv, json_string(ufw_any(tp.src)));
		if (strcmp(tp.sp, "any") != 0) {
			json_array_append_new(argv, json_string("port"));
			json_array_append_new(argv, json_string(tp.sp));
		}
		json_array_append_new(argv, json_string("to"));
		json_array_append_new(argv, json_string(ufw_any(tp.dst)));
		if (strcmp(tp.dp, "any") != 0) {
			json_array_append_new(argv, json_string("port"));
			json_array_append_new(argv, json_string(tp.dp));
		}
		json_object_set_new(op, "argv", argv);
	}
	json_decref(seen);
	return VP_OK;
}

static int
plan_ufw(struct plan *p)
{
	const json_t	*o = json_object_get(p->want, "ufw"), *f, *v, *t;
	const char	*want_in, *want_out, *cur, *a, *pr, *pt, *fr;
	static const struct { const char *w, *f; } pol[] = {
		{ "deny", "DROP" }, { "allow", "ACCEPT" }, { "reject",
		"REJECT" } };
	struct tuple	 tp;
	char		 id[256];
	size_t		 i, j, k;
	json_t		*op;
	int		 have, tagged;

	if (o == NULL)
		return VP_OK;
	f = json_object_get(p->facts, "ufw");
	want_in = jstr_or(o, "default_incoming", "deny");
	want_out = jstr_or(o, "default_outgoing", "allow");
	for (k = 0; k < 2; k++) {
		const char *w = k ? want_out : want_in;

		cur = jstr(f, k ? "OUTPUT" : "INPUT");
		for (i = 0; i < 3; i++)
			if (strcmp(pol[i].w, w) == 0)
				break;
		snprintf(id, sizeof(id), "default %s", k ? "outgoing" :
		    "incoming");
		if (i < 3 && strcmp(cur, pol[i].f) == 0)
			op_add(p, "ufw", id, "noop", "%s", w);
		else {
			op = op_add(p, "ufw", id, "set", "is %s, want %s",
			    *cur ? cur : "unknown", w);
			json_object_set_new(op, "argv", json_pack("[sss]",
			    "default", w, k ? "outgoing" : "incoming"));
		}
	}
	json_array_foreach(json_object_get(o, "rules"), i, v) {
		a = jstr_or(v, "action", "allow");
		pr = jstr_or(v, "proto", "tcp");
		pt = jstr(v, "port");
		fr = jstr_or(v, "from", "any");
		have = 0;
		tagged = 1;
		json_array_foreach(json_object_get(f, "tuples"), j, t)
			if (tuple_parse(json_string_value(t), &tp) &&
			    tuple_match(&tp, a, pr, pt, fr)) {
				have = 1;
				tagged &= tp.vpai;
			}
		snprintf(id, sizeof(id), "%s %s/%s from %s", a, pt, pr, fr);
		if (have && tagged) {
			op_add(p, "ufw", id, "noop", "rule present");
			continue;
		}
		/*
		 * Present without the comment: added by a vpai that did not
		 * tag its rules yet, or by hand.  Adding it again with the
		 * comment only tags it ("Rule updated"): vpai owns it now.
		 */
		op = have ? op_add(p, "ufw", id, "tag", "rule present without "
		    "the '%s' comment: tagged as vpai's", UFW_COMMENT) :
		    op_add(p, "ufw", id, "add", "rule missing");
		if (strcmp(pr, "any") == 0)
			json_object_set_new(op, "argv", json_pack(
			    "[sssssssss]", a, "from", fr, "to", "any", "port",
			    pt, "comment", UFW_COMMENT));
		else
			json_object_set_new(op, "argv", json_pack(
			    "[sssssssssss]", a, "proto", pr, "from", fr, "to",
			    "any", "port", pt, "comment", UFW_COMMENT));
	}
	plan_ufw_deletes(p, json_object_get(o, "rules"),
	    json_object_get(f, "tuples"));
	if (jbool_or(o, "enabled", 1)) {
		if (strcmp(jstr(f, "enabled"), "yes") == 0)
			op_add(p, "ufw", "enabled", "noop", "active");
		else {
			op = op_add(p, "ufw", "enabled", "enable", "inactive");
			json_object_set_new(op, "argv", json_pack("[ss]",
			    "--force", "enable"));
		}
	}
	return VP_OK;
}

/*
 * want.vpn_ip: the want restricts SSH to this VPN address (the hardening
 * role sets it when the site says vpn_verified: true).  Refused, before
 * any op, unless the host's tailscale IPv4 (facts.tailscale.ip, gathered
 * in the same round trip) is that address: a ListenAddress the host does
 * not have, or a VPN that is not up, is the lockout of REX #1.
 */
static int
plan_vpn_check(struct plan *p)
{
	const char	*want_ip = jstr_or(p->want, "vpn_ip", NULL);
	const json_t	*ts = json_object_get(p->facts, "tailscale");
	const char	*ip = jstr(ts, "ip"), *st = jstr_or(ts, "state",
			    "unknown");
	char		*why = NULL;
	int		 r;

	if (want_ip == NULL || (*ip != '\0' && strcmp(ip, want_ip) == 0))
		return VP_OK;
	if (!jbool_or(ts, "installed", 0))
		r = asprintf(&why, "tailscale is not installed on the host");
	else if (*ip == '\0')
		r = asprintf(&why, "the host has no tailscale IPv4 address "
		    "(tailscale state %s)", st);
	else
		r = asprintf(&why, "the host's tailscale IPv4 address is %s",
		    ip);
	if (r < 0)
		return vp_fail(p->cause, VP_ERR_NOMEM, "out of memory");
	r = vp_fail(p->cause, VP_ERR_REFUSED, "vpn_verified is true "
	    "(SSH restricted to the VPN address %s) but %s: refusing to "
	    "restrict SSH to the VPN, nothing was changed (REX #1).  Set "
	    "vpn_verified: false and converge (the headscale-node role joins "
	    "the VPN), check that ssh works on %s, then set it back",
	    want_ip, why, want_ip);
	free(why);
	return r;
}

/*
 * want.tailscale (headscale-node): join the tailnet with `tailscale up`
 * when tailscale is installed and not Running.  Never blocking: tailscale
 * missing, or no auth key, is a "!" no-op; the up op is "soft" (apply
 * bounds it with a timeout and turns its failure into a warning; verify
 * does not require it).
 */
static int
plan_tailscale(struct plan *p)
{
	const json_t	*o = json_object_get(p->want, "tailscale"), *v;
	const json_t	*ts = json_object_get(p->facts, "tailscale");
	const char	*url, *st, *key, *hn;
	struct vp_buf	 routes = VP_BUF_INIT(1u << 16);
	json_t		*op, *argv;
	size_t		 i;

	if (o == NULL)
		return VP_OK;
	url = jstr(o, "login_server");
	st = jstr_or(ts, "state", "unknown");
	key = jstr(o, "auth_key");
	if (!jbool_or(ts, "installed", 0)) {
		op = op_add(p, "tailscale", url, "noop", "tailscale is not "
		    "installed (Debian does not package it): install it from "
		    "https://pkgs.tailscale.com/stable/#debian-bookworm, then "
		    "converge again; SSH is not moved to the VPN");
		json_object_set_new(op, "warn", json_true());
		return VP_OK;
	}
	if (strcmp(st, "Running") == 0) {
		const char *ex = jstr(o, "expect_ip");

		/* the site's vpn_headscale_ip is not this node's address */
		if (*ex != '\0' && strcmp(ex, jstr(ts, "ip")) != 0) {
			op = op_add(p, "tailscale", url, "noop", "running, VPN "
			    "IP %s, but the site's vpn_headscale_ip is %s: fix "
			    "the site before setting vpn_verified: true",
			    *jstr(ts, "ip") ? jstr(ts, "ip") : "unknown", ex);
			json_object_set_new(op, "warn", json_true());
			return VP_OK;
		}
		op_add(p, "tailscale", url, "noop", "running, VPN IP %s "
		    "(tailscale %s)", *jstr(ts, "ip") ? jstr(ts, "ip") :
		    "unknown", jstr(ts, "version"));
		return VP_OK;
	}
	if (*key == '\0') {
		op = op_add(p, "tailscale", url, "noop", "state %s and no "
		    "headscale_auth_key in the vault: run 'tailscale up "
		    "--login-server %s' on the host, or add the key and "
		    "converge again", st, url);
		json_object_set_new(op, "warn", json_true());
		return VP_OK;
	}
	argv = json_pack("[sss]", "--reset", "--login-server", url);
	json_array_foreach(json_object_get(o, "routes"), i, v)
		BUF(p, vp_buf_addf(&routes, "%s%s", i ? "," : "",
		    json_string_value(v)));
	if (routes.len > 0) {
		json_array_append_new(argv, json_string("--advertise-routes"));
		json_array_append_new(argv, json_string(routes.buf));
	}
	if (*(hn = jstr(o, "hostname")) != '\0') {
		json_array_append_new(argv, json_string("--hostname"));
		json_array_append_new(argv, json_string(hn));
	}
	op = op_add(p, "tailscale", url, "up", "state %s%s%s", st,
	    routes.len ? ", advertise routes " : "", routes.len ?
	    routes.buf : "");
	/* "content": the auth key; plan JSON drops it, text never shows it */
	json_object_set_new(op, "content", json_string(key));
	json_object_set_new(op, "secret", json_true());
	json_object_set_new(op, "argv", argv);
	json_object_set_new(op, "timeout", json_integer(json_is_integer(
	    json_object_get(o, "timeout")) ? json_integer_value(
	    json_object_get(o, "timeout")) : 60));
	json_object_set_new(op, "soft", json_true());
	vp_buf_release(&routes);
	return VP_OK;
}

int
vp_host_plan(const json_t *want, const json_t *facts, json_t **ops,
    char **cause)
{
	struct plan	 p;
	json_t		*fcopy, *w;
	const char	*other;
	int		 r;

	*ops = NULL;
	if ((r = vp_host_want_check(want, "want", cause)) != 0)
		return r;
	/* plan_akeys adds file facts: work on a copy (pure for callers). */
	if ((fcopy = json_deep_copy(facts)) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	if (json_object_get(fcopy, "files") == NULL)
		json_object_set_new(fcopy, "files", json_object());
	/* "ntp" becomes a package, a directory, a file and a service */
	if ((w = host_want_ntp(want, facts, &other)) == NULL) {
		json_decref(fcopy);
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	}
	p.want = w;
	p.facts = fcopy;
	p.ops = json_array();
	p.cause = cause;
	p.err = 0;
	if ((r = plan_vpn_check(&p)) != 0 ||
	    (r = plan_apt_repos(&p)) != 0 ||
	    (r = plan_crowdsec_pre(&p)) != 0 ||
	    (r = plan_packages(&p)) != 0 || (r = plan_groups(&p)) != 0 ||
	    (r = plan_users(&p)) != 0 || (r = plan_dirs(&p)) != 0 ||
	    (r = plan_files(&p)) != 0 || (r = plan_sysctl(&p)) != 0 ||
	    (r = plan_akeys(&p)) != 0 || (r = plan_cron(&p)) != 0 ||
	    (r = plan_tz_host(&p)) != 0 || (r = plan_locale(&p)) != 0 ||
	    (r = plan_tailscale(&p)) != 0 || (r = plan_crowdsec(&p)) != 0 ||
	    (r = plan_services(&p)) != 0 ||
	    (r = plan_ntp_other(&p, other)) != 0 ||
	    (r = plan_ufw(&p)) != 0) {
		json_decref(p.ops);
		json_decref(fcopy);
		json_decref(w);
		return r;
	}
	json_decref(fcopy);
	json_decref(w);
	if (p.err != 0) {
		json_decref(p.ops);
		return vp_fail(cause, p.err, "cannot build the plan: %s",
		    vp_strerror(p.err));
	}
	*ops = p.ops;
	return VP_OK;
}

size_t
vp_host_plan_changes(const json_t *ops)
{
	const json_t	*o;
	size_t		 i, n = 0;

	json_array_foreach(ops, i, o)
		if (!jbool_or(o, "info", 0) && strcmp(jstr(o, "action"),
		    "noop") != 0)
			n++;
	return n;
}
