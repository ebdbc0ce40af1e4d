// The job under `monitor` (MonitorCommand.swift): started with none of our blocked
// or ignored signals, its output copied through (and its last lines kept when asked),
// the signals uWSGI and operators send passed on to it, its end read as a status.
import Glibc

extension MonitorRun {
    struct SpawnError: Error { var code: Int32; var text: String }

    func spawn(_ command: [String], capture: Bool, pipes: inout [(fd: Int32, to: Int32)]) -> Result<pid_t, SpawnError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var writeEnds: [Int32] = []
        // Ours close after the spawn; the job's copies (dup2) stay, the originals go at exec (CLOEXEC).
        defer { for fd in writeEnds { close(fd) } }
        if capture {
            for target in [Int32(1), 2] {
                var p: [Int32] = [0, 0]
                guard pipe(&p) == 0 else { continue }
                for fd in p { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                posix_spawn_file_actions_adddup2(&actions, p[1], target)
                pipes.append((p[0], target))
                writeEnds.append(p[1])
            }
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attr, &none)       // the job gets no blocked signal of ours
        posix_spawnattr_setsigdefault(&attr, &defaults) // nor our ignored SIGPIPE
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, command[0], &actions, &attr, &argv, environ)
        if rc != 0 {
            for p in pipes { close(p.fd) }
            pipes.removeAll()
            return .failure(SpawnError(code: rc, text: String(cString: strerror(rc))))
        }
        return .success(pid)
    }

    /// Passes uWSGI's and the operator's signals on to the job (not those a terminal
    /// sent to the whole group: the job has its own copy of those).
    func forwardSignals(_ fd: Int32, to pid: pid_t) {
        var info = [UInt8](repeating: 0, count: 128)  // struct signalfd_siginfo
        while info.withUnsafeMutableBytes({ read(fd, $0.baseAddress, 128) }) == 128 {
            let signo = Int32(info[0]) | Int32(info[1]) << 8
            let code = Int32(bitPattern: UInt32(info[8]) | UInt32(info[9]) << 8 | UInt32(info[10]) << 16 | UInt32(info[11]) << 24)
            if signo == SIGCHLD { continue }
            if code != 0x80 { kill(pid, signo) }  // SI_KERNEL: from the terminal, to every process of the group
        }
    }

    /// Copies what the job wrote through (it must still reach uWSGI's log) and keeps
    /// the last lines. False at the end of its output.
    mutating func pump(_ fd: Int32, to target: Int32, into pending: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return true }
        guard n > 0 else { return false }
        System.write(target, Array(chunk[0..<n]))
        pending += chunk[0..<n]
        while let nl = pending.firstIndex(of: 10) {
            remember(Array(pending[..<nl]))
            pending.removeFirst(nl + 1)
        }
        if pending.count > 4096 { remember(pending); pending.removeAll() }
        return true
    }

    mutating func remember(_ line: [UInt8]) {
        output.append(Event.clip(String(decoding: line, as: UTF8.self), Breadcrumbs.maxLineLength))
        if output.count > options.outputLines { output.removeFirst(output.count - options.outputLines) }
    }

    func poll(_ fds: [Int32], timeoutMs: Int32) -> [Int32] {
        var p = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        guard Glibc.poll(&p, nfds_t(p.count), timeoutMs) > 0 else { return [] }
        return p.filter { $0.revents != 0 }.map(\.fd)
    }

    func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        return signal == 0 ? "exit code \((status >> 8) & 0xff)" : "killed by \(UWSGILine.signalName(Int(signal)))"
    }
}
