"""Decoder tests: a package, so the modules import their shared checks as
``from .vectors import ...`` and other test folders (tests/analysis) and
the table registry (tables.py) can import the modules by name."""
