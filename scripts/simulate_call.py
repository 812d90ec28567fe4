#!/usr/bin/env python3
"""Replays an example call session from protocol/examples against a running Earpiece server.

    python3 scripts/simulate_call.py [--url http://localhost:3000] [--api-key KEY] [--speed 4]
                                     [--transport websocket|polling|upgrade] [--quiet] [protocol/examples/X.json]

It connects with a real Socket.IO client (python-socketio), runs the session as protocol/README.md
"Example sessions" describes (fill, expectAck, reconnect, expect), prints each event as it happens, e.g.

    [02:10.4] tip-0001 objection (rules, 6 ms): Price pushback: quantify the cost of doing nothing
                1. Quantify the pain: "How many hours a week do your leads spend on that report?"

and the summary at the end, and exits 0 when every expectation holds, 1 otherwise. Times in brackets are the
call's clock (the example's own time: wall time multiplied by --speed).

--speed N replays N times faster by dividing every atMs, and the warm-up and interval it asks for (the interval
stays at least 5 s). A server started with COACHING_TIME_SCALE=1/N scales them itself: pass --server-scaled then,
or auto-mode tips come late or not at all.

Needs `pip install "python-socketio[client]"`. Importable: the end-to-end tests reuse `SessionRunner`,
`CopilotClient` and the expectation checks.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import pathlib
import socket
import sys
import threading
import time

import socketio

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = REPOSITORY / "protocol" / "examples"
DEFAULT_EXAMPLE = EXAMPLES / "auto-price-objection-competitor.json"
ACK_TIMEOUT = 10.0      # seconds for any ack
TIP_TIMEOUT = 15.0      # seconds for a requested tip that an optionIndex refers to
ENDED_TIMEOUT = 20.0    # seconds for CONVERSATION_ENDED after END_CONVERSATION (the summary may take a while)


class ConnectRefused(Exception):
    """The server refused the Socket.IO CONNECT; `data` is the CONNECT_ERROR's data (e.g. `{"code": ...}`)."""

    def __init__(self, message, data):
        super().__init__(message)
        self.data = data


class CopilotClient:
    """A python-socketio client for the Earpiece protocol that records every server event, for waiting on.

    `observer(kind, name, payload)` sees everything the server sends: kind "event" (name is the event),
    "ack" (name is the client event acked) and "connect_error"; the tests validate them against the schemas.
    """

    def __init__(self, url, api_key=None, transports=("websocket",), auth=None, observer=None, headers=None):
        self.url = url
        self.auth = auth if auth is not None else ({"apiKey": api_key} if api_key is not None else None)
        self.transports = list(transports) if transports else None
        self.headers = headers or {}
        self.observer = observer
        self.changed = threading.Condition()
        self.events = []           # (monotonic time, name, payload), every server event in arrival order
        self.connect_errors = []   # CONNECT_ERROR data
        self.disconnects = []      # reasons
        self.client = None

    # --- connection

    def connect(self, timeout=ACK_TIMEOUT):
        """Connects (again, after `drop` or `disconnect`); raises ConnectRefused with the CONNECT_ERROR data."""
        self.client = socketio.Client(reconnection=False, handle_sigint=False)
        self.client.on("*", self._on_event)
        self.client.on("connect_error", self._on_connect_error)
        self.client.on("disconnect", self._on_disconnect)
        try:
            self.client.connect(self.url, auth=self.auth, transports=self.transports, headers=self.headers,
                                wait_timeout=timeout)
        except socketio.exceptions.ConnectionError as error:
            with self.changed:
                data = self.connect_errors[-1] if self.connect_errors else None
            raise ConnectRefused(str(error), data) from error
        return self

    def disconnect(self):
        """A clean Socket.IO disconnect."""
        if self.client is not None:
            self.client.disconnect()

    def drop(self, timeout=5.0):
        """Cuts the WebSocket transport abruptly, as a lost network would: no DISCONNECT or CLOSE packet is
        sent. Returns once the client noticed."""
        engine = self.client.eio
        if engine.current_transport != "websocket" or engine.ws is None:
            raise RuntimeError("drop needs the websocket transport")
        try:
            engine.ws.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        with self.changed:
            self.changed.wait_for(lambda: self.disconnects, timeout)

    def close(self):
        if self.client is not None:
            try:
                self.client.shutdown()
            except Exception:  # noqa: BLE001 - closing a broken client must not mask a test's own failure
                pass

    @property
    def connected(self):
        return self.client is not None and self.client.connected

    def _on_event(self, name, *args):
        payload = args[0] if len(args) == 1 else list(args)
        if self.observer:
            self.observer("event", name, payload)
        with self.changed:
            self.events.append((time.monotonic(), name, payload))
            self.changed.notify_all()

    def _on_connect_error(self, data=None):
        if self.observer:
            self.observer("connect_error", "CONNECT_ERROR", data)
        with self.changed:
            self.connect_errors.append(data)
            self.changed.notify_all()

    def _on_disconnect(self, reason=None):
        with self.changed:
            self.disconnects.append(reason)
            self.changed.notify_all()

    # --- sending

    def call(self, event, payload=None, timeout=ACK_TIMEOUT):
        """Emits `event` asking for an ack and returns the ack's first argument."""
        args = () if payload is None else payload
        ack = self.client.call(event, args, timeout=timeout)
        if self.observer:
            self.observer("ack", event, ack)
        return ack

    def call_later(self, event, payload=None):
        """Emits `event` asking for an ack without waiting for it; returns a function that waits for the ack
        (`wait(timeout)`, None on timeout). For sending several events back to back."""
        done = threading.Event()
        box = []

        def acked(*args):
            ack = args[0] if len(args) == 1 else list(args)
            if self.observer:
                self.observer("ack", event, ack)
            box.append(ack)
            done.set()

        self.client.emit(event, () if payload is None else payload, callback=acked)

        def wait(timeout=ACK_TIMEOUT):
            return box[0] if done.wait(timeout) else None
        return wait

    def emit(self, event, payload=None):
        """Emits `event` without asking for an ack."""
        self.client.emit(event, () if payload is None else payload)

    # --- waiting

    def wait_for(self, name, predicate=lambda payload: True, timeout=ACK_TIMEOUT, after=0):
        """The first event `name` at index `after` or later whose payload satisfies `predicate`; None on timeout."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for _, event_name, payload in self.events[after:]:
                    if event_name == name and predicate(payload):
                        return payload
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.changed.wait(left)

    def received(self, name=None, predicate=lambda payload: True):
        with self.changed:
            return [payload for _, event_name, payload in self.events
                    if (name is None or event_name == name) and predicate(payload)]

    def mark(self):
        """The number of events so far: pass it as `after` to wait only for later ones."""
        with self.changed:
            return len(self.events)


# --------------------------------------------------------------------------- expectations


def partial_match(expected, actual):
    """The keys of `expected` whose value differs in `actual` (README "expectAck": every key given must be equal)."""
    if not isinstance(actual, dict):
        return sorted(expected)
    return sorted(key for key, value in expected.items() if actual.get(key, _MISSING) != value)


_MISSING = object()


def check_tip_kinds(expected, match, kinds):
    """Problems with the distinct tips' kinds (in order) against `expect.tipKinds` / `tipKindsMatch`."""
    if match == "ordered":
        return [] if kinds == expected else [f"tip kinds {kinds}, expected exactly {expected} in this order"]
    missing = [kind for kind in expected if kind not in kinds]
    return [f"tip kinds {kinds} lack {missing}"] if missing else []


def check_summary(expected, summary, path="summary"):
    """Problems with `summary` against `expect.summary`: equal scalars, {min, max} ranges, {count}/{minCount}
    for arrays, and nested objects (talkRatio) key by key."""
    problems = []
    if not isinstance(summary, dict):
        return [f"{path} is {summary!r}, not an object"]
    for key, matcher in expected.items():
        where = f"{path}.{key}"
        if key not in summary:
            problems.append(f"{where} is missing")
            continue
        problems += _check_value(matcher, summary[key], where)
    return problems


def _check_value(matcher, value, where):
    if isinstance(matcher, dict) and matcher and set(matcher) <= {"min", "max"}:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return [f"{where} is {value!r}, not a number"]
        if value < matcher.get("min", float("-inf")) or value > matcher.get("max", float("inf")):
            return [f"{where} is {value}, outside {matcher}"]
        return []
    if isinstance(matcher, dict) and matcher and set(matcher) <= {"count", "minCount"}:
        if not isinstance(value, list):
            return [f"{where} is {value!r}, not an array"]
        if "count" in matcher and len(value) != matcher["count"]:
            return [f"{where} has {len(value)} items, expected {matcher['count']}"]
        if "minCount" in matcher and len(value) < matcher["minCount"]:
            return [f"{where} has {len(value)} items, expected at least {matcher['minCount']}"]
        return []
    if isinstance(matcher, dict):
        return check_summary(matcher, value, where)
    if value != matcher or isinstance(value, bool) != isinstance(matcher, bool):
        return [f"{where} is {value!r}, expected {matcher!r}"]
    return []


# --------------------------------------------------------------------------- the runner


def load_example(path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def clock(seconds):
    tenths = int(round(max(0.0, seconds) * 10))  # rounded first, so 59.96 s shows as 01:00.0, not 00:60.0
    minutes, rest = divmod(tenths, 600)
    return f"[{minutes:02d}:{rest // 10:02d}.{rest % 10}]"


def shorten(text, limit=90):
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RunResult:
    """What a replay saw: `ok` when no failure; `failures` say what went wrong in words."""

    def __init__(self):
        self.failures = []
        self.conversation_id = None
        self.tips = {}            # tipId -> the first AI_TIP payload, in arrival order
        self.partials = {}        # tipId -> [AI_TIP_PARTIAL texts]
        self.acks = []            # (event, payload sent, ack)
        self.errors = []          # ERROR events
        self.ended = None         # the CONVERSATION_ENDED payload
        self.elapsed = 0.0

    @property
    def ok(self):
        return not self.failures

    @property
    def tip_kinds(self):
        return [tip["kind"] for tip in self.tips.values()]

    @property
    def summary(self):
        return self.ended["summary"] if self.ended else None


class SessionRunner:
    """Runs one example session (protocol/README.md "Example sessions") and checks its expectations.

    `speed` divides every `atMs`; `out` prints a line (None: silent); `observer` sees every server payload
    (see CopilotClient); `quiet` hides the sent transcript lines; `client_factory` makes the client
    (CopilotClient's signature).
    """

    def __init__(self, example, url, api_key, speed=1.0, transports=("websocket",), out=print, observer=None,
                 quiet=False, client_factory=CopilotClient, scale_settings=False):
        self.example = example
        self.url = url
        self.api_key = api_key
        self.speed = float(speed)
        self.transports = transports
        self.out = out
        self.observer = observer
        self.quiet = quiet
        self.client_factory = client_factory  # tests substitute an in-memory server
        # True when the server runs at real time: warm-up and interval are then divided by `speed` here
        # (within the protocol's limits); False when the server scales them itself (COACHING_TIME_SCALE).
        self.scale_settings = scale_settings
        self.result = RunResult()
        self.client = None
        self.start = None
        self.printed_tips = set()
        self.latest_tip_id = None        # the latest AI_TIP received, for fill.optionIndex
        self.awaited_tip_id = None       # the tip the latest REQUEST_NEXT_TIP ack announced

    # --- output

    def say(self, text):
        if self.out is not None:
            now = 0.0 if self.start is None else (time.monotonic() - self.start) * self.speed
            self.out(f"{clock(now)} {text}")

    def _observe(self, kind, name, payload):
        if self.observer:
            self.observer(kind, name, payload)
        if kind != "event" or not isinstance(payload, dict):
            return
        result = self.result
        if name == "AI_TIP":
            tip_id = payload.get("tipId")
            if tip_id not in result.tips:
                result.tips[tip_id] = payload
                self._print_tip(payload)
            self.latest_tip_id = tip_id
        elif name == "AI_TIP_PARTIAL":
            result.partials.setdefault(payload.get("tipId"), []).append(payload.get("text"))
        elif name == "ERROR":
            result.errors.append(payload)
            self.say(f"ERROR {payload.get('code')} for {payload.get('event')}: {payload.get('message')}")
        elif name == "CONVERSATION_STARTED":
            resumed = " (resumed, %s segments)" % payload.get("segments") if payload.get("resumed") else ""
            self.say(f"conversation {payload.get('conversationId')} started, {payload.get('mode')} mode, "
                     f"warm-up {payload.get('warmupSeconds')} s, interval {payload.get('intervalSeconds')} s{resumed}")

    def _print_tip(self, tip):
        partials = len(self.result.partials.get(tip.get("tipId"), []))
        after = f", after {partials} partials" if partials else ""
        self.say(f"{tip.get('tipId')} {tip.get('kind')} ({tip.get('source')}, {tip.get('latencyMs')} ms, "
                 f"{tip.get('trigger')}{after}): {tip.get('headline')}")
        if self.out is not None:
            self.out(f"{'':10} {tip.get('suggestion')}")
            for number, option in enumerate(tip.get("options", []), 1):
                self.out(f"{'':12}{number}. {option.get('label')}: \"{option.get('script')}\"")

    def fail(self, message):
        self.result.failures.append(message)
        self.say(f"FAIL {message}")

    # --- running

    def run(self):
        """Replays the session; returns a RunResult (never raises for a server's misbehaviour)."""
        began = time.monotonic()
        try:
            self._run()
        except ConnectRefused as error:
            self.fail(f"connection refused: {error} {error.data}")
        except socketio.exceptions.TimeoutError:
            self.fail("an ack did not arrive within %.0f s" % ACK_TIMEOUT)
        except (socketio.exceptions.SocketIOError, OSError) as error:
            self.fail(f"connection failed: {error!r}")
        finally:
            if self.client is not None:
                self.client.close()
            self.result.elapsed = time.monotonic() - began
        return self.result

    def _connect(self):
        if self.client is not None:
            self.client.close()
        self.client = self.client_factory(self.url, self.api_key, transports=self.transports, observer=self._observe)
        self.client.connect()

    def _run(self):
        example = self.example
        self._connect()
        start = {key: example[key] for key in ("mode", "warmupSeconds", "intervalSeconds", "metadata") if key in example}
        if self.scale_settings and self.speed != 1:
            if "warmupSeconds" in start:
                start["warmupSeconds"] = min(3600, max(0, round(start["warmupSeconds"] / self.speed)))
            if "intervalSeconds" in start:
                wanted = start["intervalSeconds"] / self.speed
                start["intervalSeconds"] = min(600, max(5, round(wanted)))
                if wanted < 5 and self.out is not None:
                    self.out(f"note: {example['intervalSeconds']} s / {self.speed:g} = {wanted:g} s is below the protocol's "
                             f"5 s minimum interval, so the server makes fewer tips than the example expects; "
                             f"use --speed {example['intervalSeconds'] // 5} or less, or a server with "
                             f"COACHING_TIME_SCALE=1/speed and --server-scaled")
        ack = self.client.call("START_CONVERSATION", start)
        if not isinstance(ack, dict) or ack.get("ok") is not True:
            self.fail(f"START_CONVERSATION refused: {ack}")
            return
        self.start = time.monotonic()
        self.result.conversation_id = ack["conversationId"]
        self.say(f"> START_CONVERSATION {example['mode']} -> {ack['conversationId']}")

        for index, event in enumerate(example["events"]):
            due = self.start + event["atMs"] / 1000 / self.speed
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if "action" in event:
                if event["action"] == "reconnect":
                    self.say("reconnecting (closing the transport)")
                    self.client.disconnect()
                    self._connect()
                else:
                    self.fail(f"events[{index}]: unknown action {event['action']!r}")
                continue
            name = event["send"]
            payload = self._fill(index, event)
            if payload is None:
                continue
            ack = self.client.call(name, payload)
            self.result.acks.append((name, payload, ack))
            self._report_send(name, payload, ack)
            if "expectAck" in event:
                wrong = partial_match(event["expectAck"], ack)
                if wrong:
                    self.fail(f"events[{index}] {name}: ack {ack} differs from expectAck {event['expectAck']} in {wrong}")
            elif not isinstance(ack, dict) or ack.get("ok") is not True:
                self.fail(f"events[{index}] {name}: refused {ack}")
            if name == "REQUEST_NEXT_TIP" and isinstance(ack, dict) and ack.get("ok"):
                self.awaited_tip_id = ack.get("tipId")
            if name == "END_CONVERSATION":
                self._finish()
                return
        self.fail("the session has no END_CONVERSATION")

    def _fill(self, index, event):
        payload = copy.deepcopy(event.get("payload", {}))
        fill = event.get("fill", {})
        name = event["send"]
        if name != "START_CONVERSATION" or fill.get("resume"):
            payload["conversationId"] = self.result.conversation_id
        if "optionIndex" in fill:
            tip = self._tip_for_option(index)
            if tip is None:
                return None
            options = tip.get("options", [])
            if fill["optionIndex"] >= len(options):
                self.fail(f"events[{index}] {name}: {tip.get('tipId')} has {len(options)} options, "
                          f"optionIndex is {fill['optionIndex']}")
                return None
            option_id = options[fill["optionIndex"]]["id"]
            if name == "OPTION_SELECTED":
                payload.update(tipId=tip["tipId"], optionId=option_id)
            else:
                payload["selectedOptionId"] = option_id
        return payload

    def _tip_for_option(self, index):
        """The latest AI_TIP; when a requested tip is still on its way, waits for it first."""
        wanted = self.awaited_tip_id
        if wanted is not None and wanted not in self.result.tips:
            if self.client.wait_for("AI_TIP", lambda tip: tip.get("tipId") == wanted, timeout=TIP_TIMEOUT) is None:
                self.fail(f"events[{index}]: {wanted}'s AI_TIP did not arrive within {TIP_TIMEOUT:.0f} s")
                return None
        if wanted is None and self.latest_tip_id is None:
            if self.client.wait_for("AI_TIP", timeout=TIP_TIMEOUT) is None:
                self.fail(f"events[{index}]: optionIndex needs a tip, and none arrived")
                return None
        return self.result.tips.get(self.latest_tip_id)

    def _report_send(self, name, payload, ack):
        refused = "" if isinstance(ack, dict) and ack.get("ok") else f"  REFUSED {ack}"
        if name == "TRANSCRIPT":
            if self.quiet and not refused:
                return
            duplicate = " (duplicate)" if isinstance(ack, dict) and ack.get("duplicate") else ""
            self.say(f"> {payload['segmentId']} {payload['speaker']}: {shorten(payload['text'])}{duplicate}{refused}")
        elif name == "REQUEST_NEXT_TIP":
            self.say(f"> REQUEST_NEXT_TIP {payload['requestId']} -> {ack.get('tipId') if isinstance(ack, dict) else ''} "
                     f"{ack.get('status') if isinstance(ack, dict) else ''}{refused}")
        elif name == "OPTION_SELECTED":
            self.say(f"> OPTION_SELECTED {payload['tipId']} {payload['optionId']}{refused}")
        elif name == "START_CONVERSATION":
            self.say(f"> START_CONVERSATION (resume {payload.get('conversationId')}) -> resumed "
                     f"{ack.get('resumed') if isinstance(ack, dict) else '?'}{refused}")
        else:
            self.say(f"> {name}{refused}")

    def _finish(self):
        conversation_id = self.result.conversation_id
        ended = self.client.wait_for("CONVERSATION_ENDED", lambda p: p.get("conversationId") == conversation_id,
                                     timeout=ENDED_TIMEOUT)
        if ended is None:
            self.fail(f"no CONVERSATION_ENDED within {ENDED_TIMEOUT:.0f} s of END_CONVERSATION")
            return
        self.result.ended = ended
        self._print_summary(ended)
        expect = self.example.get("expect", {})
        kinds = self.result.tip_kinds
        for problem in check_tip_kinds(expect.get("tipKinds", []), expect.get("tipKindsMatch", "contains"), kinds):
            self.fail(problem)
        for problem in check_summary(expect.get("summary", {}), ended.get("summary")):
            self.fail(problem)
        if self.example.get("mode") == "auto" and not self.result.tips and self.out is not None:
            self.out("hint: no tip arrived. Is the server running with COACHING_TIME_SCALE? Then pass "
                     "--server-scaled, so that warm-up and interval are sent unchanged.")

    def _print_summary(self, ended):
        if self.out is None:
            return
        summary = ended.get("summary", {})
        ratio = summary.get("talkRatio", {})
        self.say(f"conversation ended ({ended.get('reason')}); summary from {summary.get('source')}:")
        self.out(f"{'':10} {summary.get('durationMs')} ms, {summary.get('segments')} segments, "
                 f"{summary.get('tipsShown')} tips shown, talk ratio agent {ratio.get('agent')} / "
                 f"customer {ratio.get('customer')}, picks {summary.get('optionsPicked')}")
        self.out(f"{'':10} notes: {summary.get('notes')}")
        for item in summary.get("actionItems", []):
            self.out(f"{'':10} - {item}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Warm-up and interval are divided by --speed too (interval at least 5 s), "
                                            "unless --server-scaled says the server shrinks them itself "
                                            "(COACHING_TIME_SCALE=1/speed).")
    parser.add_argument("example", nargs="?", default=str(DEFAULT_EXAMPLE), help="an example session (JSON)")
    parser.add_argument("--url", default="http://localhost:3000")
    parser.add_argument("--api-key", default=os.environ.get("BACKEND_API_KEY", "dev-key").split(",")[0].strip())
    # 4: the fastest at which the examples' 30 s interval stays above the protocol's 5 s minimum against a server
    # running at real time (a faster replay needs COACHING_TIME_SCALE on the server and --server-scaled).
    parser.add_argument("--speed", type=float, default=4.0, help="replay N times faster (divides every atMs)")
    parser.add_argument("--transport", choices=("websocket", "polling", "upgrade"), default="websocket")
    parser.add_argument("--quiet", action="store_true", help="do not print the transcript lines sent")
    parser.add_argument("--server-scaled", action="store_true",
                        help="the server runs with COACHING_TIME_SCALE=1/speed: send warm-up and interval unchanged")
    arguments = parser.parse_args(argv)
    if arguments.speed <= 0:
        parser.error("--speed must be positive")
    example = load_example(arguments.example)
    transports = None if arguments.transport == "upgrade" else (arguments.transport,)
    print(f"{example['name']}: {example['description']}")
    print(f"replaying at {arguments.speed:g}x against {arguments.url} "
          f"(expects tip kinds {example['expect']['tipKinds']}, {example['expect']['tipKindsMatch']})")
    runner = SessionRunner(example, arguments.url, arguments.api_key, arguments.speed, transports=transports,
                           quiet=arguments.quiet, scale_settings=not arguments.server_scaled)
    result = runner.run()
    if result.ok:
        print(f"OK: tip kinds {result.tip_kinds}; every expectation held ({result.elapsed:.1f} s)")
        return 0
    print(f"FAILED ({len(result.failures)}):")
    for failure in result.failures:
        print(f"  - {failure}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
