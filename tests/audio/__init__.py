"""Tests of the audio layer (musim.audio)."""
