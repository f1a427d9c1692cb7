"""Batch extraction: shapes, dtypes, parameter hashes in keys, rejections, excerpt windows, idempotency."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest

from musim.audio import DESCRIPTOR_NAMES, MelParams, SliceParams, load_audio, log_mel
from musim.errors import ParameterError
from musim.features import BuildOptions, Extractor, build, extraction_view, load_tensor
from musim.features.extract import plan_build
from musim.features.params import DescriptorParams
from musim.features.staged import compute_batch, record_batches
from tests.features.conftest import OPTIONS
from tests.features.helpers import clip, encode

GOOD = ("a1t1", "a1t2", "a2t1", "a2local")
BAD = {"bad": "undecodable", "quiet": "silent", "short": "too_short"}


def _rows(con, query, params=None):
    cur = con.execute(query, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def test_first_build_counts(built):
    r = built.result
    assert r.tracks == 7 and r.planned == 7
    assert r.computed == 3 * len(GOOD)  # log_mel, slices and descriptors of every good track
    assert r.rejected == 3 * len(BAD)
    assert r.rejects_by_reason == {reason: 3 for reason in BAD.values()}
    assert r.materialised == {"artist_descriptors_mean:4": 2}  # artists 1 and 2; artist 3 has no good track


def test_log_mel_objects_have_shape_dtype_and_params_hash_in_key(built):
    mel_hash = MelParams().hash()
    rows = _rows(built.con, "SELECT * FROM track_mel WHERE kind = 'log_mel' ORDER BY track_id")
    assert [r["track_id"] for r in rows] == sorted(GOOD)
    for r in rows:
        digest = hashlib.sha256(built.store.get_bytes(r["object_key"])).hexdigest()  # the key names its bytes
        assert r["object_key"] == f"features/mel/{mel_hash}/{r['audio_id']}.{digest}.npy"
        assert r["shape"] == [256, 64] and r["dtype"] == "float16"
        arr = load_tensor(built.store, r["object_key"])
        assert arr.dtype == np.float16 and arr.shape == (256, 64)
        assert float(arr.min()) == r["min_db"] and float(arr.max()) == r["max_db"] == 0.0
        assert r["min_db"] >= -80.0
        assert r["bytes"] == built.store.stat(r["object_key"]).size


def test_slices_objects(built):
    slice_hash = SliceParams().hash()
    rows = _rows(built.con, "SELECT * FROM track_mel WHERE kind = 'slices' ORDER BY track_id")
    assert len(rows) == len(GOOD)
    for r in rows:
        assert r["object_key"].startswith(f"features/slices/{slice_hash}/")
        arr = load_tensor(built.store, r["object_key"])
        assert arr.dtype == np.float16 and arr.shape == (1, 256, 256) and list(arr.shape) == r["shape"]


def test_preview_audio_id_is_its_sha256_and_excerpt_has_its_window(built):
    rows = {r["track_id"]: r for r in _rows(built.con, """
        SELECT t.track_id, t.sha256, m.audio_id FROM track t JOIN track_mel m USING (track_id)
        WHERE m.kind = 'log_mel'""")}
    assert rows["a1t1"]["audio_id"] == rows["a1t1"]["sha256"]
    assert rows["a2local"]["audio_id"] == rows["a2local"]["sha256"] + "-3000-6000"


def test_excerpt_window_is_what_is_analysed(built):
    key = built.con.execute("SELECT object_key FROM track_mel WHERE kind = 'log_mel' AND track_id = 'a2local'"
                            ).fetchone()[0]
    stored = load_tensor(built.store, key)
    y, _ = load_audio(built.store.get_bytes(built.keys["a2local"]), sr=22050, offset=3.0, duration=6.0)
    expected = log_mel(y, params=MelParams()).astype(np.float16)
    np.testing.assert_array_equal(stored, expected)
    whole, _ = load_audio(built.store.get_bytes(built.keys["a2local"]), sr=22050)
    assert not np.array_equal(stored, log_mel(whole, params=MelParams()).astype(np.float16))


def test_descriptor_rows(built):
    rows = _rows(built.con, "SELECT * FROM track_descriptors ORDER BY track_id")
    assert [r["track_id"] for r in rows] == sorted(GOOD)
    assert {r["params_hash"] for r in rows} == {DescriptorParams().hash()}
    for r in rows:
        assert len(r["vec"]) == len(DESCRIPTOR_NAMES) and np.all(np.isfinite(r["vec"]))
        assert 0 <= r["tonic_pc"] <= 11 and r["key_name"].endswith(("major", "minor"))
    duration = {r["track_id"]: r["vec"][DESCRIPTOR_NAMES.index("duration_s")] for r in rows}
    assert duration["a2local"] == pytest.approx(6.0, abs=0.01)  # the window, not the 12 s file


def test_artist_mean_is_the_mean_of_its_tracks(built):
    vecs = dict(built.con.execute("SELECT track_id, vec FROM track_descriptors").fetchall())
    mean = dict(built.con.execute("""SELECT entity_id, vec FROM feature_value
                                     WHERE view_name = 'artist_descriptors_mean'""").fetchall())
    assert set(mean) == {"1", "2"}
    np.testing.assert_allclose(mean["1"], np.mean([vecs["a1t1"], vecs["a1t2"]], axis=0))
    np.testing.assert_allclose(mean["2"], np.mean([vecs["a2t1"], vecs["a2local"]], axis=0))


def test_unusable_previews_get_reason_rows_and_no_objects(built):
    rows = _rows(built.con, "SELECT track_id, kind, reason, detail FROM feature_reject ORDER BY track_id, kind")
    assert {(r["track_id"], r["reason"]) for r in rows} == set(BAD.items())
    assert {r["kind"] for r in rows} == {"log_mel", "slices", "descriptors"}
    assert all(r["detail"] for r in rows)
    bad_sha = [r[0] for r in built.con.execute("SELECT sha256 FROM track WHERE track_id IN ('bad', 'quiet', 'short')"
                                               ).fetchall()]
    keys = [i.key for i in built.store.list("features/")]
    assert not any(sha in k for sha in bad_sha for k in keys)


def test_a_publishing_build_with_no_gate_is_refused_before_it_extracts(catalogue, con, store):
    """The feature store cannot run the quality suites (they sit above it): a publishing build must be handed
    the gate (`musim features build` passes musim.quality's) or told to skip it, and is refused up front."""
    catalogue.add_clip("t1", 1, community=1)
    with pytest.raises(ParameterError, match="^publishing the online feature snapshots needs the features quality"):
        build(con=con, store=store, options=OPTIONS)
    assert con.execute("SELECT (SELECT count(*) FROM feature_build), (SELECT count(*) FROM track_mel)").fetchone() \
        == (0, 0)
    assert not list(store.list("features/"))


def test_second_build_does_nothing(catalogue, con, store):
    catalogue.add_clip("t1", 1, community=1)
    catalogue.add("quiet", 1, encode(np.zeros(6 * 22050, dtype=np.float32)), duration_s=6.0)
    first = build(con=con, store=store, options=OPTIONS, publish=False)
    assert first.planned == 2 and first.computed == 3 and first.rejected == 3
    objects = {i.key: (i.etag, i.size) for i in store.list("features/")}
    counts = con.execute("""SELECT (SELECT count(*) FROM track_mel), (SELECT count(*) FROM track_descriptors),
                                   (SELECT count(*) FROM feature_reject), (SELECT count(*) FROM feature_value)"""
                         ).fetchone()
    second = build(con=con, store=store, options=OPTIONS, publish=False)
    assert (second.planned, second.computed, second.reused, second.rejected) == (0, 0, 0, 0)
    assert second.materialised == {"artist_descriptors_mean:4": 0}
    assert {i.key: (i.etag, i.size) for i in store.list("features/")} == objects
    assert con.execute("""SELECT (SELECT count(*) FROM track_mel), (SELECT count(*) FROM track_descriptors),
                                 (SELECT count(*) FROM feature_reject), (SELECT count(*) FROM feature_value)"""
                       ).fetchone() == counts


def test_identical_audio_is_computed_once(catalogue, con, store):
    data = encode(clip(5, 7, 1, 6.0))
    catalogue.add("x1", 1, data, duration_s=6.0)
    catalogue.add("x2", 2, data, duration_s=6.0)  # same preview for another artist
    first = build(["track_log_mel"], con=con, store=store, options=OPTIONS, publish=False)
    assert first.planned == 1 and first.computed == 2
    catalogue.add("x3", 3, data, duration_s=6.0)  # arrives later: copied, not computed
    second = build(["track_log_mel"], con=con, store=store, options=OPTIONS, publish=False)
    assert second.planned == 0 and second.reused == 1 and second.computed == 0
    keys = {r[0] for r in con.execute("SELECT object_key FROM track_mel").fetchall()}
    assert len(keys) == 1 and len(list(store.list("features/mel/"))) == 1


def test_other_parameters_other_keys_and_only_the_view_asked_for(catalogue, con, store):
    catalogue.add_clip("t1", 1, community=2)
    build(["track_log_mel"], con=con, store=store, options=OPTIONS, publish=False)
    small = MelParams(n_mels=32, frames=128, hop_length=1024)
    view = extraction_view("track_log_mel_small", 1, extractor=Extractor("log_mel", small), description="test")
    result = build([view], con=con, store=store, options=OPTIONS, publish=False)
    assert result.computed == 1
    rows = dict(con.execute("SELECT params_hash, object_key FROM track_mel").fetchall())
    assert set(rows) == {MelParams().hash(), small.hash()} and MelParams().hash() != small.hash()
    assert rows[small.hash()].startswith(f"features/mel/{small.hash()}/")
    assert load_tensor(store, rows[small.hash()]).shape == (128, 32)
    assert con.execute("SELECT count(*) FROM track_descriptors").fetchone()[0] == 0  # not asked for


def test_missing_preview_object_is_retried(catalogue, con, store):
    key = catalogue.add_clip("t1", 1, community=3)
    data = store.get_bytes(key)
    store.delete(key)
    first = build(["track_log_mel"], con=con, store=store, options=OPTIONS, publish=False)
    assert first.rejects_by_reason == {"missing object": 1}
    store.put_bytes(key, data)
    second = build(["track_log_mel"], con=con, store=store, options=OPTIONS, publish=False)
    assert second.planned == 1 and second.computed == 1
    assert con.execute("SELECT count(*) FROM feature_reject").fetchone()[0] == 0


def test_recompute_of_a_track_whose_preview_is_missing_keeps_its_rows(catalogue, con, store, caplog):
    """`--recompute T` while T's preview is not in the object store computed nothing, yet deleted T's rows (a
    'missing object' rejection "replaced" them): T lost its features everywhere. Now its rows stay, with a warning."""
    from musim.features import get_training_frame

    key = catalogue.add_clip("t1", 1, community=3)
    catalogue.add_clip("t2", 1, community=4)
    build(["track_log_mel"], con=con, store=store, options=OPTIONS, publish=False)
    before = con.execute("SELECT track_id, object_key, run_id FROM track_mel ORDER BY track_id").fetchall()
    store.delete(key)
    with caplog.at_level("WARNING", logger="musim.features.extract"):
        again = build(["track_log_mel"], con=con, store=store, options=OPTIONS, publish=False, recompute=["t1"])
    assert again.planned == 1 and again.computed == 0
    assert con.execute("SELECT track_id, object_key, run_id FROM track_mel ORDER BY track_id").fetchall() == before
    assert con.execute("SELECT count(*) FROM feature_reject").fetchone()[0] == 0
    assert "track t1 was not computed again" in caplog.text and key in caplog.text
    frame = get_training_frame("siamese_log_mel", ["t1", "t2"], con=con)
    assert frame["track_log_mel__log_mel"].tolist() == [before[0][1], before[1][1]]


def test_a_too_short_rejection_holds_only_for_thresholds_as_long(catalogue, con, store):
    """`features build --min-duration 20` once must not keep a 6-s preview out of every later build."""
    from dataclasses import replace

    catalogue.add_clip("t1", 1, community=4)  # 6 s
    strict = build(["track_log_mel"], con=con, store=store, options=replace(OPTIONS, min_duration_s=20.0),
                   publish=False)
    assert strict.rejects_by_reason == {"too_short": 1}
    assert con.execute("SELECT reason, min_duration_s FROM feature_reject").fetchall() == [("too_short", 20.0)]
    stricter = build(["track_log_mel"], con=con, store=store, options=replace(OPTIONS, min_duration_s=25.0),
                     publish=False)
    assert stricter.planned == 0  # still too short for a longer threshold: final
    usual = build(["track_log_mel"], con=con, store=store, options=OPTIONS, publish=False)
    assert usual.planned == 1 and usual.computed == 1 and usual.rejected == 0
    assert con.execute("SELECT count(*) FROM feature_reject").fetchone()[0] == 0  # the success cleared it
    again = build(["track_log_mel"], con=con, store=store, options=replace(OPTIONS, min_duration_s=20.0),
                  publish=False)
    assert again.planned == 0  # computed features are kept whatever the threshold


def test_dag_path_batches_manifests_and_record_match_build(catalogue, con, store):
    """plan -> compute_batch per batch (object store only) -> record_batches, as the DAG runs them."""
    catalogue.add_clip("t1", 1, community=6)
    catalogue.add_clip("t2", 2, community=7)
    catalogue.add("bad", 2, b"not audio at all", fmt="mp3", duration_s=6.0)
    from musim.features.extract import extractors_for, select_views

    views = select_views(["track_log_mel", "track_descriptors"])
    plan = plan_build(con, extractors_for(views), run_id="dag-run-1")
    batches = plan.batches(2)
    assert len(batches) == 2
    computed = [compute_batch(b, store=store, workers=1) for b in batches]
    assert all(c["manifest"].startswith("features/runs/dag-run-1/") for c in computed)
    assert sum(c["items"] for c in computed) == 3
    result = record_batches("dag-run-1", [c["manifest"] for c in computed], con=con, store=store, views=views,
                            publish=False)
    assert (result.computed, result.rejected) == (4, 2)
    # recording the same manifests again changes nothing
    again = record_batches("dag-run-1", [c["manifest"] for c in computed], con=con, store=store, views=views,
                           publish=False)
    assert (again.computed, again.rejected) == (4, 2)
    assert con.execute("SELECT count(*) FROM track_mel").fetchone()[0] == 2


@pytest.mark.server
def test_extraction_against_s3(s3_env, monkeypatch, con):
    from musim.storage import open_store
    from tests.features.helpers import Catalogue

    monkeypatch.setenv("MUSIM_OBJECT_STORE", s3_env.url)
    s3 = open_store()
    cat = Catalogue(con, s3)
    cat.add_clip("t1", 1, community=8, fmt="mp3")
    cat.add("bad", 1, b"\x00" * 100, fmt="mp3", duration_s=6.0)
    result = build(["track_log_mel"], con=con, options=BuildOptions(workers=1, progress=False), publish=False)
    assert result.computed == 1 and result.rejects_by_reason == {"not_audio": 1}
    key = con.execute("SELECT object_key FROM track_mel").fetchone()[0]
    body = s3_env.client.get_object(Bucket=s3_env.bucket, Key=f"musim/{key}")["Body"].read()
    arr = np.load(io.BytesIO(body))
    assert arr.dtype == np.float16 and arr.shape == (256, 64)
    assert key.startswith(f"features/mel/{MelParams().hash()}/")


def test_bad_local_audio_is_rejected_with_the_library_reasons(con, store, tmp_path):
    """#15 item 6: an empty object, a non-audio object and a cut Ogg file each get the library's reason."""
    from tests.features.helpers import Catalogue
    from tests.library.conftest import write_audio

    cat = Catalogue(con, store)
    cat.add_clip("good", 1, community=3)
    data = write_audio(tmp_path / "whole.ogg", "ogg", seconds=20).read_bytes()
    cat.add("empty", 2, b"", fmt="mp3", duration_s=6.0)
    cat.add("text", 2, b"these are my notes, not a song\n" * 40, fmt="mp3", duration_s=6.0)
    cat.add("cut", 2, data[: len(data) // 2], fmt="ogg", duration_s=20.0)
    build(["track_log_mel"], con=con, options=BuildOptions(workers=1, progress=False), publish=False)
    got = dict(con.execute("SELECT track_id, reason FROM feature_reject").fetchall())
    assert got == {"empty": "empty", "text": "not_audio", "cut": "truncated"}
    assert [r[0] for r in con.execute("SELECT track_id FROM track_mel").fetchall()] == ["good"]
