"""Issue 18 item 6: the simulators keep bounded history, so a demo that runs for days stays
flat: the last HISTORY receipts, kicks, scans, scale commands and display screens, with
counters for the totals, and the runner keeps only the tail of what the host wrote."""

from __future__ import annotations

import gc
import tracemalloc

from drivers.printer.receipt import Columns, Cut, DrawerKick, Text, render
from drivers.sim.base import HISTORY
from drivers.sim.display import DisplaySim
from drivers.sim.printer import EscposPrinterSim
from drivers.sim.runner import MAX_RECEIVED, _SimRunner
from drivers.sim.scale import Toledo8217Sim
from drivers.sim.scanner import SerialScannerSim

RECEIPT = render([Text("欢迎光临", align="center")]
                 + [Columns(f"商品 {i}", f"{i}.00") for i in range(12)]
                 + [DrawerKick(), Cut()], 48)


def _sale(printer: EscposPrinterSim, display: DisplaySim, scale: Toledo8217Sim,
          scanner: SerialScannerSim, n: int) -> None:
    printer.feed(RECEIPT)
    printer.print_buffered()
    display.feed(b"\x0c" + f"TOTAL {n:>14}".encode())
    for _ in range(20):
        scale.feed(b"W")
    scanner.scan(f"69{n:011d}")
    scanner.read_output()
    scale.read_output()


def test_a_long_demo_keeps_the_last_history_and_counts_the_rest() -> None:
    printer, display = EscposPrinterSim(), DisplaySim("cd5220")
    scale, scanner = Toledo8217Sim(), SerialScannerSim(suffix=b"\r")
    for n in range(3 * HISTORY):
        _sale(printer, display, scale, scanner, n)
    assert len(printer.receipts) == HISTORY and printer.receipt_count == 3 * HISTORY
    assert printer.receipts[-1].complete and len(printer.kicks) == HISTORY
    assert printer.kick_count == 3 * HISTORY
    assert len(display.screens) == HISTORY and display.screen_count >= 3 * HISTORY
    assert display.screens[-1][0].strip() == f"TOTAL {3 * HISTORY - 1:>14}".strip()
    assert len(scale.commands) == HISTORY and len(scanner.scans) == HISTORY


def test_memory_stays_flat_over_thousands_of_sales() -> None:
    printer, display = EscposPrinterSim(), DisplaySim("cd5220")
    scale, scanner = Toledo8217Sim(), SerialScannerSim(suffix=b"\r")
    for n in range(HISTORY):  # fill every ring once
        _sale(printer, display, scale, scanner, n)
    gc.collect()
    tracemalloc.start()
    try:
        for n in range(500):
            _sale(printer, display, scale, scanner, n)
        gc.collect()
        after_500 = tracemalloc.get_traced_memory()[0]
        for n in range(2000):
            _sale(printer, display, scale, scanner, n)
        gc.collect()
        after_2500 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # 2,000 more sales (about 2.4 MB of receipts if kept) add nothing but noise.
    assert after_2500 - after_500 < 64 * 1024, (after_500, after_2500)


def test_the_runner_keeps_the_tail_of_what_the_host_wrote() -> None:
    class Runner(_SimRunner):
        def _connected(self) -> bool:
            return True

    runner = Runner(EscposPrinterSim(lines_per_s=None))
    for _ in range(100):
        runner._feed(RECEIPT)
    assert runner.received_total == 100 * len(RECEIPT)
    assert len(runner.received) == MAX_RECEIVED
    assert bytes(runner.received).endswith(RECEIPT)
