extension TorchTensorReference {
    /// Why this view does not fit its storage (negative sizes or strides, overflow, out of
    /// bounds), or nil when every element it addresses lies inside the storage.
    func viewProblem() -> String? {
        let what = "tensor on storage '\(storageKey)' (\(storageCount) elements) with offset \(offset), size \(shape), stride \(strides)"
        guard shape.count == strides.count else { return "\(what): size and stride differ in rank" }
        guard offset >= 0, storageCount >= 0 else { return "\(what): negative offset" }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else { return "\(what): negative size or stride" }
        var count = 1
        var last = offset
        for (n, s) in zip(shape, strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: n)
            guard !o1 else { return "\(what): element count overflows" }
            count = c
            if n == 0 { continue }
            let (reach, o2) = (n - 1).multipliedReportingOverflow(by: s)
            let (sum, o3) = last.addingReportingOverflow(reach)
            guard !o2, !o3 else { return "\(what): extent overflows" }
            last = sum
        }
        if count > 0 && last >= storageCount { return "\(what): reads element \(last), past the end of its storage" }
        return nil
    }
}

/// Turns the VM's object graph into a `TorchValue` tree.
///
/// Rejects cyclic containers and caps the number of nodes (shared sub-objects are copied, so
/// a small hostile pickle could otherwise describe an exponentially large tree).
struct TorchValueBuilder {
    let path: String
    private var budget: Int
    private var open: Set<ObjectIdentifier> = []

    init(path: String, nodeBudget: Int) {
        self.path = path
        self.budget = nodeBudget
    }

    mutating func value(_ object: PickleObject, depth: Int = 0) throws -> TorchValue {
        budget -= 1
        guard budget >= 0 else { throw problem("the object tree is too large (shared sub-objects repeated too often)") }
        guard depth < 200 else { throw problem("containers nested deeper than 200 levels") }
        switch object {
        case .none: return .none
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case let .bigInt(s): return .bigInt(s)
        case let .float(d): return .float(d)
        case let .string(s): return .string(s)
        case let .bytes(b): return .bytes(b)
        case let .tensor(t): return .tensor(t)
        case let .tuple(t): return .tuple(try t.items.map { try value($0, depth: depth + 1) })
        case let .list(l), let .set(l):
            try enter(l)
            defer { open.remove(ObjectIdentifier(l)) }
            return .list(try l.items.map { try value($0, depth: depth + 1) })
        case let .dict(d):
            try enter(d)
            defer { open.remove(ObjectIdentifier(d)) }
            var entries: [TorchValue.Entry] = []
            entries.reserveCapacity(d.keys.count)
            for (k, v) in zip(d.keys, d.values) {
                entries.append(TorchValue.Entry(key: try value(k, depth: depth + 1), value: try value(v, depth: depth + 1)))
            }
            return .dict(entries)
        case let .instance(i):
            try enter(i)
            defer { open.remove(ObjectIdentifier(i)) }
            return .object(type: i.type, state: try value(i.state, depth: depth + 1))
        case let .global(g):
            return .object(type: g.name, state: .none)
        case let .storage(s):
            return .object(type: "torch." + s.dtype.storageClass, state: .string(s.key))
        }
    }

    /// Marks `container` as being converted; throws if it already is (a cycle).
    private mutating func enter(_ container: AnyObject) throws {
        guard open.insert(ObjectIdentifier(container)).inserted else { throw problem("a container contains itself") }
    }

    private func problem(_ reason: String) -> TorchCheckpointError {
        .malformedPickle(path: path, offset: 0, reason: reason)
    }
}
