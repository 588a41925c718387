import ArgumentParser

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
            exit(withError: FlagNames.map(error))
        }
    }
}
