"""Settings from the environment: one :class:`Settings` (pydantic-settings) with a section per concern.

Every path lives under ``MUSIM_HOME`` (default ``./.musim``) unless its own variable overrides it. The
variables, their sections, defaults and meanings are listed in the README's table, generated from the
fields' descriptions (``python -m musim.config --markdown``; a test keeps the two equal).

Settings are read on every call to :func:`get_settings` so that tests and Airflow tasks can change the
environment; nothing is cached. A bad value is one :class:`~musim.errors.ConfigError` line naming the
variable and what it must be; secrets (``AWS_SECRET_ACCESS_KEY``, client secrets, connection passwords) are
``SecretStr`` fields; every secret a variable holds (a secret-named value, a URL's password) is registered with
:func:`musim.redact.register_secret` as soon as the variables are read (:func:`musim.config.connections.register_setting_secrets`).
Airflow connections (the object store's ``musim_s3``, Spotify's ``musim_spotify``) are read through
:meth:`Settings.connection` (see :mod:`musim.config.connections`).
"""

from __future__ import annotations

import difflib
import errno
import functools
import logging
import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, PrivateAttr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from musim.config.connections import airflow_connection, register_setting_secrets
from musim.config.errors import config_error
from musim.config.sections import (
    KNOWN_PROVIDERS,
    AcquireSettings,
    FeatureSettings,
    IngestSettings,
    LibrarySettings,
    ModelSettings,
    QualityThresholds,
    RateLimits,
    RetryPolicy,
    SimilaritySettings,
    StorageSettings,
    TransferOptions,
    WarehouseSettings,
    home_paths,
    var,
)
from musim.config.values import FolderValue, RateLimit
from musim.errors import ConfigError
from musim.filenames import path_text
from musim.redact import forward_to_airflow

__all__ = [
    "KNOWN_PROVIDERS",
    "AcquireSettings",
    "FeatureSettings",
    "FolderNotWritable",
    "IngestSettings",
    "LibrarySettings",
    "ModelSettings",
    "QualityThresholds",
    "RateLimit",
    "RateLimits",
    "RetryPolicy",
    "Settings",
    "SimilaritySettings",
    "StorageSettings",
    "TransferOptions",
    "WarehouseSettings",
    "get_settings",
    "markdown_table",
    "train_queue",
    "unwritable_folder",
    "variables",
]

_ENV: ContextVar[Mapping[str, str] | None] = ContextVar("musim_settings_env", default=None)
log = logging.getLogger(__name__)

#: ``MUSIM_*`` variables that are no setting but are read elsewhere (benchmarks, tests, compose): never a typo.
NOT_SETTINGS = frozenset({"MUSIM_BUCKET", "MUSIM_REAL_MUSIC_DEV", "MUSIM_FUZZ_EXAMPLES", "MUSIM_WORKER_NAME",
                          "MUSIM_BENCH_BUDGET_S", "MUSIM_BENCH_RAM_GIB", "MUSIM_BENCH_SCALES",
                          "MUSIM_BENCH_SIMILARITY_FRACTION"})


def _names(field: FieldInfo) -> tuple[str, ...]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    return (alias,) if isinstance(alias, str) else ()


def _section(field: FieldInfo) -> type[BaseModel] | None:
    kind = field.annotation
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


@functools.cache
def _plan(model: type[BaseModel]) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """``(section path, variable names)`` of every field of ``model``, its sections' fields included."""
    out: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for name, field in model.model_fields.items():
        section = _section(field)
        if section is not None:
            out += [((name, *path), names) for path, names in _plan(section)]
        elif names := _names(field):
            out.append(((), names))
    return tuple(out)


def _collect(model: type[BaseModel], env: Mapping[str, str]) -> dict[str, Any]:
    """The set, non-empty variables of ``model``'s fields, nested as its sections are."""
    env = dict(env)  # os.environ encodes on every lookup
    out: dict[str, Any] = {}
    for path, names in _plan(model):
        for variable in names:
            if (env.get(variable) or "").strip():
                target = out
                for part in path:
                    target = target.setdefault(part, {})
                target[variable] = env[variable]
                break
    return out


class _FlatEnvironment(PydanticBaseSettingsSource):
    """Each field from its own variable (its alias), whatever section it sits in: the names users know."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        raise NotImplementedError  # everything is read at once by __call__

    def __call__(self) -> dict[str, Any]:
        env = _ENV.get()
        return _collect(self.settings_cls, os.environ if env is None else env)


class Settings(BaseSettings):
    """Resolved configuration of one musim installation."""

    model_config = SettingsConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True, extra="forbid")

    home: FolderValue = var("MUSIM_HOME", default=..., shown="./.musim", description="root of everything local")
    tmp_dir: FolderValue = var("MUSIM_TMP", default=..., shown="$MUSIM_HOME/tmp",
                             description="DuckDB spill directory and scratch files")
    serving_dir: FolderValue = var("MUSIM_SERVING_DIR", default=..., shown="$MUSIM_HOME/serving",
                                 description="published read-only snapshots and CURRENT")
    warehouse: WarehouseSettings
    storage: StorageSettings
    ingest: IngestSettings
    library: LibrarySettings
    similarity: SimilaritySettings = Field(default_factory=SimilaritySettings)
    acquire: AcquireSettings = Field(default_factory=AcquireSettings)
    quality: QualityThresholds = Field(default_factory=QualityThresholds)
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    _env: Mapping[str, str] = PrivateAttr(default_factory=lambda: os.environ)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   **sources: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _FlatEnvironment(settings_cls)

    @model_validator(mode="before")
    @classmethod
    def _under_home(cls, data: Any) -> Any:
        """Fill the path defaults in under ``MUSIM_HOME``."""
        if not isinstance(data, dict):
            return data
        raw = data.get("MUSIM_HOME") or data.get("home") or ".musim"
        raw = raw.strip() if isinstance(raw, str) else raw  # the paths under it too: see musim.config.values._path
        try:
            home = Path(raw).expanduser().absolute()
        except RuntimeError:  # ~user that does not exist: the field's own check names MUSIM_HOME
            return {**data, "MUSIM_HOME": raw}
        data = {"MUSIM_HOME": home, **{k: v for k, v in data.items() if k not in ("home", "MUSIM_HOME")}}
        data.setdefault("MUSIM_TMP", home / "tmp")
        data.setdefault("MUSIM_SERVING_DIR", home / "serving")
        for section, defaults in home_paths(home).items():
            values = data.setdefault(section, {})
            if isinstance(values, dict):
                data[section] = {**defaults, **values}
        return data

    def ensure_dirs(self) -> None:
        """Create the local folders the settings point to (never touches remote stores); a folder that cannot be
        made is one :class:`ConfigError` naming the variable that chose it."""
        folders = [(self.home, "MUSIM_HOME"), (self.warehouse.path.parent, "MUSIM_WAREHOUSE (or MUSIM_HOME)"),
                   (self.serving_dir, "MUSIM_SERVING_DIR (or MUSIM_HOME)"), (self.tmp_dir, "MUSIM_TMP (or MUSIM_HOME)")]
        if "://" not in self.ingest.landing:
            folders.append((Path(self.ingest.landing), "MUSIM_LANDING (or MUSIM_HOME)"))
        for path, variable in folders:
            make_folder(path, variable)

    def ensure_tmp(self) -> Path:
        """The scratch folder, made if missing (:class:`ConfigError` naming ``MUSIM_TMP`` if it cannot be)."""
        return make_folder(self.tmp_dir, "MUSIM_TMP (or MUSIM_HOME)")

    def folder_setting(self, path: Path) -> tuple[str, Path] | None:
        """The variable that chose the local folder ``path`` is in, with that folder: ``MUSIM_TMP`` for the scratch
        folder (and anything under it), ``MUSIM_SERVING_DIR``, ``MUSIM_LANDING``, else ``MUSIM_HOME``; None for a
        path outside them all."""
        folders = [(self.tmp_dir, "MUSIM_TMP"), (self.serving_dir, "MUSIM_SERVING_DIR")]
        if "://" not in self.ingest.landing:
            folders.append((Path(self.ingest.landing), "MUSIM_LANDING"))
        folders.append((self.home, "MUSIM_HOME"))
        path = Path(os.path.abspath(path))
        for folder, variable in folders:
            folder = Path(os.path.abspath(folder))
            if path == folder or path.is_relative_to(folder):
                return variable, folder
        return None

    def connection(self, conn_id: str, *, types: tuple[str, ...] = (),
                   ask_airflow: bool = True) -> tuple[dict[str, Any], str] | None:
        """The Airflow connection ``conn_id`` as ``({"login", "password", "extra"}, source)``, or ``None``.

        ``AIRFLOW_CONN_<CONN_ID>`` of the environment these settings were read from, else Airflow itself as
        ``MUSIM_S3_AIRFLOW_LOOKUP`` allows (never when not ``ask_airflow``; see :mod:`musim.config.connections`);
        a connection type other than ``types`` (when given) is a ConfigError.
        """
        lookup = self.storage.airflow_lookup if ask_airflow else "never"
        return airflow_connection(conn_id, self._env, lookup=lookup, types=types)


def make_folder(path: Path, variable: str) -> Path:
    """Make the folder ``path`` (and its parents) if missing; one :class:`ConfigError` naming ``variable``, the
    setting that chose it, when it cannot be made."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{variable}: cannot make the folder {path_text(path)} ({exc.strerror or exc}); set it to a "
                          "folder you can write") from None
    return path


#: What an OSError says when musim may not write a folder: a read-only disk, its permissions, an immutable folder.
_NOT_WRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


class FolderNotWritable(ConfigError, OSError):
    """A folder a setting chose (``MUSIM_TMP``) that musim may not write, or whose disk is full: one line naming the
    setting (a :class:`ConfigError`), and still the OSError it was for a caller that goes on without the folder (a
    sandbox's spill folder: DuckDB makes it only if it spills). ``errno``: the error's."""


def unwritable_folder(path: str | Path, exc: OSError, settings: Settings | None = None, *,
                      only: tuple[str, ...] | None = None) -> FolderNotWritable | None:
    """The one line for ``exc``, an error creating or writing ``path`` (a lock file, a scratch file or folder), when
    ``path`` is in a folder a setting chose (:meth:`Settings.folder_setting`; ``only``: one of those variables) and
    musim may not write there, or its disk is full: ``MUSIM_TMP (PATH) is not writable: Read-only file system;
    ...``. None for any other error or path: the caller reports it as it would have."""
    if exc.errno not in _NOT_WRITABLE and exc.errno != errno.ENOSPC:
        return None
    try:
        found = (settings or get_settings()).folder_setting(Path(path))
    except (ConfigError, OSError, ValueError):  # settings that cannot be read: the error as it was
        return None
    if found is None or (only is not None and found[0] not in only):
        return None
    variable, folder = found
    why = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        error = FolderNotWritable(f"{variable} ({path_text(folder)}) is full: {why}; nothing was written: free space "
                                  f"there or point {variable} at a larger disk")
    else:
        error = FolderNotWritable(f"{variable} ({path_text(folder)}) is not writable: {why}; point {variable} at a "
                                  "folder musim may write")
    error.errno = exc.errno
    return error


#: The variables settings are read from (every field's, and the Airflow connections').
_PREFIXES = ("MUSIM_", "AWS_", "SPOTIPY_", "AIRFLOW_CONN_")


def train_queue(env: Mapping[str, str] | None = None) -> str:
    """``MUSIM_TRAIN_QUEUE`` read on its own: the training DAGs' queue, read when they are parsed, where the other
    settings' checks (a DuckDB connection among them) have no place; a bad value is one ConfigError line."""
    env = os.environ if env is None else env
    given = {k: env[k] for k in ("MUSIM_TRAIN_QUEUE",) if k in env}
    return ModelSettings(**given).train_queue


def get_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: ``os.environ``); a bad value is one ConfigError line.

    Reading is cached by the values of the variables it depends on (and the working directory, which
    the default ``MUSIM_HOME`` is relative to, and the home folder ``~`` expands to): change the environment
    and the next call reads again.
    """
    env = os.environ if env is None else env
    relevant = tuple(sorted((k, v) for k, v in env.items() if k.upper().startswith(_PREFIXES)))  # musim_x: misspelt
    forward_to_airflow()  # secrets read before Airflow was imported (a cached reading registers nothing anew)
    return _read(relevant, os.getcwd(), os.path.expanduser("~"))


@functools.lru_cache(maxsize=16)
def _read(relevant: tuple[tuple[str, str], ...], cwd: str, user_home: str) -> Settings:
    env = dict(relevant)
    for line in misspelt(env):
        log.warning(line)
    for variable, value in relevant:  # before anything is validated: a section's bad value stops the reading there,
        register_setting_secrets(variable, value)  # before the sections after it, whose secrets the error could quote
    token = _ENV.set(env)
    try:
        settings = Settings()
    except ValidationError as exc:
        raise config_error(exc) from None
    finally:
        _ENV.reset(token)
    settings._env = env
    return settings


def misspelt(env: Mapping[str, str]) -> list[str]:
    """One line for each set ``MUSIM_*`` (or ``SPOTIPY_*``) variable that is no setting but close to one's name
    (``MUSIM_DUCKDB_THREADS`` without its ``S``), or one in the wrong case (``musim_http_timeout_s``: names are
    case-sensitive): it is ignored, and the setting keeps its default without a word otherwise."""
    known = {name for _, names in _plan(Settings) for name in names}
    lines = []
    for variable in sorted(env):
        upper = variable.upper()
        if not upper.startswith(("MUSIM_", "SPOTIPY_")) or variable in known or variable in NOT_SETTINGS:
            continue
        close = [upper] if upper in known else difflib.get_close_matches(upper, known, n=1, cutoff=0.85)
        if close and env[variable].strip():
            lines.append(f"{variable} is not a musim setting and is ignored: did you mean {close[0]}?")
    return lines


def variables() -> Iterator[tuple[str, str, str, str]]:
    """``(variables, section, default, description)`` of every setting, in declaration order."""

    def walk(model: type[BaseModel], section: str) -> Iterator[tuple[str, str, str, str]]:
        for name, field in model.model_fields.items():
            sub = _section(field)
            if sub is not None:
                yield from walk(sub, section or name)
                continue
            names = _names(field)
            if names:
                shown = (field.json_schema_extra or {}).get("shown")  # type: ignore[union-attr]
                yield ", ".join(f"`{n}`" for n in names), section or "general", _shown(field, shown), field.description or ""

    yield from walk(Settings, "")


def _shown(field: FieldInfo, shown: Any) -> str:
    if shown is not None:
        return str(shown)
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def markdown_table() -> str:
    """The README's table of every variable (``python -m musim.config --markdown`` prints it)."""
    rows = ["| variable | section | default | meaning |", "|---|---|---|---|"]
    rows += [f"| {names} | {section} | {default.replace('|', '/')} | {meaning.replace('|', '/')} |"
             for names, section, default, meaning in variables()]
    return "\n".join(rows) + "\n"
