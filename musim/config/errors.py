"""A pydantic ``ValidationError`` of the settings as one :class:`~musim.errors.ConfigError` line."""

from __future__ import annotations

from pathlib import PurePath

from pydantic import ValidationError

from musim.errors import ConfigError
from musim.redact import redact


def config_error(exc: ValidationError) -> ConfigError:
    """``<VARIABLE> must be <what>, got '<value>'`` for the first error of ``exc`` (values shown redacted).

    The variable is the last name of the error's location: the environment variable when the value came
    from the environment, the field name when it was given in Python.
    """
    err = exc.errors(include_url=False)[0]
    name = next((str(part) for part in reversed(err["loc"]) if isinstance(part, str)), exc.title)
    given = err.get("input")
    got = redact(repr(str(given) if isinstance(given, PurePath) else given))[:120]
    if err["type"] == "value_error":
        return ConfigError(f"{name} must be {err['ctx']['error']}, got {got}")
    if err["type"] == "extra_forbidden":
        return ConfigError(f"{name} is not a setting of {exc.title}")
    return ConfigError(f"{name}: {err['msg'].lower()}, got {got}")
