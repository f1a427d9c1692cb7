"""The inputs every family trains and is evaluated on: :class:`FamilyInputs` (one row per track), read
from the warehouse by :func:`load_manifest` (no tensors; what a DAG passes between tasks) and
:func:`load_inputs` (with the log-mels and slices from the object store)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from musim import sql
from musim.errors import NotEnoughData, NotFoundError, ParameterError, QualityError
from musim.models import registry
from musim.models.constants import DEFAULT_TARGET, MIN_USABLE_ARTISTS, MODEL_FILE, SPLIT_DEFAULTS
from musim.models.data import ArtistSplit, ClipTable, PairTargets, default_test_share, split_artists
from musim.models.families.base import FAMILY_NAMES, FEATURES, LISTENING_FAMILIES

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from musim.storage import ObjectStore

__all__ = ["SLICES_IN_MEMORY_MAX", "FamilyInputs", "current_champions", "gate_inputs", "load_inputs", "load_manifest",
           "load_slices", "require_features_gate", "require_identity_queries", "split_payload"]

log = logging.getLogger(__name__)


class NoFeaturesYet(NotEnoughData, NotFoundError):
    """No track has the features a family needs yet (the audio is still to acquire or extract): not enough data for
    a scheduled run, and a missing object for the rest (a :class:`NotFoundError` as before)."""


@dataclass(eq=False)
class FamilyInputs:
    """Everything any family needs, one row per track (tracks of an artist in order of preference).

    Tensors (``mel``, ``slices``) are loaded by :meth:`load_tensors` from the object keys, so the
    manifest (:meth:`to_bytes`) stays small.
    """

    track_ids: list[str]
    track_artist: np.ndarray                       # (N,) int64
    titles: list[str]
    genres: list[str | None]
    artist_names: dict[int, str]
    mel_keys: list[str | None]
    slice_keys: list[str | None]
    descriptors: np.ndarray | None = None          # (N, D) float32
    targets: PairTargets | None = None
    split: ArtistSplit | None = None               # over the artists with targets (the common test artists)
    listeners: dict[int, int] | None = None
    clips_per_artist: int = 3
    snapshot_id: str | None = None
    champions: dict[str, dict[str, Any]] = field(default_factory=dict)  # family -> {version, key, params}
    mel: np.ndarray | None = None                  # (N, 256, 64) float16 dB
    slices: np.ndarray | None = None               # (M, frames, n_mels) float16 dB
    slice_track: np.ndarray | None = None          # (M,) track index of every slice
    descriptors_gap: str | None = None             # why ``descriptors`` is None although they were needed
    listening_gap: str | None = None               # why ``targets`` is None although a similarity build exists

    def __len__(self) -> int:
        return len(self.track_ids)

    @property
    def dump_id(self) -> str | None:
        return None if self.targets is None else self.targets.dump_id

    @property
    def target_metric(self) -> str:
        return DEFAULT_TARGET if self.targets is None else self.targets.metric

    def clips(self) -> ClipTable:
        """Each evaluated artist's first ``clips_per_artist`` tracks (what every scorer averages over)."""
        artists = None if self.targets is None else self.targets.artist_ids
        return ClipTable.from_track_artist(self.track_artist, clips_per_artist=self.clips_per_artist, artists=artists)

    def training_split(self) -> ArtistSplit:
        """The common split with the artists outside the targets (no evaluation role) added to train."""
        if self.split is None:
            raise ParameterError("these inputs have no artist split (loaded without targets)")
        extra = np.setdiff1d(np.unique(self.track_artist),
                             np.concatenate([self.split.train, self.split.validation, self.split.test]))
        return ArtistSplit(np.union1d(self.split.train, extra), self.split.validation, self.split.test,
                           self.split.seed, self.split.validation_share, self.split.test_share)

    def labels(self, by: str = "auto") -> tuple[list[str], str]:
        """Colour labels of the tracks: genre (``auto`` when most tracks have one) or artist name."""
        known = sum(g is not None for g in self.genres)
        if by == "genre" or (by == "auto" and known >= 0.5 * len(self)):
            return [g if g is not None else "?" for g in self.genres], "genre"
        return [self.artist_names.get(int(a), str(a)) for a in self.track_artist], "artist"

    def names(self) -> list[str]:
        return [f"{self.artist_names.get(int(a), str(a))} – {t}" for a, t in zip(self.track_artist, self.titles,
                                                                                 strict=True)]

    def load_tensors(self, store: ObjectStore, needs: Sequence[str] = FEATURES, *, threads: int = 8) -> FamilyInputs:
        """Load the log-mels and/or slices named in ``needs`` from the object store (in place; returns self)."""
        import concurrent.futures as cf

        from musim.features.cache import load_tensor

        def fetch(keys: Sequence[str | None]) -> list[np.ndarray | None]:
            with cf.ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
                return list(pool.map(lambda k: None if k is None else load_tensor(store, k), keys))

        if "log_mel" in needs and self.mel is None:
            arrs = fetch(self.mel_keys)
            shape = next((a.shape for a in arrs if a is not None), None)
            if shape is None:
                raise NotFoundError("no track has a log-mel tensor: run the audio_features DAG first")
            self.mel = np.stack([a.astype(np.float16) if a is not None else np.full(shape, -80.0, np.float16)
                                 for a in arrs])
        if "slices" in needs and self.slices is None:
            self.slices, self.slice_track = load_slices(self.slice_keys, fetch)
        return self

    # -- the manifest ------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The inputs without tensors as one ``.npz`` (arrays + a JSON document)."""
        doc = {"track_ids": self.track_ids, "titles": self.titles, "genres": self.genres,
               "artist_names": {str(k): v for k, v in self.artist_names.items()}, "mel_keys": self.mel_keys,
               "slice_keys": self.slice_keys, "listeners": None if self.listeners is None else
               {str(k): v for k, v in self.listeners.items()}, "clips_per_artist": self.clips_per_artist,
               "snapshot_id": self.snapshot_id, "champions": self.champions, "descriptors_gap": self.descriptors_gap,
               "listening_gap": self.listening_gap,
               "targets": None if self.targets is None else {"metric": self.targets.metric,
                                                             "dump_id": self.targets.dump_id},
               "split": None if self.split is None else {"seed": self.split.seed,
                                                         "validation_share": self.split.validation_share,
                                                         "test_share": self.split.test_share}}
        arrays: dict[str, np.ndarray] = {"doc": np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8),
                                         "track_artist": self.track_artist}
        if self.descriptors is not None:
            arrays["descriptors"] = self.descriptors
        if self.targets is not None:
            arrays["target_ids"], arrays["target_matrix"] = self.targets.artist_ids, self.targets.matrix
        if self.split is not None:
            arrays["split_train"], arrays["split_validation"] = self.split.train, self.split.validation
            arrays["split_test"] = self.split.test
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FamilyInputs:
        z = np.load(io.BytesIO(data), allow_pickle=False)
        doc = json.loads(z["doc"].tobytes().decode())
        targets = split = None
        if doc["targets"] is not None:
            targets = PairTargets(z["target_ids"], z["target_matrix"], doc["targets"]["metric"],
                                  doc["targets"]["dump_id"])
        if doc["split"] is not None:
            split = ArtistSplit(z["split_train"], z["split_validation"], z["split_test"], **doc["split"])
        return cls(doc["track_ids"], z["track_artist"].astype(np.int64), doc["titles"], doc["genres"],
                   {int(k): v for k, v in doc["artist_names"].items()}, doc["mel_keys"], doc["slice_keys"],
                   z["descriptors"] if "descriptors" in z else None, targets, split,
                   None if doc["listeners"] is None else {int(k): v for k, v in doc["listeners"].items()},
                   doc["clips_per_artist"], doc["snapshot_id"], doc["champions"],
                   descriptors_gap=doc.get("descriptors_gap"), listening_gap=doc.get("listening_gap"))


#: Slices of more bytes than this are kept in a local memory-mapped cache file, not in RAM.
SLICES_IN_MEMORY_MAX = 1 << 30


def load_slices(keys: Sequence[str | None], fetch: Any, *, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Every track's slices stacked ``(M, frames, n_mels)`` float16, and the track index of each slice.

    Streams the objects ``chunk`` tracks at a time into a local file, so memory stays bounded: up to
    :data:`SLICES_IN_MEMORY_MAX` bytes the result is read into RAM (and the file removed); above, it is a
    read-only memory map of ``$MUSIM_HOME/cache/slices/<digest>.f16`` (the digest is over the content-addressed
    object keys, so a later run with the same slices reuses the file; its ``.json`` is written last and marks
    it complete). ``fetch(keys)`` returns the arrays (None where missing).
    """
    import hashlib
    import os

    from musim.config import get_settings

    present = [(i, k) for i, k in enumerate(keys) if k is not None]
    digest = hashlib.sha256("\n".join(k for _, k in present).encode()).hexdigest()[:20]
    base = get_settings().home / "cache" / "slices"
    raw_path, meta_path = base / f"{digest}.f16", base / f"{digest}.json"
    if raw_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        slices = np.memmap(raw_path, dtype=np.float16, mode="r", shape=(meta["slices"], *meta["shape"]))
        return slices, np.asarray(meta["slice_track"], dtype=np.int64)
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / f".{digest}.{os.getpid()}.tmp"
    shape: tuple[int, ...] | None = None
    owners: list[np.ndarray] = []
    try:
        with open(tmp, "wb") as fh:
            for start in range(0, len(present), chunk):
                part = present[start:start + chunk]
                for (i, key), a in zip(part, fetch([k for _, k in part]), strict=True):
                    if a is None or a.shape[0] == 0:
                        continue
                    if shape is None:
                        shape = tuple(int(d) for d in a.shape[1:])
                    elif tuple(a.shape[1:]) != shape:
                        raise ParameterError(f"{key}: slices of shape {tuple(a.shape[1:])}, the others are {shape}; "
                                             "rebuild the track_slices view with one parameter set")
                    fh.write(np.ascontiguousarray(a, dtype=np.float16).tobytes())
                    owners.append(np.full(a.shape[0], i, np.int64))
        if shape is None:
            raise NotFoundError("no track has slices: run the audio_features DAG with the track_slices view")
        slice_track = np.concatenate(owners)
        m = int(slice_track.size)
        if m * int(np.prod(shape)) * 2 <= SLICES_IN_MEMORY_MAX:
            return np.fromfile(tmp, dtype=np.float16).reshape(m, *shape), slice_track
        os.replace(tmp, raw_path)
        meta_path.write_text(json.dumps({"slices": m, "shape": list(shape), "slice_track": slice_track.tolist()}),
                             encoding="utf-8")
        log.info("slices of %d tracks (%d slices, %.1f GiB) memory-mapped from %s", len(owners), m,
                 m * int(np.prod(shape)) * 2 / 2**30, raw_path)
        return np.memmap(raw_path, dtype=np.float16, mode="r", shape=(m, *shape)), slice_track
    finally:
        tmp.unlink(missing_ok=True)


def _feature_frame(con: duckdb.DuckDBPyConnection, needs: Sequence[str], track_ids: Sequence[str],
                   as_of: dt.datetime) -> Any:
    """The tracks' features as of ``as_of`` through the feature store's point-in-time retrieval
    (:func:`musim.features.get_training_frame`): object keys of the tensors, descriptor values."""
    from musim.features import apply, get_training_frame
    from musim.features.definitions import track_descriptors, track_log_mel, track_slices
    from musim.features.registry import FeatureService

    apply(con)
    views = [track_log_mel, *([track_slices] if "slices" in needs else []),
             *([track_descriptors] if "descriptors" in needs else [])]
    service = FeatureService("model_inputs", tuple(views), description="the inputs of a model run")
    return get_training_frame(service, list(track_ids), as_of, con=con)


def _tensor_keys(frame: Any, view: Any) -> list[str | None]:
    return [k if isinstance(k, str) else None for k in frame[f"{view.name}__{view.schema[0].name}"]]


#: Tracks (and features) named by a descriptor gap's line.
GAP_EXAMPLES = 5


def _descriptor_rows(frame: Any, keep: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """Descriptor matrix of the kept rows, or None and why (the tracks, and the features, that lack a value or
    hold one that is not finite) unless every kept track has a full, finite row."""
    from musim.features.definitions import track_descriptors

    names = [f.name for f in track_descriptors.schema]
    cols = [f"{track_descriptors.name}__{n}" for n in names]
    if not all(c in frame.columns for c in cols):
        return None, "no descriptor features in the feature store: extract them with `musim features build`"
    kept = frame.loc[keep]
    mat = kept[cols].to_numpy(dtype=np.float64)
    if mat.size == 0:
        return None, "no track has descriptors: extract them with `musim features build`"
    bad = ~np.isfinite(mat)
    if not bad.any():
        return mat.astype(np.float32), None
    rows = np.flatnonzero(bad.any(axis=1))
    ids = kept["track_id"].to_numpy()
    missing = [i for i in rows if np.isnan(mat[i]).all()]
    broken = [i for i in rows if not np.isnan(mat[i]).all()]
    parts = []
    if broken:
        shown = "; ".join(f"{ids[i]} ({', '.join(n for n, b in zip(names, bad[i], strict=True) if b)})"
                          for i in broken[:GAP_EXAMPLES])
        parts.append(f"{len(broken)} of {len(ids)} tracks have descriptors that are not finite (NaN or infinite): "
                     f"{shown}{' ...' if len(broken) > GAP_EXAMPLES else ''}; the features quality gate names them "
                     "(`musim quality report --dataset features`): recompute them with "
                     "`musim features build --recompute TRACK_ID...` (or fix their source audio and rebuild)")
    if missing:
        shown = ", ".join(str(ids[i]) for i in missing[:GAP_EXAMPLES])
        parts.append(f"{len(missing)} of {len(ids)} tracks have no descriptors ({shown}"
                     f"{' ...' if len(missing) > GAP_EXAMPLES else ''}): extract them with `musim features build`")
    return None, "; ".join(parts)


def load_manifest(con: duckdb.DuckDBPyConnection, *, needs: Sequence[str] = FEATURES, dump_id: str | None = None,
                  target_metric: str = DEFAULT_TARGET, with_targets: bool | None = None,
                  seed: int = int(SPLIT_DEFAULTS["seed"]),
                  validation_share: float = float(SPLIT_DEFAULTS["validation_share"]),
                  test_share: float | None = None, clips_per_artist: int = 3,
                  track_ids: Sequence[str] | None = None, as_of: dt.datetime | None = None,
                  families: Sequence[str] | None = None) -> FamilyInputs:
    """Read the inputs (without tensors) from the warehouse: tracks with every feature in ``needs``
    (log-mel always) as of ``as_of`` (point in time, through :func:`musim.features.get_training_frame`),
    their artists, genres and feature keys, the targets, listeners and the common split. ``with_targets=None``
    takes the targets when a similarity build exists, else none (a music library without listening data:
    the families that need no co-listening train, and are evaluated by artist identity).

    The split is :func:`split_artists` over the artists that have a log-mel track and targets, with
    :data:`~musim.models.constants.SPLIT_DEFAULTS` unless given, and a test share that adapts to small
    catalogues (:func:`~musim.models.data.default_test_share`) unless ``test_share`` is given: every family
    holds out the same test artists.

    Fewer than :data:`~musim.models.constants.MIN_USABLE_ARTISTS` artists with both audio features and targets is
    :class:`NotEnoughData`, unless the latest build was taken by default (no ``dump_id``, ``with_targets=None``) for
    ``families`` of which none learns from listening data (:data:`LISTENING_FAMILIES`): a music library beside a
    dump of other artists. Those families train on the audio alone; the inputs then have no targets (evaluation by
    artist identity), and ``listening_gap`` says why.
    """
    from musim.features.definitions import track_log_mel, track_slices
    from musim.models.data import load_catalogue, load_pair_targets

    as_of = as_of or dt.datetime.now(dt.UTC)
    rows = sql.query(con, "models/library_tracks.sql").fetchall()
    if track_ids is not None:
        wanted = set(map(str, track_ids))
        rows = [r for r in rows if r[0] in wanted]
    frame = _feature_frame(con, needs, [r[0] for r in rows], as_of)
    mel_keys = _tensor_keys(frame, track_log_mel)
    slice_keys = _tensor_keys(frame, track_slices) if "slices" in needs else [None] * len(rows)
    keep = np.array([m is not None and ("slices" not in needs or s is not None)
                     for m, s in zip(mel_keys, slice_keys, strict=True)], dtype=bool)
    if not keep.any():
        raise NoFeaturesYet(f"no track has the features {', '.join(sorted({'log_mel', *needs} - {'descriptors'}))}: "
                            "extract them with `musim features build` (or the audio_features DAG; previews first "
                            "with `musim acquire` or `musim library add`)")
    if (~keep).sum():
        log.info("%s tracks lack a needed feature and are left out", int((~keep).sum()))
    kept = [r for r, k in zip(rows, keep, strict=True) if k]
    ids = [r[0] for r in kept]
    artist = np.array([r[1] for r in kept], dtype=np.int64)
    descriptors, gap = _descriptor_rows(frame, keep) if "descriptors" in needs else (None, None)
    if gap is not None:
        log.info("the descriptor baseline is left out: %s", gap)
    targets = split = listeners = None
    listening_gap = None
    # a library beside a dump of other artists: the latest build taken by default, for families that need none of it
    label_free = list(families or ())
    optional = with_targets is None and dump_id is None and bool(label_free) and \
        not any(f in LISTENING_FAMILIES for f in label_free)
    if with_targets is None:  # auto: with the co-listening targets when a similarity build exists
        with_targets = dump_id is not None or _has_similarity(con)
        if not with_targets:
            log.info("no similarity build: the inputs have no listening data (evaluation by artist identity)")
    if with_targets:
        targets = load_pair_targets(con, dump_id=dump_id, metric=target_metric, artist_ids=np.unique(artist))
        listeners = load_catalogue(con, targets.dump_id)
        with_audio = np.unique(artist)
        usable = np.intersect1d(with_audio, targets.artist_ids)
        if usable.size < MIN_USABLE_ARTISTS and optional:
            listening_gap = (
                f"the latest similarity build (dump {targets.dump_id[:12]}) has listening data for {usable.size:,} of "
                f"the {with_audio.size:,} artists with audio features (at least {MIN_USABLE_ARTISTS} are needed to "
                f"hold out test artists): {', '.join(label_free)} "
                f"train{'s' if len(label_free) == 1 else ''} on the audio alone, judged by artist identity")
            log.info("%s", listening_gap)
            targets = listeners = None
        elif usable.size < MIN_USABLE_ARTISTS:  # e.g. a new dump whose artists have no audio yet
            raise NotEnoughData(
                f"{len(listeners):,} artists have listening data (dump {targets.dump_id[:12]}), {with_audio.size:,} have "
                f"audio features, {usable.size:,} both; training needs at least {MIN_USABLE_ARTISTS} with both to hold "
                "out test artists: acquire and extract the listened artists' audio first (the audio_acquire and "
                "audio_features DAGs, or `musim acquire` and `musim features build`)")
        else:
            share = default_test_share(usable.size) if test_share is None else test_share
            split = split_artists(usable, validation=validation_share, test=share, seed=seed)
    if targets is None and test_share is not None:  # it was dropped in silence: no artist is held out here
        raise ParameterError(f"a test share ({test_share:g}) holds out artists of an evaluation against co-listening; "
                             "this run has no listening data and is judged by artist identity, every artist with two "
                             "tracks or more a test artist: leave --test-share (the test_share param) out")
    return FamilyInputs(ids, artist, [r[2] for r in kept], [r[3] for r in kept],
                        {int(r[1]): str(r[4]) or str(r[1]) for r in kept},
                        [k for k, ok in zip(mel_keys, keep, strict=True) if ok],
                        [k for k, ok in zip(slice_keys, keep, strict=True) if ok], descriptors, targets, split,
                        listeners, clips_per_artist, as_of.isoformat(), current_champions(con),
                        descriptors_gap=gap, listening_gap=listening_gap)


def _has_similarity(con: duckdb.DuckDBPyConnection) -> bool:
    from musim.models.data import latest_dump

    try:
        latest_dump(con)
    except NotFoundError:
        return False
    return True


def current_champions(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """``{family: {"version", "key", "params"}}`` of every family's champion (re-scored next to a challenger, embedded
    with its recorded ``params``)."""
    out = {}
    for fam in FAMILY_NAMES:
        entry = registry.champion(con, fam)
        if entry is not None:
            out[fam] = {"version": entry.version, "key": entry.key(MODEL_FILE), "params": entry.params}
    return out


def load_inputs(con: duckdb.DuckDBPyConnection, *, store: ObjectStore | None = None,
                needs: Sequence[str] = FEATURES, **kwargs: Any) -> FamilyInputs:
    """:func:`load_manifest` plus the tensors from the object store (see there for the arguments)."""
    from musim.storage import open_store

    return load_manifest(con, needs=needs, **kwargs).load_tensors(store or open_store(), needs)




def split_payload(inputs: FamilyInputs) -> Any:
    """What the ``training_split`` quality suite checks of a run: its sides (the common split, plus the artists
    without targets on the training side), targets, clips and genre labels (when most tracks have one)."""
    from musim.quality.suites.training_split import TrainingSplit

    split = inputs.training_split()
    _, by = inputs.labels()
    # untagged tracks have no label (None, not the "?" the views colour them with): no class for the gate
    labels = np.array(list(inputs.genres), dtype=object) if by == "genre" else None
    return TrainingSplit(need_targets(inputs).artist_ids, need_targets(inputs).matrix,
                         {"train": split.train, "validation": split.validation, "test": split.test},
                         inputs.track_artist, track_labels=labels,
                         metric=need_targets(inputs).metric, description="the model families' common split")


def need_targets(inputs: FamilyInputs) -> PairTargets:
    if inputs.targets is None or inputs.split is None:
        raise ParameterError("these inputs have no targets and split (loaded with with_targets=False)")
    return inputs.targets


def gate_inputs(con: duckdb.DuckDBPyConnection, inputs: FamilyInputs, *,
                families: Sequence[str] = ()) -> dict[str, Any] | None:
    """Run the ``training_split`` quality suite on the run's split (QualityError if it fails): the one gate of
    every family's training, after :func:`require_features_gate`. Returns the run id, Data Docs URL and the
    reported balance; None without targets (nothing is ranked then), where the ``families`` to train must be able to
    train without listening data and the tracks to give an evaluation by artist identity
    (:func:`require_identity_queries`): both said before training, not after it.
    """
    require_features_gate(con)
    if inputs.targets is None or inputs.split is None:
        from musim.models.families.base import need_listening

        for family in families:  # before training: these train on listening data
            if family in LISTENING_FAMILIES:
                need_listening(inputs, family)
        require_identity_queries(inputs)
        return None
    return _gate_split(con, split_payload(inputs), dump_id=inputs.dump_id)


def _gate_split(con: duckdb.DuckDBPyConnection, split: Any, *, dump_id: str | None) -> dict[str, Any]:
    """The ``training_split`` suite on ``split``: its run id, Data Docs URL and the balance it reported; if it fails,
    a :class:`QualityError` whose first line names the failed expectations and their counts, as every other gate's
    does (:meth:`~musim.quality.runner.QualityRun.failed_line`)."""
    from musim.quality.runner import check_on
    from musim.quality.suites.training_split import NAME

    run = check_on(con, [NAME], dump_id=dump_id, payload={NAME: split})
    if not run.success:
        raise QualityError(f"the training-set quality gate failed for {run.failed_line()} (run {run.run_id}); nothing "
                           f"was trained.\n{run.describe()}", run_id=run.run_id, failed=[r.dataset for r in run.failed])
    balance = next((p["coverage"] for r in run.results for p in r.parts if p["part"] == "balance"), None)
    log.info("%s passed its quality gate (run %s): %s", split.description or "training split", run.run_id, balance)
    return {"run_id": run.run_id, "docs_url": run.docs_url, "balance": balance}


def require_identity_queries(inputs: FamilyInputs) -> None:
    """Without listening data a version is evaluated by artist identity (every track whose artist has another track
    is a query, ranked against other artists' tracks: :func:`~.evaluation.evaluate_by_artist`): :class:`NotEnoughData`
    in one line when no track can be a query, checked before training (it failed after the whole training)."""
    artists, counts = np.unique(np.asarray(inputs.track_artist, dtype=np.int64), return_counts=True)
    have = f"{len(inputs):,} tracks of {artists.size:,} artists"
    if artists.size == 1:
        only = inputs.artist_names.get(int(artists[0]), str(artists[0]))
        raise NotEnoughData(f"every track with features is by one artist ({only}; {have}): nothing to evaluate by "
                            "artist identity without listening data; add tracks of a second artist (files with no "
                            "artist tag or folder all go to 'Unknown artist')")
    if not (counts > 1).any():
        raise NotEnoughData(f"no artist has two tracks with features ({have}): nothing to evaluate by artist identity "
                            "without listening data, where a track is judged by how it finds its artist's other "
                            "tracks; add a second track of some artists (`musim library add`, then `musim features "
                            "build`)")


def require_features_gate(con: duckdb.DuckDBPyConnection) -> None:
    """QualityError (one line: the build, its quality run, the report to read and what to do) while the newest
    feature build whose features gate ran failed it: no family trains on features that failed their suites
    (:func:`musim.features.release.training_refusal`). ``musim models train`` and the training DAGs' ``prepare``
    pass here through :func:`gate_inputs`."""
    from musim.features.release import newest_gate, training_refusal

    line = training_refusal(con)
    if line is not None:
        newest = newest_gate(con)
        raise QualityError(line, run_id=newest.quality_run if newest else None, failed=("features",))
