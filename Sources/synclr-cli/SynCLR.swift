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
            Diffusion.self,
            Images.self,
            MLPDemo.self,
        ]
    )
}
