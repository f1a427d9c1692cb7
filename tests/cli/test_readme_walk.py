"""What a new user meets walking through README.md's commands on a fresh home: each command's output says what it
shows, as the README's neighbours of the same kind do (`musim rejects`, `musim sql`)."""

from __future__ import annotations

import json

from tests.cli_output import run
from tests.library.conftest import write_audio


def test_previews_says_when_limit_cut_the_list(tmp_path, capsys):
    """`musim previews --limit 2` on three stored tracks printed two rows and "(2 previews)", as if there were two:
    a cut list says more exist (`rejects` says `(50 of 274 …; --limit 0 for all)`, `sql` "more exist"); a list the
    limit did not cut, and `--json`, are as before."""
    root = tmp_path / "music"
    for i in range(3):
        write_audio(root / "Tone Artist" / f"{i}.flac", "flac", seconds=6, seed=i, freq=220 + 90 * i)
    assert run(capsys, "library", "add", str(root), "--no-progress")[0] == 0

    code, out, err = run(capsys, "previews", "--limit", "2")
    assert code == 0 and out.count("Tone Artist") == 2
    assert "(2 previews; more exist: --limit 0 for all)" in err
    code, out, err = run(capsys, "previews", "--limit", "3")
    assert code == 0 and out.count("Tone Artist") == 3 and "(3 previews)" in err and "more exist" not in err
    code, out, err = run(capsys, "previews")
    assert code == 0 and "(3 previews)" in err
    code, out, _ = run(capsys, "previews", "--limit", "2", "--json")
    assert code == 0 and len(json.loads(out)) == 2
