import ArgumentParser
import SynCaption

/// `synclr captions lists [NAME]`: the built-in concept lists, or one list's concepts.
struct CaptionsLists: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lists",
        abstract: "Show the built-in concept lists with their provenance, or print one list."
    )

    @Argument(help: "A list to print, one concept per line.")
    var name: String?

    @Flag(help: "Print the full NOTICE (provenance and licenses).")
    var notice = false

    func run() throws {
        if notice {
            print(try BuiltinConcepts.notice())
            return
        }
        if let name {
            print(try BuiltinConcepts.load(name).concepts.joined(separator: "\n"))
            return
        }
        print("name            kind      count  source")
        for info in try BuiltinConcepts.manifest() {
            let name = info.name.padding(toLength: 15, withPad: " ", startingAt: 0)
            let kind = info.kind.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
            let count = String(info.count)
            print("\(name) \(kind) \(String(repeating: " ", count: max(0, 6 - count.count)))\(count)  \(info.package) \(info.version) (\(info.license))")
        }
        print("\naliases: " + BuiltinConcepts.aliases.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        print("`paper` = the paper's mix (objects 91%: imagenet-1k, imagenet-21k, food-101, stanford-cars, fgvc-aircraft, flowers-102; scenes 8.8%; dtd 0.2%)")
    }
}
