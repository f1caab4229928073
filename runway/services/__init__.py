"""ADR-006 service layers: data_orchestrators -> calculators -> experiences.

The ADR names the folders 0_data_orchestrators, 1_calculators and 2_experiences; Python cannot import a
name that starts with a digit, so the packages drop the prefix and import-linter enforces the order.
"""
