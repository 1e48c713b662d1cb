"""Inventory (进销存): on-hand per item moved in the sale's own transaction, low-stock alerts,
receiving, stocktake, transfers and write-offs as numbered journaled documents.

``stock.py`` is the transaction-level core (moves, moving-average cost, replay from the
journal); ``service.py`` the documents, the sale hooks and the protocol methods;
``report.py`` the inventory report (on-hand, value, turnover, slow movers)."""

from gatewayd.inventory.service import Inventory, InventoryService

__all__ = ["Inventory", "InventoryService"]
