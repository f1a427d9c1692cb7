"""The sections of :class:`musim.config.Settings`: one frozen model per concern, each field one variable.

A field's ``validation_alias`` is the variable it is read from (an ``AliasChoices`` lists several, the first
set wins); ``description`` documents it (the README's table is generated from these); ``shown`` in
``json_schema_extra`` is the default as the table shows it when it is computed (paths under ``MUSIM_HOME``).
Sections can also be built in Python by field name (``QualityThresholds(sample_rows=10)``); a bad value is a
:class:`~musim.errors.ConfigError` either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
)

from musim.config.errors import config_error
from musim.config.values import (
    Bool,
    Choice,
    CountryCode,
    FolderValue,
    Fraction,
    HttpUrl,
    MemoryLimit,
    NonNegative,
    NonNegativeInt,
    NonNegativeSeconds,
    PathValue,
    PositiveInt,
    QueueName,
    RateLimit,
    RateLimitValue,
    Seconds,
    SeedInt,
    Stripped,
    Threads,
    WindowSeconds,
    Words,
)
from musim.redact import register_secret

MIB = 1024 * 1024
S3_MIN_PART_SIZE = 5 * MIB
KNOWN_PROVIDERS = ("local", "deezer", "itunes", "spotify")
IngestEngine = Choice("auto", "c", "duckdb")
SimilarityEngine = Choice("auto", "c", "duckdb")
SearchMode = Choice("auto", "exact", "ann")


def var(*names: str, default: Any = None, description: str, shown: str | None = None, factory: Any = None) -> Any:
    """A field read from the variable ``names[0]`` (or the next of ``names`` that is set)."""
    alias: Any = names[0] if len(names) == 1 else AliasChoices(*names)
    extra = {"shown": shown} if shown is not None else None
    if factory is not None:
        return Field(default_factory=factory, validation_alias=alias, description=description, json_schema_extra=extra)
    return Field(default, validation_alias=alias, description=description, json_schema_extra=extra)


def _secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        register_secret(value.get_secret_value())  # unprintable from now on, wherever it turns up
    return value


#: A credential: never in ``repr``, and registered with :func:`musim.redact.register_secret` when read.
Secret = Annotated[SecretStr | None, AfterValidator(_secret)]


class Section(BaseModel):
    """Base of the sections: frozen, built from variables (aliases) or field names, unknown names refused."""

    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise config_error(exc) from None


def _memory_default() -> str:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        total = 8 * 1024**3
    return f"{int(total * 0.6 / MIB)}MB"


class WarehouseSettings(Section):
    """The DuckDB warehouse (one writer at a time)."""

    path: PathValue = var("MUSIM_WAREHOUSE", default=..., description="the writer's DuckDB file", shown="$MUSIM_HOME/warehouse.duckdb")
    memory_limit: MemoryLimit = var("MUSIM_DUCKDB_MEMORY", factory=_memory_default, shown="60% of RAM",
                            description="DuckDB memory_limit (e.g. 8GB)")
    threads: Threads = var("MUSIM_DUCKDB_THREADS", factory=lambda: os.cpu_count() or 1, shown="number of CPUs",
                          description="DuckDB threads")
    lock_wait_s: NonNegativeSeconds = var("MUSIM_WAREHOUSE_LOCK_WAIT_S", default=30.0,
                                          description="seconds a writer waits while another process (a reader "
                                          "or a writer) holds the warehouse open")


class TransferOptions(Section):
    """How objects move; the defaults suit MinIO on a LAN."""

    multipart_threshold: PositiveInt = var("MUSIM_S3_MULTIPART_THRESHOLD", default=8 * MIB, shown="8388608 (8 MiB)",
                                      description="objects of at least this many bytes go up in parts (S3)")
    part_size: Annotated[int, BeforeValidator(lambda v: _part_size(v))] = var(
        "MUSIM_S3_PART_SIZE", default=8 * MIB, shown="8388608 (8 MiB)", description="bytes per multipart part (S3's minimum: 5 MiB)")
    connect_timeout: Seconds = var("MUSIM_S3_CONNECT_TIMEOUT", default=5.0,
                                                 description="seconds to connect to S3")
    read_timeout: Seconds = var("MUSIM_S3_READ_TIMEOUT", default=60.0, description="seconds to wait for S3's answer")
    max_attempts: PositiveInt = var("MUSIM_S3_MAX_ATTEMPTS", default=3,
                               description="attempts per S3 request, the first included")
    fsync: Bool = var("MUSIM_LOCAL_FSYNC", default=False,
                      description="1: the local store fsyncs each object before it becomes visible, and its folder after")


def _part_size(raw: Any) -> int:
    try:
        value = int(raw.strip()) if isinstance(raw, str) else raw
    except ValueError:
        value = None
    if not isinstance(value, int) or value < S3_MIN_PART_SIZE:
        raise ValueError("a number of bytes of at least 5 MiB (S3's minimum part size)")
    return value


def _lookup(raw: Any) -> str:
    value = str(raw).strip().lower()
    if value in ("never", "0", "false", "no"):
        return "never"
    if value in ("always", "1", "true", "yes"):
        return "always"
    if value != "auto":
        raise ValueError("auto, always or never")
    return value


class StorageSettings(Section):
    """The object store and how to reach S3 (an Airflow connection, when there is one, wins field by field)."""

    object_store: str = var("MUSIM_OBJECT_STORE", default=..., shown="file://$MUSIM_HOME/objects",
                            description="object store URL: file:///path, s3://bucket/prefix or s3://conn_id@bucket/prefix")
    transfer: TransferOptions = Field(default_factory=TransferOptions)
    airflow_lookup: Annotated[str, BeforeValidator(_lookup)] = var(
        "MUSIM_S3_AIRFLOW_LOOKUP", default="auto",
        description="ask Airflow for the S3 connection: auto (only where Airflow is already imported), always, never")
    endpoint_url: str | None = var("MUSIM_S3_ENDPOINT_URL", shown="(AWS)", description="S3 endpoint, e.g. http://minio:9000")
    aws_endpoint_url_s3: str | None = var("AWS_ENDPOINT_URL_S3", shown="(AWS)",
                                          description="S3 endpoint when MUSIM_S3_ENDPOINT_URL is unset")
    aws_endpoint_url: str | None = var("AWS_ENDPOINT_URL", shown="(AWS)",
                                       description="endpoint of every AWS service, the last fallback")
    access_key_id: str | None = var("AWS_ACCESS_KEY_ID", shown="(boto3's chain)", description="S3 access key")
    secret_access_key: Secret = var("AWS_SECRET_ACCESS_KEY", shown="(boto3's chain)", description="S3 secret key (secret)")
    session_token: Secret = var("AWS_SESSION_TOKEN", shown="(none)", description="S3 session token (secret)")
    region: str | None = var("AWS_REGION", "AWS_DEFAULT_REGION", shown="us-east-1", description="S3 region")


class RetryPolicy(Section):
    """Exponential backoff with jitter: wait ``min(initial_s * 2**n, max_s) + U(0, jitter_s)``.

    A ``Retry-After`` from the server replaces the computed wait, up to ``max_retry_after_s``; a longer one
    is not waited for (the call fails at once, retryable later).
    """

    max_attempts: PositiveInt = var("MUSIM_RETRY_ATTEMPTS", default=5, description="attempts per provider call, first included")
    initial_s: NonNegativeSeconds = var("MUSIM_RETRY_INITIAL_S", default=1.0, description="first backoff wait in seconds (doubles)")
    max_s: NonNegativeSeconds = var("MUSIM_RETRY_MAX_S", default=30.0, description="longest backoff wait in seconds")
    jitter_s: NonNegativeSeconds = var("MUSIM_RETRY_JITTER_S", default=1.0, description="random extra wait, up to this many seconds")
    max_retry_after_s: NonNegativeSeconds = var("MUSIM_RETRY_AFTER_MAX_S", default=120.0,
                                      description="longest Retry-After honoured, in seconds")
    outage_after: PositiveInt = var(
        "MUSIM_OUTAGE_AFTER", default=5,
        description="calls to a provider in a row that fail after their retries (5xx, 429, no connection, timeout) "
                    "before it is taken as down for the rest of the run")


class RateLimits(Section):
    """Requests per window of each provider and of the audio downloads."""

    deezer: RateLimitValue = var("MUSIM_DEEZER_RATE_LIMIT", default=RateLimit(50, 5.0), description="Deezer calls/seconds")
    itunes: RateLimitValue = var("MUSIM_ITUNES_RATE_LIMIT", default=RateLimit(20, 60.0), description="iTunes calls/seconds")
    spotify: RateLimitValue = var("MUSIM_SPOTIFY_RATE_LIMIT", default=RateLimit(20, 10.0),
                                  description="Spotify calls/seconds")
    download: RateLimitValue = var("MUSIM_DOWNLOAD_RATE_LIMIT", default=RateLimit(10, 1.0),
                                   description="audio downloads/seconds")


def _providers(order: tuple[str, ...]) -> tuple[str, ...]:
    if not order or set(order) - set(KNOWN_PROVIDERS):
        raise ValueError(f"a comma-separated list of the providers {', '.join(KNOWN_PROVIDERS)}")
    twice = sorted({name for name in order if order.count(name) > 1})
    if twice:  # each provider is asked once: a second deezer asked the same API again, and said every failure twice
        raise ValueError(f"a comma-separated list of the providers {', '.join(KNOWN_PROVIDERS)}, each once "
                         f"({', '.join(twice)} is listed twice)")
    return order


def _anchor(raw: Any) -> str | float:
    if isinstance(raw, str) and raw.strip() in ("start", "middle", "end"):
        return raw.strip()
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise ValueError("start, middle, end or a number between 0 and 1")
    return value


class AcquireSettings(Section):
    """The audio providers (Deezer, iTunes, Spotify, a local folder): where they are and how politely to ask."""

    order: Annotated[Words, AfterValidator(_providers)] = var(
        "MUSIM_ACQUIRE_PROVIDERS", default=KNOWN_PROVIDERS, description="provider order, first wins")
    deezer_url: HttpUrl = var("MUSIM_DEEZER_API_URL", default="https://api.deezer.com", description="Deezer API base URL")
    itunes_url: HttpUrl = var("MUSIM_ITUNES_API_URL", default="https://itunes.apple.com", description="iTunes Search base URL")
    spotify_api_url: HttpUrl = var("MUSIM_SPOTIFY_API_URL", default="https://api.spotify.com/v1/",
                               description="Spotify Web API prefix")
    spotify_token_url: HttpUrl = var("MUSIM_SPOTIFY_TOKEN_URL", default="https://accounts.spotify.com/api/token",
                                 description="Spotify client-credentials token URL")
    spotify_market: CountryCode = var("MUSIM_SPOTIFY_MARKET", default="US", description="market of Spotify top tracks")
    itunes_country: CountryCode = var("MUSIM_ITUNES_COUNTRY", default="US", description="iTunes store country")
    spotify_client_id: str | None = var("MUSIM_SPOTIFY_CLIENT_ID", description="Spotify client id")
    spotify_client_secret: Secret = var("MUSIM_SPOTIFY_CLIENT_SECRET", description="Spotify client secret (secret)")
    spotipy_client_id: str | None = var("SPOTIPY_CLIENT_ID", description="Spotify client id, spotipy's name")
    spotipy_client_secret: Secret = var("SPOTIPY_CLIENT_SECRET", description="Spotify client secret, spotipy's name (secret)")
    local_dir: PathValue | None = var("MUSIM_LOCAL_MUSIC_DIR", shown="(unset: local provider off)",
                                      description="a folder of the user's own music")
    match_threshold: Fraction = var("MUSIM_MATCH_THRESHOLD", default=0.85, description="fuzzy artist-name match threshold")
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    timeout_s: Seconds = var("MUSIM_HTTP_TIMEOUT_S", default=10.0, description="connect/read timeout per request (s)")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    excerpt_s: WindowSeconds = var("MUSIM_EXCERPT_S", default=30.0,
                                   description="analysis window of local files and library tracks (s)")
    excerpt_anchor: Annotated[str | float, BeforeValidator(_anchor)] = var(
        "MUSIM_EXCERPT_ANCHOR", default="middle", description="where the window sits: start, middle, end or 0..1")

    def rate_limit(self, name: str) -> RateLimit:
        """The limit for ``name`` (a provider or ``"download"``); one call per second if unknown."""
        return getattr(self.rate_limits, name, RateLimit(1, 1.0))


class QualityThresholds(Section):
    """What the quality suites accept, and how much GX validates row by row.

    Whole-table invariants (counts, uniqueness, ranges, symmetry) are computed in SQL on every row whatever
    these say; only GX's row-by-row pass is sampled above ``full_rows_max``.
    """

    max_reject_share: Fraction = var("MUSIM_QUALITY_MAX_REJECT_SHARE", default=0.01,
                                     description="rejected plays/events lines of a dump, as a share of its lines")
    max_profile_reject_share: Fraction = var("MUSIM_QUALITY_MAX_PROFILE_REJECT_SHARE", default=0.01,
                                             description="rejected profile lines, as a share of the profile lines")
    profile_mostly: Fraction = var("MUSIM_QUALITY_PROFILE_MOSTLY", default=0.95,
                                   description="share of profile values that must look sane (age, gender, signup)")
    training_feature_mostly: Fraction = var("MUSIM_QUALITY_TRAINING_FEATURE_MOSTLY", default=0.9,
                                            description="share of catalogue tracks each training feature must cover")
    training_min_test_artists: PositiveInt = var("MUSIM_QUALITY_TRAINING_MIN_TEST_ARTISTS", default=5,
                                            description="a model run's test side needs this many artists")
    training_min_positive_share: Fraction = var("MUSIM_QUALITY_TRAINING_MIN_POSITIVE_SHARE", default=0.01,
                                                description="share of training pairs that must have co-listeners")
    full_rows_max: PositiveInt = var("MUSIM_QUALITY_FULL_ROWS_MAX", default=250_000,
                                description="tables up to this many rows are validated row by row entirely")
    sample_rows: PositiveInt = var("MUSIM_QUALITY_SAMPLE_ROWS", default=100_000,
                              description="larger tables: rows of the reservoir sample GX validates")
    batch_rows: PositiveInt = var("MUSIM_QUALITY_BATCH_ROWS", default=100_000, description="rows per DataFrame handed to GX")
    score_tolerance: NonNegative = var("MUSIM_QUALITY_SCORE_TOLERANCE", default=1e-9,
                                    description="largest difference between two scores that must be equal")
    examples: PositiveInt = var("MUSIM_QUALITY_EXAMPLES", default=5, description="example bad values kept per failed expectation")
    object_sample: NonNegativeInt = var("MUSIM_QUALITY_OBJECT_SAMPLE", default=20,
                                description="stored objects opened per run (feature tensors)")
    seed: SeedInt = var("MUSIM_QUALITY_SEED", default=42, description="seed of the reservoir samples (same data, same sample)")


class FeatureSettings(Section):
    """The feature store's builds."""

    build_timeout_s: Seconds = var(
        "MUSIM_FEATURE_BUILD_TIMEOUT_S", default=3600.0,
        description="a feature build still marked running whose last heartbeat (each recorded or computed batch, "
                    "at least once a minute while it works) is older than this many seconds is shown interrupted")


class IngestSettings(Section):
    """Where Last.FM dumps arrive and which engine reads the 360K plays files."""

    landing: Stripped = var("MUSIM_LANDING", default=..., shown="$MUSIM_HOME/landing/lastfm",
                       description="where new Last.FM dumps are dropped (a folder or s3:// URL)")
    settle_s: NonNegativeSeconds = var("MUSIM_LANDING_SETTLE_S", default=60.0,
                                description="a landed dump whose files changed less than this many seconds ago is "
                                            "left for the next scan (it may still be being copied)")
    engine: IngestEngine = var(
        "MUSIM_INGEST_ENGINE", default="auto", description="360K plays reader: c, duckdb, or auto (c when it is built)")


class SimilaritySettings(Section):
    """How the co-listening similarity of a dump is computed."""

    engine: SimilarityEngine = var(
        "MUSIM_SIMILARITY_ENGINE", default="auto",
        description="co-listened pair counter: c, duckdb, or auto (c when it is built)")


class LibrarySettings(Section):
    """The user's own music library."""

    landing: Stripped = var("MUSIM_LIBRARY_LANDING", default=..., shown="$MUSIM_HOME/landing/library",
                       description="folder or object-store prefix (s3://bucket/prefix) the library_scan DAG adds "
                                   "music from")
    real_music: FolderValue = var("MUSIM_REAL_MUSIC", factory=lambda: _REPO / "benchmarks" / "data" / "real_music",
                                shown="benchmarks/data/real_music",
                                description="the real-music corpus (manifest.csv) of make demo-real and "
                                            "bench_real_music, made by benchmarks/real_music/make_corpus.sh")


class ModelSettings(Section):
    """Promotion of trained models and how neighbours are searched."""

    promotion_min_test_artists: PositiveInt = var("MUSIM_PROMOTION_MIN_TEST_ARTISTS", default=10,
                                             description="test artists a promotion's evaluation needs")
    promotion_min_queries: PositiveInt = var("MUSIM_PROMOTION_MIN_QUERIES", default=10,
                                        description="queries a promotion's evaluation needs")
    ann_min_tracks: NonNegativeInt = var("MUSIM_ANN_MIN_TRACKS", default=20_000,
                                 description="catalogue size from which auto search uses the ANN index")
    audio_search: SearchMode = var(
        "MUSIM_AUDIO_SEARCH", default="auto", description="neighbour search: auto, exact or ann")
    train_queue: QueueName = var(
        "MUSIM_TRAIN_QUEUE", default="default",
        description="Celery queue of the training DAGs' train and evaluate tasks, read when the DAGs are parsed: gpu "
                    "where a GPU worker consumes it (docker compose --profile gpu); while no live worker consumes "
                    "it, each run trains on the default (CPU) queue instead, saying so in one warning line")
    ann_recall: Fraction = var(
        "MUSIM_ANN_RECALL", default=0.95,
        description="recall@10 against exact search that each ANN index's search depth is calibrated to "
                    "(similar-audio, and the track tables on their own rows): lower is faster")


#: The source checkout (where ``benchmarks/`` lives in a clone).
_REPO = Path(__file__).resolve().parents[2]


def home_paths(home: Path) -> dict[str, dict[str, Any]]:
    """The defaults under ``home`` of the path fields, by section and variable."""
    return {
        "warehouse": {"MUSIM_WAREHOUSE": home / "warehouse.duckdb"},
        "storage": {"MUSIM_OBJECT_STORE": (home / "objects").as_uri()},
        "ingest": {"MUSIM_LANDING": str(home / "landing" / "lastfm")},
        "library": {"MUSIM_LIBRARY_LANDING": str(home / "landing" / "library")},
    }
