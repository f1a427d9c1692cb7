"""The features suite bounds descriptors by name and keeps one row per point-in-time read; its failures name the
track and the feature; the training_sets suite tells a NaN scalar from a gap."""

from __future__ import annotations

import json

from musim import warehouse
from musim.audio import DESCRIPTOR_NAMES
from musim.quality import check

TRACK = "0000000000000001"
AUDIO = "aaaaaaaaaa" + "0" * 53 + "1"  # its audio_id in the good warehouse


def _run(datasets):
    return check(datasets, docs=False).results[0]


def _failed(result) -> dict[str, dict]:
    """The failures of ``result`` by column: their line, examples and observed values."""
    return {c: {"line": f.line(), "examples": f.examples, "observed": f.observed}
            for f in result.failures for c in f.columns}


def _set(con, name: str, value: str, track: str = TRACK) -> None:
    i = DESCRIPTOR_NAMES.index(name) + 1
    con.execute(f"UPDATE track_descriptors SET vec = list_concat(vec[:{i - 1}], [{value}::DOUBLE], vec[{i + 1}:]) "
                "WHERE track_id = ?", [track])


def test_a_negative_tempo_fails_the_suite_naming_tempo_bpm(good):
    with warehouse.writer() as con:
        _set(con, "tempo_bpm", "-120.0")
    result = _run(["features"])
    assert result.status == "failed", result.describe()
    failed = _failed(result)
    assert (f"{TRACK}: tempo_bpm (index 2) = -120.0, outside [0.0, 320.0] (audio {AUDIO}, build r1)"
            in failed["descriptor_out_of_range"]["examples"])  # the audio and the build that wrote the row
    row = failed["tempo_bpm"]  # the row-level check is the descriptor's own column
    assert "tempo_bpm in 0..320" in row["line"] and row["observed"] == [-120.0]
    assert any(e.startswith(f"{TRACK}: tempo_bpm") for e in row["examples"]), row


def test_impossible_durations_rates_and_frequencies_fail(good):
    """duration <= 0, zero-crossing rates above 1, frequencies above half the rate: what no audio gives."""
    with warehouse.writer() as con:
        _set(con, "duration_s", "-3.0")
        _set(con, "zcr_mean", "1.5", track="0000000000000000")
        _set(con, "rolloff_mean_hz", "20000.0", track="0000000000000000")  # sr 22050: at most 11025 Hz
    failed = _failed(_run(["features"]))
    shown = json.dumps(failed["descriptor_out_of_range"]["examples"])
    assert f"{TRACK}: duration_s (index 1) = -3.0, outside (0.0, inf)" in shown
    assert "0000000000000000: zcr_mean (index 6) = 1.5, outside [0.0, 1.0]" in shown
    assert "0000000000000000: rolloff_mean_hz (index 5) = 20000.0, outside [0.0, 11025.0]" in shown
    assert {"duration_s", "zcr_mean", "rolloff_mean_hz", "nyquist_hz"} <= failed.keys()


def test_a_descriptor_longer_than_its_excerpt_fails(good):
    """An excerpt's audio_id carries its window (sha256-<offset_ms>-<duration_ms>): 45 s of a 30 s window is
    impossible; the same 45 s of a whole file is not bounded."""
    with warehouse.writer() as con:
        con.execute("UPDATE track_descriptors SET audio_id = sha256 || '-0-30000' WHERE track_id = ?", [TRACK])
        _set(con, "duration_s", "45.0")
    failed = _failed(_run(["features"]))
    assert "duration_s (index 1) = 45.0, outside (0.0, 30.01]" in json.dumps(failed["descriptor_out_of_range"])
    with warehouse.writer() as con:
        con.execute("UPDATE track_descriptors SET audio_id = sha256 WHERE track_id = ?", [TRACK])
    result = _run(["features"])
    assert result.status == "passed", result.describe()


def test_a_second_row_for_the_same_read_fails(good):
    """Two rows of one track and parameters made at the same moment (another audio_id): a point-in-time read
    cannot tell which is the track's value."""
    with warehouse.writer() as con:
        con.execute("""INSERT INTO track_descriptors (params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name,
                           run_id, created_at)
                       SELECT params_hash, track_id, sha256, audio_id || '-0-15000', vec, tonic_pc, key_name, run_id,
                              created_at
                       FROM track_descriptors WHERE track_id = ?""", [TRACK])
    result = _run(["features"])
    assert result.status == "failed", result.describe()
    examples = _failed(result)["descriptor_duplicate_rows"]["examples"]
    assert len(examples) == 1 and examples[0].startswith(f"{TRACK}: 2 rows of params "), examples


def test_a_nan_example_names_the_feature_and_is_short(good):
    with warehouse.writer() as con:
        _set(con, "zcr_mean", "'nan'")
    result = _run(["features"])
    failed = _failed(result)
    line = failed["descriptor_non_finite"]["line"]
    assert f"{TRACK}: zcr_mean (index 6) = NaN" in line and len(line) < 300, line
    # row by row GX counts the non-finite values; the examples say which track and feature
    assert failed["non_finite"]["examples"] == [f"{TRACK}: zcr_mean (index 6) = NaN (audio {AUDIO}, build r1)"]
    assert len(result.describe()) < 4000


def test_many_non_finite_values_are_summarised(good):
    with warehouse.writer() as con:
        con.execute("UPDATE track_descriptors SET vec = list_transform(vec, lambda x: 'inf'::DOUBLE) "
                    "WHERE track_id = ?", [TRACK])
    example = _failed(_run(["features"]))["descriptor_non_finite"]["examples"][0]
    assert example == (f"{TRACK}: duration_s (index 1) = inf, tempo_bpm (index 2) = inf, ibi_mean_s (index 3) = inf, "
                       f"... ({len(DESCRIPTOR_NAMES)} of {len(DESCRIPTOR_NAMES)} not finite) (audio {AUDIO}, build r1)")


def _more_tracks(con, n: int) -> None:
    """``n`` more tracks with descriptors, so one bad value stays under the 10 % of gaps allowed."""
    from tests.quality.test_suites import _add_track

    for i in range(n):
        _add_track(con, 40 + i, "2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z")


def test_training_sets_fails_on_a_nan_scalar_beside_numbers(good):
    """A NaN in one column of a scalars view's row whose other columns hold numbers is a non-finite value, not a
    gap (it was counted as missing, and one track in twelve is within the 10 % of gaps allowed)."""
    with warehouse.writer() as con:
        _more_tracks(con, 10)
        _set(con, "tempo_bpm", "'nan'")
    result = _run(["training_sets"])
    assert result.status == "failed", result.describe()
    failed = _failed(result)
    assert "min_coverage" not in failed
    assert f"q_training: track_descriptors__tempo_bpm of track {TRACK} = nan" in failed["non_finite_values"]["examples"]


def test_training_sets_still_counts_a_whole_missing_row_as_a_gap(good):
    with warehouse.writer() as con:
        _more_tracks(con, 10)
        con.execute("DELETE FROM track_descriptors WHERE track_id = ?", [TRACK])
    result = _run(["training_sets"])
    assert result.status == "passed", result.describe()  # 11 of 12 tracks: within the 10 % of gaps allowed


def test_training_sets_skip_names_a_command_that_registers_services(good):
    with warehouse.writer() as con:
        con.execute("DELETE FROM feature_service_view")
        con.execute("DELETE FROM feature_service")
    result = _run(["training_sets"])
    assert result.status == "skipped"
    assert result.reason == "no feature service is registered (`musim features build` registers the defined ones)"


def test_real_extracted_features_pass(musim_home):
    """Descriptors extracted from audio (a windowed local track among them) are within every bound."""
    from musim.features import build
    from musim.storage import open_store
    from tests.features.conftest import OPTIONS, add_standard_tracks
    from tests.features.helpers import Catalogue

    con = warehouse.connect()
    try:
        store = open_store()
        add_standard_tracks(Catalogue(con, store))
        build(con=con, store=store, options=OPTIONS, publish=False)
        duration, audio_id = con.execute("SELECT vec[1], audio_id FROM track_descriptors WHERE track_id = 'a2local'"
                                         ).fetchone()
    finally:
        con.close()
    assert audio_id.endswith("-3000-6000") and 5.9 < duration <= 6.0  # the window bound was checked on it
    result = _run(["features"])
    assert result.status == "passed", result.describe()
    assert result.expectations > 60


def _superseded_bad_row(con, track: str = TRACK) -> None:
    """A row of the track's earlier audio (a re-read replaced it: track_audio_history), made a day before its
    current row, with an impossible tempo and a NaN: no reader takes it."""
    old = "b" * 64
    con.execute("""INSERT INTO track_descriptors (params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name,
                       run_id, created_at)
                   SELECT params_hash, track_id, ?, ?, list_concat([vec[1], 999.0], vec[3:5], ['nan'::DOUBLE],
                          vec[7:]), tonic_pc, key_name, 'r0', created_at - INTERVAL 1 DAY
                   FROM track_descriptors WHERE track_id = ?""", [old, old, track])
    con.execute("INSERT INTO track_audio_history (track_id, sha256, replaced_at) "
                "SELECT track_id, ?, created_at - INTERVAL 1 HOUR FROM track_descriptors "
                "WHERE track_id = ? AND sha256 <> ?", [old, track, old])


def test_a_superseded_row_does_not_fail_the_suite(good):
    """The values readers take are checked: a bad row of audio a re-read replaced (its track has a newer, good
    row) does not block the gate; the same bad values on the row readers take do."""
    with warehouse.writer() as con:
        _superseded_bad_row(con)
    result = _run(["features"])
    assert result.status == "passed", result.describe()
    with warehouse.writer() as con:  # the current row made older than the bad one: now readers take the bad one
        con.execute("UPDATE track_descriptors SET created_at = created_at - INTERVAL 2 DAY "
                    "WHERE track_id = ? AND run_id <> 'r0'", [TRACK])
    failed = _failed(_run(["features"]))
    old = "b" * 64
    assert (f"{TRACK}: tempo_bpm (index 2) = 999.0, outside [0.0, 320.0] (audio {old}, build r0)"
            in failed["descriptor_out_of_range"]["examples"])
    assert failed["non_finite"]["examples"] == [f"{TRACK}: zcr_mean (index 6) = NaN (audio {old}, build r0)"]


def test_a_row_a_newer_rejection_withdrew_does_not_fail_the_suite(good):
    """A track whose newest descriptor outcome is a rejection has no value (descriptor_rows_read): its older
    bad row is not read."""
    with warehouse.writer() as con:
        _set(con, "tempo_bpm", "-120.0")
        con.execute("""UPDATE track SET sha256 = ? WHERE track_id = ?""", ["c" * 64, TRACK])
        con.execute("""INSERT INTO track_audio_history (track_id, sha256, replaced_at)
                       SELECT track_id, sha256, created_at + INTERVAL 1 HOUR FROM track_descriptors
                       WHERE track_id = ?""", [TRACK])
        con.execute("""INSERT INTO feature_reject (kind, params_hash, track_id, sha256, audio_id, reason, run_id,
                           created_at)
                       SELECT 'descriptors', params_hash, track_id, ?, ?, 'undecodable', 'r2',
                              created_at + INTERVAL 2 HOUR
                       FROM track_descriptors WHERE track_id = ?""", ["c" * 64, "c" * 64, TRACK])
    result = _run(["features"])
    assert result.status == "passed", result.describe()


def _served_and_gated(con) -> tuple[dict, set, dict]:
    """What readers are served of the descriptor view (track -> tempo), the rows the gate validates row by row
    ((params, track, audio)) and the rows descriptor_rows_read (migration 031) takes now (the same keys -> tempo)."""
    from musim import sql
    from musim.features.definitions import track_descriptors
    from musim.features.online import OnlineStore

    tempo = DESCRIPTOR_NAMES.index("tempo_bpm")
    store = OnlineStore.from_warehouse(con, track_descriptors)
    served = {str(t): float(v[tempo]) for t, v in zip(store.ids, store.matrix, strict=True)}
    gated = {(p, t, a) for p, t, _s, a, *_ in sql.query(con, "quality/features_descriptors_base.sql").fetchall()}
    taken = {(p, t, a): v[tempo] for p, t, a, v in con.execute(
        "SELECT params_hash, track_id, audio_id, vec FROM descriptor_rows_read(now())").fetchall()}
    return served, gated, taken


def test_the_gate_checks_the_rows_readers_are_served(good):
    """One definition of the rows readers take (descriptor_rows_read): a superseded bad row neither blocks the gate
    nor is served; made current, it both blocks the gate and is what readers are served; withdrawn by a newer
    rejection, the track is neither served nor checked."""
    from musim.features.definitions import track_descriptors

    params = track_descriptors.source.extractor.params_hash
    old = "b" * 64
    with warehouse.writer() as con:
        _superseded_bad_row(con)
        served, gated, taken = _served_and_gated(con)
        assert gated == set(taken) and (params, TRACK, old) not in gated
        assert served[TRACK] != 999.0 and served == {t: v for (p, t, _a), v in taken.items() if p == params}
    assert _run(["features"]).status == "passed"

    with warehouse.writer() as con:  # the current row made older than the bad one: readers take the bad one now
        con.execute("UPDATE track_descriptors SET created_at = created_at - INTERVAL 2 DAY "
                    "WHERE track_id = ? AND run_id <> 'r0'", [TRACK])
        served, gated, taken = _served_and_gated(con)
        assert gated == set(taken) and (params, TRACK, old) in gated
        assert served[TRACK] == 999.0 and served == {t: v for (p, t, _a), v in taken.items() if p == params}
    failed = _failed(_run(["features"]))
    assert f"{TRACK}: tempo_bpm (index 2) = 999.0, outside [0.0, 320.0] (audio {old}, build r0)" \
        in failed["descriptor_out_of_range"]["examples"]

    with warehouse.writer() as con:  # a newer rejection withdraws the bad row: no value, nothing to check
        con.execute("""INSERT INTO feature_reject (kind, params_hash, track_id, sha256, audio_id, reason, run_id,
                           created_at)
                       SELECT 'descriptors', params_hash, track_id, ?, ?, 'undecodable', 'r3',
                              max(created_at) + INTERVAL 1 HOUR
                       FROM track_descriptors WHERE track_id = ? GROUP BY ALL""", ["c" * 64, "c" * 64, TRACK])
        served, gated, taken = _served_and_gated(con)
        assert TRACK not in served and not any(t == TRACK for _p, t, _a in gated) and gated == set(taken)
    assert _run(["features"]).status == "passed"
