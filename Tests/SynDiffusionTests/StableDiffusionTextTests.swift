import Foundation
import SynTensor
import Testing
@testable import SynDiffusion

/// One string of Fixtures/sd_clip_tokens.json (Scripts/fixtures/fixtures_sd.py, transformers' CLIPTokenizer).
struct CLIPTokenCase: Decodable, Sendable {
    let text: String
    let ids: [Int]
    let sd1: [Int]
    let sd2: [Int]
}

struct CLIPTokenFixture: Decodable, Sendable {
    let vocab_size: Int
    let cases: [CLIPTokenCase]
}

/// CLIP's BPE vocabulary installed by Scripts/setup/install_models.sh (from the open-clip-torch wheel).
func clipBPEFile() throws -> URL {
    let url = SynCLRPaths.models.appendingPathComponent("clip-bpe/bpe_simple_vocab_16e6.txt.gz")
    try #require(FileManager.default.fileExists(atPath: url.path),
                 "CLIP's BPE vocabulary is not installed (\(url.path) is missing): run Scripts/setup/install_models.sh or `make setup`")
    return url
}

/// A tiny diffusers folder written by Scripts/fixtures/fixtures_sd.py.
func sdFixtureFolder(_ name: String) throws -> URL {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"), "Fixtures/\(name) missing")
    return url
}

/// The reference tensors of Scripts/fixtures/fixtures_sd.py for one tiny configuration.
func sdParity(_ name: String) throws -> SafetensorsFile { try SafetensorsFile(url: fixtureURL(name + "_parity", "safetensors")) }

/// Max |a - b| / max|b| (relative to the reference's largest magnitude).
func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    let x = a.contiguous().scalars, y = b.contiguous().scalars
    precondition(x.count == y.count, "comparing \(a.shape) with \(b.shape)")
    let scale = y.reduce(0) { max($0, abs($1)) }
    return maxAbs(x, y) / max(scale, 1e-12)
}

@Suite struct StableDiffusionTextTests {
    @Test func tokenizerMatchesTransformersOnTheRealCLIPVocabulary() throws {
        let fixture = try JSONDecoder().decode(CLIPTokenFixture.self, from: Data(contentsOf: fixtureURL("sd_clip_tokens", "json")))
        let (vocab, merges) = try CLIPTokenizer.openCLIPVocabulary(clipBPEFile())
        #expect(vocab.count == fixture.vocab_size)
        let sd1 = try CLIPTokenizer(vocabulary: vocab, merges: merges)
        let sd2 = try CLIPTokenizer(vocabulary: vocab, merges: merges, pad: "!")
        #expect(sd1.padID == 49407 && sd2.padID == 0 && sd1.bosID == 49406)
        for c in fixture.cases {
            #expect(sd1.encode(c.text) == c.ids, "\(c.text.debugDescription)")
            #expect(sd1.encodePadded(c.text) == c.sd1, "\(c.text.debugDescription) padded with the end token")
            #expect(sd2.encodePadded(c.text) == c.sd2, "\(c.text.debugDescription) padded with !")
        }
    }

    @Test func tokenizerFolderReadsPadTokens() throws {
        let t1 = try CLIPTokenizer(directory: sdFixtureFolder("sd1").appendingPathComponent("tokenizer"))
        let t2 = try CLIPTokenizer(directory: sdFixtureFolder("sd2").appendingPathComponent("tokenizer"))
        #expect(t1.padID == t1.eosID && t1.maxLength == 77)
        #expect(t2.padID == t2.vocabulary["!"] && t2.padID != t2.eosID)
        for (name, tok) in [("sd1", t1), ("sd2", t2)] {
            let ids = try sdParity(name).integers("text.ids").map(Int.init)
            let prompt = try #require(try sdParity(name).metadata?["prompt"])
            #expect(tok.encodePadded(prompt) == Array(ids[0..<77]), "\(name) prompt")
            #expect(tok.encodePadded("") == Array(ids[77..<154]), "\(name) empty prompt")
        }
    }

    @Test(arguments: ["sd1", "sd2"])
    func textModelMatchesTransformers(_ name: String) throws {
        let dir = try sdFixtureFolder(name).appendingPathComponent("text_encoder")
        let model = CLIPTextModel(config: try CLIPTextConfiguration(contentsOf: dir.appendingPathComponent("config.json")))
        try model.load(dir.appendingPathComponent("model.safetensors"))
        let ref = try sdParity(name)
        let flat = try ref.integers("text.ids").map(Int.init)
        let ids = [Array(flat[0..<77]), Array(flat[77..<154])]
        let last = model(ids)
        let e1 = relativeError(last, try ref.tensor("text.last"))
        let e2 = relativeError(model(ids, skip: 1), try ref.tensor("text.penultimate"))
        let e3 = relativeError(model.pooled(last, ids: ids), try ref.tensor("text.pooled"))
        #expect(e1 < 1e-5 && e2 < 1e-5 && e3 < 1e-5, "\(name): last \(e1), penultimate \(e2), pooled \(e3)")
    }

    @Test func missingAndMisshapedTensorsAreNamed() throws {
        let dir = try sdFixtureFolder("sd1").appendingPathComponent("text_encoder")
        var config = try CLIPTextConfiguration(contentsOf: dir.appendingPathComponent("config.json"))
        config.layers += 1
        config.intermediateSize += 1
        let model = CLIPTextModel(config: config)
        do {
            try model.load(dir.appendingPathComponent("model.safetensors"))
            Issue.record("loading a mismatched text encoder succeeded")
        } catch {
            let message = "\(error)"
            #expect(message.contains("model.safetensors") && message.contains("missing tensor encoder.layers.2.")
                    && message.contains("tensor encoder.layers.0.mlp.fc1.weight has shape"), "\(message)")
        }
    }
}
