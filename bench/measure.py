"""What every `make bench` script shares: how many runs, how a figure is printed
(median of the runs with min and max), verdicts, and the load tools that run in
processes of their own, so the bench's own threads never share a GIL with the
client whose latency is measured.
"""
import http.client
import multiprocessing
import os
import statistics
import subprocess
import time

from support import ROOT

RUNS = int(os.environ.get("BENCH_RUNS", "3"))  # fewer only to try a script out


def spread(values, fmt="%.2f", unit=""):
    """`median (min to max)` of one figure over the runs."""
    return (fmt + "%s (" + fmt + " to " + fmt + ")") % (statistics.median(values), unit, min(values), max(values))


def verdicts(checks):
    """Prints PASS/MISS lines; the figure decides on the median of the runs."""
    for text, ok in checks:
        print("%s %s" % ("PASS" if ok else "MISS", text))
    return all(ok for _, ok in checks)


def machine():
    cpus = os.cpu_count()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    return "%d CPUs (%s), %s" % (cpus, model, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))


def install(prefix):
    """`make install PREFIX=prefix`: the snippets and the loader as users get them."""
    subprocess.run(["make", "-s", "-C", ROOT, "install", "PREFIX=" + prefix], check=True, stdout=subprocess.DEVNULL)


def release_under_test(work):
    """The installed release a bench measures: BENCH_PREFIX (its bin/, plugins and
    snippets, e.g. 0.1.0 for the "before" column), else this tree installed in `work`."""
    if os.environ.get("BENCH_PREFIX"):
        return os.environ["BENCH_PREFIX"]
    prefix = os.path.join(work, "prefix")
    install(prefix)
    return prefix


def version_of(prefix):
    """`uwsgi-sentry --version` of the installed release a bench measures."""
    return subprocess.run([os.path.join(prefix, "bin", "uwsgi-sentry"), "--version"], capture_output=True,
                          text=True).stdout.strip()


def heading(text):
    """The lines every table starts with: what ran, and on what."""
    print(text)
    print("%d runs, median (min to max); %s\n" % (RUNS, machine()))


def get(port, path, timeout=10):
    """Latency (s) of one request on a new connection; a failed one counts too."""
    start = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        c.getresponse().read()
    except (OSError, http.client.HTTPException):
        pass  # an escaped exception closes the connection: that is the response
    finally:
        c.close()
    return time.perf_counter() - start


def interleaved(instances, path, batches, per_batch):
    """Latencies of requests to `path` (`path` % n when it has a %d), one at a time,
    the instances in turn in `batches` batches of `per_batch` each (so drift in the
    machine hits them alike)."""
    lat = {name: [] for name in instances}
    n = 0
    for _ in range(batches):
        for name, u in instances.items():
            for _ in range(per_batch):
                n += 1
                lat[name].append(get(u.port, path % n if "%" in path else path))
    return lat


def start_warm(instances, path, requests):
    """Starts every instance, then warms each with `requests` requests to `path`."""
    for u in instances.values():
        u.start()
    time.sleep(1)
    for u in instances.values():
        for _ in range(requests):
            get(u.port, path)


def _probe(port, path, stop, out):
    lat = []
    while not stop.is_set():
        lat.append(get(port, path))
        time.sleep(0.005)
    out.put(lat)


class Probe:
    """A client in its own process: `path` one request at a time, 5 ms apart."""

    def __init__(self, port, path="/"):
        self.stop_event = multiprocessing.Event()
        self.out = multiprocessing.Queue()
        self.proc = multiprocessing.Process(target=_probe, args=(port, path, self.stop_event, self.out), daemon=True)
        self.proc.start()

    def stop(self):
        self.stop_event.set()
        lat = self.out.get(timeout=60)
        self.proc.join(10)
        return lat


def _fire(port, paths, rate, out):
    import threading
    start = time.monotonic()
    threads = []
    for i, path in enumerate(paths):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=get, args=(port, path, 30))
        t.start()
        threads.append(t)
    took = time.monotonic() - start
    for t in threads:
        t.join()
    out.put(took)


def burst(port, paths, rate):
    """Requests `paths` at `rate` per second, each on its own connection, from a
    process of its own; returns how long sending them took (s)."""
    out = multiprocessing.Queue()
    p = multiprocessing.Process(target=_fire, args=(port, list(paths), rate, out), daemon=True)
    p.start()
    took = out.get(timeout=600)
    p.join(10)
    return took


def cpu_seconds(pid):
    """User + system CPU time a process has used so far (s)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def letters(n, width=6):
    """`n` as a word of the letters g to z: no digit or hex run, day or month name that
    Grouping would mask, so every n is its own kind."""
    alphabet = "ghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(width):
        out = alphabet[n % len(alphabet)] + out
        n //= len(alphabet)
    return out


def latency_table(p50s, p99s, names, ref):
    """Prints the `an ordinary request` table (p50 and p99 per instance, each run's
    value in seconds) and returns each name's added p50 per run in ms. `ref(name)`: the
    instance a name's "added" is against, or None for a row without one."""
    print("| an ordinary request | p50 | p99 | added p50 | added p99 |")
    print("|---|---|---|---|---|")
    added = {}
    for name in names:
        base = ref(name)
        added[name] = [(a[name] - a[base or name]) * 1e3 for a in p50s]
        print("| %s | %s | %s | %s | %s |" % (
            name, spread([a[name] * 1e3 for a in p50s], "%.3f", " ms"), spread([a[name] * 1e3 for a in p99s], "%.3f", " ms"),
            "-" if base is None else spread(added[name], "%+.4f", " ms"),
            "-" if base is None else spread([(a[name] - a[base]) * 1e3 for a in p99s], "%+.3f", " ms")))
    print()
    return added

