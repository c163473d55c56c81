import Foundation

/// The `registryd` executable run as a child process, as operators run it.
public final class RegistrydProcess: @unchecked Sendable {
    /// The built executable, next to the test bundle (`swift build` puts both in one directory).
    public static var executable: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("registryd")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return TestPostgres.repositoryRoot.appendingPathComponent(".build/debug/registryd")
    }

    private let process = Process()
    private let output = Pipe()
    private let lock = NSLock()
    private var captured = Data()

    /// Starts `registryd arguments` with `environment` added to a minimal one.
    public init(_ arguments: [String], environment: [String: String]) throws {
        process.executableURL = Self.executable
        process.arguments = arguments
        var base = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                    "MIGRATIONS_DIR": TestPostgres.migrationsDirectory]
        base.merge(environment) { $1 }
        process.environment = base
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // A thread reads until end of file. (Not `readabilityHandler`: its dispatch source can
        // outlive the closed descriptor, and the descriptor's next owner then crashes libdispatch.)
        let reading = output.fileHandleForReading
        let reader = Thread { [weak self] in
            while true {
                let data = reading.availableData
                if data.isEmpty { return }
                guard let self else { return }
                self.lock.withLock { self.captured.append(data) }
            }
        }
        reader.start()
    }

    deinit {
        if process.isRunning { process.terminate() }
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

    /// Waits for the process to exit and returns its status.
    public func waitForExit() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    public var isRunning: Bool { process.isRunning }

    /// Sends SIGTERM.
    public func terminate() { process.terminate() }

    /// The port of the "listening" log line, once it is written.
    public func waitUntilListening(timeout: Duration = .seconds(30)) async throws -> UInt16 {
        let found = await eventually(timeout: timeout) { !isRunning || text.contains("\"msg\":\"listening\"") }
        guard found, let match = text.firstMatch(of: /"msg":"listening".*?"port":(\d+)/), let port = UInt16(match.1) else {
            throw TestFailure("registryd did not start listening: \(text)")
        }
        return port
    }
}
