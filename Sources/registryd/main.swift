import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

// Kept minimal: closures written here would be main-actor isolated, and the HTTP event loops call their
// callbacks on its own threads. Everything runs from CommandLineInterface.
import Log

let status = CommandLineInterface.run(
    arguments: Array(CommandLine.arguments.dropFirst()),
    environment: ProcessInfo.processInfo.environment)
// Log lines are written by a thread of their own: give it a moment to write the last ones.
LogSink.standardError.flush(timeout: .seconds(2))
exit(status)
