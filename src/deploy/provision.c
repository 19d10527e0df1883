/*
 * provision.c: provisioning that runs once its container is healthy.
 * The n8n owner account, through n8n's own REST setup endpoint.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "core/buf.h"
#include "core/curl.h"
#include "deploy/deploy.h"

struct http {
	long		status;
	struct vp_buf	body;
};

static size_t
on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct http *h = arg;

	if (vp_buf_add(&h->body, p, sz * n) != 0)
		return 0;
	return sz * n;
}

/* One request; body (JSON) may be NULL for a GET. */
static int
http_req(const char *url, const char *sock, const char *body, struct http *h,
    char **cause)
{
	struct curl_slist	*hdr = NULL;
	CURL			*c;
	CURLcode		 cr;
	int			 r = VP_OK;

	if ((r = vp_curl_easy(&c, cause)) != VP_OK)
		return r;
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	if (sock != NULL)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if ((cr = curl_easy_perform(c)) != CURLE_OK) {
		r = vp_fail(cause, VP_ERR_REMOTE, "'%s': %s", url,
		    curl_easy_strerror(cr));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
 out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return r;
}

/* n8n's error message from a JSON body, or "". */
static const char *
n8n_message(const json_t *doc)
{
	const char *m = json_string_value(json_object_get(doc, "message"));

	return m ? m : "";
}

int
deploy_n8n_owner(const char *base, const char *email, const char *password,
    int *created, char **cause)
{
	return deploy_n8n_owner_at(base, NULL, email, password, created,
	    cause);
}

int
deploy_n8n_owner_at(const char *base, const char *sock, const char *email,
    const char *password, int *created, char **cause)
{
	struct http	 h = { 0, VP_BUF_INIT(1u << 20) };
	json_t		*doc = NULL, *req = NULL;
	json_error_t	 je;
	char		 url[512], *body = NULL;
	int		 r, tries;

	*created = 0;
	snprintf(url, sizeof(url), "%s/rest/settings", base);
	/*
	 * n8n answers /healthz before its REST routes are registered: a 404
	 * (or 503, or 200 with its HTML page) right after the health gate
	 * means "not yet".  Retry for up to 60 s.
	 */
	for (tries = 0; ; tries++) {
		vp_buf_reset(&h.body);
		h.status = 0;
		if ((r = http_req(url, sock, NULL, &h, cause)) != 0)
			goto out;
		/* (its editor page answers 200 with HTML meanwhile) */
		if (h.status == 200 && (doc = json_loadb(h.body.buf,
		    h.body.len, 0, &je)) != NULL)
			break;
		if ((h.status != 404 && h.status != 503 && h.status != 200) ||
		    tries >= 120)
			break;
		usleep(500 * 1000);
	}
	if (doc == NULL) {
		r = vp_fail(cause, VP_ERR_REMOTE, "n8n: GET /rest/settings: "
		    "HTTP %ld%s", h.status, h.status == 200 ? " (not JSON)" :
		    "");
		goto out;
	}
	/* Setup is offered only while no owner exists. */
	if (!json_is_true(json_object_get(json_object_get(json_object_get(
	    doc, "data"), "userManagement"), "showSetupOnFirstLoad"))) {
		r = VP_OK;
		goto out;
	}
	json_decref(doc);
	doc = NULL;
	vp_buf_reset(&h.body);
	h.status = 0;
	if ((req = json_pack("{s:s,s:s,s:s,s:s}", "email", email, "firstName",
	    "Owner", "lastName", "vpai", "password", password)) == NULL ||
	    (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	snprintf(url, sizeof(url), "%s/rest/owner/setup", base);
	if ((r = http_req(url, sock, body, &h, cause)) != 0)
		goto out;
	if (h.status != 200) {
		doc = json_loadb(h.body.buf, h.body.len, 0, &je);
		r = vp_fail(cause, VP_ERR_REMOTE, "n8n: owner setup for '%s': "
		    "HTTP %ld %s", email, h.status, n8n_message(doc));
		goto out;
	}
	*created = 1;
	r = VP_OK;
 out:
	if (body != NULL) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
	json_decref(req);	/* holds the password: jansson frees it */
	json_decref(doc);
	vp_buf_release_secure(&h.body);
	return r;
}
