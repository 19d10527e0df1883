/*
 * internal.h: helpers shared by the host module's files (not an API).
 */
#ifndef VP_HOST_INTERNAL_H
#define VP_HOST_INTERNAL_H

#include <jansson.h>

/* o[key] as a string, or "" (never NULL).  Borrowed. */
static inline const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* o[key] as a string, or def when missing.  Borrowed. */
static inline const char *
jstr_or(const json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : def;
}

/* o[key] as a boolean, def when missing. */
static inline int
jbool_or(const json_t *o, const char *key, int def)
{
	const json_t *v = json_object_get(o, key);

	return v ? json_is_true(v) : def;
}

/* The hosts file the want manages ("hosts_file", default /etc/hosts). */
static inline const char *
host_hosts_file(const json_t *want)
{
	return jstr_or(want, "hosts_file", "/etc/hosts");
}

/*
 * CrowdSec (want "crowdsec", docs/HOST.md): with "online": false the
 * Central API credentials file holds only a comment before the package is
 * installed, so Debian's postinst skips `cscli capi register` (its
 * README.Debian) and crowdsec runs with the Central API disabled.
 * Collections are enabled when CS_COLLECTIONS/NAME.yaml (NAME without the
 * vendor) is cscli's link to .../collections/VENDOR/NAME.yaml.
 */
#define CS_DIR		"/etc/crowdsec"
#define CS_CAPI		"/etc/crowdsec/online_api_credentials.yaml"
#define CS_COLLECTIONS	"/etc/crowdsec/collections"
#define CS_OFFLINE	"# vpai: crowdsec.online is false: no Central API " \
			"registration\n# (Debian's README.Debian; empty this " \
			"file and run 'cscli capi register'\n# to join it)\n"

/*
 * Name the step in a transport error: "'T': cannot connect: ..." becomes
 * "'T': step 'STEP': cannot connect: ..." (other causes get the whole
 * "'T': step 'STEP'" prefix).  Returns r.
 */
/*
 * The want with "ntp" expanded (plan.c): systemd-timesyncd installed, the
 * drop-in HOST_NTP_FILE with ntp.content, the service (needs "clock").
 * When facts say another time daemon is installed (host_time_daemons[]:
 * they all conflict with systemd-timesyncd through time-daemon), *other
 * names it and nothing is added.  facts NULL: as if none is installed.
 * Returns a new reference (want itself when it has no "ntp"), NULL when
 * out of memory.
 */
#define HOST_NTP_FILE	"/etc/systemd/timesyncd.conf.d/vpai.conf"
extern const char *const host_time_daemons[];
json_t	*host_want_ntp(const json_t *want, const json_t *facts,
	    const char **other);

struct vp_target;
/*
 * vp_host_facts_gather() with one more facts.sh query (extra, may be NULL)
 * and the step name for errors ("facts", "stack facts").
 */
int	host_facts_gather(struct vp_target *, const char *datadir,
	    const json_t *want, const char *extra, const char *step,
	    json_t **facts, char **cause);
int	host_step_cause(struct vp_target *, const char *step, int r,
	    char **cause);

#endif
