"""The fake OpenAI server on its own: wire format, streaming, errors, run-time control and the request log.

The LLM end-to-end tests and the benchmark trust this fake, so it is held to OpenAI's documented shapes here.
"""
import http.client
import json
import os
import subprocess
import sys
import time

import pytest
import requests

from fake_openai import DEFAULT_API_KEY, TIP_KINDS, FakeOpenAI, pieces

HERE = os.path.dirname(os.path.abspath(__file__))
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
TIP_SCHEMA_KEYS = ["kind", "headline", "suggestion", "options", "confidence"]


def chat(schema_name=None, stream=False, include_usage=True, system="You are a sales coach.", user="Transcript: ..."):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "max_tokens": 400}
    if schema_name:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": schema_name, "strict": True,
                                                                          "schema": {"type": "object"}}}
    if stream:
        body["stream"] = True
        if include_usage:
            body["stream_options"] = {"include_usage": True}
    return body


@pytest.fixture
def fake():
    server = FakeOpenAI().start()
    yield server
    server.stop()


def post(fake, body, headers=AUTH, **options):
    return requests.post(f"{fake.url}/chat/completions", json=body, headers=headers, timeout=10, **options)


def sse_events(response):
    """The `data:` payloads of an SSE response, in order (the raw text after `data: `)."""
    text = response.content.decode()
    assert text.endswith("\n\n"), text[-50:]
    events = []
    for block in text.split("\n\n")[:-1]:
        assert block.startswith("data: "), block
        events.append(block[len("data: "):])
    return events


def test_json_completion_has_openai_shape_and_a_tip_in_schema_order(fake):
    response = post(fake, chat("coaching_tip"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    assert response.headers["x-ratelimit-remaining-requests"] == "9999"
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == "gpt-4o-mini"
    assert isinstance(body["created"], int) and body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    tip = json.loads(choice["message"]["content"])
    assert list(tip) == TIP_SCHEMA_KEYS
    assert tip["kind"] == "objection" and tip["headline"].startswith("LLM:")
    assert all(list(option) == ["label", "script"] for option in tip["options"])
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0


def test_summary_schema_name_gets_notes_and_action_items(fake):
    content = post(fake, chat("call_summary")).json()["choices"][0]["message"]["content"]
    summary = json.loads(content)
    assert list(summary) == ["notes", "actionItems"]
    assert summary["notes"].startswith("LLM:") and summary["actionItems"]


def test_other_requests_get_plain_text(fake):
    assert post(fake, chat()).json()["choices"][0]["message"]["content"].startswith("LLM:")


@pytest.mark.parametrize("kind", TIP_KINDS)
def test_every_tip_kind_can_be_chosen(fake, kind):
    fake.control(tipKind=kind)
    tip = json.loads(post(fake, chat("coaching_tip")).json()["choices"][0]["message"]["content"])
    assert tip["kind"] == kind
    if kind != "none":
        assert 1 <= len(tip["options"]) <= 4 and len(tip["headline"]) <= 120


def test_repeated_system_prompt_counts_as_cached(fake):
    first = post(fake, chat("coaching_tip")).json()["usage"]
    second = post(fake, chat("coaching_tip", user="Another transcript")).json()["usage"]
    other = post(fake, chat("coaching_tip", system="Different instructions")).json()["usage"]
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    assert second["prompt_tokens_details"]["cached_tokens"] > 0
    assert other["prompt_tokens_details"]["cached_tokens"] == 0


def test_stream_sends_chunks_of_8_to_16_characters_then_stop_usage_and_done(fake):
    response = post(fake, chat("coaching_tip", stream=True))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Transfer-Encoding"] == "chunked"
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    contents = [chunk["choices"][0]["delta"]["content"] for chunk in chunks[1:-2]]
    assert all(8 <= len(piece) <= 16 for piece in contents[:-1]) and 1 <= len(contents[-1]) <= 16
    assert len(contents) > 10
    assert chunks[-2]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    assert all(chunk["usage"] is None for chunk in chunks[:-1])
    tip = json.loads("".join(contents))
    assert list(tip) == TIP_SCHEMA_KEYS and tip["headline"].startswith("LLM:")


def test_stream_without_include_usage_has_no_usage_chunk(fake):
    events = sse_events(post(fake, chat("call_summary", stream=True, include_usage=False)))
    chunks = [json.loads(event) for event in events[:-1]]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in chunk for chunk in chunks)
    assert json.loads("".join(c["choices"][0]["delta"].get("content", "") for c in chunks))["actionItems"]


def test_chunk_delay_spreads_the_stream_out(fake):
    fake.control(chunkDelayMs=20)
    began = time.monotonic()
    response = post(fake, chat("coaching_tip", stream=True), stream=True)
    arrivals = []
    for line in response.iter_lines():
        if line:
            arrivals.append(time.monotonic() - began)
    assert len(arrivals) > 10
    assert arrivals[-1] - arrivals[1] >= 0.02 * (len(arrivals) - 5)  # loose: only that the pieces were spaced


def test_missing_or_wrong_key_is_401_in_openai_error_shape(fake):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": DEFAULT_API_KEY}):
        response = post(fake, chat(), headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == {"message": response.json()["error"]["message"],
                                             "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}


def test_bad_requests_are_400_and_unknown_paths_404(fake):
    response = requests.post(f"{fake.url}/chat/completions", data=b"{not json", headers=AUTH, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    response = post(fake, {"messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 400 and response.json()["error"]["param"] == "model"
    response = requests.post(f"{fake.url}/embeddings", json={}, headers=AUTH, timeout=10)
    assert response.status_code == 404 and "error" in response.json()


def test_mode_429_sends_retry_after_headers_and_rate_limit_error(fake):
    fake.control(mode="429", retryAfterMs=1500)
    response = post(fake, chat("coaching_tip"))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2" and response.headers["retry-after-ms"] == "1500"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    error = response.json()["error"]
    assert error["type"] == "requests" and error["code"] == "rate_limit_exceeded" and error["param"] is None


def test_mode_500_is_a_server_error(fake):
    fake.control(mode="500")
    response = post(fake, chat("coaching_tip", stream=True))
    assert response.status_code == 500 and response.json()["error"]["type"] == "server_error"


def test_mode_malformed_answers_200_with_content_that_is_not_the_json_asked_for(fake):
    fake.control(mode="malformed")
    content = post(fake, chat("coaching_tip")).json()["choices"][0]["message"]["content"]
    with pytest.raises(ValueError):
        json.loads(content)
    streamed = sse_events(post(fake, chat("coaching_tip", stream=True)))
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in streamed[:-1] if json.loads(e)["choices"])
    assert text == content


def test_mode_slow_waits_delay_ms_before_answering(fake):
    fake.control(mode="slow", delayMs=400)
    began = time.monotonic()
    assert post(fake, chat("coaching_tip")).status_code == 200
    assert time.monotonic() - began >= 0.4


def test_delay_ms_also_delays_normal_answers(fake):
    fake.control(delayMs=300)
    began = time.monotonic()
    assert post(fake, chat("coaching_tip")).status_code == 200
    assert time.monotonic() - began >= 0.3


def test_mode_hang_never_answers_and_frees_the_thread_when_the_client_leaves(fake):
    fake.control(mode="hang")
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(f"{fake.url}/chat/completions", json=chat("coaching_tip"), headers=AUTH, timeout=0.5)
    fake.control(mode="normal")
    assert post(fake, chat("coaching_tip")).status_code == 200


def test_connection_is_kept_alive_across_requests(fake):
    connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    body = json.dumps(chat("coaching_tip"))
    for stream in (False, True, False):
        payload = json.loads(body)
        if stream:
            payload.update(stream=True, stream_options={"include_usage": True})
        connection.request("POST", "/v1/chat/completions", body=json.dumps(payload),
                           headers={**AUTH, "Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200 and response.getheader("Connection") is None
    local = connection.sock.getsockname()
    connection.request("GET", "/_requests")
    response = connection.getresponse()
    assert json.loads(response.read())["count"] == 3
    assert connection.sock.getsockname() == local  # the same TCP connection throughout
    connection.close()


def test_requests_log_keeps_bodies_and_lower_cased_headers_and_can_be_cleared(fake):
    post(fake, chat("coaching_tip", stream=True))
    post(fake, chat("call_summary"), headers={**AUTH, "X-Custom": "1"})
    log = requests.get(f"http://127.0.0.1:{fake.port}/_requests", timeout=10).json()
    assert log["count"] == 2
    first, second = log["requests"]
    assert first["path"] == "/v1/chat/completions" and first["body"]["stream"] is True
    assert first["body"]["response_format"]["json_schema"]["name"] == "coaching_tip"
    assert second["headers"]["x-custom"] == "1" and second["headers"]["authorization"] == AUTH["Authorization"]
    assert requests.delete(f"http://127.0.0.1:{fake.port}/_requests", timeout=10).json()["count"] == 0
    assert fake.requests() == []


def test_control_endpoint_changes_mode_and_refuses_bad_values(fake):
    base = f"http://127.0.0.1:{fake.port}"
    state = requests.post(f"{base}/_control", json={"mode": "500", "delayMs": 5, "chunkDelayMs": 7}, timeout=10).json()
    assert state["mode"] == "500" and state["delayMs"] == 5 and state["chunkDelayMs"] == 7
    assert post(fake, chat()).status_code == 500
    for bad in ({"mode": "sleepy"}, {"delayMs": -1}, {"delayMs": "5"}, {"tipKind": "smalltalk"}, []):
        assert requests.post(f"{base}/_control", json=bad, timeout=10).status_code == 400
    assert requests.get(f"{base}/_control", timeout=10).json()["mode"] == "500"
    requests.post(f"{base}/_control", json={"mode": "normal", "delayMs": 0}, timeout=10)
    assert post(fake, chat()).status_code == 200


def test_pieces_cover_the_text_in_order():
    text = "x" * 10 + "é✓" * 20 + "end"
    assert "".join(pieces(text)) == text
    assert all(8 <= len(piece) <= 16 for piece in list(pieces(text))[:-1])


def test_runs_standalone_with_port_and_delay_flags():
    port_probe = FakeOpenAI()
    port = port_probe.port
    port_probe.server.server_close()
    process = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_openai.py"), "--port", str(port),
                                "--delay-ms", "50"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert b"fake OpenAI on" in process.stdout.readline()
        response = requests.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=chat("coaching_tip"),
                                 headers=AUTH, timeout=10)
        assert response.status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/_control", timeout=10).json()["delayMs"] == 50
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.stderr.read() == b""  # no per-request logging
