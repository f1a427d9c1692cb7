"""The top-level ``main``: musim's errors and unexpected ones are one line; ``-v`` shows the traceback."""

from __future__ import annotations

import pytest

from musim.cli import lastfm, main
from musim.errors import NotFoundError


def boom(args):
    raise RuntimeError("the disk caught fire\nsecond line of detail")


def musim_error(args):
    raise NotFoundError("no artist named '\x1b[2J'; did you mean: \x1b]0;owned\x07?")


def test_unexpected_error_is_one_line_with_exit_1(monkeypatch, capsys):
    monkeypatch.setattr(lastfm, "cmd_dumps", boom)
    assert main(["dumps"]) == 1
    err = capsys.readouterr().err
    assert err == "musim: error: RuntimeError: the disk caught fire (run with -v for the traceback)\n"


def test_verbose_shows_the_traceback(monkeypatch, capsys):
    monkeypatch.setattr(lastfm, "cmd_dumps", boom)
    assert main(["-v", "dumps"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "second line of detail" in err
    assert err.splitlines()[-1].startswith("musim: error: RuntimeError: the disk caught fire")


def test_error_messages_are_escaped(monkeypatch, capsys):
    monkeypatch.setattr(lastfm, "cmd_dumps", musim_error)
    assert main(["dumps"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert err == "musim: error: no artist named '\\x1b[2J'; did you mean: \\x1b]0;owned\\x07?\n"


@pytest.mark.parametrize("width", ["-1", "x"])
def test_width_is_checked(width, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--width", width, "dumps"])
    assert stop.value.code == 2 and "argument --width" in capsys.readouterr().err


def broken_pipe(args):
    raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_went_away_ends_the_command_quietly(monkeypatch, capsys):
    monkeypatch.setattr(lastfm, "cmd_dumps", broken_pipe)
    monkeypatch.setattr("os.dup2", lambda fd, fd2: None)  # pytest's captured stdout has no descriptor to replace
    assert main(["dumps"]) == 141
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("argv", "quieted"), [(["dumps"], True), (["-v", "dumps"], False)])
def test_tensorflows_start_up_lines_are_kept_off_stderr_unless_verbose(monkeypatch, argv, quieted):
    import musim.cli

    calls = []
    monkeypatch.setattr(musim.cli, "quiet_tensorflow_start", lambda: calls.append(True))
    monkeypatch.setattr(lastfm, "cmd_dumps", lambda args: 0)
    assert main(argv) == 0
    assert calls == ([True] if quieted else [])


def test_ctrl_c_inside_a_duckdb_query_is_an_interruption_not_a_crash(monkeypatch, capsys):
    """It printed "musim: error: RuntimeError: Query interrupted (run with -v ...)" with exit 1."""
    import threading

    import duckdb

    def interrupted(args):
        con = duckdb.connect()
        threading.Timer(0.3, con.interrupt).start()  # what DuckDB's SIGINT handler does
        con.execute("SELECT count(*) FROM range(10000000000) t1, range(10) t2").fetchall()

    monkeypatch.setattr(lastfm, "cmd_dumps", interrupted)
    assert main(["dumps"]) == 130
    assert capsys.readouterr().err == "musim: interrupted\n"
    monkeypatch.setattr(lastfm, "cmd_dumps", lambda args: (_ for _ in ()).throw(RuntimeError("Query interrupted")))
    assert main(["dumps"]) == 130


def full_disk(args):
    import duckdb

    raise duckdb.TransactionException('TransactionContext Error: Failed to commit: Could not write file '
                                      '"/data/warehouse.duckdb.wal": No space left on device')


def test_a_full_disk_is_one_line_with_what_to_do(monkeypatch, capsys):
    """It was "TransactionException: TransactionContext Error: cannot rollback ..." or the DuckDB text, exit 1."""
    monkeypatch.setattr(lastfm, "cmd_dumps", full_disk)
    assert main(["dumps"]) == 2
    assert capsys.readouterr().err == ("musim: error: cannot write /data/warehouse.duckdb.wal: No space left on "
                                       "device; nothing was stored: free space and rerun\n")


def test_ctrl_c_while_the_parser_is_built_is_an_interruption(monkeypatch, capsys):
    """Building the parser imports every command's module (a second): a Ctrl-C then printed a traceback."""
    import musim.cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(musim.cli, "build_parser", interrupted)
    assert main(["dumps"]) == 130
    assert capsys.readouterr() == ("", "musim: interrupted\n")


def test_sigint_while_the_commands_are_imported_ends_with_one_line_and_130(tmp_path):
    """`musim dumps` interrupted in its first second: a KeyboardInterrupt traceback, exit -2."""
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    ready = tmp_path / "importing"
    (tmp_path / "slow_area.py").write_text(textwrap.dedent(f"""
        import pathlib, time
        pathlib.Path({str(ready)!r}).touch()
        time.sleep(60)  # a slow import of a command's module
    """))
    script = "import sys, musim.cli as cli; cli.AREAS.append('slow_area'); sys.exit(cli.main(['dumps']))"
    env = {**__import__("os").environ, "PYTHONPATH": f"{tmp_path}:{__import__('os').environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out, err) == (130, "", "musim: interrupted\n")


def test_tensorflows_log_lines_are_off_unless_verbose(monkeypatch):
    """TensorFlow's level is read once, when it loads: main sets it first (a user's own setting stands)."""
    import os

    seen = []
    monkeypatch.setattr(lastfm, "cmd_dumps", lambda args: seen.append(os.environ.get("TF_CPP_MIN_LOG_LEVEL")) or 0)
    for argv, level, expected in ((["dumps"], None, "3"), (["-v", "dumps"], None, None), (["dumps"], "1", "1")):
        if level is None:
            monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
        else:
            monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", level)
        assert main(argv) == 0 and seen.pop() == expected


def test_a_float16_op_after_tensorflows_start_leaves_stderr_empty():
    """A successful `musim models train` ended with "E0000 ... util.cc:131] oneDNN supports DT_HALF only on platforms
    with AVX-512..." on stderr (at its first float16 op, after the start-up mute)."""
    import os
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import os, sys
        from musim.cli import lastfm, main

        def float16_work(args):
            import tensorflow as tf

            x = tf.random.normal((2, 16, 16, 3), dtype=tf.float16)
            tf.nn.conv2d(x, tf.random.normal((3, 3, 3, 4), dtype=tf.float16), 1, "SAME")
            print("level", os.environ.get("TF_CPP_MIN_LOG_LEVEL"), file=sys.stderr)
            return 0

        lastfm.cmd_dumps = float16_work
        sys.exit(main(["dumps"]))
    """)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # tests/conftest.py sets 2
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert (proc.returncode, proc.stderr) == (0, "level 3\n")


def _musim_dumps(stdout, tmp_path, **env):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "musim.cli", "dumps"], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=120, env=os.environ | {"MUSIM_HOME": str(tmp_path), **env})


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_an_output_on_a_full_disk_is_one_line_and_a_failing_status(tmp_path, unbuffered):
    """`musim dumps > /dev/full` was `musim: error: OSError: [Errno 28] No space left on device (run with -v for the
    traceback)` with exit 1 (stdout unbuffered), or Python's "Exception ignored in: <_io.TextIOWrapper name='<stdout>'"
    and exit 120 (buffered: the write failed at exit)."""
    import os

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        done = _musim_dumps(full, tmp_path, PYTHONUNBUFFERED=unbuffered)
    assert (done.returncode, done.stderr) == (2, "musim: could not write the output: No space left on device\n")


@pytest.mark.parametrize("unbuffered", ["1", ""])
@pytest.mark.parametrize("asked", [["--help"], ["dumps", "--help"]])
def test_a_help_on_a_full_disk_is_one_line_and_a_failing_status(tmp_path, unbuffered, asked):
    """`musim --help > /dev/full` exited 0 without a word: argparse drops a help it cannot write (stdout unbuffered),
    and its exit came before the CLI's flush (buffered)."""
    import os
    import subprocess
    import sys

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "musim.cli", *asked], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120,
                              env=os.environ | {"MUSIM_HOME": str(tmp_path), "PYTHONUNBUFFERED": unbuffered})
    assert (done.returncode, done.stderr) == (2, "musim: could not write the output: No space left on device\n")


@pytest.mark.parametrize("unbuffered", ["1", ""])
@pytest.mark.parametrize("argv", [["bogus"],                               # a usage error
                                  ["quality", "report", "--run", "nope"],  # an error of musim's
                                  ["-v", "ingest", "lastfm", "/nonexistent/plays.tsv"]])  # a traceback, then its line
def test_messages_to_a_full_disk_end_with_status_2(tmp_path, unbuffered, argv):
    """`musim bogus 2>/dev/full` exited 120 (Python's status when its flush of stderr at exit fails), and an error's
    line that could not be written (stderr unbuffered) raised a second error: exit 1. Each is 2 now, as an output
    that cannot be written is."""
    import os
    import subprocess
    import sys

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "musim.cli", *argv], stdout=subprocess.PIPE, stderr=full,
                              text=True, timeout=120,
                              env=os.environ | {"MUSIM_HOME": str(tmp_path), "PYTHONUNBUFFERED": unbuffered})
    assert (done.returncode, done.stdout) == (2, "")


def test_an_error_with_stderr_closed_stays_off_stdout(tmp_path):
    """`musim quality report --run nope 2>&-` printed its `musim: error:` line on stdout, among the output a pipeline
    reads (Python's sys.stderr is None there, and print(file=None) writes to stdout); it says nothing, exit 2."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "musim.cli", "quality", "report", "--run", "nope"],
                          stdout=subprocess.PIPE, text=True, timeout=120, preexec_fn=lambda: os.close(2),
                          env=os.environ | {"MUSIM_HOME": str(tmp_path)})
    assert (done.returncode, done.stdout) == (2, "")


def test_a_reader_gone_before_the_output_is_flushed_is_still_quiet(tmp_path):
    """`musim dumps | head -0`, stdout buffered: Python's flush at exit printed "Exception ignored ...
    BrokenPipeError" and exited 120; it is quiet, 141, as a reader gone mid-command always was."""
    import os

    read, write = os.pipe()
    os.close(read)
    try:
        done = _musim_dumps(write, tmp_path, PYTHONUNBUFFERED="")
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")


class _FullDisk:
    """A stdout whose writes find the disk full."""

    def write(self, text):
        import errno

        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self):
        pass

    def fileno(self):
        return 1


def test_a_write_to_a_full_stdout_is_told_apart_from_the_commands_own_errors(monkeypatch, capsys):
    import errno
    import sys

    monkeypatch.setattr("os.dup2", lambda fd, fd2: None)  # the test's stdout has no descriptor to replace
    monkeypatch.setattr(lastfm, "cmd_dumps", lambda args: print("a row"))
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    assert main(["dumps"]) == 2
    assert capsys.readouterr().err == "musim: could not write the output: No space left on device\n"
    assert isinstance(sys.stdout, _FullDisk)  # put back as it was

    def own_full_disk(args):  # a file the command writes, not its output: named as before
        raise OSError(errno.ENOSPC, "No space left on device", "/data/x.parquet")

    monkeypatch.setattr(lastfm, "cmd_dumps", own_full_disk)
    monkeypatch.setattr(sys, "stdout", sys.__stdout__)
    assert main(["dumps"]) == 2
    assert capsys.readouterr().err == "musim: error: /data/x.parquet: No space left on device\n"


def test_a_file_under_an_unwritable_musim_tmp_names_the_setting(monkeypatch, capsys, tmp_path):
    """A scratch file under MUSIM_TMP that could not be made (a read-only disk) was named, not the setting."""
    import errno

    monkeypatch.setenv("MUSIM_TMP", str(tmp_path))

    def read_only(args):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "features-audio-x.mp3"))

    monkeypatch.setattr(lastfm, "cmd_dumps", read_only)
    assert main(["dumps"]) == 2
    assert capsys.readouterr().err == (f"musim: error: MUSIM_TMP ({tmp_path}) is not writable: Read-only file system; "
                                       "point MUSIM_TMP at a folder musim may write\n")
    monkeypatch.setenv("MUSIM_TMP", str(tmp_path / "other"))  # a file elsewhere: named as before
    assert main(["dumps"]) == 2
    assert capsys.readouterr().err == f"musim: error: {tmp_path}/features-audio-x.mp3: Read-only file system\n"
