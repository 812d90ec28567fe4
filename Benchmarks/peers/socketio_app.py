#!/usr/bin/env python3
"""The Socket.IO benchmark app on python-socketio (AsyncServer, ASGI) served by uvicorn: the peer.

Same app as our bench-server at /socket.io/: every client joins room `r` when it connects; event
`echo` acks back its arguments; event `bcast` emits its arguments as event `bcast` to room `r`
(the sender included). One process, one asyncio loop, like `bench-server --loops 1`. Uvicorn runs
with its defaults (`--loop auto`, `--http auto`, `--ws auto`: uvloop/httptools only if installed)
and without its access log, which would otherwise cost more than the app itself.

Test knobs (Benchmarks/loadgen/sio_test.sh uses them to prove the load generator catches faults):
  --corrupt-every N   every Nth echo is acked with its first argument changed
  --drop-every N      every Nth bcast is not emitted
"""

import argparse
import logging
import sys

import socketio
import uvicorn


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ping-interval", type=float, default=25.0, help="Engine.IO ping interval, s (default 25)")
    parser.add_argument("--ping-timeout", type=float, default=20.0, help="Engine.IO ping timeout, s (default 20)")
    parser.add_argument("--backlog", type=int, default=4096, help="listen backlog (uvicorn's default is 2048)")
    parser.add_argument(
        "--sync-handlers",
        action="store_true",
        help="async_handlers=False: run each event to completion before reading the next (default: a task per event)",
    )
    parser.add_argument("--corrupt-every", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--drop-every", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


def build_app(arguments):
    server = socketio.AsyncServer(
        async_mode="asgi",
        ping_interval=arguments.ping_interval,
        ping_timeout=arguments.ping_timeout,
        async_handlers=not arguments.sync_handlers,
        logger=False,
        engineio_logger=False,
    )
    counters = {"echo": 0, "bcast": 0}

    @server.event
    async def connect(sid, environ, auth=None):
        await server.enter_room(sid, "r")

    @server.event
    async def echo(sid, *arguments_):
        # A tuple return value becomes the ack's argument list, so ["echo", x] is acked as [x].
        if arguments.corrupt_every:
            counters["echo"] += 1
            if counters["echo"] % arguments.corrupt_every == 0 and arguments_ and isinstance(arguments_[0], str):
                first = arguments_[0]
                return (first[:-1] + ("A" if first[-1:] != "A" else "B"),) + arguments_[1:]
        return arguments_

    @server.event
    async def bcast(sid, *arguments_):
        if arguments.drop_every:
            counters["bcast"] += 1
            if counters["bcast"] % arguments.drop_every == 0:
                return
        # `data` as a tuple is sent as several arguments: ["bcast", a, b, ...].
        await server.emit("bcast", arguments_, room="r")

    return socketio.ASGIApp(server, socketio_path="socket.io")


def main():
    arguments = parse_arguments()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    print(f"socketio_app: listening on {arguments.host}:{arguments.port}", file=sys.stderr, flush=True)
    uvicorn.run(
        build_app(arguments),
        host=arguments.host,
        port=arguments.port,
        backlog=arguments.backlog,
        log_level="error",
        access_log=False,
        lifespan="off",
        # Engine.IO has its own heartbeat; uvicorn's WebSocket pings would only add traffic.
        ws_ping_interval=None,
        ws_ping_timeout=None,
        ws_max_size=1 << 20,
    )


if __name__ == "__main__":
    main()
