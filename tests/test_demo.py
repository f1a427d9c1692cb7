"""`python -m musim.demo`: what its help says of the steps it skips."""

from __future__ import annotations

import pytest

from musim.demo import main


def test_no_families_names_every_family_of_step_8(capsys):
    """`--no-families` said it skipped "the classifier and autoencoder families"; step 8 trains contrastive too."""
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert stop.value.code == 0
    skipped = text.split("--no-families", 1)[1]
    assert all(family in skipped for family in ("classifier", "autoencoder", "contrastive")), skipped
