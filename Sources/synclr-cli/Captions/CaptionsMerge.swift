import ArgumentParser
import Foundation
import SynCaption

/// `synclr captions merge A.jsonl B.jsonl ... --out all.jsonl`: joins caption files written on
/// several machines (one `--seed` each), drops exact and normalized duplicates, renumbers ids.
struct CaptionsMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join caption JSONL files (e.g. one per machine), drop duplicates, renumber ids from 0.")

    @Argument(help: "Caption JSONL files, in the order their lines should appear.") var files: [String]
    @Option(help: "Output JSONL path (written atomically).") var out: String

    func run() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one caption file") }
        var dedup = Deduplicator()
        var lines: [String] = []
        var dropped = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("\(file): cannot be read")
            }
            for (n, raw) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
                if raw.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
                var record: CaptionRecord
                do { record = try CaptionRecord.parse(Data(raw)) } catch {
                    throw ValidationError("\(file):\(n + 1): not a caption record (\(error))")
                }
                if dedup.check(record.caption) != nil { dropped += 1; continue }
                record.id = .number(lines.count)
                lines.append(record.jsonLine)
            }
        }
        let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        print("merge: \(lines.count) captions from \(files.count) files -> \(out) (\(dropped) duplicates dropped)")
    }
}
