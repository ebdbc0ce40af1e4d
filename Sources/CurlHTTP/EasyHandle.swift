// The only Swift that touches libcurl. CCurl is an `internal import`, so no libcurl
// type can appear in this module's interface, and SwiftPM's explicit import check
// (`make`) keeps every other target from importing CCurl: SentryCore sees
// HTTPRequest in, RawResponse or TransferError out.
// libcurl is loaded here, on the first transfer, never at start-up.
internal import CCurl

/// One libcurl easy handle. A sender uses it once; a flusher keeps it for every
/// envelope, so they share one connection (keep-alive, one TLS handshake).
public final class EasyHandle {
    /// libcurl's entry points, filled by uws_curl_load on first use.
    private static let api: UnsafeMutablePointer<uws_curl_api> = {
        let p = UnsafeMutablePointer<uws_curl_api>.allocate(capacity: 1)
        p.initialize(to: uws_curl_api())
        return p
    }()
    private let h: UnsafeMutableRawPointer

    /// nil when libcurl cannot be loaded (or cannot make a handle).
    public init?() {
        guard uws_curl_load(EasyHandle.api) == 0, let h = uws_easy_init(EasyHandle.api) else { return nil }
        self.h = h
    }

    deinit { uws_easy_cleanup(EasyHandle.api, h) }

    public static func perform(_ request: HTTPRequest) -> Result<RawResponse, TransferError> {
        guard let handle = EasyHandle() else { return .failure(.libraryMissing) }
        return handle.perform(request)
    }

    public func perform(_ request: HTTPRequest) -> Result<RawResponse, TransferError> {
        let api = EasyHandle.api
        uws_easy_reset(api, h)  // options from the previous request go; the connection stays
        let transfer = UnsafeMutablePointer<uws_transfer>.allocate(capacity: 1)
        defer { transfer.deallocate() }
        uws_capture_into(api, h, transfer)

        var list: UnsafeMutablePointer<curl_slist>? = nil
        for header in request.headers { list = uws_slist_append(api, list, header) }
        defer { uws_slist_free_all(api, list) }

        let ms = clampedMilliseconds(request.timeout)
        _ = uws_setopt_string(api, h, CURLOPT_URL, request.url)
        _ = uws_setopt_string(api, h, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = uws_setopt_long(api, h, CURLOPT_NOSIGNAL, 1)  // never SIGALRM (uWSGI may block it)
        _ = uws_setopt_long(api, h, CURLOPT_CONNECTTIMEOUT_MS, ms)
        _ = uws_setopt_long(api, h, CURLOPT_TIMEOUT_MS, ms)
        _ = uws_setopt_long(api, h, CURLOPT_POST, 1)
        _ = uws_setopt_offset(api, h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
        request.body.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                _ = uws_setopt_string(api, h, CURLOPT_COPYPOSTFIELDS, $0)
            }
        }
        _ = uws_setopt_slist(api, h, CURLOPT_HTTPHEADER, list)
        if !request.verifyTLS {
            _ = uws_setopt_long(api, h, CURLOPT_SSL_VERIFYPEER, 0)
            _ = uws_setopt_long(api, h, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let ca = request.caFile {
            // CAINFO replaces the default bundle; CAPATH keeps the system CAs trusted too.
            _ = uws_setopt_string(api, h, CURLOPT_CAINFO, ca)
            _ = uws_setopt_string(api, h, CURLOPT_CAPATH, "/etc/ssl/certs")
        }

        let code = uws_easy_perform(api, h)
        let status = uws_getinfo_long(api, h, CURLINFO_RESPONSE_CODE)
        if code != CURLE_OK || status == 0 {
            let detail = String(cString: uws_transfer_error(transfer))
            let text = detail.isEmpty ? String(cString: uws_easy_strerror(api, code)) : detail
            return .failure(.network(text))
        }
        return .success(RawResponse(status: status, headerBytes: EasyHandle.bytes(of: &transfer.pointee.headers),
                                    bodyBytes: EasyHandle.bytes(of: &transfer.pointee.body)))
    }

    private static func bytes(of capture: inout uws_capture) -> [UInt8] {
        let count = capture.len
        let base = UnsafeRawPointer(uws_capture_bytes(&capture)!)
        return Array(UnsafeRawBufferPointer(start: base, count: count))
    }
}
