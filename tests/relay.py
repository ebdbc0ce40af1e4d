"""Sentry's own event normaliser (sentry-relay's StoreNormalizer), offline."""
import json

from sentry_relay.processing import StoreNormalizer

_normalizer = StoreNormalizer(project_id=1, client="uwsgi-sentry/test", key_id="1", protocol_version="7",
                              enable_trimming=True, remove_other=True)


def normalize(payload):
    """Returns (normalised event, list of problems). A conformant event has no problems:
    no `errors` entry and no error recorded anywhere in `_meta`."""
    if isinstance(payload, (dict, list)):
        payload = json.dumps(payload).encode()
    event = _normalizer.normalize_event(raw_event=payload)
    problems = list(event.get("errors") or [])

    def walk(meta, path):
        if isinstance(meta, dict):
            for k, v in meta.items():
                if k == "" and isinstance(v, dict) and v.get("err"):
                    problems.append({"path": path, "err": v["err"]})
                else:
                    walk(v, path + "." + k if path else k)

    walk(event.get("_meta") or {}, "")
    return event, problems


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
