"""`earpiece serve` answers GET /health over HTTP and HTTPS, checked with Python's own HTTP and TLS stacks."""
import http.client
import json
import re
import socket
import ssl
import time


def check_health(response):
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/json"
    body = json.loads(response.read())
    assert body["status"] == "healthy"
    assert body["activeConversations"] == 0
    assert abs(body["timestamp"] - time.time() * 1000) < 60_000


def test_health_over_http(earpiece_http):
    connection = http.client.HTTPConnection("127.0.0.1", earpiece_http.port, timeout=5)
    connection.request("GET", "/health")
    check_health(connection.getresponse())
    # Keep-alive: the same connection serves a second request.
    connection.request("GET", "/health")
    check_health(connection.getresponse())
    connection.request("GET", "/nope")
    response = connection.getresponse()
    assert response.status == 404
    response.read()


def test_health_over_https_with_verified_certificate(earpiece_https, certificates):
    context = ssl.create_default_context(cafile=certificates["ca"])
    connection = http.client.HTTPSConnection("localhost", earpiece_https.port, context=context, timeout=5)
    connection.request("GET", "/health")
    check_health(connection.getresponse())
    assert connection.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert connection.sock.selected_alpn_protocol() in (None, "http/1.1")


def test_https_negotiates_alpn_http11_and_tls12(earpiece_https, certificates):
    context = ssl.create_default_context(cafile=certificates["ca"])
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", earpiece_https.port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() == "TLSv1.2"
            assert tls.selected_alpn_protocol() == "http/1.1"


def test_pipelined_requests_are_answered_in_order(earpiece_http):
    with socket.create_connection(("127.0.0.1", earpiece_http.port), timeout=5) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)
    assert statuses == [b"200", b"404", b"200"]


def test_malformed_request_gets_400_and_close(earpiece_http):
    with socket.create_connection(("127.0.0.1", earpiece_http.port), timeout=5) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")
        data = s.recv(65536)
        assert data.startswith(b"HTTP/1.1 400 ")
        assert s.recv(65536) == b""


def test_oversized_headers_get_431(earpiece_http):
    with socket.create_connection(("127.0.0.1", earpiece_http.port), timeout=5) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 100) for i in range(300)) + b"\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 431 ")


def test_oversized_body_gets_413(earpiece_http):
    with socket.create_connection(("127.0.0.1", earpiece_http.port), timeout=5) as s:
        s.sendall(b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 413 ")
