"""One life of a daemon process for the kill -9 tests (sale, stock, members).

`live_once` starts `gatewayd run` on a config, waits until it listens, runs `setup` and
then `script` against it while a timer kills it with SIGKILL at a random point, then reaps
it and checks it died without a traceback. Link errors from the kill end the life quietly;
anything else fails the test.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

from clients.python.client import connect

Script = Callable[[object], Awaitable[None]]


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in leaves(sub)]
    return [exc]


async def wait_ready(proc: subprocess.Popen, port: int) -> None:
    with trio.fail_after(30):
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                await stream.aclose()
                return
            except OSError:
                await trio.sleep(0.01)


async def live_once(cfg: Path, port: int, token: str, setup: Script, script: Script,
                    kill_delay: Callable[[], float],
                    lost: tuple[type[BaseException], ...]) -> None:
    """`kill_delay()` is drawn after `setup`, when the timer starts."""
    proc = subprocess.Popen([sys.executable, "-m", "gatewayd", "--config", str(cfg), "run"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    async def kill_later(scope: trio.CancelScope) -> None:
        await trio.sleep(kill_delay())
        proc.send_signal(signal.SIGKILL)
        await trio.sleep(0.5)
        scope.cancel()

    try:
        await wait_ready(proc, port)
        async with connect(f"ws://127.0.0.1:{port}/ws", token, reconnect=False) as gw:
            await setup(gw)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(kill_later, nursery.cancel_scope)
                await script(gw)
    except lost:
        pass
    except BaseExceptionGroup as group:
        if not all(isinstance(e, lost) for e in leaves(group)):
            raise
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        await trio.to_thread.run_sync(proc.wait)
        err = proc.stderr.read().decode() if proc.stderr else ""
        proc.stderr.close()
    assert "Traceback" not in err, err[-3000:]
