"""The call simulator's runner (scripts/simulate_call.py) on its own, against an in-memory stand-in for the server:
the README's runner rules (fill, expectAck, reconnect, expect), the expectation checks, and the replay speed.
The runner against the real server is in test_copilot_examples.py.
"""
import copy
import time

import pytest

from copilot_support import EXAMPLES, assert_valid, load_example
from simulate_call import (CopilotClient, SessionRunner, check_summary, check_tip_kinds, clock, partial_match)


class StubServer:
    """Just enough of the protocol for the runner: ids, duplicates, tips of the given kinds, a summary."""

    def __init__(self, kinds=("discovery", "objection", "next_step"), options=2):
        self.kinds = list(kinds)
        self.options = options
        self.segments = {}
        self.requests = {}
        self.tips = []
        self.picks = {}
        self.sent = []          # (client number, event, payload) as received
        self.connections = 0
        self.ended = False

    def handle(self, client, event, payload):
        self.sent.append((client.number, event, copy.deepcopy(payload)))
        if event == "START_CONVERSATION":
            resumed = "conversationId" in payload
            client.push("CONVERSATION_STARTED", {"conversationId": "c_stub", "mode": "event", "warmupSeconds": 180,
                                                 "intervalSeconds": 30, "resumed": resumed,
                                                 "segments": len(self.segments)})
            return {"ok": True, "conversationId": "c_stub", "resumed": resumed}
        assert payload["conversationId"] == "c_stub"
        if event == "TRANSCRIPT":
            duplicate = payload["segmentId"] in self.segments
            self.segments.setdefault(payload["segmentId"], payload)
            return {"ok": True, "duplicate": duplicate}
        if event == "REQUEST_NEXT_TIP":
            for recent in payload.get("recentSegments", []):
                self.segments.setdefault(recent["segmentId"], recent)
            if "selectedOptionId" in payload:
                self.picks[self.tips[-1]["tipId"]] = payload["selectedOptionId"]
            if payload["requestId"] in self.requests:
                tip = self.requests[payload["requestId"]]
                client.push("AI_TIP", tip)
                return {"ok": True, "requestId": payload["requestId"], "tipId": tip["tipId"], "status": "duplicate"}
            tip = {"conversationId": "c_stub", "tipId": f"tip-{len(self.tips) + 1:04d}",
                   "kind": self.kinds[len(self.tips) % len(self.kinds)], "headline": "Stub headline",
                   "suggestion": "Stub suggestion.", "confidence": 0.5, "source": "rules", "latencyMs": 1,
                   "trigger": "request", "requestId": payload["requestId"],
                   "options": [{"id": f"opt-{n}", "label": f"Option {n}", "script": "Say this."}
                               for n in range(1, self.options + 1)]}
            self.tips.append(tip)
            self.requests[payload["requestId"]] = tip
            # The ack comes first, the tip a little later, as from a real coach.
            client.push_later("AI_TIP", tip, 0.02)
            return {"ok": True, "requestId": payload["requestId"], "tipId": tip["tipId"], "status": "accepted"}
        if event == "OPTION_SELECTED":
            duplicate = self.picks.get(payload["tipId"]) == payload["optionId"]
            self.picks[payload["tipId"]] = payload["optionId"]
            return {"ok": True, "duplicate": duplicate}
        if event == "END_CONVERSATION":
            duplicate, self.ended = self.ended, True
            spoken = {"agent": 0, "customer": 0}
            for segment in self.segments.values():
                spoken[segment["speaker"]] += segment["endMs"] - segment["startMs"]
            total = sum(spoken.values()) or 1
            client.push("CONVERSATION_ENDED", {"conversationId": "c_stub", "reason": "requested", "summary": {
                "durationMs": 1000, "talkRatio": {k: round(v / total, 2) for k, v in spoken.items()},
                "segments": len(self.segments), "tipsShown": len(self.tips),
                "optionsPicked": [{"tipId": t, "optionId": o} for t, o in self.picks.items()],
                "notes": "Stub notes.", "actionItems": ["Follow up"], "source": "rules"}})
            return {"ok": True, "conversationId": "c_stub", "duplicate": duplicate}
        return {"ok": False, "error": {"code": "INVALID_PAYLOAD", "message": "unknown"}}


def stub_factory(server):
    class StubClient(CopilotClient):
        def connect(self, timeout=1.0):
            server.connections += 1
            self.number = server.connections
            self.connected_flag = True
            return self

        def call(self, event, payload=None, timeout=1.0):
            ack = server.handle(self, event, payload)
            if self.observer:
                self.observer("ack", event, ack)
            return ack

        def push(self, name, payload):
            self._on_event(name, copy.deepcopy(payload))

        def push_later(self, name, payload, delay):
            import threading
            threading.Timer(delay, self.push, (name, payload)).start()

        def disconnect(self):
            self.connected_flag = False

        def close(self):
            self.connected_flag = False

    return StubClient


def run_stub(example, server, speed=1000.0, **options):
    lines = []
    runner = SessionRunner(example, "http://stub", "key", speed=speed, out=lines.append,
                           client_factory=stub_factory(server), **options)
    return runner.run(), lines


EVENT_EXAMPLE = load_example(EXAMPLES / "event-requests-and-picks.json")


def test_event_example_passes_against_a_server_that_behaves():
    server = StubServer()
    result, lines = run_stub(EVENT_EXAMPLE, server)
    assert result.ok, result.failures
    assert result.tip_kinds == ["discovery", "objection", "next_step"]
    assert any("tip-0001 discovery (rules, 1 ms" in line for line in lines)
    assert any('1. Option 1: "Say this."' in line for line in lines)


def test_runner_fills_conversation_ids_options_and_the_resume():
    server = StubServer()
    result, _ = run_stub(EVENT_EXAMPLE, server)
    sent = server.sent
    assert sent[0] == (1, "START_CONVERSATION", {"mode": "event", "warmupSeconds": 180, "intervalSeconds": 30,
                                                 "metadata": EVENT_EXAMPLE["metadata"]})
    assert all(payload["conversationId"] == "c_stub" for _, _, payload in sent[1:])
    picks = [payload for _, event, payload in sent if event == "OPTION_SELECTED"]
    assert [(p["tipId"], p["optionId"]) for p in picks] == [("tip-0001", "opt-1"), ("tip-0002", "opt-2"),
                                                             ("tip-0003", "opt-1")]
    resume = [(number, payload) for number, event, payload in sent if event == "START_CONVERSATION"][1]
    assert resume == (2, {"mode": "event", "conversationId": "c_stub"})  # on the new connection
    assert server.connections == 2
    # Every filled payload still fits its schema.
    for _, event, payload in sent:
        assert_valid(event, payload)


def test_request_next_tip_option_index_sets_selected_option_id():
    example = copy.deepcopy(EVENT_EXAMPLE)
    events = example["events"]
    first_request = next(i for i, e in enumerate(events) if e.get("send") == "REQUEST_NEXT_TIP")
    events.insert(first_request + 1, {"atMs": events[first_request]["atMs"] + 10, "send": "REQUEST_NEXT_TIP",
                                      "payload": {"requestId": "req-pick"}, "fill": {"optionIndex": 1}})
    server = StubServer(kinds=("discovery", "discovery", "objection", "next_step"))
    result, _ = run_stub(example, server)
    request = next(p for _, e, p in server.sent if e == "REQUEST_NEXT_TIP" and p["requestId"] == "req-pick")
    assert request["selectedOptionId"] == "opt-2"


def test_wrong_tip_kinds_fail_the_ordered_expectation():
    result, lines = run_stub(EVENT_EXAMPLE, StubServer(kinds=("objection", "discovery", "next_step")))
    assert not result.ok
    assert any("tip kinds" in failure for failure in result.failures)
    assert any("FAIL" in line for line in lines)


def test_an_ack_that_differs_from_expect_ack_fails():
    server = StubServer()
    original = server.handle

    def forgetful(client, event, payload):
        ack = original(client, event, payload)
        if event == "TRANSCRIPT" and payload["segmentId"] == "seg-0012" and client.number == 2:
            ack = {"ok": True, "duplicate": False}  # forgot the segment across the reconnect
        return ack

    server.handle = forgetful
    result, _ = run_stub(EVENT_EXAMPLE, server)
    assert any("differs from expectAck" in f for f in result.failures), result.failures


def test_a_refused_event_without_expect_ack_fails():
    server = StubServer()
    original = server.handle

    def refusing(client, event, payload):
        if event == "TRANSCRIPT" and payload["segmentId"] == "seg-0003":
            return {"ok": False, "error": {"code": "RATE_LIMITED", "message": "slow down", "retryAfterMs": 10}}
        return original(client, event, payload)

    server.handle = refusing
    result, _ = run_stub(EVENT_EXAMPLE, server)
    assert any("RATE_LIMITED" in failure for failure in result.failures)


def test_option_index_beyond_the_tips_options_fails_without_sending():
    server = StubServer(options=1)
    result, _ = run_stub(EVENT_EXAMPLE, server)
    assert any("has 1 options, optionIndex is 1" in failure for failure in result.failures)
    assert not any(e == "OPTION_SELECTED" and p.get("optionId") == "opt-2" for _, e, p in server.sent)


def test_speed_divides_every_at_ms():
    example = {"name": "tiny", "description": "", "mode": "event", "warmupSeconds": 0, "intervalSeconds": 5,
               "metadata": {}, "events": [
                   {"atMs": 0, "send": "TRANSCRIPT", "payload": {"segmentId": "s1", "speaker": "agent", "text": "Hi.",
                                                                  "startMs": 0, "endMs": 100}},
                   {"atMs": 3000, "send": "END_CONVERSATION", "payload": {}}],
               "expect": {"tipKinds": [], "tipKindsMatch": "contains", "summary": {"segments": 1}}}
    began = time.monotonic()
    result, _ = run_stub(example, StubServer(), speed=10)
    elapsed = time.monotonic() - began
    assert result.ok, result.failures
    assert elapsed >= 0.3  # 3000 ms / 10


def test_partial_match_names_the_keys_that_differ():
    assert partial_match({"ok": True, "status": "duplicate"}, {"ok": True, "status": "duplicate", "tipId": "t"}) == []
    assert partial_match({"ok": True, "resumed": True}, {"ok": True, "resumed": False}) == ["resumed"]
    assert partial_match({"duplicate": False}, {"ok": True}) == ["duplicate"]
    assert partial_match({"ok": True}, None) == ["ok"]


def test_tip_kind_checks_ordered_and_contains():
    assert check_tip_kinds(["a", "b"], "ordered", ["a", "b"]) == []
    assert check_tip_kinds(["a", "b"], "ordered", ["b", "a"])
    assert check_tip_kinds(["a", "b"], "ordered", ["a", "b", "c"])
    assert check_tip_kinds(["a", "b"], "contains", ["c", "b", "x", "a"]) == []
    assert check_tip_kinds(["a", "b"], "contains", ["a", "a"])


@pytest.mark.parametrize("expected,summary,ok", [
    ({"segments": 31}, {"segments": 31}, True),
    ({"segments": 31}, {"segments": 30}, False),
    ({"source": "rules"}, {"source": "llm"}, False),
    ({"tipsShown": {"min": 2}}, {"tipsShown": 2}, True),
    ({"tipsShown": {"min": 2}}, {"tipsShown": 1}, False),
    ({"talkRatio": {"agent": {"min": 0.44, "max": 0.54}}}, {"talkRatio": {"agent": 0.54, "customer": 0.46}}, True),
    ({"talkRatio": {"agent": {"min": 0.44, "max": 0.54}}}, {"talkRatio": {"agent": 0.55, "customer": 0.45}}, False),
    ({"optionsPicked": {"count": 0}}, {"optionsPicked": []}, True),
    ({"optionsPicked": {"count": 3}}, {"optionsPicked": [{}, {}]}, False),
    ({"actionItems": {"minCount": 1}}, {"actionItems": ["x"]}, True),
    ({"actionItems": {"minCount": 1}}, {"actionItems": []}, False),
    ({"segments": 1}, {"segments": True}, False),
    ({"notes": "x"}, {}, False),
])
def test_summary_checks(expected, summary, ok):
    assert (check_summary(expected, summary) == []) is ok


def test_every_example_expectation_passes_a_summary_that_meets_it():
    """The matcher understands every kind of expectation the examples use."""
    for path in EXAMPLES.glob("*.json"):
        expect = load_example(path)["expect"]["summary"]
        summary = {}
        for key, matcher in expect.items():
            if isinstance(matcher, dict) and set(matcher) <= {"min", "max"}:
                summary[key] = matcher.get("min", matcher.get("max"))
            elif isinstance(matcher, dict) and set(matcher) <= {"count", "minCount"}:
                summary[key] = ["x"] * matcher.get("count", matcher.get("minCount", 0))
            elif isinstance(matcher, dict):
                summary[key] = {k: v.get("min", v.get("max")) for k, v in matcher.items()}
            else:
                summary[key] = matcher
        assert check_summary(expect, summary) == [], path.name


def test_clock_formats_minutes_and_tenths():
    assert clock(0) == "[00:00.0]"
    assert clock(72.34) == "[01:12.3]"
    assert clock(239.96) == "[04:00.0]"
    assert clock(5.04) == "[00:05.0]"
