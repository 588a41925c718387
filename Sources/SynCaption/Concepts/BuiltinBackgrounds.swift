import Foundation

extension BackgroundTable {
    /// The backgrounds shipped with SynCaption (Resources/Backgrounds/*.json, one file per concept
    /// list, written by `synclr captions backgrounds --backend native`), merged; empty when none ship.
    public static func builtin() throws -> BackgroundTable {
        let dir = try ResourceLocator.resourceDirectory().appendingPathComponent("Backgrounds")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return BackgroundTable() }
        var table = BackgroundTable()
        for name in names.sorted() where name.hasSuffix(".json") {
            table = table.merging(try BackgroundTable.load(path: dir.appendingPathComponent(name).path))
        }
        return table
    }
}
