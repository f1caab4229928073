"""Domains: imports every table module once, so Alembic and tests see the whole metadata."""

from __future__ import annotations

from sqlalchemy import MetaData

from domains.core.db import Base


def import_all_models() -> MetaData:
    """Import every model module (registering its tables on Base.metadata) and return that metadata."""
    # Imported for their side effect: declaring a mapped class adds its table to Base.metadata.
    import domains.ap.models
    import domains.ar.models
    import domains.bank.models
    import domains.core.models
    import domains.decisions.models
    import domains.hygiene.models
    import domains.qbo.models
    import domains.summaries.models  # noqa: F401

    return Base.metadata
