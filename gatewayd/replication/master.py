"""Master data from head office on the till (DESIGN §8): each `master` version applied in one
store transaction, a big first download staged beside the catalog, scheduled changes held
until their time, and what head office owns read-only here.

    receive(frame)   a part of a version: its changes go to `master_incoming` (a short
                     write each); the last part (`more` false) applies the version:
                       - changes whose `effective_at` is still ahead go to
                         `master_scheduled` (held, whatever the link does later);
                       - the rest are applied in (pos) order: items through the catalog's own
                         `write_rows`, other kinds through APPLIERS;
                       - `master_state.version` moves and `master.applied` is journaled,
                     all in one transaction. A version with more items than one import chunk
                     (a first download) is staged by the catalog's import machinery instead
                     (gatewayd/sales/catalog_stage.py) and switched in by one short
                     transaction that does all the rest too: the till sells on what it had
                     meanwhile, and a reader sees the whole old catalog or the whole new one.
                     A download cut before its last part applies nothing; the hello after
                     says what is staged (`staged {version, pos}`) and head office goes on
                     from there.
                     The till sells meanwhile: a version in parts (a download) is decoded,
                     checked, written and staged by a process of its own
                     (gatewayd/replication/download.py), off the daemon's GIL; each of its
                     write transactions waits until the till is between sales and the
                     daemon lends it the write lock (`Store.lend`), so a sale waits behind
                     at most one of them; the daemon does the switch. The switch journals
                     `master.applied` only (not the items: a rebuilt till gets them from
                     head office again, as for a small version).
    run()            the held changes' task: sleeps until the earliest `effective_at`, then
                     applies everything due in one transaction (`master.effective`), in
                     version order; due ones left by a stopped daemon go in at start.
    guard_local(k)   a local edit of a kind head office has sent here (`master_owned`) is
                     `forbidden`, unless `[hq] local_items` allows it.

A change is `{pos, kind, key, data, effective_at?}`; kinds the till does not know are an
error that stops the version (nothing applied, the link shows it), never skipped silently.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import trio

from gatewayd.replication import central
from gatewayd.replication.download import Download
from gatewayd.sales.catalog.repository import write_rows
from gatewayd.sales.catalog.validation import ItemIn
from gatewayd.sales.catalog_stage import CHUNK
from gatewayd.sales.catalog_stage import TABLES as CATALOG_TABLES
from gatewayd.sales.catalog_stage import VERSION as CATALOG_VERSION
from gatewayd.store.db import Store, Tx, now_us
from gatewayd.store.stage import SMALL_CHUNK, Changed, Staging
from protocol import repl
from protocol.codec import pack, unpack
from protocol.errors import ProtocolError

log = logging.getLogger("gatewayd.replication.master")
# a version with more items due at once than one chunk of the catalog's import is staged like
# an import: written in one transaction, it would hold the writer longer than a sale may wait
STAGE_ITEMS = CHUNK + 1
HELD_RECHECK_S = 30.0  # the held changes' task looks again at least this often (clock jumps)
# a big version's changes are read, decoded and checked this many at a time, the till's sales
# let in between (a slice is a millisecond or two of Python, holding the GIL)
SLICE = 100
# a part with this many changes or more is a download's: written SMALL_CHUNK changes a
# transaction, each when the till is between sales
BIG_PART = 100


class MasterError(Exception):
    """A version that cannot be applied here (an unknown kind, a row the store refuses)."""


# -- applying one change of each kind -----------------------------------------------------------
def _apply_price(tx: Tx, data: dict[str, Any]) -> None:
    if "member_price" in data:
        tx.execute("UPDATE items SET price=?, member_price=?, updated_at=? WHERE sku=?",
                   (data["price"], data["member_price"], tx.at, data["sku"]))
    else:
        tx.execute("UPDATE items SET price=?, updated_at=? WHERE sku=?",
                   (data["price"], tx.at, data["sku"]))


def _apply_promo(tx: Tx, data: dict[str, Any]) -> None:
    from gatewayd.sales.service import save_promotions

    save_promotions(tx, [data])


def _apply_operator(tx: Tx, data: dict[str, Any]) -> None:
    tx.execute(
        "INSERT INTO operators(id, name, role, pin_hash, pin_salt, active) VALUES (?,?,?,?,?,?)"
        " ON CONFLICT(id) DO UPDATE SET name=excluded.name, role=excluded.role,"
        " pin_hash=excluded.pin_hash, pin_salt=excluded.pin_salt, active=excluded.active",
        (data["id"], data["name"], data["role"], data["pin_hash"], data["pin_salt"],
         int(data["active"])))


def _apply_member(tx: Tx, data: dict[str, Any]) -> None:
    """A member registered or edited at another till: known here from now on (its ledgers
    are head office's, given when the member is at a sale). A member this till holds under
    the same phone or card is left as it is; head office's lookup says so when it is used."""
    from gatewayd.members.ledger import apply_record

    apply_record(tx, data)


# kind -> how one change of it is applied in the store transaction (items: `apply_changes`)
APPLIERS: dict[str, Callable[[Tx, dict[str, Any]], None]] = {
    "price": _apply_price,
    "promo": _apply_promo,
    "operator": _apply_operator,
    "member": _apply_member,
    # tax rates per category and central settings: gatewayd/replication/central.py
    "tax": central.apply_tax,
    "payment": lambda tx, data: central.apply_setting(tx, "payment", data),
    "config": lambda tx, data: central.apply_setting(tx, "config", data),
    "members": lambda tx, data: central.apply_setting(tx, "members", data),
}
# their changes bump the catalog's version (a category's tax rate is read with its items)
CATALOG_KINDS = frozenset({"item", "price", "tax"})
KIND_OWNS = {"item": "item", "price": "item", "promo": "promo", "operator": "operator"}


def _item(change: dict[str, Any]) -> ItemIn:
    return ItemIn.model_validate(change["data"])


def apply_changes(tx: Tx, changes: Sequence[dict[str, Any]]) -> Counter[str]:
    """Apply `changes` in order in `tx`; consecutive items go through one `write_rows`."""
    kinds: Counter[str] = Counter()
    items: list[ItemIn] = []

    def flush() -> None:
        if items:
            write_rows(tx, items, tx.at)
            items.clear()

    for change in changes:
        kind = change["kind"]
        if kind == "item":
            items.append(_item(change))
        elif kind in APPLIERS:
            flush()
            APPLIERS[kind](tx, change["data"])
        else:
            raise MasterError(f"master data of kind {kind!r} is unknown to this till; "
                              "upgrade gatewayd")
        kinds[kind] += 1
    flush()
    if CATALOG_KINDS & kinds.keys():
        tx.execute("UPDATE catalog_version SET n = n + 1")  # the scan caches empty
    return kinds


def check_kinds(changes: Sequence[dict[str, Any]]) -> None:
    for change in changes:
        if change["kind"] != "item" and change["kind"] not in APPLIERS:
            raise MasterError(f"master data of kind {change['kind']!r} is unknown to this "
                              "till; upgrade gatewayd")


class MasterData:
    def __init__(self, store: Store, publish: Callable[[str, dict[str, Any]], None], *,
                 local_items: bool = False,
                 changed: Callable[[set[str]], None] | None = None):
        self.store = store
        self.publish = publish
        self.local_items = local_items
        self.changed = changed  # told the kinds a commit changed (the sale reloads promotions)
        self.error: str | None = None  # why the last version could not be applied
        self._held = trio.Event()
        self._download: Download | None = None  # the version in parts being downloaded

    # -- state ---------------------------------------------------------------------------------
    def version(self) -> int:
        return self.store.scalar("SELECT version FROM master_state WHERE id=1")

    def staged(self) -> repl.StagedMaster | None:
        row = self.store.one("SELECT version, MAX(pos) AS pos FROM master_incoming WHERE"
                             " version > (SELECT version FROM master_state)"
                             " GROUP BY version ORDER BY version DESC LIMIT 1")
        return repl.StagedMaster(version=row["version"], pos=row["pos"]) if row else None

    def held(self) -> int:
        return self.store.scalar("SELECT COUNT(*) FROM master_scheduled")

    def owns(self, kind: str) -> bool:
        return self.store.one("SELECT 1 FROM master_owned WHERE kind=?", (kind,)) is not None

    def guard_local(self, kind: str, what: str) -> None:
        """A local edit of what head office owns here is refused (see the module doc)."""
        if kind == "item" and self.local_items:
            return
        if self.owns(kind):
            raise ProtocolError(
                "forbidden", f"{what} belong to head office on this till (it sent them): "
                f"change them at head office (hq.catalog.*, hq.promo.*, hq.operator.*)"
                + (", or set [hq] local_items = true to allow local items"
                   if kind == "item" else ""), {"owner": "hq", "kind": kind})

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version(), "held": self.held()}
        hq_sets = central.summary(self.store)
        if hq_sets is not None:
            out["central"] = hq_sets
        if self.error:
            out["error"] = self.error
        return out

    # -- a version from the link ---------------------------------------------------------------
    async def receive(self, frame: repl.Master | repl.RawMaster) -> int | None:
        """Stage a part; apply the version when it is whole. Returns the version applied.
        A part not decoded (`RawMaster`: a big frame, peeked by the replicator) of a version
        in parts, and every part after it, go to the version's download process
        (gatewayd/replication/download.py); the rest is staged here."""
        if frame.version <= self.version():
            return None  # applied already (a resend after a cut link)
        try:
            if self._download is not None and self._download.version != frame.version:
                await self.stop_download()  # a version left unfinished: it stays staged
            if isinstance(frame, repl.RawMaster):
                if self._download is None and not frame.more:  # one part: no download
                    frame = await trio.to_thread.run_sync(_decode_master, frame.raw)
                else:
                    if self._download is None:
                        self._download = await Download.start(self.store, frame.version)
                    await self._download.ask(["part", frame.raw], "staged")
            elif self._download is not None:
                await self._download.ask(["part", repl.encode(frame)], "staged")
            if isinstance(frame, repl.Master) and self._download is None:
                await self._stage(frame)
            if frame.more:
                return None
            await self._apply(frame.version)
        except BaseException as exc:
            await self.stop_download()
            if isinstance(exc, Exception):
                self.error = f"master version {frame.version}: {exc}"[:300]
                log.error("cannot apply %s", self.error)
            raise
        self.error = None
        return frame.version

    async def stop_download(self, finished: bool = False) -> None:
        """The version's download process ended (killed unless `finished`): what it
        committed stays staged (`staged`), the rest rolled back with it."""
        download, self._download = self._download, None
        if download is not None:
            await download.close(finished)

    async def _stage(self, frame: repl.Master) -> None:
        """A part's changes into master_incoming, in this process."""
        big = len(frame.changes) >= BIG_PART
        step = SMALL_CHUNK if big else max(1, len(frame.changes))
        took = 0.0
        for i in range(0, len(frame.changes), step):  # in pos order: `staged` is a prefix
            some = frame.changes[i:i + step]

            def stage(tx: Tx, some: list[dict[str, Any]] = some) -> None:
                # on the writer thread: the packing too. (`version<>?` scanned the whole
                # table: 100+ ms a part, late in a 200k download.)
                tx.execute("DELETE FROM master_incoming WHERE version<? OR version>?",
                           (frame.version, frame.version))
                tx.executemany("INSERT OR REPLACE INTO master_incoming(version, pos, change)"
                               " VALUES (?,?,?)",
                               [(frame.version, c["pos"], pack(c)) for c in some])

            if big:  # a download's: after the sale at hand
                await self.store.make_way_async(took)
            began = time.monotonic()
            await self.store.write(stage)
            took = time.monotonic() - began

    async def _apply(self, version: int) -> None:
        now = now_us()
        count = await self.store.read(lambda snap: snap.execute(
            "SELECT COUNT(*) FROM master_incoming WHERE version=?", (version,)).fetchone()[0])
        if count >= STAGE_ITEMS:  # a big version: read, checked and staged by its process
            if self._download is None:  # (parts staged before, the last one small)
                self._download = await Download.start(self.store, version)
            got = await self._download.ask(["apply", version, now], "small", "ready")
            if got[0] == "ready":
                await self._switch_in(version, got)
                return
            await self.stop_download(finished=True)

        def fn(tx: Tx) -> tuple[Counter[str], list[dict[str, Any]]]:
            changes = _incoming(tx, version)
            check_kinds(changes)
            due, held = _split(changes, now)
            kinds = apply_changes(tx, due)
            self._finish(tx, version, len(due), held, Counter(c["kind"] for c in changes),
                         staged=False)
            return kinds, held

        (kinds, held), _ = await self.store.write(fn)
        self._done(kinds, held)

    async def _switch_in(self, version: int, got: list[Any]) -> None:
        """What the download process staged, switched in by one transaction of the daemon's
        writer with the version's other changes and `master.applied` (no item events: a
        rebuilt till gets the items from head office again, as for a small version)."""
        assert self._download is not None
        while True:
            ready = got[1]
            staging = Staging(self.store, CATALOG_TABLES, CATALOG_VERSION)
            staging.version = ready["catalog"]

            def also(tx: Tx, ready: dict[str, Any] = ready) -> Counter[str]:
                tx.execute("UPDATE catalog_version SET n = n + 1")  # the scan caches empty
                kinds = apply_changes(tx, ready["others"])
                kinds["item"] += ready["items"]
                self._finish(tx, version, ready["due"], ready["held"],
                             Counter(ready["kinds"]), staged=True)
                return kinds

            try:
                kinds, _ = await self.store.write(partial(staging.switch_tx, fn=also))
                break
            except Changed:  # a catalog write came between: staged again from a fresh copy
                got = await self._download.ask(["changed"], "ready")
        await self._download.ask(["switched"], "cleaned")  # the old tables, the parts let go
        await self.stop_download(finished=True)
        self._done(kinds, ready["held"])

    def read_paced(self, version: int, now: int) -> _Big:
        """A version's staged changes read, decoded, sorted (due or held) and the due items
        checked (ItemIn), SLICE at a time, `make_way` between (in the download process,
        gatewayd/replication/download.py, whose store paces each write instead)."""
        big = _Big()
        after = -1

        def read(snap: Any, after: int) -> list[Any]:
            return snap.execute("SELECT pos, change FROM master_incoming WHERE version=? AND"
                                " pos>? ORDER BY pos LIMIT ?", (version, after, SLICE)).fetchall()

        while True:
            rows = self.store.readers.run_sync(partial(read, after=after))
            if not rows:
                return big
            changes = [unpack(r[1]) for r in rows]
            check_kinds(changes)
            due, held = _split(changes, now)
            big.held += held
            big.due += len(due)
            big.kinds.update(c["kind"] for c in changes)
            for c in due:
                if c["kind"] == "item":
                    big.items.append(_item(c))
                else:
                    big.others.append(c)
            after = rows[-1][0]
            self.store.make_way()

    def _finish(self, tx: Tx, version: int, due: int, held: list[dict[str, Any]],
                every: Counter[str], staged: bool) -> None:
        """The version's end, in its transaction: `due` changes applied, `held` scheduled,
        `every` the version's changes by kind (counted before: 200k of them)."""
        tx.executemany(
            "INSERT OR REPLACE INTO master_scheduled(version, pos, effective_at, change)"
            " VALUES (?,?,?,?)", [(version, c["pos"], c["effective_at"], pack(c)) for c in held])
        tx.executemany("INSERT OR IGNORE INTO master_owned(kind, since) VALUES (?,?)",
                       [(KIND_OWNS.get(k, k), version) for k in every])
        if not staged:  # a staged version's parts are let go of after the switch
            tx.execute("DELETE FROM master_incoming")
        tx.execute("UPDATE master_state SET version=? WHERE id=1", (version,))
        tx.append("master.applied", {"version": version, "changes": due,
                                     "scheduled": len(held), "kinds": dict(every),
                                     "staged": staged})

    def _done(self, kinds: Counter[str], held: list[dict[str, Any]]) -> None:
        if held:
            self._held.set()
            self._held = trio.Event()
        self._announce(kinds)

    def _announce(self, kinds: Counter[str]) -> None:
        if CATALOG_KINDS & kinds.keys():
            self.publish("catalog.updated",
                         {"count": kinds["item"] + kinds["price"] + kinds["tax"]})
        if self.changed is not None and kinds:
            self.changed(set(kinds))

    # -- held changes ----------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            waiting = self._held
            nxt = self.store.scalar("SELECT MIN(effective_at) FROM master_scheduled")
            now = now_us()
            if nxt is not None and nxt <= now:
                await self._apply_held(now)
                continue
            wait = HELD_RECHECK_S if nxt is None else min(HELD_RECHECK_S, (nxt - now) / 1e6)
            with trio.move_on_after(wait):
                await waiting.wait()

    async def _apply_held(self, now: int) -> None:
        def fn(tx: Tx) -> Counter[str]:
            rows = tx.execute("SELECT version, change FROM master_scheduled WHERE"
                              " effective_at<=? ORDER BY version, pos", (now,)).fetchall()
            changes = [unpack(r["change"]) for r in rows]
            kinds = apply_changes(tx, changes)
            tx.execute("DELETE FROM master_scheduled WHERE effective_at<=?", (now,))
            tx.append("master.effective", {"versions": sorted({r["version"] for r in rows}),
                                           "changes": len(changes), "kinds": dict(kinds)})
            return kinds

        kinds, _ = await self.store.write(fn)
        self._announce(kinds)


@dataclass
class _Big:
    """A big version as read (`MasterData.read_paced`)."""

    items: list[ItemIn] = field(default_factory=list)  # due, checked
    others: list[dict[str, Any]] = field(default_factory=list)  # due, of other kinds
    held: list[dict[str, Any]] = field(default_factory=list)  # effective later
    due: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # every change's, held ones too


def _incoming(src: Any, version: int) -> list[dict[str, Any]]:
    """A version's staged changes, from a Tx or a read snapshot."""
    rows = src.execute("SELECT change FROM master_incoming WHERE version=? ORDER BY pos",
                       (version,)).fetchall()
    return [unpack(r[0]) for r in rows]


def _split(changes: list[dict[str, Any]],
           now: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    due: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    for c in changes:
        (held if c.get("effective_at") is not None and c["effective_at"] > now else due).append(c)
    return due, held


def _decode_master(raw: bytes) -> repl.Master:
    """A one-part version's frame, decoded whole (on a worker thread)."""
    frame = repl.decode(raw, repl.Side.HQ)
    if not isinstance(frame, repl.Master):
        raise repl.ReplProtocolError("bad_frame", f"a {frame.type} frame as master data")
    return frame
