"""The rules Sentry's ingestion applies to a cron check-in, as a checker: the
sentry_relay Python package has no check-in normaliser, and Bugsink stores none.

Read off getsentry/relay, relay-monitors/src/lib.rs (`CheckIn`, `MonitorConfig`,
`process_check_in`): serde structs without deny_unknown_fields (an unknown field is
dropped silently), SLUG_LENGTH = 50 (the slug is cut there), ENVIRONMENT_LENGTH = 64
(a longer one rejects the check-in), `schedule` required in `monitor_config`
(crontab {value: string} or interval {value: u64, unit: year|month|week|day|hour|
minute}), checkin_margin, max_runtime, failure_issue_threshold, recovery_threshold
as u64 (a fraction or a negative number fails deserialisation: the check-in is
rejected), `missed` computed by the server. `release` is in Sentry's developer
docs' payload but not in Relay's struct: it is dropped, which we accept."""
import re

UUID = re.compile(r"^[0-9a-f]{32}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TOP = {"check_in_id", "monitor_slug", "status", "environment", "duration", "monitor_config", "contexts"}
CONFIG = {"schedule", "checkin_margin", "max_runtime", "timezone", "failure_issue_threshold", "recovery_threshold", "owner"}
UNITS = {"year", "month", "week", "day", "hour", "minute"}


def u64(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 64


def problems(c):
    """What Relay would reject or drop in check-in payload `c` (a dict)."""
    out = []
    for k in c:
        if k not in TOP and k != "release":
            out.append("%s: unknown, dropped" % k)
    if not isinstance(c.get("check_in_id"), str) or not UUID.match(c["check_in_id"]):
        out.append("check_in_id: not a UUID")
    slug = c.get("monitor_slug")
    if not isinstance(slug, str) or not slug:
        out.append("monitor_slug: empty (rejected)")
    elif len(slug) > 50:
        out.append("monitor_slug: longer than 50 characters (cut)")
    if c.get("status") not in ("ok", "error", "in_progress"):
        out.append("status: %r is not ok, error or in_progress" % c.get("status"))
    env = c.get("environment")
    if env is not None and (not isinstance(env, str) or len(env) > 64):
        out.append("environment: over 64 characters (rejected)")
    d = c.get("duration")
    if d is not None and (not isinstance(d, (int, float)) or isinstance(d, bool) or d < 0):
        out.append("duration: not a number of seconds")
    mc = c.get("monitor_config")
    if mc is not None:
        for k in mc:
            if k not in CONFIG:
                out.append("monitor_config.%s: unknown, dropped" % k)
        s = mc.get("schedule")
        if not isinstance(s, dict):
            out.append("monitor_config.schedule: required")
        elif s.get("type") == "crontab":
            if not isinstance(s.get("value"), str) or set(s) != {"type", "value"}:
                out.append("monitor_config.schedule: a crontab needs a string value")
        elif s.get("type") == "interval":
            if not u64(s.get("value")) or s.get("unit") not in UNITS or set(s) != {"type", "value", "unit"}:
                out.append("monitor_config.schedule: an interval needs a whole value and a unit")
        else:
            out.append("monitor_config.schedule.type: neither crontab nor interval")
        for k in ("checkin_margin", "max_runtime", "failure_issue_threshold", "recovery_threshold"):
            if k in mc and not u64(mc[k]):
                out.append("monitor_config.%s: not a whole number (rejected)" % k)
        if "timezone" in mc and not isinstance(mc["timezone"], str):
            out.append("monitor_config.timezone: not a string")
    ctx = c.get("contexts")
    if ctx is not None:
        if set(ctx) - {"trace"}:
            out.append("contexts: only trace is kept")
        t = ctx.get("trace", {})
        if set(t) - {"trace_id"} or not UUID.match(str(t.get("trace_id", ""))):
            out.append("contexts.trace: trace_id only, a UUID")
    return out
