"""Parameter records (``musim.params``): every field checked on construction, one line naming the bad one."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from musim.errors import ParameterError
from musim.params import Count, PositiveFloat, Seed, params_record, whole_number


@params_record("toy parameter")
class Toy:
    epochs: Count = 20
    learning_rate: PositiveFloat = 1e-3
    filters: tuple[Count, ...] = (8, 16)
    steps: Count | None = None
    seed: Seed = 0

    def __post_init__(self) -> None:
        if self.epochs > 1000:
            raise ParameterError("toy parameters: at most 1000 epochs")


@pytest.mark.parametrize(("given", "message"), [
    ({"epochs": "ten"}, r"toy parameter epochs: input should be a valid integer.*\('ten' given\)"),
    ({"epochs": 2.5}, r"toy parameter epochs: input should be a valid integer.*\(2.5 given\)"),
    ({"epochs": 0}, r"toy parameter epochs: input should be greater than or equal to 1 \(0 given\)"),
    ({"learning_rate": math.nan}, r"toy parameter learning_rate: input should be a finite number \(nan given\)"),
    ({"learning_rate": -1}, r"toy parameter learning_rate: input should be greater than 0"),
    ({"filters": 5}, r"toy parameter filters: input should be a valid tuple \(5 given\)"),
    ({"filters": [8, 0]}, r"toy parameter filters.1: input should be greater than or equal to 1"),
    ({"seed": -1}, r"toy parameter seed: input should be greater than or equal to 0"),
    ({"seed": 2**32}, r"toy parameter seed: input should be less than or equal to 4294967295"),
    ({"epochs": 5000}, r"toy parameters: at most 1000 epochs"),
    ({"epoch": 5}, r"unknown toy parameter\(s\) epoch; known: epochs, filters, learning_rate, seed, steps"),
    # JSON's true trained one epoch; 1e12 epochs ran until killed (the CLI's --epochs stops at 1e9)
    ({"epochs": True}, r"toy parameter epochs: value error, expected a number, not true or false \(True given\)"),
    ({"learning_rate": False}, r"toy parameter learning_rate: value error, expected a number, not true or false"),
    ({"epochs": 1e12}, r"toy parameter epochs: input should be less than or equal to 1000000000"),
])
def test_a_bad_value_is_one_parameter_error_naming_the_field(given, message):
    with pytest.raises(ParameterError, match=message):
        Toy.from_json(given)


def test_json_values_and_numpy_scalars_are_taken_and_replace_checks_again():
    toy = Toy.from_json({"epochs": 2.0, "filters": [4, 8], "learning_rate": 1, "seed": np.int64(7)})
    assert toy == Toy(epochs=2, filters=(4, 8), learning_rate=1.0, seed=7)
    assert type(toy.epochs) is int and type(toy.learning_rate) is float and toy.filters == (4, 8)
    assert dataclasses.asdict(toy)["filters"] == (4, 8) and [f.name for f in dataclasses.fields(Toy)][0] == "epochs"
    with pytest.raises(ParameterError, match="toy parameter steps: input should be greater than or equal to 1"):
        dataclasses.replace(toy, steps=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        toy.epochs = 3  # type: ignore[misc]


@pytest.mark.parametrize("record", ["musim.models.train:HyperParams", "musim.models.classifier:ClassifierParams",
                                    "musim.models.autoencoder:AutoencoderParams",
                                    "musim.models.contrastive:ContrastiveParams"])
def test_every_family_refuses_a_learning_rate_the_command_line_refuses(record):
    """``--learning-rate 1e6`` was refused, the same value in ``--hparams`` or the DAG's params trained a diverged
    model (overflow in exp) and registered it."""
    import importlib

    from musim.params import LEARNING_RATE_MAX

    module, _, name = record.partition(":")
    params = getattr(importlib.import_module(module), name)
    assert params.from_json({"learning_rate": LEARNING_RATE_MAX}).learning_rate == LEARNING_RATE_MAX
    with pytest.raises(ParameterError, match=r"learning_rate: input should be less than or equal to 10"):
        params.from_json({"learning_rate": 1e6})


def test_whole_number_takes_ascii_digits_only_and_at_most_max_digits():
    assert whole_number(" 42 ") == 42 and whole_number("0") == 0 and whole_number("9" * 18) == int("9" * 18)
    for bad in ("", " ", "\u00b2", "\u0663", "-1", "1.0", "4 2", "9" * 19):
        assert whole_number(bad) is None, repr(bad)
    assert whole_number("12345", max_digits=4) is None


def test_the_modules_example_is_what_a_family_record_says():
    """musim.params' docstring shows the contrastive family's record refusing ``"ten"`` epochs (the record itself,
    not a second declaration of it)."""
    import musim.params
    from musim.models.hyperparams import ContrastiveParams

    shown = "ContrastiveParams.from_json({\"epochs\": \"ten\"})\n    # ParameterError: "
    assert "from musim.models.hyperparams import ContrastiveParams" in musim.params.__doc__
    assert shown in musim.params.__doc__ and "class ContrastiveParams" not in musim.params.__doc__
    with pytest.raises(ParameterError) as exc:
        ContrastiveParams.from_json({"epochs": "ten"})
    said = musim.params.__doc__.split(shown)[1].split("\n\n")[0].replace("\n    # ", " ")
    assert str(exc.value) == said
