"""`earpiece ask --repeat N` against fake_openai.py: the key=value line the OpenAI client benchmark reads
(Benchmarks/openai-bench.sh), the requests it sends, and its failures; and plain `ask` next to it."""
import os
import re
import subprocess

import pytest

from conftest import BIN_DIR
from fake_openai import FakeOpenAI

TIMEOUT = 60
KEYS = ["requests", "seconds", "requests_per_sec", "cpu_seconds", "cpu_us_per_request", "ttfd_p50_us", "ttfd_p99_us",
        "total_p50_us", "total_p99_us", "errors"]


@pytest.fixture
def fake():
    server = FakeOpenAI().start()
    yield server
    server.stop()


def ask(fake, *arguments, api_key=None):
    env = dict(os.environ, OPENAI_API_KEY=api_key or fake.api_key, OPENAI_BASE_URL=fake.url, LOG_LEVEL="error")
    env.pop("OPENAI_MODEL", None)
    return subprocess.run([os.path.join(BIN_DIR, "earpiece"), "ask", *arguments], env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)


def figures(stdout):
    """The one key=value line, as a dict of numbers; asserts it is the whole output and has every key in order."""
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    assert re.fullmatch(r"(\w+=\d+(\.\d+)?)( \w+=\d+(\.\d+)?)*", lines[0]), lines[0]
    pairs = [pair.split("=") for pair in lines[0].split(" ")]
    assert [key for key, _ in pairs] == KEYS, lines[0]
    return {key: float(value) for key, value in pairs}


@pytest.mark.parametrize("stream", [True, False])
def test_repeat_5_prints_one_line_of_positive_figures_and_sends_5_requests(fake, stream):
    result = ask(fake, "--repeat", "5", *([] if stream else ["--no-stream"]), "Say", "ok.")
    assert result.returncode == 0, result.stderr
    values = figures(result.stdout)
    assert values["requests"] == 5 and values["errors"] == 0
    for key in KEYS[1:-1]:
        assert values[key] > 0, (key, result.stdout)
    assert values["ttfd_p50_us"] <= values["ttfd_p99_us"] and values["total_p50_us"] <= values["total_p99_us"]
    assert values["ttfd_p50_us"] <= values["total_p50_us"]
    if not stream:
        assert values["ttfd_p50_us"] == values["total_p50_us"]
    # Rates agree with each other (the line is rounded to 4 decimals of seconds).
    assert values["requests_per_sec"] == pytest.approx(5 / values["seconds"], rel=0.05)
    bodies = fake.completions()
    assert len(bodies) == 5
    for body in bodies:
        assert body["messages"] == [{"role": "user", "content": "Say ok."}]
        assert body.get("stream", False) is stream
        if stream:
            assert body["stream_options"] == {"include_usage": True}


def test_warmup_requests_are_sent_but_not_counted(fake):
    result = ask(fake, "--repeat", "3", "--warmup", "2", "hello")
    assert result.returncode == 0, result.stderr
    assert figures(result.stdout)["requests"] == 3
    assert len(fake.completions()) == 5


def test_repeat_from_the_loop_prints_the_same_line(fake):
    result = ask(fake, "--repeat", "4", "--from-loop", "hello")
    assert result.returncode == 0, result.stderr
    values = figures(result.stdout)
    assert values["requests"] == 4 and values["errors"] == 0


def test_failed_requests_are_counted_and_the_exit_status_is_1(fake):
    result = ask(fake, "--repeat", "3", "hello", api_key="sk-wrong")
    assert result.returncode == 1
    values = figures(result.stdout)
    assert values["requests"] == 3 and values["errors"] == 3
    assert "3 of 3 requests failed" in result.stderr and "401" in result.stderr


def test_a_failed_warmup_prints_no_figures(fake):
    result = ask(fake, "--repeat", "3", "--warmup", "1", "hello", api_key="sk-wrong")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "1 of 4 requests failed" in result.stderr
    assert len(fake.completions()) == 1


@pytest.mark.parametrize("arguments, message", [
    (["--repeat", "0", "hi"], "repeat must be a number from 1 to 1000000"),
    (["--repeat", "x", "hi"], "repeat must be a number"),
    (["--warmup", "2", "hi"], "--warmup needs --repeat of 2 or more"),
    (["--from-loop", "hi"], "--from-loop needs --repeat of 2 or more"),
])
def test_bad_repeat_options_are_usage_errors(fake, arguments, message):
    result = ask(fake, *arguments)
    assert result.returncode == 64
    assert message in result.stderr
    assert fake.completions() == []


@pytest.mark.parametrize("arguments", [[], ["--repeat", "1"], ["--no-stream"]])
def test_ask_without_repeat_prints_the_answer_and_the_usage_summary(fake, arguments):
    result = ask(fake, *arguments, "Say", "ok.")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("LLM:") and result.stdout.endswith("\n")
    assert "=" not in result.stdout
    assert result.stderr.startswith("model gpt-4o-mini; tokens: ")
    assert len(fake.completions()) == 1
