"""Every `musim ...` command line the README quotes names a real command and real options.

The README's code blocks and its inline code spans (the command tables included) are read as a new user reads
them: each `musim COMMAND [SUBCOMMAND]` must be a command of the real parser (:func:`musim.cli.build_parser`), each
`--option` written after it must be one of that command's options, and each concrete line of a code block (no
`[...]` synopsis) must parse as it stands, so that it can be copied and pasted. The options of the
`python -m MODULE` lines it quotes (the demos, the settings, the benchmarks) must be in that module's `--help`.
"""

import argparse
import re
import shlex
from pathlib import Path

import pytest

from musim.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"

#: A `musim` invocation: the command words, then the rest of the span up to the next invocation.
_INVOCATION = re.compile(r"(?:^|(?<=[\s(`/]))musim ((?:[a-z][a-z-]*(?:\s+|$))+)(.*?)(?=(?<![\w-])musim [a-z]|$)")
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _children(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # noqa: SLF001 - argparse keeps its subparsers there, and nowhere public
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}  # noqa: SLF001


def quoted_commands(text: str) -> list[tuple[int, str, bool]]:
    """(line number, text, in a code block) of every README span that quotes a `musim` command: each inline code
    span holding one, and each code block line (with its `\\` continuation lines, without its `#` comment) holding
    one."""
    found = []
    for match in re.finditer(r"`([^`\n]*\bmusim [a-z][^`\n]*)`", text):
        found.append((text.count("\n", 0, match.start()) + 1, match.group(1).removeprefix(".venv/bin/"), False))
    in_block, lines = False, text.splitlines()
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        if line.startswith("```"):
            in_block = not in_block
            continue
        if in_block and re.search(r"\bmusim [a-z]", line):
            start = number
            while line.endswith("\\") and number < len(lines):
                line = line[:-1] + " " + lines[number].strip()
                number += 1
            line = shlex.join(shlex.split(line, comments=True))  # its comment left out
            found.append((start, line.removeprefix(".venv/bin/"), True))
    return found


def problems(text: str) -> list[str]:
    """What is wrong with the `musim` commands ``text`` quotes: an unknown command, an unknown option, a code
    block line that does not parse (checked once its command and options are known). One line each, naming the
    README line."""
    parser = build_parser()
    found = []
    for number, span, in_block in quoted_commands(text):
        before = len(found)
        for match in _INVOCATION.finditer(span):
            words, rest = match.group(1).split(), match.group(2)
            command, path = parser, []
            for word in words:
                child = _children(command).get(word)
                if child is None:
                    break
                command, path = child, [*path, word]
            if not path and match.start() > 0:
                continue  # prose inside a quoted message (`... 192,000 Hz musim accepts`), not a command line
            if not path or _children(command):  # none, or a group without its subcommand
                found.append(f"README line {number}: `musim {' '.join(words)}` is no musim command")
                continue
            known = _options(command)
            for option in _OPTION.findall(" ".join(words[len(path):]) + " " + rest):
                if option not in known:
                    found.append(f"README line {number}: `musim {' '.join(path)}` has no option {option}")
        if in_block and len(found) == before and not re.search(r"[\[\]|]|\.\.\.", span):
            argv = shlex.split(span.split("musim ", 1)[1])
            try:
                parser.parse_args(argv)
            except SystemExit as exc:
                if exc.code:
                    found.append(f"README line {number}: `musim {' '.join(argv)}` does not parse")
    return found


def test_every_musim_command_the_readme_quotes_exists_with_its_options():
    text = README.read_text(encoding="utf-8")
    assert len(quoted_commands(text)) > 50  # the README quotes commands in its code blocks and tables
    assert problems(text) == []


@pytest.mark.parametrize(("text", "wrong"), [
    ("Run `musim similar NAME [--k 10] [--bogus-option]` to see.", "has no option --bogus-option"),
    ("```bash\nmusim similarity build --min-listeners 5 --no-such-flag\n```\n", "has no option --no-such-flag"),
    ("```bash\nmusim models evaluate --labels x.csv \\\n    --baseline random\n```\n", "has no option --baseline"),
    ("Then `musim simlar NAME`.", "is no musim command"),
    ("Then `musim models` alone.", "is no musim command"),
    ("Then `musim models trian --epochs 1`.", "is no musim command"),
    ("```bash\n.venv/bin/musim simlar NAME  # a typo\n```\n", "is no musim command"),
    ("```bash\nmusim similar --k ten NAME\n```\n", "does not parse"),
])
def test_a_wrong_command_in_the_readme_is_reported_with_its_line(text, wrong, capsys):
    found = problems(text)
    assert len(found) == 1 and wrong in found[0] and found[0].startswith("README line ")


def test_musim_inside_a_quoted_message_is_prose_not_a_command():
    assert problems("A clip is refused (`sample rate 100 Hz is outside the 8,000-192,000 Hz musim accepts`).") == []


def test_every_command_answers_help():
    parser = build_parser()
    pending = [parser]
    while pending:
        command = pending.pop()
        assert command.format_help().startswith("usage: ")
        pending += list(dict.fromkeys(_children(command).values()))


def test_the_layout_table_names_every_module_the_layer_contract_places():
    """The README's Layout table and `[tool.importlinter]` (exhaustive: every module of musim has its layer) agree
    on which modules there are: each one the contract places is in the table, as `name.py` or `name/`."""
    import tomllib

    root = README.parent
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(each for each in config["tool"]["importlinter"]["contracts"] if each["type"] == "layers")
    modules = {name.strip() for layer in contract["layers"] for name in re.split(r"[|:]", layer)}
    text = README.read_text(encoding="utf-8")
    table = text[text.index("\n## Layout\n"):text.index("\n## Development\n")]
    named = set(re.findall(r"`(?:musim/)?(\w+)(?:\.py|/)`", table))
    assert modules - named == set()
    assert all((root / "musim" / f"{name}.py").exists() or (root / "musim" / name).is_dir() for name in modules)


def module_option_problems(text: str, help_of) -> list[str]:
    """What is wrong with the `python -m MODULE --option ...` lines ``text`` quotes in code spans: an option the
    module's ``--help`` (``help_of(module, argv)``, with ``--real`` kept: the real-music demo's own options) does
    not show."""
    found = []
    for match in re.finditer(r"`python -m ([\w.]+)((?: [^`\n]*)?)`", text):
        module, rest = match.group(1), match.group(2)
        options = _OPTION.findall(rest)
        if not options:
            continue  # `python -m musim.ingest.prescan_rules` does its work when run: never run here
        shown = help_of(module, ["--real"] if "--real" in options else [])
        number = text.count("\n", 0, match.start()) + 1
        found += [f"README line {number}: `python -m {module}` has no option {option}"
                  for option in options if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", shown)]
    return found


def _help_of(module: str, argv: list[str], capsys) -> str:
    import importlib

    found = importlib.import_module(module)
    if hasattr(found, "__path__"):  # a package: `python -m` runs its __main__
        found = importlib.import_module(f"{module}.__main__")
    with pytest.raises(SystemExit) as exited:
        found.main([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_every_python_m_option_the_readme_quotes_exists(capsys):
    text = README.read_text(encoding="utf-8")
    assert module_option_problems(text, lambda module, argv: _help_of(module, argv, capsys)) == []
    wrong = "Run `python -m musim.demo --no-familes`, or `python -m musim.demo --real [--corpus DIR] [--qiuck]`."
    assert module_option_problems(wrong, lambda module, argv: _help_of(module, argv, capsys)) == [
        "README line 1: `python -m musim.demo` has no option --no-familes",
        "README line 1: `python -m musim.demo` has no option --qiuck"]
