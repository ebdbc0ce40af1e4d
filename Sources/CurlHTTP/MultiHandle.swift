// Several transfers at once, for the daemon: libcurl's multi interface, bounded,
// over connections it keeps alive. The daemon's own file descriptors (the loader's
// channel, inotify, signals) are waited on in the same poll, so one thread does it all.
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
        for (h, t) in inFlight { _ = uws_multi_remove(curlAPI, m, h); _ = t }
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
        var ids = fds.prefix(8).map { Int32($0) }
        var revents = [Int16](repeating: 0, count: ids.count)
        let waited = ids.withUnsafeMutableBufferPointer { f in
            revents.withUnsafeMutableBufferPointer { r in
                uws_multi_poll_fds(curlAPI, m, f.baseAddress, r.baseAddress, UInt32(f.count), max(0, timeoutMs))
            }
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
        if waited != 0 { ids.removeAll() }
        let readable = zip(ids, revents).filter { $0.1 & Int16(CURL_WAIT_POLLIN) != 0 }.map(\.0)
        return (finished, readable)
    }
}
