import ArgumentParser

/// `synclr captions`: caption synthesis (SynCLR section 1) and its helpers.
struct Captions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "captions",
        abstract: "Synthesize image captions from concept lists (resumable JSONL job).",
        discussion: """
        Examples:
          synclr captions --concepts fashion-mnist --count 200 --seed 0 --out captions.jsonl
          synclr captions backgrounds --concepts imagenet-1k --out backgrounds.json
          synclr captions --concepts imagenet-1k=0.7,my-birds.txt=0.3 --backgrounds backgrounds.json --out caps.jsonl
          synclr captions --backend openai --url http://127.0.0.1:8080 --count 100000 --out caps.jsonl
          synclr captions summary captions.jsonl
          synclr captions lists
        """,
        subcommands: [CaptionsGenerate.self, CaptionsBackgrounds.self, CaptionsSummary.self, CaptionsLists.self, CaptionsMerge.self],
        defaultSubcommand: CaptionsGenerate.self
    )
}
