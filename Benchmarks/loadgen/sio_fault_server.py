#!/usr/bin/env python3
"""A deliberately breakable Socket.IO benchmark app for sio_test.sh (not a benchmark peer).

Speaks just enough Engine.IO v4 / Socket.IO v5 over WebSocket (on the `websockets` library) to
serve the benchmark app at /socket.io/: open packet, `40` -> `40{"sid":...}`, `echo` acked with its
arguments, `bcast` sent to every connected client. Each knob breaks one thing, so the tests can
check that the load generator notices:

  --wrong-ack-every N     ack every Nth echo with the wrong id (id + 1)
  --drop-ack-every N      never ack every Nth echo
  --corrupt-every N       ack every Nth echo with one payload byte changed
  --drop-bcast-every N    skip one client when delivering every Nth bcast
  --reorder-bcast-every N hold back one client's copy of every Nth bcast and send it after the next
  --bad-open              send an open packet without a sid
  --refuse-connect        answer `40` with a CONNECT_ERROR
  --no-connect-reply      never answer `40`
  --ping-interval S       Engine.IO ping every S seconds; close the session if no `3` within S
  --exit-after N          exit abruptly after N echo/bcast events
"""

import argparse
import asyncio
import itertools
import json
import os
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    for name in ("wrong-ack-every", "drop-ack-every", "corrupt-every", "drop-bcast-every", "reorder-bcast-every",
                 "exit-after"):
        parser.add_argument("--" + name, type=int, default=0)
    parser.add_argument("--bad-open", action="store_true")
    parser.add_argument("--refuse-connect", action="store_true")
    parser.add_argument("--no-connect-reply", action="store_true")
    parser.add_argument("--ping-interval", type=float, default=0)
    return parser.parse_args()


def split_packet(text):
    """`42<id>[...]` -> (id or None, JSON text). Only the root namespace is used by the app."""
    position = 2
    while position < len(text) and text[position].isdigit():
        position += 1
    ack_id = int(text[2:position]) if position > 2 else None
    return ack_id, text[position:]


def main():
    arguments = parse_arguments()
    clients = set()
    counters = {"echo": 0, "bcast": 0, "events": 0}
    session_ids = itertools.count()
    held_back = {}

    async def heartbeat(connection, pongs):
        while True:
            await asyncio.sleep(arguments.ping_interval)
            pongs.clear()
            await connection.send("2")
            try:
                await asyncio.wait_for(pongs.wait(), arguments.ping_interval)
            except asyncio.TimeoutError:
                await connection.close()
                return

    async def handler(connection):
        if connection.request.path.split("?")[0] != "/socket.io/":
            await connection.close()
            return
        sid = "fault%015d" % next(session_ids)
        if arguments.bad_open:
            await connection.send('0{"upgrades":[],"pingInterval":25000,"pingTimeout":20000}')
        else:
            await connection.send('0{"sid":"%s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,'
                                  '"maxPayload":1000000}' % sid)
        pongs = asyncio.Event()
        beat = asyncio.ensure_future(heartbeat(connection, pongs)) if arguments.ping_interval > 0 else None
        try:
            async for message in connection:
                if message == "3":
                    pongs.set()
                    continue
                if message == "40":
                    if arguments.no_connect_reply:
                        continue
                    if arguments.refuse_connect:
                        await connection.send('44{"message":"refused by --refuse-connect"}')
                        continue
                    clients.add(connection)
                    await connection.send('40{"sid":"s%s"}' % sid)
                    continue
                if not message.startswith("42"):
                    continue
                counters["events"] += 1
                if arguments.exit_after and counters["events"] >= arguments.exit_after:
                    os._exit(3)
                ack_id, data = split_packet(message)
                event = json.loads(data)
                if event[0] == "echo" and ack_id is not None:
                    counters["echo"] += 1
                    count = counters["echo"]
                    if arguments.drop_ack_every and count % arguments.drop_ack_every == 0:
                        continue
                    if arguments.wrong_ack_every and count % arguments.wrong_ack_every == 0:
                        ack_id += 1
                    reply = json.dumps(event[1:], separators=(",", ":"))
                    if arguments.corrupt_every and count % arguments.corrupt_every == 0:
                        reply = reply[:-3] + ("A" if reply[-3] != "A" else "B") + reply[-2:]
                    await connection.send("43%d%s" % (ack_id, reply))
                elif event[0] == "bcast":
                    counters["bcast"] += 1
                    count = counters["bcast"]
                    text = "42" + json.dumps(["bcast"] + event[1:], separators=(",", ":"))
                    targets = sorted(clients, key=id)
                    if arguments.drop_bcast_every and count % arguments.drop_bcast_every == 0 and targets:
                        targets = targets[1:]
                    for index, target in enumerate(targets):
                        if index == 0 and target in held_back:
                            # The held-back copy goes out after a newer one: out of order.
                            await send_quietly(target, text)
                            await send_quietly(target, held_back.pop(target))
                            continue
                        if (index == 0 and arguments.reorder_bcast_every
                                and count % arguments.reorder_bcast_every == 0):
                            held_back[target] = text
                            continue
                        await send_quietly(target, text)
        except ConnectionClosed:
            pass
        finally:
            clients.discard(connection)
            held_back.pop(connection, None)
            if beat is not None:
                beat.cancel()

    async def send_quietly(target, text):
        try:
            await target.send(text)
        except ConnectionClosed:
            pass

    async def serve_forever():
        async with serve(handler, arguments.host, arguments.port, compression=None, ping_interval=None,
                         backlog=4096, max_size=1 << 20) as server:
            print(f"sio_fault_server: listening on {arguments.host}:{arguments.port}", file=sys.stderr, flush=True)
            await server.serve_forever()

    try:
        asyncio.run(serve_forever())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
