"""`gatewayd hq enroll URL CODE` on the till: the code for this till's own credential.

The exchange rides the replication subprotocol (`enroll` -> `enrolled`). The credential is
kept in the till's store with the URL and CA file; then one hello proves it, which is when
head office marks the code used. Anything failing before that leaves the code valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import trio
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.trio.client import connect
from websockets.typing import Subprotocol

from gatewayd.config import Config
from gatewayd.replication import link
from gatewayd.replication.replicator import first_failure
from gatewayd.store.db import Store
from protocol import repl
from protocol.repl import REPL_SUBPROTOCOL, ReplConnection, ReplProtocolError, Side

TIMEOUT_S = 15


class EnrollError(Exception):
    pass


@dataclass
class Enrolled:
    acked_seq: int
    head_seq: int


async def exchange(url: str, ca: str | None, frame: repl.Hello | repl.Enroll) -> repl.Frame:
    try:
        return await exchange_once(url, ca, frame)
    except BaseExceptionGroup as group:  # websockets' connect may wrap its failure
        raise explain(url, first_failure(group)) from None
    except Exception as exc:
        raise explain(url, exc) from None


def explain(url: str, exc: BaseException) -> BaseException:
    if isinstance(exc, EnrollError):
        return exc
    if isinstance(exc, trio.TooSlowError):
        return EnrollError(f"{url} did not answer within {TIMEOUT_S} s")
    if isinstance(exc, ReplProtocolError):
        return EnrollError(f"head office answered with a bad frame: {exc.message}")
    if isinstance(exc, (OSError, InvalidHandshake, InvalidURI, ConnectionClosed, ValueError,
                        trio.BrokenResourceError)):
        cause = exc.__cause__ or exc.__context__ or exc
        return EnrollError(f"cannot reach head office at {url}: {type(cause).__name__}: {cause}")
    return exc


async def exchange_once(url: str, ca: str | None,
                         frame: repl.Hello | repl.Enroll) -> repl.Frame:
    conn = ReplConnection(Side.TILL)
    with trio.fail_after(TIMEOUT_S):
        async with connect(link.repl_url(url), subprotocols=[Subprotocol(REPL_SUBPROTOCOL)],
                           ssl=link.ssl_context(url, ca), compression=None, proxy=None) as ws:
            await ws.send(conn.send(frame))
            answer = conn.receive(await ws.recv())
    if isinstance(answer, repl.Error):
        raise EnrollError(f"head office refused ({answer.code}): {answer.message}")
    return answer


async def enroll(cfg: Config, url: str, code: str, ca_file: str | None) -> Enrolled:
    store = Store(cfg.store_path)
    try:
        settings = link.read(store)
        answer = await exchange(url, ca_file, repl.Enroll(
            code=code, store=cfg.till.store, till=cfg.till.till, epoch=settings.epoch))
        assert isinstance(answer, repl.Enrolled)
        store.write_sync(lambda tx: link.save_enrollment(
            tx, url, answer.credential, ca_file, answer.store, answer.till))
        welcome = await exchange(url, ca_file, link.hello(
            settings, cfg.till.store, cfg.till.till, answer.credential, store.journal_seq(),
            store.scalar("SELECT version FROM master_state WHERE id=1")))
        assert isinstance(welcome, repl.Welcome)
        return Enrolled(welcome.acked_seq, store.journal_seq())
    finally:
        store.close()
