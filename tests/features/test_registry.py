"""The registry: declarative definitions applied idempotently, versions immutable, services pinned."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from musim.audio import MelParams
from musim.errors import NotFoundError, ParameterError
from musim.features import (
    ARTIST,
    TRACK,
    Extractor,
    FeatureService,
    RegistryError,
    apply,
    embedding_view,
    extraction_view,
    get_service,
    get_view,
    list_services,
    list_views,
    register_service,
    register_view,
)
from musim.features import definitions as d


def test_apply_registers_every_definition_once(con):
    new = apply(con)
    assert new["views"] == [v.ref for v in d.VIEWS]
    assert new["services"] == [s.name for s in d.SERVICES]
    assert apply(con) == {"views": [], "services": []}
    rows = {r["name"]: r for r in list_views(con)}
    assert rows["track_log_mel"]["params_hash"] == MelParams().hash()
    assert rows["track_log_mel"]["storage"] == "object_store" and rows["track_log_mel"]["kind"] == "tensor"
    assert rows["track_descriptors"]["storage"] == "warehouse"
    assert rows["artist_descriptors_mean"]["entity"] == "artist"
    schema = json.loads(con.execute("SELECT schema FROM feature_view WHERE name = 'track_log_mel'").fetchone()[0])
    assert schema == [{"name": "log_mel", "dtype": "float16", "shape": [256, 64]}]
    params = json.loads(con.execute("SELECT params FROM feature_params WHERE params_hash = ?",
                                    [MelParams().hash()]).fetchone()[0])
    assert MelParams.from_dict(params) == MelParams()


def test_changed_definition_needs_a_new_version(con):
    apply(con)
    changed = extraction_view("track_log_mel", 1, extractor=Extractor("log_mel", MelParams(n_mels=96)),
                              description="changed")
    with pytest.raises(RegistryError, match="new version"):
        register_view(con, changed)
    v2 = extraction_view("track_log_mel", 2, extractor=Extractor("log_mel", MelParams(n_mels=96)),
                         description="changed")
    assert register_view(con, v2) is True
    assert get_view(con, "track_log_mel").version == 2
    assert get_view(con, "track_log_mel", 1) is d.track_log_mel
    assert get_view(con, "track_log_mel:2").params_hash == MelParams(n_mels=96).hash()


def test_embedding_view_round_trips_through_the_registry(con):
    view = embedding_view("artist_ae_embedding", 3, entity=ARTIST, dim=16, model_version="ae-7",
                          description="autoencoder bottleneck, artist mean")
    register_view(con, view)
    back = get_view(con, "artist_ae_embedding", 3)
    assert back == view and back.model_version == "ae-7" and back.dim == 16 and back.entity is ARTIST


def test_services_are_immutable_and_pin_versions(con):
    at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    svc = FeatureService("siamese-3", (d.track_log_mel, d.track_descriptors), description="run 3",
                         model_version="siamese-3", as_of=at)
    assert register_service(con, svc) is True
    assert register_service(con, svc) is False
    back = get_service(con, "siamese-3")
    assert [v.ref for v in back.views] == ["track_log_mel:1", "track_descriptors:4"]
    assert back.as_of == at and back.model_version == "siamese-3"
    with pytest.raises(RegistryError, match="immutable"):
        register_service(con, FeatureService("siamese-3", (d.track_log_mel,), model_version="siamese-3"))
    assert [s["name"] for s in list_services(con)] == ["siamese-3"]


def test_bad_definitions_and_unknown_names(con):
    with pytest.raises(ParameterError):
        embedding_view("bad__name", 1, entity=TRACK, dim=4, model_version="m", description="x")
    with pytest.raises(ParameterError):
        FeatureService("dup", (d.track_log_mel, d.track_log_mel))
    with pytest.raises(NotFoundError, match="no feature view"):
        get_view(con, "nope")
    with pytest.raises(NotFoundError, match="no feature service"):
        get_service(con, "nope")


def test_list_and_show_read_the_registry_without_the_writer_once_it_is_applied(musim_home, capsys):
    """`features list`/`show` took the writer's lock (to register the code's definitions each time), so they failed
    while a build wrote, and could make an ingest beside them fail."""
    from musim import sandbox, warehouse
    from musim.cli import main
    from musim.features.registry import applied, apply

    warehouse.connect().close()
    with sandbox.reader() as con:
        assert not applied(con)  # a new warehouse: the first list registers the definitions
    assert main(["features", "list", "--json"]) == 0
    assert {v["name"] for v in __import__("json").loads(capsys.readouterr().out)["views"]} >= {"track_log_mel"}
    with sandbox.reader() as con:
        assert applied(con)
    with warehouse.writer() as con:
        assert apply(con) == {"views": [], "services": []}
    assert main(["features", "show", "track_log_mel"]) == 0 and "track_log_mel:1" in capsys.readouterr().out


@pytest.mark.parametrize("version", ["abc", True, -1, 4.5, 10**20])
def test_get_view_refuses_a_version_that_is_no_whole_number(con, version):
    """``get_view(con, name, "abc")`` raised DuckDB's ConversionException with the SQL statement; True read as 1."""
    apply(con)
    with pytest.raises(ParameterError, match=r"^track_descriptors: version .* is no view version \(a whole number"):
        get_view(con, "track_descriptors", version)
    assert get_view(con, "track_descriptors", "4") == get_view(con, "track_descriptors:4", 4) == d.track_descriptors


def test_a_service_pinned_in_the_future_is_refused_where_given_and_named_where_stored(musim_home, capsys):
    """A row pinned beyond the clock skew (stored by an older musim, or by a machine whose clock ran ahead) made
    every read of the service fail with "as_of ... is in the future ... give a past moment": the words of a refused
    argument, for a value nobody gave, and the training_sets gate, which reads every service, failed with it."""
    from musim import warehouse
    from musim.cli import main
    from musim.features.keys import CLOCK_SKEW

    ahead = dt.datetime.now(dt.UTC) + 2 * CLOCK_SKEW
    with pytest.raises(ParameterError, match=r"^service ahead-1: as_of .* is in the future \(now .*\): give a past"):
        FeatureService("ahead-1", (d.track_log_mel,), as_of=ahead)
    with warehouse.writer() as con:
        register_service(con, FeatureService("ahead-1", (d.track_log_mel,), as_of=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
        con.execute("UPDATE feature_service SET as_of = ? WHERE name = 'ahead-1'", [ahead])
        with pytest.raises(RegistryError, match=r"^feature service 'ahead-1' is pinned at as_of .*, later than now .*"
                                                r"register the model's service under a new name .*ahead-1-2"):
            get_service(con, "ahead-1")
    capsys.readouterr()
    assert main(["features", "show", "ahead-1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "'ahead-1' is pinned at as_of" in err and "Traceback" not in err


def test_a_pinned_moment_reads_back_the_same_in_any_session_time_zone(con):
    """The registry keeps as_of as TIMESTAMPTZ: a session in another zone reads the same moment, in UTC."""
    at = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    con.execute("SET TimeZone = 'Pacific/Kiritimati'")
    register_service(con, FeatureService("zoned-1", (d.track_log_mel,), as_of=at))
    back = get_service(con, "zoned-1").as_of
    assert back == at and back.utcoffset() == dt.timedelta(0)


def test_a_missing_version_of_a_registered_view_names_its_versions(musim_home, capsys):
    """`features show track_descriptors:3` listed every view's name (track_descriptors among them) for a view that
    is registered, only not in that version; a service given --version was looked up as a view version."""
    from musim.cli import main

    assert main(["features", "show", "track_descriptors:3"]) == 2
    assert capsys.readouterr().err.strip() == ("musim: error: no version 3 of feature view track_descriptors; its "
                                               "registered versions: 4 (e.g. track_descriptors:4)")
    assert main(["features", "show", "descriptor_baseline", "--version", "2"]) == 2
    assert capsys.readouterr().err.strip() == ("musim: error: descriptor_baseline is a feature service, which has no "
                                               "versions (it pins its views' versions): drop --version 2")


def test_features_list_shows_moments_in_utc_whatever_the_session_time_zone(musim_home, capsys, monkeypatch):
    """`features list` printed a view's materialisation and a service's as_of in DuckDB's session time zone (the
    machine's: the materialisation with no zone at all), beside builds and `features show` in UTC."""
    from musim import warehouse
    from musim.cli import main
    from musim.features import materialise

    with warehouse.writer() as con:
        apply(con)
        register_service(con, FeatureService("pinned-1", (d.track_log_mel,),
                                             as_of=dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)))
        at = materialise(con, d.artist_descriptors_mean).created_at
    from musim import sandbox

    lock_down = sandbox.lock_down

    def in_kiritimati(reader):  # the reader's session in a machine's time zone 14 h from UTC, then locked as ever
        reader.execute("SET TimeZone = 'Pacific/Kiritimati'")
        return lock_down(reader)

    monkeypatch.setattr(sandbox, "lock_down", in_kiritimati)
    assert main(["features", "list"]) == 0
    out = capsys.readouterr().out
    assert "2026-01-01T12:00:00+00:00" in out and at.strftime("%Y-%m-%d %H:%M") in out
