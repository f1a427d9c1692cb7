"""One place for a training run's parameters: the defaults, the options -> parameters mapping, the inputs loaded."""

from __future__ import annotations

import dataclasses
import json
import types

import pytest

from musim.errors import ParameterError
from musim.models.families import FAMILIES, get_family, inputs_needed
from musim.models.hyperparams import (
    AutoencoderConfig,
    AutoencoderParams,
    ContrastiveParams,
    HyperParams,
    SiameseConfig,
    job_params,
)
from musim.params import defaults


class Stop(ParameterError):
    """Raised by the stand-in of run_family: the command stops once it has shown what it would train."""


def train_call(monkeypatch, argv: list[str]) -> dict:
    """What `musim models train ARGV` would load and train: load_inputs' and train_evaluate's arguments."""
    import musim.models.families as families
    from musim.cli import main
    from musim.models.families import evaluation

    seen: dict = {}

    def load_inputs(con, **kwargs):
        seen["load"] = kwargs
        return types.SimpleNamespace(targets="listening targets", listening_gap=None)  # what the command reads

    def train_evaluate(family, inputs, params, **kwargs):
        seen["family"], seen["params"] = family, params
        raise Stop("stop before training")

    monkeypatch.setattr(families, "load_inputs", load_inputs)
    monkeypatch.setattr(families.inputs, "gate_inputs", lambda con, inputs, **kwargs: None)
    monkeypatch.setattr(evaluation, "train_evaluate", train_evaluate)
    assert main(["models", "train", *argv]) == 2
    return seen


def test_the_command_loads_the_inputs_its_family_declares(monkeypatch):
    # a family's inputs come from the family (get_family(f).inputs), not from a second list in the command
    monkeypatch.setitem(FAMILIES, "autoencoder", dataclasses.replace(FAMILIES["autoencoder"], inputs=("slices",)))
    seen = train_call(monkeypatch, ["--family", "autoencoder", "--epochs", "1"])
    assert tuple(seen["load"]["needs"]) == inputs_needed(["autoencoder"]) == ("descriptors", "log_mel", "slices")
    assert inputs_needed(["siamese"]) == ("descriptors", "log_mel")
    assert inputs_needed(["siamese", "cnn_classifier"]) == tuple(
        sorted({"log_mel", "descriptors", *get_family("cnn_classifier").inputs}))


def test_job_params_maps_options_and_moves_the_shares_to_the_split():
    params, split = job_params("siamese", {"conv_filters": [8, 16], "test_share": 0.4, "epochs": 7},
                               embedding_size=16, epochs=2, seed=3, sampling=None)
    assert params == {"conv_filters": [8, 16], "epochs": 2, "dense_units": 16, "seed": 3}
    assert split == {"test_share": 0.4, "seed": 3}
    assert job_params("cnn_classifier", embedding_size=32)[0] == {"embedding_units": 32}
    assert job_params("descriptors", None, seed=1, epochs=None) == ({"seed": 1}, {"seed": 1})
    # `models train --family descriptors --epochs 3` trained what it would have without it, and said nothing
    with pytest.raises(ParameterError, match=r"^--epochs, --learning-rate: the descriptors family is not trained "):
        job_params("descriptors", None, epochs=3, learning_rate=0.1, batch_size=None, seed=1)
    with pytest.raises(ParameterError, match="--embedding-size applies to siamese and cnn_classifier"):
        job_params("autoencoder", embedding_size=8)
    with pytest.raises(ParameterError, match="test_share"):
        job_params("siamese", {"test_share": 1.5})


def test_hyperparams_defaults_come_without_keras():
    import subprocess
    import sys

    code = ("import sys; from musim.params import defaults; from musim.models.hyperparams import HyperParams; "
            "d = defaults(HyperParams); print(d['epochs'], 'keras' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == [str(HyperParams().epochs), "False", "False"]
    assert defaults(HyperParams)["dense_units"] == HyperParams().dense_units


def test_command_options_become_the_parameters_job_params_gives(monkeypatch):
    seen = train_call(monkeypatch, ["--epochs", "2", "--embedding-size", "16", "--seed", "3", "--learning-rate",
                                    "0.003", "--test-share", "0.25", "--hparams",
                                    json.dumps({"conv_filters": [8, 16], "validation_share": 0.2})])
    params, split = job_params("siamese", {"conv_filters": [8, 16], "validation_share": 0.2}, embedding_size=16,
                               test_share=0.25, epochs=2, seed=3, learning_rate=0.003)
    assert seen["params"] == params and "test_share" not in params and "validation_share" not in params
    assert {k: seen["load"][k] for k in split} == split == {"validation_share": 0.2, "test_share": 0.25, "seed": 3}


def test_the_network_defaults_are_the_siamese_configs():
    """Every network knob of HyperParams defaults to what SiameseConfig (the architecture the Keras side builds)
    defaults to: one set of defaults, not two kept in step by hand."""
    knobs = {f.name for f in dataclasses.fields(SiameseConfig)} - {"input_shape", "top_db"}
    assert knobs <= {f.name for f in dataclasses.fields(HyperParams)}
    network = SiameseConfig()
    assert {k: defaults(HyperParams)[k] for k in knobs} == {k: getattr(network, k) for k in knobs}
    assert HyperParams().siamese_config() == network


def test_the_keras_side_builds_the_same_config():
    from musim.models import siamese  # Keras: the command's tests above have imported it already

    assert siamese.SiameseConfig is SiameseConfig
    assert siamese.build_encoder.__defaults__[0] == SiameseConfig()


def test_a_record_and_its_network_are_checked_without_keras():
    import subprocess
    import sys

    code = ("import sys; from musim.errors import ParameterError; from musim.models.hyperparams import HyperParams\n"
            "c = HyperParams(dense_units=16).siamese_config()\n"
            "try:\n    HyperParams(conv_filters=())\nexcept ParameterError:\n    print('refused')\n"
            "print(c.dense_units, 'keras' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["refused", "16", "False", "False"]


def test_an_unknown_dense_activation_is_refused_before_anything_loads():
    # any string was taken: `--hparams '{"dense_activation": "bogus"}'` loaded the inputs, then failed in Keras
    # (ValueError: Could not interpret activation function identifier), in the DAG's train task after prepare
    with pytest.raises(ParameterError, match=r"^hyperparameter dense_activation: input should be 'relu', 'tanh' or "
                                             r"'linear' \('bogus' given\)$"):
        HyperParams.from_json({"dense_activation": "bogus"})
    assert HyperParams.from_json({"dense_activation": None}).siamese_config().dense_activation is None


def test_the_contrastive_encoder_defaults_are_the_siamese_configs():
    """The contrastive encoder is the siamese one (the siamese family can start from it): its knobs default to
    SiameseConfig's, and the encoder the defaults give is SiameseConfig's for the crop."""
    knobs = {"conv_filters", "kernel_size", "pool_size", "dense_units"}
    network = SiameseConfig()
    assert {k: defaults(ContrastiveParams)[k] for k in knobs} == {k: getattr(network, k) for k in knobs}
    p = ContrastiveParams()
    assert p.encoder_config(48) == dataclasses.replace(network, input_shape=(p.crop_frames, 48))


def test_the_autoencoder_network_defaults_are_the_autoencoder_configs():
    knobs = {f.name for f in dataclasses.fields(AutoencoderConfig)} - {"input_shape", "top_db"}
    assert knobs <= {f.name for f in dataclasses.fields(AutoencoderParams)}
    network = AutoencoderConfig()
    assert {k: defaults(AutoencoderParams)[k] for k in knobs} == {k: getattr(network, k) for k in knobs}
    assert AutoencoderParams().config() == network


def test_the_keras_side_trains_the_same_records():
    from musim.models import autoencoder, contrastive

    assert contrastive.ContrastiveParams is ContrastiveParams
    assert autoencoder.AutoencoderParams is AutoencoderParams and autoencoder.AutoencoderConfig is AutoencoderConfig
    assert autoencoder.build_autoencoder.__defaults__[0] == AutoencoderConfig()
    assert autoencoder.train_autoencoder.__defaults__[0] == AutoencoderParams()
    assert contrastive.embed.__kwdefaults__["crops"] == ContrastiveParams().embed_crops


def test_the_contrastive_and_autoencoder_records_are_checked_without_keras():
    import subprocess
    import sys

    code = ("import sys; from musim.errors import ParameterError; from musim.params import defaults\n"
            "from musim.models.hyperparams import AutoencoderParams, ContrastiveParams\n"
            "c, a = ContrastiveParams(dense_units=16), AutoencoderParams(conv_filters=(8, 4))\n"
            "shown = defaults(ContrastiveParams)['epochs'], defaults(AutoencoderParams)['epochs']\n"
            "for bad in (lambda: ContrastiveParams(temperature=0), lambda: AutoencoderParams(loss='hinge'),\n"
            "            lambda: AutoencoderParams(conv_filters=(8,) * 9).config()):\n"
            "    try:\n        bad()\n    except ParameterError:\n        print('refused')\n"
            "print(c.encoder_config(64).dense_units, a.config().code_size, *shown,\n"
            "      'keras' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["refused"] * 3 + ["16", str(256 // 4 * 64 // 4 * 4), str(ContrastiveParams().epochs),
                                                    str(AutoencoderParams().epochs), "False", "False"]


@pytest.mark.parametrize("record", [HyperParams, ContrastiveParams, AutoencoderParams])
def test_conv_filters_with_no_block_is_refused_when_parsed_naming_the_parameter(record):
    """`{"conv_filters": []}` was taken by the contrastive and autoencoder records (and the siamese one refused it in a
    line of its network's that named no parameter): refused when the record is made, before anything loads."""
    what = {HyperParams: "hyperparameter", ContrastiveParams: "contrastive parameter",
            AutoencoderParams: "autoencoder parameter"}[record]
    with pytest.raises(ParameterError, match=rf"^{what} conv_filters: tuple should have at least 1 item after "
                                             r"validation, not 0 \(\[\] given\)$"):
        record.from_json({"conv_filters": []})
    with pytest.raises(ParameterError, match=rf"^{what} conv_filters.1: input should be greater than or equal to 1"):
        record.from_json({"conv_filters": [8, 0]})
