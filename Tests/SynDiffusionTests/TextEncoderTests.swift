import Foundation
import SynTensor
import Testing
@testable import SynDiffusion

/// One sentence of Fixtures/textenc_tokens.json (Scripts/fixtures/fixtures_textenc.py, transformers' BertTokenizer).
struct TokenCase: Decodable, Sendable {
    let text: String
    let ids: [Int]
    let ids_short: [Int]
    let pooled: [Float]
}

struct TokenFixture: Decodable, Sendable {
    let max_length: Int
    let short_length: Int
    let cases: [TokenCase]
}

/// The installed all-MiniLM-L6-v2 folder; a missing install is a failure with the fix in the message
/// (CI installs the models through Scripts/setup/setup.sh -> Scripts/setup/install_models.sh).
func miniLMDirectory() throws -> URL {
    let dir = MiniLMTextEncoder.defaultDirectory
    let file = dir.appendingPathComponent("model.safetensors").path
    try #require(FileManager.default.fileExists(atPath: file),
                 "all-MiniLM-L6-v2 is not installed (\(file) is missing): run Scripts/setup/install_models.sh or `make setup`")
    return dir
}

func fixtureURL(_ name: String, _ ext: String) throws -> URL {
    try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"), "Fixtures/\(name).\(ext) missing")
}

func maxAbs(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "comparing \(a.count) values with \(b.count)")
    return zip(a, b).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
}

func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
    var ab = 0.0, aa = 0.0, bb = 0.0
    for (x, y) in zip(a, b) { ab += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
    return ab / (aa.squareRoot() * bb.squareRoot())
}

/// WordPiece tokenizer and MiniLM encoder against transformers 5 / torch 2.13 (Scripts/fixtures/fixtures_textenc.py).
@Suite struct TextEncoderTests {
    let fixture: TokenFixture

    init() throws {
        fixture = try JSONDecoder().decode(TokenFixture.self, from: Data(contentsOf: fixtureURL("textenc_tokens", "json")))
    }

    @Test func tokenIDsMatchTransformers() throws {
        let tok = try BertTokenizer(directory: miniLMDirectory())
        #expect(tok.maxLength == fixture.max_length)
        for c in fixture.cases {
            #expect(tok.encode(c.text) == c.ids, "\(c.text.debugDescription): \(tok.tokenize(c.text))")
            #expect(tok.encode(c.text, maxLength: fixture.short_length) == c.ids_short, "\(c.text.debugDescription) at \(fixture.short_length)")
        }
        #expect(tok.encode("") == [tok.clsID, tok.sepID])
        let short = try tok.withMaxLength(4)
        #expect(short.encode("a photo of a cat") == [101, 1037, 6302, 102])
        #expect(throws: TextEncoderError.self) { try tok.withMaxLength(1) }
    }

    @Test func batchPadsToLongest() throws {
        let tok = try BertTokenizer(directory: miniLMDirectory())
        let b = tok.encodeBatch(["", "hello world"])
        #expect(b.length == 4 && b.batch == 2 && b.lengths == [2, 4])
        #expect(b.ids == [101, 102, 0, 0, 101, 7592, 2088, 102])
        #expect(b.mask == [1, 1, 0, 0, 1, 1, 1, 1])
    }

    @Test func hiddenStatesAndPooledMatchTransformers() throws {
        let enc = try MiniLMTextEncoder(directory: miniLMDirectory())
        #expect(enc.width == 384 && enc.pooling == .mean && enc.normalizesPooled)
        let ref = try SafetensorsFile(url: fixtureURL("textenc_hidden", "safetensors"))
        let sentences = try JSONDecoder().decode([String].self, from: Data(try #require(ref.metadata?["sentences"]).utf8))
        let batch = enc.tokenizer.encodeBatch(sentences)
        #expect(batch.ids == (try ref.integers("input_ids")).map { Int($0) })
        #expect(batch.mask == (try ref.integers("attention_mask")).map { Float($0) })

        let out = try enc.encode(sentences)
        let hidden = try #require(out.tokens), pooled = try #require(out.pooled), mask = try #require(out.mask)
        let refHidden = try ref.tensor("last_hidden_state")
        #expect(hidden.shape == refHidden.shape && mask.shape == [batch.batch, batch.length])
        // Compare real tokens (HF's padding rows are meaningless; ours are zero).
        let D = enc.width
        var worst: Float = 0
        let h = hidden.scalars, r = refHidden.scalars
        for (i, m) in batch.mask.enumerated() {
            if m != 0 {
                worst = Swift.max(worst, maxAbs(Array(h[i * D..<(i + 1) * D]), Array(r[i * D..<(i + 1) * D])))
            } else {
                #expect(h[i * D..<(i + 1) * D].allSatisfy { $0 == 0 }, "padding states are zero")
            }
        }
        print("MiniLM last hidden state: max |swift - transformers| = \(worst)")
        #expect(worst <= 1e-4)

        let refNorm = try ref.tensor("pooled_normalized").scalars, p = pooled.scalars
        #expect(maxAbs(p, refNorm) <= 1e-5)
        let unnormalized = try MiniLMTextEncoder(directory: miniLMDirectory(), normalize: false)
        let raw = try #require(try unnormalized.encode(sentences).pooled).scalars
        let refPooled = try ref.tensor("pooled").scalars
        print("MiniLM mean-pooled: max |swift - transformers| = \(maxAbs(raw, refPooled))")
        #expect(maxAbs(raw, refPooled) <= 1e-4)
        for b in 0..<batch.batch {
            #expect(1 - cosine(raw[b * D..<(b + 1) * D], refPooled[b * D..<(b + 1) * D]) <= 1e-5)
        }
    }

    /// Every fixture sentence, batched with padding, against transformers' single-sentence pooled vectors.
    @Test func pooledMatchesForEverySentence() throws {
        let enc = try MiniLMTextEncoder(directory: miniLMDirectory(), normalize: false)
        let groups = [fixture.cases.filter { $0.ids.count <= 64 }, fixture.cases.filter { $0.ids.count > 64 }]
        var worstCos = 0.0, worstAbs: Float = 0
        for group in groups where !group.isEmpty {
            let pooled = try #require(try enc.encode(group.map(\.text)).pooled).scalars
            for (b, c) in group.enumerated() {
                let mine = pooled[b * 384..<(b + 1) * 384]
                worstCos = Swift.max(worstCos, 1 - cosine(mine, c.pooled[...]))
                worstAbs = Swift.max(worstAbs, maxAbs(Array(mine), c.pooled))
                #expect(1 - cosine(mine, c.pooled[...]) <= 1e-5, "\(c.text.debugDescription)")
            }
        }
        print("MiniLM pooled over \(fixture.cases.count) sentences: max 1 - cos = \(worstCos), max abs = \(worstAbs)")
    }

    @Test func unconditionalPromptIsClsSep() throws {
        let enc = try MiniLMTextEncoder(directory: miniLMDirectory(), maxLength: 8)
        let out = try enc.encode(["", "a photo of a small dog"])
        #expect(out.tokens?.shape == [2, 8, 384] && out.mask?.shape == [2, 8] && out.pooled?.shape == [2, 384])
        #expect(out.mask?.scalars == [1, 1, 0, 0, 0, 0, 0, 0] + [Float](repeating: 1, count: 8))
        let norms = try #require(out.pooled).scalars
        for b in 0..<2 {
            let n = norms[b * 384..<(b + 1) * 384].reduce(0) { $0 + $1 * $1 }
            #expect(Swift.abs(n - 1) < 1e-5)
        }
        let empty = try enc.encode([])
        #expect(empty.tokens?.shape == [0, 0, 384] && empty.pooled?.shape == [0, 384])
    }

    @Test func missingModelNamesFileAndFix() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-no-model-\(UUID().uuidString)")
        do {
            _ = try MiniLMTextEncoder(directory: dir)
            Issue.record("loading from an empty folder succeeded")
        } catch let e as TextEncoderError {
            #expect(e == .missingFile(dir.appendingPathComponent("model.safetensors").path))
            #expect(e.description.contains("Scripts/setup/install_models.sh") && e.description.contains("model.safetensors"))
        }
        #expect(throws: TextEncoderError.self) { try BertTokenizer(directory: dir) }
    }
}
