"""Our WebSocket server (bench-server's /echo) against the independent `websockets` client, plus raw
frames for the protocol errors a well-behaved client never sends."""
import os
import socket
import struct

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def url(server):
    return f"ws://127.0.0.1:{server.port}/echo"


def test_text_and_binary_echo(bench_server):
    with connect(url(bench_server), max_size=None) as ws:
        ws.send("hello, Earpiece ✓")
        assert ws.recv() == "hello, Earpiece ✓"
        ws.send(b"\x00\x01\xfe\xff")
        assert ws.recv() == b"\x00\x01\xfe\xff"
        big = os.urandom(512 * 1024)
        ws.send(big)
        assert ws.recv() == big


def test_fragmented_message_is_reassembled(bench_server):
    with connect(url(bench_server)) as ws:
        ws.send(["frag", "men", "ted ✓"])  # an iterable is sent as one message in several frames
        assert ws.recv() == "fragmented ✓"


def test_ping_is_answered_with_pong(bench_server):
    with connect(url(bench_server)) as ws:
        pong = ws.ping(b"are you there")
        assert pong.wait(timeout=5)


def test_close_handshake_echoes_the_code(bench_server):
    with connect(url(bench_server)) as ws:
        ws.close(code=4001, reason="bye")
        assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 4001


def test_message_over_the_limit_is_closed_with_1009(bench_server):
    with connect(url(bench_server), max_size=None) as ws:
        # The server refuses the frame from its header; its close may reach the client mid-send.
        with pytest.raises(ConnectionClosed) as closed:
            ws.send(b"x" * (1024 * 1024 + 1))
            ws.recv()
        assert closed.value.rcvd.code == 1009


# --- Raw frames: protocol errors ---

def handshake(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    response = b""
    while b"\r\n\r\n" not in response:
        response += s.recv(4096)
    head, _, rest = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
    return s, rest


def frame(opcode, payload, fin=True, mask=True, rsv=0):
    first = (0x80 if fin else 0) | rsv | opcode
    key = b"\x11\x22\x33\x44"
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, (0x80 if mask else 0) | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, (0x80 if mask else 0) | 126, length)
    else:
        header = struct.pack("!BBQ", first, (0x80 if mask else 0) | 127, length)
    if not mask:
        return header + payload
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def read_close_code(s, rest):
    data = rest
    while len(data) < 4:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data[0] == 0x88, f"expected a close frame, got {data[:8]!r}"
    return struct.unpack("!H", data[2:4])[0]


@pytest.mark.parametrize("frames,code", [
    ([frame(0x1, b"\xff\xfe")], 1007),                      # invalid UTF-8 text
    ([frame(0x1, b"hi", mask=False)], 1002),                # client frames must be masked
    ([frame(0x1, b"hi", rsv=0x40)], 1002),                  # RSV1 without an extension
    ([frame(0x3, b"")], 1002),                              # reserved opcode
    ([frame(0x0, b"orphan")], 1002),                        # continuation without a start
    ([frame(0x9, b"x" * 126)], 1002),                       # control frame too long
    ([frame(0x9, b"", fin=False)], 1002),                   # fragmented control frame
    ([frame(0x1, b"a", fin=False), frame(0x1, b"b")], 1002),  # new message inside a fragmented one
    ([frame(0x8, struct.pack("!H", 1005))], 1002),          # close code never valid on the wire
    ([frame(0x8, b"\x03")], 1002),                          # close payload of one byte
])
def test_protocol_errors_are_closed_with_the_rfc_code(bench_server, frames, code):
    s, rest = handshake(bench_server.port)
    with s:
        s.sendall(b"".join(frames))
        assert read_close_code(s, rest) == code


def test_control_frames_interleaved_with_fragments(bench_server):
    s, rest = handshake(bench_server.port)
    with s:
        s.sendall(frame(0x1, b"ab", fin=False) + frame(0x9, b"p") + frame(0x0, b"cd"))
        data = rest
        while len(data) < 9:
            data += s.recv(4096)
        # First the pong (answered at once, between fragments), then the reassembled echo.
        assert data[:3] == b"\x8a\x01p"
        assert data[3:9] == b"\x81\x04abcd"


def test_secure_websocket_echo_with_verified_certificate(bench_server_tls, certificates):
    import ssl
    context = ssl.create_default_context(cafile=certificates["ca"])
    with connect(f"wss://localhost:{bench_server_tls.port}/echo", ssl=context, max_size=None) as ws:
        for size in (1, 200, 70_000, 600_000):
            payload = os.urandom(size)
            ws.send(payload)
            assert ws.recv() == payload
