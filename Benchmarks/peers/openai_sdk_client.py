#!/usr/bin/env python3
"""The peer of `earpiece ask --repeat N` in Benchmarks/openai-bench.sh: the official `openai` Python SDK.

Sends the same chat completion request N times, one after the other, through one `OpenAI` client (so its
HTTP connection pool keeps the connection alive), with `max_retries=0`, and prints one line of the same
key=value figures as `earpiece ask --repeat`:

    requests=N seconds=S requests_per_sec=R cpu_seconds=C cpu_us_per_request=U
    ttfd_p50_us=... ttfd_p99_us=... total_p50_us=... total_p99_us=... errors=E

The request is the one `earpiece ask` sends: {"model", "messages": [{"role": "user", "content": PROMPT}]},
and when streamed "stream": true with "stream_options": {"include_usage": true}. `ttfd` is the time from
calling `create` to the first chunk that carries answer text (for a non-streamed request, the whole answer,
so it equals `total`); a request is timed until its stream is read to the end. CPU is
getrusage(RUSAGE_SELF) (every thread of the process) over the measured requests. Exit status 0 when no
request failed.

`--client sync` (the default) uses `OpenAI`, the synchronous client most scripts use; `--client async` uses
`AsyncOpenAI` on asyncio, as a Python server would. They differ on the wire for streams: the synchronous
client closes the connection after each streamed answer (its `Stream` stops reading at `data: [DONE]` and
closes the response with the chunked body's last bytes unread; openai 3.54.0), so every streamed request
opens a new connection; the async one reads the rest of the body after `[DONE]` and keeps the connection.

usage: openai_sdk_client.py --base-url URL [--api-key KEY] [--model gpt-4o-mini] [--repeat 1000]
                            [--warmup 0] [--stream | --no-stream] [--client sync|async] PROMPT
(OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_MODEL are read as `earpiece ask` reads them.)
"""
from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import sys
import time

from openai import AsyncOpenAI, OpenAI


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(sorted_values: list[int], fraction: float) -> int:
    """Nearest rank, as `earpiece ask --repeat` computes it: the smallest value with at least `fraction` of the
    values at or below it."""
    if not sorted_values:
        return 0
    rank = math.ceil(fraction * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def send(client: OpenAI, model: str, messages: list, stream: bool) -> tuple[int, int]:
    """One request read to its end: (nanoseconds to the first answer text, nanoseconds in all)."""
    start = time.perf_counter_ns()
    if not stream:
        completion = client.chat.completions.create(model=model, messages=messages)
        _ = completion.choices[0].message.content
        total = time.perf_counter_ns() - start
        return total, total
    first = None
    for chunk in client.chat.completions.create(model=model, messages=messages, stream=True,
                                                stream_options={"include_usage": True}):
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter_ns() - start
    total = time.perf_counter_ns() - start
    return (first if first is not None else total), total


async def send_async(client: AsyncOpenAI, model: str, messages: list, stream: bool) -> tuple[int, int]:
    """`send` with the asyncio client."""
    start = time.perf_counter_ns()
    if not stream:
        completion = await client.chat.completions.create(model=model, messages=messages)
        _ = completion.choices[0].message.content
        total = time.perf_counter_ns() - start
        return total, total
    first = None
    async for chunk in await client.chat.completions.create(model=model, messages=messages, stream=True,
                                                            stream_options={"include_usage": True}):
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter_ns() - start
    total = time.perf_counter_ns() - start
    return (first if first is not None else total), total


class Run:
    """The measured part of a run: timings of the successful requests, failures, wall-clock and CPU time."""

    def __init__(self, requests: int):
        self.requests = requests
        self.first_deltas: list[int] = []
        self.totals: list[int] = []
        self.errors = 0
        self.first_error: Exception | None = None
        self.cpu_before = 0.0
        self.start = 0
        self.elapsed = 0.0
        self.cpu = 0.0

    def begin(self) -> None:
        self.cpu_before = cpu_seconds()
        self.start = time.perf_counter_ns()

    def record(self, timing: tuple[int, int]) -> None:
        self.first_deltas.append(timing[0])
        self.totals.append(timing[1])

    def fail(self, error: Exception) -> None:
        self.errors += 1
        self.first_error = self.first_error or error

    def end(self) -> None:
        self.elapsed = (time.perf_counter_ns() - self.start) / 1e9
        self.cpu = cpu_seconds() - self.cpu_before

    def line(self) -> str:
        first_deltas = sorted(self.first_deltas)
        totals = sorted(self.totals)
        rate = self.requests / self.elapsed if self.elapsed else 0
        return (f"requests={self.requests} seconds={self.elapsed:.4f} requests_per_sec={rate:.1f} "
                f"cpu_seconds={self.cpu:.4f} cpu_us_per_request={self.cpu * 1e6 / self.requests:.1f} "
                f"ttfd_p50_us={percentile(first_deltas, 0.5) / 1e3:.1f} "
                f"ttfd_p99_us={percentile(first_deltas, 0.99) / 1e3:.1f} "
                f"total_p50_us={percentile(totals, 0.5) / 1e3:.1f} total_p99_us={percentile(totals, 0.99) / 1e3:.1f} "
                f"errors={self.errors}")


def run_sync(arguments, messages: list, run: Run) -> bool:
    """The requests through one `OpenAI` client; False when a warm-up request failed."""
    client = OpenAI(api_key=arguments.api_key, base_url=arguments.base_url, max_retries=0, timeout=60.0)
    try:
        for _ in range(arguments.warmup):
            try:
                send(client, arguments.model, messages, arguments.stream)
            except Exception as error:  # noqa: BLE001 - any failure means there is nothing to measure
                run.fail(error)
                return False
        run.begin()
        for _ in range(arguments.repeat):
            try:
                run.record(send(client, arguments.model, messages, arguments.stream))
            except Exception as error:  # noqa: BLE001 - counted, as `earpiece ask --repeat` counts its failures
                run.fail(error)
        run.end()
        return True
    finally:
        client.close()


async def run_async(arguments, messages: list, run: Run) -> bool:
    """The requests through one `AsyncOpenAI` client; False when a warm-up request failed."""
    client = AsyncOpenAI(api_key=arguments.api_key, base_url=arguments.base_url, max_retries=0, timeout=60.0)
    try:
        for _ in range(arguments.warmup):
            try:
                await send_async(client, arguments.model, messages, arguments.stream)
            except Exception as error:  # noqa: BLE001
                run.fail(error)
                return False
        run.begin()
        for _ in range(arguments.repeat):
            try:
                run.record(await send_async(client, arguments.model, messages, arguments.stream))
            except Exception as error:  # noqa: BLE001
                run.fail(error)
        run.end()
        return True
    finally:
        await client.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="The openai SDK doing what `earpiece ask --repeat` does.")
    parser.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL") or None)
    parser.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY") or None)
    parser.add_argument("--model", default=os.environ.get("OPENAI_MODEL") or "gpt-4o-mini")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--stream", dest="stream", action="store_true", default=True)
    parser.add_argument("--no-stream", dest="stream", action="store_false")
    parser.add_argument("--client", choices=("sync", "async"), default="sync")
    parser.add_argument("prompt", nargs="+")
    arguments = parser.parse_args(argv)
    if arguments.repeat < 1 or arguments.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")

    messages = [{"role": "user", "content": " ".join(arguments.prompt)}]
    run = Run(arguments.repeat)
    if arguments.client == "async":
        measured = asyncio.run(run_async(arguments, messages, run))
    else:
        measured = run_sync(arguments, messages, run)
    total = arguments.repeat + arguments.warmup
    if run.first_error is not None:
        print(f"openai_sdk_client: {run.errors} of {total} requests failed; the first: {run.first_error!r}",
              file=sys.stderr)
    if not measured:
        return 1
    print(run.line(), flush=True)
    return 0 if run.errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
