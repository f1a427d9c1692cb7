"""train_embeddings' family params objects do not override the top-level `seed` and `label` in silence: a
`{"classifier": {"seed": 5}}` trained the classifier with seed 5 while the split used the top-level seed (0), and
train_siamese lets the top-level param win. A conflicting value is refused in one line before anything is done; the
same value is accepted."""

from __future__ import annotations

from tests.dags.dag_child import child_env, run_child

CHILD = r"""
import json, sys
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
sys.path.insert(0, "dags")
import train_embeddings

out = {}
for name, conf in (("classifier seed", {"classifier": {"seed": 5, "epochs": 1}}),
                   ("classifier label", {"label": "genre", "classifier": {"label": "artist"}}),
                   ("autoencoder seed", {"seed": 3, "autoencoder": {"seed": 0}}),
                   ("contrastive seed", {"contrastive": {"seed": 1}}),
                   ("same", {"seed": 4, "classifier": {"seed": 4, "label": "genre"}, "autoencoder": {"seed": 4}}),
                   ("not trained", {"families": ["autoencoder"], "classifier": {"seed": 5}})):
    dag = train_embeddings.train_embeddings()
    try:
        dag.get_task("prepare").python_callable("train_embeddings/r1",
                                                params={k: dag.params[k] for k in dag.params} | conf, dag=dag)
        out[name] = "ran"
    except AirflowFailException as exc:
        out[name] = "failed: " + str(exc)
    except AirflowSkipException as exc:
        out[name] = "skipped: " + str(exc)
print(json.dumps(out))
"""


def test_a_family_object_s_seed_or_label_that_differs_from_the_top_level_param_is_refused(tmp_path):
    out = run_child(CHILD, env=child_env(tmp_path, MUSIM_HOME=str(tmp_path / "home")))
    assert out["classifier seed"] == (
        "failed: the classifier param sets seed 5, the seed param is 0: set the seed param (it applies to every "
        "family and the split) and leave seed out of classifier; nothing was done")
    assert out["classifier label"].startswith("failed: the classifier param sets label 'artist', the label param "
                                              "is 'genre': set the label param")
    assert out["autoencoder seed"].startswith("failed: the autoencoder param sets seed 0, the seed param is 3")
    assert out["contrastive seed"].startswith("failed: the contrastive param sets seed 1, the seed param is 0")
    # the same value is no conflict: the run goes on (to the features gate: no warehouse with features here)
    assert out["same"].startswith("skipped: not trained:"), out["same"]
    assert out["not trained"].startswith("skipped: not trained:"), out["not trained"]  # the object is not read
    assert all("\n" not in line for line in out.values())
