"""Every numeric option of the CLI rejects nonsense in argparse (exit 2, one usage line), before any work."""

from __future__ import annotations

import argparse

import pytest

from musim.cli import build_parser, main
from musim.cli.options import count, number

BAD = [
    ["similar", "x", "--k", "0"], ["similar", "x", "--k", "-1"], ["similar", "x", "--k", "99999999999999"],
    ["rejects", "--limit", "-1"], ["sql", "SELECT 1", "--limit", "-5"], ["sql", "SELECT 1", "--timeout", "-1"],
    ["sql", "SELECT 1", "--timeout", "nan"], ["sql", "SELECT 1", "--timeout", "inf"],
    ["similarity", "build", "--k", "0"], ["similarity", "build", "--min-listeners", "0"],
    ["similarity", "build", "--min-co-listeners", "-2"], ["similarity", "build", "--catalogue-size", "0"],
    ["synth", "lastfm", "out", "--users", "0"], ["synth", "lastfm", "out", "--quirks", "1.5"],
    ["synth", "lastfm", "out", "--home-share", "-0.1"], ["synth", "lastfm", "out", "--seed", "-1"],
    ["acquire", "--top", "0"], ["acquire", "--per-artist", "0"], ["acquire", "--concurrency", "0"],
    ["acquire", "--max-attempts", "0"], ["previews", "--limit", "-1"],
    ["features", "build", "--workers", "0"], ["features", "build", "--batch-size", "0"],
    ["features", "build", "--min-duration", "-1"], ["features", "show", "v", "--version", "0"],
    ["models", "promote", "v", "--confidence", "1"], ["models", "publish", "v", "--k", "0"],
    ["models", "train", "--epochs", "0"], ["models", "train", "--learning-rate", "0"],
    ["models", "train", "--test-share", "0"], ["models", "train", "--batch-size", "0"],
    ["similar-audio", "f.wav", "--k", "0"],
]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a) for a in BAD])
def test_bad_numbers_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "error: argument" in err and "Traceback" not in err


def test_no_numeric_option_is_left_unchecked():
    """Every option whose default is a number (or that takes int/float) uses a checked type."""
    unchecked = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif action.type in (int, float):
                unchecked.append(f"{path} {'/'.join(action.option_strings)}")

    walk(build_parser(), "musim")
    assert unchecked == []


def test_types_accept_their_range():
    assert count(1, 10)("10") == 10 and number(0.0, 1.0)("1") == 1.0
    with pytest.raises(argparse.ArgumentTypeError, match="between 1 and 10"):
        count(1, 10)("11")
    with pytest.raises(argparse.ArgumentTypeError, match=r"in \(0, 1\)"):
        number(0.0, 1.0, above=True, below=True)("0")


def test_global_options_work_after_the_command_too(capsys):
    """Errors end with "run with -v": `musim models show X -v` must not answer "unrecognized arguments: -v"."""
    outputs = []
    for argv in (["-v", "--width", "5", "models", "show", "nope-1"], ["models", "show", "nope-1", "-v", "--width", "5"],
                 ["models", "-v", "show", "nope-1", "--width=5"]):
        assert main(argv) == 2
        outputs.append(capsys.readouterr().err)
    assert all("Traceback" in err and "no model version 'nope-1'" in err for err in outputs), outputs
    assert main(["models", "show", "nope-1"]) == 2
    assert "Traceback" not in capsys.readouterr().err  # without -v anywhere: one line


def test_an_infinite_or_nan_number_says_it_must_be_finite():
    """`--timeout inf` said "must be in [0, inf], got inf"."""
    import argparse

    from musim.cli.options import number

    for text in ("inf", "nan", "-inf"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"must be a finite number, got {text}"):
            number(0.0)(text)
