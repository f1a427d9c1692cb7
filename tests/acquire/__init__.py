"""Tests of the provider layer of audio acquisition (musim.acquire)."""
