"""The rules Sentry's ingestion applies to a transaction and its envelope's sampling
context, as a checker (Relay: relay-event-normalization's transaction validation,
relay-sampling/src/dsc.rs; Sentry's develop docs "Dynamic Sampling Context"). The
normaliser (relay.py) checks the payload's fields; these are the rules it applies to
a transaction that it reports by raising, and the envelope header it never sees."""
import json
import re
import time

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
DSC_KEYS = {"trace_id", "public_key", "sample_rate", "sample_rand", "sampled", "release", "environment", "transaction",
            "user_segment", "replay_id", "org_id"}


def ts(v):
    """A timestamp as Relay reads it: a number, or an RFC 3339 string."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        from datetime import datetime
        return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
    return None


def problems(envelope, now=None):
    """What Relay would refuse in a transaction envelope (bytes): [] when none."""
    now = now or time.time()
    out = []
    lines = envelope.split(b"\n")
    header = json.loads(lines[0])
    item = json.loads(lines[1])
    if item.get("type") != "transaction":
        return ["item type %r is not transaction" % item.get("type")]
    t = json.loads(b"\n".join(lines[2:])[: item["length"]])
    if header.get("event_id") != t.get("event_id"):
        out.append("envelope event_id differs from the payload's")
    if t.get("type") != "transaction":
        out.append("payload type is not transaction")
    start, end = ts(t.get("start_timestamp")), ts(t.get("timestamp"))
    if start is None or end is None:
        out.append("start_timestamp and timestamp are required")
    elif end < start:
        out.append("timestamp before start_timestamp")
    elif end < now - 5 * 86400 or end > now + 60:
        out.append("timestamp outside Relay's window (5 days back, 60 s ahead)")
    trace = (t.get("contexts") or {}).get("trace")
    if not isinstance(trace, dict):
        out.append("no contexts.trace")
    else:
        if not isinstance(trace.get("trace_id"), str) or not HEX32.match(trace["trace_id"]) or set(trace["trace_id"]) == {"0"}:
            out.append("trace_id not 32 hex, or all zeros")
        if not isinstance(trace.get("span_id"), str) or not HEX16.match(trace["span_id"]) or set(trace["span_id"]) == {"0"}:
            out.append("span_id not 16 hex, or all zeros")
        if trace.get("parent_span_id") is not None and not HEX16.match(str(trace["parent_span_id"])):
            out.append("parent_span_id not 16 hex")
        if not trace.get("op"):
            out.append("no op (Relay makes it 'default')")
    for s in t.get("spans") or []:
        if ts(s.get("timestamp")) is None or ts(s.get("start_timestamp")) is None or ts(s["timestamp"]) < ts(s["start_timestamp"]):
            out.append("a span ends before it starts, or has no times")
    if not t.get("transaction"):
        out.append("no name (Relay makes it '<unlabeled transaction>')")
    dsc = header.get("trace")
    if dsc is not None:
        if not isinstance(dsc, dict):
            out.append("trace header is not an object")
        else:
            for k, v in dsc.items():
                if not isinstance(v, str):
                    out.append("trace header %s is not a string (Relay ignores the whole header)" % k)
            for k in ("trace_id", "public_key"):
                if k not in dsc:
                    out.append("trace header without %s" % k)
            if isinstance(dsc.get("sample_rand"), str) and not re.match(r"^(0(\.\d+)?|1(\.0+)?)$", dsc["sample_rand"]):
                out.append("sample_rand is not a number from 0 to 1")
            if trace and dsc.get("trace_id") not in (None, trace.get("trace_id")):
                out.append("trace header's trace_id differs from the transaction's")
    return out
