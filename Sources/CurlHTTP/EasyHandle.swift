// The only Swift that touches libcurl. CCurl is an `internal import` and this module
// is built with library evolution; only its compiler is shown the shim's module
// map, so `import CCurl` anywhere else does not compile and no curl type can appear
// in this module's interface. SentryCore sees HTTPRequest in, RawResponse or
// TransferError out. libcurl is loaded here, on the first transfer, never at start-up.
internal import CCurl

/// libcurl's entry points, filled by uws_curl_load on first use.
let curlAPI: UnsafeMutablePointer<uws_curl_api> = {
    let p = UnsafeMutablePointer<uws_curl_api>.allocate(capacity: 1)
    p.initialize(to: uws_curl_api())
    return p
}()

/// One libcurl easy handle. A sender uses it once; a flusher keeps it for every
/// envelope, so they share one connection (keep-alive, one TLS handshake).
public final class EasyHandle {
    let h: UnsafeMutableRawPointer
    /// Where the answer of the transfer in progress goes (libcurl holds a pointer to it).
    let transfer: UnsafeMutablePointer<uws_transfer>
    /// The request's header list, alive until the transfer ends.
    var headerList: UnsafeMutablePointer<curl_slist>? = nil
    /// The TLS options of the last request prepared; nil before the first.
    private var lastTLS: TLSOptions? = nil

    /// What a request sets only when it differs from libcurl's default.
    private struct TLSOptions: Equatable { var verify: Bool; var caFile: String? }
    /// Everything of the last request but its body, as set on the handle (nil: set
    /// nothing yet, or a setting failed).
    private var lastFixed: Fixed? = nil
    private struct Fixed: Equatable { var url: String; var headers: [String]; var milliseconds: Int; var tls: TLSOptions }

    /// nil when libcurl cannot be loaded (or cannot make a handle).
    public init?() {
        guard uws_curl_load(curlAPI) == 0, let h = uws_easy_init(curlAPI) else { return nil }
        self.h = h
        transfer = .allocate(capacity: 1)
    }

    deinit {
        uws_easy_cleanup(curlAPI, h)
        uws_slist_free_all(curlAPI, headerList)
        transfer.deallocate()
    }

    public static func perform(_ request: HTTPRequest) -> Result<RawResponse, TransferError> {
        guard let handle = EasyHandle() else { return .failure(.libraryMissing) }
        return handle.perform(request)
    }

    public func perform(_ request: HTTPRequest) -> Result<RawResponse, TransferError> {
        if let failure = prepare(request) { return .failure(failure) }
        return finish(uws_easy_perform(curlAPI, h))
    }

    /// Sets every option for `request`; a refused option is a setup failure, never
    /// silently ignored (a TLS or protocol option that did not take would change
    /// what we send and to whom).
    func prepare(_ request: HTTPRequest) -> TransferError? {
        let api = curlAPI
        var failed: (String, CURLcode)? = nil
        func check(_ what: String, _ code: CURLcode) {
            if code != CURLE_OK && failed == nil { failed = (what, code) }
        }
        // Options stay set on the handle from one transfer to the next: those that are
        // the same as the last request's (a daemon's every request to one project) are
        // not set again (their setting, the header list made again, was ~15,000
        // instructions a request). Only the body is the request's own.
        let fixed = Fixed(url: request.url, headers: request.headers, milliseconds: clampedMilliseconds(request.timeout),
                          tls: TLSOptions(verify: request.verifyTLS, caFile: request.caFile))
        if fixed != lastFixed {
            lastFixed = nil
            // Only an option a request sets when it differs from the default needs a reset
            // to go, and libcurl's reset clears the whole handle (a memset of kilobytes):
            // done only when those differ from the last request's.
            if lastTLS != fixed.tls {
                if lastTLS != nil { uws_easy_reset(api, h) }  // options go; the connection stays
                lastTLS = fixed.tls
            }
            uws_slist_free_all(api, headerList)
            headerList = nil
            for header in request.headers {
                guard let list = uws_slist_append(api, headerList, header) else { return .setup("out of memory for headers") }
                headerList = list
            }
            let ms = fixed.milliseconds
            check("url", uws_setopt_string(api, h, CURLOPT_URL, request.url))
            check("protocols", uws_setopt_http_only(api, h))
            check("nosignal", uws_setopt_long(api, h, CURLOPT_NOSIGNAL, 1))  // never SIGALRM (uWSGI may block it)
            check("connect timeout", uws_setopt_long(api, h, CURLOPT_CONNECTTIMEOUT_MS, ms))
            check("timeout", uws_setopt_long(api, h, CURLOPT_TIMEOUT_MS, ms))
            check("post", uws_setopt_long(api, h, CURLOPT_POST, 1))
            check("headers", uws_setopt_slist(api, h, CURLOPT_HTTPHEADER, headerList))
            if !request.verifyTLS {
                check("no_verify", uws_setopt_long(api, h, CURLOPT_SSL_VERIFYPEER, 0))
                check("no_verify", uws_setopt_long(api, h, CURLOPT_SSL_VERIFYHOST, 0))
            }
            if let ca = request.caFile {
                // CAINFO replaces the default bundle; CAPATH keeps the system CAs trusted too.
                check("ca_file", uws_setopt_string(api, h, CURLOPT_CAINFO, ca))
                check("ca_file", uws_setopt_string(api, h, CURLOPT_CAPATH, "/etc/ssl/certs"))
            }
            if failed == nil { lastFixed = fixed }
        }
        check("capture", uws_capture_into(api, h, transfer))  // after a reset: it clears the callbacks too
        check("body size", uws_setopt_offset(api, h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
        request.body.withUnsafeBufferPointer { buf in
            buf.baseAddress.map { base in
                base.withMemoryRebound(to: CChar.self, capacity: max(1, buf.count)) {
                    check("body", uws_setopt_string(api, h, CURLOPT_COPYPOSTFIELDS, $0))
                }
            }
        }
        if let (what, code) = failed {
            lastFixed = nil
            return .setup("libcurl refused the \(what) option: \(String(cString: uws_easy_strerror(api, code)))")
        }
        return nil
    }

    /// The answer, once libcurl says the transfer ended with `code`.
    func finish(_ code: CURLcode) -> Result<RawResponse, TransferError> {
        let status = uws_getinfo_long(curlAPI, h, CURLINFO_RESPONSE_CODE)
        // A body past UWS_BODY_MAX was cut on purpose: the status and headers came.
        let cutOnPurpose = code == CURLE_WRITE_ERROR && transfer.pointee.body.overflow != 0
        if (code != CURLE_OK && !cutOnPurpose) || status <= 0 {
            let detail = String(cString: uws_transfer_error(transfer))
            let text = detail.isEmpty ? String(cString: uws_easy_strerror(curlAPI, code)) : detail
            return .failure(.network(text))
        }
        return .success(RawResponse(status: status, headerBytes: EasyHandle.bytes(of: &transfer.pointee.headers),
                                    bodyBytes: EasyHandle.bytes(of: &transfer.pointee.body),
                                    bodyCut: cutOnPurpose))
    }

    private static func bytes(of capture: inout uws_capture) -> [UInt8] {
        let count = capture.len
        let base = UnsafeRawPointer(uws_capture_bytes(&capture)!)
        return Array(UnsafeRawBufferPointer(start: base, count: count))
    }
}
