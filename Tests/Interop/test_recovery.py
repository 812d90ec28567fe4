"""Connection state recovery (opt-in, `conformance-server --recovery`), spoken on the wire as the JS client
does: the CONNECT answer carries a `pid`, stored events carry an offset as their last argument, and a client
that reconnects with `{pid, offset}` gets the events it missed, then its old sid back."""
import json
import socket

import pytest
from websockets.sync.client import connect

from conftest import start_conformance_server

TIMEOUT = 5


@pytest.fixture(scope="module")
def recovery_server():
    server = start_conformance_server(2, "--recovery")
    yield server
    server.stop()


class Client:
    """A raw Socket.IO client on one WebSocket, joined to /interop; answers pings."""

    def __init__(self, server, auth=None):
        self.ws = connect(f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", open_timeout=TIMEOUT)
        self.ws.__enter__()
        assert self.recv_raw().startswith("0{")
        self.ws.send("40/interop," + (json.dumps(auth) if auth is not None else ""))
        self.before_connect = []
        while True:
            packet = self.recv_raw()
            if packet.startswith("40/interop,"):
                self.answer = json.loads(packet[len("40/interop,"):])
                break
            self.before_connect.append(packet)
        self.acks = 0

    def recv_raw(self):
        while True:
            message = self.ws.recv(timeout=TIMEOUT)
            if message == "2":
                self.ws.send("3")
                continue
            return message

    def event(self):
        """The next event, past the `welcome` greeting the /interop app sends on every connection."""
        while True:
            packet = self.recv_raw()
            assert packet.startswith("42/interop,"), packet
            event = json.loads(packet[len("42/interop,"):])
            if event[0] != "welcome":
                return event

    def call(self, *arguments):
        self.acks += 1
        self.ws.send(f"42/interop,{self.acks}" + json.dumps(list(arguments)))
        while True:
            packet = self.recv_raw()
            if packet.startswith(f"43/interop,{self.acks}["):
                return json.loads(packet[len(f"43/interop,{self.acks}"):])

    def drop(self):
        """Ends the TCP connection without a close handshake: a recoverable transport close."""
        self.ws.socket.shutdown(socket.SHUT_RDWR)
        self.ws.socket.close()


def test_connect_answer_carries_a_private_id(recovery_server):
    client = Client(recovery_server)
    assert set(client.answer) == {"sid", "pid"}
    assert client.answer["sid"] != client.answer["pid"]
    client.ws.close()


def test_reconnecting_client_gets_missed_events_then_its_old_id(recovery_server):
    member = Client(recovery_server)
    sender = Client(recovery_server)
    member.call("join", "call-7")
    sender.call("broadcast-namespace", "call-7", "first")
    name, payload, sender_id, offset = member.event()
    assert (name, payload, sender_id) == ("broadcasted", "first", sender.answer["sid"])
    assert isinstance(offset, str) and offset

    member.drop()
    sender.call("broadcast-namespace", "call-7", "second")
    sender.call("broadcast-namespace", "elsewhere", "not for the member")
    sender.call("broadcast-namespace", "call-7", "third")

    back = Client(recovery_server, auth={"pid": member.answer["pid"], "offset": offset})
    missed = [json.loads(packet[len("42/interop,"):]) for packet in back.before_connect]
    assert [event[1] for event in missed] == ["second", "third"]
    assert back.answer == member.answer  # same sid and pid: recovered
    # Rooms were restored: a new broadcast to the room still reaches the recovered socket.
    sender.call("broadcast-namespace", "call-7", "fourth")
    assert back.event()[1] == "fourth"
    back.ws.close()
    sender.ws.close()


def test_unknown_private_id_gets_a_fresh_session(recovery_server):
    client = Client(recovery_server, auth={"pid": "no-such-session", "offset": "1"})
    assert client.before_connect == []
    assert set(client.answer) == {"sid", "pid"}
    assert client.answer["pid"] != "no-such-session"
    client.ws.close()


def test_a_session_is_recovered_only_once(recovery_server):
    member = Client(recovery_server)
    sender = Client(recovery_server)
    member.call("join", "call-8")
    sender.call("broadcast-namespace", "call-8", "x")
    offset = member.event()[3]
    member.drop()
    first = Client(recovery_server, auth={"pid": member.answer["pid"], "offset": offset})
    assert first.answer["sid"] == member.answer["sid"]
    second = Client(recovery_server, auth={"pid": member.answer["pid"], "offset": offset})
    assert second.answer["sid"] != member.answer["sid"]
    for client in (first, second, sender):
        client.ws.close()
