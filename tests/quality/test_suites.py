"""Every built-in suite passes on good data and fails, naming the expectation and bad values, on bad data."""

from __future__ import annotations

import json

import pytest

from musim import warehouse
from musim.audio.formats import FORMATS
from musim.ingest.lastfm import ingest_lastfm
from musim.quality import QualityThresholds, check
from musim.storage import open_store
from tests.lastfm_files import MB_A, MB_B, U1, U2, write_lines
from tests.quality.conftest import drop_constraints

FAST = QualityThresholds()


def run(datasets, **kw):
    return check(datasets, docs=False, **kw)


def failures(result) -> list[dict]:
    return [{"text": f.line(), "columns": f.columns, "examples": f.examples, "observed": f.observed}
            for f in result.failures]


def test_good_warehouse_passes_every_suite(good):
    run_ = run(None)
    by_name = {r.dataset: r for r in run_.results}
    assert set(by_name) == {"lastfm_plays", "lastfm_profiles", "artists", "similarity", "previews", "features",
                            "training_sets"}
    assert run_.success, run_.describe()
    assert all(r.status == "passed" and r.expectations > 0 for r in run_.results)
    plays = by_name["lastfm_plays"]
    assert plays.rows_total and plays.rows_validated == plays.rows_total and not plays.sampled
    assert by_name["features"].parts[-1]["rows_validated"] == 2  # both spectrogram objects opened
    with warehouse.writer() as con:
        stored = con.execute("SELECT dataset, status, success FROM quality_result WHERE run_id = ?",
                             [run_.run_id]).fetchall()
    assert sorted(stored) == sorted((r.dataset, "passed", True) for r in run_.results)


def _track_embedding_service(con) -> None:
    """A service over a pushed 3-d track embedding, with vectors for both tracks."""
    from musim.features import FeatureService, register_service, write_vectors
    from musim.features.registry import TRACK, embedding_view

    view = embedding_view("q_track_embedding", 1, entity=TRACK, dim=3, model_version="m1", description="test")
    register_service(con, FeatureService("q_embedding", (view,), description="test service"))
    write_vectors(con, view, ["0000000000000000", "0000000000000001"], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


def _log_mel_service(con) -> None:
    """A service over the registry's log-mel view, its parameters those of the stored spectrograms."""
    from musim.features import FeatureService, register_service
    from musim.features.definitions import track_log_mel

    con.execute("INSERT INTO feature_params VALUES (?, 'log_mel', '{}', now())", [track_log_mel.params_hash])
    con.execute("UPDATE track_mel SET params_hash = ?, object_key = replace(object_key, '/p1/', '/' || ? || '/')",
                [track_log_mel.params_hash, track_log_mel.params_hash])
    register_service(con, FeatureService("q_mel", (track_log_mel,), description="test service"))


def _service_pinned_before_the_catalogue(con) -> None:
    """A trained model's service pinned a day before the good warehouse's tracks were added: no track then."""
    import datetime as dt

    from tests.quality.conftest import NOW

    _pinned_descriptor_service(con, "too-early-1", NOW - dt.timedelta(days=1))


#: Statements of a BAD case that are set-ups in Python (a service to break), not SQL.
SETUPS = {"@track-embedding-service": _track_embedding_service, "@log-mel-service": _log_mel_service,
          "@service-pinned-before-the-catalogue": _service_pinned_before_the_catalogue}


# (case id, dataset, SQL that breaks the good warehouse, failing column, text in the examples/observed)
BAD = [
    ("negative plays", "lastfm_plays",
     ["UPDATE lastfm_plays SET plays = -7 WHERE user_id = 1"], "bad_plays_rows", "plays -7"),
    ("user id not sha1", "lastfm_plays",
     ["UPDATE lastfm_user SET user_key = 'not-a-sha1' WHERE user_id = 2"], "bad_user_keys", "not-a-sha1"),
    ("user key twice", "lastfm_plays",
     ["INSERT INTO lastfm_user SELECT (SELECT max(user_id) + 1 FROM lastfm_user), user_key FROM lastfm_user "
      "WHERE user_id = 2"], "duplicate_user_keys", "2 users"),
    ("artist without key", "lastfm_plays",
     ["DELETE FROM artist WHERE artist_id = 3"], "missing_artist_keys", "artist_id 3"),
    ("plays of an artist beyond the catalogue", "lastfm_plays",
     ["UPDATE lastfm_plays SET artist_id = 999999 WHERE artist_id = 2"], "missing_artist_keys", "artist_id 999999"),
    ("plays of a user beyond the user table", "lastfm_plays",
     ["UPDATE lastfm_plays SET user_id = 999999 WHERE user_id = 1"], "bad_user_keys", "user_id 999999"),
    ("lost plays rows", "lastfm_plays",
     ["DELETE FROM lastfm_plays WHERE user_id = 4"], "sum_lines", None),
    ("rejects not stored", "lastfm_plays",
     ["DELETE FROM ingest_rejects WHERE file_kind = 'plays'"], "rejects_stored", None),
    ("duplicate user-artist rows", "lastfm_plays",
     ["INSERT INTO lastfm_plays SELECT * FROM lastfm_plays WHERE user_id = 5"], "duplicate_rows", "user_id 5"),
    ("profile user id", "lastfm_profiles",
     ["UPDATE lastfm_user SET user_key = 'NOPE' WHERE user_id = (SELECT min(user_id) FROM lastfm_profile)"],
     "bad_user_keys", "NOPE"),
    ("implausible ages", "lastfm_profiles",
     ["UPDATE lastfm_profile SET age = 900"], "age", "900"),
    ("empty display name", "artists",
     ["UPDATE artist SET name = '   ' WHERE artist_id = 2"], "empty_names", "artist_id 2"),
    ("duplicate artist key", "artists",
     ["@drop artist", "INSERT INTO artist SELECT artist_id + 1000, artist_key, mbid, name, name_norm, is_placeholder, "
      "first_dump_id FROM artist WHERE artist_id = 1"], "duplicate_artist_keys", "2 artists"),
    ("orphan spelling", "artists",
     ["INSERT INTO artist_name_variant SELECT 99999, 'Ghost', dump_id, 1 FROM lastfm_dump"], "orphan_variants",
     "99999"),
    ("more co-listeners than listeners", "similarity",
     ["UPDATE artist_pair_counts SET co_listeners = co_listeners + 100000 WHERE artist_a = (SELECT min(artist_a) "
      "FROM artist_pair_counts)"], "co_listeners_above_listeners", "co-listeners but"),
    ("pair stored backwards", "similarity",
     ["UPDATE artist_pair_counts SET artist_a = artist_b, artist_b = artist_a WHERE artist_a = (SELECT min(artist_a) "
      "FROM artist_pair_counts)"], "unordered_pairs", "must be <"),
    ("pair stored twice", "similarity",
     ["INSERT INTO artist_pair_counts SELECT * FROM artist_pair_counts WHERE artist_a = (SELECT min(artist_a) FROM artist_pair_counts)"],
     "pairs_out_of_order", "2 rows"),
    ("pairs out of pair order", "similarity",
     ["CREATE TEMP TABLE kept AS SELECT * FROM artist_pair_counts", "DELETE FROM artist_pair_counts",
      "INSERT INTO artist_pair_counts SELECT * FROM kept ORDER BY artist_a DESC, artist_b"],
     "pairs_out_of_order", "stored after pair"),
    ("below co-listener threshold", "similarity",
     ["UPDATE artist_pair_counts SET co_listeners = 1 WHERE artist_a = (SELECT min(artist_a) FROM artist_pair_counts)"],
     "below_min_co_listeners", "< 2"),
    ("pair of an ineligible artist", "similarity",
     ["INSERT INTO artist_pair_counts SELECT seq, 99998, 99999, 3 FROM similarity_build JOIN lastfm_dump USING (dump_id)"], "ineligible_pairs",
     "99998, 99999"),
    # a dangling reference: the pairs' artist was removed from the artist table after the build (review); the
    # served similarity would name an unknown artist
    ("pair of an artist no longer in the artist table", "similarity",
     ["DELETE FROM artist_name_variant WHERE artist_id = (SELECT min(artist_a) FROM artist_pair_counts)",
      "DELETE FROM artist WHERE artist_id = (SELECT min(artist_a) FROM artist_pair_counts)"],
     "unknown_artist_pairs", "is not in the artist table"),
    ("catalogue pair of an artist no longer in the artist table", "similarity",
     ["DELETE FROM artist_name_variant WHERE artist_id = (SELECT min(artist_a) FROM artist_pair_similarity)",
      "DELETE FROM artist WHERE artist_id = (SELECT min(artist_a) FROM artist_pair_similarity)"],
     "catalogue_unknown_artists", "is not in the artist table"),
    ("pair of an artist below the listener threshold", "similarity",
     ["UPDATE artist_listeners SET listeners = 1 WHERE artist_id = (SELECT min(artist_a) FROM artist_pair_counts)"],
     "ineligible_pairs", "an artist with fewer than"),
    # migration 012 rebuilt the table without its NOT NULL constraints: least() passed a pair of such an artist
    ("artist without a listeners count", "similarity",
     ["UPDATE artist_listeners SET listeners = NULL WHERE artist_id = (SELECT min(artist_a) FROM artist_pair_counts)"],
     "ineligible_pairs", "an artist with fewer than"),
    ("build record disagrees", "similarity",
     ["DELETE FROM artist_pair_counts WHERE artist_a = (SELECT max(artist_a) FROM artist_pair_counts)"],
     "build_record_mismatches", "similarity_build says"),
    ("seed scale recorded wrong", "similarity",
     ["UPDATE similarity_build SET seed_raw_max = seed_raw_max * (1 + 1e-6)"], "build_record_mismatches",
     "seed scale"),
    ("seed scale an ulp off", "similarity",
     ["UPDATE similarity_build SET seed_raw_max = nextafter(seed_raw_max, 2.0)"], "build_record_mismatches",
     "seed scale"),
    ("listeners stored twice", "similarity",
     ["INSERT INTO artist_listeners SELECT * FROM artist_listeners WHERE artist_id = (SELECT min(artist_id) "
      "FROM artist_listeners)"], "duplicate_listeners", "2 listeners rows"),
    ("catalogue pair stored backwards", "similarity",
     ["@drop artist_pair_similarity",
      "UPDATE artist_pair_similarity SET artist_a = artist_b, artist_b = artist_a WHERE artist_a % 2 = 0"],
     "catalogue_unordered", "must be <"),
    ("track without download", "previews",
     ["UPDATE preview SET status = 'failed' WHERE track_id = '0000000000000000'"], "tracks_without_download",
     "0000000000000000"),
    ("audio not content-addressed", "previews",
     ["UPDATE track SET object_key = 'audio/previews/x.mp3' WHERE track_id = '0000000000000001'"],
     "bad_object_keys", "audio/previews/x.mp3"),
    ("NaN descriptor", "features",
     ["UPDATE track_descriptors SET vec = list_concat(vec[:1], ['nan'::DOUBLE], vec[3:]) WHERE track_id = '0000000000000001'"],
     "descriptor_non_finite", "0000000000000001: tempo_bpm (index 2) = NaN"),
    ("negative tempo", "features",
     ["UPDATE track_descriptors SET vec = list_concat(vec[:1], [-120.0], vec[3:]) WHERE track_id = '0000000000000001'"],
     "descriptor_out_of_range", "0000000000000001: tempo_bpm (index 2) = -120.0"),
    ("two descriptor rows for one read", "features",
     ["INSERT INTO track_descriptors (params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name, run_id, "
      "created_at) SELECT params_hash, track_id, sha256, audio_id || '-0-15000', vec, tonic_pc, key_name, run_id, "
      "created_at FROM track_descriptors WHERE track_id = '0000000000000001'"],
     "descriptor_duplicate_rows", "0000000000000001: 2 rows of params"),
    ("mixed spectrogram sizes", "features",
     ["UPDATE track_mel SET shape = [9, 4] WHERE track_id = '0000000000000001'"], "mel_mixed_shapes", "[9, 4]"),
    ("spectrogram object missing", "features", ["@delete-mel-object"], "exists", "false"),
    ("NaN in a training frame", "training_sets",
     ["UPDATE track_descriptors SET vec = list_concat(vec[:2], ['inf'::DOUBLE], vec[4:]) WHERE track_id = '0000000000000000'"],
     "non_finite_values", "of track 0000000000000000"),
    # a training set of 0 usable tracks passed (review): every frame fact holds on no row
    ("every track rejected: a training set of none", "training_sets",
     ["INSERT INTO feature_reject SELECT 'descriptors', params_hash, track_id, sha256, audio_id, 'silent', NULL, 'r1', "
      "now(), NULL FROM track_descriptors"], "no_usable_tracks",
     "q_training: 0 usable tracks: feature extraction rejected all 2 tracks"),
    ("a service pinned before any track was added", "training_sets", ["@service-pinned-before-the-catalogue"],
     "no_usable_tracks", "too-early-1: 0 usable tracks: pinned at"),
    ("feature missing from the training frame", "training_sets",
     ["DELETE FROM track_descriptors WHERE track_id = '0000000000000001'"], "min_coverage",
     "missing for 1 of 2 rows"),
    # -- gross corruptions (halving, negating, moving) so that a tolerance or an ulp in a check cannot hide them
    ("lines count zero", "lastfm_plays",
     ["UPDATE lastfm_plays SET lines = 0 WHERE user_id = 1"], "bad_lines_rows", None),
    ("user id twice", "lastfm_plays",
     ["INSERT INTO lastfm_user SELECT user_id, reverse(user_key) FROM lastfm_user WHERE user_id = 2"],
     "duplicate_user_ids", None),
    ("artist id twice", "artists",
     ["@drop artist", "INSERT INTO artist SELECT artist_id, 'name:ghost twin', NULL, name, name_norm, is_placeholder, "
      "first_dump_id FROM artist WHERE artist_id = 1"], "duplicate_artist_ids", None),
    ("empty normalised name", "artists",
     ["UPDATE artist SET name_norm = '' WHERE artist_id = 2"], "empty_name_norms", None),
    ("malformed artist key", "artists",
     ["UPDATE artist SET artist_key = 'bogus:2' WHERE artist_id = 2"], "malformed_keys", "bogus:2"),
    ("artist with an MBID keyed by another", "artists",
     ["UPDATE artist SET artist_key = 'mbid:00000000-0000-0000-0000-000000000000' "
      "WHERE artist_id = (SELECT min(artist_id) FROM artist WHERE mbid IS NOT NULL)"], "mbid_key_mismatches", None),
    ("spelling stored twice", "artists",
     ["@drop artist_name_variant", "INSERT INTO artist_name_variant SELECT * FROM artist_name_variant WHERE artist_id = 1"],
     "duplicate_variants", None),
    ("spelling used by no line", "artists",
     ["UPDATE artist_name_variant SET lines = 0 WHERE artist_id = 1"], "bad_variant_lines", None),
    ("artist without spelling", "artists",
     ["DELETE FROM artist_name_variant WHERE artist_id = 2"], "artists_without_variant", None),
    ("listeners beyond the users", "similarity",
     ["UPDATE artist_listeners SET listeners = listeners + 1000000 WHERE artist_id = (SELECT min(artist_id) "
      "FROM artist_listeners)"], "listeners_out_of_range", None),
    ("catalogue pair stored twice", "similarity",
     ["INSERT INTO artist_pair_similarity (SELECT * FROM artist_pair_similarity ORDER BY artist_a, artist_b LIMIT 1)"],
     "catalogue_duplicates", None),
    ("catalogue lift negated", "similarity",
     ["UPDATE artist_pair_similarity SET lift = -lift"], "catalogue_out_of_range", None),
    ("catalogue score wrong", "similarity",
     ["UPDATE artist_pair_similarity SET seed = seed / 2"], "catalogue_mismatches", None),
    ("catalogue pair not stored", "similarity",
     ["DELETE FROM artist_pair_counts WHERE (artist_a, artist_b) IN (SELECT (artist_a, artist_b) FROM "
      "artist_pair_similarity WHERE co_listeners >= 2 ORDER BY co_listeners DESC, artist_a, artist_b LIMIT 1)"],
     "catalogue_missing_pairs", None),
    ("preview stored twice", "previews",
     ["@drop preview", "INSERT INTO preview SELECT * FROM preview WHERE track_id = '0000000000000000'"],
     "duplicate_preview_ids", None),
    ("track stored twice", "previews",
     ["@drop track", "INSERT INTO track SELECT * FROM track WHERE track_id = '0000000000000000'"],
     "duplicate_track_ids", None),
    ("download without track", "previews",
     ["DELETE FROM track WHERE track_id = '0000000000000001'"], "downloads_without_track", "0000000000000001"),
    ("download without size", "previews",
     ["UPDATE preview SET bytes = 0 WHERE track_id = '0000000000000001'"], "incomplete_downloads", None),
    ("negative attempts", "previews",
     ["UPDATE preview SET attempts = -1 WHERE track_id = '0000000000000001'"], "negative_attempts", None),
    ("track and preview disagree", "previews",
     ["UPDATE preview SET sha256 = repeat('b', 64) WHERE track_id = '0000000000000001'"], "track_preview_mismatches",
     None),
    ("track of an unknown artist", "previews",
     ["UPDATE track SET artist_id = 999999 WHERE track_id = '0000000000000001'"], "tracks_of_unknown_artists", None),
    ("implausible sample rate", "previews",
     ["UPDATE track SET sample_rate = 1000 WHERE track_id = '0000000000000001'"], "implausible_audio", None),
    # DuckDB orders NaN above every number: `NaN > 0` held, and GX's row check counts NaN as missing: both passed it
    ("track of NaN seconds", "previews",
     ["UPDATE track SET duration_s = 'nan'::DOUBLE WHERE track_id = '0000000000000001'"], "implausible_audio",
     "0000000000000001: nan s"),
    ("track of infinite seconds", "previews",
     ["UPDATE track SET duration_s = 'inf'::DOUBLE WHERE track_id = '0000000000000001'"], "implausible_audio",
     "0000000000000001: inf s"),
    ("download of NaN seconds", "previews",
     ["UPDATE preview SET duration_s = 'nan'::DOUBLE WHERE track_id = '0000000000000001'"], "incomplete_downloads",
     None),
    ("excerpt beyond the audio", "previews",
     ["UPDATE track SET excerpt_offset_s = 25 WHERE track_id = '0000000000000001'"], "excerpt_outside_audio", None),
    ("spectrogram of unknown parameters", "features",
     ["UPDATE track_mel SET params_hash = 'nope' WHERE track_id = '0000000000000001'"], "mel_unknown_params", None),
    ("spectrogram of an unknown track", "features",
     ["UPDATE track_mel SET track_id = 'ffffffffffffffff' WHERE track_id = '0000000000000001'"], "mel_unknown_tracks",
     None),
    ("spectrogram of other audio", "features",
     ["UPDATE track_mel SET sha256 = repeat('f', 64) WHERE track_id = '0000000000000001'"], "mel_audio_mismatches",
     None),
    ("empty spectrogram axis", "features",
     ["UPDATE track_mel SET shape = [0, 4]"], "mel_bad_shapes", None),
    ("spectrogram not float16", "features",
     ["UPDATE track_mel SET dtype = 'float32' WHERE track_id = '0000000000000001'"], "mel_bad_dtypes", None),
    ("dB range upside down", "features",
     ["UPDATE track_mel SET min_db = -min_db, max_db = -80 WHERE track_id = '0000000000000001'"],
     "mel_bad_db_ranges", None),
    ("empty spectrogram object", "features",
     ["UPDATE track_mel SET bytes = 0 WHERE track_id = '0000000000000001'"], "mel_empty_objects", None),
    ("spectrogram key not content-addressed", "features",
     ["UPDATE track_mel SET object_key = 'features/mel/p1/x.npy' WHERE track_id = '0000000000000001'"],
     "mel_bad_object_keys", None),
    ("spectrogram also rejected", "features",
     ["INSERT INTO feature_reject SELECT kind, params_hash, track_id, sha256, audio_id, 'silent', NULL, 'r1', now(), "
      "NULL FROM track_mel WHERE track_id = '0000000000000001'"], "mel_also_rejected", None),
    ("descriptors of unknown parameters", "features",
     ["UPDATE track_descriptors SET params_hash = 'nope' WHERE track_id = '0000000000000001'"],
     "descriptor_unknown_params", None),
    ("descriptors of an unknown track", "features",
     ["UPDATE track_descriptors SET track_id = 'ffffffffffffffff' WHERE track_id = '0000000000000001'"],
     "descriptor_unknown_tracks", None),
    ("descriptors of other audio", "features",
     ["UPDATE track_descriptors SET sha256 = repeat('f', 64) WHERE track_id = '0000000000000001'"],
     "descriptor_audio_mismatches", None),
    ("descriptor lengths mixed", "features",
     ["UPDATE track_descriptors SET vec = vec[:3] WHERE track_id = '0000000000000001'"], "descriptor_mixed_lengths",
     None),
    ("tonic beyond B", "features",
     ["UPDATE track_descriptors SET tonic_pc = 12 WHERE track_id = '0000000000000001'"], "descriptor_bad_tonic", None),
    ("descriptors also rejected", "features",
     ["INSERT INTO feature_reject SELECT 'descriptors', params_hash, track_id, sha256, audio_id, 'silent', NULL, 'r1', "
      "now(), NULL FROM track_descriptors WHERE track_id = '0000000000000001'"], "descriptor_also_rejected", None),
    ("NaN descriptor, row by row", "features",
     ["UPDATE track_descriptors SET vec = list_concat(vec[:1], ['nan'::DOUBLE], vec[3:]) WHERE track_id = '0000000000000001'"],
     "non_finite", None),
    ("vector lengths mixed in a training frame", "training_sets",
     ["@track-embedding-service", "UPDATE feature_value SET vec = vec[:2] WHERE entity_id = '0000000000000001'"],
     "mixed_vector_lengths", "lengths [2, 3]"),
    ("tensor feature not an object key", "training_sets",
     ["@log-mel-service", "UPDATE track_mel SET object_key = 'elsewhere/x.npy' WHERE track_id = '0000000000000001'"],
     "bad_tensor_keys", "elsewhere/x.npy"),
]


def _store_tracks_as(fmt: str) -> None:
    """Every preview and track of the good warehouse stored in ``fmt`` (its object key ending so)."""
    with warehouse.writer() as con:
        for table in ("preview", "track"):
            con.execute(f"UPDATE {table} SET format = ?, object_key = 'audio/previews/' || sha256 || '.' || ? "
                        "WHERE object_key IS NOT NULL", [fmt, fmt])


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_previews_accepts_every_format_the_library_stores(good, fmt):
    # the local provider keeps whole tracks in their own format (opus, aiff, ...): each is a known format
    _store_tracks_as(fmt)
    result = run(["previews"]).results[0]
    assert result.status == "passed", result.describe()


def test_previews_still_refuses_an_unknown_format(good):
    _store_tracks_as("xyz")
    result = run(["previews"]).results[0]
    assert result.status == "failed"
    assert any("format" in f["columns"] and "xyz" in f["text"] for f in failures(result)), result.describe()


@pytest.mark.parametrize(("case", "dataset", "statements", "column", "example"), BAD, ids=[c[0] for c in BAD])
def test_bad_data_fails_its_suite(good, case, dataset, statements, column, example):
    with warehouse.writer() as con:
        for stmt in statements:
            if stmt.startswith("@drop "):
                drop_constraints(con, stmt.split()[1])
            elif stmt == "@delete-mel-object":
                key = con.execute("SELECT object_key FROM track_mel ORDER BY track_id LIMIT 1").fetchone()[0]
                open_store().delete(key)
            elif stmt in SETUPS:
                SETUPS[stmt](con)
            else:
                con.execute(stmt)
    result = run([dataset]).results[0]
    assert result.status == "failed", result.describe()
    hit = [f for f in failures(result) if column in f["columns"]]
    assert hit, f"expected a failure on {column}: {result.describe()}"
    if example is not None:
        shown = json.dumps([f["examples"] + f["observed"] for f in hit], default=str)
        assert example in shown, shown


def test_an_implausible_rate_is_reported_against_the_one_range(good):
    """From a review: the range is 8-768 kHz since high-resolution files are stored again (musim.audio.formats); the
    failed expectation's line still said 8..192 kHz, which the stored 384 kHz tracks are outside of."""
    from musim.audio.formats import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

    with warehouse.writer() as con:
        con.execute("UPDATE track SET sample_rate = 1000 WHERE track_id = '0000000000000001'")
    result = run(["previews"]).results[0]
    (hit,) = [f for f in failures(result) if "implausible_audio" in f["columns"]]
    assert f"{MIN_SAMPLE_RATE // 1000}..{MAX_SAMPLE_RATE // 1000} kHz" in hit["text"], hit["text"]
    assert "192 kHz" not in hit["text"]


def _similarity_facts(con):
    """The similarity suite's invariants part, its context and its one-row frame of facts (the real SQL's)."""
    from musim.config import get_settings
    from musim.quality.registry import CheckContext, Coverage, get_suite
    from musim.similarity.build import resolve_dump

    part = get_suite("similarity").parts[0]
    ctx = CheckContext(con=con, thresholds=get_settings().quality, dump_id=resolve_dump(con, None))
    (df,) = part.frames(ctx, Coverage())
    return part, ctx, df


def test_a_similarity_fact_the_sql_left_null_or_nan_fails(good):
    """The similarity facts were checked by row-by-row expectations on their one-row frame, which count a NULL or
    NaN value as missing and pass it: a fact the SQL could not compute passed the gate. Each fact is now checked
    by its value (GX's column maximum, registry.fact_between): such a fact fails, named, with its value."""
    import pandas as pd

    from musim.quality import gx

    with warehouse.writer() as con:
        part, ctx, df = _similarity_facts(con)
    context = gx.new_context(None)
    ok = gx.PartValidator(context, "t.good", part.expectations(ctx), "r")
    ok.validate(df)
    assert len(ok.finish()) == 17 and all(o.success for o in ok.finish())
    for i, value in enumerate((pd.array([None], dtype="Int64"), [float("nan")])):
        bad = df.copy()
        bad["catalogue_mismatches"] = value
        validator = gx.PartValidator(context, f"t.bad{i}", part.expectations(ctx), "r")
        validator.validate(bad)
        failed = [o for o in validator.finish() if not o.success]
        assert [o.columns for o in failed] == [["catalogue_mismatches"]], [o.label() for o in failed]


@pytest.mark.parametrize("dataset", ["lastfm_plays", "lastfm_profiles", "artists", "previews", "features"])
def test_a_fact_the_sql_left_null_fails_in_every_suite(good, dataset):
    """As for the similarity suite: every bounded fact of these suites' invariants was checked row by row on its
    one-row frame, which passes a NULL value as missing (a count the SQL could not compute passed the gate). Each is
    now checked by its value (registry.fact_between), so every one of them fails when NULL."""
    import pandas as pd

    from musim.config import get_settings
    from musim.quality import gx
    from musim.quality.registry import CheckContext, Coverage, get_suite
    from musim.similarity.build import resolve_dump

    suite = get_suite(dataset)
    (part,) = [p for p in suite.parts if p.facts]
    with warehouse.writer() as con:
        ctx = CheckContext(con=con, thresholds=get_settings().quality,
                           dump_id=resolve_dump(con, None) if suite.scope == "dump" else None)
        (df,) = part.frames(ctx, Coverage())
        expectations = part.expectations(ctx)
    bounded = [e.column for e in expectations if hasattr(e, "min_value")]
    assert len(bounded) >= 2, bounded
    df = df.copy()
    for column in bounded:
        df[column] = pd.array([None], dtype="Float64")
    validator = gx.PartValidator(gx.new_context(None), f"t.{dataset}", expectations, "r")
    validator.validate(df)
    outcomes = [o for o in validator.finish() if "min_value" in o.kwargs]  # not the equalities of two facts
    assert sorted(o.columns[0] for o in outcomes if not o.success) == sorted(bounded)


def test_a_failed_similarity_fact_says_how_many_it_found(good):
    """A failed fact's line gives its value as a count (``1 found``), with the examples its SQL shows."""
    with warehouse.writer() as con:
        con.execute("INSERT INTO artist_listeners SELECT * FROM artist_listeners WHERE artist_id = "
                    "(SELECT min(artist_id) FROM artist_listeners)")
    result = run(["similarity"]).results[0]
    (failure,) = [f for f in result.failures if f.columns == ["duplicate_listeners"]]
    assert failure.observed == [1] and failure.summary() == "invariants: one listeners row per artist (1 found)"
    assert failure.line().startswith("invariants: one listeners row per artist | min_value=0.0 max_value=0.0 | "
                                     "1 found; examples: ['artist ")
    assert result.expectations == 22 and "invariants: one listeners row per artist (1 found)" in result.summary(9)


def test_reject_share_threshold_and_override(tmp_path, musim_home, monkeypatch):
    # 20 lines, 2 rejected (10 %): more than the default 1 %
    lines = [f"{U1 if i % 2 else U2}\t{MB_A if i % 3 else MB_B}\tArtist {i % 3}\t{i + 1}" for i in range(18)]
    lines += [f"{U1}\t{MB_A}\tArtist A\tmany", f"{U2}\t{MB_B}\tArtist B\t-4"]
    ingest_lastfm(write_lines(tmp_path / "d.tsv", lines))
    result = run(["lastfm_plays"]).results[0]
    assert result.status == "failed"
    (share,) = [f for f in result.failures if f.columns == ["reject_share"]]
    assert share.observed == [pytest.approx(0.1)]
    assert any("plays is not an integer of at most 18 digits: 1 lines" in e for e in share.examples)
    assert any("negative plays: 1 lines" in e for e in share.examples)
    monkeypatch.setenv("MUSIM_QUALITY_MAX_REJECT_SHARE", "0.2")
    assert run(["lastfm_plays"]).success


def test_a_failed_fact_says_its_value_against_its_bound(tmp_path, musim_home, monkeypatch):
    """A fact over its bound said only which expectation failed (`rejected lines are at most 0.10% of all lines`),
    not by how much: its line and the one-line summary (the gate's, the CLI's `musim: error:`) now give the value
    against the bound, for every kind of fact: a share, a count below its minimum, two facts that differ."""
    lines = [f"{U1 if i % 2 else U2}\t{MB_A if i % 3 else MB_B}\tArtist {i % 3}\t{i + 1}" for i in range(18)]
    lines += [f"{U1}\t{MB_A}\tArtist A\tmany", f"{U2}\t{MB_B}\tArtist B\t-4"]  # 2 of 20 lines rejected
    dump = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines)).dump_id
    monkeypatch.setenv("MUSIM_QUALITY_MAX_REJECT_SHARE", "0.001")
    with warehouse.writer() as con:  # the dump's record says one user-artist row more than the table holds
        con.execute("UPDATE lastfm_dump SET plays_rows = plays_rows + 1 WHERE dump_id = ?", [dump])
    done = run(["lastfm_plays"])
    by_column = {tuple(f.columns): f for f in done.results[0].failures}
    stored = by_column[("plays_rows", "rows_stored")].observed[0][1]
    share = by_column[("reject_share",)]
    assert share.summary() == "invariants: rejected lines are at most 0.10% of all lines (reject share 0.1 > 0.001)"
    assert "| min_value=0.0 max_value=0.001 | reject share 0.1 > 0.001; examples: [" in share.line()
    pair = by_column[("plays_rows", "rows_stored")]
    assert pair.summary().endswith(f"(plays rows {stored + 1} != rows stored {stored})") and pair.line().endswith(
        f"| plays rows {stored + 1} != rows stored {stored}")
    assert "(reject share 0.1 > 0.001)" in done.failed_line() and f"(plays rows {stored + 1} != rows stored " \
        f"{stored})" in done.failed_line()


def test_1k_dump_user_ids_are_checked_in_their_own_format(tmp_path, musim_home):
    events = [f"user_{u:06d}\t2009-05-04T23:08:57Z\t{MB_A if u % 2 else MB_B}\tArtist\t\tTrack {u}" for u in range(1, 30)]
    ingest_lastfm(write_lines(tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv", events))
    assert run(["lastfm_plays"]).success
    with warehouse.writer() as con:
        con.execute(f"UPDATE lastfm_user SET user_key = '{U1}' WHERE user_id = 1")  # a 360K key in a 1K dump
    result = run(["lastfm_plays"]).results[0]
    assert not result.success and U1 in json.dumps([f.examples for f in result.failures])
    assert "user ids are user_NNNNNN (1K dump)" in "\n".join(result.describe())


def test_profiles_are_skipped_without_a_profiles_file(tmp_path, musim_home):
    ingest_lastfm(write_lines(tmp_path / "d.tsv", [f"{U1}\t{MB_A}\tArtist A\t3", f"{U2}\t{MB_B}\tArtist B\t4"]))
    result = run(["lastfm_profiles", "lastfm_plays"])
    assert result.success
    assert [r.status for r in result.results] == ["skipped", "passed"]
    assert "without a profiles file" in result.results[0].reason


def _zero_columns(con, dump_id: str) -> set[tuple[str, str]]:
    """(dataset, column) of every "must be zero" expectation of every registered suite, as the suites build them."""
    from musim.quality.registry import CheckContext, all_suites
    from tests.quality.test_training_split import labelled_split

    ctx = CheckContext(con, QualityThresholds(), dump_id=dump_id, payload={"training_split": labelled_split()})
    found = set()
    for suite in all_suites().values():
        for part in suite.parts:
            for e in part.expectations(ctx):
                # a fact of a one-row frame is checked by its value (registry.fact_between: the column's maximum)
                if type(e).__name__ in ("ExpectColumnValuesToBeBetween", "ExpectColumnMaxToBeBetween") \
                        and e.min_value == 0 and e.max_value == 0:
                    found.add((suite.name, e.column))
    return found


def test_every_must_be_zero_column_has_a_failing_case(good):
    """A new invariant cannot arrive without a case that breaks the good data and sees it fail."""
    from tests.quality.test_training_split import BAD_SPLITS

    with warehouse.writer() as con:
        dump_id = con.execute("SELECT dump_id FROM lastfm_dump").fetchone()[0]
        columns = _zero_columns(con, dump_id)
    assert len(columns) > 40 and ("similarity", "catalogue_mismatches") in columns
    cased = {(c[1], c[3]) for c in BAD} | {("training_split", c[2]) for c in BAD_SPLITS}
    missing = sorted(columns - cased)
    assert not missing, f"'must be zero' columns without a BAD case: {missing}"


def _pinned_descriptor_service(con, name: str, as_of) -> None:
    from musim.features import FeatureService, register_service
    from musim.features.definitions import track_descriptors

    register_service(con, FeatureService(name, (track_descriptors,), description="a trained model's service",
                                         model_version=name, as_of=as_of))


def _add_track(con, i: int, added_at, features_at) -> str:
    """One more track (of artist 1), added at ``added_at``, its descriptors computed at ``features_at`` (None: never)."""
    from musim.features.definitions import track_descriptors

    sha, track_id = f"{i:064x}".replace("0", "b", 10), f"{i:016x}"
    con.execute("""INSERT INTO track (track_id, artist_id, title, genre, provider, provider_track_id, provider_rank,
                       object_key, sha256, format, duration_s, sample_rate, channels, excerpt_offset_s,
                       excerpt_duration_s, added_at)
                   VALUES (?, 1, 'Later', NULL, 'library', ?, 1, ?, ?, 'flac', 30.0, 44100, 2, 0.0, 30.0, ?)""",
                [track_id, sha, f"audio/previews/{sha}.flac", sha, added_at])
    if features_at is not None:
        con.execute("""INSERT INTO track_descriptors (params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name,
                           run_id, created_at) VALUES (?, ?, ?, ?, ?, 9, 'A minor', 'r2', ?)""",
                    [track_descriptors.params_hash, track_id, sha, sha, [0.7] * track_descriptors.dim, features_at])
    return track_id


def test_tracks_added_after_a_service_was_pinned_are_not_its_gaps(good):
    """A folder that grows after its first model: `features build` failed for good (`track_log_mel__log_mel
    missing for 58 of 236 rows` of contrastive-1): the pinned frame was built over every track there is now,
    and a track added since cannot have had features at the pin."""
    import datetime as dt

    from tests.quality.conftest import NOW

    pin = NOW + dt.timedelta(hours=1)
    with warehouse.writer() as con:
        _pinned_descriptor_service(con, "contrastive-1", pin)
        for i in range(10, 14):  # four tracks added (and featurised) after the pin: more than the 10 % allowed
            _add_track(con, i, pin + dt.timedelta(days=1), pin + dt.timedelta(days=1, minutes=5))
    result = run(["training_sets"]).results[0]
    assert result.status == "passed", result.describe()
    facts = {r["service"]: r for r in _training_facts()}
    assert facts["contrastive-1"]["entities"] == 2 and facts["q_training"]["entities"] == 6  # the unpinned: all


def test_a_catalogue_with_no_track_yet_passes_the_training_sets(good):
    """Deliberately empty: a fresh install's `musim features build` (no audio stored yet, nothing to extract) runs
    this gate and passes; only a training set of no track while the catalogue holds some fails."""
    with warehouse.writer() as con:
        for table in ("feature_value", "track_descriptors", "track_mel", "track"):
            con.execute(f"DELETE FROM {table}")
    result = run(["training_sets"]).results[0]
    assert result.status == "passed", result.describe()
    assert [r["no_usable_tracks"] for r in _training_facts()] == [0]


def _training_facts() -> list[dict]:
    from musim.quality.registry import CheckContext, Coverage
    from musim.quality.suites.training import frames

    with warehouse.writer() as con:
        frame = next(frames(CheckContext(con, FAST), Coverage()))
    return frame.to_dict("records")


def test_a_gap_at_the_pin_still_fails_a_pinned_service(good):
    """A track that was in the catalogue at the pin but had no feature then (computed later, or never) is a gap
    of that training set: the gate still says so."""
    import datetime as dt

    from tests.quality.conftest import NOW

    pin = NOW + dt.timedelta(hours=1)
    with warehouse.writer() as con:
        _pinned_descriptor_service(con, "contrastive-1", pin)
        late = _add_track(con, 20, NOW, pin + dt.timedelta(minutes=5))  # there at the pin, featurised after it
        _add_track(con, 21, pin + dt.timedelta(days=1), pin + dt.timedelta(days=1))  # added after: not a gap
    result = run(["training_sets"]).results[0]
    assert result.status == "failed", result.describe()
    shown = json.dumps([f["examples"] for f in failures(result) if "min_coverage" in f["columns"]])
    assert "contrastive-1: track_descriptors__" in shown and "missing for 1 of 3 rows" in shown and late in shown


def test_features_of_a_replaced_audio_pass_until_it_was_replaced_and_a_real_mismatch_still_fails(good):
    """A re-read excerpt (`library add`) keeps the old audio's feature rows as the track's history: rows made while
    the track had that audio (track_audio_history) pass; a row of audio the track never had, or of the old audio made
    after it was replaced, is a mismatch still."""
    import datetime as dt

    track = "0000000000000001"
    with warehouse.writer() as con:
        (old_sha, made) = con.execute("SELECT sha256, max(created_at) FROM track_mel WHERE track_id = ? GROUP BY sha256",
                                      [track]).fetchone()
        con.execute("UPDATE track SET sha256 = repeat('e', 64) WHERE track_id = ?", [track])
        con.execute("INSERT INTO track_audio_history (track_id, sha256, replaced_at) VALUES (?, ?, ?)",
                    [track, old_sha, made + dt.timedelta(minutes=1)])
    result = run(["features"]).results[0]
    assert result.status == "passed", result.describe()

    with warehouse.writer() as con:  # the old audio's spectrograms, made after the track's audio changed
        con.execute("UPDATE track_audio_history SET replaced_at = ? WHERE track_id = ?", [made - dt.timedelta(minutes=1),
                                                                                           track])
    result = run(["features"]).results[0]
    assert result.status == "failed"
    shown = json.dumps([f["examples"] for f in failures(result) if "mel_audio_mismatches" in f["columns"]])
    assert f"{track}: features of {old_sha}, track audio {'e' * 64}" in shown

    with warehouse.writer() as con:  # history right again, and one current spectrogram of audio it never had
        con.execute("UPDATE track_audio_history SET replaced_at = ? WHERE track_id = ?", [made + dt.timedelta(minutes=1),
                                                                                           track])
        con.execute("UPDATE track_mel SET sha256 = repeat('f', 64) WHERE track_id = '0000000000000000'")
    result = run(["features"]).results[0]
    assert result.status == "failed"
    shown = json.dumps([f["examples"] for f in failures(result) if "mel_audio_mismatches" in f["columns"]])
    assert "0000000000000000: features of " + "f" * 64 in shown and old_sha not in shown


def test_a_failed_object_check_names_the_track_object_audio_and_build(good):
    """The objects part gave no examples: a missing or unreadable spectrogram object failed the gate with "e.g.
    [false]", naming no track to recompute."""
    with warehouse.writer() as con:
        (gone, gone_track, gone_run), (bad, bad_track, _) = con.execute(
            "SELECT object_key, track_id, run_id FROM track_mel ORDER BY track_id, kind LIMIT 2").fetchall()
    store = open_store()
    store.delete(gone)
    store.put_bytes(bad, b"not an array")
    result = run(["features"]).results[0]
    by_column = {c: f for f in failures(result) for c in f["columns"]}
    assert f"{gone_track}: {gone} is not in the object store (audio " in by_column["exists"]["text"]
    assert f", build {gone_run})" in by_column["exists"]["text"]
    assert f"{bad_track}: {bad} is no readable .npy (" in by_column["finite"]["text"]
