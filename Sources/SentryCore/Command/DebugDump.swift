// `debug`: the request and the answer on stderr, one diagnostic line each, with the
// DSN's key and secret masked.
import CurlHTTP

extension CLI {
    func debugRequest(_ r: HTTPRequest, _ redact: Redactor) {
        System.diagnostic("debug: > POST \(redact(r.url))")
        for h in r.headers { System.diagnostic("debug: > \(redact(h))") }
        for line in String(decoding: r.body, as: UTF8.self).split(separator: "\n") {
            System.diagnostic("debug: > \(redact(String(line)))")
        }
    }

    func debugResponse(_ r: HTTPResponse, _ redact: Redactor) {
        System.diagnostic("debug: < HTTP \(r.status)")
        for h in r.headers { System.diagnostic("debug: < \(h.name): \(redact(h.value.replacingNewlines()))") }
        for line in r.body.split(separator: "\n") { System.diagnostic("debug: < \(redact(String(line)))") }
    }
}
