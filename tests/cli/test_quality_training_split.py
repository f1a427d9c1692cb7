"""`musim quality check --dataset training_split` where no split can be made says why, and what would make one."""

from __future__ import annotations

from tests.cli_output import run
from tests.lastfm_files import MB_A, MB_B, U1, U2, write_lines
from tests.library.conftest import write_audio, write_tags

CIRCULAR = "`musim quality check --dataset training_split` checks"


def test_a_library_only_home_is_told_the_split_does_not_apply_and_what_would_make_one(tmp_path, capsys):
    """In a home with a music library and no Last.FM dump, the command said NOTHING CHECKED and, as what to do, to
    run `musim quality check --dataset training_split`: the command just run. Model runs there train without a split;
    the reason now says so, and which commands make one (a dump's similarity build)."""
    root = tmp_path / "music"
    for i, artist in enumerate(("Kill Artist", "Other Band")):
        path = write_audio(root / artist / f"{i}.flac", "flac", seconds=3, seed=i, freq=220 + 60 * i)
        write_tags(path, "flac", artist=artist, title=f"Song {i}")
    assert run(capsys, "library", "add", str(root), "--no-progress", "--workers", "1")[0] == 0
    code, out, err = run(capsys, "quality", "check", "--dataset", "training_split", "--no-docs")
    assert code == 2 and "NOTHING CHECKED" in out
    (skipped,) = [line for line in out.splitlines() if line.startswith("training_split: skipped: ")]
    assert "does not apply" in skipped and "`musim ingest lastfm PATH`, then `musim similarity build`" in skipped
    assert CIRCULAR not in out + err
    assert err.splitlines() == [f"musim: error: nothing was checked: {skipped.removeprefix('training_split: skipped: ')}"]


def test_a_dump_without_a_similarity_build_is_told_to_build_it(tmp_path, capsys):
    write_lines(tmp_path / "d.tsv", [f"{U1}\t{MB_A}\tArtist A\t3", f"{U2}\t{MB_B}\tArtist B\t4"])
    assert run(capsys, "ingest", "lastfm", str(tmp_path / "d.tsv"))[0] == 0
    code, out, err = run(capsys, "quality", "check", "--dataset", "training_split", "--no-docs")
    assert code == 2 and "training_split: skipped: no training split without co-listening targets: no similarity " \
        "build yet: run `musim similarity build`" in out
    assert CIRCULAR not in out + err
