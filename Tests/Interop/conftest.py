"""Fixtures: our real server binaries on free loopback ports, and throwaway TLS certificates."""
import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

BIN_DIR = os.environ.get("EARPIECE_BIN_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0, output=None) -> None:
    """Waits until `process` listens on `port`; `output()` (default: its stderr) explains an early exit or a timeout."""
    def explain():
        return output() if output else process.stderr.read().decode(errors="replace")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}: {explain()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"server did not listen on {port}" + (f": {output()}" if output else ""))


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Terminates `process` if it still runs, and kills it if it does not exit within `timeout`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Server:
    def __init__(self, args, port, env=None):
        self.port = port
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        wait_for_port(port, self.process)

    def stop(self):
        stop_process(self.process)


@pytest.fixture(scope="session")
def certificates():
    """A CA and a leaf for localhost/127.0.0.1, made with the openssl CLI."""
    directory = tempfile.mkdtemp(prefix="earpiece-certs-")
    def run(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
        "-subj", "/CN=Earpiece Test CA", "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-subj", "/CN=localhost", "-keyout", "leaf.key", "-out", "leaf.csr")
    with open(os.path.join(directory, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "ext.cnf", "-out", "leaf.pem")
    return {name: os.path.join(directory, f"{name}.pem" if name != "key" else "leaf.key") for name in ("ca", "leaf", "key")}


@pytest.fixture(scope="session")
def bench_server():
    port = free_port()
    server = Server([os.path.join(BIN_DIR, "bench-server"), "--port", str(port)], port)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def earpiece_http():
    port = free_port()
    env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", LOG_LEVEL="warning")
    server = Server([os.path.join(BIN_DIR, "earpiece"), "serve"], port, env=env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def earpiece_https(certificates):
    port = free_port()
    env = dict(os.environ, HOST="127.0.0.1", LOG_LEVEL="warning")
    server = Server([os.path.join(BIN_DIR, "earpiece"), "serve", "--port", str(port),
                     "--tls-cert", certificates["leaf"], "--tls-key", certificates["key"]], port, env=env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def bench_server_tls(certificates):
    port = free_port()
    server = Server([os.path.join(BIN_DIR, "bench-server"), "--port", str(port),
                     "--tls-cert", certificates["leaf"], "--tls-key", certificates["key"]], port)
    yield server
    server.stop()


def start_conformance_server(loops: int = 1, *extra: str) -> Server:
    """`conformance-server --port N --loops L`: the official suites' configuration (ping 300 ms, timeout 200 ms,
    maxPayload 1e6, connectTimeout 1 s) with the Engine.IO echo at /engine.io/ and, at /socket.io/, the suites'
    app plus the /interop app for python-socketio."""
    port = free_port()
    return Server([os.path.join(BIN_DIR, "conformance-server"), "--port", str(port), "--loops", str(loops), *extra], port)


@pytest.fixture(scope="session")
def conformance_servers():
    """One shared conformance-server per loop count, started on first use: `conformance_servers(loops)`."""
    servers = {}

    def get(loops: int = 1) -> Server:
        if loops not in servers:
            servers[loops] = start_conformance_server(loops)
        server = servers[loops]
        if server.process.poll() is not None:
            pytest.fail(f"conformance-server --loops {loops} died (exit {server.process.returncode}): "
                        f"{server.process.stderr.read().decode(errors='replace')[:2000]}")
        return server

    yield get
    for server in servers.values():
        server.stop()


@pytest.fixture
def conformance_server(request, conformance_servers):
    """The shared conformance-server with one event loop, or with `request.param` loops when parametrized
    indirectly (`@pytest.mark.parametrize("conformance_server", [1, 2], indirect=True)`): with two loops, the
    requests of one session may land on different loops."""
    return conformance_servers(getattr(request, "param", 1))


@pytest.fixture
def fresh_conformance_server():
    """A conformance-server of the test's own, for tests that close every session or may crash it."""
    started = []

    def start(loops: int = 1, *extra: str) -> Server:
        server = start_conformance_server(loops, *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
