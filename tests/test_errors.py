"""musim.errors: the shared check of parameter names."""

from __future__ import annotations

import pytest

from musim.errors import ParameterError, check_known


def test_check_known_names_every_unknown_and_every_known_name():
    check_known("autoencoder parameter", {"epochs": 3}, {"epochs", "seed"})  # all known: no error
    with pytest.raises(ParameterError, match=r"^unknown autoencoder parameter\(s\) a, z; known: epochs, seed$"):
        check_known("autoencoder parameter", ["z", "epochs", "a"], ("seed", "epochs"))


@pytest.mark.parametrize(("family", "what"), [("autoencoder", "autoencoder"), ("cnn_classifier", "classifier"),
                                              ("contrastive", "contrastive")])
def test_every_family_names_its_known_parameters(family, what):
    from musim.models.autoencoder import AutoencoderParams
    from musim.models.classifier import ClassifierParams
    from musim.models.contrastive import ContrastiveParams

    params = {"autoencoder": AutoencoderParams, "cnn_classifier": ClassifierParams,
              "contrastive": ContrastiveParams}[family]
    with pytest.raises(ParameterError, match=rf"^unknown {what} parameter\(s\) nope; known: .*epochs"):
        params.from_json({"nope": 1})


def test_a_line_break_in_a_name_keeps_the_error_on_one_line(tmp_path, capsys):
    """`musim ingest lastfm $'a\\nb.tsv'` printed its error over two lines (README: one line, controls escaped)."""
    from musim.cli import main

    assert main(["ingest", "lastfm", str(tmp_path / "a\nb.tsv")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "a\\nb.tsv: no such file" in err
    assert main(["library", "add", str(tmp_path / "c\nd.ogg")]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
