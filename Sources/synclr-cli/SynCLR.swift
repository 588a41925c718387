import ArgumentParser
import Foundation
import SynTensor

/// The `synclr` command: each stage of SynCLR as a subcommand.
@main
struct SynCLR: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synclr",
        abstract: "Learn visual representations from synthetic captions and images (SynCLR), offline on CPU.",
        subcommands: [
            Captions.self,
            LLM.self,
            Train.self,
            TrainRun.self,
            Embed.self,
            Eval.self,
            Pipeline.self,
            Report.self,
            Diffusion.self,
            Images.self,
            MLPDemo.self,
        ]
    )

    /// Runs the command, restating library errors in flag terms (`FlagNames`, the one mapping place).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // One message rather than one per rank: rank 0's.
            if let d = error as? DistributedError, d.isRaisedAlikeOnEveryRank,
               let rank = LaunchEnvironment().mpiRank, rank > 0 { exit(withError: ExitCode.failure) }
            exitReporting(FlagNames.map(error))
        }
    }

    /// `exit(withError:)` with the message written to stderr in one call: ArgumentParser writes it a
    /// byte at a time, so the messages of MPI ranks failing together came out interleaved.
    static func exitReporting(_ error: any Error) -> Never {
        let code = exitCode(for: error)
        if code == .success { exit(withError: error) }  // help and --version: stdout, as before
        let text = fullMessage(for: error)
        if !text.isEmpty { FileHandle.standardError.write(Data((text + "\n").utf8)) }
        Foundation.exit(code.rawValue)
    }
}
