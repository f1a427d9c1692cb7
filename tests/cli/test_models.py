"""``musim models list|show|promote``."""

from __future__ import annotations

import json

import pytest

from musim import warehouse
from musim.cli import main
from musim.storage import open_store
from tests.cli_output import run
from tests.models.conftest import (
    TEST,
    _challenger,
    _champion_trained_on,
    _register,
    _report,
    _truth,
    labelled_clips,
)


def test_models_cli(capsys, tmp_path):
    code, out, _ = run(capsys, "models", "list", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = run(capsys, "models", "list")
    assert code == 0 and "no model version registered yet: train one" in out
    with warehouse.writer() as con:
        truth = _truth()
        _register(con, open_store(), tmp_path, _report(truth, 0.3))
    code, out, _ = run(capsys, "models", "list")
    assert code == 0 and "siamese-1" in out and "challenger" in out
    code, out, _ = run(capsys, "models", "show", "siamese-1")
    assert code == 0 and "ndcg@10" in out and "random" in out and "models/siamese/siamese-1/" in out
    code, out, _ = run(capsys, "models", "promote", "siamese-1", "--json")
    decision = json.loads(out)
    assert code == 0 and decision["promoted"] and decision["against"] == "random"
    code, out, _ = run(capsys, "models", "promote", "siamese-1")
    assert code == 0 and out.splitlines() == ["siamese-1: champion — already the champion",
                                              "serve it (similar-audio, embed, the UI): musim models publish siamese-1"]
    code, out, _ = run(capsys, "models", "show", "siamese:champion", "--json")
    shown = json.loads(out)
    assert shown["status"] == "champion" and shown["promotions"][0]["promoted"]
    assert shown["metrics"]["model"]["ndcg@10"]["mean"] > shown["metrics"]["random"]["ndcg@10"]["mean"]
    code, out, _ = run(capsys, "models", "list", "--status", "champion", "--json")
    assert [m["version"] for m in json.loads(out)] == ["siamese-1"]
    code, out, _ = run(capsys, "models", "list", "--status", "archived", "--family", "contrastive")
    assert code == 0 and out.strip() == "no archived contrastive model version registered yet"
    code, _, err = run(capsys, "models", "show", "siamese-7")
    assert code == 2 and "no model version" in err
    for typo in (":champion", "siamse:champion"):
        code, _, err = run(capsys, "models", "show", typo)
        assert code == 2 and "no model family" in err and "contrastive" in err, err


def test_a_version_trained_without_listening_data_is_shown_judged_by_artist_identity(capsys, tmp_path):
    from musim.models import registry

    with warehouse.writer() as con:
        store = open_store()
        _register(con, store, tmp_path, _report(_truth(), 0.3))  # with a dump: judged by its seed metric
        f = tmp_path / "model.keras"
        registry.register_model(con, store, family="contrastive", model_file=f, report=_report(_truth(), 0.3),
                                params={"epochs": 1}, target_metric="seed", feature_service="contrastive_log_mel",
                                dump_id=None, snapshot_id=None, training={"seconds": 1.0})
    code, out, _ = run(capsys, "models", "list")
    rows = {line.split()[0]: line.split()[2] for line in out.splitlines()[2:]}
    assert code == 0 and rows == {"contrastive-1": "artist", "siamese-1": "seed"}
    code, out, _ = run(capsys, "models", "show", "contrastive-1")
    assert code == 0 and "targets:  artist identity (no listening data); snapshot -" in out
    code, out, _ = run(capsys, "models", "show", "siamese-1")
    assert code == 0 and f"targets:  seed of dump {'d' * 64}; snapshot snap-1" in out


def test_a_misspelt_family_is_refused_with_the_families_not_answered_with_an_empty_list(capsys):
    for argv in (("models", "list", "--family", "siamses"), ("models", "compare", "--family", "contrastiv")):
        with pytest.raises(SystemExit) as stop:
            main(list(argv))
        err = capsys.readouterr().err
        assert stop.value.code == 2 and "invalid choice" in err and "contrastive" in err and "descriptors" in err


@pytest.mark.parametrize(("hparams", "message"), [
    ('{"learning_rate": NaN}', "contrastive parameter learning_rate: input should be a finite number (nan given)"),
    ('{"epochs": "ten"}', "contrastive parameter epochs: input should be a valid integer"),
    ('{"seed": -1}', "split parameter seed: input should be greater than or equal to 0 (-1 given)"),
    ('{"test_share": "x"}', "split parameter test_share: input should be a valid number"),
    ('{"test_share": 0.5, "validation_share": 0.5}', "leave no training artists: their sum must be < 1"),
])
def test_train_refuses_a_bad_hyperparameter_in_one_line_before_loading_anything(capsys, hparams, message):
    code, out, err = run(capsys, "models", "train", "--family", "contrastive", "--hparams", hparams)
    assert code == 2 and out == ""
    assert err.startswith("musim: error: ") and message in err and len(err.strip().splitlines()) == 1


def test_train_refuses_a_primary_metric_it_does_not_evaluate_before_training(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["models", "train", "--family", "contrastive", "--primary-metric", "ndcg@7"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--primary-metric: invalid choice: 'ndcg@7'" in err and "'ndcg@10'" in err


def test_show_scores_a_rescored_champion_on_the_queries_its_promotion_compares(capsys, tmp_path):
    import numpy as np

    from musim.models import registry

    with warehouse.writer() as con:
        champ = _champion_trained_on(con, open_store(), tmp_path, np.r_[TEST[:20], np.arange(500, 540)])
        e = _challenger(con, open_store(), tmp_path, champ, np.arange(600, 660))
        values = registry.query_values(con, e.version, champ.version, "ndcg@10")
    code, out, _ = run(capsys, "models", "show", e.version)
    header = next(line for line in out.splitlines() if line.lstrip().startswith("metric "))
    row = next(line for line in out.splitlines() if line.lstrip().startswith("ndcg@10"))
    assert code == 0 and header.split() == ["metric", "model", "siamese-1*", "random"]
    assert row.split()[3] == f"{np.mean([values[int(a)] for a in TEST[20:]]):.3f}"
    assert ("* siamese-1: on the 15 queries of 15 artists it never trained on (the other 20 test artists were its "
            "training artists), the queries its promotion decision compares") in out


def test_models_evaluate_shows_each_stage_on_a_terminal_and_nothing_with_no_progress(capsys, tmp_path, monkeypatch):
    """`models evaluate --labels` ran 9 minutes on 168 real tracks with nothing on the screen."""
    import io
    import sys


    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    rows = labelled_clips(tmp_path, duration=6.0, artists=2, per_artist=2, seed=50, group=None)
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    argv = ["models", "evaluate", "--labels", str(tmp_path / "labels.csv"), "--baselines-only",
            "--baselines", "mfcc,musly", "--n-boot", "100"]
    terminal = Terminal()
    with monkeypatch.context() as patch:  # only stderr: the test's MUSIM_HOME stays
        patch.setattr(sys, "stderr", terminal)
        assert main(argv) == 0
        drawn = terminal.getvalue()
        assert "decode + baselines" in drawn and "musly similarity" in drawn and "scoring" in drawn, drawn
        terminal.seek(0)
        terminal.truncate(0)
        assert main([*argv, "--no-progress"]) == 0 and terminal.getvalue() == ""
    assert "baseline: musly" in capsys.readouterr().out
    assert main(argv) == 0 and capsys.readouterr().err == ""  # not a terminal


def test_show_says_a_version_judged_by_artist_identity_is_scored_over_query_tracks(capsys, tmp_path):
    """`models show` titled every evaluation "over test artists": a version judged by artist identity (no listening
    data) is scored over query tracks, its interval resampling their artists (as `models train` says it)."""
    from musim.models import registry
    from tests.models.test_promotion import _identity_report

    f = tmp_path / "model.keras"
    f.write_bytes(b"not really a keras file")
    with warehouse.writer() as con:
        registry.register_model(con, open_store(), family="contrastive", model_file=f, report=_identity_report(True),
                                params={}, target_metric="artist", primary_metric="auc")
        _register(con, open_store(), tmp_path, _report(_truth(), 0.3))
    code, out, _ = run(capsys, "models", "show", "contrastive-1")
    assert code == 0 and "evaluation (mean [95% CI] over query tracks by artist identity" in out, out
    assert "over test artists" not in out
    code, out, _ = run(capsys, "models", "show", "siamese-1")
    assert code == 0 and "evaluation (mean [95% CI] over test artists)" in out


@pytest.mark.parametrize("confidence", ["0.01", "0.3", "0.999", "0", "1", "1.5", "nan", "-0.95"])
def test_promote_refuses_a_confidence_outside_its_range_in_one_line(capsys, confidence):
    """`musim models promote V --confidence 0.01` was accepted (any level in (0, 1)): a 1 % "CI" promotes on noise."""
    with pytest.raises(SystemExit) as stop:
        main(["models", "promote", "siamese-1", "--confidence", confidence])
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and out == "" and len(err.splitlines()) == 1
    assert err.startswith("musim models promote: error: argument --confidence: must be ")
    assert ("in [0.5, 0.995]" in err or "finite" in err) and "see `musim models promote --help`" in err
