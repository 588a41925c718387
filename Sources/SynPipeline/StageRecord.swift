import Foundation

/// What a stage's record says (RUN/stages/NAME.json).
public struct StageRecord: Codable, Sendable, Equatable {
    /// Hash of the stage's options and of its inputs' hashes.
    public var hash: String
    /// `running` until the stage finishes, then `done`.
    public var status: String
    /// Wall seconds spent in the stage, summed over interrupted attempts.
    public var seconds: Double

    /// A record.
    public init(hash: String, status: String, seconds: Double) {
        self.hash = hash
        self.status = status
        self.seconds = seconds
    }

    /// The record in `data`, or nil when it is not one (a damaged record makes its stage run again).
    public static func read(_ data: Data) -> StageRecord? {
        guard let record = try? JSONDecoder().decode(StageRecord.self, from: data),
              record.seconds.isFinite, record.seconds >= 0 else { return nil }
        return record
    }
}
