"""Benchmarks: ``python -m bench NAME [options]``; each prints ratios against a baseline
measured in the same run (speed is measured here, never asserted in tests)."""
