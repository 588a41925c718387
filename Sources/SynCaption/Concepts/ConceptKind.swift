/// What a concept names; decides the prompt header and which caption modes apply.
public enum ConceptKind: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// A thing: animal, plant, food, vehicle, tool, garment...
    case object
    /// A place or environment (Places-365, SUN397).
    case scene
    /// A surface pattern (DTD).
    case texture

    /// Kinds order as declared (object < scene < texture).
    public static func < (a: ConceptKind, b: ConceptKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
