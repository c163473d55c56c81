import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `registryd` executable run as a child process, as operators run it.
///
/// Spawned with `posix_spawn`, its output read from a pipe by a thread of its own, and reaped with
/// `waitpid`: Foundation's `Process` crashed in `Process.run()` (and its `readabilityHandler`
/// in libdispatch) when tests ran it beside many other threads.
public final class RegistrydProcess: @unchecked Sendable {
    /// The built executable, next to the test bundle (`swift build` puts both in one directory).
    public static var executable: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("registryd")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return TestPostgres.repositoryRoot.appendingPathComponent(".build/debug/registryd")
    }

    private let pid: pid_t
    private let lock = NSLock()
    private var captured = Data()
    private var exitStatus: Int32?
    /// The read end of the output pipe when nobody reads it; closed once the process is gone.
    private var unreadPipe: Int32?

    /// Starts `registryd arguments` with `environment` added to a minimal one. With `readsOutput`
    /// false, nobody reads its stdout and stderr: the pipe fills and stays full, as with a
    /// stalled log collector (`text` stays empty).
    public init(_ arguments: [String], environment: [String: String], readsOutput: Bool = true) throws {
        var variables = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                         "MIGRATIONS_DIR": TestPostgres.migrationsDirectory]
        variables.merge(environment) { $1 }
        var pipeEnds: [Int32] = [0, 0]
        // Close-on-exec, so that no other child spawned meanwhile inherits the write end (it would
        // keep the pipe open after this process exits); dup2 clears the flag on 1 and 2.
        guard pipe(&pipeEnds) == 0 else { throw TestFailure("pipe() failed") }
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        posix_spawn_file_actions_addclose(&actions, pipeEnds[1])

        let path = Self.executable.path
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, path, &actions, nil, argv, envp)
        close(pipeEnds[1])
        guard spawned == 0 else {
            close(pipeEnds[0])
            throw TestFailure("cannot start \(path): error \(spawned)")
        }
        pid = child
        let reading = pipeEnds[0]
        guard readsOutput else {
            unreadPipe = reading
            return
        }
        let reader = Thread { [weak self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(reading, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                guard let self else { break }
                let chunk = Data(buffer[0..<count])
                self.lock.withLock { self.captured.append(chunk) }
            }
            close(reading)
        }
        reader.start()
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = waitForExit()
        }
        if let unreadPipe { close(unreadPipe) }
    }

    /// Everything the process wrote to stdout and stderr so far.
    public var text: String { lock.withLock { String(decoding: captured, as: UTF8.self) } }

    /// Runs to completion and returns the exit status and output.
    public static func run(_ arguments: [String], environment: [String: String]) async throws -> (status: Int32, output: String) {
        let child = try RegistrydProcess(arguments, environment: environment)
        let status = try await blocking { child.waitForExit() }
        try await Task.sleep(for: .milliseconds(50))
        return (status, child.text)
    }

    /// Waits for the process to exit and returns its exit status (128 + signal when killed).
    public func waitForExit() -> Int32 {
        if let exitStatus = lock.withLock({ self.exitStatus }) { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        lock.withLock { exitStatus = code }
        return code
    }

    public var isRunning: Bool {
        if lock.withLock({ exitStatus }) != nil { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            lock.withLock { exitStatus = code }
            return false
        }
        return result == 0
    }

    /// Sends SIGTERM.
    public func terminate() { kill(pid, SIGTERM) }

    /// Sends `signal`.
    public func send(_ signal: Int32) { kill(pid, signal) }

    /// A TCP port free on 127.0.0.1 a moment ago, for a process whose log nobody reads.
    public static func freePort() throws -> UInt16 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestFailure("socket() failed") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socket, generic, length) == 0 && getsockname(socket, generic, &length) == 0
            }
        }
        guard bound else { throw TestFailure("bind() failed") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// The port of the "listening" log line, once it is written.
    public func waitUntilListening(timeout: Duration = .seconds(30)) async throws -> UInt16 {
        let found = await eventually(timeout: timeout) { !isRunning || text.contains("\"msg\":\"listening\"") }
        guard found, let match = text.firstMatch(of: /"msg":"listening".*?"port":(\d+)/), let port = UInt16(match.1) else {
            throw TestFailure("registryd did not start listening: \(text)")
        }
        return port
    }
}
