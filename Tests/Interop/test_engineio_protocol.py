"""Engine.IO v4 over polling and WebSocket against conformance-server: the behaviours the 25 tests of the official
Engine.IO v4 suite assert, and the 16 Engine.IO-level tests of the official Socket.IO v5 suite, which repeat
them under /socket.io/ (docs/socketio-conformance.md, section 3). Written from scratch with `requests` and the
`websockets` sync client; "EIO n" / "SIO n" in a docstring names the official test it mirrors.

Every polling request below is made on a new TCP connection, as concurrent requests are in the official
suites, so with `--loops 2` the requests of one session land on different event loops. Every wait is bounded.
"""
import json
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

PING_INTERVAL = 0.3
PING_TIMEOUT = 0.2
HANDSHAKE_KEYS = {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
TIMEOUT = 5  # seconds, for any single request or frame that must arrive


class Endpoint:
    """One Engine.IO server path (/engine.io/ or /socket.io/) of a running conformance-server."""

    def __init__(self, server, path):
        self.port = server.port
        self.path = path

    @property
    def is_engine_io_echo(self):
        return self.path == "/engine.io/"

    def url(self, query):
        return f"http://127.0.0.1:{self.port}{self.path}?{query}"

    def ws_url(self, query):
        return f"ws://127.0.0.1:{self.port}{self.path}?{query}"

    # Polling. `requests.get`/`post` without a Session open a new connection each time.

    def get(self, sid, extra=""):
        return requests.get(self.url(f"EIO=4&transport=polling&sid={sid}{extra}"), timeout=TIMEOUT)

    def post(self, sid, body):
        return requests.post(self.url(f"EIO=4&transport=polling&sid={sid}"), data=body.encode()
                             if isinstance(body, str) else body, headers={"Content-Type": "text/plain;charset=UTF-8"},
                             timeout=TIMEOUT)

    def polling_handshake(self):
        response = requests.get(self.url("EIO=4&transport=polling"), timeout=TIMEOUT)
        assert response.status_code == 200
        assert response.text.startswith("0")
        return json.loads(response.text[1:])["sid"]

    # WebSocket.

    def open_ws(self, query):
        """A WebSocket to use in a `with` statement."""
        return connect(self.ws_url(query), open_timeout=TIMEOUT, close_timeout=1, ping_interval=None, max_size=None)

    @contextmanager
    def ws_handshake(self):
        """A WebSocket-only session: yields the socket and the open packet's JSON."""
        with self.open_ws("EIO=4&transport=websocket") as ws:
            opening = ws.recv(timeout=TIMEOUT)
            assert isinstance(opening, str) and opening.startswith("0")
            yield ws, json.loads(opening[1:])

    @contextmanager
    def upgrade(self, sid):
        """The probe WebSocket of a polling session, probed (`2probe` → `3probe`) but not yet upgraded."""
        with self.open_ws(f"EIO=4&transport=websocket&sid={sid}") as ws:
            ws.send("2probe")
            assert ws.recv(timeout=TIMEOUT) == "3probe"
            yield ws


def recv_data(ws):
    """The next frame that is not a ping; pings met on the way are answered, so a slow run keeps its session."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        frame = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        if frame != "2":
            return frame
        ws.send("3")


def without_pings(messages):
    return [message for message in messages if message != "2"]


def closed_within(ws, seconds):
    """Waits for the server to close `ws`; returns (messages before the close, seconds waited, close frame)."""
    started = time.monotonic()
    messages = []
    while True:
        remaining = seconds - (time.monotonic() - started)
        if remaining <= 0:
            pytest.fail(f"the server did not close the WebSocket within {seconds} s (got {messages!r})")
        try:
            messages.append(ws.recv(timeout=remaining))
        except TimeoutError:
            continue
        except ConnectionClosed as closed:
            return messages, time.monotonic() - started, closed.rcvd


def assert_server_closed_normally(close_frame):
    # Ref sends a close frame without a code (seen as 1005); 1000 is as good. Never 1002/1006/1011.
    assert close_frame is not None, "the TCP connection dropped without a close frame"
    assert close_frame.code in (1000, 1005)


def assert_unknown_session(response):
    """The session is gone: 400 with the JSON error (exactly ref's text), unlike the empty 400 of a duplicate poll."""
    assert response.status_code == 400
    assert response.headers.get("Content-Type") == "application/json"
    assert response.text == '{"code":1,"message":"Session ID unknown"}'


def endpoints(loops=(1,), paths=("/engine.io/", "/socket.io/")):
    """Parametrizes `endpoint` over server paths and event-loop counts."""
    return pytest.mark.parametrize(
        "endpoint", [pytest.param((path, count), id=f"{path.strip('/')}-loops{count}") for path in paths for count in loops],
        indirect=True)


BOTH_LOOPS = (1, 2)


@pytest.fixture
def endpoint(request, conformance_servers):
    path, loops = request.param
    return Endpoint(conformance_servers(loops), path)


# --- Handshake: HTTP long-polling (EIO 1-4, SIO 1-4) ---

@endpoints()
def test_polling_handshake_opens_a_session_with_exactly_the_five_keys(endpoint):
    """EIO 1 / SIO 1."""
    response = requests.get(endpoint.url("EIO=4&transport=polling"), timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert response.text[0] == "0"
    opening = json.loads(response.text[1:])
    assert set(opening) == HANDSHAKE_KEYS
    assert isinstance(opening["sid"], str) and opening["sid"]
    assert opening["upgrades"] == ["websocket"]
    assert opening["pingInterval"] == 300
    assert opening["pingTimeout"] == 200
    assert opening["maxPayload"] == 1000000


@endpoints()
@pytest.mark.parametrize("query", ["transport=polling", "EIO=abc&transport=polling"])
def test_polling_handshake_with_invalid_eio_is_refused_with_400(endpoint, query):
    """EIO 2 / SIO 2."""
    response = requests.get(endpoint.url(query), timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.text == '{"code":5,"message":"Unsupported protocol version"}'


@endpoints()
@pytest.mark.parametrize("query", ["EIO=4", "EIO=4&transport=abc"])
def test_polling_handshake_with_invalid_transport_is_refused_with_400(endpoint, query):
    """EIO 3 / SIO 3."""
    response = requests.get(endpoint.url(query), timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.text == '{"code":0,"message":"Transport unknown"}'


@endpoints()
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_polling_handshake_with_a_method_other_than_get_is_refused_with_400(endpoint, method):
    """EIO 4 / SIO 4."""
    response = requests.request(method, endpoint.url("EIO=4&transport=polling"), timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.text == '{"code":2,"message":"Bad handshake method"}'


# --- Handshake: WebSocket (EIO 5-7, SIO 5-7) ---

@endpoints()
def test_websocket_handshake_opens_a_session_without_upgrades(endpoint):
    """EIO 5 / SIO 5."""
    with endpoint.ws_handshake() as (ws, opening):
        assert set(opening) == HANDSHAKE_KEYS
        assert isinstance(opening["sid"], str) and opening["sid"]
        assert opening["upgrades"] == []
        assert (opening["pingInterval"], opening["pingTimeout"], opening["maxPayload"]) == (300, 200, 1000000)


@endpoints()
@pytest.mark.parametrize("query", [
    "transport=websocket", "EIO=abc&transport=websocket",  # EIO 6 / SIO 6: invalid EIO
    "EIO=4", "EIO=4&transport=abc",                        # EIO 7 / SIO 7: invalid transport
])
def test_websocket_handshake_with_invalid_query_never_opens_a_session(endpoint, query):
    """EIO 6-7 / SIO 6-7. The official tests pass even with no server listening; here the server must answer,
    either refusing the upgrade with 400 or closing the WebSocket before any open packet."""
    try:
        with endpoint.open_ws(query) as ws:
            messages, _, _ = closed_within(ws, 2)
            assert messages == []
    except InvalidStatus as refused:
        assert refused.response.status_code == 400


# --- Messages: HTTP long-polling (EIO 8-13) ---

@endpoints(loops=BOTH_LOOPS, paths=("/engine.io/",))
@pytest.mark.parametrize("payload", [
    "4hello",                          # EIO 8: one plain text packet
    "4test1\x1e4test2\x1e4test3",      # EIO 9: several; all echoes before the POST is answered
    "4hello\x1ebAQIDBA==",             # EIO 10: text and binary (base64)
], ids=["one-text", "three-texts", "text-and-binary"])
def test_polling_payload_is_echoed_in_one_poll(endpoint, payload):
    """EIO 8-10."""
    sid = endpoint.polling_handshake()
    posted = endpoint.post(sid, payload)
    assert (posted.status_code, posted.text) == (200, "ok")
    polled = endpoint.get(sid)
    assert polled.status_code == 200
    # Only a slow run (over 300 ms since the handshake) would see the ping `2` here as well.
    assert "\x1e".join(without_pings(polled.text.split("\x1e"))) == payload


@endpoints(loops=BOTH_LOOPS, paths=("/engine.io/",))
def test_polling_invalid_packet_closes_the_session(endpoint):
    """EIO 11: POST `abc` gets 400 (or a dropped connection), then the sid is unknown."""
    sid = endpoint.polling_handshake()
    try:
        posted = endpoint.post(sid, "abc")
        assert posted.status_code == 400
    except requests.ConnectionError:
        pass
    assert_unknown_session(endpoint.get(sid))


@endpoints(loops=BOTH_LOOPS)
def test_polling_duplicate_poll_closes_the_session(endpoint):
    """EIO 12 (SIO n/a): a second GET while one is pending: the first gets `1`, the second 400, then the sid is gone."""
    sid = endpoint.polling_handshake()
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(endpoint.get, sid)
        time.sleep(0.05)  # the official test waits 5 ms; let the first poll reach the server first
        second = pool.submit(endpoint.get, sid, "&t=burst")
        first, second = first.result(TIMEOUT), second.result(TIMEOUT)
    assert (first.status_code, first.text) == (200, "1")
    assert second.status_code == 400
    assert_unknown_session(endpoint.get(sid))


def start_raw_poll(endpoint, sid):
    raw = socket.create_connection(("127.0.0.1", endpoint.port), timeout=TIMEOUT)
    raw.sendall(f"GET {endpoint.path}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    time.sleep(0.05)
    return raw


@endpoints(loops=BOTH_LOOPS)
def test_polling_cancelled_poll_then_poll_is_refused(endpoint):
    """EIO 13 as the official test asserts it: abort the pending poll, poll again at once → 400."""
    sid = endpoint.polling_handshake()
    start_raw_poll(endpoint, sid).close()
    assert endpoint.get(sid).status_code == 400


@endpoints(loops=BOTH_LOOPS)
@pytest.mark.parametrize("how", ["close", "reset"])
def test_polling_cancelled_poll_closes_the_session(endpoint, how):
    """EIO 13, discriminating: after the client drops its pending poll (FIN, or RST), the session is closed, so
    the next GET is an unknown sid, not the empty 400 of a duplicate poll."""
    sid = endpoint.polling_handshake()
    raw = start_raw_poll(endpoint, sid)
    if how == "reset":
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()
    # The pause lets the close notice hop between loops; the session would time out only at 500 ms.
    time.sleep(0.1)
    assert_unknown_session(endpoint.get(sid))


# --- Messages: WebSocket (EIO 14-16) ---

@endpoints(paths=("/engine.io/",))
def test_websocket_text_message_is_echoed(endpoint):
    """EIO 14."""
    with endpoint.ws_handshake() as (ws, _):
        ws.send("4hello")
        assert recv_data(ws) == "4hello"


@endpoints(paths=("/engine.io/",))
def test_websocket_binary_message_is_echoed_as_a_binary_frame(endpoint):
    """EIO 15."""
    with endpoint.ws_handshake() as (ws, _):
        ws.send(b"\x01\x02\x03\x04")
        assert recv_data(ws) == b"\x01\x02\x03\x04"


@endpoints(paths=("/engine.io/",))
def test_websocket_invalid_packet_closes_the_connection(endpoint):
    """EIO 16."""
    with endpoint.ws_handshake() as (ws, _):
        ws.send("abc")
        messages, _, frame = closed_within(ws, 2)
        assert without_pings(messages) == []
        assert_server_closed_normally(frame)


# --- Heartbeat (EIO 17-20, SIO 8-11) ---

@endpoints(loops=BOTH_LOOPS)
def test_polling_heartbeat_pings_every_interval_and_accepts_pongs(endpoint):
    """EIO 17 / SIO 8: three rounds of GET → exactly `2`, POST `3` → `ok`; nothing is sent before the first ping."""
    sid = endpoint.polling_handshake()
    started = time.monotonic()
    for round_number in range(3):
        polled = endpoint.get(sid)
        assert (polled.status_code, polled.text) == (200, "2")
        if round_number == 0:
            assert time.monotonic() - started >= PING_INTERVAL - 0.05
        posted = endpoint.post(sid, "3")
        assert (posted.status_code, posted.text) == (200, "ok")


@endpoints()
def test_polling_session_without_pong_is_gone_after_ping_interval_plus_timeout(endpoint):
    """EIO 18 / SIO 9: exactly 500 ms after the handshake, the sid is unknown."""
    sid = endpoint.polling_handshake()
    time.sleep(PING_INTERVAL + PING_TIMEOUT)
    assert_unknown_session(endpoint.get(sid))


@endpoints()
def test_websocket_heartbeat_pings_every_interval_and_accepts_pongs(endpoint):
    """EIO 19 / SIO 10."""
    with endpoint.ws_handshake() as (ws, _):
        for _ in range(3):
            assert ws.recv(timeout=TIMEOUT) == "2"
            ws.send("3")


@endpoints()
def test_websocket_session_without_pong_is_closed_after_ping_timeout(endpoint):
    """EIO 20 / SIO 11: the ping arrives, no pong is sent, the server closes ~500 ms after the handshake."""
    with endpoint.ws_handshake() as (ws, _):
        messages, waited, frame = closed_within(ws, 3)
        assert messages == ["2"]
        assert PING_INTERVAL + PING_TIMEOUT - 0.1 <= waited <= PING_INTERVAL + PING_TIMEOUT + 1.0
        assert_server_closed_normally(frame)


# --- Close (EIO 21-22, SIO 12-13) ---

@endpoints(loops=BOTH_LOOPS)
def test_polling_close_packet_releases_the_pending_poll_with_noop_and_ends_the_session(endpoint):
    """EIO 21 / SIO 12: a pending GET and a POST `1`: the GET gets `6`, the POST `ok`, then the sid is unknown."""
    sid = endpoint.polling_handshake()
    with ThreadPoolExecutor(2) as pool:
        poll = pool.submit(endpoint.get, sid)
        time.sleep(0.05)  # a real client's poll is pending long before it closes
        close = pool.submit(endpoint.post, sid, "1")
        poll, close = poll.result(TIMEOUT), close.result(TIMEOUT)
    assert (poll.status_code, poll.text) == (200, "6")
    assert (close.status_code, close.text) == (200, "ok")
    assert_unknown_session(endpoint.get(sid))


@endpoints()
def test_websocket_close_packet_closes_the_connection(endpoint):
    """EIO 22 / SIO 13: ref closes only at the ping timeout; we close at once, before any ping."""
    with endpoint.ws_handshake() as (ws, _):
        ws.send("1")
        messages, waited, frame = closed_within(ws, 2)
        assert without_pings(messages) == []
        assert waited < PING_INTERVAL + PING_TIMEOUT - 0.05


# --- Upgrade (EIO 23-25, SIO 14-16) ---

def check_upgraded_transport_works(endpoint, ws, again=False):
    """After `5`: the Engine.IO echo answers `4hello`; the Socket.IO app answers a CONNECT (the first time) or
    echoes a `message` event (`again`, when the namespace is joined already)."""
    if endpoint.is_engine_io_echo:
        ws.send("4hello")
        assert recv_data(ws) == "4hello"
    elif again:
        ws.send('42["message","again"]')
        assert recv_data(ws) == '42["message-back","again"]'
    else:
        ws.send("40")
        answer = recv_data(ws)
        assert answer.startswith("40")
        assert set(json.loads(answer[2:])) == {"sid"}
        assert recv_data(ws) == '42["auth",{}]'


@endpoints(loops=BOTH_LOOPS)
def test_upgrade_from_polling_to_websocket(endpoint):
    """EIO 23 / SIO 14: probe, a GET during the upgrade gets noop `6`, `5`, then the WebSocket carries the session."""
    sid = endpoint.polling_handshake()
    with endpoint.upgrade(sid) as ws:
        polled = endpoint.get(sid)
        assert (polled.status_code, polled.text) == (200, "6")
        ws.send("5")
        check_upgraded_transport_works(endpoint, ws)


@endpoints(loops=BOTH_LOOPS)
def test_upgrade_pending_poll_is_released_with_noop_by_the_probe(endpoint):
    """The poll a client leaves pending when it starts probing is answered `6` at the probe, not held."""
    sid = endpoint.polling_handshake()
    with ThreadPoolExecutor(1) as pool:
        poll = pool.submit(endpoint.get, sid)
        time.sleep(0.05)
        with endpoint.upgrade(sid) as ws:
            polled = poll.result(TIMEOUT)
            assert (polled.status_code, polled.text) == (200, "6")
            ws.send("5")
            check_upgraded_transport_works(endpoint, ws)


@endpoints(loops=BOTH_LOOPS)
def test_polling_requests_after_upgrade_are_refused(endpoint):
    """EIO 24 / SIO 15: after `5`, a GET with the sid is 400 (transport mismatch); the WebSocket still works.

    The official test polls right after sending `5`. With two loops the `5` hops from the WebSocket's loop to the
    session's, and a poll on a new connection can overtake it (about 1 in 300 here: the poll is then answered `6`,
    correctly for the order the server saw). So the round trip over the WebSocket comes first."""
    sid = endpoint.polling_handshake()
    with endpoint.upgrade(sid) as ws:
        ws.send("5")
        check_upgraded_transport_works(endpoint, ws)
        response = endpoint.get(sid)
        assert response.status_code == 400
        assert response.text == '{"code":3,"message":"Bad request"}'
        check_upgraded_transport_works(endpoint, ws, again=True)


@endpoints(loops=BOTH_LOOPS)
def test_second_websocket_after_upgrade_is_accepted_then_closed(endpoint):
    """EIO 25 / SIO 16: 101 then close (not a refused handshake: the official test has no error listener)."""
    sid = endpoint.polling_handshake()
    with endpoint.upgrade(sid) as ws:
        ws.send("5")
        check_upgraded_transport_works(endpoint, ws)  # upgraded, not still upgrading (see the test above)
        with endpoint.open_ws(f"EIO=4&transport=websocket&sid={sid}") as second:
            messages, _, frame = closed_within(second, 2)
            assert messages == []
            assert_server_closed_normally(frame)
        check_upgraded_transport_works(endpoint, ws, again=True)


# --- maxPayload (beyond the official suites) ---

@endpoints(loops=BOTH_LOOPS)
def test_polling_post_over_max_payload_gets_413_and_ends_the_session(endpoint):
    sid = endpoint.polling_handshake()
    posted = endpoint.post(sid, "4" + "x" * 1_000_000)
    assert posted.status_code == 413
    assert_unknown_session(endpoint.get(sid))


@endpoints(loops=BOTH_LOOPS)
def test_polling_post_of_exactly_max_payload_is_accepted(endpoint):
    sid = endpoint.polling_handshake()
    posted = endpoint.post(sid, "4" + "x" * 999_999)
    assert (posted.status_code, posted.text) == (200, "ok")


@endpoints()
def test_websocket_message_over_max_payload_is_closed_with_1009(endpoint):
    with endpoint.ws_handshake() as (ws, _):
        # The server refuses the frame from its header, so its close can arrive while the client is still
        # writing the megabyte: the send itself may then report the close (or a broken pipe).
        try:
            ws.send("4" + "x" * 1_000_000)
        except ConnectionClosed as closed:
            messages, frame = [], closed.rcvd
        except OSError:
            messages, _, frame = closed_within(ws, 3)
        else:
            messages, _, frame = closed_within(ws, 3)
        assert without_pings(messages) == []
        assert frame is not None and frame.code == 1009
