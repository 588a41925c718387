import ArgumentParser

/// `synclr images`: render captions into images with a text-to-image model (SynCLR section 2).
struct Images: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a captions JSONL into PNG images plus manifest.jsonl (resumable, shardable).",
        discussion: """
            Examples:
              synclr images --captions captions.jsonl --out images --per-caption 4 --guidance 2.5 --steps 50
              synclr images --captions captions.jsonl --out images --shard 0/4     (one of four machines)
              synclr images --captions captions.jsonl --out sd --model ~/models/stable-diffusion-v1-5 --size 512
              synclr images sheet images --out sheet.png
            """,
        subcommands: [ImagesGenerate.self, ImagesSheet.self],
        defaultSubcommand: ImagesGenerate.self)
}
