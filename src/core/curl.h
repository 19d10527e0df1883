/*
 * curl.h: libcurl, loaded on first use.
 *
 * vpai does not link libcurl: the dynamic loader would map libcurl and
 * its ~30 dependencies (nghttp2, ldap, gssapi, ssh2, ...) into every run,
 * about 5 MB of RSS, although only the commands that speak HTTP (smoke,
 * provisioning, backup and restore APIs, rotation) need it.  core/curl.c
 * defines the handful of curl_* functions vpai uses; the first call
 * dlopen()s Debian's libcurl.so.4 (thread-safe, once per process) and
 * forwards every call to it.  The types and constants still come from
 * <curl/curl.h>.  VPAI_LIBCURL overrides the library name (tests).
 *
 * When the library cannot be loaded, curl_global_init() returns
 * CURLE_FAILED_INIT, curl_easy_init() NULL, and vp_curl_easy() says why.
 */
#ifndef VP_CURL_H
#define VP_CURL_H

#include <curl/curl.h>

/*
 * A new easy handle in *out (curl_easy_cleanup() it), or an error with
 * *cause naming the library and the loader's reason.
 */
int vp_curl_easy(CURL **out, char **cause);

/* Why libcurl could not be loaded, or NULL when it is loaded. */
const char *vp_curl_error(void);

#endif
