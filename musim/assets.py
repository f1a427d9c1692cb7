"""The Airflow Assets between musim's DAGs, defined once, and the check of a run's params.

URIs are plain strings so that the library does not need Airflow; :func:`asset` builds the
``airflow.sdk.Asset`` inside a DAG file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

URIS: dict[str, str] = {
    "lastfm_plays": "musim://warehouse/lastfm_plays",
    "artist_similarity": "musim://serving/artist_similarity",
    "previews": "musim://objects/audio/previews",
    "features": "musim://objects/features",
    "models": "musim://objects/models",
}
#: The JSON Schema ``pattern`` of a param that is a folder on the worker (``audio_acquire``'s ``local_path``): an
#: absolute path, or one from ``~`` (expanded), with no ``://`` (a folder, as :func:`musim.storage.is_object_url` reads
#: it). A relative path would be read from the worker's working folder, a different place on each worker: refused when
#: the run is triggered, and by the first task (:func:`refuse_relative`) where a run's conf skipped the schema.
FOLDER_PATTERN = r"^(?!.*://)[/~]"
#: The JSON Schema ``pattern`` of a param that is a folder or an object-store prefix (``library_scan``'s ``folder``,
#: ``lastfm_ingest``'s ``landing``): a folder as :data:`FOLDER_PATTERN`, or an ``s3://`` or ``file://`` URL; another
#: URL (``gs://``, ``http://``) is refused when the run is triggered.
FOLDER_OR_PREFIX_PATTERN = FOLDER_PATTERN + r"|^(s3|file)://."


def expand_folder(value: str | None) -> str | None:
    """A DAG's folder param as its task goes on with it: ``~`` expanded (as the command line's folders are), an
    object-store URL (a value with ``://``) and None as they are."""
    import os

    return value if value is None or "://" in str(value) else os.path.expanduser(str(value))


def refuse_relative(value: str | None, what: str, give: str) -> None:
    """:class:`~musim.errors.ParameterError` naming the param ``what`` when ``value`` is a relative path (``~``
    expanded first: :func:`expand_folder`), which each worker would read from its own working folder, a different
    place on each; ``give`` says what is wanted (an absolute path, or an s3:// URL where the param takes one). The
    command line takes relative paths: a shell's working folder is the user's."""
    import os

    from musim.errors import ParameterError

    expanded = expand_folder(value)
    if expanded is not None and "://" not in expanded and not os.path.isabs(expanded):
        raise ParameterError(f"the {what} param {value!r} is a relative path, which each worker would read from its "
                             f"own working folder: give {give}; nothing was done, trigger it again")


def asset(name: str):
    """The ``airflow.sdk.Asset`` called ``name`` (one of :data:`URIS`)."""
    from airflow.sdk import Asset

    return Asset(name=name, uri=URIS[name], group="musim")


def parsed_train_queue() -> str:
    """``MUSIM_TRAIN_QUEUE`` as the training DAGs read it when their files are parsed, for their train and evaluate
    tasks: a bad value is no import error (the DAG vanished from the UI, an import error in its place, and no run
    could say why) but ``default``, the CPU queue; their first task then fails with its one line
    (:func:`refused_train_queue`), so nothing trains on a queue nobody asked for."""
    from musim.config import train_queue
    from musim.errors import ConfigError

    try:
        return train_queue()
    except ConfigError:
        return "default"


def refused_train_queue() -> str | None:
    """The one line a training DAG's first task refuses to run with while ``MUSIM_TRAIN_QUEUE`` is bad, or None."""
    from musim.config import train_queue
    from musim.errors import ConfigError

    try:
        train_queue()
    except ConfigError as exc:
        return f"{exc}: fix it where the Airflow services read it, then trigger the run again; nothing was done"
    return None


def announced_dumps(events: Iterable[Any] | None) -> list[str]:
    """The dump ids that ``lastfm_plays`` events announce (each event's ``extra["dump_id"]``), oldest event
    first, each once: what an asset-triggered ``artist_similarity`` run builds. Airflow gives a run every event
    queued since the last one (two dumps ingested in one scan, or while a run was going, are one run), so
    building only "the latest dump" left the others unbuilt, and built a newer dump that failed its gate (no
    event) when an older one passed. ``events``: Airflow's ``triggering_asset_events[lastfm_plays]``."""
    given = list(events or [])
    stamped = sorted((e for e in given if getattr(e, "timestamp", None) is not None), key=lambda e: e.timestamp)
    ordered = stamped + [e for e in given if getattr(e, "timestamp", None) is None]
    ids = [str((getattr(e, "extra", None) or {}).get("dump_id") or "") for e in ordered]
    return list(dict.fromkeys(i for i in ids if i))


def refused_conf(dag: Any, params: Mapping[str, Any], check: Callable[[Mapping[str, Any]], None] | None = None
                 ) -> str | None:
    """The one line a DAG's first task refuses its run's conf with, before anything is done, or None when it is
    fine: a key that is none of ``dag``'s params (:func:`unknown_params`), a float given to a whole-number param
    (:func:`float_for_integer`), the :class:`~musim.errors.ParameterError` that ``check(params)`` raises (an
    empty value, which an unset variable gives, must not read as "the default"), else NaN or an infinity anywhere in a
    param (:func:`non_finite`)."""
    from musim.errors import ParameterError

    if dag is not None and (refused := unknown_params(dag.dag_id, params, dag.params)):
        return refused
    if dag is not None and (refused := float_for_integer(params, dag.params)):
        return refused
    try:
        if check is not None:
            check(params)
    except ParameterError as exc:
        return str(exc)
    return non_finite(params)


def float_for_integer(given: Mapping[str, Any], known: Any) -> str | None:
    """One line naming the first param of a whole-number type whose value is a float (``8.0``), or None. JSON
    Schema counts ``8.0`` an integer, so Airflow's form and ``--conf`` take it, and the float reached ``range()`` or
    a slice deep in a task as a ``TypeError`` traceback. ``known``: the DAG's ``ParamsDict``."""
    for name, value in given.items():
        if not isinstance(value, float) or name not in known:
            continue
        kind = known.get_param(name).schema.get("type")
        if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
            return (f"the {name} param is {value!r}, a float: give it as a whole number"
                    f"{f' ({int(value)})' if value.is_integer() else ''}; nothing was done, trigger it again")
    return None


def non_finite(given: Mapping[str, Any]) -> str | None:
    """One line naming the first param holding NaN or an infinity (at its top level, or inside an object or array
    param: ``hparams`` ``learning_rate``), or None. JSON Schema lets NaN through every bound (no comparison with it is
    true), and ``--conf`` or the REST API take it: a NaN ``test_share`` ended train_embeddings skipped ("not trained")
    instead of refused, a NaN ``learning_rate`` or ``min_duration_s`` failed deep in a task with a traceback."""

    def first(value: Any, path: tuple[str, ...]) -> tuple[tuple[str, ...], float] | None:
        if isinstance(value, float) and not math.isfinite(value):
            return path, value
        items = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else ()
        return next((found for k, v in items if (found := first(v, (*path, str(k))))), None)

    for name, value in given.items():
        if found := first(value, ()):
            path, bad = found
            inside = f"{'.'.join(path)!r} = " if path else ""
            return (f"the {name} param holds {inside}{bad!r}, which is no number: give a finite one (or leave it out "
                    "for its default); nothing was done, trigger it again")
    return None


def unknown_params(dag_id: str, given: Iterable[str], known: Iterable[str]) -> str | None:
    """One line naming the keys of a run's conf that are none of the DAG's params (``given``: the task's ``params``,
    which Airflow merges the conf into; ``known``: the names the DAG defines), or None when there is none. Airflow
    takes any key: a typo (``min_listener``) was ignored, and the run went on with that param's default."""
    names = set(known)
    unknown = sorted(str(k) for k in given if k not in names)
    if not unknown:
        return None
    return (f"{dag_id} has no param {', '.join(repr(k) for k in unknown)} (a typo?): it takes "
            f"{', '.join(sorted(names))}; nothing was done, trigger it again with those")
