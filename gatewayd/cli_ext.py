"""Subcommand hooks for modules beyond the foundation: each entry adds its parser to `sub`."""

EXTENSIONS: list = []
