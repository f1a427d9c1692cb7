"""Every entry point's usage errors: one line, redacted, its control characters escaped (musim.terminal.Parser)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from musim.embedded import REPO
from musim.terminal import error_line, escaped, interrupted_once

BAD = "--bogus=https://user:hunter2@host/x\x1b[2J\u202e"


@pytest.mark.parametrize(("module", "prog"), [
    (["musim.cli", "sql", "select 1"], "musim sql"),
    (["musim.demo"], "python -m musim.demo"),
    (["musim.demo", "--real"], "python -m musim.demo --real"),
    (["musim.ui.standalone", "env"], "python -m musim.ui.standalone env"),
    (["musim.ui.standalone", "app"], "python -m musim.ui.standalone app"),
    (["musim.config"], "python -m musim.config"),
    (["musim.ingest.prescan_rules"], "python -m musim.ingest.prescan_rules"),
    (["musim.features.compile_kernels"], "python -m musim.features.compile_kernels"),
    (["benchmarks.run"], "python -m benchmarks.run"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_a_bad_option_is_one_line_and_exit_2_at_every_entry_point(module, prog, tmp_path):
    """`python -m musim.ui.standalone`, `python -m musim.config` and `python -m musim.ingest.prescan_rules` printed
    argparse's usage block before the error, and the demo's own parser printed the refused argument as given: a
    password in a URL, and an escape sequence that cleared the terminal. Now each says one line, as `musim` does."""
    done = subprocess.run([sys.executable, "-m", *module, BAD], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and done.stdout == "" and len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith(f"{prog}: error: ") and line.endswith(f"; see `{prog} --help`"), line
    assert "--bogus" in line and "hunter2" not in line and escaped("\x1b[2J\u202e") in line and "\x1b" not in line


@pytest.mark.parametrize("unbuffered", ["1", ""])
@pytest.mark.parametrize("module", [["musim.config"], ["musim.up"]], ids=" ".join)
def test_a_usage_error_to_a_full_disk_exits_2(module, unbuffered, tmp_path):
    """`python -m musim.config --bogus 2>/dev/full` exited 120: the parser dropped the line it could not write, and
    Python's flush of stderr at exit failed on what was left in its buffer."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", *module, "--bogus"], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=full, text=True, timeout=120,
                              env={**os.environ, "MUSIM_HOME": str(tmp_path), "PYTHONUNBUFFERED": unbuffered})
    assert (done.returncode, done.stdout) == (2, "")


@pytest.mark.parametrize(("module", "prog"), [(["musim.up"], "musim up"), (["musim.demo"], "musim demo"),
                                              (["musim.ui.standalone", "env"], "python -m musim.ui.standalone")])
def test_an_error_of_musim_at_an_entry_point_is_one_escaped_line_and_exit_2(module, prog, tmp_path):
    """`make up`, the demo and the page's runner printed the error they stopped on as it was, exit 1: a MUSIM_HOME
    holding an escape sequence cleared the terminal. Now as `musim` says it: escaped, redacted, exit 2."""
    home = tmp_path / "home$\x1b[2J"
    done = subprocess.run([sys.executable, "-m", *module], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MUSIM_HOME": str(home)})
    assert done.returncode == 2 and done.stdout == "" and done.stderr.splitlines() == [
        f"{prog}: error: MUSIM_HOME {tmp_path}/home$\\x1b[2J holds '$', which Airflow reads as a variable in the paths "
        "of its home and logs (they would land elsewhere): choose a MUSIM_HOME without '$'"], done.stderr


def test_error_line_keeps_the_lines_of_a_report_and_hides_a_password():
    class Report(Exception):
        multiline = True

    assert error_line("p", Report("failed: https://u:hunter2@host/x\nlog \x1b[31mtail")) == (
        "p: error: failed: https://u:***@host/x\nlog \\x1b[31mtail")
    assert error_line("p", ValueError("a\nb")) == "p: error: a\\nb"


def test_escaped_shows_controls_and_keeps_the_rest():
    assert escaped("a\tb\nc\x1b[31m\u202ed\udcff é 椎名") == "a\\tb\\nc\\x1b[31m\\u202ed\\xff é 椎名"
    assert escaped(12) == "12"


#: Each entry point but `musim` (tests/cli/test_init.py), run so that it stops on an error of musim's, in one line:
#: its arguments and environment. The pre-scan rules' generator has no such error: it succeeds, and says so on stderr.
ERRORS = {
    "musim.up": ([], {"MUSIM_HOME": "/tmp/home$x"}),
    "musim.demo": ([], {"MUSIM_HOME": "/tmp/home$x"}),
    "musim.demo --real": (["--corpus", "/nonexistent/corpus"], {}),
    "musim.ui.standalone env": ([], {"MUSIM_HOME": "/tmp/home$x"}),
    "musim.config": ([], {"MUSIM_DUCKDB_THREADS": "many"}),
    "musim.ingest.prescan_rules": ([], {}),
}


def _entry_point(name: str, tmp_path, *, unbuffered: str = "", **streams) -> subprocess.CompletedProcess:
    args, env = ERRORS[name]
    return subprocess.run([sys.executable, "-m", *name.split(), *args], cwd=REPO, text=True, timeout=120,
                          env={**os.environ, "MUSIM_HOME": str(tmp_path), "PYTHONUNBUFFERED": unbuffered, **env},
                          **streams)


@pytest.mark.parametrize("unbuffered", ["1", ""])
@pytest.mark.parametrize("name", ERRORS)
def test_an_entry_points_message_to_a_full_disk_ends_with_status_2(name, unbuffered, tmp_path):
    """`python -m musim.up 2>/dev/full` on a bad setting exited 1: its error line, unwritable, raised a second error
    with a traceback nobody could read (and 120, Python's status when its flush at exit fails, when buffered). Every
    entry point ends as `musim` does now: 2, nothing on stdout."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        done = _entry_point(name, tmp_path, unbuffered=unbuffered, stdout=subprocess.PIPE, stderr=full)
    assert (done.returncode, done.stdout) == (2, "")


@pytest.mark.parametrize("name", ERRORS)
def test_an_entry_points_message_with_stderr_closed_stays_off_stdout(name, tmp_path):
    """`python -m musim.up 2>&-` printed its `error:` line on stdout (Python's sys.stderr is None there, and
    print(file=None) writes to stdout); every entry point says nothing now, exit 2."""
    done = _entry_point(name, tmp_path, stdout=subprocess.PIPE, preexec_fn=lambda: os.close(2))
    assert (done.returncode, done.stdout) == (2, "")


@pytest.mark.parametrize("args", [[], ["--markdown"]], ids=["values", "markdown"])
def test_the_settings_to_a_full_disk_are_one_line_and_exit_2(args, tmp_path):
    """`python -m musim.config > /dev/full` ended on a traceback, exit 1; it says so in one line, as `musim` does."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "musim.config", *args], cwd=REPO, text=True, timeout=120,
                              stdout=full, stderr=subprocess.PIPE, env={**os.environ, "MUSIM_HOME": str(tmp_path)})
    assert (done.returncode, done.stderr) == (
        2, "python -m musim.config: could not write the output: No space left on device\n")


def test_a_file_an_entry_point_cannot_write_is_one_line_and_exit_2(capsys):
    """`python -m musim.ingest.prescan_rules` in a read-only checkout ended on a traceback; it names the file and
    why, redacted and escaped, exit 2."""
    from musim.terminal import run_entry_point

    def main() -> int:
        raise PermissionError(13, "Permission denied", "/ro/https://u:hunter2@h/\x1b[2J.h")

    assert run_entry_point("prog", main) == 2
    assert capsys.readouterr().err == "prog: error: /ro/https://u:***@h/\\x1b[2J.h: Permission denied\n"


def test_an_entry_point_that_exits_with_a_message_says_it_and_exits_1(capsys):
    """As Python does for `raise SystemExit("message")`; the status of `SystemExit(3)` is kept."""
    from musim.terminal import run_entry_point

    def says() -> int:
        raise SystemExit("stopped \x1b[2J")

    def three() -> int:
        raise SystemExit(3)

    assert run_entry_point("prog", says) == 1 and capsys.readouterr().err == "stopped \\x1b[2J\n"
    assert run_entry_point("prog", three) == 3


@pytest.mark.parametrize("process_ends", [False, True])
def test_the_first_ctrl_c_of_the_block_interrupts_and_the_ones_after_are_ignored(process_ends):
    """A second Ctrl-C while the first was handled interrupted the handling (its line cut, or the process killed by
    the signal as the interpreter exited); the handler is put back after the block unless the process ends then, when
    SIGINT stays ignored through the exit (Python resets its own handler to the system's default as it exits)."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # a process started with SIGINT ignored
    try:
        handled = []
        with pytest.raises(KeyboardInterrupt), interrupted_once(process_ends=process_ends):
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                signal.raise_signal(signal.SIGINT)  # pressed again while the first is handled: ignored
                signal.raise_signal(signal.SIGINT)
                handled.append(True)
                raise
        assert handled == [True]
        after = signal.getsignal(signal.SIGINT)
        assert after == (signal.SIG_IGN if process_ends else signal.default_int_handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with interrupted_once(process_ends=process_ends):  # no Ctrl-C: the handler before, whatever comes after
            pass
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
