// Check-ins of the app's own crons (sentry_pyframes wraps the handlers of signals
// that uwsgi.add_cron, add_timer or add_rb_timer scheduled): a frame's JSON body,
// `{"slug", "status", "check_in_id", "schedule" | "duration"}`, becomes a Sentry
// check-in as `uwsgi-sentry monitor` sends them: the monitor's settings
// (checkin_margin, max_runtime, timezone, thresholds) from the options, with the
// schedule on every in_progress; behind Sentry's rate limit for monitors; in order.

extension Intake {
    func checkIn(_ f: LoaderFrame, now: Double) {
        let o = options.options("")
        guard let dsn = options.dsn(o) else { return }
        guard let body = try? JSONReader.parse(f.body), let raw = body["slug"]?.string, let slug = CheckIn.slugify(raw),
              let status = body["status"]?.string.flatMap(CheckIn.Status.init(rawValue:)),
              let id = body["check_in_id"]?.string, Trace.isID(id, 32) else {
            once("warning: a check-in from the app's crons could not be read; dropped, and any like it", key: "unreadable check-in")
            return
        }
        if ledgers.of(dsn).blocked(.monitor, now: now) != nil {
            count(.ratelimitBackoff, .monitor, 1, dsn, now: now)
            return
        }
        var config: CheckIn.MonitorConfig? = nil
        if status == .inProgress, let schedule = body["schedule"]?.string.flatMap(CheckIn.schedule) {
            config = CheckIn.MonitorConfig(schedule: schedule, checkinMargin: o.checkinMargin, maxRuntime: o.maxRuntime,
                                           timezone: o.timezone, failureIssueThreshold: o.failureIssueThreshold,
                                           recoveryThreshold: o.recoveryThreshold)
        }
        var duration: Double? = nil
        if case .number(let d)? = body["duration"], d.isFinite, d >= 0, d < 1e9 { duration = d }
        let (release, environment) = releaseAndEnvironment(o)
        let c = CheckIn(checkInID: id, slug: slug, status: status, duration: duration, environment: environment,
                        release: release, config: config, traceID: System.eventID(from: "cron|" + id))
        // The monitor's check-ins are one sequence in the spool, as `uwsgi-sentry monitor`'s are.
        if !store(Envelope.checkIn(payload: c.json(), dsn: dsn), System.randomEventID(), .monitor, dsn, f.madeAt ?? now,
                  SpoolEntry.orderKey(slug)) {
            count(.queueOverflow, .monitor, 1, dsn, now: now)
        }
    }
}
