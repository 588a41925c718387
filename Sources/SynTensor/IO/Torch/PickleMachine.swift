/// A restricted pickle interpreter for the `data.pkl` that torch.save writes.
///
/// It executes only the opcodes below (protocol 2 as torch.save writes by default, plus the
/// protocol 3-4 forms a `pickle_protocol=4` save adds) and resolves only `TorchGlobal`'s
/// allow-list; any other opcode or global throws before anything else happens. "Calling" an
/// allow-listed global builds plain data (a dict, a tensor reference, an opaque object), so
/// loading never executes code. Every read is bounds-checked against the pickle's bytes.
struct PickleMachine {
    let path: String
    private let data: UnsafeRawBufferPointer
    private var pos = 0
    private var opStart = 0
    private var stack: [PickleObject] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleObject] = [:]
    /// Storages met in persistent ids, by record key.
    private(set) var storages: [String: PickleStorage] = [:]

    init(path: String, data: UnsafeRawBufferPointer) {
        self.path = path
        self.data = data
    }

    /// Runs to STOP and returns the unpickled object.
    mutating func run() throws -> PickleObject {
        while true {
            opStart = pos
            let code = try byte()
            guard let op = PickleOpcode(rawValue: code) else {
                throw TorchCheckpointError.unsupportedOpcode(path: path, opcode: code, offset: opStart)
            }
            switch op {
            case .proto:
                let version = try byte()
                if version > 5 { throw malformed("pickle protocol \(version) is newer than 5") }
            case .frame: _ = try length(8)
            case .stop: return try pop()
            case .mark: marks.append(stack.count)
            case .noneValue: stack.append(.none)
            case .newtrue: stack.append(.bool(true))
            case .newfalse: stack.append(.bool(false))
            case .binint: stack.append(.int(Int(Int32(bitPattern: UInt32(try le(4))))))
            case .binint1: stack.append(.int(Int(try le(1))))
            case .binint2: stack.append(.int(Int(try le(2))))
            case .long1: stack.append(try long(count: Int(try le(1))))
            case .long4:
                let n = Int(Int32(bitPattern: UInt32(try le(4))))
                if n < 0 || n > 4096 { throw malformed("LONG4 of \(n) bytes (accepted: 0...4096)") }
                stack.append(try long(count: n))
            case .binfloat:
                let bits = try le(8).byteSwapped  // pickle stores doubles big-endian
                stack.append(.float(Double(bitPattern: bits)))
            case .binunicode: stack.append(.string(try string(length(4))))
            case .shortBinunicode: stack.append(.string(try string(length(1))))
            case .binunicode8: stack.append(.string(try string(length(8))))
            case .binbytes: stack.append(.bytes(try bytes(length(4))))
            case .shortBinbytes: stack.append(.bytes(try bytes(length(1))))
            case .binbytes8: stack.append(.bytes(try bytes(length(8))))
            case .emptyTuple: stack.append(.tuple(PickleTuple([])))
            case .emptyList: stack.append(.list(PickleList()))
            case .emptyDict: stack.append(.dict(PickleDict()))
            case .emptySet: stack.append(.set(PickleList()))
            case .tuple: stack.append(.tuple(PickleTuple(try popMark())))
            case .tuple1: stack.append(.tuple(PickleTuple(try pop(1))))
            case .tuple2: stack.append(.tuple(PickleTuple(try pop(2))))
            case .tuple3: stack.append(.tuple(PickleTuple(try pop(3))))
            case .append: try extendList(with: [try pop()])
            case .appends: try extendList(with: try popMark())
            case .additems: try extendSet(with: try popMark())
            case .setitem: try setItems(try pop(2))
            case .setitems: try setItems(try popMark())
            case .binput: try put(Int(try le(1)))
            case .longBinput: try put(Int(try le(4)))
            case .memoize: try put(memo.count)
            case .binget: try get(Int(try le(1)))
            case .longBinget: try get(Int(try le(4)))
            case .global:
                let module = try line(), name = try line()
                stack.append(.global(try resolve(module, name)))
            case .stackGlobal:
                let pair = try pop(2)
                guard case let .string(module) = pair[0], case let .string(name) = pair[1] else {
                    throw malformed("STACK_GLOBAL needs two strings, got \(pair[0].typeName) and \(pair[1].typeName)")
                }
                stack.append(.global(try resolve(module, name)))
            case .reduce:
                let args = try pop()
                let callable = try pop()
                guard case let .global(g) = callable else { throw malformed("REDUCE on a \(callable.typeName), not an allowed global") }
                guard case let .tuple(items) = args else { throw malformed("REDUCE arguments are a \(args.typeName), not a tuple") }
                stack.append(try call(g, items.items))
            case .newobj:
                let args = try pop()
                try newObject(try pop(), args: args, kwargs: .dict(PickleDict()))
            case .newobjEx:
                let kwargs = try pop(), args = try pop()
                try newObject(try pop(), args: args, kwargs: kwargs)
            case .build: try build(state: try pop())
            case .binpersid: stack.append(try persistentLoad(try pop()))
            }
        }
    }

    /// Empties every container reachable from the stack, the memo and `extra`, iteratively.
    ///
    /// A hostile pickle can nest containers millions of levels deep in a few megabytes;
    /// releasing such a graph the ordinary way recurses once per level and overflows the
    /// stack. Each container is emptied on its first visit, so the work is one step per edge.
    mutating func dismantle(also extra: PickleObject? = nil) {
        var work = stack + Array(memo.values)
        if let extra { work.append(extra) }
        stack = []
        memo = [:]
        while let object = work.popLast() {
            switch object {
            case let .tuple(t):
                work += t.items
                t.items = []
            case let .list(l), let .set(l):
                work += l.items
                l.items = []
            case let .dict(d): work += d.removeAll()
            case let .instance(i):
                work.append(i.state)
                i.state = .none
            default: break
            }
        }
    }

    // MARK: - Globals and calls

    private func resolve(_ module: String, _ name: String) throws -> TorchGlobal {
        if let g = TorchGlobal(module: module, name: name) { return g }
        if module == "torch" && name.hasSuffix("Storage") {
            throw TorchCheckpointError.invalidTensor(
                path: path, reason: "storage type torch.\(name) is not supported (supported: "
                    + TorchDType.allCases.map { "torch." + $0.storageClass }.joined(separator: ", ") + ")")
        }
        throw TorchCheckpointError.forbiddenGlobal(path: path, global: module + "." + name, offset: opStart)
    }

    /// The data-only meaning of calling allow-listed global `g` with `args`.
    private func call(_ g: TorchGlobal, _ args: [PickleObject]) throws -> PickleObject {
        switch g {
        case .orderedDict:
            let dict = PickleDict()
            if args.isEmpty { return .dict(dict) }
            guard args.count == 1 else { throw malformed("OrderedDict takes at most one argument") }
            let pairs: [PickleObject]
            switch args[0] {
            case let .list(l): pairs = l.items
            case let .tuple(t): pairs = t.items
            default: throw malformed("OrderedDict argument is a \(args[0].typeName)")
            }
            for pair in pairs {
                guard case let .tuple(kv) = pair, kv.items.count == 2 else { throw malformed("OrderedDict items must be (key, value) tuples") }
                try setKey(dict, kv.items[0], kv.items[1])
            }
            return .dict(dict)
        case .rebuildTensorV2:
            return .tensor(try rebuildTensor(args))
        case .rebuildParameter, .rebuildParameterWithState:
            guard args.count == (g == .rebuildParameter ? 3 : 4), case let .tensor(t) = args[0] else {
                throw malformed("\(g.name) needs (tensor, requires_grad, hooks\(g == .rebuildParameter ? "" : ", state"))")
            }
            return .tensor(t)
        case .rebuildFromTypeV2:
            guard args.count == 4, case let .global(function) = args[0], case let .global(type) = args[1],
                  case let .tuple(inner) = args[2] else {
                throw malformed("_rebuild_from_type_v2 needs (function, type, args, state)")
            }
            guard [.rebuildTensorV2, .rebuildParameter, .rebuildParameterWithState].contains(function),
                  type == .tensorClass || type == .parameterClass else {
                throw malformed("_rebuild_from_type_v2 of \(function.name) as \(type.name) is not a plain tensor")
            }
            return try call(function, inner.items)  // Python attributes on the tensor (args[3]) are dropped
        case .torchSize:
            guard args.count == 1, case let .tuple(dims) = args[0] else { throw malformed("torch.Size needs one tuple") }
            return .tuple(PickleTuple(dims.items))
        case .namespace:
            guard args.isEmpty else { throw malformed("argparse.Namespace is rebuilt from its state, not arguments") }
            return .instance(PickleInstance(type: g.name))
        case .codecsEncode:
            guard args.count == 2, case let .string(text) = args[0], case let .string(encoding) = args[1],
                  encoding == "latin1" || encoding == "latin-1" else {
                throw malformed("_codecs.encode is only accepted as encode(str, 'latin1') (how protocol 2 pickles bytes)")
            }
            var out: [UInt8] = []
            for scalar in text.unicodeScalars {
                guard scalar.value < 256 else { throw malformed("_codecs.encode: character beyond latin-1") }
                out.append(UInt8(scalar.value))
            }
            return .bytes(out)
        case .tensorClass, .parameterClass, .storage:
            throw malformed("\(g.name) cannot be called during loading")
        }
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    private func rebuildTensor(_ args: [PickleObject]) throws -> TorchTensorReference {
        guard args.count == 6 || args.count == 7, case let .storage(storage) = args[0], case let .int(offset) = args[1] else {
            throw malformed("_rebuild_tensor_v2 needs (storage, offset, size, stride, requires_grad, hooks[, metadata])")
        }
        let shape = try ints(args[2], "size"), strides = try ints(args[3], "stride")
        let reference = TorchTensorReference(storageKey: storage.key, dtype: storage.dtype, storageCount: storage.count,
                                             offset: offset, shape: shape, strides: strides)
        if let problem = reference.viewProblem() {
            throw TorchCheckpointError.invalidTensor(path: path, reason: problem)
        }
        return reference
    }

    private func ints(_ object: PickleObject, _ what: String) throws -> [Int] {
        guard case let .tuple(items) = object else { throw malformed("tensor \(what) is a \(object.typeName), not a tuple") }
        return try items.items.map {
            guard case let .int(v) = $0 else { throw malformed("tensor \(what) holds a \($0.typeName)") }
            return v
        }
    }

    /// BINPERSID: `('storage', torch.<T>Storage, key, location, numel)` names a storage record.
    private mutating func persistentLoad(_ pid: PickleObject) throws -> PickleObject {
        guard case let .tuple(tuple) = pid, tuple.items.count == 5, case .string("storage") = tuple.items[0],
              case let .global(.storage(dtype)) = tuple.items[1], case let .string(key) = tuple.items[2],
              case .string = tuple.items[3], case let .int(count) = tuple.items[4] else {
            throw malformed("persistent id is not ('storage', torch.<T>Storage, key, location, numel)")
        }
        guard count >= 0, !key.isEmpty, !key.contains("/") else { throw malformed("bad storage key '\(key)' or size \(count)") }
        let storage = PickleStorage(key: key, dtype: dtype, count: count)
        if let seen = storages[key], seen != storage {
            throw malformed("storage '\(key)' is declared twice with different dtype or size")
        }
        storages[key] = storage
        return .storage(storage)
    }

    private mutating func newObject(_ cls: PickleObject, args: PickleObject, kwargs: PickleObject) throws {
        guard case .global(.namespace) = cls else { throw malformed("NEWOBJ of \(cls.typeName) is not allowed (only argparse.Namespace)") }
        guard case let .tuple(a) = args, a.items.isEmpty else { throw malformed("argparse.Namespace.__new__ with arguments") }
        if case let .dict(k) = kwargs, k.keys.isEmpty {
            stack.append(.instance(PickleInstance(type: TorchGlobal.namespace.name)))
        } else {
            throw malformed("argparse.Namespace.__new__ with keyword arguments")
        }
    }

    /// BUILD: opaque instances keep their state as data; a dict may receive attributes (a
    /// module's `state_dict()` carries `_metadata` this way), which are not items and are
    /// dropped. Nothing is ever applied by running code; any other target is refused.
    private mutating func build(state: PickleObject) throws {
        switch try top() {
        case let .instance(instance):
            if case let .dict(old) = instance.state, case let .dict(new) = state {
                for (k, v) in zip(new.keys, new.values) { try setKey(old, k, v) }
            } else {
                instance.state = state
            }
        case .dict:
            switch state {
            case .dict, .none: return
            default: throw malformed("BUILD on a dict with a \(state.typeName) state")
            }
        default:
            throw malformed("BUILD on a \(try top().typeName) (only dicts and argparse.Namespace take state)")
        }
    }

    // MARK: - Containers and memo

    private mutating func extendList(with items: [PickleObject]) throws {
        guard case let .list(list) = try top() else { throw malformed("APPEND(S) on a \(try top().typeName)") }
        list.items.append(contentsOf: items)
    }

    private mutating func extendSet(with items: [PickleObject]) throws {
        guard case let .set(set) = try top() else { throw malformed("ADDITEMS on a \(try top().typeName)") }
        set.items.append(contentsOf: items)
    }

    private mutating func setItems(_ items: [PickleObject]) throws {
        guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of items") }
        guard case let .dict(dict) = try top() else { throw malformed("SETITEM(S) on a \(try top().typeName)") }
        for i in stride(from: 0, to: items.count, by: 2) { try setKey(dict, items[i], items[i + 1]) }
    }

    private func setKey(_ dict: PickleDict, _ key: PickleObject, _ value: PickleObject) throws {
        do {
            try dict.set(key, value)
        } catch {
            throw malformed("unhashable dict key of type \(error.typeName)")
        }
    }

    private mutating func put(_ index: Int) throws { memo[index] = try top() }

    private mutating func get(_ index: Int) throws {
        guard let value = memo[index] else { throw malformed("memo slot \(index) was never stored") }
        stack.append(value)
    }

    // MARK: - Stack

    private var floor: Int { marks.last ?? 0 }

    private func top() throws -> PickleObject {
        guard stack.count > floor else { throw malformed("stack underflow") }
        return stack[stack.count - 1]
    }

    private mutating func pop() throws -> PickleObject {
        guard stack.count > floor else { throw malformed("stack underflow") }
        return stack.removeLast()
    }

    private mutating func pop(_ n: Int) throws -> [PickleObject] {
        guard stack.count - floor >= n else { throw malformed("stack underflow") }
        defer { stack.removeLast(n) }
        return Array(stack.suffix(n))
    }

    private mutating func popMark() throws -> [PickleObject] {
        guard let mark = marks.popLast() else { throw malformed("no MARK on the stack") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    // MARK: - Reading bytes

    private mutating func byte() throws -> UInt8 {
        guard pos < data.count else { throw malformed("data.pkl ends before STOP") }
        defer { pos += 1 }
        return data[pos]
    }

    /// An unsigned little-endian integer of `n` (<= 8) bytes.
    private mutating func le(_ n: Int) throws -> UInt64 {
        guard n <= data.count - pos else { throw malformed("data.pkl ends inside an operand") }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(data[pos + i]) << (8 * i) }
        pos += n
        return v
    }

    /// A length operand of `n` bytes that must fit in the remaining data.
    private mutating func length(_ n: Int) throws -> Int {
        let v = try le(n)
        guard v <= UInt64(data.count - pos) else { throw malformed("length \(v) runs past the end of data.pkl") }
        return Int(v)
    }

    private mutating func bytes(_ count: Int) throws -> [UInt8] {
        defer { pos += count }
        return Array(data[pos..<(pos + count)])
    }

    private mutating func string(_ count: Int) throws -> String {
        defer { pos += count }
        return String(decoding: UnsafeRawBufferPointer(rebasing: data[pos..<(pos + count)]), as: UTF8.self)
    }

    /// A newline-terminated operand (GLOBAL's module and name).
    private mutating func line() throws -> String {
        guard let end = data[pos...].firstIndex(of: 0x0A) else { throw malformed("GLOBAL operand without newline") }
        defer { pos = end + 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: data[pos..<end]), as: UTF8.self)
    }

    /// LONG1/LONG4: `count` bytes of little-endian two's complement.
    private mutating func long(count: Int) throws -> PickleObject {
        guard count <= data.count - pos else { throw malformed("data.pkl ends inside a LONG") }
        let raw = Array(data[pos..<(pos + count)])
        pos += count
        return PickleBigInt.value(littleEndianTwosComplement: raw)
    }

    private func malformed(_ reason: String) -> TorchCheckpointError {
        .malformedPickle(path: path, offset: opStart, reason: reason)
    }
}
