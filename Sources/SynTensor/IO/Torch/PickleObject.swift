/// A mutable list (or set) on the pickle VM's stack; a reference type because APPEND mutates
/// the same object the memo holds.
final class PickleList {
    var items: [PickleObject] = []
}

/// A tuple on the pickle VM's stack. A class (not an indirect enum payload) so that
/// `PickleMachine.dismantle` can empty it: deallocation then never recurses deeply.
final class PickleTuple {
    var items: [PickleObject]
    init(_ items: [PickleObject]) { self.items = items }
}

/// A mutable dict on the pickle VM's stack, insertion-ordered, with Python key equality.
final class PickleDict {
    private(set) var keys: [PickleObject] = []
    private(set) var values: [PickleObject] = []
    private var index: [PickleKey: Int] = [:]

    /// Drops every entry (used to dismantle the object graph without deep recursion).
    func removeAll() -> [PickleObject] {
        defer { keys = []; values = []; index = [:] }
        return keys + values
    }

    /// Sets `key` to `value` (replacing an equal key's value in place, as Python does).
    func set(_ key: PickleObject, _ value: PickleObject) throws(PickleKeyError) {
        let k = try PickleKey(key)
        if let i = index[k] {
            values[i] = value
        } else {
            index[k] = keys.count
            keys.append(key)
            values.append(value)
        }
    }
}

/// An allow-listed object built without running its class (argparse.Namespace); BUILD
/// stores its state here.
final class PickleInstance {
    let type: String
    var state: PickleObject = .none
    init(type: String) { self.type = type }
}

/// An allow-listed global: what GLOBAL / STACK_GLOBAL may push. Nothing here runs Python code;
/// `PickleMachine.call` gives each its (pure, data-only) meaning.
enum TorchGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildParameter
    case rebuildParameterWithState
    case rebuildFromTypeV2
    case tensorClass
    case parameterClass
    case storage(TorchDType)
    case torchSize
    case namespace
    case codecsEncode

    /// The allow-listed global `module.name`, or nil.
    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("torch._tensor", "_rebuild_from_type_v2"): self = .rebuildFromTypeV2
        case ("torch", "Tensor"): self = .tensorClass
        case ("torch.nn.parameter", "Parameter"): self = .parameterClass
        case ("torch", "Size"): self = .torchSize
        case ("argparse", "Namespace"): self = .namespace
        case ("_codecs", "encode"): self = .codecsEncode
        case ("torch", _):
            guard let dtype = TorchDType(storageClass: name) else { return nil }
            self = .storage(dtype)
        default: return nil
        }
    }

    /// Python's dotted name, for messages and opaque values.
    var name: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .rebuildFromTypeV2: return "torch._tensor._rebuild_from_type_v2"
        case .tensorClass: return "torch.Tensor"
        case .parameterClass: return "torch.nn.parameter.Parameter"
        case let .storage(dtype): return "torch.\(dtype.storageClass)"
        case .torchSize: return "torch.Size"
        case .namespace: return "argparse.Namespace"
        case .codecsEncode: return "_codecs.encode"
        }
    }
}

/// A storage named by a BINPERSID persistent id: record key, dtype and element count.
struct PickleStorage: Equatable {
    let key: String
    let dtype: TorchDType
    let count: Int
}

/// A value on the pickle VM's stack or in its memo.
enum PickleObject {
    case none
    case bool(Bool)
    case int(Int)
    case bigInt(String)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case set(PickleList)
    case dict(PickleDict)
    case instance(PickleInstance)
    case global(TorchGlobal)
    case storage(PickleStorage)
    case tensor(TorchTensorReference)

    /// Python's type name, for messages.
    var typeName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .set: return "set"
        case .dict: return "dict"
        case let .instance(i): return i.type
        case let .global(g): return g.name
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// A dict key that Python could not hash (list, dict, ...).
struct PickleKeyError: Error {
    let typeName: String
}

/// Hashable identity of a dict key with Python's equalities (True == 1 == 1.0).
enum PickleKey: Hashable {
    case none
    case int(Int)
    case bigInt(String)
    case float(UInt64)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleKey])
    case storage(String)

    init(_ object: PickleObject, depth: Int = 0) throws(PickleKeyError) {
        guard depth < 32 else { throw PickleKeyError(typeName: "tuple nested deeper than 32 levels") }
        switch object {
        case .none: self = .none
        case let .bool(b): self = .int(b ? 1 : 0)
        case let .int(i): self = .int(i)
        case let .bigInt(s): self = .bigInt(s)
        case let .float(d):
            if d.rounded() == d, let i = Int(exactly: d) { self = .int(i) } else { self = .float(d.isNaN ? Double.nan.bitPattern : (d + 0).bitPattern) }
        case let .string(s): self = .string(s)
        case let .bytes(b): self = .bytes(b)
        case let .tuple(tuple):
            var keys: [PickleKey] = []
            keys.reserveCapacity(tuple.items.count)
            for item in tuple.items { keys.append(try PickleKey(item, depth: depth + 1)) }
            self = .tuple(keys)
        case let .storage(s): self = .storage(s.key)
        default: throw PickleKeyError(typeName: object.typeName)
        }
    }
}
