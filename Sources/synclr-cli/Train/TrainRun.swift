import ArgumentParser
import Foundation
import SynRep

/// `synclr train-run`: the training run a `TrainingRunConfiguration` JSON file describes.
///
/// `synclr pipeline --jobs N` starts one of these per training run, so several runs train side by
/// side as separate processes, each with its own thread count; run by hand it repeats a pipeline
/// run's training exactly (the file is the run folder's `train-run.json`).
struct TrainRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-run",
        abstract: "Train the run a configuration file describes (what `synclr pipeline --jobs` starts for each run).")

    @Argument(help: "A TrainingRunConfiguration JSON file (a pipeline run folder's train-run.json).") var file: String

    func run() async throws {
        let configuration = try Self.load(file)
        let watch = Self.stopWithPipeline()
        defer { watch?.cancel() }
        try Train.execute(configuration)
    }

    /// Environment variable naming the pipeline process that started this one.
    static let pipelineVariable = "SYNCLR_PIPELINE_PID"

    /// Started by a pipeline, this process stops once that pipeline is gone (killed on its own), so
    /// no orphan keeps training and holding the run folder's lock; the run resumes from its last
    /// checkpoint when the pipeline is rerun.
    static func stopWithPipeline() -> (any DispatchSourceTimer)? {
        guard let text = ProcessInfo.processInfo.environment[pipelineVariable], let parent = Int32(text), parent > 1 else { return nil }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "synclr.train-run.parent"))
        timer.schedule(deadline: .now(), repeating: 1)
        timer.setEventHandler {
            guard getppid() != parent else { return }
            FileHandle.standardError.write(Data("train-run: the pipeline (process \(parent)) is gone; stopping, the run resumes from its last checkpoint\n".utf8))
            Foundation.exit(143)
        }
        timer.resume()
        return timer
    }

    /// The configuration in `path`; a missing file or one that does not decode is an error naming it.
    static func load(_ path: String) throws -> TrainingRunConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("\(path): cannot read the training configuration (missing, unreadable or not a regular file)")
        }
        do {
            return try JSONDecoder().decode(TrainingRunConfiguration.self, from: data)
        } catch let error as DecodingError {
            throw ValidationError("\(path): not a training configuration (\(describeDecoding(error)))")
        } catch {
            throw ValidationError("\(path): not a training configuration (\(error))")
        }
    }

    /// One line naming the key path and the problem.
    static func describeDecoding(_ error: DecodingError) -> String {
        func path(_ c: [any CodingKey]) -> String { c.isEmpty ? "top level" : c.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .keyNotFound(let key, let c): return "missing key \(path(c.codingPath + [key]))"
        case .typeMismatch(_, let c): return "\(path(c.codingPath)): \(c.debugDescription)"
        case .valueNotFound(_, let c): return "\(path(c.codingPath)): \(c.debugDescription)"
        case .dataCorrupted(let c): return "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
