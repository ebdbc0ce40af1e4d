"""`make bench` (second half): what uwsgi-sentry costs uWSGI while Sentry is slow.

Three uWSGI instances of the same app run side by side: without uwsgi-sentry, with
the `sentry` exception handler, and with the `sentry:` route action on the same
failing endpoint. Sentry is a local server that answers every request after 2 s.
Requests go to the three in interleaved batches, one at a time, and the per-request
latency is compared at p50 and p99. Then 200 exceptions a second for 5 s go to the
exception-handler instance, and we count what reached the slow server: the master's
exception thread keeps up when every exception arrives.
"""
import http.client
import http.server
import os
import socketserver
import statistics
import sys
import threading
import time

from support import BIN, PLUGINS, ROOT, percentile
from uwsgi_harness import UWSGI

BATCHES = int(os.environ.get("BENCH_BATCHES", "10"))
PER_BATCH = int(os.environ.get("BENCH_PER_BATCH", "200"))
RATE, SECONDS = 200, 5


class SlowSentry(http.server.BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with SlowSentry.lock:
            SlowSentry.received += 1
        time.sleep(2)
        body = b'{"id":"00000000000000000000000000000000"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 2048


def timed_get(port, path):
    start = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        c.getresponse().read()
    except (OSError, http.client.HTTPException):
        pass  # an escaped exception closes the connection: that is the response
    finally:
        c.close()
    return time.perf_counter() - start


def main():
    sink = Server(("127.0.0.1", 0), SlowSentry)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:%d/1" % sink.server_address[1]
    work = os.path.join(ROOT, ".work", "bench-uwsgi")
    # Every event is really sent (budget=0 below): this measures the handler and the
    # senders, not the storm budget, with state of its own.
    env = dict(os.environ, SENTRY_DSN=dsn, UWSGI_SENTRY_STATE=os.path.join(work, "state"))
    common = ["plugin-dir = " + PLUGINS, "sentry-sender = " + BIN, "listen = 1024"]
    configs = {
        "without uwsgi-sentry": [],
        "exception handler": ["plugins = sentry", "exception-handler = sentry:logger=bench,budget=0"],
        "sentry: route action": ["plugins = sentry",
                                 "route = ^/value sentry:logger=bench,budget=0,message=route ${REQUEST_URI}"],
    }
    instances = {name: UWSGI(os.path.join(work, str(i)), common + lines, env, workers=2)
                 for i, (name, lines) in enumerate(configs.items())}
    try:
        for u in instances.values():
            u.start()
        for u in instances.values():
            for _ in range(50):
                timed_get(u.port, "/value?warmup")
        lat = {name: [] for name in instances}
        n = 0
        for _ in range(BATCHES):
            for name, u in instances.items():
                for _ in range(PER_BATCH):
                    n += 1  # a distinct URI: uWSGI folds identical alarm messages
                    lat[name].append(timed_get(u.port, "/value?bench-%d" % n))

        base50, base99 = percentile(lat["without uwsgi-sentry"], 50), percentile(lat["without uwsgi-sentry"], 99)
        print("%d requests each to a failing endpoint, %d interleaved batches; Sentry answers after 2 s\n"
              % (BATCHES * PER_BATCH, BATCHES))
        print("| uWSGI | p50 | p99 | added p50 | added p99 |")
        print("|---|---|---|---|---|")
        verdicts = []
        for name, values in lat.items():
            p50, p99 = percentile(values, 50), percentile(values, 99)
            print("| %s | %.3f ms | %.3f ms | %+.3f ms | %+.3f ms |" % (name, p50 * 1e3, p99 * 1e3,
                                                                      (p50 - base50) * 1e3, (p99 - base99) * 1e3))
            if name != "without uwsgi-sentry":
                verdicts.append(("%s adds <= 1 ms at p50" % name, p50 - base50 <= 0.001))

        # Throughput: 200 exceptions a second for 5 s against the exception handler.
        time.sleep(3)  # let the latency run's senders finish
        u = instances["exception handler"]
        before = SlowSentry.received
        total = RATE * SECONDS
        start = time.monotonic()
        threads = []
        for i in range(total):
            delay = start + i / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            t = threading.Thread(target=timed_get, args=(u.port, "/value?rate"))
            t.start()
            threads.append(t)
        sent_in = time.monotonic() - start
        for t in threads:
            t.join()
        deadline = time.monotonic() + 20
        while SlowSentry.received - before < total and time.monotonic() < deadline:
            time.sleep(0.1)
        got = SlowSentry.received - before
        print("\n%d exceptions in %.1f s (%.0f/s) through the exception handler: %d reached Sentry"
              % (total, sent_in, total / sent_in, got))
        verdicts.append(("exception thread keeps up with %d exceptions/s" % RATE, got == total))
        print()
        for text, ok in verdicts:
            print("%s %s" % ("PASS" if ok else "MISS", text))
    finally:
        for u in instances.values():
            u.stop()
        sink.shutdown()


if __name__ == "__main__":
    sys.exit(main())
