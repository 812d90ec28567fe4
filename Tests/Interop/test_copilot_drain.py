"""SIGTERM drains an earpiece node: readiness turns 503, the listener closes, and every transport closes
without a Socket.IO DISCONNECT, so official clients treat it as a lost transport and try to reconnect (to
another node behind the load balancer) instead of giving up. Then the process exits 0."""

import signal
import threading
import time

import requests
import socketio

from copilot_support import API_KEY, copilot_env, start_server  # noqa: F401 (a fixture)


def test_sigterm_closes_transports_so_clients_reconnect_then_exits_0(start_server):
    server = start_server(copilot_env(LOG_LEVEL="notice"))
    client = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=0.5)
    reasons = []
    attempts = threading.Event()

    @client.on("disconnect")
    def on_disconnect(reason=None):
        reasons.append(reason)

    @client.on("connect_error")
    def on_connect_error(data=None):
        attempts.set()  # a reconnection was tried: the client did not give up

    client.connect(server.url, auth={"apiKey": API_KEY}, transports=["websocket"], wait_timeout=10)
    try:
        ack = client.call("START_CONVERSATION", {"mode": "auto"}, timeout=10)
        assert ack["ok"] is True
        assert requests.get(server.url + "/health/ready", timeout=5).status_code == 200

        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        while not reasons and time.monotonic() < deadline:
            time.sleep(0.02)
        assert reasons, "the client saw no disconnect"
        # Not "io server disconnect": that is the reason a DISCONNECT packet gives, after which clients stay away.
        assert reasons[0] in ("transport close", "transport error"), reasons
        assert server.process.wait(timeout=15) == 0
        assert attempts.wait(timeout=10), "the client did not try to reconnect"
        log = server.output()
        assert "draining" in log and "stopped" in log
    finally:
        client.disconnect()
