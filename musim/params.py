"""Parameter records: frozen dataclasses whose fields pydantic checks on construction (type, range, NaN).

Hyperparameters arrive as JSON (``musim models train --hparams``, a DAG's params) where a value of the wrong
type or range would otherwise surface as a ``TypeError`` deep in training, or, like a NaN learning rate, only
after a whole model was trained. A record (a class decorated with :func:`params_record`, such as the families'
in :mod:`musim.models.hyperparams`) refuses it at once with one line naming the field::

    from musim.models.hyperparams import ContrastiveParams

    ContrastiveParams.from_json({"epochs": "ten"})
    # ParameterError: contrastive parameter epochs: input should be a valid integer, unable to parse string as
    # an integer ('ten' given)

Types are pydantic's lax ones (JSON's ``2.0`` is the integer 2, a list is a tuple, NumPy scalars are numbers;
``"ten"``, ``2.5`` and NaN are refused). Checks that span fields stay in the class's ``__post_init__``, which
runs after the fields are checked. The bounds shared with the command line and the DAGs' params (seeds) are
here too, so each is written once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass as pydantic_dataclass

from musim.errors import ParameterError, check_known


def whole_number(text: str, *, max_digits: int = 18) -> int | None:
    """``text`` (spaces around aside) as a whole number from 0 when it is ASCII digits, at most ``max_digits`` of
    them; else None. ``str.isdigit()`` alone lets through what ``int()`` refuses: ``"²"`` and other Unicode digits,
    and over 4,300 digits."""
    t = text.strip()
    return int(t) if t and len(t) <= max_digits and t.isascii() and t.isdigit() else None

T = TypeVar("T")

#: Seeds of NumPy's and Keras's generators.
SEED_MIN, SEED_MAX = 0, 2**32 - 1
#: The largest learning rate a model takes: Adam diverges far below it, so anything above is a typo (1e6 for
#: 1e-6) that would otherwise train a model of NaNs and register it.
LEARNING_RATE_MAX = 10.0
#: The largest count any parameter or option takes (beyond it DuckDB's integers and memory give out first).
MAX_COUNT = 1_000_000_000
#: The largest batch or embedding size ``musim models train`` and the train_siamese DAG take.
MAX_SIZE = 1_000_000
#: The most bootstrap resamples an evaluation takes (``musim models evaluate --n-boot``, the train_embeddings DAG's
#: ``n_boot``): the resamples are one array of ``n_boot`` x test artists, so 1e9 of them ran out of memory in ``evaluate``,
#: after the whole training.
MAX_BOOT = 1_000_000


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):  # JSON's true is no number (pydantic's lax integers took it as 1)
        raise ValueError("expected a number, not true or false")
    return value


NotBool = BeforeValidator(_not_bool)
Count = Annotated[int, NotBool, Field(ge=1, le=MAX_COUNT)]
NonNegativeInt = Annotated[int, NotBool, Field(ge=0, le=MAX_COUNT)]
Seed = Annotated[int, NotBool, Field(ge=SEED_MIN, le=SEED_MAX)]
PositiveFloat = Annotated[float, NotBool, Field(gt=0)]
LearningRate = Annotated[float, NotBool, Field(gt=0, le=LEARNING_RATE_MAX)]
NonNegativeFloat = Annotated[float, NotBool, Field(ge=0)]
Share = Annotated[float, NotBool, Field(ge=0, lt=1)]
#: The filters of each convolution block of a network, in order (its length is the depth): at least one block, each
#: of at least one filter. ``[]`` was taken here and refused only when the network was configured, after the data was
#: loaded, in a line that named no parameter.
ConvFilters = Annotated[tuple[Count, ...], Field(min_length=1)]
#: A share that must hold something (the test artists: the CLI's --test-share is in (0, 1) too).
OpenShare = Annotated[float, NotBool, Field(gt=0, lt=1)]

CONFIG = ConfigDict(allow_inf_nan=False)


def first_error(exc: ValidationError) -> tuple[str, dict[str, Any], str]:
    """The first error of ``exc``: where (its location, dotted; ``""`` for the whole value), the error itself
    (pydantic's dict: ``type``, ``msg``...) and the value given, as a repr cut to 60 characters."""
    err = exc.errors(include_url=False)[0]
    got = repr(err.get("input"))
    return ".".join(str(part) for part in err["loc"]), err, got if len(got) <= 60 else got[:57] + "..."


def describe(what: str, exc: ValidationError) -> str:
    """The first error of ``exc`` as ``<what> <field>: <why> (<value> given)``."""
    where, err, got = first_error(exc)
    why = err["msg"][:1].lower() + err["msg"][1:]
    return f"{what} {where or 'value'}: {why} ({got} given)"


def params_record(what: str) -> Callable[[type[T]], type[T]]:
    """Make a class of annotated fields a frozen dataclass whose fields pydantic checks on every construction
    (``dataclasses.replace`` included); a bad one is a :class:`ParameterError` naming it as ``<what> <field>``.
    Adds ``from_json(doc)``, which also refuses unknown names."""

    def wrap(cls: type[T]) -> type[T]:
        checked: Any = pydantic_dataclass(cls, frozen=True, config=CONFIG)
        init = checked.__init__

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - the class's own __init__
            try:
                init(self, *args, **kwargs)
            except ValidationError as exc:
                raise ParameterError(describe(what, exc)) from None

        def from_json(klass: type[T], doc: Mapping[str, Any]) -> T:
            check_known(what, doc, {f.name for f in fields(klass)})  # type: ignore[arg-type]
            return klass(**doc)

        checked.__init__ = __init__
        if "from_json" not in cls.__dict__:
            checked.from_json = classmethod(from_json)
        return checked

    return wrap


def defaults(record: type) -> dict[str, Any]:
    """The default of every field of a parameter record that has one, by name: what the command line's options
    and the DAGs' params show, read from the record so that each default is written once."""
    return {f.name: f.default for f in fields(record) if f.default is not MISSING}
