"""The README's failure rule (Output) for the commands with ``--json``: a command that fails prints nothing on stdout,
``--json`` or not, and one ``musim: error:`` line on stderr, exit 2 (a failed gate adds its report after that line:
``tests/features/test_cli.py``, ``tests/similarity``); only ``musim quality check`` prints its result. A script reading
``--json`` tells a failure by the exit status, never by a half document."""

from __future__ import annotations

import pytest

from tests.cli_output import run

FAILING = {
    "library add": (["library", "add", "/nonexistent/music", "--json", "--no-progress"], "no such file or folder"),
    "library remove": (["library", "remove", "nosuch", "--json"], "no library track 'nosuch'"),
    "library show": (["library", "show", "nosuch", "--json"], "nosuch"),
    "similarity build": (["similarity", "build", "--json"], "no dump has been ingested yet"),
    "models train": (["models", "train", "--json", "--epochs", "1", "--no-progress"], "musim features build"),
    "models evaluate": (["models", "evaluate", "--labels", "/nonexistent/labels.csv", "--json", "--no-progress"],
                        "no such labels file"),
}


@pytest.mark.parametrize("name", FAILING)
def test_a_failing_json_command_prints_nothing_on_stdout_and_one_error_line(name, capsys):
    argv, said = FAILING[name]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "", out
    assert err.startswith("musim: error: ") and err.count("\n") == 1 and said in err, err
