"""Report aggregates at head office, kept exact by the apply: what each sale and refund adds
to its store-day-hour, store-day-tender, store-day-item, store-month-item and
chain-month-item sums (and the members' months), and what each counted stock move adds to its
store's on-hand; summed in memory over one transaction and written once, just before its
commit (`HqTx.before_commit`), so a push of 500 events costs a few upserts per store-day, not
one per line.

The projections call `sale` only for a sale they stored for the first time (a fact seen under
two epochs counts once), so a sum here is the sum of the rows in `sales`/`sale_lines`.
bench/hqreports.py seeds a chain through the same `Deltas`, so seeded aggregates are
computed exactly as the apply computes them.

Cost: HQ keeps a moving-average cost per store and item from the receipts it holds
(`stock.received`); an item never received at the store costs what head office's catalog
says (`hq.catalog.upsert`'s `cost`). A line's cost is its quantity at that cost (half-up)
when the sale reaches head office; lines of items with no known cost add their amount to
`uncosted` instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from gatewayd.hq.db import HqTx, Insert
from gatewayd.sales.money import div_round
from gatewayd.till import TillConfig
from protocol.codec import unpack

# The hour of a sale is the chain's local hour; one timezone for the chain (the tills').
CHAIN_TZ = ZoneInfo(TillConfig().timezone)

SALE_COLS = ("sales", "refunds", "amount", "refund_amount", "discount", "tax", "cost",
             "uncosted", "member_sales", "member_amount")
ITEM_COLS = ("qty", "amount", "cost", "lines")


QUARTER_US = 900 * 1_000_000
_HOURS: dict[int, int] = {}  # a quarter of an hour (UTC) -> its local hour, where one


def local_hour(at_us: int) -> int:
    """The chain's local hour of `at_us`. A sale's is looked up per quarter of an hour (the
    zone's offsets and their changes come in quarters of an hour; a quarter is cached only
    when its offset is the same at both ends), not converted each time: about a fifth of
    the apply's aggregate steps went to the conversion."""
    quarter = at_us // QUARTER_US
    hour = _HOURS.get(quarter)
    if hour is None:
        hour = datetime.fromtimestamp(at_us / 1e6, UTC).astimezone(CHAIN_TZ).hour
        # the same for the whole quarter when its offset is whole quarters and does not
        # change in it (Shanghai's LMT, +8:05:43 before 1901, is not)
        offset = datetime.fromtimestamp(quarter * 900, UTC).astimezone(CHAIN_TZ).utcoffset()
        after = datetime.fromtimestamp(quarter * 900 + 900, UTC).astimezone(CHAIN_TZ)
        if (offset is not None and offset == after.utcoffset()
                and offset.total_seconds() % 900 == 0):
            if len(_HOURS) > 100_000:  # years of quarters: start again
                _HOURS.clear()
            _HOURS[quarter] = hour
    return hour


def _add(row: list[int], values: Iterable[int]) -> None:
    for i, v in enumerate(values):
        row[i] += v


class Deltas:
    """What one transaction adds to the aggregates."""

    def __init__(self) -> None:
        self.sales: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0] * 10)
        self.tenders: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        # per store-day-item; the month's and the chain's sums are made from these at the
        # flush (a line is added once, not three times)
        self.items_day: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0] * 4)
        self.members: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self.on_hand: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0])
        self.costs: dict[tuple[str, str], int | None] = {}  # read in this transaction

    def sale(self, store: str, day: str, hour: int, kind: str, total: int, discount: int,
             tax: int, lines: Iterable[tuple[str, int, int, int | None]],
             tenders: Iterable[Sequence[Any]]) -> None:
        """One sale or refund: `lines` (sku, qty, amount, unit cost or None), signed as
        stored (negative on a refund); `tenders` (method, signed amount) pairs."""
        cost = uncosted = 0
        items_day = self.items_day
        for sku, qty, amount, unit_cost in lines:  # the apply's hot loop: plain adds
            if unit_cost is None:
                c = 0
                uncosted += amount
            else:
                c = div_round(qty * unit_cost, 1000)
                cost += c
            row = items_day[(store, day, sku)]
            row[0] += qty
            row[1] += amount
            row[2] += c
            row[3] += 1 if qty >= 0 else -1
        row = self.sales[(store, day, hour)]  # SALE_COLS
        if kind == "refund":
            row[1] += 1
            row[3] += total
        else:
            row[0] += 1
            row[4] += discount
            row[5] += tax
        row[2] += total
        row[6] += cost
        row[7] += uncosted
        count = 0 if kind == "refund" else 1
        for method, amount in tenders:
            row = self.tenders[(store, day, method)]
            row[0] += count
            row[1] += amount

    def member_sale(self, store: str, day: str, hour: int, member: str, kind: str,
                    total: int) -> None:
        refund = kind == "refund"
        row = self.sales[(store, day, hour)]
        row[8] += 0 if refund else 1
        row[9] += total
        _add(self.members[(store, day[:6], member)], (0 if refund else 1, total))

    def stock(self, store: str, moves: Iterable[dict]) -> None:
        """Stock moves the projection counted: the store's on-hand per item."""
        for m in moves:
            self.on_hand[(store, m["sku"])][0] += m["qty"]

    def flush(self, tx: HqTx) -> None:
        items_month: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0] * 4)
        items_chain: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 4)
        for (store, day, sku), values in self.items_day.items():
            _add(items_month[(store, day[:6], sku)], values)
            _add(items_chain[(day[:6], sku)], values)
        # one statement for all (keys are distinct: no row is updated twice by it)
        tx.insert_all([(insert, [(*k, *v) for k, v in rows.items()]) for insert, rows in (
            (AGG_SALES, self.sales), (AGG_TENDERS, self.tenders),
            (AGG_ITEMS_DAY, self.items_day), (AGG_ITEMS_MONTH, items_month),
            (AGG_ITEMS_CHAIN, items_chain), (AGG_MEMBERS_MONTH, self.members),
            (AGG_STOCK, self.on_hand))])
        self.__init__()  # type: ignore[misc]  # flushed: a later flush adds nothing twice


def _upsert(table: str, keys: tuple[str, ...], cols: tuple[str, ...]) -> Insert:
    """An insert adding `cols` to the row of `keys`, or making it."""
    sets = ", ".join(f"{c}={table}.{c}+excluded.{c}" for c in cols)
    return Insert(table, (*keys, *cols), f"({', '.join(keys)}) DO UPDATE SET {sets}")


AGG_SALES = _upsert("agg_sales", ("store", "day", "hour"), SALE_COLS)
AGG_TENDERS = _upsert("agg_tenders", ("store", "day", "method"), ("count", "amount"))
AGG_ITEMS_DAY = _upsert("agg_items_day", ("store", "day", "sku"), ITEM_COLS)
AGG_ITEMS_MONTH = _upsert("agg_items_month", ("store", "month", "sku"), ITEM_COLS)
AGG_ITEMS_CHAIN = _upsert("agg_items_chain", ("month", "sku"), ITEM_COLS)
AGG_MEMBERS_MONTH = _upsert("agg_members_month", ("store", "month", "member"),
                            ("purchases", "amount"))
AGG_STOCK = _upsert("agg_stock", ("store", "sku"), ("on_hand",))


def deltas(tx: HqTx) -> Deltas:
    """This transaction's deltas, written just before it commits."""
    for hook in tx.before_commit:
        owner = getattr(hook, "__self__", None)
        if isinstance(owner, Deltas):
            return owner
    d = Deltas()
    tx.before_commit.append(d.flush)
    return d


def unit_costs(tx: HqTx, store: str, skus: Iterable[str]) -> dict[str, int]:
    """The items' costs at the store (those that have one), read once per transaction."""
    return unit_costs_later(tx, store, skus)()


def unit_costs_later(tx: HqTx, store: str, skus: Iterable[str]) -> Callable[[], dict[str, int]]:
    """`unit_costs`, asked now and read when called: on PostgreSQL both of its queries go to
    the server with the next statement that waits (one round trip, not two more)."""
    known = deltas(tx).costs
    skus = list(skus)
    wanted = sorted({sku for sku in skus if (store, sku) not in known})
    if wanted:
        marks = ", ".join("?" * len(wanted))
        # the store's moving average (held, 0), or, for an item never received at this store,
        # the cost in head office's catalog if any (listed, 1): one statement
        rows = tx.all_later(f"SELECT 0 AS src, sku, cost, NULL AS data FROM item_costs WHERE"
                            f" store=? AND sku IN ({marks}) UNION ALL SELECT 1, key, NULL, data"
                            f" FROM master_current WHERE kind='item' AND scope='' AND key IN"
                            f" ({marks})", [store, *wanted, *wanted])

    def read() -> dict[str, int]:
        if wanted:
            got = rows()
            found: dict[str, int | None] = {r["sku"]: r["cost"] for r in got if r["src"] == 0}
            for r in got:
                if r["src"] == 0:
                    continue
                cost = unpack(bytes(r["data"])).get("cost")
                if r["sku"] not in found and isinstance(cost, int):
                    found[r["sku"]] = cost
            for sku in wanted:
                known.setdefault((store, sku), found.get(sku))
        return {sku: c for sku in skus if (c := known[(store, sku)]) is not None}

    return read


def received(tx: HqTx, store: str, lines: list[dict], moves: list[dict],
             known: dict[str, int]) -> None:
    """A receipt moves each item's average cost: (old average × stock before + qty × cost)
    / stock after, half-up; stock before below zero counts as none. `known`: the store's
    costs of (at least) these items as the apply has them so far; moved here too."""
    on_hand = {m["sku"]: m["on_hand"] for m in moves}
    for ln in lines:
        sku, qty, cost = ln["sku"], ln["qty"], ln["cost"]
        if qty <= 0:
            continue
        before = max(0, on_hand.get(sku, qty) - qty) if sku in known else 0
        avg = known.get(sku, 0)
        total = before + qty
        known[sku] = div_round(avg * before + cost * qty, total)
    tx.executemany(
        "INSERT INTO item_costs(store, sku, cost) VALUES (?,?,?) ON CONFLICT (store, sku)"
        " DO UPDATE SET cost=excluded.cost",
        [(store, ln["sku"], known[ln["sku"]]) for ln in lines if ln["sku"] in known])
    deltas(tx).costs.update(((store, sku), cost) for sku, cost in known.items())
