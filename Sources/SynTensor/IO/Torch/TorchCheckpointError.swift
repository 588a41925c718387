/// Why a PyTorch `.pth` checkpoint could not be loaded; every case names the file.
public enum TorchCheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or mapped.
    case cannotOpen(path: String, reason: String)
    /// The file is not a ZIP archive (nor a legacy torch pickle).
    case notAZip(path: String)
    /// The file uses torch's pre-1.6 non-ZIP format, which this reader does not parse.
    case legacyFormat(path: String)
    /// The archive ends before a structure it refers to.
    case truncated(path: String, reason: String)
    /// The ZIP structures are inconsistent.
    case malformedZip(path: String, reason: String)
    /// An entry uses a compression method other than stored (0) or deflate (8).
    case unsupportedCompression(path: String, entry: String, method: Int)
    /// An entry's data fails its CRC-32 or cannot be inflated.
    case corruptEntry(path: String, entry: String, reason: String)
    /// A record the checkpoint needs is absent from the archive.
    case missingEntry(path: String, entry: String)
    /// The `byteorder` record says something other than `little`.
    case unsupportedByteOrder(path: String, byteOrder: String)
    /// The pickle uses an opcode outside the subset torch.save writes.
    case unsupportedOpcode(path: String, opcode: UInt8, offset: Int)
    /// The pickle refers to a global (function or class) that is not on the allow-list.
    case forbiddenGlobal(path: String, global: String, offset: Int)
    /// The pickle is structurally wrong (stack underflow, bad argument types, no STOP, ...).
    case malformedPickle(path: String, offset: Int, reason: String)
    /// A tensor's storage, dtype or view is invalid (outside its storage, record too short).
    case invalidTensor(path: String, reason: String)
    /// No state dict could be found in the checkpoint.
    case noStateDict(path: String, reason: String)
    /// Two tensors flatten to the same dotted key.
    case duplicateKey(path: String, key: String)

    /// A readable sentence starting with the file's path.
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "\(path): cannot open checkpoint: \(reason)"
        case let .notAZip(path):
            return "\(path): not a PyTorch checkpoint (expected a ZIP archive written by torch.save)"
        case let .legacyFormat(path):
            return "\(path): legacy (pre-1.6, non-ZIP) torch.save format is not supported; re-save it with a current torch.save"
        case let .truncated(path, reason):
            return "\(path): truncated checkpoint: \(reason)"
        case let .malformedZip(path, reason):
            return "\(path): malformed ZIP archive: \(reason)"
        case let .unsupportedCompression(path, entry, method):
            return "\(path): entry '\(entry)' uses ZIP compression method \(method); only stored (0) and deflate (8) are supported"
        case let .corruptEntry(path, entry, reason):
            return "\(path): entry '\(entry)' is corrupt: \(reason)"
        case let .missingEntry(path, entry):
            return "\(path): the archive has no entry '\(entry)'"
        case let .unsupportedByteOrder(path, order):
            return "\(path): checkpoint byte order is '\(order)'; only little-endian checkpoints are supported"
        case let .unsupportedOpcode(path, opcode, offset):
            return "\(path): pickle opcode \(PickleOpcode.describe(opcode)) at byte \(offset) of data.pkl is not one torch.save writes for state dicts; refusing to load"
        case let .forbiddenGlobal(path, global, offset):
            let hint = global.hasPrefix("torch.nn.") || global.hasPrefix("__main__.")
                ? "; the file seems to pickle a whole model object: re-save model.state_dict() instead" : ""
            return "\(path): pickle at byte \(offset) of data.pkl references '\(global)', which is not on the allow-list of torch.save tensor/container globals; refusing to load (nothing was executed)\(hint)"
        case let .malformedPickle(path, offset, reason):
            return "\(path): malformed pickle at byte \(offset) of data.pkl: \(reason)"
        case let .invalidTensor(path, reason):
            return "\(path): invalid tensor: \(reason)"
        case let .noStateDict(path, reason):
            return "\(path): no state dict found: \(reason)"
        case let .duplicateKey(path, key):
            return "\(path): two tensors flatten to the same key '\(key)'"
        }
    }
}
