"""Runway's product logic, arranged as ADR-006 prescribes (see runway/services)."""
