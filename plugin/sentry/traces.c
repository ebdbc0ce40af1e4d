/* Traces: every sampled request a Sentry transaction, from uWSGI itself, with no SDK.

   The decision is made once per request, in the worker, when it ends, before any
   cost is paid for an unsampled one (which is only counted): the incoming
   sentry-trace's flag first (-1: always, -0: never), else the rate against the
   trace's sample_rand: the incoming baggage's, else one made from the incoming trace
   id (every worker and service decides a trace alike), else a random one. A sampled
   request is one frame on the lines lane (a flood of requests never takes an event's
   place): who served it since when, its end as uWSGI took it, status, size and
   variables. The daemon makes the transaction; nothing else happens here. */

#include "sentry.h"
#include <math.h>

static uint64_t rng;          /* xorshift64*, seeded per worker */
static struct sentry_sdk_answer traces_asked;

/* sentry-traces = RATE [always]: 0 to 1, like traces_sample_rate. */
void sentry_opt_traces(char *opt, char *value, void *flag) {
	(void) flag;
	char *end = NULL, *rate = uwsgi_str(value), *space = strchr(rate, ' ');
	if (space) *space = 0;
	double r = strtod(rate, &end);
	if (!strcasecmp(rate, "off") || !strcasecmp(rate, "false")) { sentry.traces = -1; free(rate); return; }
	if (!end || *end || end == rate || !(r >= 0 && r <= 1) || (space && strcmp(space + 1, "always"))) {
		uwsgi_log("[sentry] %s = %s: expected a sample rate from 0 to 1, then optionally always\n", opt, value);
		exit(1);
	}
	sentry.traces = r;
	sentry.traces_rate = rate;
	sentry.traces_always = space != NULL;
}

static double sentry_random(void) {
	rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
	return (double) ((rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0; /* 53 bits: [0, 1) */
}

/* The first 13 hex digits of a trace id, as a fraction of 16^13: [0, 1), the same
   wherever that trace is decided. */
static int sentry_rand_of_trace(const char *id, size_t len, double *out) {
	char hex[14] = {0}, *end = NULL;
	if (len < 32) return 0;
	memcpy(hex, id, 13);
	unsigned long long n = strtoull(hex, &end, 16);
	if (!end || *end || n >= 4503599627370496ULL) return 0;
	*out = (double) n / 4503599627370496.0;
	return 1;
}

/* `sentry-sample_rand=` in the baggage (its first KiB): a number in [0, 1). */
static int sentry_baggage_rand(const char *b, uint16_t len, double *out) {
	char copy[1024], *p, *stop;
	size_t n = len < sizeof(copy) - 1 ? len : sizeof(copy) - 1;
	memcpy(copy, b, n);
	copy[n] = 0;
	if (!(p = strstr(copy, "sentry-sample_rand=")) || (p > copy && p[-1] != ',' && p[-1] != ' ')) return 0;
	*out = strtod(p + 19, &stop);
	return stop != p + 19 && (!*stop || *stop == ',' || *stop == ';' || *stop == ' ') && *out >= 0 && *out < 1;
}

/* What the daemon needs: the rate (for the requests workers never finish) and the
   route names, each value escaped for the option string (uwsgi_kvlist_parse's grammar). */
void sentry_traces_configure(void) {
	struct uwsgi_string_list *usl;
	if (sentry.traces < 0) return;
	sentry.options = uwsgi_concat3(sentry.options ? sentry.options : "", ",traces=", sentry.traces_rate);
	uwsgi_foreach(usl, sentry.traces_routes) {
		char *escaped = uwsgi_malloc(usl->len * 2 + 1), *o = escaped, *v;
		for (v = usl->value; *v; *o++ = *v++) if (*v == ',' || *v == '=' || *v == '\\') *o++ = '\\';
		*o = 0;
		sentry.options = uwsgi_concat3(sentry.options, ",traces_route=", escaped);
		free(escaped);
	}
}

/* The request's variables as uWSGI's exception packet carries them: u16le key length,
   key, u16le value length, value. */
static int sentry_add_vars(struct uwsgi_buffer *ub, struct wsgi_request *r) {
	struct uwsgi_buffer *vars = uwsgi_buffer_new(1024);
	int i, failed = 0;
	for (i = 0; i + 1 < r->var_cnt && !failed; i += 2) {
		uint16_t k = (uint16_t) r->hvec[i].iov_len, v = (uint16_t) r->hvec[i + 1].iov_len;
		failed = uwsgi_buffer_u16le(vars, k) || uwsgi_buffer_append(vars, r->hvec[i].iov_base, k) ||
		         uwsgi_buffer_u16le(vars, v) || uwsgi_buffer_append(vars, r->hvec[i + 1].iov_base, v);
	}
	failed = failed || sentry_field(ub, "vars", vars->buf, vars->pos);
	uwsgi_buffer_destroy(vars);
	return failed;
}

/* uwsgi_sentry_after_request (requests.c) calls it for every request. */
void sentry_trace_request(struct wsgi_request *r, int crashed) {
	uint16_t tlen = 0, plen = 0, blen = 0;
	double rand = 0;
	const char *source = "trace";
	/* auto: not when the app's own sentry-sdk traces (requests.c asks it). */
	if (sentry.traces < 0 || (!sentry.traces_always &&
	                          sentry_app_sdk(r, "sentry_pyframes_sdk_traces", &traces_asked, &sentry.shared->app_sdk_traces))) return;
	char *st = uwsgi_get_var(r, "HTTP_SENTRY_TRACE", 17, &tlen);
	char *tp = uwsgi_get_var(r, "HTTP_TRACEPARENT", 16, &plen);
	char *bg = uwsgi_get_var(r, "HTTP_BAGGAGE", 12, &blen);
	/* TRACEID-SPANID-F: 32 + 1 + 16 + 1 + 1 */
	int flag = st && tlen == 51 && st[32] == '-' && st[49] == '-' && (st[50] == '0' || st[50] == '1') ? st[50] - '0' : -1;
	if (bg && sentry_baggage_rand(bg, blen, &rand)) source = "baggage";
	else if (!(st && sentry_rand_of_trace(st, tlen, &rand)) && !(tp && plen >= 35 && sentry_rand_of_trace(tp + 3, plen - 3, &rand))) {
		rand = sentry_random();
		source = "ours";
	}
	rand = floor(rand * 1e6) / 1e6; /* as the sampling context carries it: 6 decimals */
	if (!(flag >= 0 ? flag : rand < sentry.traces)) {
		__atomic_add_fetch(&sentry.shared->unsampled, 1, __ATOMIC_RELAXED);
		return;
	}
	char num[16];
	int n = snprintf(num, sizeof(num), "%.6f", rand);
	struct uwsgi_buffer *ub = sentry_frame("transaction");
	if (ub && (sentry_add_request(ub, r) || sentry_field_num(ub, "end_us", (int64_t) r->end_of_request) ||
	           sentry_field_num(ub, "status", r->status) || sentry_field_num(ub, "size", (int64_t) r->response_size) ||
	           sentry_field_num(ub, "wid", uwsgi.mywid) || sentry_field_num(ub, "exception", crashed) ||
	           sentry_field(ub, "rate", sentry.traces_rate, strlen(sentry.traces_rate)) ||
	           sentry_field(ub, "rand", num, (size_t) n) || sentry_field(ub, "rand_from", source, strlen(source)) ||
	           sentry_add_vars(ub, r))) {
		uwsgi_buffer_destroy(ub);
		ub = NULL;
	}
	sentry_send(ub, SENTRY_TRACE);
}

void sentry_traces_post_fork(void) {
	rng = uwsgi_micros() ^ ((uint64_t) getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	if (!rng) rng = 1;
}

/* From the master's loop: the app's own SDK, said once. */
void sentry_tell_traces(void) {
	static int told;
	if (told || sentry.traces < 0 || !__atomic_load_n(&sentry.shared->app_sdk_traces, __ATOMIC_RELAXED)) return;
	told = 1;
	uwsgi_log("[sentry] the app's own sentry-sdk traces its requests: transactions are left to it (sentry-traces = RATE always sends ours too)\n");
}
