"""Each family's parameters are checked before anything is loaded or trained: a value of the wrong type or range
given as JSON (``--hparams``, a DAG's params) is one line naming the field, not a ``TypeError`` on the GPU worker
or, for a NaN learning rate, a whole model trained for nothing."""

from __future__ import annotations

import math

import pytest

from musim.errors import ParameterError
from musim.models.families import get_family, plan_job
from musim.storage import open_store

NEURAL = {"siamese": "hyperparameter", "cnn_classifier": "classifier parameter",
          "autoencoder": "autoencoder parameter", "contrastive": "contrastive parameter"}


@pytest.mark.parametrize("family", NEURAL)
@pytest.mark.parametrize(("given", "why"), [
    ({"epochs": "ten"}, r"epochs: input should be a valid integer"),
    ({"epochs": 2.5}, r"epochs: input should be a valid integer, got a number with a fractional part"),
    ({"learning_rate": math.nan}, r"learning_rate: input should be a finite number"),
    ({"batch_size": 0}, r"batch_size: input should be greater than or equal to"),
    ({"conv_filters": 16}, r"conv_filters: input should be a valid tuple"),
    ({"seed": -1}, r"seed: input should be greater than or equal to 0"),
])
def test_a_bad_value_names_the_family_and_the_field(family, given, why):
    with pytest.raises(ParameterError, match=f"^{NEURAL[family]} {why}"):
        get_family(family).parse_params(given)


def test_what_each_family_takes_is_parsed_to_its_record():
    assert get_family("contrastive").parse_params({"conv_filters": [8, 16], "epochs": 2.0}).conv_filters == (8, 16)
    hp = get_family("siamese").parse_params({"init_encoder": "contrastive", "dense_units": 16})
    assert hp.dense_units == 16  # the encoder to start from is the family's own parameter
    assert get_family("descriptors").parse_params({"weights": {"timbre": 2}}).weights == {"timbre": 2}
    with pytest.raises(ParameterError, match="descriptor parameter seed: input should be less than or equal to"):
        get_family("descriptors").parse_params({"seed": 2**40})
    with pytest.raises(ParameterError, match="unknown autoencoder parameter"):
        get_family("autoencoder").parse_params({"epoch": 3})


def test_the_job_refuses_a_bad_parameter_before_preparing_its_inputs():
    with pytest.raises(ParameterError, match=r"^contrastive parameter temperature: input should be a finite number"):
        plan_job("train_embeddings/bad", families=("descriptors", "contrastive"),
                 params={"contrastive": {"temperature": math.inf}})
    assert list(open_store().list("models/runs/")) == []


@pytest.mark.parametrize("families", [(), ("autoencoder", "autoencoder")])
def test_the_job_refuses_no_family_or_one_twice_before_preparing_its_inputs(families):
    """[] prepared the inputs and trained nothing (a run that "succeeded"); a family twice gave two work items of
    one run id."""
    with pytest.raises(ParameterError, match=r"^families must name each family to train once"):
        plan_job("train_embeddings/bad", families=families)
    assert list(open_store().list("models/runs/")) == []


def test_a_test_share_of_zero_is_refused_as_the_command_line_refuses_it():
    """--hparams '{"test_share": 0}' went as far as the quality gate (`at least 5 test artists`), where
    --test-share 0 is refused at once."""
    from musim.models.data import SplitParams
    from musim.models.train import HyperParams

    for record in (HyperParams, SplitParams):
        with pytest.raises(ParameterError, match=r"parameter test_share: input should be greater than 0"):
            record.from_json({"test_share": 0})
