"""The feature registry: entities, feature views, feature services (Feast's concepts, kept small).

A **feature view** is a named, versioned, typed set of features of one entity (``artist`` or ``track``)
with a source: ``extract`` (computed from the audio by :mod:`musim.features.extract`), ``derived`` (an
aggregate of another view, materialised by :mod:`musim.features.materialize`) or ``push`` (values written
by other code, e.g. embeddings with the model version that produced them). Tensor views live in the object
store (the warehouse keeps their keys); scalar and vector views live in the warehouse.

A **feature service** is the named list of ``(view, version)`` a model was trained on — one per model
version — optionally with the training set's point in time, so the model can be retrained or evaluated on
exactly the same features.

Definitions are declarative (:mod:`musim.features.definitions`) and *applied* to the warehouse
(:func:`apply`): a ``(name, version)`` keeps its definition forever; changing it without a new version
raises :class:`RegistryError`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from musim import sql
from musim.errors import MusimError, NotFoundError, ParameterError
from musim.features.keys import CLOCK_SKEW, not_in_future
from musim.features.params import Extractor
from musim.params import whole_number

__all__ = [
    "ARTIST",
    "ENTITIES",
    "TRACK",
    "Entity",
    "FeatureService",
    "FeatureView",
    "Field",
    "RegistryError",
    "Source",
    "apply",
    "derived_view",
    "embedding_view",
    "extraction_view",
    "get_service",
    "get_view",
    "list_services",
    "list_views",
    "register_service",
    "register_view",
]


class RegistryError(MusimError):
    """A definition conflicts with what the registry holds (same name and version, different content)."""


@dataclass(frozen=True)
class Entity:
    """What features describe: its name, the key column in frames and tables, and the key's SQL type."""

    name: str
    key: str
    sql_type: str


ARTIST = Entity("artist", "artist_id", "INTEGER")
TRACK = Entity("track", "track_id", "VARCHAR")
ENTITIES = {e.name: e for e in (ARTIST, TRACK)}

_DTYPES = frozenset({"float16", "float32", "float64"})


@dataclass(frozen=True)
class Field:
    """One feature: name, element dtype and shape (``()`` for a scalar; None for a variable axis)."""

    name: str
    dtype: str = "float64"
    shape: tuple[int | None, ...] = ()

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ParameterError(f"feature name {self.name!r} must be an identifier")
        if self.dtype not in _DTYPES:
            raise ParameterError(f"feature {self.name}: dtype must be one of {sorted(_DTYPES)}, got {self.dtype!r}")
        object.__setattr__(self, "shape", tuple(self.shape))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@dataclass(frozen=True)
class Source:
    """Where a view's values come from.

    ``type="extract"``: ``extractor`` computes them from each track's audio. ``type="derived"``: the
    ``transform`` (``"mean_by_artist"``) of the view ``inputs[0]`` (``"name:version"``). ``type="push"``:
    written with :func:`musim.features.materialize.write_vectors`.
    """

    type: str
    extractor: Extractor | None = None
    inputs: tuple[str, ...] = ()
    transform: str | None = None

    def __post_init__(self) -> None:
        if self.type not in ("extract", "derived", "push"):
            raise ParameterError(f"source type must be extract, derived or push, got {self.type!r}")
        if (self.type == "extract") != (self.extractor is not None):
            raise ParameterError("an extract source needs an extractor, other sources none")
        if self.type == "derived" and (self.transform not in ("mean_by_artist",) or len(self.inputs) != 1):
            raise ParameterError("a derived source needs transform='mean_by_artist' and one input view")
        object.__setattr__(self, "inputs", tuple(self.inputs))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.extractor is not None:
            out["extractor"] = self.extractor.kind
        if self.inputs:
            out["inputs"] = list(self.inputs)
        if self.transform:
            out["transform"] = self.transform
        return out


@dataclass(frozen=True, eq=False)
class FeatureView:
    """A named, versioned, typed set of features of one entity.

    ``kind`` is ``"tensor"`` (one array per entity in the object store; frames get its object key),
    ``"scalars"`` (named float columns, stored as one vector per entity) or ``"vector"`` (one field of
    shape ``(dim,)``).
    """

    name: str
    version: int
    entity: Entity
    kind: str
    schema: tuple[Field, ...]
    source: Source
    description: str
    params: Mapping[str, Any] | None = None
    params_hash: str | None = None
    model_version: str | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or "__" in self.name:
            raise ParameterError(f"view name {self.name!r} must be an identifier without '__'")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ParameterError(f"view {self.name}: version must be a positive integer, got {self.version!r}")
        if self.kind not in ("tensor", "scalars", "vector"):
            raise ParameterError(f"view {self.name}: kind must be tensor, scalars or vector, got {self.kind!r}")
        object.__setattr__(self, "schema", tuple(self.schema))
        if not self.schema:
            raise ParameterError(f"view {self.name}: empty schema")
        if self.kind in ("tensor", "vector") and len(self.schema) != 1:
            raise ParameterError(f"view {self.name}: a {self.kind} view has exactly one field")
        if self.kind == "scalars" and any(f.shape for f in self.schema):
            raise ParameterError(f"view {self.name}: scalar features have shape ()")
        if self.kind == "vector" and (len(self.schema[0].shape) != 1 or self.schema[0].shape[0] is None):
            raise ParameterError(f"view {self.name}: a vector field has shape (dim,)")
        if self.kind == "tensor" and not (self.source.extractor and self.source.extractor.is_tensor):
            raise ParameterError(f"view {self.name}: tensor views come from a log_mel or slices extractor")
        if self.source.extractor is not None and self.source.extractor.kind == "descriptors":
            if self.kind != "scalars" or self.entity is not TRACK:
                raise ParameterError(f"view {self.name}: descriptor extraction gives track scalars")
        if self.source.type == "derived" and self.entity is not ARTIST:
            raise ParameterError(f"view {self.name}: mean_by_artist gives artist features")
        if len({f.name for f in self.schema}) != len(self.schema):
            raise ParameterError(f"view {self.name}: duplicate feature names")

    # -- identity ----------------------------------------------------------------------------------
    @property
    def ref(self) -> str:
        """``"name:version"``."""
        return f"{self.name}:{self.version}"

    @property
    def storage(self) -> str:
        return "object_store" if self.kind == "tensor" else "warehouse"

    @property
    def dim(self) -> int:
        """Length of the stored vector (scalars: number of fields; vector: its dimension)."""
        if self.kind == "tensor":
            raise ParameterError(f"view {self.name} is a tensor view")
        return len(self.schema) if self.kind == "scalars" else int(self.schema[0].shape[0])  # type: ignore[arg-type]

    def definition(self) -> dict[str, Any]:
        """Everything that defines the view's values (what :meth:`definition_hash` covers)."""
        return {
            "name": self.name, "version": self.version, "entity": self.entity.name, "kind": self.kind,
            "schema": [f.to_json() for f in self.schema], "source": self.source.to_json(),
            "params": dict(self.params) if self.params is not None else None, "params_hash": self.params_hash,
            "model_version": self.model_version,
        }

    def definition_hash(self) -> str:
        return _hash(self.definition())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FeatureView) and self.definition_hash() == other.definition_hash()

    def __hash__(self) -> int:
        return hash(self.definition_hash())

    def __repr__(self) -> str:
        return f"FeatureView({self.ref}, {self.entity.name}, {self.kind})"


_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


@dataclass(frozen=True)
class FeatureService:
    """The exact feature views (with versions) a model is trained and evaluated on.

    ``as_of`` pins the training set's point in time: :func:`musim.features.get_training_frame` uses it
    when given no other.
    """

    name: str
    views: tuple[FeatureView, ...]
    description: str = ""
    model_version: str | None = None
    as_of: dt.datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "views", tuple(self.views))
        if not isinstance(self.name, str) or not _SERVICE_NAME.fullmatch(self.name):
            raise ParameterError(f"service name {self.name!r} must be letters, digits, '_', '.' or '-' (at most "
                                 "200, starting with a letter or digit), e.g. siamese-3")
        if not self.views:
            raise ParameterError(f"service {self.name}: no views")
        names = [v.name for v in self.views]
        if len(set(names)) != len(names):
            raise ParameterError(f"service {self.name}: a view appears twice ({names})")
        if self.as_of is not None:
            if not isinstance(self.as_of, dt.datetime) or self.as_of.tzinfo is None:
                raise ParameterError(f"service {self.name}: as_of must be a timezone-aware datetime")
            not_in_future(self.as_of, f"service {self.name}: as_of")

    def definition(self) -> dict[str, Any]:
        return {"name": self.name, "views": [v.ref for v in self.views], "model_version": self.model_version,
                "as_of": self.as_of.astimezone(dt.UTC).isoformat() if self.as_of else None}

    def definition_hash(self) -> str:
        return _hash(self.definition())


# -- helpers to define views -----------------------------------------------------------------------
def extraction_view(name: str, version: int, *, extractor: Extractor, description: str,
                    schema: Sequence[Field] | None = None) -> FeatureView:
    """A track view computed from audio by ``extractor`` (its parameters and hash are recorded)."""
    if schema is None:
        if extractor.kind == "log_mel":
            p = extractor.params
            schema = [Field("log_mel", "float16", (p.frames, p.n_mels))]  # type: ignore[union-attr]
        elif extractor.kind == "slices":
            p = extractor.params
            schema = [Field("slices", "float16", (None, p.frames, p.n_mels))]  # type: ignore[union-attr]
        else:
            schema = [Field(n, "float64") for n in extractor.params.names]  # type: ignore[union-attr]
    kind = "tensor" if extractor.is_tensor else "scalars"
    return FeatureView(name, version, TRACK, kind, tuple(schema), Source("extract", extractor), description,
                       params=extractor.params.to_dict(), params_hash=extractor.params_hash)


def derived_view(name: str, version: int, *, input_view: FeatureView, transform: str = "mean_by_artist",
                 description: str) -> FeatureView:
    """An artist vector aggregating a track view (``mean_by_artist``: element-wise mean over the tracks)."""
    if input_view.kind == "tensor" or input_view.entity is not TRACK:
        raise ParameterError(f"{transform} needs a track scalars/vector view, got {input_view!r}")
    field_name = f"{input_view.name}_mean" if input_view.kind == "scalars" else f"{input_view.schema[0].name}_mean"
    return FeatureView(name, version, ARTIST, "vector", (Field(field_name, "float64", (input_view.dim,)),),
                       Source("derived", inputs=(input_view.ref,), transform=transform), description,
                       params={"input": input_view.ref, "input_params_hash": input_view.params_hash},
                       params_hash=input_view.params_hash)


def embedding_view(name: str, version: int, *, entity: Entity, dim: int, model_version: str,
                   description: str, field_name: str = "embedding") -> FeatureView:
    """A vector view whose values a model writes (:func:`musim.features.write_vectors`)."""
    return FeatureView(name, version, entity, "vector", (Field(field_name, "float32", (int(dim),)),),
                       Source("push"), description, model_version=model_version)


# -- the warehouse side ----------------------------------------------------------------------------
def _hash(doc: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def register_view(con: duckdb.DuckDBPyConnection, view: FeatureView) -> bool:
    """Record ``view`` in the registry; True if new. Raises RegistryError if its version holds another definition."""
    row = sql.query(con, "features/view_hash.sql", view_name=view.name, view_version=view.version).fetchone()
    digest = view.definition_hash()
    if row is not None:
        if row[0] != digest:
            raise RegistryError(
                f"feature view {view.ref} is already registered with another definition; "
                f"give the changed definition a new version (e.g. {view.name}:{view.version + 1})")
        return False
    if sql.query(con, "features/service_hash.sql", service=view.name).fetchone() is not None:
        raise RegistryError(f"{view.name!r} is the name of a feature service: give the view another name "
                            f"(e.g. {view.name}_view) so `musim features show` can tell them apart")
    d = view.definition()
    sql.run(con, "features/register_view.sql", view_name=view.name, view_version=view.version,
            entity=view.entity.name, kind=view.kind, storage=view.storage, schema=json.dumps(d["schema"]),
            source=json.dumps(d["source"]), params=json.dumps(d["params"]) if d["params"] is not None else None,
            params_hash=view.params_hash, model_version=view.model_version, description=view.description,
            definition_hash=digest)
    if view.source.extractor is not None:
        ex = view.source.extractor
        sql.run(con, "features/register_params.sql", params_hash=ex.params_hash, kind=ex.kind,
                params=json.dumps(ex.params.to_dict()))
    return True


def register_service(con: duckdb.DuckDBPyConnection, service: FeatureService) -> bool:
    """Record ``service`` (and its views); True if new. A registered service never changes."""
    for view in service.views:
        register_view(con, view)
    row = sql.query(con, "features/service_hash.sql", service=service.name).fetchone()
    if row is None and service.name in view_names(con):
        raise RegistryError(f"{service.name!r} is the name of a feature view: give the service another name "
                            f"(e.g. {service.name}-service) so `musim features show` can tell them apart")
    digest = service.definition_hash()
    if row is not None:
        if row[0] != digest:
            raise RegistryError(f"feature service {service.name!r} is already registered with other views; "
                                "a service is immutable: register a new name (one per model version)")
        return False
    sql.run(con, "features/register_service.sql", service=service.name, description=service.description,
            model_version=service.model_version, as_of=service.as_of, definition_hash=digest)
    for i, v in enumerate(service.views):
        sql.run(con, "features/register_service_view.sql", service=service.name, position=i, view_name=v.name,
                view_version=v.version)
    return True


def apply(con: duckdb.DuckDBPyConnection, views: Iterable[FeatureView] | None = None,
          services: Iterable[FeatureService] | None = None) -> dict[str, list[str]]:
    """Register the definitions (default: everything in :mod:`musim.features.definitions`); idempotent.

    Returns the refs of what was new: ``{"views": [...], "services": [...]}``.
    """
    if views is None and services is None:
        from musim.features import definitions

        views, services = definitions.VIEWS, definitions.SERVICES
    new: dict[str, list[str]] = {"views": [], "services": []}
    for view in views or ():
        if register_view(con, view):
            new["views"].append(view.ref)
    for service in services or ():
        if register_service(con, service):
            new["services"].append(service.name)
    return new


def applied(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether every definition of :mod:`musim.features.definitions` is registered as it is (a read-only
    connection can then list and show them without :func:`apply`, which writes)."""
    from musim.features import definitions

    for view in definitions.VIEWS:
        row = sql.query(con, "features/view_hash.sql", view_name=view.name, view_version=view.version).fetchone()
        if row is None or row[0] != view.definition_hash():
            return False
    return all(sql.query(con, "features/service_hash.sql", service=s.name).fetchone() is not None
               for s in definitions.SERVICES)


def _code_views() -> dict[str, FeatureView]:
    from musim.features import definitions

    return {v.ref: v for v in definitions.VIEWS}


def view_from_row(row: Mapping[str, Any]) -> FeatureView:
    """Rebuild a FeatureView from its registry row (views registered by other code included)."""
    from musim.features.params import params_from_dict

    schema = tuple(Field(f["name"], f["dtype"], tuple(f["shape"])) for f in _json(row["schema"]))
    src = _json(row["source"])
    params = _json(row["params"]) if row["params"] is not None else None
    extractor = None
    if src["type"] == "extract":
        extractor = Extractor(src["extractor"], params_from_dict(src["extractor"], dict(params or {})))
    source = Source(src["type"], extractor, tuple(src.get("inputs", ())), src.get("transform"))
    return FeatureView(row["name"], int(row["version"]), ENTITIES[row["entity"]], row["kind"], schema, source,
                       row["description"], params=params, params_hash=row["params_hash"],
                       model_version=row["model_version"])


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def get_view(con: duckdb.DuckDBPyConnection, name: str, version: int | None = None) -> FeatureView:
    """The registered view ``name`` (the highest version when ``version`` is None); also accepts ``"name:version"``."""
    if not isinstance(name, str):
        raise ParameterError(f"a feature view's name is a string such as track_log_mel, got {type(name).__name__}")
    if version is not None:  # 'abc' reached DuckDB (its ConversionException and the SQL), True read as 1
        number = None if isinstance(version, bool) else whole_number(str(version), max_digits=9)
        if number is None:
            raise ParameterError(f"{name}: version {version!r} is no view version (a whole number from 1, e.g. "
                                 f"{name.partition(':')[0]}:1); `musim features list` shows the versions")
        version = number
    if ":" in name:
        name, _, v = name.partition(":")
        named = whole_number(v, max_digits=9)
        if named is None:
            raise ParameterError(f"{name}:{v}: a feature view's version is a whole number from 1, e.g. {name}:1")
        if version is not None and version != named:
            raise ParameterError(f"{name}:{v} names version {named} and --version {version} another: give one")
        version = named
    rows = sql.rows(con, "features/view_latest.sql", view_name=name, view_version=version)
    if not rows:
        versions = [r[0] for r in sql.query(con, "features/view_versions.sql", view_name=name).fetchall()]
        if versions:  # the name is registered, not that version
            raise NotFoundError(f"no version {version} of feature view {name}; its registered versions: "
                                f"{', '.join(map(str, versions))} (e.g. {name}:{versions[-1]})")
        what = f"{name}:{version}" if version is not None else name
        raise NotFoundError(f"no feature view {what!r}; registered: {', '.join(view_names(con)) or 'none'}")
    row = rows[0]
    code = _code_views().get(f"{row['name']}:{row['version']}")
    if code is not None and code.definition_hash() == row["definition_hash"]:
        return code
    return view_from_row(row)


def view_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The names of the registered views, sorted."""
    return sorted({r[0] for r in sql.query(con, "features/view_names.sql").fetchall()})


def service_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The names of the registered services."""
    return [r[0] for r in sql.query(con, "features/service_names.sql").fetchall()]


def list_views(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Registry rows of every view, with their row counts (tensors: tracks with an object)."""
    return sql.rows(con, "features/list_views.sql")


def list_services(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every registered service with its views as ``name:version`` strings."""
    return sql.rows(con, "features/list_services.sql")


def get_service(con: duckdb.DuckDBPyConnection, name: str) -> FeatureService:
    """The registered service ``name`` with its views."""
    rows = sql.rows(con, "features/service.sql", service=name)
    if not rows:
        raise NotFoundError(f"no feature service {name!r}; registered: {', '.join(service_names(con)) or 'none'}")
    refs = sql.query(con, "features/service_views.sql", service=name).fetchall()
    row = rows[0]
    return FeatureService(name, tuple(get_view(con, n, v) for n, v in refs), row["description"],
                          row["model_version"], _stored_pin(name, row["as_of"]))


def _stored_pin(name: str, as_of: dt.datetime | None) -> dt.datetime | None:
    """A registered service's ``as_of`` (UTC); :class:`RegistryError` naming the service when it is later than now
    beyond :data:`CLOCK_SKEW` (stored by a musim that did not refuse it, or by a machine whose clock ran ahead): its
    training set cannot be rebuilt before then."""
    if as_of is None:
        return None
    as_of = as_of.astimezone(dt.UTC)
    now = dt.datetime.now(dt.UTC)
    if as_of > now + CLOCK_SKEW:
        raise RegistryError(
            f"feature service {name!r} is pinned at as_of {as_of.isoformat()}, later than now "
            f"({now.isoformat(timespec='seconds')}): an older musim, or a machine whose clock ran ahead, registered "
            f"it, and its training set cannot be rebuilt before then; check the machines' clocks, then register the "
            f"model's service under a new name with a past as_of (e.g. {name}-2), or wait until then")
    return as_of

