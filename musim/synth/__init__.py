"""Synthetic data with known structure, for the demo, the tests and the benchmarks."""
