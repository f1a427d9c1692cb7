"""`musim synth lastfm` as a user runs it: usage errors are one line with exit code 2, a folder's other files
are kept, and a seed writes the same bytes."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from musim.synth.lastfm import PLAYS_FILE, PROFILE_FILE


def synth(*args, home):
    env = dict(os.environ, MUSIM_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "musim.cli", "synth", "lastfm", *map(str, args)], env=env,
                          capture_output=True, text=True, check=False)


def test_a_folder_with_a_real_dump_is_refused_in_one_line_and_kept(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / PROFILE_FILE).write_text("real profiles\n")
    proc = synth(out, "--users", 20, "--artists", 8, home=tmp_path / "home")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert f"{out / PROFILE_FILE} exists" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [PROFILE_FILE]
    assert (out / PROFILE_FILE).read_text() == "real profiles\n"


def test_a_control_character_in_the_folder_name_is_escaped(tmp_path):
    """The summary printed OUT raw: an ESC in it drove the terminal."""
    proc = synth(tmp_path / "out\x1b[31mred", "--users", 5, "--artists", 3, home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "out\\x1b[31mred/" in proc.stdout


def test_bad_sizes_are_one_line_usage_errors(tmp_path):
    for args in (["--users", 0], ["--users", -3], ["--artists", 10**12], ["--artists", 1], ["--communities", 0],
                 ["--artists", 5, "--communities", 6], ["--quirks", 1.5], ["--seed", -1]):
        proc = synth(tmp_path / "x", *args, home=tmp_path / "home")
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)
    assert not (tmp_path / "x" / PLAYS_FILE).exists()


@pytest.mark.parametrize(("args", "option"), [(["--users", 10**9], "--users 1,000,000,000 with up to 50 artists each"),
                                              (["--users", 1, "--artists", 10**9], "--artists 1,000,000,000")])
def test_a_size_that_cannot_fit_in_memory_is_one_line_before_anything_is_allocated(args, option, tmp_path):
    """`musim synth lastfm OUT --users 1000000000` died in a MemoryError (exit 1, "run with -v for the traceback")
    once it had taken what memory it could. Now the dump's size is weighed against the memory available first: one
    line naming the option, the memory it needs and the memory there is (exit 2), nothing written. Run under a 4 GiB
    limit on the address space (`ulimit -v`), which the memory available follows, so that no run takes more."""
    import resource

    def limited():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    proc = subprocess.run([sys.executable, "-m", "musim.cli", "synth", "lastfm", str(tmp_path / "x"), *map(str, args)],
                          env=dict(os.environ, MUSIM_HOME=str(tmp_path / "home"), OPENBLAS_NUM_THREADS="1"),
                          capture_output=True, text=True, check=False, preexec_fn=limited, timeout=120)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    found = re.fullmatch(rf"musim: error: {option} needs about ([\d,.]+) GiB of memory to generate, more than the "
                         rf"([\d.]+) GiB available here: lower {option.split()[0]}", lines[0])
    assert found and float(found[1].replace(",", "")) > 100 and float(found[2]) <= 4.0, lines[0]
    assert not (tmp_path / "x").exists()


def test_the_same_seed_writes_the_same_bytes(tmp_path):
    for name in ("a", "b"):
        assert synth(tmp_path / name, "--users", 40, "--artists", 15, "--seed", 9, "--quirks", 0.02,
                     home=tmp_path / "home").returncode == 0
    for file in (PLAYS_FILE, PROFILE_FILE):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
