"""Subcommand hooks for modules beyond the foundation: each entry adds its parser to `sub`."""

EXTENSIONS: list = []


def _catalog(sub) -> None:  # gatewayd catalog import|export|sample (gatewayd/sales/catalog.py)
    from gatewayd.sales.catalog import add_cli

    add_cli(sub)


EXTENSIONS.append(_catalog)


def _report(sub) -> None:  # gatewayd report NAME [--format csv|xlsx --out FILE] (reports.py)
    from gatewayd.reports import add_cli

    add_cli(sub)


EXTENSIONS.append(_report)
