"""With two champions (two families), `similar-tracks` and `similar --audio` answered by default with the champion
promoted last, while `similar-audio` and `embed` serve the one published last: two answers to one question. Both now
take the champion whose neighbours were published last."""

from __future__ import annotations

import json

import numpy as np

from musim import serving, warehouse
from musim.cli import main
from musim.models import promotion, registry
from musim.models.families import serving_manifest
from musim.models.new_audio import serving_choice
from musim.models.serve import publish_neighbors
from musim.storage import open_store
from tests.models.conftest import _report, _truth, insert_catalogue


def _register(con, tmp_path, family: str) -> str:
    f = tmp_path / f"{family}.keras"
    f.write_bytes(b"not really a keras file")
    return registry.register_model(con, open_store(), family=family, model_file=f, report=_report(_truth(), 0.3),
                                   params={}, target_metric="seed", dump_id="d" * 64).version


def _answer(capsys, *argv: str) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_similar_tracks_and_similar_audio_default_to_the_champion_published_last(tmp_path, capsys):
    rng = np.random.default_rng(3)
    owner = np.repeat(np.arange(4) + 1, 3)
    ids = [f"t{i:02d}" for i in range(owner.size)]
    with warehouse.writer() as con:
        insert_catalogue(con, owner, ids)
        siamese, descriptors = _register(con, tmp_path, "siamese"), _register(con, tmp_path, "descriptors")
    assert (siamese, descriptors) == ("siamese-1", "descriptors-1")
    for version in (siamese, descriptors):  # descriptors-1 promoted last
        with warehouse.writer() as con:
            assert promotion.promote(con, version, force=True).promoted
    for family, version in (("descriptors", descriptors), ("siamese", siamese)):  # siamese-1 published last
        with warehouse.writer() as con:
            publish_neighbors(con, family, version, ids, rng.normal(size=(owner.size, 4)).astype(np.float32), k=3,
                              store=open_store(), snapshot=True, manifest=serving_manifest(family))
    with serving.open_snapshot() as con:
        assert serving_choice(con) == (siamese, None)  # what `similar-audio` and `embed` serve
    tracks = _answer(capsys, "similar-tracks", "--id", ids[0])
    assert tracks["model"] == siamese and {m for m in tracks["models"]} == {siamese, descriptors}
    assert _answer(capsys, "similar", "Artist 1", "--audio")["model"] == siamese
    assert _answer(capsys, "similar-tracks", "--id", ids[0], "--model", descriptors)["model"] == descriptors
