#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only, memory-mapped regular file; the mapping lives as long as this object.
///
/// Pages are read lazily by the kernel, so mapping a multi-gigabyte checkpoint is cheap and
/// only the tensors actually converted are touched. Truncating the file while it is mapped
/// is undefined (SIGBUS), as with any mmap reader.
public final class MappedFile: @unchecked Sendable {
    /// Path the file was opened from (used in error messages).
    public let path: String
    /// Start of the mapping (nil for an empty file).
    private let base: UnsafeRawPointer?
    /// Size of the file in bytes.
    public let count: Int

    /// Maps the file at `path`; throws `FileError` if it cannot be opened or is not a regular file.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw FileError.cannotOpen(path: path, reason: errnoMessage()) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw FileError.cannotOpen(path: path, reason: errnoMessage()) }
        if (info.st_mode & S_IFMT) != S_IFREG { throw FileError.notRegularFile(path: path) }
        let size = Int(info.st_size)
        count = size
        if size == 0 {
            base = nil
            return
        }
        #if canImport(Glibc)
        let flags = MAP_PRIVATE | MAP_NORESERVE
        #else
        let flags = MAP_PRIVATE
        #endif
        guard let p = mmap(nil, size, PROT_READ, flags, fd, 0), p != MAP_FAILED else {
            throw FileError.cannotOpen(path: path, reason: "mmap: \(errnoMessage())")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The whole file as bytes; valid only while `self` is alive (use `withExtendedLifetime`).
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }

    /// Calls `body` with the file's bytes, keeping the mapping alive meanwhile.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(bytes) }
    }
}
