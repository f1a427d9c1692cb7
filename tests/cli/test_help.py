"""What `musim … --help` and the README's command tables say, held to the code they describe."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from musim.audio.formats import FORMATS
from musim.cli import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
#: The options every command takes (`musim -v COMMAND`, `musim --width N COMMAND`, or after the command): the README
#: says what they do once, under Security (`-v` for the traceback, `musim --width N` for table cells), not in each command's
#: row. The only options a row may leave out.
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


def readme_rows(command: str) -> list[str]:
    """The README's rows of `musim COMMAND`: its usages in a command table's row (a line `| step | `musim …` |
    … |`) and the lines of a ```bash block that start with it (the quality commands' synopsis). Usages in the
    prose around them are examples, not the command's reference."""
    table = "\n".join(line for line in README.splitlines() if line.startswith("|"))
    spans = re.findall(r"`(musim [^`]*)`", table)
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        spans += [line.split("#")[0].rstrip() for line in block.splitlines() if line.startswith("musim ")]
    return [s for s in spans if s == command or s.startswith(command + " ")]


def commands(parser: argparse.ArgumentParser | None = None, path: tuple[str, ...] = ()) -> list[str]:
    """Every command `musim --help` leads to (``"models train"``...), in the parser's order."""
    parser = parser or build_parser()
    sub = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
    if not sub:
        return [" ".join(path)]
    return [c for name, child in sub[0].choices.items() for c in commands(child, (*path, name))]


def options_of(command: str) -> list[str]:
    return [o for a in subparser(*command.split())._actions for o in a.option_strings  # noqa: SLF001
            if o.startswith("--") and o not in GLOBAL]


@pytest.mark.parametrize("command", commands())
def test_the_readme_row_of_the_command_shows_every_option(command):
    """The tables left out options that exist (`similarity build --no-publish --skip-quality --json`, `quality
    report --dataset --dump --presign`, `models list --family --status`, `synth lastfm --communities`, then
    `acquire --concurrency`, `models train --seed`...): every option of every command's `--help`, but the global
    ones, is in the command's rows of the README, and every command has one."""
    rows = readme_rows(f"musim {command}")
    assert rows, f"README.md has no table row or bash synopsis of `musim {command}`"
    shown = {o for row in rows for o in re.findall(r"--[a-z0-9-]+", row)}
    assert [o for o in options_of(command) if o not in shown] == [], rows


def test_every_command_is_checked_and_the_global_options_are_documented():
    """The list above is the parser's: a new command is checked without editing this file; and the options a row
    may leave out are the ones the README describes once."""
    assert {"acquire", "models train", "quality suites", "library skipped", "similarity drop"} <= set(commands())
    assert not {"models", "features", "library", "quality"} & set(commands())  # groups: their commands are checked
    assert {o for a in build_parser()._actions for o in a.option_strings if o.startswith("--")} == GLOBAL  # noqa: SLF001
    assert "`-v`" in README and "`musim --width N`" in README


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


def _names_default(text: str, value: object) -> bool:
    """Whether a help text names ``value`` as the default: `(default 10)`, `(default: …, 0 = none)`, `(1000)` as
    `acquire` writes them, or `auto (the default: …)`; an integer as `1000` or `1,000`, a whole float as an integer
    (`30`, `5`), never a digit of a longer number (`0.01` does not name 0)."""
    forms = {str(value)}
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        forms |= {str(value), f"{value:,}"}
    return any(re.search(rf"(default\b[^)]*?|\()(?<![\d.]){re.escape(f)}(?![\d.]*\d)|\b{re.escape(f)} \(the default",
                         text) for f in forms)


@pytest.mark.parametrize("command", commands())
def test_every_option_with_a_default_says_it_in_its_help(command):
    """`musim synth lastfm --help` showed `--users USERS` and `--artists ARTISTS` without a word (2000 and 400),
    `models evaluate --baselines` listed musly among the choices but not that the default leaves it out, and
    `similar --metric`, `ingest lastfm --format`, `models promote --confidence`, `models train --k`, `--n-boot`
    named no default: a user reading `--help` could not tell what leaving an option out does."""
    silent = [(a.option_strings[-1], a.default) for a in subparser(*command.split())._actions  # noqa: SLF001
              if a.option_strings and a.default is not None and a.default is not False
              and a.default != argparse.SUPPRESS and a.dest != "width" and not _names_default(a.help or "", a.default)]
    assert silent == []


@pytest.mark.parametrize("command", ["similar", "similar-tracks"])
def test_the_audio_model_default_is_the_version_published_last(command):
    """`--model` said "default: the champion's, else the newest": without a champion it is the version published
    last (README, Models; `musim.models.new_audio.serving_choice`), not the newest registered or trained."""
    text = " ".join(next(a for a in subparser(command)._actions if "--model" in a.option_strings).help.split())  # noqa: SLF001
    assert "else the version published last" in text and "newest" not in text


def test_models_publish_says_what_serves_without_a_champion():
    """It said a version that is no champion is queried with --model VERSION; without a published champion the version
    published last is the serving model (`similar-audio` and `embed` answer by it with a note, README Models)."""
    text = " ".join(subparser("models", "publish").description.split())
    assert "else (no champion published) the version published last" in text


def test_models_train_says_it_runs_without_listening_data():
    """Its description named only "the inputs of the latest similarity build": README's library workflow trains
    contrastive, autoencoder and descriptors with no dump at all, judged by artist identity."""
    text = " ".join(subparser("models", "train").description.split())
    assert "without listening data" in text and "artist identity" in text
