import Foundation

/// metrics.jsonl: one JSON object per logged step, appended with a flush per line. On resume the
/// file is first cut back to the records of steps already covered by the checkpoint.
struct MetricsLog {
    let url: URL
    private let handle: FileHandle
    private let encoder: JSONEncoder

    init(url: URL, keepingStepsBelow step: Int) throws {
        self.url = url
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var kept = Data()
        if let old = try? Data(contentsOf: url) {
            for line in old.split(separator: 0x0A) {
                if let m = try? JSONDecoder().decode(TrainMetrics.self, from: Data(line)), m.step < step {
                    kept.append(Data(line))
                    kept.append(0x0A)
                }
            }
        }
        try kept.write(to: url, options: .atomic)
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    mutating func append(_ m: TrainMetrics) throws {
        var line = try encoder.encode(m)
        line.append(0x0A)
        try handle.write(contentsOf: line)
    }
}
