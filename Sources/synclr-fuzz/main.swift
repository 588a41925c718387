import Foundation
import SynTensor
#if canImport(Glibc)
import Glibc
#endif

// synclr-fuzz: a deterministic mutation fuzzer over the project's parsers (issue 17, item 2).
//
//   synclr-fuzz list
//   synclr-fuzz run TARGET --seeds DIR[,DIR...] --seconds N [--seed S] [--out DIR]
//   synclr-fuzz replay TARGET FILE...
//   synclr-fuzz libfuzzer TARGET [libFuzzer flags and corpus folders]   (build of `make fuzz-libfuzzer`)
//
// The libfuzzer command hands the target to libFuzzer's LLVMFuzzerRunDriver, found at run time:
// it exists only in a build linked with `-sanitize=fuzzer` (coverage-guided), so the ordinary
// build needs no fuzzer runtime.
//
// Inputs are seed files mutated by a Philox stream from --seed (same seed, same inputs): bit
// flips, interesting integers (little and big endian, as length fields are), chunk deletion,
// duplication and insertion, truncation and splicing of two seeds. A crash (trap, signal) or an
// input running longer than 10 s writes the input to OUT/TARGET/crash-* from the signal handler
// before the process dies, so it can be replayed and kept as a regression test. Inputs that
// raise a new error message are added to the in-memory corpus (a cheap stand-in for coverage).

/// The input being parsed, for the signal handler (written before each run, read only on a crash).
nonisolated(unsafe) var currentInput = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 24)
nonisolated(unsafe) var currentLength = 0
/// NUL-terminated path the signal handler writes the input to.
nonisolated(unsafe) var crashPath = UnsafeMutablePointer<CChar>.allocate(capacity: 4096)

/// Writes the current input to `crashPath` and re-raises the signal (async-signal-safe calls only).
func installCrashHandlers() {
    let handler: @convention(c) (Int32) -> Void = { sig in
        let fd = open(crashPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd >= 0 {
            var written = 0
            while written < currentLength {
                let n = write(fd, currentInput + written, currentLength - written)
                if n <= 0 { break }
                written += n
            }
            close(fd)
        }
        let message = "synclr-fuzz: signal, input saved\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        signal(sig, SIG_DFL)
        raise(sig)
    }
    // On an alternate stack, so a stack overflow (deep recursion) is saved too.
    let altSize = 1 << 16
    var stack = stack_t()
    stack.ss_sp = UnsafeMutableRawPointer.allocate(byteCount: altSize, alignment: 16)
    stack.ss_size = altSize
    sigaltstack(&stack, nil)
    for sig in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGALRM] {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = handler
        action.sa_flags = Int32(SA_ONSTACK)
        sigemptyset(&action.sa_mask)
        sigaction(sig, &action, nil)
    }
}

/// Deterministic mutations driven by the project's Philox generator.
struct Mutator {
    var random: RandomGenerator
    static let interesting: [UInt64] = [0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 511, 512, 1023, 1024,
                                        4095, 4096, 32767, 32768, 65535, 65536, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                                        0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF]

    mutating func int(_ n: Int) -> Int { n <= 1 ? 0 : random.int(below: n) }

    /// One mutated copy of `input` (`other` is a second corpus entry for splicing).
    mutating func mutate(_ input: [UInt8], other: [UInt8]) -> [UInt8] {
        var out = input
        let rounds = 1 + int(4)
        for _ in 0..<rounds {
            if out.isEmpty { out = [UInt8(truncatingIfNeeded: random.nextUInt32())]; continue }
            switch int(10) {
            case 0, 1:  // flip a bit
                let i = int(out.count)
                out[i] ^= UInt8(1 << int(8))
            case 2:  // set a byte
                out[int(out.count)] = UInt8(truncatingIfNeeded: random.nextUInt32())
            case 3, 4:  // an interesting integer of width 1, 2, 4 or 8, either byte order
                let width = [1, 2, 4, 8][int(4)]
                guard out.count >= width else { continue }
                let at = int(out.count - width + 1)
                var v = Mutator.interesting[int(Mutator.interesting.count)]
                if random.nextUInt32() & 1 == 0 { v = v &+ UInt64(int(3)) &- 1 }
                let bigEndian = random.nextUInt32() & 1 == 0
                for k in 0..<width {
                    let shift = UInt64(8 * (bigEndian ? width - 1 - k : k))
                    out[at + k] = UInt8(truncatingIfNeeded: v >> shift)
                }
            case 5:  // delete a chunk
                let at = int(out.count), n = 1 + int(min(64, out.count - at))
                out.removeSubrange(at..<min(out.count, at + n))
            case 6:  // duplicate a chunk
                let at = int(out.count), n = 1 + int(min(64, out.count - at))
                let chunk = Array(out[at..<min(out.count, at + n)])
                out.insert(contentsOf: chunk, at: int(out.count + 1))
            case 7:  // truncate
                out.removeLast(int(out.count))
            case 8:  // splice with another input
                guard !other.isEmpty else { continue }
                let cut = int(out.count), from = int(other.count)
                out = Array(out[..<cut]) + other[from...]
            default:  // insert random bytes
                let n = 1 + int(16)
                let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: random.nextUInt32()) }
                out.insert(contentsOf: bytes, at: int(out.count + 1))
            }
        }
        if out.count > 1 << 24 { out.removeLast(out.count - (1 << 24)) }
        return out
    }
}

/// Seed files under `dirs` whose extension belongs to `target` (recursively, sorted: deterministic).
func seeds(for target: FuzzTarget, in dirs: [String]) -> [[UInt8]] {
    var files: [String] = []
    for dir in dirs {
        guard let e = FileManager.default.enumerator(atPath: dir) else { continue }
        while let rel = e.nextObject() as? String {
            let ext = (rel as NSString).pathExtension.lowercased()
            if target.extensions.contains(ext) { files.append(dir + "/" + rel) }
        }
    }
    return files.sorted().compactMap { path in
        guard let data = FileManager.default.contents(atPath: path), data.count <= 4 << 20 else { return nil }
        return [UInt8](data)
    }
}

/// Runs one input with the crash bookkeeping and a 10-second alarm; returns the error text (nil: accepted).
func execute(_ target: FuzzTarget, _ input: [UInt8], scratch: URL) -> String? {
    currentLength = min(input.count, 1 << 24)
    input.withUnsafeBufferPointer { currentInput.update(from: $0.baseAddress!, count: currentLength) }
    alarm(10)
    defer { alarm(0) }
    do {
        try target.run(input, scratch)
        return nil
    } catch {
        return "\(error)"
    }
}

/// A coarse signature of an error message: its words of 3+ letters that are not hex numbers, so
/// "a new kind of error" grows the corpus, not every new offset, byte value or name.
func signature(_ message: String) -> String {
    let words: [String] = message.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init)
    let kept = words.filter { w in w.count >= 3 && !w.allSatisfy { "abcdef".contains($0) } }
    return Array(kept.prefix(16)).joined(separator: " ")
}

func usage() -> Never {
    FileHandle.standardError.write(Data("""
    usage: synclr-fuzz list
           synclr-fuzz run TARGET --seeds DIR[,DIR...] --seconds N [--seed S] [--out DIR]
           synclr-fuzz replay TARGET FILE...

    """.utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { usage() }
if command == "list" {
    for t in fuzzTargets { print("\(t.name)\t\(t.extensions.sorted().joined(separator: ","))") }
    exit(0)
}
guard arguments.count >= 2, let target = fuzzTargets.first(where: { $0.name == arguments[1] }) else { usage() }

/// libFuzzer's callback signature and driver entry point.
typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
typealias FuzzDriver = @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                       FuzzCallback) -> Int32
nonisolated(unsafe) var driverTarget: FuzzTarget? = nil
nonisolated(unsafe) var driverScratch = URL(fileURLWithPath: "/tmp")

if command == "libfuzzer" {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "LLVMFuzzerRunDriver") else {
        FileHandle.standardError.write(Data("synclr-fuzz: this build has no libFuzzer; build it with `make fuzz-libfuzzer`\n".utf8))
        exit(2)
    }
    driverTarget = target
    driverScratch = URL(fileURLWithPath: FileManager.default.temporaryDirectory.path).appendingPathComponent("synclr-libfuzzer-\(getpid())-\(target.name)")
    let callback: FuzzCallback = { data, size in
        guard let t = driverTarget else { return 0 }
        let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        _ = try? t.run(t.repair(input), driverScratch)
        return 0
    }
    var cArguments: [UnsafeMutablePointer<CChar>?] = ([CommandLine.arguments[0]] + Array(arguments.dropFirst(2))).map { strdup($0) } + [nil]
    var count = Int32(cArguments.count - 1)
    let status = cArguments.withUnsafeMutableBufferPointer { buffer -> Int32 in
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
        return unsafeBitCast(symbol, to: FuzzDriver.self)(&count, &argv, callback)
    }
    exit(status)
}
var options: [String: String] = [:]
var positional: [String] = []
var k = 2
while k < arguments.count {
    if arguments[k].hasPrefix("--"), k + 1 < arguments.count { options[String(arguments[k].dropFirst(2))] = arguments[k + 1]; k += 2 } else {
        positional.append(arguments[k]); k += 1
    }
}
let out = options["out"] ?? ".build/fuzz"
let targetDir = URL(fileURLWithPath: out).appendingPathComponent(target.name)
try FileManager.default.createDirectory(at: targetDir, withIntermediateDirectories: true)
let scratch = URL(fileURLWithPath: FileManager.default.temporaryDirectory.path)
    .appendingPathComponent("synclr-fuzz-\(getpid())-\(target.name)")
defer { try? FileManager.default.removeItem(at: scratch.deletingPathExtension().appendingPathExtension("dir")) }
installCrashHandlers()

if command == "replay" {
    for path in positional {
        guard let data = FileManager.default.contents(atPath: path) else { print("\(path): unreadable"); continue }
        _ = "\(targetDir.path)/replay-crash".withCString { strncpy(crashPath, $0, 4095) }
        let result = execute(target, [UInt8](data), scratch: scratch)
        print("\(path): \(result.map { "refused: \($0.prefix(200))" } ?? "accepted")")
    }
    exit(0)
}
guard command == "run", let secondsText = options["seconds"], let seconds = Double(secondsText) else { usage() }
let seed = UInt64(options["seed"] ?? "1") ?? 1
var corpus = try target.builtinSeeds() + seeds(for: target, in: (options["seeds"] ?? "").split(separator: ",").map(String.init))
if corpus.isEmpty { corpus = [[]] }
let seedCount = corpus.count
var mutator = Mutator(random: RandomGenerator(seed: seed).derived(target.name))
var signatures = Set<String>()
var executions = 0, accepted = 0, refused = 0
var slowest = 0.0
let start = Date()
_ = "\(targetDir.path)/crash-seed\(seed)".withCString { strncpy(crashPath, $0, 4095) }
// Every seed as is first (the conformance of real files), then mutants until the time is up.
for input in corpus {
    if let e = execute(target, input, scratch: scratch) { refused += 1; signatures.insert(signature(e)) } else { accepted += 1 }
    executions += 1
}
while Date().timeIntervalSince(start) < seconds {
    for _ in 0..<64 {
        let base = corpus[mutator.int(corpus.count)], other = corpus[mutator.int(corpus.count)]
        let input = target.repair(mutator.mutate(base, other: other))
        let t0 = Date()
        if let e = execute(target, input, scratch: scratch) {
            refused += 1
            if signatures.insert(signature(e)).inserted && corpus.count < 4096 { corpus.append(input) }
        } else {
            accepted += 1
        }
        slowest = max(slowest, Date().timeIntervalSince(t0))
        executions += 1
    }
}
let elapsed = Date().timeIntervalSince(start)
let report = String(format: "%@: %d executions in %.0f s (%.0f/s), %d seeds, %d accepted, %d refused, %d error kinds, corpus %d, slowest input %.3f s, crashes 0",
                    target.name, executions, elapsed, Double(executions) / elapsed, seedCount, accepted, refused, signatures.count, corpus.count, slowest)
print(report)
try? Data((report + "\n").utf8).write(to: targetDir.appendingPathComponent("report-seed\(seed).txt"))
