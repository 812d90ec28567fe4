#!/usr/bin/env python3
"""Validate the Earpiece protocol files: the schemas, the example sessions and hand-written samples.

Usage: python3 protocol/validate.py   (needs `pip install jsonschema`, 4.18 or later)
Exits 0 when everything holds, 1 otherwise.
"""

import json
import pathlib
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

HERE = pathlib.Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"
EXAMPLES = HERE / "examples"

CLIENT_EVENTS = ["START_CONVERSATION", "TRANSCRIPT", "OPTION_SELECTED", "REQUEST_NEXT_TIP", "END_CONVERSATION", "PING"]
SERVER_EVENTS = ["CONVERSATION_STARTED", "AI_TIP", "AI_TIP_PARTIAL", "CONVERSATION_ENDED", "ERROR", "PONG"]
OTHER = ["auth", "CONNECT_ERROR"]
TIP_KINDS = {"objection", "competitor", "question", "discovery", "next_step", "closing", "pacing", "rapport"}
METADATA_MAX_BYTES = 4096
DUMMY_CONVERSATION = "c_7Hq2LmN4pX9sT1vB"

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


def load_validators():
    registry = Registry()
    documents = {}
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        document = json.loads(path.read_text())
        Draft202012Validator.check_schema(document)
        if document.get("$id") != path.name:
            fail(path.name, f"$id is {document.get('$id')!r}, expected the file name")
        documents[path.name] = document
        registry = registry.with_resource(path.name, Resource.from_contents(document))
    expected = {"common.schema.json"}
    expected |= {f"{name}.schema.json" for name in CLIENT_EVENTS + SERVER_EVENTS + OTHER}
    expected |= {f"{name}.ack.schema.json" for name in CLIENT_EVENTS}
    for missing in sorted(expected - documents.keys()):
        fail("schemas", f"missing {missing}")
    for extra in sorted(documents.keys() - expected):
        fail("schemas", f"unexpected {extra}")
    return {
        name[: -len(".schema.json")]: Draft202012Validator(document, registry=registry)
        for name, document in documents.items()
    }


VALIDATORS = load_validators()


def errors(schema, instance):
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:160]}" for e in VALIDATORS[schema].iter_errors(instance)]


def semantic_errors(schema, instance):
    """Rules the schemas cannot say: metadata size, endMs not before startMs."""
    problems = []
    if not isinstance(instance, dict):
        return problems
    if schema == "START_CONVERSATION" and isinstance(instance.get("metadata"), dict):
        size = len(json.dumps(instance["metadata"], separators=(",", ":"), ensure_ascii=False).encode())
        if size > METADATA_MAX_BYTES:
            problems.append(f"metadata is {size} bytes, more than {METADATA_MAX_BYTES}")
    segments = [instance] if schema == "TRANSCRIPT" else instance.get("recentSegments", []) if schema == "REQUEST_NEXT_TIP" else []
    for segment in segments:
        if isinstance(segment, dict) and isinstance(segment.get("startMs"), int) and isinstance(segment.get("endMs"), int):
            if segment["endMs"] < segment["startMs"]:
                problems.append(f"segment {segment.get('segmentId')}: endMs before startMs")
    return problems


def check(where, schema, instance, valid=True):
    problems = errors(schema, instance) + semantic_errors(schema, instance)
    if valid and problems:
        fail(where, f"{schema} should be valid: " + "; ".join(problems))
    if not valid and not problems:
        fail(where, f"{schema} should be invalid but passed")


# ---------------------------------------------------------------- example sessions


def in_range(value, matcher):
    return matcher.get("min", float("-inf")) <= value <= matcher.get("max", float("inf"))


def check_example(path):
    where = f"examples/{path.name}"
    try:
        example = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        fail(where, f"not JSON: {error}")
        return
    keys = {"name", "description", "mode", "warmupSeconds", "intervalSeconds", "metadata", "events", "expect"}
    if set(example) != keys:
        fail(where, f"top-level keys {sorted(example)}, expected {sorted(keys)}")
        return
    if example["name"] != path.stem:
        fail(where, "name differs from the file name")
    start = {key: example[key] for key in ("mode", "warmupSeconds", "intervalSeconds", "metadata")}
    check(f"{where} (implied START_CONVERSATION)", "START_CONVERSATION", start)

    segments = {}  # segmentId -> segment as first sent
    order = []
    request_ids = {}
    tips = 0
    last_at = -1
    events = example["events"]
    for index, event in enumerate(events):
        at = f"{where} events[{index}]"
        allowed = {"atMs", "send", "action", "payload", "fill", "expectAck"}
        if not set(event) <= allowed or ("send" in event) == ("action" in event):
            fail(at, "needs atMs and exactly one of send or action; only fill and expectAck may be added")
            continue
        if not isinstance(event["atMs"], int) or event["atMs"] < last_at:
            fail(at, "atMs must be an integer, not decreasing")
        last_at = event.get("atMs", last_at)
        if "action" in event:
            if event["action"] != "reconnect" or set(event) != {"atMs", "action"}:
                fail(at, "the only action is reconnect, with atMs only")
            continue
        name = event["send"]
        if name not in CLIENT_EVENTS or name == "START_CONVERSATION" and not event.get("fill", {}).get("resume"):
            fail(at, f"cannot send {name} here")
            continue
        payload = dict(event.get("payload", {}))
        if "conversationId" in payload:
            fail(at, "conversationId is filled in by the runner; leave it out")
        if name != "START_CONVERSATION" or event.get("fill", {}).get("resume"):
            payload["conversationId"] = DUMMY_CONVERSATION
        fill = event.get("fill", {})
        if set(fill) - {"optionIndex", "resume"}:
            fail(at, f"unknown fill keys {sorted(set(fill) - {'optionIndex', 'resume'})}")
        if "optionIndex" in fill:
            if tips == 0:
                fail(at, "optionIndex refers to the latest tip, but no tip was requested yet")
            if not isinstance(fill["optionIndex"], int) or not 0 <= fill["optionIndex"] < 4:
                fail(at, "optionIndex must be 0 to 3")
            option = f"opt-{fill['optionIndex'] + 1}"
            if name == "OPTION_SELECTED":
                payload.update(tipId=f"tip-{tips:04d}", optionId=option)
            elif name == "REQUEST_NEXT_TIP":
                payload["selectedOptionId"] = option
            else:
                fail(at, "optionIndex only fills OPTION_SELECTED or REQUEST_NEXT_TIP")
        check(at, name, payload)

        duplicate = False
        if name == "TRANSCRIPT":
            segment = {k: v for k, v in payload.items() if k != "conversationId"}
            known = segments.get(segment.get("segmentId"))
            duplicate = known is not None
            if known is None:
                segments[segment["segmentId"]] = segment
                order.append(segment)
            elif known != segment:
                fail(at, "a re-sent segment must repeat the first one exactly")
        if name == "REQUEST_NEXT_TIP":
            for segment in payload.get("recentSegments", []):
                known = segments.get(segment.get("segmentId"))
                if known is None:
                    segments[segment["segmentId"]] = segment
                    order.append(segment)
                elif known != segment:
                    fail(at, "recentSegments must repeat known segments exactly")
            request_id = payload["requestId"]
            duplicate = request_id in request_ids
            if not duplicate:
                tips += 1
                request_ids[request_id] = payload
            elif request_ids[request_id] != payload:
                fail(at, "a retried request must repeat the first one exactly")

        if "expectAck" in event:
            ack = dict(event["expectAck"])
            if name == "TRANSCRIPT" and ack.get("duplicate") != duplicate:
                fail(at, f"expectAck.duplicate should be {duplicate}")
            if name == "REQUEST_NEXT_TIP":
                if ack.get("status") not in (None, "duplicate" if duplicate else "accepted", "coalesced"):
                    fail(at, "expectAck.status does not match the requestIds sent so far")
                ack.setdefault("requestId", payload["requestId"])
                ack.setdefault("tipId", "tip-0001")
            if name in ("START_CONVERSATION", "END_CONVERSATION"):
                ack.setdefault("conversationId", DUMMY_CONVERSATION)
            if name == "END_CONVERSATION":
                ack.setdefault("duplicate", False)
            check(f"{at} expectAck", f"{name}.ack", ack)

    if not events or events[-1].get("send") != "END_CONVERSATION":
        fail(where, "the last event must be END_CONVERSATION")
    if not 20 <= len(order) <= 60:
        fail(where, f"{len(order)} distinct segments; examples have 20 to 60")
    for segment in order:
        if "startMs" not in segment or "endMs" not in segment:
            fail(where, f"{segment['segmentId']}: examples give startMs and endMs")
            return

    expect = example["expect"]
    if set(expect) != {"tipKinds", "tipKindsMatch", "summary"}:
        fail(where, "expect has tipKinds, tipKindsMatch and summary")
        return
    if expect["tipKindsMatch"] not in ("ordered", "contains"):
        fail(where, "tipKindsMatch is ordered or contains")
    if not set(expect["tipKinds"]) <= TIP_KINDS:
        fail(where, f"unknown tip kinds {sorted(set(expect['tipKinds']) - TIP_KINDS)}")
    if example["mode"] == "event" and expect["tipKindsMatch"] == "ordered" and len(expect["tipKinds"]) != tips:
        fail(where, f"{tips} distinct requests but {len(expect['tipKinds'])} ordered tip kinds")

    summary = expect["summary"]
    allowed = {"segments", "tipsShown", "optionsPicked", "actionItems", "talkRatio", "source", "durationMs", "notes"}
    if set(summary) - allowed:
        fail(where, f"unknown summary expectations {sorted(set(summary) - allowed)}")
    if summary.get("segments") != len(order):
        fail(where, f"expect.summary.segments is {summary.get('segments')}, the session has {len(order)}")
    picks = sum(1 for e in events if e.get("send") == "OPTION_SELECTED")
    if "optionsPicked" in summary and summary["optionsPicked"].get("count", picks) != picks:
        fail(where, f"expect.summary.optionsPicked.count differs from the {picks} picks sent")
    if example["mode"] == "event" and isinstance(summary.get("tipsShown"), int) and summary["tipsShown"] != tips:
        fail(where, "expect.summary.tipsShown differs from the distinct requests")
    spoken = {"agent": 0, "customer": 0}
    for segment in order:
        spoken[segment["speaker"]] += segment["endMs"] - segment["startMs"]
    for speaker, matcher in summary.get("talkRatio", {}).items():
        ratio = spoken[speaker] / sum(spoken.values())
        if not in_range(ratio, matcher):
            fail(where, f"talkRatio.{speaker} is {ratio:.3f}, outside {matcher}")


# ---------------------------------------------------------------- hand-written samples

ID_128 = "a" * 128
SEGMENT = {"segmentId": "seg-0001", "speaker": "customer", "text": "What does it cost?", "startMs": 1000, "endMs": 2400}
TIP = {
    "conversationId": DUMMY_CONVERSATION, "tipId": "tip-0001", "kind": "objection",
    "headline": "Price pushback: quantify the cost of doing nothing",
    "suggestion": "Acknowledge the budget, then ask what the manual reporting costs in hours each month.",
    "options": [
        {"id": "opt-1", "label": "Quantify the pain", "script": "How many hours a week do your leads spend on the report?"},
        {"id": "opt-2", "label": "Offer a comparison", "script": "Can I put our numbers next to what you spend today?"},
    ],
    "confidence": 0.82, "source": "rules", "latencyMs": 14, "trigger": "auto", "lastSegmentId": "seg-0024",
}
SUMMARY = {
    "durationMs": 268395, "talkRatio": {"agent": 0.57, "customer": 0.43}, "segments": 41, "tipsShown": 4,
    "optionsPicked": [{"tipId": "tip-0002", "optionId": "opt-1"}], "notes": "Price objection; Supportly quoted lower.",
    "actionItems": ["Send a one-page cost comparison by Thursday"], "source": "rules",
}


def c(**fields):
    return dict(conversationId=DUMMY_CONVERSATION, **fields)


def without(d, key):
    return {k: v for k, v in d.items() if k != key}


VALID = [
    ("auth", {"apiKey": "ek_live_3f9a"}),
    ("auth", {"apiKey": "ek_live_3f9a", "pid": "aG7x", "offset": "42-0"}),
    ("CONNECT_ERROR", {"message": "invalid API key", "data": {"code": "AUTH_INVALID"}}),
    ("CONNECT_ERROR", {"message": "too many connections", "data": {"code": "RATE_LIMITED", "retryAfterMs": 5000}}),
    ("START_CONVERSATION", {"mode": "auto"}),
    ("START_CONVERSATION", {"mode": "event", "warmupSeconds": 0, "intervalSeconds": 5, "metadata": {"crm": {"dealId": 17}}}),
    ("START_CONVERSATION", {"mode": "auto", "warmupSeconds": 3600, "intervalSeconds": 600}),
    ("START_CONVERSATION", {"mode": "auto", "conversationId": DUMMY_CONVERSATION}),
    ("START_CONVERSATION", {"mode": "auto", "metadata": {"note": "x" * 4000}}),
    ("START_CONVERSATION.ack", {"ok": True, "conversationId": DUMMY_CONVERSATION, "resumed": False}),
    ("START_CONVERSATION.ack", {"ok": False, "error": {"code": "LIMIT_EXCEEDED", "message": "20 conversations already open for this API key"}}),
    ("TRANSCRIPT", c(**SEGMENT)),
    ("TRANSCRIPT", c(segmentId=ID_128, speaker="agent", text="x" * 2000)),
    ("TRANSCRIPT", c(segmentId="A-z_0.9:x", speaker="agent", text="Ja, genau. Größe: 12 €")),
    ("TRANSCRIPT.ack", {"ok": True, "duplicate": False}),
    ("TRANSCRIPT.ack", {"ok": True, "duplicate": True}),
    ("TRANSCRIPT.ack", {"ok": False, "error": {"code": "RATE_LIMITED", "message": "slow down", "retryAfterMs": 800}}),
    ("OPTION_SELECTED", c(tipId="tip-0001", optionId="opt-2")),
    ("OPTION_SELECTED.ack", {"ok": True, "duplicate": False}),
    ("REQUEST_NEXT_TIP", c(requestId="req-01")),
    ("REQUEST_NEXT_TIP", c(requestId="req-02", selectedOptionId="opt-1", agentUtterance="We price per seat.",
                          customerReaction="Sounded unconvinced.", recentSegments=[dict(SEGMENT, segmentId=f"s{i}") for i in range(20)])),
    ("REQUEST_NEXT_TIP", c(requestId="req-03", recentSegments=[])),
    ("REQUEST_NEXT_TIP.ack", {"ok": True, "requestId": "req-01", "tipId": "tip-0003", "status": "accepted"}),
    ("REQUEST_NEXT_TIP.ack", {"ok": True, "requestId": "req-01", "tipId": "tip-0003", "status": "duplicate"}),
    ("REQUEST_NEXT_TIP.ack", {"ok": True, "requestId": "req-04", "tipId": "tip-0003", "status": "coalesced", "code": "TIP_IN_PROGRESS"}),
    ("REQUEST_NEXT_TIP.ack", {"ok": False, "error": {"code": "CONVERSATION_ENDED", "message": "conversation has ended"}}),
    ("END_CONVERSATION", c()),
    ("END_CONVERSATION.ack", {"ok": True, "conversationId": DUMMY_CONVERSATION, "duplicate": False}),
    ("END_CONVERSATION.ack", {"ok": False, "error": {"code": "NOT_OWNER", "message": "conversation is owned by another connection"}}),
    ("PING", {}),
    ("PING.ack", {"ok": True, "timestamp": 1795000000000}),
    ("CONVERSATION_STARTED", {"conversationId": DUMMY_CONVERSATION, "mode": "auto", "warmupSeconds": 180, "intervalSeconds": 30, "resumed": False, "segments": 0}),
    ("CONVERSATION_STARTED", {"conversationId": DUMMY_CONVERSATION, "mode": "event", "warmupSeconds": 180, "intervalSeconds": 30,
                              "resumed": True, "segments": 14, "lastSegmentId": "seg-0014"}),
    ("AI_TIP", TIP),
    ("AI_TIP", dict(TIP, source="llm", trigger="request", requestId="req-01", kind="next_step", confidence=1, options=TIP["options"][:1])),
    ("AI_TIP_PARTIAL", {"conversationId": DUMMY_CONVERSATION, "tipId": "tip-0005", "text": "Acknowledge the budget, then"}),
    ("CONVERSATION_ENDED", {"conversationId": DUMMY_CONVERSATION, "reason": "requested", "summary": SUMMARY}),
    ("CONVERSATION_ENDED", {"conversationId": DUMMY_CONVERSATION, "reason": "grace_expired",
                            "summary": dict(SUMMARY, talkRatio={"agent": 0, "customer": 0}, segments=0, tipsShown=0, optionsPicked=[], actionItems=[], notes="")}),
    ("ERROR", {"code": "UNKNOWN_CONVERSATION", "message": "no such conversation", "conversationId": DUMMY_CONVERSATION, "event": "TRANSCRIPT"}),
    ("ERROR", {"code": "INTERNAL", "message": "internal error"}),
    ("PONG", {"timestamp": 1795000000000}),
]

INVALID = [
    ("auth", {}),
    ("auth", {"apiKey": ""}),
    ("auth", {"apiKey": "k", "token": "t"}),
    ("CONNECT_ERROR", {"message": "no", "data": {"code": "FORBIDDEN"}}),
    ("START_CONVERSATION", {}),
    ("START_CONVERSATION", {"mode": "manual"}),
    ("START_CONVERSATION", {"mode": "auto", "warmupSeconds": -1}),
    ("START_CONVERSATION", {"mode": "auto", "warmupSeconds": 3601}),
    ("START_CONVERSATION", {"mode": "auto", "intervalSeconds": 4}),
    ("START_CONVERSATION", {"mode": "auto", "intervalSeconds": 601}),
    ("START_CONVERSATION", {"mode": "auto", "intervalSeconds": 30.5}),
    ("START_CONVERSATION", {"mode": "auto", "metadata": "call 42"}),
    ("START_CONVERSATION", {"mode": "auto", "metadata": {"note": "x" * 4090}}),  # over 4 KiB
    ("START_CONVERSATION", {"mode": "auto", "language": "en"}),
    ("START_CONVERSATION.ack", {"ok": True, "conversationId": DUMMY_CONVERSATION}),
    ("START_CONVERSATION.ack", {"ok": False, "error": {"code": "TIP_IN_PROGRESS", "message": "no"}}),
    ("TRANSCRIPT", without(c(**SEGMENT), "conversationId")),
    ("TRANSCRIPT", without(c(**SEGMENT), "segmentId")),
    ("TRANSCRIPT", c(**dict(SEGMENT, speaker="rep"))),
    ("TRANSCRIPT", c(**dict(SEGMENT, text=""))),
    ("TRANSCRIPT", c(**dict(SEGMENT, text="x" * 2001))),
    ("TRANSCRIPT", c(**dict(SEGMENT, segmentId="a" * 129))),
    ("TRANSCRIPT", c(**dict(SEGMENT, segmentId="seg 1"))),
    ("TRANSCRIPT", c(**dict(SEGMENT, segmentId="seg/1"))),
    ("TRANSCRIPT", c(**dict(SEGMENT, startMs=-5))),
    ("TRANSCRIPT", c(**dict(SEGMENT, startMs=5000, endMs=4000))),  # endMs before startMs
    ("TRANSCRIPT", c(**dict(SEGMENT, isFinal=True))),
    ("TRANSCRIPT", dict(c(**SEGMENT), conversationId=42)),
    ("TRANSCRIPT.ack", {"ok": True}),
    ("TRANSCRIPT.ack", {"ok": False, "error": {"code": "INVALID_PAYLOAD"}}),
    ("TRANSCRIPT.ack", {"ok": "yes", "duplicate": False}),
    ("OPTION_SELECTED", c(tipId="tip-0001")),
    ("REQUEST_NEXT_TIP", c()),
    ("REQUEST_NEXT_TIP", c(requestId="req-05", recentSegments=[dict(SEGMENT, segmentId=f"s{i}") for i in range(21)])),
    ("REQUEST_NEXT_TIP", c(requestId="req-06", recentSegments=[c(**SEGMENT)])),
    ("REQUEST_NEXT_TIP", c(requestId="req-07", agentUtterance="x" * 2001)),
    ("REQUEST_NEXT_TIP.ack", {"ok": True, "requestId": "req-04", "tipId": "tip-0003", "status": "coalesced"}),
    ("REQUEST_NEXT_TIP.ack", {"ok": True, "requestId": "req-04", "tipId": "tip-0003", "status": "accepted", "code": "TIP_IN_PROGRESS"}),
    ("END_CONVERSATION", {}),
    ("END_CONVERSATION.ack", {"ok": True}),
    ("PING", {"timestamp": 1}),
    ("CONVERSATION_STARTED", {"conversationId": DUMMY_CONVERSATION, "mode": "auto", "warmupSeconds": 180, "intervalSeconds": 30}),
    ("AI_TIP", without(TIP, "latencyMs")),
    ("AI_TIP", dict(TIP, kind="smalltalk")),
    ("AI_TIP", dict(TIP, kind="Next-Step")),
    ("AI_TIP", dict(TIP, options=[])),
    ("AI_TIP", dict(TIP, options=TIP["options"] * 3)),
    ("AI_TIP", dict(TIP, options=[{"id": "opt-1", "label": "x"}])),
    ("AI_TIP", dict(TIP, confidence=1.2)),
    ("AI_TIP", dict(TIP, source="gpt")),
    ("AI_TIP", dict(TIP, headline="x" * 121)),
    ("AI_TIP_PARTIAL", {"conversationId": DUMMY_CONVERSATION, "tipId": "tip-0005"}),
    ("CONVERSATION_ENDED", {"conversationId": DUMMY_CONVERSATION, "reason": "requested", "summary": without(SUMMARY, "notes")}),
    ("CONVERSATION_ENDED", {"conversationId": DUMMY_CONVERSATION, "reason": "requested", "summary": dict(SUMMARY, talkRatio={"agent": 1.5, "customer": 0})}),
    ("CONVERSATION_ENDED", {"conversationId": DUMMY_CONVERSATION, "reason": "requested", "summary": dict(SUMMARY, optionsPicked=[{"tipId": "t"}])}),
    ("CONVERSATION_ENDED", {"conversationId": DUMMY_CONVERSATION, "reason": "crashed", "summary": SUMMARY}),
    ("ERROR", {"code": "TIP_IN_PROGRESS", "message": "coalesced"}),
    ("ERROR", {"code": "invalid_payload", "message": "bad"}),
    ("ERROR", {"message": "bad"}),
    ("PONG", {}),
]


def check_readme_exchange():
    """Validate every Socket.IO packet written in README.md's wire examples."""
    import re
    readme = (HERE / "README.md").read_text()
    pending = {}  # ack id -> client event name
    count = 0
    for line in readme.splitlines():
        found = re.match(r"^(?:`)?([<>]) 4([0-4])(\d*)([\[{].*?)(?:`.*)?$", line)
        if not found:
            continue
        direction, kind, ack_id, body = found.groups()
        where = f"README.md: {line[:60]}"
        try:
            data = json.loads(body)
        except json.JSONDecodeError as error:
            fail(where, f"not JSON: {error}")
            continue
        count += 1
        if kind == "0" and direction == ">":
            check(where, "auth", data)
        elif kind == "4":
            check(where, "CONNECT_ERROR", data)
        elif kind == "2":
            name, payload = data[0], data[1]
            expected = CLIENT_EVENTS if direction == ">" else SERVER_EVENTS
            if name not in expected:
                fail(where, f"{name} is not a {'client' if direction == '>' else 'server'} event")
                continue
            check(where, name, payload)
            if ack_id:
                pending[ack_id] = name
        elif kind == "3":
            name = pending.pop(ack_id, None)
            if name is None:
                fail(where, f"ack {ack_id} answers no event")
                continue
            check(where, f"{name}.ack", data[0])
    if count < 10:
        fail("README.md", f"only {count} wire packets found")
    return count


def main():
    examples = sorted(EXAMPLES.glob("*.json"))
    if len(examples) < 4:
        fail("examples", f"{len(examples)} example sessions, at least 4 expected")
    payloads = 0
    for path in examples:
        check_example(path)
        payloads += sum(1 for e in json.loads(path.read_text()).get("events", []) if "send" in e)
    for i, (schema, instance) in enumerate(VALID):
        check(f"valid sample {i}", schema, instance, valid=True)
    for i, (schema, instance) in enumerate(INVALID):
        check(f"invalid sample {i}", schema, instance, valid=False)
    wire = check_readme_exchange()
    covered = {schema for schema, _ in VALID + INVALID}
    for name in sorted(VALIDATORS.keys() - covered - {"common"}):
        fail("samples", f"no sample for {name}")
    for failure in failures:
        print("FAIL", failure)
    print(f"{len(VALIDATORS)} schemas, {len(examples)} examples ({payloads} payloads), {wire} README packets, "
          f"{len(VALID)} valid and {len(INVALID)} invalid samples: "
          f"{'all good' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
