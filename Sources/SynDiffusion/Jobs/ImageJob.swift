import Foundation
import SynTensor

/// A resumable, shardable text-to-image job: `perCaption` PNGs per caption of a captions list in
/// DIR/images/NNNNN/PPPPPP_K.png (folder = caption position / 1000, P = caption position,
/// K = image index) plus DIR/manifest.jsonl, one line per finished image in caption order.
///
/// Determinism: image k of caption c starts from the noise of `imageSeed(jobSeed, id(c), k)` and
/// draws its step noise from the same stream; captions are rendered in fixed units of
/// `options.unitCaptions` consecutive captions (cond + uncond in one batch), and a unit is always
/// rendered as a whole, so a sharded, interrupted or resumed run writes the same bytes as one
/// uninterrupted run. Files are written to a temporary name and renamed (never a partial PNG);
/// a resumed run skips units whose images all exist.
public final class ImageJob<Predictor: NoisePredictor> {
    /// The model.
    public let model: TextToImage<Predictor>
    /// All captions of the job, in file order.
    public let captions: [CaptionRecord]
    /// What to render.
    public let options: ImageJobOptions
    /// Output folder.
    public let directory: URL
    /// The part of the job this run renders.
    public let shard: Shard

    /// A job over `captions` into `directory`.
    public init(model: TextToImage<Predictor>, captions: [CaptionRecord], options: ImageJobOptions, directory: URL,
                shard: Shard = .all) {
        self.model = model
        self.captions = captions
        self.options = options
        self.directory = directory
        self.shard = shard
    }

    /// Path of image `index` of the caption at `position`, relative to the output folder.
    public static func relativePath(position: Int, index: Int) -> String {
        String(format: "images/%05d/%06d_%d.png", position / 1000, position, index)
    }

    /// Number of batch units.
    public var unitCount: Int { (captions.count + options.unitCaptions - 1) / options.unitCaptions }

    /// Caption positions of unit `u`.
    public func positions(ofUnit u: Int) -> Range<Int> {
        (u * options.unitCaptions)..<min((u + 1) * options.unitCaptions, captions.count)
    }

    /// What a run did.
    public struct Summary: Sendable {
        /// Images this run rendered and wrote.
        public var written: Int
        /// Images of this shard already present (skipped).
        public var skipped: Int
        /// Images of this shard in total.
        public var shardImages: Int
        /// Lines in the rebuilt manifest (finished images of all shards).
        public var manifestLines: Int
        /// Seconds spent rendering.
        public var seconds: Double
        /// Set when the shards' runs recorded different BLAS cores (their images may differ in the last bits).
        public var blasWarning: String? = nil
    }

    /// Renders this shard's missing images, then rebuilds DIR/manifest.jsonl from every finished image.
    /// `progress` is advanced per unit; `onUnit` gets (images of this shard handled, shard total).
    public func run(progress: ProgressReporter? = nil, onUnit: ((Int, Int) -> Void)? = nil) throws -> Summary {
        try validate()
        // One writer per folder (per shard: shards of one job write disjoint images by design).
        let lock = try OutputLock.folder(directory, name: shard.count > 1 ? ".synclr-shard-\(shard.index)-of-\(shard.count).lock" : OutputLock.folderLockName,
                                         job: shard.count > 1 ? "image job, shard \(shard.index + 1) of \(shard.count)" : "image job")
        defer { lock.release() }
        try prepare()
        try recordBLASRuntime()
        let fm = FileManager.default
        try removeStaleTemporaries()
        var uncondCache: Conditioning?
        var written = 0, skipped = 0, total = 0
        let shardTotal = (0..<unitCount).filter { shard.owns(unit: $0) }.reduce(0) { $0 + positions(ofUnit: $1).count } * options.perCaption
        let start = Date()
        for u in 0..<unitCount where shard.owns(unit: u) {
            let pos = positions(ofUnit: u)
            let paths = pos.flatMap { p in (0..<options.perCaption).map { (p, $0, Self.relativePath(position: p, index: $0)) } }
            total += paths.count
            let missing = paths.filter { !fm.fileExists(atPath: directory.appendingPathComponent($0.2).path) }
            if missing.isEmpty {
                skipped += paths.count
                progress?.advance(by: paths.count)
                onUnit?(total, shardTotal)
                continue
            }
            skipped += paths.count - missing.count
            let images = try render(unit: u, uncondCache: &uncondCache)
            for (k, item) in paths.enumerated() where missing.contains(where: { $0.2 == item.2 }) {
                let url = directory.appendingPathComponent(item.2)
                try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try ImageIO.write(images.select(0, k), to: url)
                written += 1
            }
            progress?.advance(by: paths.count)
            onUnit?(total, shardTotal)
        }
        let seconds = Date().timeIntervalSince(start)
        let lines = try writeManifest()
        return Summary(written: written, skipped: skipped, shardImages: total, manifestLines: lines, seconds: seconds,
                       blasWarning: try blasCoreWarning())
    }

    /// All images of unit `u` [unit captions * perCaption, C, H, W] in [0, 1], caption-major.
    public func render(unit u: Int) throws -> Tensor {
        var cache: Conditioning?
        return try render(unit: u, uncondCache: &cache)
    }

    private func render(unit u: Int, uncondCache: inout Conditioning?) throws -> Tensor {
        let pos = Array(positions(ofUnit: u))
        let k = options.perCaption
        let encoded = try model.encoder.encode(pos.map { captions[$0].caption })
        let rows = pos.indices.flatMap { Array(repeating: $0, count: k) }
        let cond = Self.rows(encoded, rows)
        var uncond: Conditioning?
        if options.guidance != 1 {
            if uncondCache == nil { uncondCache = try model.encoder.encode([""]) }
            uncond = Self.rows(uncondCache!, Array(repeating: 0, count: rows.count))
        }
        let seeds = pos.flatMap { p in (0..<k).map { imageSeed(jobSeed: options.seed, captionID: captions[p].id, index: $0) } }
        return try model.generate(conditioning: cond, unconditional: uncond, seeds: seeds, guidance: options.classifierFreeGuidance,
                                  steps: options.steps, sampler: options.sampler, thresholding: options.thresholding)
    }

    private static func rows(_ c: Conditioning, _ idx: [Int]) -> Conditioning {
        Conditioning(tokens: c.tokens?.indexSelect(axis: 0, indices: idx).contiguous(),
                     mask: c.mask?.indexSelect(axis: 0, indices: idx).contiguous(),
                     pooled: c.pooled?.indexSelect(axis: 0, indices: idx).contiguous())
    }

    /// The job description stored in DIR/job.json.
    struct Description: Codable, Equatable {
        var options: ImageJobOptions
        var captions: Int
        var captionsFingerprint: String

        enum CodingKeys: String, CodingKey { case options, captions, captionsFingerprint = "captions_fingerprint" }
    }

    private var description: Description {
        var h = FNV1a()
        for r in captions { h.combine(r.id.json + "\u{1F}" + r.caption + "\u{1F}" + (r.concept ?? "") + "\u{1E}") }
        return Description(options: options, captions: captions.count, captionsFingerprint: h.hex)
    }

    /// Refuses options the model cannot honour (before anything is created).
    private func validate() throws {
        if let p = options.problems.first { throw DiffusionError.invalidJob(path: directory.path, reason: p) }
        // A sampler cannot take more steps than the model has training timesteps (its grids would trap).
        let trainSteps = model.space.trainTimesteps
        if options.steps > trainSteps {
            throw DiffusionError.invalidJob(path: directory.path,
                                            reason: "`steps` \(options.steps) exceeds the model's \(trainSteps) training timesteps (steps must be in 1...\(trainSteps))")
        }
        if let p = model.space.stepsProblem(options.steps, sampler: options.sampler) {
            throw DiffusionError.invalidJob(path: directory.path, reason: p)
        }
        if let size = options.size, model.space.imageShape.dropFirst() != [size, size] {
            throw DiffusionError.invalidJob(path: directory.path,
                                            reason: "`size` \(size) differs from the model's images (\(model.space.imageShape.dropFirst().map(String.init).joined(separator: "x")))")
        }
    }

    /// Creates the folder and job.json, or checks that an existing job.json asks for the same images.
    private func prepare() throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("job.json")
        let mine = description
        if fm.fileExists(atPath: url.path) {
            let theirs: Description
            do { theirs = try JSONDecoder().decode(Description.self, from: Data(contentsOf: url)) } catch {
                throw DiffusionError.invalidJob(path: url.path, reason: "unreadable job description (\(error)); remove it or use another `output`")
            }
            guard theirs == mine else {
                var diffs: [String] = []
                if theirs.options != mine.options {
                    let enc = JSONEncoder()
                    enc.outputFormatting = [.sortedKeys]
                    diffs.append("it was started with \(String(decoding: try enc.encode(theirs.options), as: UTF8.self)), this run asks for \(String(decoding: try enc.encode(mine.options), as: UTF8.self))")
                }
                if theirs.captions != mine.captions || theirs.captionsFingerprint != mine.captionsFingerprint {
                    diffs.append("it was started from a different captions list (\(theirs.captions) captions, fingerprint \(theirs.captionsFingerprint); now \(mine.captions), \(mine.captionsFingerprint))")
                }
                throw DiffusionError.invalidJob(path: url.path, reason: "this folder belongs to another job: " + diffs.joined(separator: "; ")
                                                + ". Use another `output` or the original options.")
            }
            return
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        try enc.encode(mine).write(to: url, options: .atomic)
    }

    /// DIR/shards/I-of-N.json: the BLAS cores and thread counts every run of one shard used (a
    /// file per shard, so concurrent shards never write the same file).
    var shardRecordURL: URL {
        directory.appendingPathComponent("shards/\(shard.index)-of-\(shard.count).json")
    }

    /// Adds this process's BLAS core to the shard's record.
    func recordBLASRuntime() throws {
        let url = shardRecordURL
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var seen = (try? JSONDecoder().decode([BLASRuntime].self, from: Data(contentsOf: url))) ?? []
        let now = BLAS.runtime
        if seen.contains(now) { return }
        seen.append(now)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        try enc.encode(seen).write(to: url, options: .atomic)
    }

    /// A warning naming the shards when their records list more than one BLAS core, else nil.
    /// Different kernels round differently, so such a folder is not byte-identical to a one-machine run.
    func blasCoreWarning() throws -> String? {
        let dir = directory.appendingPathComponent("shards")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return nil }
        var byCore: [String: [String]] = [:]
        for name in names.sorted() where name.hasSuffix(".json") {
            let url = dir.appendingPathComponent(name)
            let runs: [BLASRuntime]
            do { runs = try JSONDecoder().decode([BLASRuntime].self, from: Data(contentsOf: url)) } catch {
                throw DiffusionError.badData(path: url.path, reason: "unreadable shard record (\(error))")
            }
            for r in runs { byCore[r.core, default: []].append(String(name.dropLast(5)).replacingOccurrences(of: "-of-", with: "/")) }
        }
        guard byCore.count > 1 else { return nil }
        let list = byCore.keys.sorted().map { "\($0) (shard \(byCore[$0]!.joined(separator: ", ")))" }.joined(separator: "; ")
        return "the shards ran different BLAS cores: \(list); their images are not byte-identical to a run on one core type (pin OPENBLAS_CORETYPE on every machine for that)"
    }

    /// Deletes temporary files a killed run of this shard left beside its images (".NAME.tmp-PID-N");
    /// temporaries of images other shards own are left alone, since those shards may still be writing.
    func removeStaleTemporaries() throws {
        let fm = FileManager.default
        let root = directory.appendingPathComponent("images")
        guard let folders = try? fm.contentsOfDirectory(atPath: root.path) else { return }
        var owned: Set<String>? = nil
        for folder in folders {
            let dir = root.appendingPathComponent(folder)
            guard let names = try? fm.contentsOfDirectory(atPath: dir.path) else { continue }
            for name in names where name.hasPrefix(".") {
                guard let r = name.range(of: ".tmp-") else { continue }
                let final = "images/\(folder)/" + String(name[name.index(after: name.startIndex)..<r.lowerBound])
                if owned == nil {
                    var set = Set<String>()
                    for u in 0..<unitCount where shard.owns(unit: u) {
                        for p in positions(ofUnit: u) {
                            for k in 0..<options.perCaption { set.insert(Self.relativePath(position: p, index: k)) }
                        }
                    }
                    owned = set
                }
                if owned!.contains(final) { try fm.removeItem(at: dir.appendingPathComponent(name)) }
            }
        }
    }

    /// The manifest record of image `k` of the caption at position `p`.
    public func manifestRecord(position p: Int, index k: Int) -> ManifestRecord {
        let r = captions[p]
        return ManifestRecord(path: Self.relativePath(position: p, index: k), captionID: r.id, caption: r.caption, index: k,
                              seed: imageSeed(jobSeed: options.seed, captionID: r.id, index: k), guidance: options.guidance,
                              guidanceRescale: options.guidanceRescale != 0 ? options.guidanceRescale : nil,
                              guidanceInterval: options.guidanceInterval,
                              dynamicThreshold: options.thresholding.map { [$0.ratio, $0.maxValue] },
                              steps: options.steps, model: options.model, concept: r.concept)
    }

    /// One manifest line (`ManifestRecord.jsonLine`).
    public func manifestLine(position p: Int, index k: Int) -> String { manifestRecord(position: p, index: k).jsonLine }

    /// Rewrites DIR/manifest.jsonl (atomically) with a line for every image present, in caption
    /// order; returns the number of lines.
    @discardableResult
    public func writeManifest() throws -> Int {
        let fm = FileManager.default
        var records: [ManifestRecord] = []
        for p in captions.indices {
            for k in 0..<options.perCaption where fm.fileExists(atPath: directory.appendingPathComponent(Self.relativePath(position: p, index: k)).path) {
                records.append(manifestRecord(position: p, index: k))
            }
        }
        try ManifestFile.write(records, in: directory)
        return records.count
    }
}
