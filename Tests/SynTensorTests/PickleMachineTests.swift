import Testing
@testable import SynTensor

/// Runs a hand-written pickle through the restricted VM and the value builder.
private func unpickle(_ bytes: [UInt8], budget: Int = 10_000) throws -> TorchValue {
    try bytes.withUnsafeBytes { raw in
        var machine = PickleMachine(path: "mem.pkl", data: raw)
        var result: PickleObject?
        defer { machine.dismantle(also: result) }
        result = try machine.run()
        var builder = TorchValueBuilder(path: "mem.pkl", nodeBudget: budget)
        return try builder.value(result!)
    }
}

/// BINUNICODE of `s`.
private func u(_ s: String) -> [UInt8] {
    let b = Array(s.utf8)
    return [0x58] + withUnsafeBytes(of: UInt32(b.count).littleEndian, Array.init) + b
}

@Suite struct PickleMachineTests {
    @Test func scalarsAndContainers() throws {
        // {'a': [1, -2, 300, 70000], 'b': (True, None, 0.5), 'c': -129 (LONG1), 'd': b'xy'}
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x28]
        p += u("a") + [0x5D, 0x28, 0x4B, 0x01, 0x4A] + withUnsafeBytes(of: Int32(-2).littleEndian, Array.init)
        p += [0x4D, 0x2C, 0x01, 0x4A] + withUnsafeBytes(of: Int32(70000).littleEndian, Array.init) + [0x65]
        p += u("b") + [0x88, 0x4E, 0x47] + withUnsafeBytes(of: (0.5).bitPattern.bigEndian, Array.init) + [0x87]
        p += u("c") + [0x8A, 0x02, 0x7F, 0xFF]
        p += u("d") + [0x43, 0x02, 0x78, 0x79]
        p += [0x75, 0x2E]
        let v = try unpickle(p)
        #expect(v["a"] == .list([.int(1), .int(-2), .int(300), .int(70000)]))
        #expect(v["b"] == .tuple([.bool(true), .none, .float(0.5)]))
        #expect(v["c"] == .int(-129))
        #expect(v["d"] == .bytes([0x78, 0x79]))
    }

    /// The Int of a LONG operand, nil for a big integer.
    private func small(_ raw: [UInt8]) -> Int? {
        if case let .int(v) = PickleBigInt.value(littleEndianTwosComplement: raw) { return v }
        return nil
    }

    @Test func bigIntegers() {
        #expect(small(Array(repeating: 0xFF, count: 12)) == -1)
        #expect(small([]) == 0)
        #expect(small([0x80, 0x00]) == 128)
        let twoTo64: [UInt8] = Array(repeating: 0, count: 8) + [1]
        guard case let .bigInt(s) = PickleBigInt.value(littleEndianTwosComplement: twoTo64) else { Issue.record("expected a big integer"); return }
        #expect(s == "18446744073709551616")
        let minus: [UInt8] = Array(repeating: 0, count: 8) + [0xFF]  // -2^64
        guard case let .bigInt(m) = PickleBigInt.value(littleEndianTwosComplement: minus) else { Issue.record("expected a big integer"); return }
        #expect(m == "-18446744073709551616")
        #expect(small([0, 0, 0, 0, 0, 0, 0, 0x80]) == Int.min)
        #expect(small([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00]) == Int.max)
    }

    @Test func sharedMemoObjectsSeeLaterMutation() throws {
        // l = [] (memo 0); d = {'x': l, 'y': l}; l.append(5) through the memo; return (l, d, l).
        var p: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x7D, 0x28] + u("x") + [0x68, 0x00] + u("y") + [0x68, 0x00, 0x75]
        p += [0x68, 0x00, 0x4B, 0x05, 0x61, 0x87, 0x2E]
        let five = TorchValue.list([.int(5)])
        guard case let .tuple(items) = try unpickle(p), items.count == 3 else { Issue.record("not a 3-tuple"); return }
        #expect(items[0] == five && items[2] == five)
        #expect(items[1]["x"] == five && items[1]["y"] == five)
    }

    @Test func cyclesAndBlowUpAreRejected() {
        // l = []; l.append(l)
        #expect(throws: TorchCheckpointError.self) { try unpickle([0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]) }
        // t0 = (); t_{i+1} = (t_i, t_i) 40 times: 2^40 nodes if expanded.
        var p: [UInt8] = [0x80, 0x02, 0x29]
        for _ in 0..<40 { p += [0x71, 0x00, 0x68, 0x00, 0x86] }
        p += [0x2E]
        #expect(throws: TorchCheckpointError.self) { try unpickle(p) }
    }

    @Test func deepNestingIsRejectedWithoutOverflowingTheStack() {
        // 50_000 nested 1-tuples (released recursively, this overflows a test thread's stack).
        let tuples: [UInt8] = [0x80, 0x02, 0x29] + Array(repeating: 0x85, count: 50_000) + [0x2E]
        #expect(throws: TorchCheckpointError.self) { try unpickle(tuples) }
        // A chain of 50_000 lists, each appended to the previous one through the memo:
        // root = [] (memo 0, tail memo 1); repeat { push tail; new = []; memo 1 = new; tail.append(new) }.
        let step: [UInt8] = [0x68, 0x01, 0x5D, 0x71, 0x01, 0x61]
        let lists: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x71, 0x01] + repeatElement(step, count: 50_000).joined() + [0x68, 0x00, 0x2E]
        #expect(throws: TorchCheckpointError.self) { try unpickle(lists) }
    }

    @Test func dictAttributesFromBuildAreDropped() throws {
        // {'w': 1} with BUILD {'_metadata': {}}: as a module state_dict() pickles.
        let p: [UInt8] = [0x80, 0x02, 0x7D, 0x28] + u("w") + [0x4B, 0x01, 0x75, 0x7D] + u("_metadata") + [0x7D, 0x73, 0x62, 0x2E]
        #expect(try unpickle(p) == .dict([TorchValue.Entry(key: .string("w"), value: .int(1))]))
    }

    @Test func structuralErrors() {
        #expect(throws: TorchCheckpointError.self) { try unpickle([0x80, 0x02, 0x52, 0x2E]) }        // REDUCE on empty stack
        #expect(throws: TorchCheckpointError.self) { try unpickle([0x80, 0x02, 0x68, 0x03, 0x2E]) }  // memo slot never stored
        #expect(throws: TorchCheckpointError.self) { try unpickle([0x80, 0x02, 0x58, 0xFF, 0xFF, 0x00, 0x00, 0x61]) }  // length past end
        #expect(throws: TorchCheckpointError.self) { try unpickle([0x80, 0x02, 0x28, 0x4B, 0x01, 0x74, 0x62, 0x2E]) }  // BUILD without target
        #expect(throws: TorchCheckpointError.self) { try unpickle([0x80, 0x02, 0x7D, 0x5D, 0x4B, 0x01, 0x73, 0x2E]) } // list as dict key
        // BUILD on a list, or on a dict with a non-dict state: refused.
        #expect(throws: TorchCheckpointError.self) { try unpickle([0x80, 0x02, 0x5D, 0x7D, 0x62, 0x2E]) }
        #expect(throws: TorchCheckpointError.self) { try unpickle([0x80, 0x02, 0x7D, 0x4B, 0x01, 0x62, 0x2E]) }
    }
}
