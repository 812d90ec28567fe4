"""The copilot's LLM path end to end: `earpiece serve` with OPENAI_BASE_URL pointing at fake_openai.py.

Normal and streamed tips (source "llm", AI_TIP_PARTIAL before AI_TIP), the deadline and failure fallbacks to
the rule coach (source "rules"), the LLM summary, coalesced requests while a tip is being made, a tip made
while the client was away, and what the server asks the model (model, schema names, stable system prompt).
Each test has its own fake and server, so one test's failures cannot open another's circuit breaker.
"""
import json
import time

import pytest

from copilot_support import (TIMEOUT, clients, copilot_env, end, metric_value, segment, start, start_server,
                             wait_tip)
from fake_openai import FakeOpenAI

__all__ = ["clients", "start_server"]  # fixtures used by name

MODEL = "gpt-test-mini"
OBJECTION = [
    ("agent", "For forty agents that comes to ninety five dollars per seat per month."),
    ("customer", "Ninety five per seat is a lot more than we expected, it is over our budget."),
]


@pytest.fixture
def fake():
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def llm(fake, start_server, clients):
    """`llm(**env)` -> (server, client): a server using the fake (deadline 4 s unless given) and a client."""
    def make(**env):
        settings = copilot_env(OPENAI_API_KEY=fake.api_key, OPENAI_BASE_URL=fake.url, OPENAI_MODEL=MODEL)
        settings.update(env)
        server = start_server(settings)
        return server, clients(server=server)
    return make


def talk(client, conversation_id, lines=OBJECTION, first=1):
    for offset, (speaker, text) in enumerate(lines):
        ack = client.call("TRANSCRIPT", {"conversationId": conversation_id, **segment(first + offset, speaker, text)})
        assert ack == {"ok": True, "duplicate": False}, ack


def request_tip(client, conversation_id, request_id="req-01", timeout=TIMEOUT):
    mark = client.mark()
    ack = client.call("REQUEST_NEXT_TIP", {"conversationId": conversation_id, "requestId": request_id})
    assert ack["ok"] is True and ack["status"] == "accepted", ack
    return ack, wait_tip(client, ack["tipId"], timeout=timeout, after=mark)


def tip_requests(fake):
    return [body for body in fake.completions()
            if isinstance(body, dict) and body.get("response_format", {}).get("json_schema", {}).get("name") == "coaching_tip"]


def test_llm_tip_comes_from_the_model(fake, llm):
    server, client = llm()
    conversation_id, _ = start(client)
    talk(client, conversation_id)
    ack, tip = request_tip(client, conversation_id)
    assert tip["source"] == "llm", tip
    assert tip["headline"].startswith("LLM:") and tip["kind"] == "objection"
    assert tip["trigger"] == "request" and tip["requestId"] == "req-01" and tip["lastSegmentId"] == "seg-0002"
    assert [option["id"] for option in tip["options"]] == ["opt-1", "opt-2"]
    assert tip["options"][0]["label"] == "Quantify the pain"
    bodies = tip_requests(fake)
    assert len(bodies) == 1
    body = bodies[0]
    assert body["model"] == MODEL
    assert body["response_format"]["type"] == "json_schema" and body["response_format"]["json_schema"]["strict"] is True
    schema = body["response_format"]["json_schema"]["schema"]
    assert set(schema["properties"]) >= {"kind", "headline", "suggestion", "options", "confidence"}
    assert fake.requests()[-1]["headers"]["authorization"] == f"Bearer {fake.api_key}"
    # The transcript reaches the model.
    assert any("over our budget" in message["content"] for message in body["messages"])


def test_llm_tip_streams_partials_that_grow_before_the_tip(fake, llm):
    fake.control(chunkDelayMs=25)
    server, client = llm()
    conversation_id, _ = start(client)
    talk(client, conversation_id)
    mark = client.mark()
    ack, tip = request_tip(client, conversation_id)
    assert tip["source"] == "llm"
    assert tip_requests(fake)[0].get("stream") is True
    names = [name for _, name, payload in client.events[mark:] if name in ("AI_TIP", "AI_TIP_PARTIAL")]
    partials = [payload for _, name, payload in client.events[mark:] if name == "AI_TIP_PARTIAL"]
    assert partials, f"no AI_TIP_PARTIAL before the AI_TIP; events {names}"
    assert names.index("AI_TIP") > max(i for i, name in enumerate(names) if name == "AI_TIP_PARTIAL")
    assert all(partial["tipId"] == ack["tipId"] and partial["conversationId"] == conversation_id for partial in partials)
    texts = [partial["text"] for partial in partials]
    for shorter, longer in zip(texts, texts[1:]):
        assert longer.startswith(shorter), f"partials are not cumulative: {shorter!r} then {longer!r}"
    assert tip["suggestion"].startswith(texts[-1]), (texts[-1], tip["suggestion"])


def test_llm_slower_than_the_deadline_falls_back_to_rules(fake, llm):
    fake.control(mode="slow", delayMs=5000)
    server, client = llm(LLM_DEADLINE_MS=600)
    conversation_id, _ = start(client)
    talk(client, conversation_id)
    began = time.monotonic()
    ack, tip = request_tip(client, conversation_id)
    assert tip["source"] == "rules" and tip["kind"] == "objection", tip
    assert time.monotonic() - began >= 0.5, "the rule fallback came before the LLM deadline"
    assert tip["latencyMs"] >= 500
    assert len(tip_requests(fake)) >= 1


@pytest.mark.parametrize("mode", ["429", "500", "malformed", "hang"])
def test_llm_failure_falls_back_to_rules(fake, llm, mode):
    fake.control(mode=mode, retryAfterMs=200)
    server, client = llm(LLM_DEADLINE_MS=1500)
    conversation_id, _ = start(client)
    talk(client, conversation_id)
    ack, tip = request_tip(client, conversation_id)
    assert tip["source"] == "rules", tip
    assert len(tip_requests(fake)) >= 1
    assert server.alive()


def test_llm_summary_is_used_at_the_end(fake, llm):
    server, client = llm()
    conversation_id, _ = start(client)
    talk(client, conversation_id)
    summary = end(client, conversation_id, timeout=TIMEOUT + 5)["summary"]
    assert summary["source"] == "llm", summary
    assert summary["notes"].startswith("LLM:")
    assert summary["actionItems"] == ["LLM: Send the cost comparison", "LLM: Book the follow-up with finance"]
    assert summary["segments"] == 2
    names = [body["response_format"]["json_schema"]["name"] for body in fake.completions() if "response_format" in body]
    assert "call_summary" in names


def test_failed_llm_summary_falls_back_to_rules(fake, llm):
    server, client = llm(LLM_DEADLINE_MS=800)
    conversation_id, _ = start(client)
    talk(client, conversation_id)
    fake.control(mode="500")
    summary = end(client, conversation_id, timeout=TIMEOUT + 5)["summary"]
    assert summary["source"] == "rules"


def test_system_prompt_is_identical_across_requests(fake, llm):
    server, client = llm()
    conversation_id, _ = start(client, metadata={"accountName": "Carrow Freight", "competitors": ["Supportly"]})
    talk(client, conversation_id)
    request_tip(client, conversation_id, "req-01")
    talk(client, conversation_id, [("customer", "We are also looking at Supportly, they quoted lower.")], first=3)
    request_tip(client, conversation_id, "req-02")
    other_id, _ = start(client)
    talk(client, other_id, [("customer", "What does the onboarding look like?")], first=1)
    request_tip(client, other_id, "req-01")
    bodies = tip_requests(fake)
    assert len(bodies) == 3
    first_messages = [body["messages"][0] for body in bodies]
    assert first_messages[0]["role"] in ("system", "developer")
    assert first_messages[0] == first_messages[1] == first_messages[2], "the system prompt varies between requests"
    # The call-specific part is elsewhere and does change.
    assert bodies[0]["messages"][1:] != bodies[1]["messages"][1:]
    # Call-specific facts (the account, the competitor) stay out of the stable prefix.
    assert "Carrow Freight" not in first_messages[0]["content"]


def test_second_request_while_a_tip_is_being_made_is_coalesced(fake, llm):
    fake.control(mode="slow", delayMs=1500)
    server, client = llm(LLM_DEADLINE_MS=8000)
    conversation_id, _ = start(client)
    talk(client, conversation_id)
    first = client.call("REQUEST_NEXT_TIP", {"conversationId": conversation_id, "requestId": "req-01"})
    assert first["status"] == "accepted"
    second = client.call("REQUEST_NEXT_TIP", {"conversationId": conversation_id, "requestId": "req-02"})
    assert second == {"ok": True, "requestId": "req-02", "tipId": first["tipId"], "status": "coalesced",
                      "code": "TIP_IN_PROGRESS"}
    retried = client.call("REQUEST_NEXT_TIP", {"conversationId": conversation_id, "requestId": "req-01"})
    assert retried == {"ok": True, "requestId": "req-01", "tipId": first["tipId"], "status": "duplicate"}
    tip = wait_tip(client, first["tipId"], timeout=TIMEOUT + 5)
    assert tip["source"] == "llm" and tip["requestId"] == "req-01"
    time.sleep(0.5)
    assert len(client.received("AI_TIP")) == 1, "a tip being made was sent more than once"
    assert len(tip_requests(fake)) == 1


def test_tip_made_while_the_client_was_away_is_sent_after_resume(fake, llm, clients):
    fake.control(mode="slow", delayMs=1500)
    server, client = llm(LLM_DEADLINE_MS=8000, RESUME_GRACE_SECONDS=1000)
    conversation_id, _ = start(client)
    talk(client, conversation_id)
    ack = client.call("REQUEST_NEXT_TIP", {"conversationId": conversation_id, "requestId": "req-01"})
    client.drop()
    again = clients(server=server)
    mark = again.mark()
    start(again, conversationId=conversation_id)
    tip = wait_tip(again, ack["tipId"], timeout=TIMEOUT + 5, after=mark)
    names = [name for _, name, _ in again.events[mark:]]
    assert names.index("CONVERSATION_STARTED") < names.index("AI_TIP"), names
    assert tip["source"] == "llm"


def test_auto_tip_uses_the_llm(fake, llm):
    server, client = llm()
    conversation_id, _ = start(client, "auto", warmupSeconds=50, intervalSeconds=600)
    talk(client, conversation_id)
    tip = wait_tip(client, timeout=TIMEOUT + 2)
    assert tip["trigger"] == "auto" and tip["source"] == "llm"
    # A timed tip comes whole: asked for without streaming, and no AI_TIP_PARTIAL before it.
    assert not any(name == "AI_TIP_PARTIAL" for _, name, _ in client.events)
    tip_requests = [request for request in fake.completions() if "coaching_tip" in json.dumps(request)]
    assert tip_requests and not any(request.get("stream") for request in tip_requests)


def test_ready_and_metrics_report_the_llm(fake, llm):
    server, client = llm()
    status, body = server.get_json("/health/ready")
    assert status == 200 and body["llm"] == "closed", body
    conversation_id, _ = start(client)
    talk(client, conversation_id)
    request_tip(client, conversation_id)
    metrics = server.metrics()
    assert metric_value(metrics, "earpiece_tips_total", source="llm") == 1
    assert metric_value(metrics, "earpiece_llm_latency_seconds_count") >= 1
    assert sum(value for key, value in metrics.items() if key.startswith("earpiece_llm_tokens_total")) > 0
    assert any(key.startswith("earpiece_llm_cost_usd_total") for key in metrics)


def test_repeated_llm_failures_open_the_circuit_and_rules_keep_answering(fake, llm):
    fake.control(mode="500")
    server, client = llm(LLM_DEADLINE_MS=1000)
    conversation_id, _ = start(client)
    talk(client, conversation_id)
    for number in range(1, 9):
        ack, tip = request_tip(client, conversation_id, f"req-{number:02d}")
        assert tip["source"] == "rules"
        client.call("TRANSCRIPT", {"conversationId": conversation_id,
                                   **segment(10 + number, "customer", f"Another point about the price, number {number}.")})
    # The rule coach still serves, so the server stays ready whatever the breaker's state.
    status, body = server.get_json("/health/ready")
    assert status == 200 and body["llm"] in ("open", "closed", "half_open", "half-open"), body
