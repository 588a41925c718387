import Foundation
import Synchronization
@testable import SynTensor
import SynTestSupport

/// URL of a committed fixture under Tests/SynTensorTests/Fixtures.
func fixtureURL(_ name: String) throws -> URL {
    let base = (name as NSString).deletingPathExtension
    let ext = (name as NSString).pathExtension
    guard let url = Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "Fixtures") else {
        throw FixtureMissing(name: name)
    }
    return url
}

/// A fixture that is not in the test bundle.
struct FixtureMissing: Error, CustomStringConvertible {
    let name: String
    var description: String { "fixture \(name) not found in Bundle.module/Fixtures" }
}

private let scratchCounter = Atomic<Int>(0)

/// A fresh, empty directory for one test; removed by `cleanup`.
struct ScratchDirectory {
    let url: URL

    init(_ label: String = #function) throws {
        let n = scratchCounter.wrappingAdd(1, ordering: .relaxed).oldValue
        let safe = label.filter { $0.isLetter || $0.isNumber }
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("synclr-io-\(getpid())-\(n)-\(safe)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Path of `name` inside the directory.
    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Names currently in the directory.
    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }

    /// Deletes the directory.
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Writes raw bytes to `url`.
func writeBytes(_ bytes: [UInt8], to url: URL) throws {
    try Data(bytes).write(to: url)
}

/// Reads raw bytes from `url`.
func readBytes(_ url: URL) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: url))
}

/// Bitwise equality of float arrays (NaN equals NaN, -0 differs from +0).
func bitwiseEqual(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
}

/// The error's description, or "no error" when `body` succeeds.
func errorText(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch {
        return String(describing: error)
    }
}

/// Where two byte arrays first differ ("byte i: a vs b" or a length note), nil when equal.
func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String? {
    for i in 0..<min(a.count, b.count) where a[i] != b[i] {
        return "byte \(i): \(a[i]) vs \(b[i]) (lengths \(a.count), \(b.count))"
    }
    return a.count == b.count ? nil : "lengths differ: \(a.count) vs \(b.count)"
}
