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
