"""Sentry's own event normaliser (sentry-relay's StoreNormalizer) and data scrubber,
offline, as oracles.

CAUTION: with remove_other=True the normaliser DROPS unknown or misspelled fields
without an error. So `normalize` also compares the field paths of its output with
the input's: a path that went missing is a problem, unless it is one of the
normaliser's known moves (below)."""
import json

from sentry_relay import convert_datascrubbing_config, pii_strip_event
from sentry_relay.processing import StoreNormalizer

_normalizer = StoreNormalizer(project_id=1, client="uwsgi-sentry/test", key_id="1", protocol_version="7",
                              enable_trimming=True, remove_other=True)

# A project's default data-scrubbing settings (what sentry.io applies unless told otherwise).
_scrubbing = convert_datascrubbing_config({"scrubData": True, "scrubDefaults": True, "scrubIpAddresses": False,
                                           "sensitiveFields": [], "excludeFields": []})


def paths(value, prefix=""):
    """Every leaf's path: `a.b`, lists as `a.b[]` (index-free, so reordering is no loss)."""
    if isinstance(value, dict):
        out = set()
        for k, v in value.items():
            out |= paths(v, prefix + "." + k if prefix else k)
        return out or {prefix}
    if isinstance(value, list):
        out = set()
        for v in value:
            out |= paths(v, prefix + "[]")
        return out or {prefix}
    return {prefix}


def moved(path):
    """Paths the normaliser legitimately rewrites: objects it turns into pair lists
    (tags, headers, query string, env), the deprecated `message` (-> logentry), our
    server_name (-> tags), breadcrumbs' timestamps (-> floats)."""
    return (path.startswith(("tags.", "request.headers.", "request.query_string", "request.env.", "user.data."))
            or path in ("message", "server_name"))


def normalize(payload):
    """Returns (normalised event, list of problems). A conformant event has none: no
    `errors` entry, no error anywhere in `_meta`, and no input field silently dropped."""
    raw = json.loads(payload) if isinstance(payload, (bytes, str)) else payload
    event = _normalizer.normalize_event(raw_event=json.dumps(raw).encode())
    problems = list(event.get("errors") or [])

    def walk(meta, path):
        if isinstance(meta, dict):
            for k, v in meta.items():
                if k == "" and isinstance(v, dict) and v.get("err"):
                    problems.append({"path": path, "err": v["err"]})
                else:
                    walk(v, path + "." + k if path else k)

    walk(event.get("_meta") or {}, "")
    kept = paths({k: v for k, v in event.items() if k != "_meta"})
    for p in sorted(paths(raw) - kept):
        if not moved(p):
            problems.append({"path": p, "err": "dropped by the normaliser (unknown or misspelled field?)"})
    return event, problems


def scrubbed_differences(payload):
    """What Sentry's default data scrubber would still change in the normalised event:
    [(path, before, after)]; empty when we scrubbed at least as well."""
    event, _ = normalize(payload)
    event = {k: v for k, v in event.items() if k != "_meta"}
    after = pii_strip_event(_scrubbing, json.loads(json.dumps(event)))

    def diff(a, b, path=""):
        out = []
        if isinstance(a, dict) and isinstance(b, dict):
            for k in set(a) | set(b):
                if k != "_meta":
                    out += diff(a.get(k), b.get(k), path + "." + str(k))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                out += diff(x, y, "%s[%d]" % (path, i))
        elif a != b:
            out.append((path, a, b))
        return out
    return diff(event, after)


def payload_of(envelope):
    """The event item of an envelope (header line, item header, payload)."""
    lines = envelope.split(b"\n")
    header, item = json.loads(lines[0]), json.loads(lines[1])
    rest = b"\n".join(lines[2:])
    body = rest[: item["length"]]
    assert len(body) == item["length"] and rest[item["length"]:] == b"\n", "length must equal the payload's bytes"
    event = json.loads(body)
    assert header["event_id"] == event["event_id"]
    return body
