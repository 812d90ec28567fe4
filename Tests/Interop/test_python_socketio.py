"""The real python-socketio client (sync `socketio.Client` and `socketio.SimpleClient`) against conformance-server's
`/interop` namespace (Sources/conformance-server/InteropApp.swift) and the official suite's `/` namespace.

Transports: polling only, WebSocket only, and polling upgraded to WebSocket (python-socketio's default), on one
event loop and, where a session's requests use several TCP connections, on two. The server runs the official
suites' heartbeat (ping 300 ms, timeout 200 ms), so every test also exercises the client answering pings.
"""
import threading
import time

import pytest
import socketio
from socketio.exceptions import ConnectionError as SocketIOConnectionError

TIMEOUT = 5  # seconds, for anything that must happen
QUIET = 0.3  # seconds to wait before asserting that something did not arrive
INTEROP = "/interop"

TRANSPORTS = [
    pytest.param(1, ["polling"], id="polling"),
    pytest.param(1, ["websocket"], id="websocket"),
    pytest.param(1, None, id="upgrade"),
    pytest.param(2, ["polling"], id="polling-loops2"),
    pytest.param(2, None, id="upgrade-loops2"),
]


class Peer:
    """A python-socketio client that records everything it is told, for tests to wait on."""

    def __init__(self, server, transports=None, namespaces=(INTEROP,), auth=None, reconnection=False):
        self.url = f"http://127.0.0.1:{server.port}"
        self.namespaces = list(namespaces)
        self.client = socketio.Client(reconnection=reconnection, reconnection_delay=0.1, reconnection_delay_max=0.2,
                                      randomization_factor=0, handle_sigint=False)
        self.transports = transports
        self.auth = auth
        self.changed = threading.Condition()
        self.events = []          # (namespace, name, args): every event without a handler of its own
        self.connects = []        # (namespace, sid) per successful CONNECT, reconnections included
        self.disconnects = []     # (namespace, reason)
        self.connect_errors = []  # (namespace, data)
        for namespace in self.namespaces:
            self._listen(namespace)

    def _listen(self, namespace):
        def record(target, value):
            with self.changed:
                target.append(value)
                self.changed.notify_all()

        self.client.on("connect", lambda: record(self.connects, (namespace, self.client.get_sid(namespace))),
                       namespace=namespace)
        self.client.on("disconnect", lambda reason=None: record(self.disconnects, (namespace, reason)),
                       namespace=namespace)
        self.client.on("connect_error", lambda data=None: record(self.connect_errors, (namespace, data)),
                       namespace=namespace)
        self.client.on("*", lambda name, *args: record(self.events, (namespace, name, list(args))),
                       namespace=namespace)
        # Answers the server's emit-with-ack: the ack carries two arguments, the first with binary in it.
        self.client.on("question", lambda *args: ({"got": list(args), "blob": b"\x01\x02"}, "second"),
                       namespace=namespace)

    def connect(self):
        self.client.connect(self.url, transports=self.transports, namespaces=self.namespaces, auth=self.auth,
                            wait_timeout=TIMEOUT)
        return self

    def wait(self, predicate, what, timeout=TIMEOUT):
        """Waits until `predicate()` is true (checked under the lock) and returns its value."""
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                pytest.fail(f"timed out waiting for {what}; events={self.events!r} disconnects={self.disconnects!r}")
            return predicate()

    def next_event(self, name, namespace=INTEROP):
        """Waits for the first recorded `name` event and removes it; returns its arguments."""
        def find():
            for index, (event_namespace, event_name, _) in enumerate(self.events):
                if (event_namespace, event_name) == (namespace, name):
                    return index
            return None
        with self.changed:
            if not self.changed.wait_for(lambda: find() is not None, TIMEOUT):
                pytest.fail(f"timed out waiting for {name!r} on {namespace}; got {self.events!r}")
            return self.events.pop(find())[2]

    def received(self, name, namespace=INTEROP):
        with self.changed:
            return [args for (event_namespace, event_name, args) in self.events if (event_namespace, event_name) == (namespace, name)]

    def call(self, event, data=None, namespace=INTEROP):
        return self.client.call(event, data, namespace=namespace, timeout=TIMEOUT)

    def emit(self, event, data=None, namespace=INTEROP):
        self.client.emit(event, data, namespace=namespace)

    @property
    def sid(self):
        return self.client.get_sid(INTEROP)

    def settle_writes(self):
        """Waits until the client has no packet queued or in flight.

        python-engineio's write loop re-checks `state == 'connected'` after each POST and quits when it is not, so a
        `disconnect()` made while an earlier POST (the CONNECT, a PONG) is still on its way leaves the DISCONNECT in
        the queue, never sent; the server then learns of the departure only from its ping timeout."""
        queue = self.client.eio.queue
        deadline = time.monotonic() + TIMEOUT
        while queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)  # from `task_done()` back to the loop's state check

    def close(self):
        self.client.shutdown()


@pytest.fixture
def peers(conformance_server):
    """Makes connected Peers (against `conformance_server` unless given another server); shuts them all down."""
    made = []

    def make(transports=None, server=None, connect=True, **options):
        peer = Peer(server or conformance_server, transports=transports, **options)
        made.append(peer)
        return peer.connect() if connect else peer

    yield make
    for peer in made:
        peer.close()


def server_disconnect_reason(peers, sid, server=None):
    """The reason the server recorded when socket `sid` left /interop, asked through a new client."""
    observer = peers(["websocket"], server=server)
    deadline = time.monotonic() + TIMEOUT
    reason = observer.call("disconnect-reason", sid)
    while reason is None and time.monotonic() < deadline:  # the disconnect may still be on its way between loops
        time.sleep(0.02)
        reason = observer.call("disconnect-reason", sid)
    return reason


def expected_transport(transports):
    return "polling" if transports == ["polling"] else "websocket"


JSON_PAYLOAD = {"text": "héllo ✓", "int": -7, "float": 2.5, "null": None, "flags": [True, False], "nested": {"a": [1, {"b": "c"}]}}
BINARY_PAYLOAD = {"blob": bytes(range(256)), "nested": {"list": [b"", b"\x00", "text", {"deep": b"\xff" * 3}]}}


# --- transports, events, acks, binary ---

@pytest.mark.parametrize("conformance_server,transports", TRANSPORTS, indirect=["conformance_server"])
def test_connects_and_events_round_trip(peers, transports):
    peer = peers(transports)
    assert peer.client.transport() == expected_transport(transports)
    if transports is None:
        assert peer.client.eio.upgrades == ["websocket"]  # it did start on polling
    assert peer.next_event("welcome") == [{"sid": peer.sid, "auth": {}}]
    peer.emit("echo", (JSON_PAYLOAD, "second", 3))
    assert peer.next_event("echo-back") == [JSON_PAYLOAD, "second", 3]


@pytest.mark.parametrize("conformance_server,transports", TRANSPORTS, indirect=["conformance_server"])
def test_client_ack_is_answered_with_the_arguments(peers, transports):
    peer = peers(transports)
    assert peer.call("echo-ack", (JSON_PAYLOAD, "second", 3)) == (JSON_PAYLOAD, "second", 3)
    assert peer.call("echo-ack", "only") == "only"


@pytest.mark.parametrize("conformance_server,transports", TRANSPORTS, indirect=["conformance_server"])
@pytest.mark.parametrize("api", ["ask", "ask-async", "ask-room"])
def test_server_ack_gets_the_client_handler_return_value(peers, transports, api):
    """The server emits `question` with an ack (callback API, `emitWithAck`, or a broadcast with ack to the
    socket's own room); python-socketio answers with the handler's return value, binary included."""
    peer = peers(transports)
    answer = peer.call(api, {"event": "question", "args": [1, {"two": [3]}, b"\x09"]})
    handler_answer = {"got": [1, {"two": [3]}, b"\x09"], "blob": b"\x01\x02"}
    # A broadcast with ack keeps each target's first argument only.
    assert answer == {"answer": [handler_answer] if api == "ask-room" else [handler_answer, "second"]}


@pytest.mark.parametrize("conformance_server,transports", TRANSPORTS, indirect=["conformance_server"])
def test_binary_nested_in_objects_travels_both_ways(peers, transports):
    peer = peers(transports)
    peer.emit("echo", (BINARY_PAYLOAD, b"\x00top-level"))
    assert peer.next_event("echo-back") == [BINARY_PAYLOAD, b"\x00top-level"]
    assert peer.call("echo-ack", BINARY_PAYLOAD) == BINARY_PAYLOAD
    peer.emit("make-binary", 3000)
    assert peer.next_event("binary-made") == [
        {"size": 3000, "blob": bytes(i % 256 for i in range(3000)), "nested": {"list": ["text", b"\xff\x00\x7f"]}}]


@pytest.mark.parametrize("conformance_server,transports", TRANSPORTS[:3], indirect=["conformance_server"])
def test_main_and_interop_namespaces_share_one_connection(peers, transports):
    peer = peers(transports, namespaces=("/", INTEROP), auth={"token": "t-1"})
    assert peer.next_event("auth", namespace="/") == [{"token": "t-1"}]
    assert peer.next_event("welcome") == [{"sid": peer.sid, "auth": {"token": "t-1"}}]
    assert peer.client.get_sid("/") != peer.sid
    peer.emit("message", ("to main", 1), namespace="/")
    assert peer.next_event("message-back", namespace="/") == ["to main", 1]
    peer.emit("echo", "to interop")
    assert peer.next_event("echo-back") == ["to interop"]
    assert peer.received("echo-back", namespace="/") == []
    assert peer.received("message-back") == []


def test_simple_client_receives_and_calls(conformance_server):
    client = socketio.SimpleClient(handle_sigint=False)
    client.connect(f"http://127.0.0.1:{conformance_server.port}", namespace=INTEROP, transports=["websocket"],
                   wait_timeout=TIMEOUT)
    try:
        assert client.receive(timeout=TIMEOUT) == ["welcome", {"sid": client.sid, "auth": {}}]
        assert client.call("echo-ack", {"x": [1, 2]}, timeout=TIMEOUT) == {"x": [1, 2]}
        client.emit("echo", ("a", b"\x01"))
        assert client.receive(timeout=TIMEOUT) == ["echo-back", "a", b"\x01"]
    finally:
        client.disconnect()


# --- rooms and broadcasts ---

@pytest.mark.parametrize("conformance_server", [1, 2], indirect=True)
def test_room_broadcast_reaches_members_only(peers):
    """A and B join the room; C, outside, broadcasts to it: A and B get it, C does not. Then A broadcasts with
    `socket.to(room)`: only B gets it, the sender is left out. One client per transport."""
    a, b, c = peers(["polling"]), peers(["websocket"]), peers(None)
    assert a.call("join", "room-1") == ["room-1"]
    assert b.call("join", "room-1") == ["room-1"]
    c.call("broadcast", ("room-1", {"n": 1}))
    assert a.next_event("broadcasted") == [{"n": 1}, c.sid]
    assert b.next_event("broadcasted") == [{"n": 1}, c.sid]
    a.call("broadcast", ("room-1", {"n": 2}))
    assert b.next_event("broadcasted") == [{"n": 2}, a.sid]
    for peer in (a, b, c):
        peer.call("echo-ack", "barrier")  # anything still in flight to this client arrives first (one loop)
    time.sleep(QUIET)
    assert a.received("broadcasted") == []
    assert b.received("broadcasted") == []
    assert c.received("broadcasted") == []


@pytest.mark.parametrize("conformance_server", [1, 2], indirect=True)
def test_namespace_broadcast_includes_a_member_sender_and_leave_stops_delivery(peers):
    a, b = peers(["websocket"]), peers(["polling"])
    assert a.call("join", "room-2") == ["room-2"]
    assert b.call("join", "room-2") == ["room-2"]
    assert a.call("join", "room-3") == ["room-2", "room-3"]
    a.call("broadcast-namespace", ("room-2", "all"))
    assert a.next_event("broadcasted") == ["all", a.sid]
    assert b.next_event("broadcasted") == ["all", a.sid]
    assert b.call("leave", "room-2") == []
    a.call("broadcast-namespace", ("room-2", "after leave"))
    assert a.next_event("broadcasted") == ["after leave", a.sid]
    b.call("echo-ack", "barrier")
    time.sleep(QUIET)
    assert b.received("broadcasted") == []


# --- server-side disconnects and reconnection ---

@pytest.mark.parametrize("conformance_server,transports", TRANSPORTS[:3], indirect=["conformance_server"])
def test_server_namespace_disconnect_is_final(peers, transports):
    peer = peers(transports, reconnection=True)
    sid = peer.sid
    peer.emit("disconnect-me")
    assert peer.wait(lambda: peer.disconnects, "the disconnect") == [(INTEROP, "server disconnect")]
    time.sleep(QUIET)  # a DISCONNECT packet is deliberate: no reconnection
    assert len(peer.connects) == 1 and not peer.client.connected
    assert server_disconnect_reason(peers, sid) == "server namespace disconnect"


# WebSocket only: over polling the server drops the DISCONNECT packet when it closes the session (see
# test_socketio_protocol.py::test_server_close_over_polling_delivers_disconnect_to_the_pending_poll), so the client
# hears either the close packet or a 400, and in the latter case reconnects.
@pytest.mark.parametrize("conformance_server,transports", TRANSPORTS[1:3], indirect=["conformance_server"])
def test_server_closing_the_whole_connection_is_final(peers, transports):
    peer = peers(transports, reconnection=True)
    sid = peer.sid
    peer.emit("close-my-connection")
    assert peer.wait(lambda: peer.disconnects, "the disconnect") == [(INTEROP, "server disconnect")]
    time.sleep(QUIET)
    assert len(peer.connects) == 1 and not peer.client.connected
    assert server_disconnect_reason(peers, sid) == "server disconnect"


@pytest.mark.parametrize("transports", [pytest.param(["polling"], id="polling"), pytest.param(["websocket"], id="websocket"),
                                        pytest.param(None, id="upgrade")])
def test_client_disconnect_is_seen_by_the_server(peers, fresh_conformance_server, transports):
    # A relaxed ping timeout: on a loaded machine the Python client can miss the suites' 200 ms, and the server
    # would then rightly report "ping timeout" before the client's DISCONNECT arrives.
    # A long ping interval keeps PONGs out of the way of the DISCONNECT (see `Peer.settle_writes`).
    server = fresh_conformance_server(1, "--ping-interval", "60000", "--ping-timeout", "5000")
    peer = peers(transports, server=server)
    sid = peer.sid
    peer.settle_writes()
    peer.client.disconnect()
    reason = server_disconnect_reason(peers, sid, server=server)
    if transports == ["polling"]:
        assert reason == "client namespace disconnect"
    else:
        # python-engineio closes its WebSocket right after queueing the DISCONNECT packet, so the packet may
        # not be written before the close: either reason is the server telling the truth.
        assert reason in ("client namespace disconnect", "transport close")


@pytest.mark.parametrize("transports", [pytest.param(["websocket"], id="websocket"), pytest.param(None, id="upgrade")])
def test_client_reconnects_after_the_server_drops_the_transport(peers, fresh_conformance_server, transports):
    """`drain` calls `SocketIOServer.closeAllConnections()`: every Engine.IO session is closed without a DISCONNECT
    packet, as a draining node does, so the client treats it as a lost transport and reconnects (new sid)."""
    server = fresh_conformance_server()
    peer = peers(transports, server=server, reconnection=True)
    first_sid = peer.sid
    peer.emit("drain")
    assert peer.wait(lambda: peer.disconnects, "the disconnect") == [(INTEROP, "transport error")]
    connects = peer.wait(lambda: len(peer.connects) == 2 and peer.connects, "the reconnection")
    assert connects[1][1] not in (None, first_sid)
    peer.wait(lambda: peer.client.connected, "the client to be connected")
    assert peer.client.transport() == "websocket"
    assert peer.call("echo-ack", "back again") == "back again"
    assert server_disconnect_reason(peers, first_sid, server=server) == "server shutting down"


# Over polling the drain answers the client's pending poll with the close packet `1`, which python-socketio takes
# as a deliberate server disconnect and does not reconnect (unless no poll was pending at that instant): see
# test_socketio_protocol.py::test_drain_does_not_answer_a_pending_poll_with_the_close_packet.


# --- limits, middleware, catch-all, volatile ---

@pytest.mark.parametrize("transports,client_reasons,server_reason", [
    # The 413 ends the session; the client hears it as the close packet on its pending poll (or, if no poll was
    # pending at that instant, as a 400 on the next one).
    pytest.param(["polling"], {"server disconnect", "transport error"}, "transport error", id="polling"),
    # The server closes the WebSocket with 1009.
    pytest.param(["websocket"], {"transport error"}, "transport close", id="websocket"),
])
def test_payload_over_max_payload_ends_the_connection(peers, transports, client_reasons, server_reason):
    peer = peers(transports)
    sid = peer.sid
    peer.emit("echo", "x" * 1_000_001)
    [(namespace, reason)] = peer.wait(lambda: peer.disconnects, "the disconnect")
    assert namespace == INTEROP and reason in client_reasons
    assert peer.received("echo-back") == []
    assert server_disconnect_reason(peers, sid) == server_reason


def test_connect_middleware_refusal_reaches_the_client(peers):
    peer = peers(["websocket"], auth={"refuse": "no-entry"}, connect=False)
    # python-socketio's ConnectionError names the namespace; the CONNECT_ERROR's message and data go to the
    # namespace's `connect_error` handler.
    with pytest.raises(SocketIOConnectionError) as refused:
        peer.connect()
    assert str(refused.value) == "One or more namespaces failed to connect: /interop"
    assert peer.connect_errors == [(INTEROP, {"message": "refused by the interop middleware",
                                              "data": {"code": 4003, "reason": "no-entry"}})]
    assert peer.connects == []


@pytest.mark.parametrize("conformance_server,transports", TRANSPORTS[:3], indirect=["conformance_server"])
def test_catch_all_handler_sees_unhandled_events(peers, transports):
    peer = peers(transports)
    peer.emit("no-such-handler", (1, {"a": [True, None]}, b"\x05"))
    assert peer.next_event("any-back") == [{"event": "no-such-handler", "args": [1, {"a": [True, None]}, b"\x05"]}]
    peer.emit("echo", "handled")  # an event with its own handler does not reach the catch-all
    assert peer.next_event("echo-back") == ["handled"]
    assert peer.received("any-back") == []


def test_volatile_emit_arrives_when_the_transport_is_writable(peers):
    peer = peers(["websocket"])
    for number in range(3):
        peer.emit("volatile", {"n": number})
        assert peer.next_event("volatile-back") == [{"n": number}]


def test_namespace_level_disconnect_handler_runs(peers, fresh_conformance_server):
    server = fresh_conformance_server()
    peer = Peer(server, transports=["websocket"], namespaces=("/interop-disconnect-hook",))
    peer.client.connect(peer.url, transports=["websocket"], namespaces=peer.namespaces, wait_timeout=TIMEOUT)
    sid = peer.client.get_sid("/interop-disconnect-hook")
    peer.client.disconnect()
    time.sleep(QUIET)
    assert server.process.poll() is None, "the server crashed"
    # As in test_client_disconnect_is_seen_by_the_server: over WebSocket the DISCONNECT may lose the race
    # against the transport close; either reason is the truth, and the handler must have run.
    assert server_disconnect_reason(peers, sid, server=server) in ("client namespace disconnect", "transport close")
