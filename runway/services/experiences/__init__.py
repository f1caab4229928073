"""Experience services (ADR-006 layer 2): what one screen needs, returned as frozen view dataclasses.

They combine a data orchestrator with calculators. They never call QBO (SmartSync) directly.
"""
