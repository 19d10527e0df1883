/*
 * curl.c: the curl_* functions vpai uses, forwarded to libcurl.so.4
 * loaded with dlopen() on first use (see curl.h for why).
 */
#define CURL_DISABLE_TYPECHECK 1

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl.h"
#include "err.h"

#define LIBCURL_NAME	"libcurl.so.4"

/* The library's entry points; all NULL until loaded. */
static struct {
	CURLcode		 (*global_init)(long);
	CURL			*(*easy_init)(void);
	CURLcode		 (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode		 (*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode		 (*easy_perform)(CURL *);
	void			 (*easy_cleanup)(CURL *);
	const char		*(*easy_strerror)(CURLcode);
	struct curl_slist	*(*slist_append)(struct curl_slist *,
				    const char *);
	void			 (*slist_free_all)(struct curl_slist *);
	curl_mime		*(*mime_init)(CURL *);
	curl_mimepart		*(*mime_addpart)(curl_mime *);
	CURLcode		 (*mime_name)(curl_mimepart *, const char *);
	CURLcode		 (*mime_filedata)(curl_mimepart *,
				    const char *);
	void			 (*mime_free)(curl_mime *);
} lib;

static pthread_once_t	 once = PTHREAD_ONCE_INIT;
static void		*handle;
static char		 load_err[512];

/* dlsym() into a function pointer (POSIX guarantees the conversion). */
#define SYM(field, name) do {						\
	void *p_ = dlsym(handle, (name));				\
	if (p_ == NULL)							\
		goto missing;						\
	memcpy(&lib.field, &p_, sizeof(p_));				\
} while (0)

static void
load(void)
{
	const char	*name = getenv("VPAI_LIBCURL");
	const char	*e;

	if (name == NULL || *name == '\0')
		name = LIBCURL_NAME;
	if ((handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(load_err, sizeof(load_err), "cannot load libcurl "
		    "'%s': %s (on Debian: apt-get install libcurl4)", name,
		    e != NULL ? e : "unknown error");
		return;
	}
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
	SYM(mime_init, "curl_mime_init");
	SYM(mime_addpart, "curl_mime_addpart");
	SYM(mime_name, "curl_mime_name");
	SYM(mime_filedata, "curl_mime_filedata");
	SYM(mime_free, "curl_mime_free");
	return;
missing:
	e = dlerror();
	snprintf(load_err, sizeof(load_err), "libcurl '%s' is unusable: %s",
	    name, e != NULL ? e : "a symbol is missing");
	memset(&lib, 0, sizeof(lib));
}

/* Loaded?  The first call loads. */
static int
ready(void)
{
	pthread_once(&once, load);
	return lib.easy_init != NULL;
}

const char *
vp_curl_error(void)
{
	return ready() ? NULL : load_err;
}

int
vp_curl_easy(CURL **out, char **cause)
{
	*out = NULL;
	if (!ready())
		return vp_fail(cause, VP_ERR_CHILD, "%s", load_err);
	if ((*out = lib.easy_init()) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "curl_easy_init failed");
	return VP_OK;
}

CURLcode
curl_global_init(long flags)
{
	return ready() ? lib.global_init(flags) : CURLE_FAILED_INIT;
}

CURL *
curl_easy_init(void)
{
	return ready() ? lib.easy_init() : NULL;
}

/*
 * The option number says the argument's type (curl.h's CURLOPTTYPE_*
 * ranges): long, object pointer, function pointer, curl_off_t, blob.
 */
CURLcode
curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
	va_list		 ap;
	CURLcode	 r;

	if (!ready())
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		r = lib.easy_setopt(c, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		r = lib.easy_setopt(c, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		r = lib.easy_setopt(c, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		r = lib.easy_setopt(c, opt, va_arg(ap, curl_off_t));
	else
		r = lib.easy_setopt(c, opt, va_arg(ap, void *));
	va_end(ap);
	return r;
}

/* Every CURLINFO_* takes a pointer to where the value goes. */
CURLcode
curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
	va_list		 ap;
	CURLcode	 r;

	if (!ready())
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	r = lib.easy_getinfo(c, info, va_arg(ap, void *));
	va_end(ap);
	return r;
}

CURLcode
curl_easy_perform(CURL *c)
{
	return ready() ? lib.easy_perform(c) : CURLE_FAILED_INIT;
}

void
curl_easy_cleanup(CURL *c)
{
	if (c != NULL && ready())
		lib.easy_cleanup(c);
}

const char *
curl_easy_strerror(CURLcode r)
{
	return ready() ? lib.easy_strerror(r) : load_err;
}

struct curl_slist *
curl_slist_append(struct curl_slist *l, const char *s)
{
	return ready() ? lib.slist_append(l, s) : NULL;
}

void
curl_slist_free_all(struct curl_slist *l)
{
	if (l != NULL && ready())
		lib.slist_free_all(l);
}

curl_mime *
curl_mime_init(CURL *c)
{
	return ready() ? lib.mime_init(c) : NULL;
}

curl_mimepart *
curl_mime_addpart(curl_mime *m)
{
	return ready() ? lib.mime_addpart(m) : NULL;
}

CURLcode
curl_mime_name(curl_mimepart *p, const char *name)
{
	return ready() ? lib.mime_name(p, name) : CURLE_FAILED_INIT;
}

CURLcode
curl_mime_filedata(curl_mimepart *p, const char *file)
{
	return ready() ? lib.mime_filedata(p, file) : CURLE_FAILED_INIT;
}

void
curl_mime_free(curl_mime *m)
{
	if (m != NULL && ready())
		lib.mime_free(m);
}
