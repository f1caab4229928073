"""Benchmark: Runway's performance suite — each figure is a ratio to a baseline measured in the same run.

Run `python -m bench` (or `make bench`); see bench/README.md for the infrastructure API and
docs/performance.md for what each benchmark measures and the latest figures.
"""
