import Foundation
import Testing
@testable import SynCaption
import SynTensor

@Suite(.serialized) struct OpenAIGeneratorTests {
    func generator(_ server: LoopbackHTTPServer, endpoint: OpenAIConfiguration.Endpoint = .completions, apiKey: String? = nil,
                   concurrency: Int = 4, timeout: Double = 5, retries: Int = 3) throws -> OpenAIGenerator {
        OpenAIGenerator(OpenAIConfiguration(baseURL: try OpenAIConfiguration.parseBaseURL(server.url), model: "tiny-llm",
                                            endpoint: endpoint, apiKey: apiKey, concurrency: concurrency, timeout: timeout,
                                            maxRetries: retries, backoff: 0.01, maxBackoff: 0.05))
    }

    let requests = (0..<3).map { GenerationRequest(prompt: "Generate an image description with an object category:\nowl =>", seed: UInt64(100 + $0)) }

    @Test func completionsRequestAndResponse() async throws {
        let server = try LoopbackHTTPServer { request, _ in
            let prompt = request.json["prompt"] as? String ?? ""
            return .completion(" echo of \(prompt.count) chars\nsecond line")
        }
        defer { server.stop() }
        let out = try await generator(server, apiKey: "sk-test").generate(requests, options: GenerationOptions())
        #expect(out.count == 3)
        #expect(out.allSatisfy { $0 == " echo of \(requests[0].prompt.count) chars\nsecond line" })
        let got = server.requests
        #expect(got.count == 3)
        let first = got[0]
        #expect(first.method == "POST" && first.path == "/v1/completions")
        #expect(first.headers["authorization"] == "Bearer sk-test")
        let body = first.json
        #expect(body["model"] as? String == "tiny-llm")
        #expect(body["max_tokens"] as? Int == 100)
        #expect(abs((body["temperature"] as? Double ?? 0) - 0.8) < 1e-6)
        #expect(abs((body["top_p"] as? Double ?? 0) - 0.9) < 1e-6)
        #expect(body["stop"] as? [String] == ["\n"])
        #expect(Set(got.compactMap { $0.json["seed"] as? Int }) == [100, 101, 102])
    }

    @Test func chatEndpointAndBaseURLWithV1() async throws {
        let server = try LoopbackHTTPServer { _, _ in
            .json(["choices": [["message": ["role": "assistant", "content": "owl => an owl on a fence post\nmore"]]]])
        }
        defer { server.stop() }
        let config = OpenAIConfiguration(baseURL: URL(string: server.url + "/v1/")!, model: "m", endpoint: .chat)
        let out = try await OpenAIGenerator(config).generate([requests[0]], options: GenerationOptions())
        #expect(out == ["an owl on a fence post"])
        let request = try #require(server.requests.first)
        #expect(request.path == "/v1/chat/completions")
        let messages = request.json["messages"] as? [[String: String]]
        #expect(messages?.last?["content"] == requests[0].prompt)
        #expect(request.headers["authorization"] == nil)
    }

    @Test func retriesOn429And500ThenSucceeds() async throws {
        let server = try LoopbackHTTPServer { _, n in
            switch n {
            case 0: return Response(status: 429, body: #"{"error":"slow down"}"#, headers: ["Retry-After": "0"])
            case 1: return Response(status: 500, body: "oops")
            case 2: return Response(status: 503, body: "busy")
            default: return .completion(" fine")
            }
        }
        defer { server.stop() }
        let out = try await generator(server, concurrency: 1).generate([requests[0]], options: GenerationOptions())
        #expect(out == [" fine"])
        #expect(server.requests.count == 4)
    }

    @Test func persistentServerErrorIsReported() async throws {
        let server = try LoopbackHTTPServer { _, _ in Response(status: 500, body: "model crashed") }
        defer { server.stop() }
        do {
            _ = try await generator(server, retries: 2).generate([requests[0]], options: GenerationOptions())
            Issue.record("expected an error")
        } catch let CaptionError.retriesExhausted(attempts, .httpStatus(url, status, body)) {
            #expect(attempts == 3)
            #expect(url == server.url + "/v1/completions" && status == 500 && body == "model crashed")
        }
        #expect(server.requests.count == 3)
    }

    @Test func clientErrorsAreNotRetried() async throws {
        let server = try LoopbackHTTPServer { _, _ in Response(status: 404, body: #"{"error":"model not found"}"#) }
        defer { server.stop() }
        await #expect(throws: CaptionError.self) { try await generator(server).generate([requests[0]], options: GenerationOptions()) }
        #expect(server.requests.count == 1)
    }

    @Test func timeoutThenRetrySucceeds() async throws {
        let server = try LoopbackHTTPServer { _, n in
            var r = Response.completion(" after a slow start")
            if n == 0 { r.delay = 2 }
            return r
        }
        defer { server.stop() }
        let start = Date()
        let out = try await generator(server, timeout: 0.5, retries: 2).generate([requests[0]], options: GenerationOptions())
        #expect(out == [" after a slow start"])
        #expect(Date().timeIntervalSince(start) < 2)
    }

    @Test func timeoutEveryTimeIsReported() async throws {
        let server = try LoopbackHTTPServer { _, _ in var r = Response.completion("late"); r.delay = 1.5; return r }
        defer { server.stop() }
        do {
            _ = try await generator(server, timeout: 0.3, retries: 1).generate([requests[0]], options: GenerationOptions())
            Issue.record("expected a timeout")
        } catch let CaptionError.retriesExhausted(2, .timedOut(_, seconds, attempts)) {
            #expect(seconds == 0.3 && attempts == 2)
        }
    }

    @Test func unreachableServerIsReported() async throws {
        let port = unusedLoopbackPort()
        let config = OpenAIConfiguration(baseURL: URL(string: "http://127.0.0.1:\(port)")!, model: "m", timeout: 2, maxRetries: 1, backoff: 0.01)
        do {
            _ = try await OpenAIGenerator(config).generate([requests[0]], options: GenerationOptions())
            Issue.record("expected an error")
        } catch let error as CaptionError {
            guard case .retriesExhausted(2, .unreachable(let url, _)) = error else { Issue.record("got \(error)"); return }
            #expect(url == "http://127.0.0.1:\(port)/v1/completions")
            #expect(error.description.contains("is the server running"))
        }
        await #expect(throws: CaptionError.self) { try await OpenAIGenerator(config).listFirstModel() }
    }

    @Test func malformedResponsesAreReported() async throws {
        let server = try LoopbackHTTPServer { _, n in
            n == 0 ? Response(status: 200, body: "<html>hello</html>") : .json(["choices": []])
        }
        defer { server.stop() }
        let g = try generator(server)
        await #expect(throws: CaptionError.self) { try await g.generate([requests[0]], options: GenerationOptions()) }
        await #expect(throws: CaptionError.self) { try await g.generate([requests[0]], options: GenerationOptions()) }
    }

    /// The answer a deterministic server gives for `request` (a function of prompt and seed only).
    static func reply(_ request: LoopbackHTTPServer.Request) -> Response {
        let prompt = request.json["prompt"] as? String ?? ""
        let query = prompt.split(separator: "\n").last.map(String.init) ?? ""
        let concept = query.replacingOccurrences(of: " =>", with: "").components(separatedBy: ", ").first ?? ""
        return .completion(" a photo of a \(concept) seen from a distance, seed \(request.json["seed"] as? Int ?? 0)")
    }

    @Test func retryAfterIsHonouredUpToTheCap() async throws {
        let server = try LoopbackHTTPServer { _, n in
            n == 0 ? Response(status: 429, body: "slow down", headers: ["Retry-After": "1"]) : .completion(" ok")
        }
        defer { server.stop() }
        let start = Date()
        let out = try await generator(server, concurrency: 1).generate([requests[0]], options: GenerationOptions())
        #expect(out == [" ok"])
        // generator(_:) caps back-off at 0.05 s, and the cap also bounds a server's Retry-After.
        #expect(Date().timeIntervalSince(start) < 0.9)
        let server2 = try LoopbackHTTPServer { _, n in
            n == 0 ? Response(status: 503, body: "busy", headers: ["Retry-After": "1"]) : .completion(" ok")
        }
        defer { server2.stop() }
        let patient = OpenAIGenerator(OpenAIConfiguration(baseURL: try OpenAIConfiguration.parseBaseURL(server2.url), model: "m",
                                                          concurrency: 1, timeout: 5, maxRetries: 1, backoff: 0.01, maxBackoff: 5))
        let t0 = Date()
        #expect(try await patient.generate([requests[0]], options: GenerationOptions()) == [" ok"])
        let waited = Date().timeIntervalSince(t0)
        // The exponential delay alone would be ~0.01 s; the server asked for 1 s, within maxBackoff 5.
        #expect(waited >= 0.95 && waited < 4, "waited \(waited) s")
    }

    @Test func everyKindOfMisbehaviourIsRetried() async throws {
        // 500, 429, malformed JSON in a 200, a body cut short, a reset connection and a reply slower
        // than the timeout, in turn; the seventh attempt succeeds.
        let server = try LoopbackHTTPServer { request, n in
            switch n {
            case 0: return Response(status: 500, body: "oops")
            case 1: return Response(status: 429, body: "later", headers: ["Retry-After": "0"])
            case 2: return Response(status: 200, body: #"{"choices": [{"text": "unterminated"#)
            case 3: var r = Self.reply(request); r.truncateBodyTo = 10; return r
            case 4: var r = Self.reply(request); r.reset = true; return r
            case 5: var r = Self.reply(request); r.delay = 1.5; return r
            default: return Self.reply(request)
            }
        }
        defer { server.stop() }
        let start = Date()
        let out = try await generator(server, concurrency: 1, timeout: 0.4, retries: 6).generate([requests[0]], options: GenerationOptions())
        #expect(out == [" a photo of a owl seen from a distance, seed 100"])
        #expect(server.requests.count == 7)
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func aClearErrorAfterTheLastRetry() async throws {
        let cases: [(Response, String)] = [
            (Response(status: 200, body: "{\"choices\": [tru"), "body is not a JSON object"),
            ({ var r = Response.completion(" a long enough reply"); r.truncateBodyTo = 8; return r }(), "cannot reach"),
            ({ var r = Response.completion(" x"); r.reset = true; return r }(), "cannot reach"),
            (Response(status: 502, body: "bad gateway"), "answered HTTP 502: bad gateway"),
        ]
        for (response, fragment) in cases {
            let server = try LoopbackHTTPServer { _, _ in response }
            defer { server.stop() }
            do {
                _ = try await generator(server, concurrency: 1, timeout: 2, retries: 2).generate([requests[0]], options: GenerationOptions())
                Issue.record("expected an error for \(fragment)")
            } catch let error as CaptionError {
                let text = "\(error)"
                #expect(text.hasPrefix("gave up after 3 attempts with back-off; last error: ") && text.contains(fragment), "\(text)")
                #expect(text.contains(server.url + "/v1/completions") || text.contains("cannot reach"), "\(text)")
            }
            #expect(server.requests.count == 3)
        }
    }

    @Test func unusableRetrySettingsAreRefusedBeforeAnyRequest() async throws {
        let server = try LoopbackHTTPServer { _, _ in .completion(" x") }
        defer { server.stop() }
        let base = try OpenAIConfiguration.parseBaseURL(server.url)
        for (config, name) in [(OpenAIConfiguration(baseURL: base, model: "m", timeout: .nan), "timeout"),
                               (OpenAIConfiguration(baseURL: base, model: "m", timeout: -1), "timeout"),
                               (OpenAIConfiguration(baseURL: base, model: "m", backoff: -0.5), "backoff"),
                               (OpenAIConfiguration(baseURL: base, model: "m", backoff: 2, maxBackoff: 1), "maxBackoff")] {
            do {
                _ = try await OpenAIGenerator(config).generate([requests[0]], options: GenerationOptions())
                Issue.record("\(name) accepted")
            } catch let e as ParameterError {
                #expect(e.parameter == name, "\(e)")
            }
        }
        #expect(server.requests.isEmpty)
    }

    @Test func captionJobKeepsFinishedBatchesAndResumes() async throws {
        // Reference: an uninterrupted run against a healthy server.
        let healthy = try LoopbackHTTPServer { request, _ in Self.reply(request) }
        defer { healthy.stop() }
        let reference = temporaryDirectory() + "/reference.jsonl"
        _ = try await CaptionJob(planner: CaptionPlanner(tree: smallTree(), seed: 1), generator: try generator(healthy, concurrency: 1),
                                 count: 12, output: reference, batchSize: 4).run()
        // The server breaks down for good after 6 answers: the job stops with the retry error after
        // writing its first batch; the second batch's 2 answers are lost with it.
        let failing = try LoopbackHTTPServer { request, n in n < 6 ? Self.reply(request) : Response(status: 503, body: "overloaded") }
        defer { failing.stop() }
        let out = temporaryDirectory() + "/resumed.jsonl"
        do {
            _ = try await CaptionJob(planner: CaptionPlanner(tree: smallTree(), seed: 1), generator: try generator(failing, concurrency: 1, retries: 1),
                                     count: 12, output: out, batchSize: 4).run()
            Issue.record("expected the job to stop")
        } catch let error as CaptionError {
            #expect("\(error)".contains("answered HTTP 503: overloaded"), "\(error)")
        }
        // The finished batch is on disk: its captions are exactly the reference's first ones.
        let kept = contents(out + ".partial").split(separator: "\n").filter { $0.contains("a photo of a") }
        let referenceLines = contents(reference).split(separator: "\n")
        #expect(!kept.isEmpty && kept.count < referenceLines.count, "\(kept.count) captions kept")
        #expect(Array(referenceLines.prefix(kept.count)) == kept)
        // Server back: the same job resumes from the finished batch and ends with the reference file.
        let result = try await CaptionJob(planner: CaptionPlanner(tree: smallTree(), seed: 1), generator: try generator(healthy),
                                          count: 12, output: out, batchSize: 4).run()
        #expect(result.stats.captions == 12)
        #expect(contents(out) == contents(reference))
    }

    @Test func concurrencyLimitAndOrder() async throws {
        let server = try LoopbackHTTPServer { request, _ in
            var r = Response.completion(" reply to seed \(request.json["seed"] as? Int ?? -1)")
            r.delay = 0.05
            return r
        }
        defer { server.stop() }
        let many = (0..<12).map { GenerationRequest(prompt: "p\($0)", seed: UInt64($0)) }
        let out = try await generator(server, concurrency: 3).generate(many, options: GenerationOptions())
        #expect(out == (0..<12).map { " reply to seed \($0)" })
        #expect(server.peakConcurrency <= 3)
        #expect(server.peakConcurrency >= 2)
    }

    @Test func modelDiscoveryAndJobEndToEnd() async throws {
        let server = try LoopbackHTTPServer { request, _ in
            if request.path == "/v1/models" { return .json(["object": "list", "data": [["id": "local-7b", "object": "model"]]]) }
            let prompt = request.json["prompt"] as? String ?? ""
            let query = prompt.split(separator: "\n").last.map(String.init) ?? ""
            let concept = query.replacingOccurrences(of: " =>", with: "").components(separatedBy: ", ").first ?? ""
            return .completion(" a photo of a \(concept) seen from a distance, seed \(request.json["seed"] as? Int ?? 0)\nnext => x")
        }
        defer { server.stop() }
        let probe = try generator(server)
        #expect(try await probe.listFirstModel() == "local-7b")
        let out = temporaryDirectory() + "/http.jsonl"
        let job = CaptionJob(planner: CaptionPlanner(tree: smallTree(), seed: 1), generator: probe, count: 12, output: out, batchSize: 5)
        let result = try await job.run()
        #expect(result.stats.captions == 12)
        let records = try contents(out).split(separator: "\n").map { try CaptionRecord.parse(Data($0.utf8)) }
        #expect(records.allSatisfy { $0.generator == "openai:tiny-llm" && $0.caption.hasPrefix("a photo of a \($0.concept ?? "-")") })
        #expect(records.allSatisfy { !$0.caption.contains("next") })
    }
}

typealias Response = LoopbackHTTPServer.Response
