"""What `musim … --help` and the README's command tables say, held to the code they describe."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from musim.audio.formats import FORMATS
from musim.cli import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
GLOBAL = {"--help", "--verbose", "--width"}


def subparser(*path: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
        parser = sub.choices[name]
    return parser


def readme_usages(command: str) -> list[str]:
    """Every `musim COMMAND …` the README shows, in backticks or on a line of a ```bash block."""
    spans = re.findall(r"`(musim [^`]*)`", README)
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        spans += [m.group(0) for line in block.splitlines() if (m := re.search(r"musim .*", line))]
    return [s for s in spans if s == command or s.startswith(command + " ")]


@pytest.mark.parametrize("command", ["rejects", "similarity build", "quality check", "quality report", "models list",
                                     "synth lastfm"])
def test_the_readme_shows_every_option_of_the_command(command):
    """The tables left out options that exist (`similarity build --no-publish --skip-quality --json`, `quality
    report --dataset --dump --presign`, `models list --family --status`, `synth lastfm --communities`...)."""
    options = [o for a in subparser(*command.split())._actions for o in a.option_strings  # noqa: SLF001
               if o.startswith("--") and o not in GLOBAL]
    shown = {o for usage in readme_usages(f"musim {command}") for o in re.findall(r"--[a-z0-9-]+", usage)}
    assert [o for o in options if o not in shown] == [], readme_usages(f"musim {command}")


def test_synth_shows_its_optional_sizes_as_optional():
    """`--users N --artists M` were shown as required; both have defaults."""
    assert all(a.default is not None for a in subparser("synth", "lastfm")._actions  # noqa: SLF001
               if a.dest in ("users", "artists"))
    usage = " ".join(readme_usages("musim synth lastfm"))
    assert "[--users N]" in usage and "[--artists M]" in usage


def test_similar_audio_lists_every_format_musim_reads():
    """It listed "mp3, wav, flac, ogg, m4a"; opus and aiff are read too (musim.audio.formats, the one list)."""
    text = subparser("similar-audio").format_help()
    assert all(name in text for name in FORMATS), text


def test_promote_names_the_default_metric_of_label_free_versions():
    """It said the default metric was ndcg@10; a version evaluated without listening data is compared on auc."""
    text = " ".join(subparser("models", "promote").format_help().split())
    assert "primary metric" in text and "auc" in text and "ndcg@10)" not in text
