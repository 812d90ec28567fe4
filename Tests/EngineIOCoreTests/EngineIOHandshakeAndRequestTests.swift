import EngineIOCore
import IOCore
import Testing
import TestKit

/// Verifies a request against a table of known sessions.
func verify(
    _ method: String,
    _ query: String,
    upgrade: Bool = false,
    origin: String? = nil,
    sessions: [String: EngineIOTransportKind] = [:],
    allowedTransports: Set<EngineIOTransportKind> = [.polling, .websocket],
    allow: EngineIOAllowRequestDecision = .allow
) -> Result<EngineIORequestRoute, EngineIORequestError> {
    // The test queries are plain `a=b&c=d` without escapes.
    let items = query.split(separator: "&").map { pair -> (name: String, value: String) in
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }
    return EngineIORequestVerifier.verify(
        method: method,
        query: EngineIOQuery(items: items),
        isWebSocketUpgrade: upgrade,
        origin: origin,
        allowedTransports: allowedTransports,
        sessionTransport: { sessions[$0] },
        allowRequest: { allow }
    )
}

/// Verifies a GET request with `query`; see the general overload.
func verify(
    _ query: String,
    upgrade: Bool = false,
    origin: String? = nil,
    allowedTransports: Set<EngineIOTransportKind> = [.polling, .websocket],
    allow: EngineIOAllowRequestDecision = .allow
) -> Result<EngineIORequestRoute, EngineIORequestError> {
    verify("GET", query, upgrade: upgrade, origin: origin, allowedTransports: allowedTransports, allow: allow)
}

/// The JSON body of the error `result` holds, or nil.
func errorJSON(_ result: Result<EngineIORequestRoute, EngineIORequestError>) -> String? {
    guard case .failure(let error) = result else { return nil }
    return text(error.jsonBody)
}

@Suite struct EngineIOHandshakeTests {
    @Test func writeJSON_whenPollingHandshake_matchesReferenceKeyOrderExactly() {
        let handshake = EngineIOHandshake(
            sid: "lv_VI97HAXpY6yYWAAAC",
            upgrades: [.websocket],
            pingInterval: 300,
            pingTimeout: 200,
            maxPayload: 1_000_000
        )
        var buffer = ByteBuffer()
        handshake.writeJSON(into: &buffer)
        #expect(
            text(buffer)
                == #"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
        )
        var frame = ByteBuffer()
        handshake.openPacket.encodeForWebSocket(into: &frame)
        #expect(text(frame) == "0" + text(buffer))
    }

    @Test func writeJSON_whenWebSocketHandshake_writesEmptyUpgrades() {
        let handshake = EngineIOHandshake(
            sid: "abc",
            upgrades: [],
            pingInterval: 25000,
            pingTimeout: 20000,
            maxPayload: 1_000_000
        )
        var buffer = ByteBuffer()
        handshake.writeJSON(into: &buffer)
        #expect(
            text(buffer)
                == #"{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        )
    }

    @Test func writeJSON_whenSidNeedsEscaping_escapesLikeJSONStringify() {
        let handshake = EngineIOHandshake(
            sid: "a\"b\\c\n\u{1}é",
            upgrades: [],
            pingInterval: 1,
            pingTimeout: 2,
            maxPayload: 3
        )
        var buffer = ByteBuffer()
        handshake.writeJSON(into: &buffer)
        #expect(text(buffer).hasPrefix(#"{"sid":"a\"b\\c\n\u0001é","#))
    }
}

@Suite struct EngineIORequestVerifierTests {
    @Test func verify_whenValidHandshakes_routesToHandshakeOnTheirTransport() {
        #expect(verify("EIO=4&transport=polling") == .success(.handshake(.polling)))
        #expect(verify("EIO=4&transport=polling&t=N8hyd6w&b64=1&j=0&other=x") == .success(.handshake(.polling)))
        #expect(verify("EIO=4&transport=websocket", upgrade: true) == .success(.handshake(.websocket)))
        // An empty sid counts as absent, as the reference's `if (sid)`.
        #expect(verify("EIO=4&transport=polling&sid=") == .success(.handshake(.polling)))
    }

    /// The official suites' refusals, and each check of the reference's order with its exact body.
    @Test(arguments: [
        ("GET", "transport=polling", false, #"{"code":5,"message":"Unsupported protocol version"}"#),
        ("GET", "EIO=abc&transport=polling", false, #"{"code":5,"message":"Unsupported protocol version"}"#),
        ("GET", "EIO=3&transport=polling", false, #"{"code":5,"message":"Unsupported protocol version"}"#),
        ("GET", "EIO=4 &transport=polling", false, #"{"code":5,"message":"Unsupported protocol version"}"#),
        ("GET", "EIO=4", false, #"{"code":0,"message":"Transport unknown"}"#),
        ("GET", "EIO=4&transport=abc", false, #"{"code":0,"message":"Transport unknown"}"#),
        ("GET", "EIO=4&transport=webtransport", false, #"{"code":0,"message":"Transport unknown"}"#),
        ("GET", "EIO=4&transport=Polling", false, #"{"code":0,"message":"Transport unknown"}"#),
        ("POST", "EIO=4&transport=polling", false, #"{"code":2,"message":"Bad handshake method"}"#),
        ("PUT", "EIO=4&transport=polling", false, #"{"code":2,"message":"Bad handshake method"}"#),
        ("get", "EIO=4&transport=polling", false, #"{"code":2,"message":"Bad handshake method"}"#),
        ("GET", "EIO=4&transport=websocket", false, #"{"code":3,"message":"Bad request"}"#),
        ("GET", "transport=websocket", true, #"{"code":5,"message":"Unsupported protocol version"}"#),
        ("GET", "EIO=4&transport=polling&sid=nope", false, #"{"code":1,"message":"Session ID unknown"}"#),
        ("POST", "transport=polling&sid=nope", false, #"{"code":1,"message":"Session ID unknown"}"#),
        ("GET", "EIO=4&sid=nope", false, #"{"code":0,"message":"Transport unknown"}"#),
        ("POST", "EIO=3&transport=polling", false, #"{"code":2,"message":"Bad handshake method"}"#),
    ])
    func verify_whenRequestIsInvalid_returnsReferenceErrorBody(
        method: String,
        query: String,
        upgrade: Bool,
        body: String
    ) {
        let result = verify(method, query, upgrade: upgrade)
        #expect(errorJSON(result) == body)
        if case .failure(let error) = result {
            #expect(error.httpStatus == 400)
        }
    }

    @Test func verify_whenLastValueOfRepeatedParameterIsValid_usesIt() {
        #expect(verify("EIO=3&EIO=4&transport=abc&transport=polling") == .success(.handshake(.polling)))
        #expect(
            errorJSON(verify("EIO=4&transport=polling&transport=abc")) == #"{"code":0,"message":"Transport unknown"}"#
        )
    }

    @Test func verify_whenSidKnown_routesByMethodWithoutCheckingEIO() {
        let sessions: [String: EngineIOTransportKind] = ["s1": .polling]
        #expect(verify("GET", "transport=polling&sid=s1", sessions: sessions) == .success(.poll(sid: "s1")))
        #expect(verify("POST", "EIO=abc&transport=polling&sid=s1", sessions: sessions) == .success(.post(sid: "s1")))
        #expect(
            verify("PUT", "EIO=4&transport=polling&sid=s1", sessions: sessions)
                == .success(.unsupportedPollingMethod(sid: "s1"))
        )
        #expect(
            verify("OPTIONS", "EIO=4&transport=polling&sid=s1", sessions: sessions)
                == .success(.unsupportedPollingMethod(sid: "s1"))
        )
    }

    @Test func verify_whenPollingRequestAfterUpgrade_returnsBadRequestTransportMismatch() {
        let result = verify("GET", "EIO=4&transport=polling&sid=s1", sessions: ["s1": .websocket])
        #expect(errorJSON(result) == #"{"code":3,"message":"Bad request"}"#)
        #expect(result == .failure(.badRequest(.transportMismatch)))
    }

    @Test func verify_whenWebSocketUpgradeForKnownSid_routesToUpgradeWithCurrentTransport() {
        #expect(
            verify("GET", "EIO=4&transport=websocket&sid=s1", upgrade: true, sessions: ["s1": .polling])
                == .success(.upgrade(sid: "s1", currentTransport: .polling))
        )
        // Already upgraded: still routed (the caller accepts, then closes; the suite requires it).
        #expect(
            verify("GET", "EIO=4&transport=websocket&sid=s1", upgrade: true, sessions: ["s1": .websocket])
                == .success(.upgrade(sid: "s1", currentTransport: .websocket))
        )
        #expect(
            errorJSON(verify("GET", "EIO=4&transport=websocket&sid=zz", upgrade: true, sessions: ["s1": .polling]))
                == #"{"code":1,"message":"Session ID unknown"}"#
        )
    }

    @Test func verify_whenUpgradeRequestNamesPolling_acceptsThenCloses() {
        #expect(
            verify("GET", "EIO=4&transport=polling&sid=s1", upgrade: true, sessions: ["s1": .polling])
                == .success(.acceptThenClose)
        )
        #expect(verify("GET", "EIO=4&transport=polling", upgrade: true) == .success(.acceptThenClose))
    }

    @Test func verify_whenPlainRequestNamesWebSocketSession_returnsBadRequest() {
        #expect(
            verify("GET", "EIO=4&transport=websocket&sid=s1", sessions: ["s1": .websocket])
                == .failure(.badRequest(.webSocketWithoutUpgrade))
        )
    }

    @Test func verify_whenAllowRequestRefuses_returns403WithMessageOrForbidden() {
        let plain = verify("EIO=4&transport=polling", allow: .refuse(message: nil))
        #expect(errorJSON(plain) == #"{"code":4,"message":"Forbidden"}"#)
        if case .failure(let error) = plain { #expect(error.httpStatus == 403) }
        let custom = verify("EIO=4&transport=polling", allow: .refuse(message: "no \"guests\""))
        #expect(errorJSON(custom) == #"{"code":4,"message":"no \"guests\""}"#)
        #expect(
            errorJSON(verify("EIO=4&transport=polling", allow: .refuse(message: "")))
                == #"{"code":4,"message":"Forbidden"}"#
        )
        // allowRequest runs before the EIO check, as in the reference.
        #expect(
            errorJSON(verify("EIO=3&transport=polling", allow: .refuse(message: nil)))
                == #"{"code":4,"message":"Forbidden"}"#
        )
    }

    @Test func verify_whenAllowRequestRefuses_isNotConsultedForKnownSessions() {
        let result = verify("GET", "transport=polling&sid=s1", sessions: ["s1": .polling], allow: .refuse(message: nil))
        #expect(result == .success(.poll(sid: "s1")))
    }

    @Test func verify_whenTransportDisabled_returnsTransportUnknown() {
        #expect(verify("EIO=4&transport=polling", allowedTransports: [.websocket]) == .failure(.unknownTransport))
        #expect(
            verify("EIO=4&transport=websocket", upgrade: true, allowedTransports: [.websocket])
                == .success(.handshake(.websocket))
        )
    }

    @Test func verify_whenOriginHasInvalidCharacter_returnsBadRequestBeforeSidCheck() {
        #expect(
            verify("EIO=4&transport=polling", origin: "https://a.example\u{0}") == .failure(.badRequest(.invalidOrigin))
        )
        #expect(verify("EIO=4&transport=polling&sid=zz", origin: "x\u{7F}") == .failure(.badRequest(.invalidOrigin)))
        #expect(
            verify("EIO=4&transport=polling", origin: "chrome-extension://abc\téø") == .success(.handshake(.polling))
        )
        #expect(verify("EIO=4&transport=polling", origin: "") == .success(.handshake(.polling)))
    }

    @Test func writeWebSocketRejection_whenError_writesRawReference400() {
        var buffer = ByteBuffer()
        EngineIORequestError.forbidden().writeWebSocketRejection(into: &buffer)
        #expect(
            text(buffer)
                == "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: 9\r\n\r\nForbidden"
        )
    }

    @Test func errors_whenDescribed_carryCodeAndLabelButNotCustomMessage() {
        #expect(EngineIORequestError.forbidden(message: "secret").description.contains("secret") == false)
        #expect(EngineIORequestError.badRequest(.transportMismatch).description.contains("transport_mismatch"))
        #expect(EngineIORequestError.unknownSessionID.code == 1)
        #expect(EngineIORequestError.unsupportedProtocolVersion.shortDescription == "unsupported_protocol_version")
    }
}

@Suite struct EngineIOSessionIDTests {
    @Test func generate_whenCalledManyTimes_givesWellFormedDistinctIds() {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = EngineIOSessionID.generate()
            #expect(id.utf8.count == 20)
            #expect(EngineIOSessionID.isWellFormed(id))
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
    }

    @Test func generate_whenSeededGenerator_isRepeatableAndUsesWholeAlphabet() {
        var first = SeededGenerator(state: 1)
        var second = SeededGenerator(state: 1)
        #expect(EngineIOSessionID.generate(using: &first) == EngineIOSessionID.generate(using: &second))
        var characters = Set<Character>()
        for _ in 0..<500 {
            characters.formUnion(EngineIOSessionID.generate(using: &first))
        }
        #expect(characters.count == 64)
        #expect(characters.contains("-") && characters.contains("_"))
    }

    @Test func isWellFormed_whenWrongLengthOrCharacter_isFalse() {
        #expect(!EngineIOSessionID.isWellFormed(""))
        #expect(!EngineIOSessionID.isWellFormed("lv_VI97HAXpY6yYWAAA"))
        #expect(!EngineIOSessionID.isWellFormed("lv_VI97HAXpY6yYWAA+C"))
        #expect(EngineIOSessionID.isWellFormed("lv_VI97HAXpY6yYWAAAC"))
    }
}
