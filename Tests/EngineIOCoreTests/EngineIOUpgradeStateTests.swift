import EngineIOCore
import IOCore
import Testing

@Suite struct EngineIOUpgradeStateTests {
    @Test func upgrade_whenProbeThenUpgrade_goesThroughEveryPhase() {
        var state = EngineIOUpgradeState()
        #expect(state.phase == .polling && !state.isUpgrading && !state.answersEmptyPollsWithNoop)
        #expect(state.webSocketOpened() == .startProbe)
        #expect(state.phase == .probing && state.isUpgrading && !state.answersEmptyPollsWithNoop)
        #expect(state.probeReceived(.probePing) == .sendProbePong)
        #expect(state.phase == .probed && state.answersEmptyPollsWithNoop)
        #expect(state.probeReceived(.upgrade) == .completeUpgrade)
        #expect(state.phase == .upgraded && !state.isUpgrading && !state.answersEmptyPollsWithNoop)
    }

    @Test func webSocketOpened_whenUpgradingOrUpgraded_closesTheNewWebSocket() {
        var state = EngineIOUpgradeState()
        _ = state.webSocketOpened()
        #expect(state.webSocketOpened() == .close)
        _ = state.probeReceived(.probePing)
        #expect(state.webSocketOpened() == .close)
        _ = state.probeReceived(.upgrade)
        #expect(state.webSocketOpened() == .close)
        var webSocketOnly = EngineIOUpgradeState(phase: .upgraded)
        #expect(webSocketOnly.webSocketOpened() == .close)
    }

    @Test func probeReceived_whenUpgradeBeforeProbe_completesAsTheReferenceDoes() {
        var state = EngineIOUpgradeState()
        _ = state.webSocketOpened()
        #expect(state.probeReceived(.upgrade) == .completeUpgrade)
        #expect(state.phase == .upgraded)
    }

    @Test(arguments: [
        EngineIOPacket.ping, .message("4hello"), .pong, .probePong, .close, .noop,
        EngineIOPacket(type: .ping, text: ByteBuffer(string: "prob")),
    ])
    func probeReceived_whenAnyOtherPacket_abortsAndStaysOnPolling(packet: EngineIOPacket) {
        var state = EngineIOUpgradeState()
        _ = state.webSocketOpened()
        _ = state.probeReceived(.probePing)
        #expect(state.probeReceived(packet) == .abortUpgrade)
        #expect(state.phase == .polling)
        // A new probe may start afterwards.
        #expect(state.webSocketOpened() == .startProbe)
    }

    @Test func probeEnded_whenProbeClosesOrTimesOut_returnsToPollingButNeverUndoesAnUpgrade() {
        var state = EngineIOUpgradeState()
        _ = state.webSocketOpened()
        _ = state.probeReceived(.probePing)
        state.probeEnded()
        #expect(state.phase == .polling)
        _ = state.webSocketOpened()
        _ = state.probeReceived(.upgrade)
        state.probeEnded()
        #expect(state.phase == .upgraded)
    }

    @Test func probeReceived_whenNoProbeOpen_aborts() {
        var state = EngineIOUpgradeState()
        #expect(state.probeReceived(.probePing) == .abortUpgrade)
        #expect(state.phase == .polling)
    }
}
