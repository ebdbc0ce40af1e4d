/* The only C between uwsgi-sentry and libcurl; only Sources/CurlHTTP sees it.
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
#include <strings.h>

/* Entry points resolved from libcurl.so.4. Stored as void* so the struct imports
 * into Swift; the wrappers cast them back. */
struct uws_curl_api {
    void *lib;
    void *easy_init, *easy_setopt, *easy_perform, *easy_getinfo, *easy_cleanup;
    void *easy_strerror, *slist_append, *slist_free_all, *global_init, *easy_reset;
    void *multi_init, *multi_add_handle, *multi_remove_handle, *multi_perform, *multi_poll;
    void *multi_info_read, *multi_cleanup, *multi_setopt;
};

/* Returns 0 on success, -1 when libcurl is missing, incomplete or will not
 * initialise. */
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
    UWS_SYM(multi_init, "curl_multi_init")
    UWS_SYM(multi_add_handle, "curl_multi_add_handle")
    UWS_SYM(multi_remove_handle, "curl_multi_remove_handle")
    UWS_SYM(multi_perform, "curl_multi_perform")
    UWS_SYM(multi_poll, "curl_multi_poll")
    UWS_SYM(multi_info_read, "curl_multi_info_read")
    UWS_SYM(multi_cleanup, "curl_multi_cleanup")
    UWS_SYM(multi_setopt, "curl_multi_setopt")
#undef UWS_SYM
    if (((CURLcode (*)(long))api->global_init)(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        dlclose(lib);
        return -1;
    }
    api->lib = lib;
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

/* Restricts a handle to http and https: CURLOPT_PROTOCOLS_STR since 7.85, the
 * bitmask before (deprecated, but the only way on an older libcurl). */
static inline CURLcode uws_setopt_http_only(const struct uws_curl_api *api, CURL *h) {
    CURLcode c = uws_setopt_string(api, h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (c == CURLE_UNKNOWN_OPTION || c == CURLE_NOT_BUILT_IN)
        c = uws_setopt_long(api, h, (CURLoption) 181 /* CURLOPT_PROTOCOLS */, CURLPROTO_HTTP | CURLPROTO_HTTPS);
    return c;
}

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

/* What a transfer leaves behind, bounded whatever the server sends:
 * - headers: status lines, block ends and only the headers we read (rate limits,
 *   Retry-After, X-Sentry-Error, Content-Type), so kilobytes of other headers
 *   cannot push a rate limit out of the buffer;
 * - body: the first UWS_CAPTURE_MAX bytes; past UWS_BODY_MAX the transfer is cut
 *   (an answer that long is no Sentry answer, and one that never ends must not
 *   hold us until the timeout) and `overflow` says so;
 * - libcurl's own error text. */
#define UWS_CAPTURE_MAX 8192
#define UWS_HEADERS_MAX 16384
#define UWS_BODY_MAX (1024 * 1024)
struct uws_capture {
    char data[UWS_HEADERS_MAX];
    size_t len;
    size_t seen;
    int overflow;
};
struct uws_transfer {
    struct uws_capture headers;
    struct uws_capture body;
    char error[CURL_ERROR_SIZE];
};

/* Swift does not import C arrays this large; it reads them through these. */
static inline const char *uws_capture_bytes(const struct uws_capture *c) { return c->data; }
static inline const char *uws_transfer_error(const struct uws_transfer *t) { return t->error; }

static size_t uws_body_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
    struct uws_capture *c = (struct uws_capture *)userdata;
    size_t n = size * nmemb, room = UWS_CAPTURE_MAX - c->len;
    if (room) {
        size_t k = n < room ? n : room;
        memcpy(c->data + c->len, ptr, k);
        c->len += k;
    }
    c->seen += n;
    if (c->seen > UWS_BODY_MAX) { c->overflow = 1; return 0; } /* CURLE_WRITE_ERROR: stop reading */
    return n;
}

static int uws_header_wanted(const char *line, size_t n) {
    static const char *const names[] = {"x-sentry-rate-limits:", "retry-after:", "x-sentry-error:", "content-type:"};
    size_t i;
    if (n >= 5 && !memcmp(line, "HTTP/", 5)) return 1;
    if (n <= 2 && (line[0] == '\r' || line[0] == '\n')) return 1;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t k = strlen(names[i]);
        if (n >= k && !strncasecmp(line, names[i], k)) return 1;
    }
    return 0;
}

/* libcurl calls this once per complete header line. */
static size_t uws_header_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
    struct uws_capture *c = (struct uws_capture *)userdata;
    size_t n = size * nmemb;
    c->seen += n;
    if (n && uws_header_wanted(ptr, n)) {
        if (n <= UWS_HEADERS_MAX - c->len) {
            memcpy(c->data + c->len, ptr, n);
            c->len += n;
        } else {
            c->overflow = 1;
        }
    }
    return n;
}

/* Points the body, header and error outputs of h at t. Returns the first failure. */
static inline CURLcode uws_capture_into(const struct uws_curl_api *api, CURL *h, struct uws_transfer *t) {
    CURLcode (*setopt)(CURL *, CURLoption, ...) = (CURLcode (*)(CURL *, CURLoption, ...))api->easy_setopt;
    CURLcode c;
    /* The counts, not the 33 KB of buffers behind them: only what they count is read. */
    t->headers.len = t->headers.seen = 0; t->headers.overflow = 0;
    t->body.len = t->body.seen = 0; t->body.overflow = 0;
    t->error[0] = 0;
    if ((c = setopt(h, CURLOPT_WRITEFUNCTION, uws_body_cb))) return c;
    if ((c = setopt(h, CURLOPT_WRITEDATA, &t->body))) return c;
    if ((c = setopt(h, CURLOPT_HEADERFUNCTION, uws_header_cb))) return c;
    if ((c = setopt(h, CURLOPT_HEADERDATA, &t->headers))) return c;
    return setopt(h, CURLOPT_ERRORBUFFER, t->error);
}

/* The multi interface: several transfers at once (the daemon). */
static inline CURLM *uws_multi_init(const struct uws_curl_api *api) {
    return ((CURLM *(*)(void))api->multi_init)();
}
static inline CURLMcode uws_multi_add(const struct uws_curl_api *api, CURLM *m, CURL *h) {
    return ((CURLMcode (*)(CURLM *, CURL *))api->multi_add_handle)(m, h);
}
static inline CURLMcode uws_multi_remove(const struct uws_curl_api *api, CURLM *m, CURL *h) {
    return ((CURLMcode (*)(CURLM *, CURL *))api->multi_remove_handle)(m, h);
}
static inline CURLMcode uws_multi_perform(const struct uws_curl_api *api, CURLM *m, int *running) {
    return ((CURLMcode (*)(CURLM *, int *))api->multi_perform)(m, running);
}
/* Waits for the transfers and for the caller's descriptors in `extra` (any number:
 * the caller owns the array), at most timeout_ms. 0 on success. */
static inline int uws_multi_poll(const struct uws_curl_api *api, CURLM *m, struct curl_waitfd *extra, unsigned n,
                                 int timeout_ms) {
    int numfds = 0;
    CURLMcode c = ((CURLMcode (*)(CURLM *, struct curl_waitfd *, unsigned int, int, int *))api->multi_poll)(
        m, n ? extra : NULL, n, timeout_ms, &numfds);
    return c == CURLM_OK ? 0 : -1;
}
/* The next finished transfer: its handle and result; 0 when none is left. */
static inline int uws_multi_next_done(const struct uws_curl_api *api, CURLM *m, CURL **h, CURLcode *result) {
    int left = 0;
    CURLMsg *msg;
    while ((msg = ((CURLMsg *(*)(CURLM *, int *))api->multi_info_read)(m, &left))) {
        if (msg->msg == CURLMSG_DONE) {
            *h = msg->easy_handle;
            *result = msg->data.result;
            return 1;
        }
    }
    return 0;
}
static inline void uws_multi_cleanup(const struct uws_curl_api *api, CURLM *m) {
    ((CURLMcode (*)(CURLM *))api->multi_cleanup)(m);
}
static inline CURLMcode uws_multi_setopt_long(const struct uws_curl_api *api, CURLM *m, CURLMoption o, long v) {
    return ((CURLMcode (*)(CURLM *, CURLMoption, ...))api->multi_setopt)(m, o, v);
}

#endif
