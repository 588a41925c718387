import Foundation
import Testing
@testable import SynCaption

@Suite struct FilterTests {
    let filter = CaptionFilter()

    @Test func rejectionReasons() {
        let example = CaptionExample("teapot", "a blue teapot pouring tea into a small cup")
        #expect(filter.rejection(caption: "", concept: "fox") == .empty)
        #expect(filter.rejection(caption: "a fox", concept: "fox") == .tooShort)
        #expect(filter.rejection(caption: Array(repeating: "fox", count: 80).joined(separator: " "), concept: "fox") == .tooLong)
        #expect(filter.rejection(caption: "a fox => a fox in the snow", concept: "fox") == .echo)
        #expect(filter.rejection(caption: "Generate an image description with an object category: fox", concept: "fox") == .echo)
        #expect(filter.rejection(caption: "A blue teapot, pouring tea into a small cup.", concept: "teapot", examples: [example]) == .echo)
        #expect(filter.rejection(caption: "a cat asleep on a warm windowsill", concept: "red fox") == .missingConcept)
        #expect(filter.rejection(caption: "two foxes trotting across a snowy field", concept: "red fox") == nil)
        #expect(filter.rejection(caption: "three berries on a white plate", concept: "strawberry") == .missingConcept)
        #expect(filter.rejection(caption: "ripe strawberries in a wicker basket", concept: "strawberry") == nil)
        #expect(filter.rejection(caption: "a pair of blue trousers on a chair", concept: "trouser") == nil)
        #expect(filter.rejection(caption: "golden leaves on a forest path", concept: "leaf") == nil)
        let lax = CaptionFilter(conceptCheck: .off)
        #expect(lax.rejection(caption: "a cat asleep on a warm windowsill", concept: "red fox") == nil)
        let strict = CaptionFilter(conceptCheck: .allWords)
        #expect(strict.rejection(caption: "a fox trotting across a field", concept: "red fox") == .missingConcept)
        #expect(CaptionFilter(rejectEchoes: false).rejection(caption: "fox => a fox in the snow", concept: "fox") == nil)
    }

    @Test func exactAndNormalizedDeduplication() {
        var d = Deduplicator()
        #expect(d.check("A red fox in the snow.") == nil)
        #expect(d.check("A red fox in the snow.") == .duplicate)
        #expect(d.check("a red   fox, in the snow") == .nearDuplicate)
        #expect(d.check("The red fox in the snow!") == .nearDuplicate)
        #expect(d.check("a red fox in the rain") == nil)
        #expect(d.count == 2)
        #expect(Deduplicator.normalize("  The Café's  best—croissant! ") == "café s best croissant")
    }

    @Test func jsonLineEscapingAndFieldOrder() throws {
        let r = CaptionRecord(id: 3, caption: "a \"quoted\" line\twith tab\u{1}", concept: "c/d", source: "s", mode: .relation,
                              background: nil, relation: "next to", generator: "g", seed: 9_007_199_254_740_991)
        #expect(r.jsonLine == #"{"id":3,"caption":"a \"quoted\" line\twith tab\u0001","concept":"c/d","source":"s","mode":"relation","background":null,"relation":"next to","generator":"g","seed":9007199254740991,"format_version":1}"#)
        #expect(try CaptionRecord.parse(Data(r.jsonLine.utf8)) == r)
    }
}
