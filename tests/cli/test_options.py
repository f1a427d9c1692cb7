"""Every numeric option of the CLI rejects nonsense in argparse (exit 2, one usage line), before any work."""

from __future__ import annotations

import argparse

import pytest

from musim.cli import build_parser, main
from musim.cli.options import count, number

BAD = [
    ["similar", "x", "--k", "0"], ["similar", "x", "--k", "-1"], ["similar", "x", "--k", "99999999999999"],
    ["rejects", "--limit", "-1"], ["sql", "SELECT 1", "--limit", "-5"], ["sql", "SELECT 1", "--timeout", "-1"],
    ["sql", "SELECT 1", "--timeout", "nan"], ["sql", "SELECT 1", "--timeout", "inf"], ["sql", "SELECT 1", "--timeout", "1e10"],
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
    *([*cmd, "--min-duration", bad] for cmd in (["similar-audio", "f.wav"], ["embed", "f.wav", "--out", "e.npz"],
                                                 ["models", "evaluate", "--labels", "l.csv"])
      for bad in ("-1", "nan", "3601")),  # as `features build --min-duration` checks it
]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a) for a in BAD])
def test_bad_numbers_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "error: argument" in err and "Traceback" not in err
    assert len(err.splitlines()) == 1 and "usage:" not in err, err


#: Usage errors of each kind argparse finds (unknown option, missing argument, bad choice, missing value, options
#: that exclude each other, no command), and the parser (command) that must name itself in the one line.
USAGE_ERRORS = [
    (["publish", "--bogus"], "musim publish", "unrecognized arguments: --bogus"),
    (["similarity", "build", "--bogus", "1"], "musim similarity build", "unrecognized arguments: --bogus 1"),
    (["sql"], "musim sql", "the following arguments are required: query"),
    (["similar", "x", "--metric", "nope"], "musim similar", "argument --metric: invalid choice: 'nope'"),
    (["similarity", "build", "--k"], "musim similarity build", "argument --k: expected one argument"),
    (["publish", "--list", "--release"], "musim publish", "not allowed with argument --list"),
    (["similarity"], "musim similarity", "the following arguments are required: ACTION"),
    ([], "musim", "the following arguments are required: COMMAND"),
    (["nope"], "musim", "argument COMMAND: invalid choice: 'nope'"),
    (["library", "list", "--bogus\x1b[31m"], "musim library list", "unrecognized arguments: --bogus\\x1b[31m"),
]


@pytest.mark.parametrize(("argv", "prog", "said"), USAGE_ERRORS, ids=[" ".join(a) or "nothing" for a, _, _ in USAGE_ERRORS])
def test_a_usage_error_is_one_line_naming_the_command_and_its_help(argv, prog, said, capsys):
    """argparse printed its usage block, then `musim: error: ...`; the rule for every error is one line (exit 2)."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert err.startswith(f"{prog}: error: ") and said in err and "\x1b" not in err, err
    assert err.endswith(f"; see `{prog} --help`\n"), err


def test_help_still_shows_the_usage(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["publish", "--help"])
    out = capsys.readouterr().out
    assert stop.value.code == 0 and out.startswith("usage: musim publish [-h]") and "--release" in out


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


def _value_arguments() -> list[tuple[list[str], argparse.Action, list[argparse.Action]]]:
    """(subcommand path, an argument that takes a value, the subcommand's other required arguments) for every
    argument of every subcommand that takes a value."""
    found = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        for action in subs:
            for name, sub in dict.fromkeys(action.choices.items()):
                walk(sub, [*path, name])
        if subs:
            return
        takes = [a for a in parser._actions if a.nargs != 0]
        needed = [a for a in takes if a.required or (not a.option_strings and a.nargs not in ("?", "*"))]
        found.extend((path, a, [n for n in needed if n is not a]) for a in takes)

    walk(build_parser(), [])
    return found


VALUE_ARGUMENTS = _value_arguments()


def _argv(path: list[str], action: argparse.Action, others: list[argparse.Action], value: str) -> list[str]:
    argv = list(path)
    for other in others:  # filled in with something that parses, so that only `action`'s value is wrong
        filler = "1" if getattr(other.type, "__name__", "") in ("count", "number") else (other.choices and
                                                                                       next(iter(other.choices))) or "x"
        argv += [*other.option_strings[:1], str(filler)]
    return argv + [*action.option_strings[:1], value]


@pytest.mark.parametrize(("path", "action", "others"), VALUE_ARGUMENTS,
                         ids=[" ".join([*p, "/".join(a.option_strings) or a.dest]) for p, a, _ in VALUE_ARGUMENTS])
@pytest.mark.parametrize("value", ["", "  "])
def test_no_argument_takes_an_empty_value(path, action, others, value, capsys, tmp_path, monkeypatch):
    """An unset variable was read as the default: `similarity drop --dump "$DUMP"` dropped the only dump's build,
    `publish --rollback "$SNAP"` rolled back and pinned, `synth lastfm "$OUT"` wrote into the working folder,
    `ingest lastfm "$F"` ingested it, `--dump ""`/`--run ""` picked the latest. Every argument that takes a value
    (paths, ids, names, numbers) refuses an empty one in argparse: one error line naming it, exit 2, nothing done."""
    from musim.cli.options import may_be_empty

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "home"))
    if action.type is may_be_empty:  # an empty value that means something: --baselines "" (none)
        assert "/".join(action.option_strings) == "--baselines"
        return
    with pytest.raises(SystemExit) as stop:
        main(_argv(path, action, others, value))
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if ": error: " in line]
    name = "/".join(action.option_strings) if action.option_strings else action.metavar or action.dest
    assert stop.value.code == 2 and len(error_lines) == 1, err
    assert f"error: argument {name}: is empty" in error_lines[0] and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a home


def test_the_walk_sees_the_arguments_of_the_reported_commands():
    """The parametrised test above covers the options the review found read as the default."""
    seen = {(" ".join(p), "/".join(a.option_strings) or a.dest) for p, a, _ in VALUE_ARGUMENTS}
    assert {("similarity drop", "--dump"), ("publish", "--rollback"), ("synth lastfm", "out"), ("ingest lastfm", "path"),
            ("models evaluate", "--labels"), ("rejects", "--dump"), ("similar", "--dump"), ("similarity build", "--dump"),
            ("models train", "--dump"), ("quality check", "--dump"), ("quality report", "--run"),
            ("ingest lastfm", "--profiles"), ("acquire", "--path"), ("embed", "--out"),
            ("library add", "paths")} <= seen


def test_a_bare_rollback_still_means_the_snapshot_before_the_current(monkeypatch):
    """`--rollback` alone is a value of its own (not ""), so `--rollback ""` can be refused."""
    from musim.cli import lastfm

    seen = []
    monkeypatch.setattr(lastfm.snapshots, "rollback", lambda target=None: seen.append(target) or 1 / 0)
    for argv, target in ((["publish", "--rollback"], None), (["publish", "--rollback", "snap-1"], "snap-1")):
        assert main(argv) == 1  # the 1 / 0 after the call: the target it got is what counts
        assert seen.pop() == target
