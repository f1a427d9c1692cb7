"""The package's own exception types: every error a user can cause names the object and what to do."""

from collections.abc import Iterable


class MusimError(Exception):
    """Base class for errors musim raises on purpose (bad input, bad configuration, missing data).

    The message is one line (a line break in a name it quotes is shown escaped), unless the class carries a
    report (``multiline``)."""

    multiline = False


class ConfigError(MusimError):
    """A setting (environment variable, Airflow connection, CLI option) is missing or invalid."""


class IngestError(MusimError):
    """A dump file cannot be ingested at all (unreadable, unknown format)."""


class NotFoundError(MusimError):
    """A requested object (dump, artist, snapshot, model) does not exist."""


class StorageError(MusimError):
    """The object store failed or holds something unexpected."""


class ParameterError(MusimError):
    """A function got parameters it cannot work with (librosa's ParameterError, in musim's hierarchy)."""


class NotEnoughData(MusimError):
    """Nothing is wrong, but the data a job needs is not there yet (a new Last.FM dump whose artists have no audio
    yet: too few artists with both listening data and audio features to train on). The message says how much there
    is and what must run first; a scheduled DAG run ends skipped on it (the CLI fails, exit 2, as on any error)."""


def check_known(what: str, given: Iterable[str], known: Iterable[str]) -> None:
    """:class:`ParameterError` naming every unknown name in ``given`` and every known one, e.g. for a family's
    hyperparameters: ``unknown contrastive parameter(s) x; known: a, b``."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ParameterError(f"unknown {what}(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")


def refuse_blank(value: object, what: str, give: str) -> None:
    """:class:`ParameterError` when ``value`` was given (not ``None``) but is empty or blank: an unset shell variable
    (``--dump "$DUMP"``) must not be read as "the default". ``what`` names it, ``give`` says what is wanted."""
    if value is not None and not str(value).strip():
        raise ParameterError(f"{what} is empty (an unset variable?): give {give}")


class AudioError(MusimError):
    """Audio could not be decoded or is unusable (silent, too short); names the object key and reason."""


class QualityError(MusimError):
    """A data-quality suite failed; downstream work must stop. The message carries the report's lines;
    ``run_id`` is the quality run that failed and ``failed`` its failed datasets, when a gate raised it."""

    multiline = True

    def __init__(self, *args: object, run_id: str | None = None, failed: Iterable[str] = ()) -> None:
        super().__init__(*args)
        self.run_id = run_id
        self.failed = tuple(failed)


class QueryError(MusimError):
    """A query through the read-only door (``musim sql``) was refused, failed, or ran past its limits."""


class BusyError(MusimError):
    """A DuckDB file musim needs (the warehouse, a snapshot) is held open by another process; musim waited as long
    as it waits for that file, and gave up."""
