"""The four example sessions of protocol/examples replayed against the rule coach with the call simulator's runner
(scripts/simulate_call.py): their acks, tip kinds and summaries as each example's `expect` says.

The sessions are replayed SPEED times faster, all at once against one server whose COACHING_TIME_SCALE is
1/SPEED, so warm-up and interval shrink with the replay (and the four take as long as the longest one).
"""
import json
import subprocess
import sys
import threading

import pytest

from copilot_support import API_KEY, EXAMPLES, REPOSITORY, EarpieceServer, run_example

SPEED = 20
NAMES = sorted(path.stem for path in EXAMPLES.glob("*.json"))


@pytest.fixture(scope="module")
def example_server():
    # Rate limits stay at their defaults: the replays must fit within them. Four conversations on one key.
    server = EarpieceServer(env={"BACKEND_API_KEY": API_KEY, "COACHING_TIME_SCALE": 1 / SPEED})
    yield server
    alive, output = server.alive(), server.output()
    server.stop()
    assert alive, f"earpiece serve died while replaying the examples: {output}"


@pytest.fixture(scope="module")
def replays(example_server):
    """Starts every example's replay at once on its own thread; `replays(name)` waits for its result."""
    results = {}
    logs = {name: [] for name in NAMES}

    def replay(name):
        try:
            results[name] = run_example(example_server, name, SPEED, out=logs[name].append)
        except Exception as error:  # noqa: BLE001 - reported by the test of this example
            results[name] = error

    threads = {name: threading.Thread(target=replay, args=(name,), daemon=True) for name in NAMES}
    for thread in threads.values():
        thread.start()

    def get(name):
        threads[name].join(timeout=120)
        assert not threads[name].is_alive(), f"{name} still running after 120 s"
        result = results[name]
        if isinstance(result, Exception):
            raise result
        return result + ("\n".join(logs[name]),)

    yield get
    for thread in threads.values():
        thread.join(timeout=30)


def test_there_are_four_examples():
    assert len(NAMES) == 4, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_example_session_meets_its_expectations(replays, name):
    result, checker, log = replays(name)
    assert result.ok, f"{name} replayed at {SPEED}x:\n" + "\n".join(result.failures) + f"\n--- simulator log ---\n{log}"
    assert not checker.violations, "server payloads break protocol/schemas:\n" + "\n".join(checker.violations)
    assert result.ended["reason"] == "requested"
    # Every tip is a rule tip (no LLM configured) with the fields a client relies on.
    for tip in result.tips.values():
        assert tip["source"] == "rules" and tip["conversationId"] == result.conversation_id
    assert result.summary["tipsShown"] == len(result.tips)
    assert result.errors == []


def test_simulator_command_line_replays_an_example_and_exits_0(example_server):
    example = EXAMPLES / "event-requests-and-picks.json"
    completed = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "simulate_call.py"), "--url", example_server.url,
         "--api-key", API_KEY, "--speed", str(SPEED), "--server-scaled", str(example)],
        capture_output=True, text=True, timeout=120)
    output = completed.stdout
    assert completed.returncode == 0, output + completed.stderr
    assert "tip-" in output and "(rules, " in output and "discovery" in output
    assert "conversation ended (requested)" in output and output.rstrip().splitlines()[-1].startswith("OK")


def test_simulator_exits_1_when_an_expectation_fails(example_server, tmp_path):
    example = json.loads((EXAMPLES / "event-requests-and-picks.json").read_text())
    example["expect"]["tipKinds"] = ["closing", "closing", "closing"]
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(example))
    completed = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "simulate_call.py"), "--url", example_server.url,
         "--api-key", API_KEY, "--speed", "100", "--server-scaled", "--quiet", str(path)],
        capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "FAILED" in completed.stdout and "tip kinds" in completed.stdout


def test_simulator_exits_1_when_the_key_is_refused(example_server):
    completed = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "simulate_call.py"), "--url", example_server.url,
         "--api-key", "wrong-key", "--speed", "1000"],
        capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1
    assert "AUTH_INVALID" in completed.stdout
