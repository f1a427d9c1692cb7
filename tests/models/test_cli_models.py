"""``musim models list|show|promote``."""

from __future__ import annotations

import json

from musim import warehouse
from musim.cli import main
from musim.storage import open_store
from tests.models.test_registry import _register, _report, _truth


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_cli(capsys, tmp_path):
    code, out, _ = run(capsys, "models", "list", "--json")
    assert code == 0 and json.loads(out) == []
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
    code, out, _ = run(capsys, "models", "show", "siamese:champion", "--json")
    shown = json.loads(out)
    assert shown["status"] == "champion" and shown["promotions"][0]["promoted"]
    assert shown["metrics"]["model"]["ndcg@10"]["mean"] > shown["metrics"]["random"]["ndcg@10"]["mean"]
    code, out, _ = run(capsys, "models", "list", "--status", "champion", "--json")
    assert [m["version"] for m in json.loads(out)] == ["siamese-1"]
    code, _, err = run(capsys, "models", "show", "siamese-7")
    assert code == 2 and "no model version" in err
