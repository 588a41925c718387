import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 (random port) for testing the HTTP backend against real
/// sockets. Each connection is served on its own thread and closed after one response.
final class LoopbackHTTPServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        var headers: [String: String]
        var body: Data

        /// The body as a JSON object.
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    struct Response: Sendable {
        var status: Int
        var body: String
        var headers: [String: String] = [:]
        /// Seconds to wait before answering.
        var delay: Double = 0
        /// Send only this many bytes of the body (Content-Length still announces all of it), then close.
        var truncateBodyTo: Int? = nil
        /// Reset the connection (TCP RST, no answer at all) instead of answering.
        var reset = false

        static func json(_ object: [String: Any], status: Int = 200) -> Response {
            let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
            return Response(status: status, body: String(decoding: data, as: UTF8.self))
        }

        /// A /v1/completions answer with `text`.
        static func completion(_ text: String) -> Response { json(["choices": [["text": text, "index": 0]]]) }
    }

    let port: UInt16
    private let fd: Int32
    private let handler: @Sendable (Request, Int) -> Response
    private let lock = NSLock()
    private var received: [Request] = []
    private var active = 0
    private var peak = 0

    /// Starts listening; `handler` gets each request and its 0-based sequence number.
    init(handler: @escaping @Sendable (Request, Int) -> Response) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = UInt16(bigEndian: addr.sin_port)
        self.fd = fd
        let listener = fd
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                // The listener is closed here, by the only thread that uses it, never by stop(): a
                // descriptor number closed under a blocked accept can be reused at once by another
                // test's server, whose clients this loop would then answer with this server's handler.
                if client < 0 { close(listener); break }
                Thread.detachNewThread { self.serve(client) }
            }
        }
    }

    /// Base URL of the server.
    var url: String { "http://127.0.0.1:\(port)" }

    /// Requests received so far.
    var requests: [Request] { lock.lock(); defer { lock.unlock() }; return received }

    /// Most requests handled at the same time.
    var peakConcurrency: Int { lock.lock(); defer { lock.unlock() }; return peak }

    private var stopped = false

    /// Stops accepting connections (idempotent). Shutting the listener down wakes the accept loop,
    /// which closes it.
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        if stopped { return }
        stopped = true
        shutdown(fd, Int32(SHUT_RDWR))
    }

    deinit { stop() }

    private func serve(_ client: Int32) {
        var client = client
        defer { if client >= 0 { close(client) } }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while headerEnd == nil {
            let n = recv(client, &chunk, chunk.count, 0)
            if n <= 0 { return }
            buffer += chunk[0..<n]
            if buffer.count >= 4 {
                for i in 0...(buffer.count - 4) where Array(buffer[i..<(i + 4)]) == separator { headerEnd = i; break }
            }
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = head[0].split(separator: " ")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        if headers["expect"]?.lowercased() == "100-continue" { sendAll(client, "HTTP/1.1 100 Continue\r\n\r\n") }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = Array(buffer[(headerEnd! + 4)...])
        while body.count < length {
            let n = recv(client, &chunk, chunk.count, 0)
            if n <= 0 { return }
            body += chunk[0..<n]
        }
        let request = Request(method: String(requestLine.first ?? ""), path: requestLine.count > 1 ? String(requestLine[1]) : "",
                              headers: headers, body: Data(body.prefix(length)))
        lock.lock()
        let sequence = received.count
        received.append(request)
        active += 1
        peak = max(peak, active)
        lock.unlock()
        let response = handler(request, sequence)
        if response.delay > 0 { Thread.sleep(forTimeInterval: response.delay) }
        lock.lock()
        active -= 1
        lock.unlock()
        if response.reset {
            // SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            var lingerOption = linger(l_onoff: 1, l_linger: 0)
            setsockopt(client, SOL_SOCKET, SO_LINGER, &lingerOption, socklen_t(MemoryLayout<linger>.size))
            close(client)
            client = -1
            return
        }
        var text = "HTTP/1.1 \(response.status) \(response.status == 200 ? "OK" : "Status")\r\n"
        text += "Content-Type: application/json\r\nContent-Length: \(response.body.utf8.count)\r\nConnection: close\r\n"
        for (k, v) in response.headers { text += "\(k): \(v)\r\n" }
        text += "\r\n"
        if let cut = response.truncateBodyTo {
            sendAll(client, text + String(decoding: Array(response.body.utf8).prefix(cut), as: UTF8.self))
        } else {
            sendAll(client, text + response.body)
        }
    }

    private func sendAll(_ client: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
            #else
            let flags: Int32 = 0
            #endif
            let n = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, flags) }
            if n <= 0 { return }
            sent += n
        }
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then closed).
func unusedLoopbackPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return UInt16(bigEndian: addr.sin_port)
}
