"""growth.rtt.reporting's report client, in a process of its own (bench/growth.py starts it),
as the back office's browser is on a till: the answers it unpacks are not the daemon's work.

    python -m bench.report_client URL TOKEN

Runs bench/growth.py's REPORTS over all history back to back on one connection. Prints
`ready` once connected, then on a line on stdin stops and prints one JSON object:

    {"reports": int, "seconds": float, "failed": [str, ...]}
"""

from __future__ import annotations

import json
import sys
import time

import trio

from bench.growth import REPORTS
from clients.python.client import GatewayError, connect


async def main(url: str, token: str) -> None:
    done, failed = 0, list[str]()
    async with connect(url, token) as gw:
        print("ready", flush=True)
        t0 = time.perf_counter()
        async with trio.open_nursery() as nursery:

            async def stop() -> None:
                await trio.to_thread.run_sync(sys.stdin.readline)
                nursery.cancel_scope.cancel()

            nursery.start_soon(stop)
            while True:
                for method, params in REPORTS:
                    try:
                        await gw.call(method, {**params, "from": "2000-01-01"})
                        done += 1
                    except GatewayError as exc:
                        failed.append(f"{method} {params}: {exc.code}: {exc.message}")
        seconds = time.perf_counter() - t0
    print(json.dumps({"reports": done, "seconds": seconds, "failed": failed[:10]}), flush=True)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2])
