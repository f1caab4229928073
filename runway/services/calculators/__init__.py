"""Calculators (ADR-006 layer 1): pure business logic over frozen snapshots and an explicit as_of date.

No I/O: no database, no HTTP, no clock. Money is integer cents (domains.core.money.Money).
"""
