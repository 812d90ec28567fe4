#!/usr/bin/env python3
"""A fake OpenAI chat completions server for Earpiece's LLM coach: the end-to-end tests and the benchmark use it.

Stdlib only. `POST /v1/chat/completions` answers in OpenAI's wire format: a JSON `chat.completion`, or with
`"stream": true` an SSE stream of `chat.completion.chunk`s (the JSON answer cut into 8 to 16 character pieces,
the usage chunk when `stream_options.include_usage`, then `data: [DONE]`). Errors have OpenAI's shape
(`{"error": {"message", "type", "param", "code"}}`) and status; 429 carries `Retry-After` and `retry-after-ms`.
Every response carries `x-request-id` and the `x-ratelimit-*` headers. `Authorization: Bearer <key>` is checked.

The answer follows the request's `response_format.json_schema.name`: `coaching_tip` gets a tip (headline starting
"LLM:"), `call_summary` gets notes and action items, anything else a short "LLM: ..." text.

Run-time control (no restart):
- `POST /_control` with `{"mode": "normal"|"slow"|"429"|"500"|"malformed"|"hang", "delayMs": N, "chunkDelayMs": N,
  "tipKind": "objection"|...|"none", "retryAfterMs": N, "reset": true}`; omitted keys keep their value. Answers
  the whole control state. `slow` waits `delayMs` (default 10,000) before the response; `hang` never answers
  (until the client goes away or the server stops); `malformed` answers 200 with content that is not the JSON
  the schema asks for; `429` and `500` answer with those errors. `delayMs` also delays `normal` answers.
- `GET /_requests`: `{"count": total, "requests": [{"path", "headers", "body", "receivedAt"}, ...]}` (the last
  256 requests to /v1, header names lower-cased, the body parsed as JSON or null); `DELETE /_requests` clears it.
- `GET /_health`: `{"status": "ok"}`.

Standalone: `python3 Tests/Interop/fake_openai.py --port 8089 [--host 127.0.0.1] [--api-key sk-test]
[--delay-ms N] [--chunk-delay-ms N] [--mode normal]`. HTTP/1.1 keep-alive, no per-request logging.
In-process: `FakeOpenAI(port=0).start()` ... `.stop()`; `.url` is the base URL to give as OPENAI_BASE_URL.
"""
from __future__ import annotations

import argparse
import collections
import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_API_KEY = "sk-test"
MODES = ("normal", "slow", "429", "500", "malformed", "hang")
TIP_KINDS = ("objection", "competitor", "question", "discovery", "next_step", "closing", "pacing", "rapport", "none")
SLOW_DEFAULT_MS = 10_000
RECORDED_REQUESTS = 256
MAX_BODY_BYTES = 4 * 1024 * 1024

# One tip per kind: recognisable ("LLM:" headlines), valid against the protocol's limits.
TIPS = {
    "objection": ("LLM: Price pushback, anchor on the cost of doing nothing",
                  "Acknowledge the budget concern, then ask what the current manual work costs each month.",
                  [("Quantify the pain", "How many hours a week does your team spend on that today?"),
                   ("Offer a comparison", "Could I put our numbers next to what you spend now?")]),
    "competitor": ("LLM: Competitor named, contrast on outcomes",
                   "Ask what they liked about the competitor, then contrast on the outcome that matters most.",
                   [("Ask what they liked", "What stood out to you in their proposal?"),
                    ("Contrast", "Where we usually differ is the time to value; may I show you?")]),
    "question": ("LLM: Answer the open question",
                 "The customer asked a question that is still open; answer it before moving on.",
                 [("Answer now", "Good question, let me answer that directly before we go on.")]),
    "discovery": ("LLM: Explore the impact",
                  "Ask what the problem costs them and who else feels it.",
                  [("Impact", "What does that cost you in a typical month?"),
                   ("Stakeholders", "Who else on the team feels this the most?")]),
    "next_step": ("LLM: Agree a concrete next step",
                  "Propose a dated next step with the right people in the room.",
                  [("Propose a date", "Shall we book thirty minutes on Tuesday with your finance lead?")]),
    "closing": ("LLM: Ask for the commitment",
                "The buying signals are there; ask for the decision.",
                [("Ask", "Is there anything stopping us from moving ahead this week?")]),
    "pacing": ("LLM: Let the customer talk",
               "You have been speaking for a while; pause and ask an open question.",
               [("Open question", "How does that compare with how you do it today?")]),
    "rapport": ("LLM: Acknowledge the concern",
                "Name what the customer feels before answering.",
                [("Acknowledge", "That makes sense, it sounds frustrating.")]),
}


def tip_content(kind: str) -> str:
    """The JSON text of a `coaching_tip` answer, in the strict schema's property order."""
    if kind == "none":
        answer = {"kind": "none", "headline": "", "suggestion": "", "options": [], "confidence": 0.0}
    else:
        headline, suggestion, options = TIPS[kind]
        answer = {"kind": kind, "headline": headline, "suggestion": suggestion,
                  "options": [{"label": label, "script": script} for label, script in options], "confidence": 0.8}
    return json.dumps(answer, ensure_ascii=False)


SUMMARY_CONTENT = json.dumps({
    "notes": "LLM: The customer raised price and compared a competitor; a follow-up with finance was discussed.",
    "actionItems": ["LLM: Send the cost comparison", "LLM: Book the follow-up with finance"],
}, ensure_ascii=False)

MALFORMED_CONTENT = 'Sure! Here is a tip: {"kind": "objection", "headline": "LLM: unterminated'


def estimate_tokens(text: str) -> int:
    """About four characters a token, like OpenAI's rule of thumb; at least one."""
    return max(1, len(text) // 4)


def pieces(text: str):
    """Cuts `text` into 8 to 16 character pieces (a fixed cycle, so runs are reproducible)."""
    sizes = (8, 11, 16, 9, 13, 12, 10, 15, 14)
    start = 0
    index = 0
    while start < len(text):
        size = sizes[index % len(sizes)]
        yield text[start:start + size]
        start += size
        index += 1


class State:
    """The fake's run-time behaviour and the requests it recorded. Shared by the handler threads under `lock`."""

    def __init__(self, api_key: str, mode: str = "normal", delay_ms: int = 0, chunk_delay_ms: int = 0):
        self.lock = threading.Lock()
        self.api_key = api_key
        self.mode = mode
        self.delay_ms = delay_ms
        self.chunk_delay_ms = chunk_delay_ms
        self.tip_kind = "objection"
        self.retry_after_ms = 1000
        self.requests = collections.deque(maxlen=RECORDED_REQUESTS)
        self.count = 0
        self.sequence = 0
        self.seen_prefixes = set()  # system prompts seen before: their tokens count as cached, like OpenAI's cache
        self.stopping = threading.Event()

    def control(self, update: dict) -> dict:
        """Applies a `/_control` body; raises ValueError naming a bad field."""
        with self.lock:
            if "mode" in update:
                if update["mode"] not in MODES:
                    raise ValueError(f"mode must be one of {', '.join(MODES)}")
                self.mode = update["mode"]
            for key, attribute in (("delayMs", "delay_ms"), ("chunkDelayMs", "chunk_delay_ms"),
                                   ("retryAfterMs", "retry_after_ms")):
                if key in update:
                    value = update[key]
                    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                        raise ValueError(f"{key} must be a non-negative integer")
                    setattr(self, attribute, value)
            if "tipKind" in update:
                if update["tipKind"] not in TIP_KINDS:
                    raise ValueError(f"tipKind must be one of {', '.join(TIP_KINDS)}")
                self.tip_kind = update["tipKind"]
            if update.get("reset"):
                self.requests.clear()
                self.count = 0
                self.seen_prefixes.clear()
            return self.snapshot()

    def snapshot(self) -> dict:
        return {"mode": self.mode, "delayMs": self.delay_ms, "chunkDelayMs": self.chunk_delay_ms,
                "tipKind": self.tip_kind, "retryAfterMs": self.retry_after_ms, "requests": self.count}

    def record(self, path: str, headers: dict, body) -> int:
        with self.lock:
            self.count += 1
            self.sequence += 1
            self.requests.append({"path": path, "headers": headers, "body": body, "receivedAt": time.time()})
            return self.sequence


class Handler(BaseHTTPRequestHandler):
    """One connection's requests, HTTP/1.1 with keep-alive."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/1"
    sys_version = ""

    def setup(self):
        super().setup()
        # Streamed chunks must leave at once, not wait for Nagle.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass  # the benchmark sends thousands of requests; logging each would dominate

    @property
    def state(self) -> State:
        return self.server.state

    # --- plumbing

    def read_body(self):
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                if len(data) + size > MAX_BODY_BYTES:
                    raise ValueError("body too large")
                data += self.rfile.read(size)
                self.rfile.readline()
        if length is None:
            return b""
        length = int(length)
        if length > MAX_BODY_BYTES:
            raise ValueError("body too large")
        return self.rfile.read(length)

    def send_bytes(self, status: int, body: bytes, content_type="application/json", extra=()):
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
                f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in extra]
        if self.close_connection:
            head.append("Connection: close")
        # One write per response: the handler's socket file is unbuffered.
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def send_json(self, status: int, value, extra=()):
        self.send_bytes(status, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), extra=extra)

    def send_error_json(self, status: int, message: str, type_: str, code=None, param=None, extra=()):
        self.send_json(status, {"error": {"message": message, "type": type_, "param": param, "code": code}}, extra)

    def rate_limit_headers(self, request_id: str):
        return [("x-request-id", request_id), ("openai-processing-ms", "7"),
                ("x-ratelimit-limit-requests", "10000"), ("x-ratelimit-remaining-requests", "9999"),
                ("x-ratelimit-reset-requests", "6ms"), ("x-ratelimit-limit-tokens", "2000000"),
                ("x-ratelimit-remaining-tokens", "1999000"), ("x-ratelimit-reset-tokens", "30ms")]

    def client_gone(self) -> bool:
        """Whether the client closed its side (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def pause(self, milliseconds: int) -> bool:
        """Sleeps, waking early when the server stops or the client leaves; True when the full time passed."""
        deadline = time.monotonic() + milliseconds / 1000
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            if self.state.stopping.wait(min(left, 0.05)) or self.client_gone():
                self.close_connection = True
                return False

    # --- routes

    def do_GET(self):
        if self.path == "/_requests":
            with self.state.lock:
                self.send_json(200, {"count": self.state.count, "requests": list(self.state.requests)})
        elif self.path == "/_control":
            with self.state.lock:
                self.send_json(200, self.state.snapshot())
        elif self.path == "/_health":
            self.send_json(200, {"status": "ok"})
        elif self.path.startswith("/v1/"):
            self.send_error_json(405, f"Method GET not allowed for {self.path}", "invalid_request_error")
        else:
            self.send_error_json(404, f"Unknown path {self.path}", "invalid_request_error", "unknown_url")

    def do_DELETE(self):
        if self.path == "/_requests":
            self.state.control({"reset": True})
            self.send_json(200, {"count": 0, "requests": []})
        else:
            self.send_error_json(404, f"Unknown path {self.path}", "invalid_request_error", "unknown_url")

    def do_POST(self):
        try:
            raw = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.send_error_json(413, "Request body too large or unreadable.", "invalid_request_error")
            return
        if self.path == "/_control":
            try:
                update = json.loads(raw or b"{}")
                if not isinstance(update, dict):
                    raise ValueError("the body must be a JSON object")
                self.send_json(200, self.state.control(update))
            except ValueError as error:
                self.send_json(400, {"error": str(error)})
            return
        if self.path.split("?")[0] != "/v1/chat/completions":
            self.send_error_json(404, f"Unknown path {self.path}", "invalid_request_error", "unknown_url")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        sequence = self.state.record(self.path, headers, body)
        self.completions(body, headers, f"req_{sequence:08x}fake")

    def completions(self, body, headers, request_id):
        state = self.state
        with state.lock:
            mode, delay_ms, chunk_delay_ms = state.mode, state.delay_ms, state.chunk_delay_ms
            tip_kind, retry_after_ms, expected_key = state.tip_kind, state.retry_after_ms, state.api_key
        limits = self.rate_limit_headers(request_id)

        if headers.get("authorization") != f"Bearer {expected_key}":
            self.send_error_json(401, "Incorrect API key provided. You can find your API key at the dashboard.",
                                 "invalid_request_error", "invalid_api_key", extra=[("x-request-id", request_id)])
            return
        if not isinstance(body, dict):
            self.send_error_json(400, "We could not parse the JSON body of your request.", "invalid_request_error",
                                 extra=limits)
            return
        for field in ("model", "messages"):
            if field not in body:
                self.send_error_json(400, f"Missing required parameter: '{field}'.", "invalid_request_error",
                                     "missing_required_parameter", field, extra=limits)
                return
        if not isinstance(body["messages"], list) or not body["messages"]:
            self.send_error_json(400, "Invalid 'messages': empty array.", "invalid_request_error",
                                 "empty_array", "messages", extra=limits)
            return

        if mode == "hang":
            self.pause(24 * 3600 * 1000)
            self.close_connection = True
            return
        if mode == "slow":
            if not self.pause(delay_ms or SLOW_DEFAULT_MS):
                return
        elif delay_ms and not self.pause(delay_ms):
            return
        if mode == "429":
            seconds = max(1, (retry_after_ms + 999) // 1000)
            extra = [(name, value) for name, value in limits if not name.startswith("x-ratelimit-remaining")]
            extra += [("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-remaining-tokens", "0"),
                      ("retry-after", str(seconds)), ("retry-after-ms", str(retry_after_ms))]
            self.send_error_json(429, "Rate limit reached for requests per min (RPM): Limit 10000, Used 10000. "
                                      "Please try again later.", "requests", "rate_limit_exceeded", extra=extra)
            return
        if mode == "500":
            self.send_error_json(500, "The server had an error while processing your request. Sorry about that!",
                                 "server_error", extra=limits)
            return

        content = self.answer_content(body, tip_kind, malformed=mode == "malformed")
        model = body.get("model") if isinstance(body.get("model"), str) else "gpt-4o-mini"
        usage = self.usage(body, content)
        created = int(time.time())
        if body.get("stream") is True:
            include_usage = isinstance(body.get("stream_options"), dict) and body["stream_options"].get("include_usage") is True
            self.stream(request_id, model, created, content, usage if include_usage else None, chunk_delay_ms, limits)
            return
        self.send_json(200, {
            "id": f"chatcmpl-{request_id}", "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": usage, "system_fingerprint": "fp_fake",
        }, extra=limits)

    @staticmethod
    def answer_content(body, tip_kind, malformed):
        if malformed:
            return MALFORMED_CONTENT
        response_format = body.get("response_format")
        name = None
        if isinstance(response_format, dict) and isinstance(response_format.get("json_schema"), dict):
            name = response_format["json_schema"].get("name")
        if name == "coaching_tip":
            return tip_content(tip_kind)
        if name == "call_summary":
            return SUMMARY_CONTENT
        return "LLM: ok"

    def usage(self, body, content):
        messages = body["messages"]
        text = "".join(m.get("content", "") for m in messages if isinstance(m, dict) and isinstance(m.get("content"), str))
        prompt_tokens = estimate_tokens(text)
        system = next((m.get("content") for m in messages if isinstance(m, dict) and m.get("role") in ("system", "developer")), None)
        cached = 0
        if isinstance(system, str):
            with self.state.lock:
                if system in self.state.seen_prefixes:
                    # OpenAI caches in 128-token steps once a prefix has 1,024 tokens; the fake is less picky.
                    cached = min(prompt_tokens, estimate_tokens(system))
                else:
                    self.state.seen_prefixes.add(system)
        completion_tokens = estimate_tokens(content)
        return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}

    def stream(self, request_id, model, created, content, usage, chunk_delay_ms, limits):
        head = ["HTTP/1.1 200 OK", "Content-Type: text/event-stream; charset=utf-8", "Cache-Control: no-cache",
                "Transfer-Encoding: chunked"] + [f"{name}: {value}" for name, value in limits]
        try:
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))

            def chunk(choices, with_usage=None):
                event = {"id": f"chatcmpl-{request_id}", "object": "chat.completion.chunk", "created": created,
                         "model": model, "system_fingerprint": "fp_fake", "choices": choices}
                if usage is not None:
                    event["usage"] = with_usage
                return f"data: {json.dumps(event, ensure_ascii=False, separators=(',', ':'))}\n\n"

            def send(text):
                data = text.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

            send(chunk([{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None},
                         "logprobs": None, "finish_reason": None}]))
            for piece in pieces(content):
                if chunk_delay_ms and not self.pause(chunk_delay_ms):
                    return
                send(chunk([{"index": 0, "delta": {"content": piece}, "logprobs": None, "finish_reason": None}]))
            send(chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]))
            if usage is not None:
                send(chunk([], with_usage=usage))
            send("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True


class FakeOpenAI:
    """The fake on a background thread: `FakeOpenAI().start()`, then `.url` (ends in /v1), `.control(...)`,
    `.requests()`, and `.stop()`."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", api_key: str = DEFAULT_API_KEY, **state):
        self.state = State(api_key, **state)
        self.server = _Server((host, port), Handler)
        self.server.state = self.state
        self.thread = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def api_key(self) -> str:
        return self.state.api_key

    def start(self) -> "FakeOpenAI":
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="fake-openai", daemon=True)
        self.thread.start()
        return self

    def control(self, **update) -> dict:
        return self.state.control(update)

    def requests(self) -> list:
        with self.state.lock:
            return list(self.state.requests)

    def completions(self) -> list:
        """The bodies of the recorded chat completion requests, oldest first."""
        return [r["body"] for r in self.requests() if r["path"].startswith("/v1/chat/completions")]

    def stop(self):
        self.state.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        if self.thread:
            self.thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _Server(ThreadingHTTPServer):
    """Threads per connection (daemons, so a hung request never blocks exit) and a deep accept queue."""

    request_queue_size = 1024  # the benchmark opens many connections at once
    allow_reuse_address = True
    daemon_threads = True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="A fake OpenAI chat completions server (see the module docstring).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the key clients must send as Bearer")
    parser.add_argument("--mode", choices=MODES, default="normal")
    parser.add_argument("--delay-ms", type=int, default=0, help="delay before each answer")
    parser.add_argument("--chunk-delay-ms", type=int, default=0, help="delay between streamed chunks")
    arguments = parser.parse_args(argv)
    server = _Server((arguments.host, arguments.port), Handler)
    server.state = State(arguments.api_key, arguments.mode, arguments.delay_ms, arguments.chunk_delay_ms)
    print(f"fake OpenAI on http://{arguments.host}:{server.server_address[1]}/v1 (key {arguments.api_key})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.state.stopping.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
