/// The upgrade of one polling session to WebSocket, as a value that returns actions (reference
/// `Socket._maybeUpgrade`).
///
/// The sequence: the client opens a WebSocket with the session's `sid` (the probe), sends `2probe`,
/// gets `3probe`, and sends `5`; from then on the session lives on the WebSocket. While the probe is
/// answered, polling goes on: packets still go out on GETs, and a GET that would wait is answered `6`
/// at once so that the client's poll loop ends (the official suite expects a GET after `3probe` to
/// return `6`). The caller owns the sockets, the pending GET and the `upgradeTimeout` timer; this value
/// only decides.
///
/// Owned by the session, on its loop; not shared.
public struct EngineIOUpgradeState: Hashable, Sendable {
    /// Where the session is in its upgrade.
    public enum Phase: Hashable, Sendable {
        /// On polling, no probe WebSocket.
        case polling
        /// A probe WebSocket is open; `2probe` not yet received.
        case probing
        /// `3probe` was sent; waiting for `5`. Polls are answered `6` when nothing is buffered.
        case probed
        /// `5` arrived: the session is on the WebSocket for good.
        case upgraded
    }

    /// What to do with a WebSocket that just opened (after its 101) for this session.
    public enum WebSocketOpenedAction: Hashable, Sendable {
        /// Make it the probe and arm the `upgradeTimeout` timer.
        case startProbe
        /// Close it at once: the session is already upgraded or another probe is open (the
        /// reference, and the official suite, accept such a WebSocket and then close it).
        case close
    }

    /// What to do with a packet that arrived on the probe WebSocket.
    public enum ProbePacketAction: Hashable, Sendable {
        /// Send `3probe` on the probe, and answer a pending GET with `6` (noop).
        case sendProbePong
        /// The upgrade is done: cancel the timer, close polling (a GET still pending gets `1`, as the
        /// reference's discarded polling transport sends), make the probe the session's transport and
        /// flush everything buffered over it.
        case completeUpgrade
        /// Any other packet: close the probe, cancel the timer; the session goes on over polling.
        case abortUpgrade
    }

    /// The current phase.
    public private(set) var phase: Phase

    /// A session on polling (a WebSocket-only session starts ``Phase/upgraded``).
    public init(phase: Phase = .polling) {
        self.phase = phase
    }

    /// Whether a probe WebSocket is open.
    public var isUpgrading: Bool {
        self.phase == .probing || self.phase == .probed
    }

    /// Whether a GET that finds nothing buffered must be answered `6` at once instead of waiting.
    public var answersEmptyPollsWithNoop: Bool {
        self.phase == .probed
    }

    /// A WebSocket for this session completed its handshake.
    public mutating func webSocketOpened() -> WebSocketOpenedAction {
        guard self.phase == .polling else {
            return .close
        }
        self.phase = .probing
        return .startProbe
    }

    /// A packet arrived on the probe WebSocket.
    ///
    /// Like the reference, `5` is accepted even before `2probe`.
    public mutating func probeReceived(_ packet: EngineIOPacket) -> ProbePacketAction {
        guard self.isUpgrading else {
            return .abortUpgrade
        }
        if packet.isProbePing {
            self.phase = .probed
            return .sendProbePong
        }
        if packet.type == .upgrade {
            self.phase = .upgraded
            return .completeUpgrade
        }
        self.phase = .polling
        return .abortUpgrade
    }

    /// The probe WebSocket closed or failed, or the `upgradeTimeout` fired: the upgrade is off and the
    /// session stays on polling (the caller closes the probe if it is still open).
    public mutating func probeEnded() {
        if self.isUpgrading {
            self.phase = .polling
        }
    }
}
