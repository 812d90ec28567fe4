"""Socket.IO v5 packets over a WebSocket-only Engine.IO session against conformance-server: the behaviours the 16
"Socket.IO protocol" tests of the official v5 suite assert (SIO 17-32 in docs/socketio-conformance.md, section 3),
written from scratch with the `websockets` sync client, plus the wire format of what the official suite does not
reach (a middleware's CONNECT_ERROR, acks the server asks for, the connect timeout). The suite's Engine.IO-level
tests (SIO 1-16) are in test_engineio_protocol.py, run under /socket.io/.

Namespaces: `/` and `/custom` are the official suite's app; `/interop` is ours (Sources/conformance-server/InteropApp.swift).
"""
import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

TIMEOUT = 5  # seconds, for any single frame that must arrive
PING_INTERVAL = 0.3
PING_TIMEOUT = 0.2
CONNECT_TIMEOUT = 1.0


@contextmanager
def engine_session(server):
    """A WebSocket-only Engine.IO session under /socket.io/, its open packet consumed."""
    url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
    with connect(url, open_timeout=TIMEOUT, close_timeout=1, ping_interval=None, max_size=None) as ws:
        opening = ws.recv(timeout=TIMEOUT)
        assert opening.startswith("0{")
        yield ws


def next_packets(ws, count, answer_pings=True):
    """The next `count` frames that are not Engine.IO pings (`2`), like the official `waitForPackets`; unlike it,
    pings are answered unless told otherwise, so a slow run does not lose its session to the 200 ms timeout."""
    packets = []
    deadline = time.monotonic() + TIMEOUT
    while len(packets) < count:
        frame = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        if frame == "2":
            if answer_pings:
                ws.send("3")
            continue
        packets.append(frame)
    return packets


def next_packet(ws, answer_pings=True):
    return next_packets(ws, 1, answer_pings)[0]


def connect_answer_sid(packet, prefix):
    """The sid of a CONNECT answer `<prefix>{"sid":"…"}`; the JSON must hold `sid` and nothing else (no `pid`)."""
    assert packet.startswith(prefix)
    body = json.loads(packet[len(prefix):])
    assert set(body) == {"sid"}
    assert isinstance(body["sid"], str) and body["sid"]
    return body["sid"]


@contextmanager
def socketio_session(server):
    """The official `initSocketIOConnection`: connect to `/`, consume the CONNECT answer and the `auth` event."""
    with engine_session(server) as ws:
        ws.send("40")
        connect_answer_sid(next_packet(ws), "40")
        assert next_packet(ws) == '42["auth",{}]'
        yield ws


def assert_closed(ws, within=2.0):
    """The server closes the connection within `within` seconds; pings before the close are allowed."""
    deadline = time.monotonic() + within
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "the server did not close the connection"
        try:
            frame = ws.recv(timeout=remaining)
        except TimeoutError:
            continue
        except ConnectionClosed:
            return time.monotonic() - (deadline - within)
        assert frame == "2", f"unexpected frame before the close: {frame!r}"


# --- connect (SIO 17-23) ---

@pytest.mark.parametrize("auth,expected", [
    ("", '42["auth",{}]'),                                       # SIO 17
    ('{"token":"123"}', '42["auth",{"token":"123"}]'),           # SIO 18
])
def test_connect_to_main_namespace_answers_sid_then_auth_event(conformance_server, auth, expected):
    with engine_session(conformance_server) as ws:
        ws.send("40" + auth)
        connect_answer_sid(next_packet(ws), "40")
        assert next_packet(ws) == expected


@pytest.mark.parametrize("packet,expected", [
    ("40/custom,", '42/custom,["auth",{}]'),                               # SIO 19
    ('40/custom,{"token":"abc"}', '42/custom,["auth",{"token":"abc"}]'),   # SIO 20
])
def test_connect_to_custom_namespace_answers_sid_then_auth_event(conformance_server, packet, expected):
    with engine_session(conformance_server) as ws:
        ws.send(packet)
        connect_answer_sid(next_packet(ws), "40/custom,")
        assert next_packet(ws) == expected


def test_connect_to_unknown_namespace_is_refused_and_the_connection_kept(conformance_server):
    """SIO 21, then the same session still connects to `/`."""
    with engine_session(conformance_server) as ws:
        ws.send("40/random")
        assert next_packet(ws) == '44/random,{"message":"Invalid namespace"}'
        ws.send("40")
        connect_answer_sid(next_packet(ws), "40")


def test_first_packet_other_than_connect_closes_the_connection(conformance_server):
    """SIO 22: `4abc` as the first packet."""
    with engine_session(conformance_server) as ws:
        ws.send("4abc")
        assert_closed(ws)


def test_connection_without_handshake_is_closed(conformance_server):
    """SIO 23: nothing sent at all; the unanswered ping closes it at ~500 ms, before the connect timeout."""
    with engine_session(conformance_server) as ws:
        waited = assert_closed(ws, within=3)
        assert waited < CONNECT_TIMEOUT


def test_connection_answering_pings_without_connect_is_closed_at_the_connect_timeout(conformance_server):
    """connectTimeout 1000 ms alone: pings are answered but no namespace is ever joined."""
    with engine_session(conformance_server) as ws:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            while time.monotonic() - started < 3:
                if ws.recv(timeout=3) == "2":
                    ws.send("3")
        waited = time.monotonic() - started
        assert CONNECT_TIMEOUT - 0.1 <= waited <= CONNECT_TIMEOUT + 0.6


def test_connect_refused_by_middleware_sends_connect_error_with_message_and_data(conformance_server):
    """A middleware's refusal is `44<nsp>,{"message":…,"data":…}`; the connection stays usable."""
    with engine_session(conformance_server) as ws:
        ws.send('40/interop,{"refuse":"no-entry"}')
        assert next_packet(ws) == \
            '44/interop,{"message":"refused by the interop middleware","data":{"code":4003,"reason":"no-entry"}}'
        ws.send('40/interop,{"token":"t"}')
        sid = connect_answer_sid(next_packet(ws), "40/interop,")
        assert json.loads(next_packet(ws)[len("42/interop,"):]) == ["welcome", {"sid": sid, "auth": {"token": "t"}}]


def test_second_connect_to_a_joined_namespace_closes_the_connection(conformance_server):
    with socketio_session(conformance_server) as ws:
        ws.send("40")
        assert_closed(ws)


# --- disconnect (SIO 24-25) ---

def test_disconnect_from_main_namespace_keeps_the_connection(conformance_server):
    """SIO 24: after `41` nothing is answered; the next frame is the Engine.IO ping."""
    with socketio_session(conformance_server) as ws:
        ws.send("41")
        assert ws.recv(timeout=TIMEOUT) == "2"


def test_connect_then_disconnect_from_custom_namespace(conformance_server):
    """SIO 25: the ping is left unanswered on purpose (the official test does), so this runs within 200 ms."""
    with socketio_session(conformance_server) as ws:
        assert ws.recv(timeout=TIMEOUT) == "2"
        ws.send("40/custom")
        connect_answer_sid(next_packet(ws, answer_pings=False), "40/custom,")
        assert next_packet(ws, answer_pings=False) == '42/custom,["auth",{}]'
        ws.send("41/custom")
        ws.send('42["message","message to main namespace"]')
        assert next_packet(ws, answer_pings=False) == '42["message-back","message to main namespace"]'


def test_event_for_a_namespace_left_closes_the_connection(conformance_server):
    with socketio_session(conformance_server) as ws:
        ws.send("40/custom,")
        connect_answer_sid(next_packet(ws), "40/custom,")
        assert next_packet(ws) == '42/custom,["auth",{}]'
        ws.send("41/custom,")
        ws.send('42/custom,["message"]')
        assert_closed(ws)


# --- message (SIO 26-32) ---

PLACEHOLDERS = '{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}'


def test_plain_text_event_is_echoed(conformance_server):
    """SIO 26."""
    with socketio_session(conformance_server) as ws:
        ws.send('42["message",1,"2",{"3":[true]}]')
        assert next_packet(ws) == '42["message-back",1,"2",{"3":[true]}]'


def test_event_with_binary_attachments_is_echoed_with_attachments(conformance_server):
    """SIO 27."""
    with socketio_session(conformance_server) as ws:
        ws.send(f'452-["message",{PLACEHOLDERS}]')
        ws.send(b"\x01\x02\x03")
        ws.send(b"\x04\x05\x06")
        assert next_packets(ws, 3) == [f'452-["message-back",{PLACEHOLDERS}]', b"\x01\x02\x03", b"\x04\x05\x06"]


def test_plain_text_event_with_ack_is_acknowledged(conformance_server):
    """SIO 28."""
    with socketio_session(conformance_server) as ws:
        ws.send('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert next_packet(ws) == '43456[1,"2",{"3":[false]}]'


def test_binary_event_with_ack_is_acknowledged_with_binary(conformance_server):
    """SIO 29."""
    with socketio_session(conformance_server) as ws:
        ws.send(f'452-789["message-with-ack",{PLACEHOLDERS}]')
        ws.send(b"\x01\x02\x03")
        ws.send(b"\x04\x05\x06")
        assert next_packets(ws, 3) == [f'462-789[{PLACEHOLDERS}]', b"\x01\x02\x03", b"\x04\x05\x06"]


@pytest.mark.parametrize("packet", [
    "4abc",                                              # SIO 30: unknown packet type
    "42{}",                                              # SIO 31: payload is not an array
    '42abc["message-with-ack",1,"2",{"3":[false]}]',     # SIO 32: invalid ack id
    '452-["message",{"_placeholder":true,"num":5}]',     # placeholder beyond the attachment count
])
def test_invalid_packet_closes_the_connection(conformance_server, packet):
    """SIO 30-32."""
    with socketio_session(conformance_server) as ws:
        ws.send(packet)
        if packet.startswith("452-"):
            ws.send(b"\x00")
            ws.send(b"\x00")
        assert_closed(ws)


def test_binary_frame_without_a_binary_packet_closes_the_connection(conformance_server):
    with socketio_session(conformance_server) as ws:
        ws.send(b"\x01\x02")
        assert_closed(ws)


# --- acks the server asks for (/interop app) ---

@contextmanager
def interop_session(server):
    with engine_session(server) as ws:
        ws.send("40/interop,")
        sid = connect_answer_sid(next_packet(ws), "40/interop,")
        assert json.loads(next_packet(ws)[len("42/interop,"):]) == ["welcome", {"sid": sid, "auth": {}}]
        yield ws


def split_event(packet, prefix):
    """`<prefix><ack id>[...]` → (ack id, array)."""
    assert packet.startswith(prefix)
    rest = packet[len(prefix):]
    digits = len(rest) - len(rest.lstrip("0123456789"))
    assert digits > 0, f"no ack id in {packet!r}"
    return int(rest[:digits]), json.loads(rest[digits:])


@pytest.mark.parametrize("api", ["ask", "ask-async", "ask-room"])
def test_server_emit_with_ack_gets_the_client_answer(conformance_server, api):
    """The server's EVENT carries an ack id; the client's ACK with that id reaches the server's callback."""
    with interop_session(conformance_server) as ws:
        ws.send(f'42/interop,7["{api}",{{"event":"question","args":[1,{{"two":[3]}}]}}]')
        ack_id, event = split_event(next_packet(ws), "42/interop,")
        assert event == ["question", 1, {"two": [3]}]
        ws.send(f'43/interop,{ack_id}["fine",42]')
        # `ask-room` answers with every target's first argument; the others with all of them.
        expected = ["fine"] if api == "ask-room" else ["fine", 42]
        assert next_packet(ws) == f'43/interop,7[{json.dumps({"answer": expected}, separators=(",", ":"))}]'


@pytest.mark.parametrize("api", ["ask", "ask-async", "ask-room"])
def test_server_emit_with_ack_times_out_without_answer(conformance_server, api):
    with interop_session(conformance_server) as ws:
        started = time.monotonic()
        ws.send(f'42/interop,8["{api}",{{"event":"question","args":[],"timeoutMs":200}}]')
        split_event(next_packet(ws), "42/interop,")
        assert next_packet(ws) == '43/interop,8[{"error":"operation has timed out"}]'
        assert 0.2 <= time.monotonic() - started < 1.5


def test_ack_with_unknown_id_is_ignored(conformance_server):
    with interop_session(conformance_server) as ws:
        ws.send('43/interop,999["nobody asked"]')
        ws.send('42/interop,1["echo-ack","still here"]')
        assert next_packet(ws) == '43/interop,1["still here"]'


def test_server_binary_event_is_sent_as_placeholders_then_attachments(conformance_server):
    with interop_session(conformance_server) as ws:
        ws.send('42/interop,["make-binary",4]')
        text, first, second = next_packets(ws, 3)
        assert text == ('452-/interop,["binary-made",{"size":4,"blob":{"_placeholder":true,"num":0},'
                        '"nested":{"list":["text",{"_placeholder":true,"num":1}]}}]')
        assert (first, second) == (b"\x00\x01\x02\x03", b"\xff\x00\x7f")


# --- server-side endings (/interop app) ---

def test_server_close_over_websocket_sends_disconnect_then_close_frame(conformance_server):
    """`socket.disconnect(closeTransport: true)`: DISCONNECT for the namespace, then a normal close."""
    with interop_session(conformance_server) as ws:
        ws.send('42/interop,["close-my-connection"]')
        assert next_packet(ws) == "41/interop,"
        with pytest.raises(ConnectionClosed) as closed:
            next_packet(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


def test_drain_over_websocket_closes_with_going_away_and_no_disconnect_packet(fresh_conformance_server):
    """`closeAllConnections()`: the transport is closed (1001) without a DISCONNECT, so clients reconnect."""
    server = fresh_conformance_server()
    with interop_session(server) as ws:
        ws.send('42/interop,["drain"]')
        with pytest.raises(ConnectionClosed) as closed:
            next_packet(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


class PollingSession:
    """A Socket.IO session over HTTP long-polling; every request on a new connection."""

    def __init__(self, server):
        self.base = f"http://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=polling"
        opening = requests.get(self.base, timeout=TIMEOUT)
        assert opening.status_code == 200
        self.url = self.base + "&sid=" + json.loads(opening.text[1:])["sid"]

    def post(self, body):
        response = requests.post(self.url, data=body.encode(), timeout=TIMEOUT)
        assert (response.status_code, response.text) == (200, "ok")

    def get(self):
        return requests.get(self.url, timeout=TIMEOUT)

    def join_interop(self):
        self.post("40/interop,")
        packets = self.get().text.split("\x1e")
        assert packets[0].startswith("40/interop,{")
        return self

    def pending_get(self, pool):
        """A GET left pending at the server (nothing is queued for it)."""
        poll = pool.submit(self.get)
        time.sleep(0.05)
        return poll


def test_server_close_over_polling_delivers_disconnect_to_the_pending_poll(conformance_server):
    session = PollingSession(conformance_server).join_interop()
    with ThreadPoolExecutor(1) as pool:
        poll = session.pending_get(pool)
        session.post('42/interop,["close-my-connection"]')
        answer = poll.result(TIMEOUT)
    assert answer.status_code == 200
    assert "41/interop," in answer.text.split("\x1e")


def test_server_namespace_disconnect_over_polling_is_delivered_to_the_pending_poll(conformance_server):
    session = PollingSession(conformance_server).join_interop()
    with ThreadPoolExecutor(1) as pool:
        poll = session.pending_get(pool)
        session.post('42/interop,["disconnect-me"]')
        answer = poll.result(TIMEOUT)
    assert (answer.status_code, answer.text) == (200, "41/interop,")


def test_drain_does_not_answer_a_pending_poll_with_the_close_packet(fresh_conformance_server):
    server = fresh_conformance_server()
    session = PollingSession(server).join_interop()
    with ThreadPoolExecutor(1) as pool, interop_session(server) as trigger:
        poll = session.pending_get(pool)
        trigger.send('42/interop,["drain"]')
        try:
            answer = poll.result(TIMEOUT)
        except requests.ConnectionError:
            return  # the poll's connection was dropped: a transport error, which clients recover from
    assert (answer.status_code, answer.text) != (200, "1")
