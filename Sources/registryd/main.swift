import Foundation

// Kept minimal: closures written here would be main-actor isolated, and libmicrohttpd calls its
// callbacks on its own threads. Everything runs from CommandLineInterface.
exit(CommandLineInterface.run(
    arguments: Array(CommandLine.arguments.dropFirst()),
    environment: ProcessInfo.processInfo.environment))
