"""Tests of the synthetic data generators (musim.synth)."""
