"""Shared pieces of the copilot end-to-end tests: the protocol's schemas, a real `earpiece serve` with the copilot's
settings, Socket.IO clients that validate everything the server sends, and the call simulator's runner.

Test modules import the fixtures they use by name (`from copilot_support import copilot_server, clients`).
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent.parent
SCHEMAS = REPOSITORY / "protocol" / "schemas"
EXAMPLES = REPOSITORY / "protocol" / "examples"

sys.path.insert(0, str(REPOSITORY / "scripts"))
# The simulator is a script, not a package; its client and runner are re-exported for the tests.
from simulate_call import ConnectRefused, CopilotClient, SessionRunner, load_example  # noqa: E402,F401
from conftest import BIN_DIR, free_port, stop_process, wait_for_port  # noqa: E402

API_KEY = "test-key-alpha-0123456789"
OTHER_KEY = "test-key-beta-0123456789"
TIMEOUT = 10.0   # seconds for anything that must happen; generous, the machine may be loaded
QUIET = 0.5      # seconds to wait before asserting that nothing (more) arrived
TIME_SCALE = 0.01  # COACHING_TIME_SCALE for short timings: a 180 s warm-up lasts 1.8 s
CLIENT_EVENTS = ("START_CONVERSATION", "TRANSCRIPT", "OPTION_SELECTED", "REQUEST_NEXT_TIP", "END_CONVERSATION", "PING")
SERVER_EVENTS = ("CONVERSATION_STARTED", "AI_TIP", "AI_TIP_PARTIAL", "CONVERSATION_ENDED", "ERROR", "PONG")


# --------------------------------------------------------------------------- schemas


def _load_validators():
    registry = Registry()
    documents = {}
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        document = json.loads(path.read_text())
        documents[path.name[: -len(".schema.json")]] = document
        # Each $id is its file name, so `common.schema.json#/$defs/...` resolves against this registry.
        registry = registry.with_resource(path.name, Resource.from_contents(document))
    return {name: Draft202012Validator(document, registry=registry) for name, document in documents.items()}


VALIDATORS = _load_validators()


def schema_errors(schema, instance):
    """The ways `instance` breaks `protocol/schemas/<schema>.schema.json` (empty when valid)."""
    validator = VALIDATORS.get(schema)
    if validator is None:
        return [f"no schema named {schema}"]
    return [f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message[:200]}"
            for error in validator.iter_errors(instance)]


def assert_valid(schema, instance):
    problems = schema_errors(schema, instance)
    assert not problems, f"{schema} payload {json.dumps(instance)[:600]} breaks its schema: {problems}"


class SchemaChecker:
    """A CopilotClient observer that validates every server payload against protocol/schemas and keeps the
    violations (checked when the `clients` fixture tears down, so no test can forget it)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.violations = []
        self.checked = 0

    def __call__(self, kind, name, payload):
        if kind == "event":
            schema = name if name in SERVER_EVENTS else None
            if schema is None:
                self._add(f"unexpected server event {name!r}: {payload!r}"[:600])
                return
        elif kind == "ack":
            schema = f"{name}.ack"
            if name not in CLIENT_EVENTS:
                # An unknown event's refusal still has the refused-ack shape.
                schema = "TRANSCRIPT.ack"
                if not (isinstance(payload, dict) and payload.get("ok") is False):
                    self._add(f"ack of unknown event {name!r} is not a refusal: {payload!r}")
                    return
        else:
            schema = "CONNECT_ERROR"
        problems = schema_errors(schema, payload)
        with self.lock:
            self.checked += 1
        if problems:
            self._add(f"{kind} {name}: {json.dumps(payload)[:400]} breaks {schema}: {problems}")

    def _add(self, message):
        with self.lock:
            self.violations.append(message)


# --------------------------------------------------------------------------- the server


class EarpieceServer:
    """`earpiece serve` on a free loopback port with the given environment; its log goes to a file
    (a pipe could fill up and block a chatty server)."""

    def __init__(self, env=None, args=(), wait=True):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="earpiece-copilot-", suffix=".log", delete=False)
        environment = {key: value for key, value in os.environ.items()
                       if not key.startswith(("OPENAI_", "BACKEND_API_KEY", "CORS_ORIGIN", "COACHING_", "RATE_LIMIT_",
                                              "LLM_", "MAX_CONVERSATIONS", "RESUME_GRACE", "EARPIECE_ENV"))}
        environment.update(PORT=str(self.port), HOST="127.0.0.1", LOG_LEVEL="warning")
        environment.update({key: str(value) for key, value in (env or {}).items()})
        self.env = environment
        self.process = subprocess.Popen([os.path.join(BIN_DIR, "earpiece"), "serve", *args],
                                        stdout=self.log, stderr=subprocess.STDOUT, env=environment)
        if wait:
            self.wait_ready()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout=20.0):
        wait_for_port(self.port, self.process, timeout, output=self.output)

    def output(self, limit=4000):
        self.log.flush()
        with open(self.log.name, "rb") as file:
            return file.read().decode(errors="replace")[-limit:]

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        stop_process(self.process)
        self.log.close()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass

    # --- HTTP

    def get(self, path, headers=None, timeout=TIMEOUT):
        """(status, headers, body text) of a GET; error statuses are returned, not raised."""
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode(errors="replace")

    def get_json(self, path):
        status, _, body = self.get(path)
        return status, json.loads(body)

    def metrics(self):
        """`/metrics` as {"name{labels}": value} (labels as written)."""
        status, _, body = self.get("/metrics")
        assert status == 200, body
        values = {}
        for line in body.splitlines():
            if not line or line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            values[key] = float(value)
        return values


def copilot_env(keys=(API_KEY, OTHER_KEY), **extra):
    """The environment of a rule-coach server with short timings and generous rate limits."""
    env = {"BACKEND_API_KEY": ",".join(keys), "COACHING_TIME_SCALE": TIME_SCALE,
           "RATE_LIMIT_CONNECTIONS_PER_MINUTE": 10000, "RATE_LIMIT_START_PER_MINUTE": 10000}
    env.update(extra)
    return env


@pytest.fixture
def start_server():
    """Starts `earpiece serve` with `start_server(**env)` (see `copilot_env`); stops them all after the test and
    fails the test if one died on the way."""
    started = []

    def start(env=None, **options):
        server = EarpieceServer(env=env, **options)
        server.may_exit = not options.get("wait", True)  # a test that does not wait for it checks its exit itself
        started.append(server)
        return server

    yield start
    died = [server for server in started
            if not server.may_exit and not server.alive() and server.process.returncode not in (0, -15)]
    for server in started:
        output = server.output() if server in died else ""
        server.stop()
        if output:
            pytest.fail(f"earpiece serve died with {server.process.returncode}: {output}")


@pytest.fixture(scope="module")
def copilot_server():
    """One rule-coach server per test module (keys API_KEY and OTHER_KEY, time scale 0.01)."""
    server = EarpieceServer(env=copilot_env())
    yield server
    alive = server.alive()
    output = server.output()
    server.stop()
    assert alive, f"earpiece serve died during the module: {output}"


@pytest.fixture
def clients(request):
    """Makes connected CopilotClients: `clients(server=None, api_key=API_KEY, transports=("websocket",),
    connect=True)`; without `server`, the module's `copilot_server`. Every payload they receive is checked
    against protocol/schemas; violations fail the test."""
    checker = SchemaChecker()
    made = []

    def make(server=None, api_key=API_KEY, transports=("websocket",), connect=True, **options):
        # Looked up only when needed, so modules whose tests bring their own servers start no shared one.
        server = server or request.getfixturevalue("copilot_server")
        client = CopilotClient(server.url, api_key, transports=transports, observer=checker, **options)
        made.append(client)
        return client.connect() if connect else client

    make.checker = checker
    yield make
    for client in made:
        client.close()
    assert not checker.violations, "server payloads break protocol/schemas:\n" + "\n".join(checker.violations)


# --------------------------------------------------------------------------- protocol helpers


def start(client, mode="event", **fields):
    """START_CONVERSATION with an ack; returns (conversationId, CONVERSATION_STARTED payload).

    Event mode defaults to a one-hour warm-up here: an event-mode call gets one timed tip at the end of its
    warm-up when none was requested, and tests that do not test that must not see it."""
    mark = client.mark()
    payload = {"mode": mode, **fields}
    if mode == "event" and "conversationId" not in fields:
        payload.setdefault("warmupSeconds", 3600)
    ack = client.call("START_CONVERSATION", payload)
    assert ack.get("ok") is True, f"START_CONVERSATION {payload} refused: {ack}"
    assert ack["resumed"] is (fields.get("conversationId") is not None), ack
    conversation_id = ack["conversationId"]
    started = client.wait_for("CONVERSATION_STARTED", lambda p: p["conversationId"] == conversation_id,
                              timeout=TIMEOUT, after=mark)
    assert started is not None, f"no CONVERSATION_STARTED after {payload}; got {client.received()}"
    return conversation_id, started


SAMPLE_LINES = [
    ("agent", "Hi Marcus, thanks for making the time today. How is the support team doing?"),
    ("customer", "Busy. We handle about four thousand tickets a month and the routing is all manual."),
    ("agent", "What does that manual routing cost you in hours each week?"),
    ("customer", "Honestly the price you quoted is a lot more than we expected, it is over our budget."),
    ("customer", "We are also looking at Supportly, and they quoted us lower."),
    ("agent", "Understood. Let me walk you through how the routing works in our product."),
]


def segment(number, speaker=None, text=None, start_ms=None, end_ms=None, **extra):
    """A TRANSCRIPT segment `seg-NNNN` (without conversationId); speaker and text cycle through SAMPLE_LINES."""
    default_speaker, default_text = SAMPLE_LINES[(number - 1) % len(SAMPLE_LINES)]
    begin = start_ms if start_ms is not None else number * 5000
    payload = {"segmentId": f"seg-{number:04d}", "speaker": speaker or default_speaker, "text": text or default_text,
               "startMs": begin, "endMs": end_ms if end_ms is not None else begin + 4000}
    payload.update(extra)
    return payload


def send_segments(client, conversation_id, numbers):
    """TRANSCRIPT with an ack for each segment number; asserts each is stored as new."""
    for number in numbers:
        ack = client.call("TRANSCRIPT", {"conversationId": conversation_id, **segment(number)})
        assert ack == {"ok": True, "duplicate": False}, f"TRANSCRIPT seg-{number:04d}: {ack}"


def error_code(ack):
    """The code of a refused ack (asserting it is a refusal)."""
    assert isinstance(ack, dict) and ack.get("ok") is False, f"expected a refusal, got {ack}"
    return ack["error"]["code"]


def wait_tip(client, tip_id=None, timeout=TIMEOUT, after=0):
    tip = client.wait_for("AI_TIP", (lambda p: p["tipId"] == tip_id) if tip_id else (lambda p: True),
                          timeout=timeout, after=after)
    assert tip is not None, f"no AI_TIP {tip_id or ''} within {timeout} s; got {client.received()}"
    return tip


def end(client, conversation_id, timeout=TIMEOUT):
    """END_CONVERSATION with an ack; returns the CONVERSATION_ENDED payload."""
    mark = client.mark()
    ack = client.call("END_CONVERSATION", {"conversationId": conversation_id})
    assert ack.get("ok") is True, f"END_CONVERSATION refused: {ack}"
    ended = client.wait_for("CONVERSATION_ENDED", lambda p: p["conversationId"] == conversation_id,
                            timeout=timeout, after=mark)
    assert ended is not None, f"no CONVERSATION_ENDED within {timeout} s; got {client.received()}"
    return ended


def run_example(server, name, speed, api_key=API_KEY, out=None, transports=("websocket",)):
    """Replays protocol/examples/<name>.json with the simulator's runner; returns (RunResult, SchemaChecker)."""
    checker = SchemaChecker()
    runner = SessionRunner(load_example(EXAMPLES / f"{name}.json"), server.url, api_key, speed=speed,
                           transports=transports, out=out, observer=checker, quiet=True)
    return runner.run(), checker


def metric_value(metrics, name, **labels):
    """The value of `name` with exactly these labels (any label order), or 0 when absent."""
    wanted = {f'{key}="{value}"' for key, value in labels.items()}
    for key, value in metrics.items():
        base, _, rest = key.partition("{")
        if base != name:
            continue
        found = set(re.findall(r'[A-Za-z_]+="[^"]*"', rest))
        if found == wanted:
            return value
    return 0.0
