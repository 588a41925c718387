/// Pickle opcode bytes (Python's pickle protocols 0-5) and their names for error messages.
///
/// Only the opcodes in `PickleMachine`'s dispatch are executed; the rest are named here so a
/// rejection says which opcode it met.
enum PickleOpcode {
    static let mark: UInt8 = 0x28          // (
    static let stop: UInt8 = 0x2E          // .
    static let binfloat: UInt8 = 0x47      // G
    static let binint: UInt8 = 0x4A        // J
    static let binint1: UInt8 = 0x4B       // K
    static let binint2: UInt8 = 0x4D       // M
    static let none: UInt8 = 0x4E          // N
    static let binpersid: UInt8 = 0x51     // Q
    static let reduce: UInt8 = 0x52        // R
    static let binunicode: UInt8 = 0x58    // X
    static let binbytes: UInt8 = 0x42      // B
    static let shortBinbytes: UInt8 = 0x43 // C
    static let emptyList: UInt8 = 0x5D     // ]
    static let append: UInt8 = 0x61        // a
    static let build: UInt8 = 0x62         // b
    static let global: UInt8 = 0x63        // c
    static let appends: UInt8 = 0x65       // e
    static let binget: UInt8 = 0x68        // h
    static let longBinget: UInt8 = 0x6A    // j
    static let binput: UInt8 = 0x71        // q
    static let longBinput: UInt8 = 0x72    // r
    static let setitem: UInt8 = 0x73       // s
    static let tuple: UInt8 = 0x74         // t
    static let setitems: UInt8 = 0x75      // u
    static let emptyDict: UInt8 = 0x7D     // }
    static let emptyTuple: UInt8 = 0x29    // )
    static let proto: UInt8 = 0x80
    static let newobj: UInt8 = 0x81
    static let tuple1: UInt8 = 0x85
    static let tuple2: UInt8 = 0x86
    static let tuple3: UInt8 = 0x87
    static let newtrue: UInt8 = 0x88
    static let newfalse: UInt8 = 0x89
    static let long1: UInt8 = 0x8A
    static let long4: UInt8 = 0x8B
    static let shortBinunicode: UInt8 = 0x8C
    static let binunicode8: UInt8 = 0x8D
    static let binbytes8: UInt8 = 0x8E
    static let emptySet: UInt8 = 0x8F
    static let additems: UInt8 = 0x90
    static let newobjEx: UInt8 = 0x92
    static let stackGlobal: UInt8 = 0x93
    static let memoize: UInt8 = 0x94
    static let frame: UInt8 = 0x95

    /// Names of every opcode Python defines, accepted or not.
    private static let names: [UInt8: String] = [
        0x28: "MARK", 0x2E: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
        0x4A: "BININT", 0x4B: "BININT1", 0x4C: "LONG", 0x4D: "BININT2", 0x4E: "NONE", 0x50: "PERSID",
        0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
        0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
        0x7D: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6A: "LONG_BINGET",
        0x6C: "LIST", 0x5D: "EMPTY_LIST", 0x6F: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT",
        0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT",
        0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1",
        0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8A: "LONG1", 0x8B: "LONG4",
        0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8",
        0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
        0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
        0x98: "READONLY_BUFFER",
    ]

    /// "INST ('i', 0x69)" for a known opcode, "0xEE (not a pickle opcode)" otherwise.
    static func describe(_ op: UInt8) -> String {
        let code = "0x" + (op < 16 ? "0" : "") + String(op, radix: 16, uppercase: true)
        guard let name = names[op] else { return "\(code) (not a pickle opcode)" }
        if op >= 0x20 && op < 0x7F { return "\(name) ('\(Character(Unicode.Scalar(op)))', \(code))" }
        return "\(name) (\(code))"
    }
}
