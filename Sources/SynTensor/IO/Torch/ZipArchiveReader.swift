import CSynImage

/// One file inside a ZIP archive, as its central directory describes it.
struct ZipEntry: Sendable, Equatable {
    /// Path inside the archive (UTF-8).
    let name: String
    /// 0 = stored, 8 = deflate.
    let method: Int
    /// CRC-32 of the uncompressed data.
    let crc32: UInt32
    /// Bytes in the file (after decompression).
    let size: Int
    /// Bytes the entry occupies in the archive.
    let compressedSize: Int
    /// Offset of the entry's data (past its local header) from the start of the archive.
    let dataOffset: Int
}

/// A memory-mapped ZIP archive read through its central directory (ZIP64 included).
///
/// Supports what `torch.save` writes (stored entries, data descriptors, ZIP64 sizes and
/// offsets) plus deflated entries, which are inflated into a heap buffer on access. Every
/// offset is bounds-checked; CRC-32 is verified on each access unless the recorded CRC is 0
/// (torch can be told to skip computing it). Errors are `TorchCheckpointError`s naming `path`.
final class ZipArchiveReader {
    /// Path of the archive (used in error messages).
    var path: String { file.path }
    /// Entries by name, in central-directory order in `names`.
    private(set) var entries: [String: ZipEntry] = [:]
    /// Entry names in the order the central directory lists them.
    private(set) var names: [String] = []
    private let file: MappedFile
    private var count: Int { file.count }

    /// Maps the file at `path` and reads its central directory.
    init(path: String) throws {
        do {
            file = try MappedFile(path: path)
        } catch let error as FileError {
            switch error {
            case let .cannotOpen(_, reason): throw TorchCheckpointError.cannotOpen(path: path, reason: reason)
            case .notRegularFile: throw TorchCheckpointError.cannotOpen(path: path, reason: "not a regular file")
            case .cannotWrite: throw TorchCheckpointError.cannotOpen(path: path, reason: error.description)
            }
        }
        try readCentralDirectory()
    }

    /// The whole file (valid while `self` is alive).
    var bytes: UnsafeRawBufferPointer { file.bytes }

    /// Calls `body` with the (decompressed, CRC-checked) contents of `entry`.
    func withContents<R>(of entry: ZipEntry, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[entry.dataOffset..<(entry.dataOffset + entry.compressedSize)])
        switch entry.method {
        case 0:
            try verifyCRC(entry, raw)
            return try withExtendedLifetime(self) { try body(raw) }
        case 8:
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(entry.size, 1), alignment: 64)
            defer { out.deallocate() }
            var message = [CChar](repeating: 0, count: 256)
            let rc = csyn_inflate_raw(raw.baseAddress, raw.count, out.baseAddress, entry.size, &message, message.count)
            if rc != 0 {
                let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                throw TorchCheckpointError.corruptEntry(path: path, entry: entry.name, reason: "cannot inflate: \(reason)")
            }
            let inflated = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(out)[0..<entry.size])
            try verifyCRC(entry, inflated)
            return try body(inflated)
        default:
            throw TorchCheckpointError.unsupportedCompression(path: path, entry: entry.name, method: entry.method)
        }
    }

    private func verifyCRC(_ entry: ZipEntry, _ data: UnsafeRawBufferPointer) throws {
        if entry.crc32 == 0 { return }
        let crc = csyn_crc32(0, data.baseAddress, data.count)
        if crc != entry.crc32 {
            throw TorchCheckpointError.corruptEntry(
                path: path, entry: entry.name,
                reason: "CRC-32 mismatch (recorded \(hex(entry.crc32)), data has \(hex(crc)))")
        }
    }

    // MARK: - Central directory

    private func readCentralDirectory() throws {
        let b = bytes
        // torch.save before 1.6 (or with _use_new_zipfile_serialization=False) starts with a
        // pickled magic number: PROTO 2, LONG1 of 10 bytes 0x1950a86a20f9469cfc6c.
        let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
        if count >= legacyMagic.count && b.prefix(legacyMagic.count).elementsEqual(legacyMagic) {
            throw TorchCheckpointError.legacyFormat(path: path)
        }
        guard count >= 4, b[0] == 0x50, b[1] == 0x4B else { throw TorchCheckpointError.notAZip(path: path) }
        guard let eocd = findEndOfCentralDirectory() else {
            throw TorchCheckpointError.truncated(path: path, reason: "no end-of-central-directory record (file cut short?)")
        }
        var entryCount = Int(u16(eocd + 10))
        var cdSize = Int(u32(eocd + 12))
        var cdOffset = Int(u32(eocd + 16))
        let locator = eocd - 20
        if locator >= 0 && u32(locator) == 0x0706_4B50 {
            let record = try checkedInt(u64(locator + 8), "ZIP64 end-of-central-directory offset")
            try need(record, 56, "ZIP64 end-of-central-directory record")
            guard u32(record) == 0x0606_4B50 else { throw malformed("bad ZIP64 end-of-central-directory signature") }
            entryCount = try checkedInt(u64(record + 32), "ZIP64 entry count")
            cdSize = try checkedInt(u64(record + 40), "ZIP64 central directory size")
            cdOffset = try checkedInt(u64(record + 48), "ZIP64 central directory offset")
        }
        try need(cdOffset, cdSize, "central directory")
        guard entryCount <= cdSize / 46 else { throw malformed("central directory too small for \(entryCount) entries") }
        var at = cdOffset
        let end = cdOffset + cdSize
        for _ in 0..<entryCount {
            let entry = try readEntry(at: &at, end: end)
            if entries[entry.name] != nil { throw malformed("duplicate entry '\(entry.name)'") }
            entries[entry.name] = entry
            names.append(entry.name)
        }
    }

    private func readEntry(at: inout Int, end: Int) throws -> ZipEntry {
        guard at + 46 <= end, u32(at) == 0x0201_4B50 else { throw malformed("bad central directory entry at byte \(at)") }
        let flags = u16(at + 8)
        let method = Int(u16(at + 10))
        let crc = u32(at + 16)
        var compressed = UInt64(u32(at + 20))
        var size = UInt64(u32(at + 24))
        let nameLength = Int(u16(at + 28)), extraLength = Int(u16(at + 30)), commentLength = Int(u16(at + 32))
        var localOffset = UInt64(u32(at + 42))
        let nameStart = at + 46
        guard nameStart + nameLength + extraLength + commentLength <= end else { throw malformed("central directory entry overruns") }
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<(nameStart + nameLength)]), as: UTF8.self)
        // ZIP64 extended information: the 64-bit values for fields recorded as 0xFFFFFFFF, in this order.
        var extra = nameStart + nameLength
        let extraEnd = extra + extraLength
        while extra + 4 <= extraEnd {
            let id = u16(extra), length = Int(u16(extra + 2))
            guard extra + 4 + length <= extraEnd else { throw malformed("extra field of '\(name)' overruns") }
            if id == 1 {
                var field = extra + 4
                func next() throws -> UInt64 {
                    guard field + 8 <= extra + 4 + length else { throw malformed("short ZIP64 extra field in '\(name)'") }
                    defer { field += 8 }
                    return u64(field)
                }
                if size == 0xFFFF_FFFF { size = try next() }
                if compressed == 0xFFFF_FFFF { compressed = try next() }
                if localOffset == 0xFFFF_FFFF { localOffset = try next() }
            }
            extra += 4 + length
        }
        at = extraEnd + commentLength
        if flags & 1 != 0 { throw malformed("entry '\(name)' is encrypted") }
        let local = try checkedInt(localOffset, "local header offset of '\(name)'")
        try need(local, 30, "local header of '\(name)'")
        guard u32(local) == 0x0403_4B50 else { throw malformed("bad local header signature for '\(name)'") }
        let dataOffset = local + 30 + Int(u16(local + 26)) + Int(u16(local + 28))
        let compressedSize = try checkedInt(compressed, "compressed size of '\(name)'")
        let fullSize = try checkedInt(size, "size of '\(name)'")
        if method == 0 && compressedSize != fullSize { throw malformed("stored entry '\(name)' has differing sizes") }
        // DEFLATE expands at most ~1032:1; a larger claim would only make us allocate for nothing.
        if method == 8 && fullSize / 1032 > compressedSize + 1 {
            throw malformed("deflated entry '\(name)' claims \(fullSize) bytes from \(compressedSize)")
        }
        try need(dataOffset, compressedSize, "data of '\(name)'")
        return ZipEntry(name: name, method: method, crc32: crc, size: fullSize,
                        compressedSize: compressedSize, dataOffset: dataOffset)
    }

    /// Offset of the end-of-central-directory record whose comment reaches exactly to the end.
    private func findEndOfCentralDirectory() -> Int? {
        guard count >= 22 else { return nil }
        let lowest = max(0, count - 22 - 0xFFFF)
        var at = count - 22
        while at >= lowest {
            if u32(at) == 0x0605_4B50 && at + 22 + Int(u16(at + 20)) == count { return at }
            at -= 1
        }
        return nil
    }

    // MARK: - Bounds-checked little-endian reads

    private func u16(_ at: Int) -> UInt16 { UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
    private func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    private func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }

    private func need(_ offset: Int, _ length: Int, _ what: String) throws {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw TorchCheckpointError.truncated(
                path: path, reason: "\(what) (bytes \(offset)..<\(offset &+ length)) lies past the end of the \(count)-byte file")
        }
    }

    private func checkedInt(_ value: UInt64, _ what: String) throws -> Int {
        guard value <= UInt64(Int.max) else { throw malformed("\(what) \(value) is out of range") }
        return Int(value)
    }

    private func malformed(_ reason: String) -> TorchCheckpointError {
        .malformedZip(path: path, reason: reason)
    }
}

/// `0x` and eight hex digits.
private func hex(_ v: UInt32) -> String {
    let digits = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
