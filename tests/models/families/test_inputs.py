"""Loading the families' inputs: slices streamed from the object store, memory-mapped when large."""

from __future__ import annotations

import numpy as np
import pytest

from musim import warehouse
from musim.models.toy import planted_data
from musim.storage import open_store
from tests.models.catalogue import seed_catalogue


@pytest.fixture(scope="module")
def toy():
    return planted_data(communities=4, artists_per_community=6, clips_per_artist=3, shape=(32, 16), seed=1)


def test_large_slices_are_memory_mapped_and_reused(toy, monkeypatch, musim_home):
    import musim.models.families.inputs as inputs_module
    from musim.models.families import load_inputs

    store = open_store()
    with warehouse.writer() as con:
        seed_catalogue(con, store, toy)
        in_ram = load_inputs(con, store=store, needs=("log_mel", "slices"))
        monkeypatch.setattr(inputs_module, "SLICES_IN_MEMORY_MAX", 0)
        mapped = load_inputs(con, store=store, needs=("log_mel", "slices"))
        again = load_inputs(con, store=store, needs=("log_mel", "slices"))
    assert not isinstance(in_ram.slices, np.memmap) and isinstance(mapped.slices, np.memmap)
    assert in_ram.slices.shape == (2 * len(in_ram), 32, 16)  # two slices per track
    np.testing.assert_array_equal(np.asarray(mapped.slices), in_ram.slices)
    np.testing.assert_array_equal(mapped.slice_track, in_ram.slice_track)
    cached = sorted((musim_home / "cache" / "slices").iterdir())
    assert [p.suffix for p in cached] == [".f16", ".json"]  # one cache entry, no temporary file left
    assert again.slices.filename == mapped.slices.filename


def test_slices_of_two_shapes_are_refused(musim_home):
    from musim.errors import ParameterError
    from musim.models.families.inputs import load_slices

    arrays = {"a": np.zeros((2, 4, 4), np.float16), "b": np.zeros((1, 4, 5), np.float16)}
    with pytest.raises(ParameterError, match="b: slices of shape"):
        load_slices(["a", None, "b"], lambda keys: [arrays[k] for k in keys])
    assert not any((musim_home / "cache" / "slices").iterdir())


def test_the_classifier_trains_on_memory_mapped_slices(toy, monkeypatch):
    import musim.models.families.inputs as inputs_module
    from musim.models.families import load_inputs, run_family

    monkeypatch.setattr(inputs_module, "SLICES_IN_MEMORY_MAX", 0)
    store = open_store()
    with warehouse.writer() as con:
        seed_catalogue(con, store, toy)
        inputs = load_inputs(con, store=store, needs=("log_mel", "descriptors", "slices"), test_share=0.4)
        assert isinstance(inputs.slices, np.memmap)
        outcome = run_family("cnn_classifier", con=con, inputs=inputs, n_boot=50, publish=False,
                             params={"conv_filters": [4, 8], "embedding_units": 8, "epochs": 1, "batch_size": 8,
                                     "heldout_share": 0.34})
    assert outcome.entry.family == "cnn_classifier" and outcome.report is not None


def test_a_library_without_features_is_told_how_to_extract_them(musim_home, tmp_path):
    """Tracks added with `musim library add` and no features yet: the error names the command that makes them."""
    from musim.errors import NotFoundError
    from musim.library import add
    from musim.models.families import load_manifest
    from tests.library.conftest import write_audio

    add([str(write_audio(tmp_path / "music" / "Artist A" / "one.flac", "flac"))])
    with warehouse.writer() as con, pytest.raises(NotFoundError, match=r"no track has the features log_mel, slices: "
                                                                       r"extract them with `musim features build`"):
        load_manifest(con)


def test_a_new_dump_whose_artists_have_no_audio_yet_is_not_enough_data_with_the_counts(toy, musim_home, capsys):
    """The latest dump's artists have no audio yet: not a parameter error but NotEnoughData (a scheduled training
    ends skipped on it), saying how many artists have listening data, how many audio and what to run first; with
    no feature at all, too (still a NotFoundError for the rest). `musim models train` says it in one line, exit 2."""
    from musim.cli import main
    from musim.errors import NotEnoughData, NotFoundError
    from musim.models.families import load_manifest
    from tests.models.conftest import new_dump_without_audio

    with warehouse.writer() as con:
        with pytest.raises(NotEnoughData) as nothing:
            load_manifest(con, needs=("log_mel",))
        assert isinstance(nothing.value, NotFoundError)
        seed_catalogue(con, open_store(), toy)
        new_dump_without_audio(con, toy)
        with pytest.raises(NotEnoughData) as info:
            load_manifest(con, needs=("log_mel",))
    assert str(info.value).startswith("24 artists have listening data (dump eeeeeeeeeeee), 24 have audio features, "
                                      "0 both; training needs at least 6 with both to hold out test artists: ")
    assert main(["models", "train", "--family", "siamese", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"musim: error: {info.value}"]


def test_the_gate_gets_no_label_for_an_untagged_track():
    """An untagged track was labelled "?" for the training_split gate, which then failed every training whose
    test artists alone had one ("every test label occurs in training ... label '?'")."""
    from musim.models.data import ArtistSplit, PairTargets
    from musim.models.families.inputs import FamilyInputs, split_payload

    ids = np.arange(1, 5, dtype=np.int64)
    m = np.full((4, 4), 0.5, dtype=np.float32)
    np.fill_diagonal(m, np.nan)
    inputs = FamilyInputs(track_ids=["a", "b", "c", "d"], track_artist=ids, titles=[""] * 4,
                          genres=["rock", "rock", "rock", None], artist_names={}, mel_keys=[None] * 4,
                          slice_keys=[None] * 4, targets=PairTargets(ids, m),
                          split=ArtistSplit(ids[:2], ids[2:3], ids[3:]))
    assert split_payload(inputs).track_labels.tolist() == ["rock", "rock", "rock", None]
