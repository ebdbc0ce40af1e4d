"""Validators for the envelope items Bugsink does not store (it answers 200 and drops
them), written from Relay's rules, so a recording server can check what we send the
way Sentry would read it. Each returns the list of problems (empty: accepted)."""
import datetime
import re

U32 = 2 ** 32 - 1
AGGREGATE_KEYS = {"started", "did", "exited", "errored", "abnormal", "unhandled", "crashed"}
COUNTS = ("exited", "errored", "abnormal", "unhandled", "crashed")


def rfc3339(text):
    """A datetime from an RFC 3339 UTC string, or None."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", text):
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def session_problems(payload, now=None):
    """Relay's SessionAggregates (relay-event-schema/src/protocol/session.rs): `attrs`
    with a release (required), `aggregates` of items with `started` and u32 counts;
    Relay drops sessions older than 5 days or more than 60 s ahead. And ours, from
    the issue: `started` on a minute, zero counts left out, no empty aggregate."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    out = []
    if not isinstance(payload, dict) or set(payload) - {"aggregates", "attrs"}:
        return ["not {aggregates, attrs}: %r" % (payload,)]
    attrs = payload.get("attrs")
    if not isinstance(attrs, dict) or not isinstance(attrs.get("release"), str) or not attrs["release"]:
        out.append("attrs.release missing (Relay cannot parse the item)")
    elif not isinstance(attrs.get("environment", ""), str):
        out.append("attrs.environment not a string")
    aggregates = payload.get("aggregates")
    if not isinstance(aggregates, list) or not aggregates:
        return out + ["no aggregates"]
    for a in aggregates:
        if not isinstance(a, dict) or set(a) - AGGREGATE_KEYS:
            out.append("unknown aggregate fields: %r" % (a,))
            continue
        started = rfc3339(a.get("started"))
        if started is None:
            out.append("started is not an RFC 3339 time: %r" % a.get("started"))
        elif started.second or started.microsecond:
            out.append("started is not on a minute: %s" % a["started"])
        elif not now - datetime.timedelta(days=5) <= started <= now + datetime.timedelta(seconds=60):
            out.append("started out of Relay's window: %s" % a["started"])
        for k in COUNTS:
            if k in a and (type(a[k]) is not int or not 0 < a[k] <= U32):
                out.append("%s is not a positive u32 (zero counts are left out): %r" % (k, a[k]))
        if not any(a.get(k) for k in COUNTS):
            out.append("an empty aggregate: %r" % (a,))
    return out


LEVELS = {"trace", "debug", "info", "warn", "error", "fatal"}
ATTRIBUTE_TYPES = {"string": (str,), "boolean": (bool,), "integer": (int, str), "double": (int, float)}
HEX = re.compile(r"[0-9a-f]+")


def _hex_id(value, n):
    return isinstance(value, str) and len(value) == n and HEX.fullmatch(value) and value != "0" * n


def log_problems(payload, now=None):
    """Relay's OurLog (relay-event-schema/src/protocol/ourlog): `items` of records with
    `timestamp` (seconds, a number), `trace_id` (32 hex, not zero), optional `span_id`
    (16 hex), `level` (trace, debug, info, warn, error, fatal: `warning` is not one),
    `body` (a string), `attributes` each {"value", "type"} with the value of its type;
    the container's `version` a number. And the SDKs' batching: at most 100 a batch;
    a timestamp of the last 30 days (an older one is dropped, a later one is wrong)."""
    import time
    now = now or time.time()
    if not isinstance(payload, dict) or not isinstance(payload.get("items"), list) or not payload["items"]:
        return ["no items: %r" % (payload,)]
    out = []
    if "version" in payload and type(payload["version"]) is not int:
        out.append("version is not a number")
    if len(payload["items"]) > 100:
        out.append("%d records in one envelope (SDKs send at most 100)" % len(payload["items"]))
    for r in payload["items"]:
        if not isinstance(r, dict):
            out.append("a record that is not an object")
            continue
        if type(r.get("timestamp")) not in (int, float):
            out.append("timestamp missing or not a number: %r" % r.get("timestamp"))
        elif not now - 30 * 86400 <= r["timestamp"] <= now + 120:
            out.append("timestamp %r is not within the last 30 days (Relay drops it)" % r["timestamp"])
        if not _hex_id(r.get("trace_id"), 32):
            out.append("trace_id missing or not 32 hex: %r" % r.get("trace_id"))
        if "span_id" in r and not _hex_id(r["span_id"], 16):
            out.append("span_id not 16 hex: %r" % r["span_id"])
        if r.get("level") not in LEVELS:
            out.append("level %r is not one of %s" % (r.get("level"), sorted(LEVELS)))
        if not isinstance(r.get("body"), str):
            out.append("body missing or not a string")
        for key, a in (r.get("attributes") or {}).items():
            if not isinstance(a, dict) or a.get("type") not in ATTRIBUTE_TYPES or "value" not in a:
                out.append("attribute %s is not {value, type}: %r" % (key, a))
            elif not isinstance(a["value"], ATTRIBUTE_TYPES[a["type"]]) or (a["type"] != "boolean" and type(a["value"]) is bool):
                out.append("attribute %s: %r is not a %s" % (key, a["value"], a["type"]))
    return out


def log_item_headers(bodies):
    """(item header, payload) of every `log` item in these envelope bodies."""
    import json
    out = []
    for body in bodies:
        lines = body.split(b"\n")
        for i, line in enumerate(lines[:-1]):
            if line.startswith(b"{") and b'"type":"log"' in line.replace(b" ", b""):
                header = json.loads(line)
                if header.get("type") == "log":
                    out.append((header, json.loads(lines[i + 1])))
    return out


def log_envelope_problems(header, payload):
    """The item header SDKs send: type log, item_count = the records, the content type."""
    out = log_problems(payload)
    if header.get("content_type") != "application/vnd.sentry.items.log+json":
        out.append("content_type %r" % header.get("content_type"))
    if header.get("item_count") != len(payload.get("items", [])):
        out.append("item_count %r for %d records" % (header.get("item_count"), len(payload.get("items", []))))
    return out
