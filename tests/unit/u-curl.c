/*
 * u-curl: core/curl.c, libcurl loaded on first use.  This process points
 * VPAI_LIBCURL at a library that does not exist, so every entry point
 * must fail cleanly (no crash) and the error must name the library.  The
 * loaded path is exercised by u-smoke, u-backup and the HTTP e2e tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/curl.h"
#include "core/err.h"
#include "t.h"

#define MISSING	"libvpai-no-such-curl.so.9"

T_TEST(missing_library)
{
	CURL		*c = (CURL *)1;
	char		*cause = NULL;
	const char	*e;

	T_ASSERT(setenv("VPAI_LIBCURL", MISSING, 1) == 0);
	T_ASSERT(vp_curl_easy(&c, &cause) == VP_ERR_CHILD);
	T_ASSERT(c == NULL);
	T_ASSERT(cause != NULL);
	if (strstr(cause, "'" MISSING "'") == NULL ||
	    strstr(cause, "apt-get install libcurl4") == NULL) {
		printf("  unexpected cause: %s\n", cause);
		t_cur_failed = 1;
	}
	free(cause);
	e = vp_curl_error();
	T_ASSERT(e != NULL && strstr(e, MISSING) != NULL);
	T_ASSERT(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_FAILED_INIT);
	T_ASSERT(curl_easy_init() == NULL);
	T_ASSERT(curl_easy_setopt(NULL, CURLOPT_URL, "http://x/") ==
	    CURLE_FAILED_INIT);
	T_ASSERT(curl_slist_append(NULL, "A: b") == NULL);
	T_ASSERT(strstr(curl_easy_strerror(CURLE_OK), MISSING) != NULL);
	curl_easy_cleanup(NULL);
	curl_slist_free_all(NULL);
	curl_mime_free(NULL);
}

int
main(void)
{
	T_RUN(missing_library);
	return T_DONE();
}
