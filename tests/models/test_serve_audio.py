"""New audio against every family (`musim similar-audio`, `musim embed`, `musim models publish`), on real
audio: a tiny catalogue synthesized, acquired and featurised through the library (tests.pipeline_data),
one tiny CNN classifier and one tiny autoencoder trained on it and published, then real files embedded
with each family's own features and embedding."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from musim.cli import main
from musim.synth.files import write_clip
from musim.synth.sound import synthesize_clip
from tests.models.conftest import labelled_clips

CNN = {"conv_filters": [4, 8], "embedding_units": 128, "epochs": 1, "batch_size": 16, "heldout_share": 0.34}
AE = {"conv_filters": [8, 4], "epochs": 1, "batch_size": 16, "perplexity": 5, "k": 4}


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """The tiny pipeline (24 artists x 3 clips of 6 s) with cnn_classifier-1 then autoencoder-1 promoted and
    published (the autoencoder last: the serving model). Its MUSIM_HOME is set again by ``home`` per test."""
    from musim import serving, warehouse
    from musim.models import promotion
    from musim.models.families import load_inputs, run_family
    from tests.pipeline_data import prepare

    root = tmp_path_factory.mktemp("serve_audio")
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, root / "home")
        summary = prepare(root)
        with warehouse.writer() as con:
            inputs = load_inputs(con, test_share=0.4)
            for family, params in (("cnn_classifier", CNN), ("autoencoder", AE)):
                out = run_family(family, con=con, inputs=inputs, params=params, n_boot=100, promote=False,
                                 publish=True)
                promotion.promote(con, out.entry.version, force=True)
            serving.publish(con)
            previews = con.execute("SELECT track_id, object_key, format FROM track ORDER BY track_id").fetchall()
    return {"root": root, "home": root / "home", "tracks": summary["tracks"], "previews": previews}


def _env(mp: pytest.MonkeyPatch, home: Path) -> None:
    mp.setenv("MUSIM_HOME", str(home))
    for var in ("MUSIM_WAREHOUSE", "MUSIM_SERVING_DIR", "MUSIM_OBJECT_STORE", "MUSIM_LANDING", "MUSIM_TMP"):
        mp.delenv(var, raising=False)
    mp.setenv("MUSIM_DUCKDB_MEMORY", "2GB")
    mp.setenv("MUSIM_DUCKDB_THREADS", "2")


@pytest.fixture
def home(catalogue, monkeypatch):
    _env(monkeypatch, catalogue["home"])
    return catalogue


def _preview_file(cat, folder: Path, i: int = 0) -> tuple[str, Path]:
    """A catalogue track's preview, as a file: the exact bytes its features were computed from."""
    from musim.storage import open_store

    track_id, key, fmt = cat["previews"][i]
    path = folder / f"preview-{i}.{fmt}"
    open_store().download(key, path)
    return track_id, path


def _new_clips(folder: Path, n: int = 2, community: int = 1) -> list[Path]:
    out = []
    for k in range(n):
        y = synthesize_clip(community=community, artist_seed=777, track_no=k, sr=22050, duration=8.0)
        out.append(write_clip(folder / f"new-{k}.wav", y, sr=22050))
    return out


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _online(version: str, family: str):
    from musim.features import open_online

    return open_online(f"track_{family}_embedding", int(version.rsplit("-", 1)[1]))


def test_the_cli_offers_every_family():
    from musim.cli.audio import FAMILY_CHOICES
    from musim.models.families import FAMILIES

    assert FAMILY_CHOICES == tuple(FAMILIES)


@pytest.mark.parametrize(("family", "dim"), [("cnn_classifier", 128), ("autoencoder", 64 * 16 * 4)])
def test_embed_gives_the_published_vector_of_a_catalogue_track(home, tmp_path, capsys, family, dim):
    """A catalogue track's audio, embedded as new audio, gets exactly the vector published for it: the
    same features (slices / log-mel) and the same embedding (mean of the 128-unit layer / flattened code)."""
    track_id, path = _preview_file(home, tmp_path, 5)
    code, out, err = _run(capsys, "embed", str(path), "--family", family, "--out", str(tmp_path / "e"), "--json")
    assert code == 0, err
    doc = json.loads(out)
    version = f"{family}-1"
    assert doc["model_version"] == version and doc["family"] == family and doc["dim"] == dim
    with np.load(tmp_path / "e.npz") as z:
        emb = z["embeddings"]
        assert z["files"].tolist() == [str(path)] and str(z["family"]) == family
    online = _online(version, family)
    row = online.ids.tolist().index(track_id)
    np.testing.assert_allclose(emb[0], online.matrix[row], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("family", ["cnn_classifier", "autoencoder"])
def test_similar_audio_with_each_family(home, tmp_path, capsys, family):
    files = _new_clips(tmp_path)
    code, out, err = _run(capsys, "similar-audio", *map(str, files), "--family", family, "--k", "4", "--json")
    assert code == 0, err
    found = json.loads(out)
    assert found["model_version"] == f"{family}-1" and found["family"] == family and found["scoring"] == "cosine"
    assert len(found["artists"]) == 4 and len(found["tracks"]) == 4
    scores = [a["score"] for a in found["artists"]]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 + 1e-9 for s in scores)

    # the scores: cosine of the query's mean embedding with the artist's mean track embedding / the track's
    from musim.models.new_audio import embed_files

    _, q, _, _ = embed_files(files, family=family)
    online = _online(f"{family}-1", family)
    ids = online.ids.tolist()
    query = q.mean(axis=0)

    def cos(a, b):
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    top = found["artists"][0]
    mine = [i for i, t in enumerate(ids) if t in _tracks_of(top["artist_id"])]
    assert top["score"] == pytest.approx(cos(query, online.matrix[mine].mean(axis=0)), rel=1e-4)
    first = found["tracks"][0]
    assert first["score"] == pytest.approx(cos(query, online.matrix[ids.index(first["track_id"])]), rel=1e-4)

    # through an ANN index (forced: built from the online store): the same artists and tracks
    code, out, err = _run(capsys, "similar-audio", *map(str, files), "--family", family, "--k", "4", "--json",
                          "--search", "ann")
    assert code == 0, err
    via = json.loads(out)
    assert via["search"] == "ann" and found["search"] == "exact"
    for part in ("artists", "tracks"):
        assert [(m["artist_id"], m["track_id"]) for m in via[part]] == [(m["artist_id"], m["track_id"])
                                                                       for m in found[part]]
        np.testing.assert_allclose([m["score"] for m in via[part]], [m["score"] for m in found[part]], atol=1e-5)

    # a catalogue track's own audio finds that very track first
    track_id, path = _preview_file(home, tmp_path, 10)
    code, out, _ = _run(capsys, "similar-audio", str(path), "--family", family, "--k", "3", "--json")
    again = json.loads(out)
    assert code == 0 and again["tracks"][0]["track_id"] == track_id
    assert again["tracks"][0]["score"] == pytest.approx(1.0, abs=1e-4)


def _tracks_of(artist_id: int) -> set[str]:
    from musim import serving

    con = serving.open_snapshot()
    try:
        return {r[0] for r in con.execute("SELECT track_id FROM track WHERE artist_id = ?", [artist_id]).fetchall()}
    finally:
        con.close()


def test_the_serving_model_is_the_default_and_publish_chooses_it(home, tmp_path, capsys):
    files = _new_clips(tmp_path, n=1)
    code, out, err = _run(capsys, "similar-audio", str(files[0]), "--k", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["model_version"] == "autoencoder-1"       # the champion published last
    code, out, _ = _run(capsys, "embed", str(files[0]), "--out", str(tmp_path / "d.npz"), "--json")
    assert code == 0 and json.loads(out)["model_version"] == "autoencoder-1"

    code, out, err = _run(capsys, "models", "publish", "cnn_classifier:champion")
    assert code == 0, err
    assert out.startswith("cnn_classifier-1: neighbours of 24 artists") and "snapshot" in out
    code, out, _ = _run(capsys, "similar-audio", str(files[0]), "--k", "2", "--json")
    assert code == 0 and json.loads(out)["model_version"] == "cnn_classifier-1"
    code, out, _ = _run(capsys, "similar-audio", str(files[0]), "--k", "2")
    assert code == 0 and "(cnn_classifier-1, cosine scores)" in out

    # a version of another family than --family says, an unknown family, a family without a champion
    code, _, err = _run(capsys, "embed", str(files[0]), "--family", "autoencoder", "--model", "cnn_classifier-1",
                        "--out", str(tmp_path / "x.npz"))
    assert code == 2 and "is a cnn_classifier model, not autoencoder" in err
    with pytest.raises(SystemExit):
        main(["similar-audio", str(files[0]), "--family", "nope"])
    capsys.readouterr()
    code, _, err = _run(capsys, "similar-audio", str(files[0]), "--family", "siamese")
    assert code == 2 and "no champion" in err
    assert "this reads the published snapshot, where a version promoted since appears once published" in err


def test_models_evaluate_compares_several_versions_and_baselines_on_the_same_tracks(home, tmp_path, capsys):
    from musim.models.label_eval import retrieval_report
    from musim.models.labels import read_labels
    from musim.models.new_audio import embed_files

    rows = labelled_clips(tmp_path, duration=6.0, artists=2, per_artist=2, seed=300, ext="wav",
                          group=("package", lambda k: "pack"))
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    args = ["models", "evaluate", "--labels", str(tmp_path / "labels.csv"), "--group-by", "package",
            "--model", "cnn_classifier-1", "--model", "autoencoder-1", "--baselines", "random", "--n-boot", "100"]
    code, out, err = _run(capsys, *args, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert [r["name"] for r in doc["reports"]] == ["cnn_classifier-1", "autoencoder-1", "baseline: random"]
    assert doc["model_versions"] == ["cnn_classifier-1", "autoencoder-1"] and doc["model_version"] is None
    assert doc["tracks"] == 4 and not doc["skipped"]
    labels = read_labels(tmp_path / "labels.csv", group_by="package")
    _, vectors, _, _ = embed_files([str(p) for p in labels.paths], version="autoencoder-1")
    alone = retrieval_report("autoencoder-1", labels.artists, labels.groups, vectors=vectors, n_boot=100)
    assert doc["reports"][1]["summary"]["auc"] == pytest.approx(alone.summary["auc"])  # the same as on its own
    code, out, _ = _run(capsys, *args)
    assert code == 0 and "cnn_classifier-1" in out and "autoencoder-1" in out and "auc_group" in out


def test_the_real_demo_shows_similar_tracks_of_a_file_by_each_version(home, tmp_path, capsys):
    from musim import demo_real

    _, path = _preview_file(home, tmp_path, 2)
    demo_real.print_examples([(path, "Someone")], {}, ["cnn_classifier-1", "autoencoder-1", "contrastive-9"])
    out = capsys.readouterr().out
    assert f"{path.name} by Someone:" in out
    lines = [line.split() for line in out.splitlines() if line.strip().startswith(("cnn_classifier-", "autoencoder-"))]
    assert [line[0] for line in lines] == ["cnn_classifier-1", "autoencoder-1"]
    assert all(line[1] == "0/5" and line[2] == "same" for line in lines)  # an unknown composer: none marked
    assert "contrastive-9:" in out  # an unknown version: its error, the others still shown


def test_embed_refuses_a_folder_as_out_before_embedding(home, tmp_path, capsys):
    _, path = _preview_file(home, tmp_path, 5)
    code, out, err = _run(capsys, "embed", str(path), "--family", "cnn_classifier", "--out", str(tmp_path))
    assert code == 2 and f"--out {tmp_path} is a folder: give a file, e.g. --out {tmp_path / 'embeddings.npz'}" in err
    assert not Path(f"{tmp_path}.npz").exists()


def test_embed_makes_the_out_folder_only_when_it_writes(home, tmp_path, capsys):
    """The folder of --out was made before the model was resolved, so a failed command left it empty behind."""
    _, path = _preview_file(home, tmp_path, 5)
    out = tmp_path / "new" / "deeper" / "e.npz"
    code, _, err = _run(capsys, "embed", str(path), "--model", "cnn_classifier-99", "--out", str(out))
    assert code == 2 and "cnn_classifier-99" in err and not (tmp_path / "new").exists()
    (tmp_path / "a-file").write_text("x")
    code, _, err = _run(capsys, "embed", str(path), "--out", str(tmp_path / "a-file" / "e.npz"))
    assert code == 2 and err == (f"musim: error: cannot make the folder {tmp_path / 'a-file'}: "
                                 f"{tmp_path / 'a-file'} is a file, not a folder\n")
    code, _, err = _run(capsys, "embed", str(path), "--family", "cnn_classifier", "--out", str(out))
    assert code == 0 and out.is_file()


def test_a_damaged_embedding_manifest_says_to_publish_the_version_again(home, tmp_path, capsys):
    """A cut embedding.json was "musim: error: JSONDecodeError: Expecting ..." without the object or a remedy. The
    manifest read is the one the served snapshot records for the version."""
    from musim import serving
    from musim.models.manifests import served_manifest_key
    from musim.storage import open_store

    _, path = _preview_file(home, tmp_path, 5)
    snap = serving.open_snapshot()
    try:
        key = served_manifest_key(snap, "cnn_classifier-1")
    finally:
        snap.close()
    store = open_store()
    assert key is not None and key.startswith("models/cnn_classifier/cnn_classifier-1/manifests/")
    good = store.get_bytes(key)
    store.put_bytes(key, good[: len(good) // 2])
    try:
        code, _, err = _run(capsys, "embed", str(path), "--model", "cnn_classifier-1", "--out", str(tmp_path / "e"))
    finally:
        store.put_bytes(key, good)
    assert code == 2 and err.startswith(f"musim: error: object {key} in {store.root_url} is damaged: not JSON (")
    assert err.endswith("): publish cnn_classifier-1 again (`musim models publish cnn_classifier-1`)\n")


def _served_manifest_key(version: str) -> str:
    from musim import serving
    from musim.models.manifests import served_manifest_key

    snap = serving.open_snapshot()
    try:
        key = served_manifest_key(snap, version)
    finally:
        snap.close()
    assert key is not None
    return key


@pytest.mark.parametrize(("edit", "problem"), [
    (lambda d: [d], "a serving manifest is a JSON object, this one is a JSON list"),
    (lambda d: d | {"track_view": None}, "track_view is null, not a view reference (name:version)"),
    (lambda d: d | {"ann": "voyager"}, 'ann is "voyager", not null or an object'),
    (lambda d: d | {"min_duration_s": -1}, "min_duration_s is -1, not null or a number of seconds >= 0"),
    (lambda d: d | {"excerpt_s": 0, "excerpt_anchor": 0.5}, "excerpt_s is 0, not null or a number of seconds > 0"),
    (lambda d: d | {"excerpt_s": 60, "excerpt_anchor": "start"},
     'excerpt_anchor is "start", not a fraction in [0, 1] beside excerpt_s (or both null)'),
    (lambda d: d | {"excerpt_s": None, "excerpt_anchor": 0.5},
     "excerpt_anchor is 0.5, not a fraction in [0, 1] beside excerpt_s (or both null)"),
    (lambda d: d | {"input_params": d["input_params"] | {"n_mels": "64"}},
     "input_params: n_mels must be a positive integer, got '64'"),
])
def test_a_serving_manifest_edited_by_hand_is_named_with_what_is_wrong(home, tmp_path, capsys, edit, problem):
    """A manifest edited by hand was "musim: error: AttributeError: 'list' object has no attribute 'get'", "ValueError:
    invalid literal for int() with base 10: ''" (track_view null) or a bare "n_mels must be a positive integer" that
    named neither the object nor what to do."""
    import json

    from musim.storage import open_store

    _, path = _preview_file(home, tmp_path, 5)
    key, store = _served_manifest_key("autoencoder-1"), open_store()
    good = store.get_bytes(key)
    store.put_bytes(key, json.dumps(edit(json.loads(good))).encode())
    try:
        code, _, err = _run(capsys, "similar-audio", str(path), "--model", "autoencoder-1", "--no-progress")
    finally:
        store.put_bytes(key, good)
    assert code == 2 and err == (f"musim: error: object {key} in {store.root_url} is damaged: {problem}: publish "
                                 "autoencoder-1 again (`musim models publish autoencoder-1`)\n")


def test_a_manifest_whose_mel_bands_are_not_the_models_is_refused_before_the_model_runs(home, tmp_path, capsys):
    """A manifest giving 32 mel bands to a model built on 64 was Keras's "ValueError: Input 0 with name 'log_mel' of
    layer 'encoder' is incompatible with the layer: expected shape=(None, 256, 64), found shape=(1, 256, 32)"."""
    import json

    from musim.storage import open_store

    _, path = _preview_file(home, tmp_path, 5)
    key, store = _served_manifest_key("autoencoder-1"), open_store()
    good = store.get_bytes(key)
    doc = json.loads(good)
    bands = doc["input_params"]["n_mels"]
    for field in ("input_params", "mel_params"):
        doc[field] = doc[field] | {"n_mels": bands // 2}
    store.put_bytes(key, json.dumps(doc).encode())
    try:
        code, _, err = _run(capsys, "similar-audio", str(path), "--model", "autoencoder-1", "--no-progress")
    finally:
        store.put_bytes(key, good)
    assert code == 2 and err == (f"musim: error: the serving manifest of autoencoder-1 gives log-mels of {bands // 2} "
                                 f"mel bands, its model takes {bands}: publish it again (`musim models publish "
                                 "autoencoder-1`)\n")


def test_a_champion_model_file_removed_from_the_store_says_what_to_do(home, tmp_path, capsys):
    """A model.keras deleted from the object store was "musim: error: no object 'models/…/model.keras' in file://…":
    neither which version nor what to do."""
    from musim.models.registry import object_prefix
    from musim.storage import open_store

    _, path = _preview_file(home, tmp_path, 5)
    cached = home["home"] / "cache" / "models" / "autoencoder-1" / "model.keras"
    store, key = open_store(), object_prefix("autoencoder", "autoencoder-1") + "model.keras"
    good = store.get_bytes(key)
    store.delete(key)
    cached.unlink(missing_ok=True)
    try:
        code, _, err = _run(capsys, "similar-audio", str(path), "--family", "autoencoder", "--no-progress")
    finally:
        store.put_bytes(key, good)
    assert code == 2 and err == (f"musim: error: the model file of autoencoder-1 ({key} in {store.root_url}) is "
                                 "missing: restore it from a backup of the object store, or train a new version "
                                 "(`musim models train --family autoencoder`) and serve it (`musim models publish "
                                 "VERSION`)\n")


def test_a_damaged_model_file_is_named_and_a_damaged_local_copy_fetched_again(home, tmp_path, capsys):
    """A model.keras cut short was "ValueError: File not found: filepath=.../model.keras. Please ensure the file
    is an accessible `.keras` zip file." (it is found: it is not a zip), and stayed in the local cache."""
    import zipfile

    from musim.models.registry import object_prefix
    from musim.storage import open_store

    _, path = _preview_file(home, tmp_path, 5)
    cached = home["home"] / "cache" / "models" / "cnn_classifier-1" / "model.keras"
    args = ("embed", str(path), "--model", "cnn_classifier-1", "--out", str(tmp_path / "e"))
    assert _run(capsys, *args)[0] == 0 and zipfile.is_zipfile(cached)
    cached.write_bytes(cached.read_bytes()[:4000])  # a damaged local copy: fetched again from the store
    assert _run(capsys, *args)[0] == 0 and zipfile.is_zipfile(cached)
    store, key = open_store(), object_prefix("cnn_classifier", "cnn_classifier-1") + "model.keras"
    good = store.get_bytes(key)
    cached.unlink()
    store.put_bytes(key, good[:-3000])
    try:
        code, _, err = _run(capsys, *args)
    finally:
        store.put_bytes(key, good)
    assert code == 2 and err == (f"musim: error: the model file of cnn_classifier-1 ({key} in {store.root_url}) is "
                                 "damaged (not a whole .keras archive): train a new version (`musim models train "
                                 "--family cnn_classifier`)\n")
    assert not cached.exists()


def test_an_unpublished_version_that_embeds_crops_takes_its_input_from_its_training():
    """Without a serving manifest (a version registered, never published), the input is the family's log-mel;
    a contrastive encoder takes crops of it (its crop_frames), not the whole excerpt."""
    from types import SimpleNamespace

    from musim.audio import MelParams
    from musim.errors import NotFoundError
    from musim.models.new_audio import _input_of

    frames, mels = MelParams().frames, MelParams().n_mels
    encoder = SimpleNamespace(inputs=[SimpleNamespace(shape=(None, 96, mels))])
    assert _input_of("contrastive", None, encoder, {"crop_frames": 96}) == ("log_mel", MelParams())
    with pytest.raises(NotFoundError, match=r"expects inputs of shape \(96, 64\)"):
        _input_of("contrastive", None, encoder, {})
    whole = SimpleNamespace(inputs=[SimpleNamespace(shape=(None, frames, mels))])
    assert _input_of("siamese", None, whole, {"epochs": 3}) == ("log_mel", MelParams())


def test_embed_onto_a_full_disk_is_one_line_and_leaves_no_partial_file(home, tmp_path, capsys, monkeypatch):
    """The temp file of a write that failed (a full disk) stayed beside OUT.npz."""
    import errno

    import numpy

    files = _new_clips(tmp_path, n=1)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def disk_full(fh, **arrays):
        fh.write(b"PK\x03\x04 half an archive")
        raise OSError(errno.ENOSPC, "No space left on device", str(out_dir / "e.npz"))

    monkeypatch.setattr(numpy, "savez", disk_full)
    code, out, err = _run(capsys, "embed", str(files[0]), "--out", str(out_dir / "e.npz"))
    assert code == 2 and out == "" and err == f"musim: error: {out_dir / 'e.npz'}: No space left on device\n"
    assert list(out_dir.iterdir()) == []


def test_without_a_champion_similar_audio_and_embed_serve_the_version_published_last(home, tmp_path, capsys):
    """After `models publish contrastive-1` (no champion) `similar --audio` and `similar-tracks` answered from it,
    while `similar-audio FILE` failed `no family has a champion...` and `similar-audio FILE --family contrastive`
    (the README's line) `family 'contrastive' has no champion yet`."""
    from musim import queries, serving, warehouse

    files = _new_clips(tmp_path, n=1)
    with warehouse.writer() as con:
        champions = [r[0] for r in con.execute("SELECT version FROM model_registry WHERE status = 'champion'").fetchall()]
        con.execute("UPDATE model_registry SET status = 'challenger' WHERE status = 'champion'")
        serving.publish(con)
    try:
        snap = serving.open_snapshot()
        try:
            served = queries.models_of(snap, queries.inspect(snap), "artist_neighbors_audio")[0]  # `similar --audio`
        finally:
            snap.close()
        code, out, err = _run(capsys, "similar-audio", str(files[0]), "--k", "2")
        assert code == 0, err
        assert f"({served}, cosine scores)" in out
        assert err == (f"musim: no champion is published: {served}, the version published last, answers (as `musim "
                       "similar --audio` and `similar-tracks` do)\n")
        code, out, err = _run(capsys, "similar-audio", str(files[0]), "--family", "cnn_classifier", "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["model_version"] == "cnn_classifier-1" and doc["model_note"].startswith(
            "cnn_classifier has no champion: cnn_classifier-1, its version published last")
        code, out, err = _run(capsys, "embed", str(files[0]), "--out", str(tmp_path / "e.npz"))
        assert code == 0 and f", {served}) to" in out and "the version published last" in err
        # `models evaluate --family F` (its --help: "this family's champion") evaluated the version published
        # last without a word
        rows = ["path,artist", *[f"{f.name},Artist {k % 2}" for k, f in enumerate(_new_clips(tmp_path, n=4))]]
        (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
        code, out, err = _run(capsys, "models", "evaluate", "--labels", str(tmp_path / "labels.csv"), "--family",
                              "cnn_classifier", "--baselines", "random", "--n-boot", "100", "--json")
        assert code == 0, err
        note = "cnn_classifier has no champion: cnn_classifier-1, its version published last, answers"
        doc = json.loads(out)
        assert doc["model_version"] == "cnn_classifier-1" and doc["model_note"].startswith(note)
        assert err.startswith(f"musim: {note}")
    finally:
        with warehouse.writer() as con:
            con.execute("UPDATE model_registry SET status = 'champion' WHERE list_contains(?, version)", [champions])
            serving.publish(con)


def test_embed_reads_a_zipped_album_as_library_add_does(home, tmp_path, capsys):
    """`embed X.zip` said not_audio, and `embed FOLDER` left zipped albums out without a word."""
    import zipfile

    (tmp_path / "clips").mkdir()
    clips = _new_clips(tmp_path / "clips", n=2)
    album = tmp_path / "Some Band - Live.zip"
    with zipfile.ZipFile(album, "w") as z:
        for c in clips:
            z.write(c, f"Live/{c.name}")
    code, out, err = _run(capsys, "embed", str(album), "--family", "autoencoder", "--out", str(tmp_path / "z.npz"),
                          "--json")
    assert code == 0, err
    assert json.loads(out)["files"] == 2 and not json.loads(out)["failed"]
    code, out, err = _run(capsys, "embed", *map(str, clips), "--family", "autoencoder", "--out",
                          str(tmp_path / "f.npz"), "--json")
    assert code == 0, err
    with np.load(tmp_path / "z.npz") as z, np.load(tmp_path / "f.npz") as f:
        assert z["files"].tolist() == [str(album / "Live" / c.name) for c in clips]
        np.testing.assert_allclose(z["embeddings"], f["embeddings"], rtol=1e-5, atol=1e-6)


def test_embed_takes_a_registered_version_that_was_never_published(home, tmp_path, capsys):
    """`embed --model V` with V registered (a challenger evaluated before it is published) but not in the published
    snapshot said `no model version V`: it embeds with the model the registry stores. A version registered nowhere
    fails in one line naming it and `musim models list`. Last in the module: it registers a version."""
    import shutil

    from musim import warehouse
    from musim.models import registry
    from musim.storage import open_store
    from tests.models.conftest import _report, _truth

    store = open_store()
    with warehouse.writer() as con:
        one = registry.get_model(con, "cnn_classifier-1")
        model = tmp_path / "model.keras"  # the same model, registered again: the same embeddings
        shutil.copy(registry.fetch_model_file(store, one), model)
        two = registry.register_model(con, store, family="cnn_classifier", model_file=model,
                                      report=_report(_truth(), 0.3), params=one.params, target_metric="seed",
                                      feature_service=one.feature_service, dump_id=one.dump_id)
    _, path = _preview_file(home, tmp_path, 5)
    code, out, err = _run(capsys, "embed", str(path), "--model", two.version, "--out", str(tmp_path / "two.npz"),
                          "--json")
    assert code == 0, err
    assert json.loads(out)["model_version"] == two.version and json.loads(out)["model_note"] is None
    code, _, err = _run(capsys, "embed", str(path), "--model", "cnn_classifier-1", "--out", str(tmp_path / "one.npz"))
    assert code == 0, err
    with np.load(tmp_path / "two.npz") as a, np.load(tmp_path / "one.npz") as b:
        assert str(a["model_version"]) == two.version
        np.testing.assert_allclose(a["embeddings"], b["embeddings"], rtol=1e-5, atol=1e-6)

    code, out, err = _run(capsys, "embed", str(path), "--model", "cnn_classifier-99", "--out", str(tmp_path / "x"))
    assert code == 2 and not out and err == ("musim: error: no model version 'cnn_classifier-99' is registered: "
                                             "`musim models list` shows the registered versions\n")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("command", [["embed", "--out", "e.npz"], ["similar-audio"]])
def test_no_progress_hides_the_bar_of_embed_and_similar_audio(home, tmp_path, monkeypatch, command):
    """The README said the audio commands take --no-progress; `musim embed` refused it (an unknown option)."""
    files = [str(f) for f in _new_clips(tmp_path, n=2)]
    argv = [command[0], *files, *[a if a != "e.npz" else str(tmp_path / a) for a in command[1:]]]
    terminal = _Terminal()
    with monkeypatch.context() as patch:  # only stderr: the test's MUSIM_HOME stays
        patch.setattr(sys, "stderr", terminal)
        assert main(argv) == 0
        assert "featurise:" in terminal.getvalue()  # a terminal sees a bar
        terminal.seek(0)
        terminal.truncate(0)
        assert main([*argv, "--no-progress"]) == 0
        assert "featurise:" not in terminal.getvalue()
