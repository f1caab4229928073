"""Domain (decisions): tables. Each table has business_id and every query is scoped by it."""

from __future__ import annotations
