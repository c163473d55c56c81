#if canImport(Glibc)
import Glibc
#endif

/// `text` padded with `character` to `width` (never cut), in front or behind: for the columns
/// of `--help` and `migrate --status`.
func padded(_ text: String, to width: Int, with character: Character = " ", leading: Bool = false) -> String {
    let padding = String(repeating: character, count: max(0, width - text.count))
    return leading ? padding + text : text + padding
}

/// Writes `text` to standard error at once, unbuffered: for the command line's own messages
/// (the service logs through `LogSink`).
func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if written <= 0 { return }
        bytes = bytes.dropFirst(written)
    }
}
