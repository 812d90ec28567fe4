#!/usr/bin/env python3
"""WebSocket echo server on the Python `websockets` library (asyncio), the side-by-side peer.

Serves the same surface as our bench-server: a WebSocket echo at /echo (every text or binary
message sent back as-is) and GET /health. One process, one asyncio loop, like `--loops 1`.

Test knobs (used by Benchmarks/loadgen/test.sh to prove the load generator catches faults):
  --corrupt-every N   change one byte of every Nth echoed message
  --exit-after N      kill the process (no close handshake) after N echoed messages
"""

import argparse
import asyncio
import logging
import os
import ssl
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response
from websockets.datastructures import Headers


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-cert", help="PEM certificate chain; enables TLS with --tls-key")
    parser.add_argument("--tls-key", help="PEM private key")
    parser.add_argument("--ping-interval", type=float, default=20.0, help="seconds; 0 disables (default 20)")
    parser.add_argument("--ping-timeout", type=float, default=20.0, help="seconds (default 20)")
    parser.add_argument("--backlog", type=int, default=4096, help="listen backlog (asyncio's default is 100)")
    parser.add_argument("--corrupt-every", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--exit-after", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


def main():
    arguments = parse_arguments()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    echoed = 0

    async def handler(connection):
        nonlocal echoed
        try:
            async for message in connection:
                echoed += 1
                if arguments.exit_after and echoed >= arguments.exit_after:
                    os._exit(3)
                if arguments.corrupt_every and echoed % arguments.corrupt_every == 0:
                    if isinstance(message, str):
                        message = message[:-1] + ("A" if message[-1:] != "A" else "B")
                    else:
                        message = message[:-1] + (b"A" if message[-1:] != b"A" else b"B")
                await connection.send(message)
        except ConnectionClosed:
            pass

    def process_request(connection, request):
        if request.path == "/health":
            return Response(200, "OK", Headers([("Content-Length", "3"), ("Content-Type", "text/plain")]), b"ok\n")
        if request.path != "/echo":
            return connection.respond(404, "not found\n")
        return None

    tls_context = None
    if arguments.tls_cert:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(arguments.tls_cert, arguments.tls_key)

    async def serve_forever():
        async with serve(
            handler,
            arguments.host,
            arguments.port,
            ssl=tls_context,
            process_request=process_request,
            compression=None,
            ping_interval=arguments.ping_interval or None,
            ping_timeout=arguments.ping_timeout or None,
            backlog=arguments.backlog,
            max_size=1 << 20,
        ) as server:
            print(f"websockets_echo: listening on {arguments.host}:{arguments.port}", file=sys.stderr, flush=True)
            await server.serve_forever()

    try:
        asyncio.run(serve_forever())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
