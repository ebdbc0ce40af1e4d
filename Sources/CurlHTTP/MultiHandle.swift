// Several transfers at once, for the daemon: libcurl's multi interface, bounded,
// over connections it keeps alive. `run` waits in curl_multi_poll for the network
// AND the caller's descriptors (as many as it passes), so the daemon's loop
// (SentryCore/Daemon/Loop.swift) waits in one call for everything.
internal import CCurl

public final class MultiHandle {
    let m: UnsafeMutableRawPointer
    /// Transfers in flight, by their easy handle.
    private var inFlight: [UnsafeMutableRawPointer: (tag: Int, handle: EasyHandle)] = [:]
    /// Easy handles to use again (their buffers stay allocated).
    private var idle: [EasyHandle] = []

    /// nil when libcurl cannot be loaded.
    public init?(maxConnections: Int) {
        guard uws_curl_load(curlAPI) == 0, let m = uws_multi_init(curlAPI) else { return nil }
        self.m = m
        let n = max(1, min(maxConnections, 64))
        _ = uws_multi_setopt_long(curlAPI, m, CURLMOPT_MAX_TOTAL_CONNECTIONS, n)
        _ = uws_multi_setopt_long(curlAPI, m, CURLMOPT_MAX_HOST_CONNECTIONS, n)
        _ = uws_multi_setopt_long(curlAPI, m, CURLMOPT_MAXCONNECTS, n)
    }

    deinit {
        for h in inFlight.keys { _ = uws_multi_remove(curlAPI, m, h) }
        inFlight.removeAll()
        idle.removeAll()
        uws_multi_cleanup(curlAPI, m)
    }

    public var running: Int { inFlight.count }

    /// Starts `request`; its result comes back from `run` with `tag`. A request
    /// libcurl will not take fails here, at once.
    public func start(_ request: HTTPRequest, tag: Int) -> TransferError? {
        guard let handle = idle.popLast() ?? EasyHandle() else { return .libraryMissing }
        if let failure = handle.prepare(request) { idle.append(handle); return failure }
        guard uws_multi_add(curlAPI, m, handle.h) == CURLM_OK else {
            idle.append(handle)
            return .setup("libcurl would not start another transfer")
        }
        inFlight[handle.h] = (tag, handle)
        return nil
    }

    /// Moves every transfer on, waiting up to `timeoutMs` for the network or for one
    /// of `fds` to be readable. Returns the transfers that ended and the readable fds.
    public func run(waitingOn fds: [Int32], timeoutMs: Int32) -> (finished: [(tag: Int, result: Result<RawResponse, TransferError>)], readable: [Int32]) {
        var still: Int32 = 0
        _ = uws_multi_perform(curlAPI, m, &still)
        var waits = fds.map { curl_waitfd(fd: $0, events: Int16(CURL_WAIT_POLLIN), revents: 0) }
        let waited = waits.withUnsafeMutableBufferPointer {
            uws_multi_poll(curlAPI, m, $0.baseAddress, UInt32($0.count), max(0, timeoutMs))
        }
        _ = uws_multi_perform(curlAPI, m, &still)
        var finished: [(Int, Result<RawResponse, TransferError>)] = []
        var h: UnsafeMutableRawPointer? = nil
        var code = CURLE_OK
        while uws_multi_next_done(curlAPI, m, &h, &code) != 0 {
            guard let h, let t = inFlight.removeValue(forKey: h) else { continue }
            _ = uws_multi_remove(curlAPI, m, h)
            finished.append((t.tag, t.handle.finish(code)))
            idle.append(t.handle)
        }
        let readable = waited != 0 ? [] : waits.filter { $0.revents & Int16(CURL_WAIT_POLLIN) != 0 }.map(\.fd)
        return (finished, readable)
    }
}
