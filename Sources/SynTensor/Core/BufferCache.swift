import Foundation
import Synchronization

/// Recycles large tensor buffers by exact byte size.
///
/// A training step allocates the same shapes every iteration. Returning big buffers to the OS and
/// mapping them again costs page faults and kernel page zeroing on every step (several percent of
/// a ViT step here); keeping them in per-size free lists makes the second step allocation-free.
/// The cache holds at most `SYNCLR_BUFFER_CACHE_MB` (default 1024) MiB.
final class BufferCache: Sendable {
    static let shared = BufferCache()
    /// Buffers smaller than this go straight to malloc (fast enough, and too many sizes to cache).
    static let minimumBytes = 1 << 16

    private struct State {
        var free: [Int: [UInt]] = [:]
        var bytes = 0
        var stats = TensorBufferStatistics()
    }
    private let state = Mutex(State())
    private let capacity: Int

    private init() {
        let mb = ProcessInfo.processInfo.environment["SYNCLR_BUFFER_CACHE_MB"].flatMap(Int.init) ?? 1024
        capacity = max(0, mb) << 20
    }

    /// The size actually allocated for `bytes`: cached sizes are rounded up to eight classes per power
    /// of two (at most 12.5% more), so tensors of nearby shapes share buffers instead of each shape
    /// keeping its own idle ones (which raised peak resident memory).
    static func sizeClass(_ bytes: Int) -> Int {
        guard bytes >= minimumBytes else { return bytes }
        let step = 1 << (Int.bitWidth - 1 - bytes.leadingZeroBitCount - 3)
        return (bytes + step - 1) / step * step
    }

    /// A cached buffer of exactly `bytes`, if one is free.
    func take(_ bytes: Int) -> UnsafeMutableRawPointer? {
        guard bytes >= BufferCache.minimumBytes else { return nil }
        let address: UInt? = state.withLock { s in
            guard var list = s.free[bytes], let a = list.popLast() else {
                s.stats.fresh += 1
                return nil
            }
            s.free[bytes] = list
            s.bytes -= bytes
            s.stats.reused += 1
            return a
        }
        return address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
    }

    /// Keeps `pointer` for reuse; false when it should be freed instead (small or cache full).
    func give(_ pointer: UnsafeMutableRawPointer, bytes: Int) -> Bool {
        guard bytes >= BufferCache.minimumBytes else { return false }
        let address = UInt(bitPattern: pointer)
        return state.withLock { s in
            guard s.bytes + bytes <= capacity else { return false }
            s.free[bytes, default: []].append(address)
            s.bytes += bytes
            return true
        }
    }

    /// Counts since the process started.
    var statistics: TensorBufferStatistics { state.withLock { $0.stats } }

    /// Frees every cached buffer (before a memory measurement, or to give memory back between jobs).
    func releaseAll() {
        let addresses: [UInt] = state.withLock { s in
            let all = s.free.values.flatMap { $0 }
            s.free = [:]
            s.bytes = 0
            return all
        }
        for a in addresses { UnsafeMutableRawPointer(bitPattern: a)?.deallocate() }
    }
}

/// How the large tensor buffers (64 KiB and up) a process asked for were served: reused from the
/// buffer cache or freshly allocated. A training loop in its steady state should allocate nothing
/// fresh: every activation and gradient buffer of step n + 1 is one that step n gave back.
public struct TensorBufferStatistics: Sendable, Equatable {
    /// Buffers taken from the cache.
    public var reused = 0
    /// Buffers the allocator had to provide.
    public var fresh = 0

    /// The counts between an earlier reading and this one.
    public func since(_ earlier: TensorBufferStatistics) -> TensorBufferStatistics {
        TensorBufferStatistics(reused: reused - earlier.reused, fresh: fresh - earlier.fresh)
    }
}
