/// The pickle opcodes `PickleMachine` executes (those torch.save writes at protocols 2-4),
/// and the names of all of Python's opcodes for error messages.
///
/// A byte that is not a case here is rejected before anything else happens.
enum PickleOpcode: UInt8 {
    case mark = 0x28          // (
    case stop = 0x2E          // .
    case binfloat = 0x47      // G
    case binint = 0x4A        // J
    case binint1 = 0x4B       // K
    case binint2 = 0x4D       // M
    case noneValue = 0x4E     // N (NONE)
    case binpersid = 0x51     // Q
    case reduce = 0x52        // R
    case binunicode = 0x58    // X
    case binbytes = 0x42      // B
    case shortBinbytes = 0x43 // C
    case emptyList = 0x5D     // ]
    case append = 0x61        // a
    case build = 0x62         // b
    case global = 0x63        // c
    case appends = 0x65       // e
    case binget = 0x68        // h
    case longBinget = 0x6A    // j
    case binput = 0x71        // q
    case longBinput = 0x72    // r
    case setitem = 0x73       // s
    case tuple = 0x74         // t
    case setitems = 0x75      // u
    case emptyDict = 0x7D     // }
    case emptyTuple = 0x29    // )
    case proto = 0x80
    case newobj = 0x81
    case tuple1 = 0x85
    case tuple2 = 0x86
    case tuple3 = 0x87
    case newtrue = 0x88
    case newfalse = 0x89
    case long1 = 0x8A
    case long4 = 0x8B
    case shortBinunicode = 0x8C
    case binunicode8 = 0x8D
    case binbytes8 = 0x8E
    case emptySet = 0x8F
    case additems = 0x90
    case newobjEx = 0x92
    case stackGlobal = 0x93
    case memoize = 0x94
    case frame = 0x95

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
