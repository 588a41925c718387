import Foundation

/// A PyTorch `.pth` checkpoint (the ZIP format of `torch.save` since 1.6), read without Python.
///
/// The archive is memory-mapped; `data.pkl` runs through `PickleMachine`, a restricted pickle
/// interpreter that accepts only the opcodes and globals torch.save writes for tensors and
/// plain containers, so loading never executes code. Tensors stay references into their
/// storage records until asked for, then become `Float` tensors (any supported dtype is
/// converted; views keep their offset and strides and share one converted storage).
///
/// Accepted globals: `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
/// `torch._utils._rebuild_parameter(_with_state)`, `torch._tensor._rebuild_from_type_v2` (for
/// `torch.Tensor` / `torch.nn.parameter.Parameter`), `torch.<Float|Double|Half|BFloat16|Long|
/// Int|Short|Char|Byte|Bool>Storage`, `torch.Size`, `argparse.Namespace` (kept opaque with its
/// attribute dict) and `_codecs.encode(str, 'latin1')` (protocol 2 bytes). Anything else (a
/// pickled nn.Module, numpy scalars, `os.system`, ...) throws `forbiddenGlobal`.
///
/// Non-tensor values land in `root` as `TorchValue`s (None, bool, int, big int, float, str,
/// bytes, list/set, tuple, dict, Namespace). Dropped on purpose: Python attributes on a
/// tensor (`_rebuild_from_type_v2` state), attributes set on a dict by BUILD (a module
/// `state_dict()`'s `_metadata`), backward hooks, `requires_grad` and the storage location.
public final class TorchCheckpoint {
    /// Path of the checkpoint file.
    public let path: String
    /// Folder name inside the archive (torch.save uses the file's stem, or `archive`).
    public let archiveName: String
    /// The whole unpickled object: dicts, lists, scalars, tensor references, opaque objects.
    public let root: TorchValue

    private let archive: ZipArchiveReader
    private let storages: [String: PickleStorage]
    private var converted: [String: TensorStorage] = [:]

    /// Opens the checkpoint at `url` and parses its pickle (no tensor data is read yet).
    public convenience init(contentsOf url: URL) throws {
        try self.init(path: url.path)
    }

    /// Opens the checkpoint at `path` and parses its pickle (no tensor data is read yet).
    public init(path: String) throws {
        self.path = path
        archive = try ZipArchiveReader(path: path)
        let candidates = archive.names.filter { name in
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && !parts[0].isEmpty && parts[1] == "data.pkl"
        }
        guard let pickleName = candidates.first else { throw TorchCheckpointError.missingEntry(path: path, entry: "<archive>/data.pkl") }
        guard candidates.count == 1 else {
            throw TorchCheckpointError.malformedZip(path: path, reason: "several data.pkl records: \(candidates.joined(separator: ", "))")
        }
        archiveName = String(pickleName.dropLast("/data.pkl".count))
        if let order = archive.entries[archiveName + "/byteorder"] {
            let text = try archive.withContents(of: order) { String(decoding: $0, as: UTF8.self) }
            if text != "little" { throw TorchCheckpointError.unsupportedByteOrder(path: path, byteOrder: text) }
        }
        let pickle = archive.entries[pickleName]!
        (root, storages) = try archive.withContents(of: pickle) { bytes in
            var machine = PickleMachine(path: path, data: bytes)
            var result: PickleObject?
            defer { machine.dismantle(also: result) }
            result = try machine.run()
            var builder = TorchValueBuilder(path: path, nodeBudget: max(1_000_000, 16 * pickle.size))
            return (try builder.value(result!), machine.storages)
        }
    }

    /// Loads the state dict of the checkpoint at `url` as `Float` tensors keyed by dotted names.
    ///
    /// Rule: starting at the top-level dict, descend while the current dict has a key `model`,
    /// `state_dict` or `module` (tried in that order) whose value is a dict; then flatten that
    /// dict, joining nested dict keys with `.`, keeping tensors and skipping every other value
    /// (numbers, strings, lists, None, Namespace). Prefixes are kept; see `strippingPrefixes`.
    public static func load(_ url: URL) throws -> [String: Tensor] {
        try TorchCheckpoint(contentsOf: url).stateDict()
    }

    /// The state dict chosen by `load`'s rule, as `Float` tensors.
    public func stateDict() throws -> [String: Tensor] {
        try stateDictReferences().mapValues { try tensor($0) }
    }

    /// The state dict chosen by `load`'s rule as unread tensor references (shapes known, no
    /// data converted), so a caller can pick the keys it needs before reading any storage.
    public func stateDictReferences() throws -> [String: TorchTensorReference] {
        let (value, where_) = try TorchCheckpoint.stateDictValue(in: root, path: path)
        let references = try tensorReferences(in: value)
        if references.isEmpty { throw TorchCheckpointError.noStateDict(path: path, reason: "no tensors under \(where_)") }
        return references
    }

    /// The dict `load` flattens and a description of where it sits ("top level", "['model']").
    static func stateDictValue(in root: TorchValue, path: String) throws -> (TorchValue, String) {
        guard case .dict = root else {
            throw TorchCheckpointError.noStateDict(path: path, reason: "the top-level object is not a dict")
        }
        var current = root
        var keys: [String] = []
        descend: while true {
            for key in ["model", "state_dict", "module"] {
                if let inner = current[key], case .dict = inner {
                    current = inner
                    keys.append(key)
                    continue descend
                }
            }
            break
        }
        return (current, keys.isEmpty ? "the top level" : keys.map { "['\($0)']" }.joined())
    }

    /// Every tensor under `value` (nested dicts flattened with dotted keys; other values skipped).
    public func tensors(in value: TorchValue) throws -> [String: Tensor] {
        try tensorReferences(in: value).mapValues { try tensor($0) }
    }

    /// Every tensor reference under `value`, keyed as `tensors(in:)` keys them, without reading data.
    public func tensorReferences(in value: TorchValue) throws -> [String: TorchTensorReference] {
        var out: [String: TorchTensorReference] = [:]
        try collect(value, prefix: "", into: &out)
        return out
    }

    private func collect(_ value: TorchValue, prefix: String, into out: inout [String: TorchTensorReference]) throws {
        switch value {
        case let .tensor(reference):
            if out[prefix] != nil { throw TorchCheckpointError.duplicateKey(path: path, key: prefix) }
            out[prefix] = reference
        case let .dict(entries):
            for entry in entries {
                let name: String
                switch entry.key {
                case let .string(s): name = s
                case let .int(i): name = String(i)
                default: continue
                }
                try collect(entry.value, prefix: prefix.isEmpty ? name : prefix + "." + name, into: &out)
            }
        default:
            return
        }
    }

    /// Reads and converts the storage of `reference` (once per storage) and returns its view.
    public func tensor(_ reference: TorchTensorReference) throws -> Tensor {
        if let problem = reference.viewProblem() { throw TorchCheckpointError.invalidTensor(path: path, reason: problem) }
        let storage = try floatStorage(reference.storageKey)
        guard storage.count == reference.storageCount else {
            throw TorchCheckpointError.invalidTensor(path: path, reason: "tensor disagrees with storage '\(reference.storageKey)' about its size")
        }
        return Tensor(storage: storage, layout: Layout(shape: reference.shape, strides: reference.strides, offset: reference.offset))
    }

    private func floatStorage(_ key: String) throws -> TensorStorage {
        if let done = converted[key] { return done }
        guard let info = storages[key] else {
            throw TorchCheckpointError.invalidTensor(path: path, reason: "storage '\(key)' is not declared by the pickle")
        }
        let name = archiveName + "/data/" + key
        guard let entry = archive.entries[name] else { throw TorchCheckpointError.missingEntry(path: path, entry: name) }
        let (needed, overflow) = info.count.multipliedReportingOverflow(by: info.dtype.itemSize)
        guard !overflow, entry.size >= needed else {
            throw TorchCheckpointError.invalidTensor(
                path: path, reason: "storage record '\(name)' holds \(entry.size) bytes but the pickle declares \(info.count) \(info.dtype) elements")
        }
        let storage = TensorStorage(uninitializedCount: info.count)
        try archive.withContents(of: entry) { bytes in
            if info.count > 0 {
                TorchStorageConversion.convert(bytes.baseAddress!, dtype: info.dtype, count: info.count, into: storage.pointer)
            }
        }
        converted[key] = storage
        return storage
    }
}
