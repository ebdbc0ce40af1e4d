/* The only C between uwsgi-sentry and libcurl.
 *
 * Why dlopen: loading Debian's libcurl (and the ~32 libraries it pulls in) is the
 * largest fixed cost of a process-per-event sender. A process that does not send
 * (--help, --version, --dry-run, a rate-limited drop) must not pay for it, so the
 * binary does not link -lcurl; uws_curl_load() opens it when a transfer is about
 * to happen.
 *
 * Why wrappers: curl_easy_setopt/getinfo are variadic and cannot be called from
 * Swift; each wrapper below fixes one argument type. The response is captured by
 * the C callbacks into fixed buffers (the body would otherwise go to stdout, which
 * under uWSGI is the log). Swift sees only the typed functions in this file.
 */
#ifndef UWS_CURL_SHIM_H
#define UWS_CURL_SHIM_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <string.h>

/* Entry points resolved from libcurl.so.4. Stored as void* so the struct imports
 * into Swift; the wrappers cast them back. */
struct uws_curl_api {
    void *lib;
    void *easy_init, *easy_setopt, *easy_perform, *easy_getinfo, *easy_cleanup;
    void *easy_strerror, *slist_append, *slist_free_all, *global_init, *easy_reset;
};

/* Returns 0 on success, -1 when libcurl is missing or incomplete. */
static inline int uws_curl_load(struct uws_curl_api *api) {
    if (api->lib) return 0;
    void *lib = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
    if (!lib) return -1;
#define UWS_SYM(field, name) if (!(api->field = dlsym(lib, name))) { dlclose(lib); return -1; }
    UWS_SYM(easy_init, "curl_easy_init")
    UWS_SYM(easy_setopt, "curl_easy_setopt")
    UWS_SYM(easy_perform, "curl_easy_perform")
    UWS_SYM(easy_getinfo, "curl_easy_getinfo")
    UWS_SYM(easy_cleanup, "curl_easy_cleanup")
    UWS_SYM(easy_strerror, "curl_easy_strerror")
    UWS_SYM(slist_append, "curl_slist_append")
    UWS_SYM(slist_free_all, "curl_slist_free_all")
    UWS_SYM(global_init, "curl_global_init")
    UWS_SYM(easy_reset, "curl_easy_reset")
#undef UWS_SYM
    api->lib = lib;
    ((CURLcode (*)(long))api->global_init)(CURL_GLOBAL_DEFAULT);
    return 0;
}

static inline CURL *uws_easy_init(const struct uws_curl_api *api) {
    return ((CURL *(*)(void))api->easy_init)();
}
static inline void uws_easy_cleanup(const struct uws_curl_api *api, CURL *h) {
    ((void (*)(CURL *))api->easy_cleanup)(h);
}
/* Clears the options but keeps live connections: how a flusher reuses one. */
static inline void uws_easy_reset(const struct uws_curl_api *api, CURL *h) {
    ((void (*)(CURL *))api->easy_reset)(h);
}
static inline CURLcode uws_easy_perform(const struct uws_curl_api *api, CURL *h) {
    return ((CURLcode (*)(CURL *))api->easy_perform)(h);
}
static inline const char *uws_easy_strerror(const struct uws_curl_api *api, CURLcode c) {
    return ((const char *(*)(CURLcode))api->easy_strerror)(c);
}

#define UWS_SETOPT(h, opt, val) (((CURLcode (*)(CURL *, CURLoption, ...))api->easy_setopt)(h, opt, val))
static inline CURLcode uws_setopt_long(const struct uws_curl_api *api, CURL *h, CURLoption o, long v) {
    return UWS_SETOPT(h, o, v);
}
static inline CURLcode uws_setopt_string(const struct uws_curl_api *api, CURL *h, CURLoption o, const char *v) {
    return UWS_SETOPT(h, o, v);
}
static inline CURLcode uws_setopt_offset(const struct uws_curl_api *api, CURL *h, CURLoption o, curl_off_t v) {
    return UWS_SETOPT(h, o, v);
}
static inline CURLcode uws_setopt_slist(const struct uws_curl_api *api, CURL *h, CURLoption o, struct curl_slist *v) {
    return UWS_SETOPT(h, o, v);
}
#undef UWS_SETOPT

static inline long uws_getinfo_long(const struct uws_curl_api *api, CURL *h, CURLINFO i) {
    long v = 0;
    ((CURLcode (*)(CURL *, CURLINFO, ...))api->easy_getinfo)(h, i, &v);
    return v;
}

static inline struct curl_slist *uws_slist_append(const struct uws_curl_api *api, struct curl_slist *l, const char *s) {
    return ((struct curl_slist *(*)(struct curl_slist *, const char *))api->slist_append)(l, s);
}
static inline void uws_slist_free_all(const struct uws_curl_api *api, struct curl_slist *l) {
    ((void (*)(struct curl_slist *))api->slist_free_all)(l);
}

/* What a transfer leaves behind: the first bytes of the response headers and body
 * (enough for status details, rate-limit headers and an error message; the rest is
 * counted and dropped) and libcurl's own error text. */
#define UWS_CAPTURE_MAX 8192
struct uws_capture {
    char data[UWS_CAPTURE_MAX];
    size_t len;
};
struct uws_transfer {
    struct uws_capture headers;
    struct uws_capture body;
    char error[CURL_ERROR_SIZE];
};

/* Swift does not import C arrays this large; it reads them through these. */
static inline const char *uws_capture_bytes(const struct uws_capture *c) { return c->data; }
static inline const char *uws_transfer_error(const struct uws_transfer *t) { return t->error; }

static size_t uws_capture_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
    struct uws_capture *c = (struct uws_capture *)userdata;
    size_t n = size * nmemb, room = UWS_CAPTURE_MAX - c->len;
    if (room) {
        size_t k = n < room ? n : room;
        memcpy(c->data + c->len, ptr, k);
        c->len += k;
    }
    return n; /* always "consumed": a long answer must not fail the transfer */
}

/* Points the body, header and error outputs of h at t. */
static inline void uws_capture_into(const struct uws_curl_api *api, CURL *h, struct uws_transfer *t) {
    CURLcode (*setopt)(CURL *, CURLoption, ...) = (CURLcode (*)(CURL *, CURLoption, ...))api->easy_setopt;
    memset(t, 0, sizeof(*t));
    setopt(h, CURLOPT_WRITEFUNCTION, uws_capture_cb);
    setopt(h, CURLOPT_WRITEDATA, &t->body);
    setopt(h, CURLOPT_HEADERFUNCTION, uws_capture_cb);
    setopt(h, CURLOPT_HEADERDATA, &t->headers);
    setopt(h, CURLOPT_ERRORBUFFER, t->error);
}

#endif
