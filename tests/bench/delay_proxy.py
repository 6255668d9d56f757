#!/usr/bin/env python3
"""A TCP relay that delays every byte by a fixed time each way: a loopback
Dovecot made to look like a server across the internet, so that round trips
count as they do for a user (make bench and docs/benchmarks.md use it).

    delay_proxy.py DELAY_MS LISTEN_PORT:TARGET_PORT [...]

Listens on 127.0.0.1; TLS passes through untouched (the client still checks
the server's certificate). Prints "ready" once every port listens, runs
until killed. The delay is added per direction, so the round trip grows by
twice DELAY_MS. Data keeps its order; bandwidth is not limited."""

import asyncio
import sys


async def pump(reader, writer, delay):
    # Each chunk is due DELAY after it was read; a queue keeps the order
    # while later chunks are already being read.
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    sender = asyncio.ensure_future(send())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, data or None))
            if not data:
                break
    except OSError:
        queue.put_nowait((loop.time(), None))
    try:
        await sender
    except OSError:
        pass


async def relay(delay, target, client_r, client_w):
    try:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        client_w.close()
        return
    await asyncio.gather(pump(client_r, server_w, delay), pump(server_r, client_w, delay))
    for w in (client_w, server_w):
        try:
            w.close()
        except OSError:
            pass


async def main():
    if len(sys.argv) < 3:
        sys.exit("usage: delay_proxy.py DELAY_MS LISTEN_PORT:TARGET_PORT [...]")
    delay = float(sys.argv[1]) / 1000.0
    servers = []
    for pair in sys.argv[2:]:
        listen, target = (int(x) for x in pair.split(":"))
        servers.append(await asyncio.start_server(
            lambda r, w, t=target: relay(delay, t, r, w), "127.0.0.1", listen))
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
