// uWSGI's stats server (`stats = ADDR`, what uwsgitop reads), for a `cmd:` alarm
// that has no loader to look into the master: on a full listen queue, what every
// worker's cores were busy with. Its JSON is outside input like any other: read
// with a deadline and a size cap, parsed by JSONReader, every number checked.
// core/stats.c: `workers[].cores[]` carry `in_request`, `vars` ("KEY=VALUE") and
// `req_info.request_start` (seconds).

import Glibc

public enum StatsServer {
    /// More than any stats answer (a core's vars are at most its buffer, 4 KiB by default).
    public static let maxBytes = 8 << 20
    /// Busy cores past this many are left out of an event.
    public static let maxCores = 256

    /// Why the stats server told us nothing, for the event (so the operator sees why
    /// there is no list of busy workers).
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The busy cores at `address` (uWSGI's forms: `HOST:PORT`, `:PORT`, a UNIX
    /// socket path, `@abstract`), within `timeout` seconds.
    public static func busyCores(at address: String, timeout: Double) -> Result<[LoaderFrame.Core], Failure> {
        switch read(address, timeout: timeout) {
        case .failure(let f): return .failure(f)
        case .success(let bytes):
            do { return .success(try cores(in: bytes)) } catch let f as Failure { return .failure(f) } catch {
                return .failure(Failure(description: "\(error)"))
            }
        }
    }

    /// What the workers were busy with, from the stats server the options name (at
    /// most 2 s, or `timeout` if shorter): the cores, or why there are none.
    static func busyCores(for o: Options) -> (cores: [LoaderFrame.Core]?, problem: String?) {
        switch busyCores(at: o.statsServer ?? "", timeout: min(o.timeout, 2)) {
        case .success(let cores): return (cores, nil)
        case .failure(let why): return (nil, "\(why)")
        }
    }

    /// The cores in a request, from a stats answer (with `stats-http`, its HTTP head is skipped).
    public static func cores(in bytes: [UInt8]) throws -> [LoaderFrame.Core] {
        var body = bytes[...]
        if bytes.starts(with: Array("HTTP/".utf8)),
           let end = bytes.indices.dropLast(3).first(where: { bytes[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) }) {
            body = bytes[(end + 4)...]
        }
        let json: JSONValue
        do { json = try JSONReader.parse(Array(body)) } catch { throw Failure(description: "not JSON (\(error))") }
        guard let workers = json["workers"]?.array else { throw Failure(description: "no workers in its answer") }
        var out: [LoaderFrame.Core] = []
        for w in workers {
            for c in w["cores"]?.array ?? [] where (c["in_request"]?.number ?? 0) != 0 && out.count < maxCores {
                var vars: [String: String] = [:]
                for v in c["vars"]?.array ?? [] {
                    guard let s = v.string, let eq = s.firstIndex(of: "=") else { continue }
                    let key = String(s[..<eq])
                    if vars[key] == nil { vars[key] = String(s[s.index(after: eq)...]) }
                }
                let path = vars["PATH_INFO"].map { p in p + (vars["QUERY_STRING"].map { $0.isEmpty ? "" : "?" + $0 } ?? "") }
                // request_start: seconds since the epoch; past the year 5138 it is no time.
                let start = c["req_info"]?["request_start"]?.number.flatMap { $0 > 0 && $0 < 1e11 ? Int64($0 * 1e6) : nil }
                out.append(LoaderFrame.Core(wid: whole(w["id"]), core: whole(c["id"]), pid: whole(w["pid"]), startMicros: start,
                                            method: vars["REQUEST_METHOD"], uri: vars["REQUEST_URI"] ?? path,
                                            remote: vars["REMOTE_ADDR"]))
            }
        }
        return out
    }

    static func whole(_ v: JSONValue?) -> Int? {
        v?.number.flatMap { $0 >= 0 && $0 < 1e15 ? Int($0) : nil }
    }

    /// Everything the server says until it closes, within `timeout` and `maxBytes`.
    static func read(_ address: String, timeout: Double) -> Result<[UInt8], Failure> {
        let deadline = System.monotonic() + timeout
        let fd: Int32
        switch connect(address) {
        case .failure(let f): return .failure(f)
        case .success(let s): fd = s
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var connected = false
        while out.count < maxBytes {
            let left = deadline - System.monotonic()
            if left <= 0 { return .failure(Failure(description: "no answer from the stats server \(address) within \(timeout) s")) }
            var p = pollfd(fd: fd, events: Int16(connected ? POLLIN : POLLOUT), revents: 0)
            let ready = poll(&p, 1, Int32(min(left, 60) * 1000) + 1)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            if !connected {
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                if err != 0 { return .failure(Failure(description: "cannot reach the stats server \(address): \(String(cString: strerror(err)))")) }
                connected = true
                continue
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min($0.count, maxBytes - out.count), 0) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n < 0 { return .failure(Failure(description: "reading the stats server \(address): \(String(cString: strerror(errno)))")) }
            if n == 0 { return .success(out) }
            out += chunk[0..<n]
        }
        return .failure(Failure(description: "the stats server \(address) said more than \(maxBytes) bytes"))
    }

    /// A non-blocking socket whose connect is under way (or done).
    static func connect(_ address: String) -> Result<Int32, Failure> {
        if address.isEmpty { return .failure(Failure(description: "an empty stats address")) }
        if let colon = address.lastIndex(of: ":"), !address.hasPrefix("/"), !address.hasPrefix("@") {
            var host = String(address[..<colon])
            let port = String(address[address.index(after: colon)...])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            // uWSGI's `:9191` and `0.0.0.0:9191` listen everywhere: this host reaches them on loopback.
            if host.isEmpty || host == "0.0.0.0" { host = "127.0.0.1" } else if host == "::" { host = "::1" }
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_flags = AI_NUMERICSERV
            var list: UnsafeMutablePointer<addrinfo>?
            let rc = getaddrinfo(host, port, &hints, &list)
            guard rc == 0, let first = list else {
                return .failure(Failure(description: "the stats address \(address) does not resolve: \(String(cString: gai_strerror(rc)))"))
            }
            defer { freeaddrinfo(list) }
            return open(first.pointee.ai_family, first.pointee.ai_addr, first.pointee.ai_addrlen, address)
        }
        let opened = UnixAddress.with(address) { open(AF_UNIX, $0, $1, address) }
        return opened ?? .failure(Failure(description: "the stats socket path \(address.prefix(120)) is too long"))
    }

    private static func open(_ family: Int32, _ addr: UnsafePointer<sockaddr>, _ len: socklen_t, _ address: String) -> Result<Int32, Failure> {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { return .failure(Failure(description: "no socket for the stats server: \(String(cString: strerror(errno)))")) }
        if Glibc.connect(fd, addr, len) == 0 || errno == EINPROGRESS { return .success(fd) }
        let e = errno
        close(fd)
        return .failure(Failure(description: "cannot reach the stats server \(address): \(String(cString: strerror(e)))"))
    }
}
