"""Evaluation without listening data: how well an embedding retrieves a track's own artist (or any label).

Given one vector per track (or a track × track similarity matrix) and each track's artist, optionally a
group (album, soundtrack, source package), every track is a query:

- ``auc_group``: the AUC of the query's same-artist tracks against the other artists' tracks **of its
  group** (so a shared production style does not give the artist away); undefined when the group holds no
  same-artist track or no other artist's track;
- ``auc``: the same against every other artist's track;
- ``ap``: average precision of same-artist retrieval over all other tracks (ranked by similarity); its mean
  is mAP;
- ``p1``: whether the most similar other track is by the same artist.

Each summary is the mean over the queries where the metric is defined, with a bootstrap CI over query tracks
(:func:`musim.models.evaluate.bootstrap_ci`: ``lo``, ``hi``) and one resampling whole artists (``artist_lo``,
``artist_hi``): a query track's neighbours are its artist's other tracks, so the tracks of one artist are not
independent, and with few artists the track interval is too narrow (the artist one is what to trust). Ties
count half (AUC) and are broken in a random order seeded by the query (ranks).
Chance: AUC 0.5, p@1 and AP about the share of same-artist tracks.
"""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musim.errors import ParameterError
from musim.jsonable import json_safe
from musim.models.bootstrap import bootstrap_ci
from musim.models.label_baselines import baselines, check_baselines, track_values
from musim.models.labels import LabelSet

__all__ = ["METRICS", "LabelEvaluation", "RetrievalReport", "cosine_similarity", "evaluate_labels", "group_coverage",
           "group_note", "query_metrics", "retrieval_report"]

#: The summary metrics, in table order.
METRICS: tuple[str, ...] = ("auc_group", "auc", "ap", "p1")


def cosine_similarity(vectors: np.ndarray) -> np.ndarray:
    """``(n, d)`` vectors → ``(n, n)`` cosine similarities (a zero vector is similar to nothing)."""
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    unit = v / np.where(norms > 0, norms, 1.0)
    return unit @ unit.T


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a positive scores above a negative), ties half (Mann-Whitney U / (|pos| |neg|)), from average ranks
    (one sort: ``O(n log n)`` per query, where a pass over each tied value was ``O(n^2)``)."""
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    allv = np.concatenate([pos, neg])
    _, tie_group, counts = np.unique(allv, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)  # a group of equal values holds ranks last - count + 1 .. last: their mean
    ranks = (last - (counts - 1) / 2.0)[tie_group]
    u = ranks[:pos.size].sum() - pos.size * (pos.size + 1) / 2
    return float(u / (pos.size * neg.size))


def query_metrics(similarity: np.ndarray, artists: Sequence[Any], groups: Sequence[Any] | None = None
                  ) -> dict[str, np.ndarray]:
    """Per query track: ``auc_group``, ``auc``, ``ap``, ``p1`` (NaN where undefined; see the module docstring)."""
    s = np.asarray(similarity, dtype=np.float64)
    n = s.shape[0]
    if s.shape != (n, n):
        raise ParameterError(f"similarity must be square, got {s.shape}")
    a = np.asarray([str(x) for x in artists])
    g = None if groups is None else np.asarray([str(x) for x in groups])
    if a.size != n or (g is not None and g.size != n):
        raise ParameterError("one artist (and group) per track is needed")
    out = {m: np.full(n, np.nan) for m in METRICS}
    for i in range(n):
        others = np.arange(n) != i
        same = (a == a[i]) & others
        diff = (a != a[i])
        out["auc"][i] = _auc(s[i, same], s[i, diff])
        if g is not None:
            in_group = g == g[i]
            out["auc_group"][i] = _auc(s[i, same & in_group], s[i, diff & in_group])
        if same.any():
            idx = np.flatnonzero(others)
            # ties in random order (seeded by the query): in file order, tracks sorted by artist put a tied
            # same-artist track first, so a constant similarity scored AP 0.35 where random ones score 0.28
            ties = np.random.default_rng([0x1abe1, i]).random(idx.size)
            order = idx[np.lexsort((ties, -s[i, idx]))]
            hits = same[order].astype(np.float64)
            ranks = np.flatnonzero(hits) + 1
            out["ap"][i] = float(np.mean(np.arange(1, ranks.size + 1) / ranks))
            out["p1"][i] = hits[0]
    return out


@dataclass
class RetrievalReport:
    """One embedding's label retrieval: per-query values and their summaries (mean, CI, n)."""

    name: str
    per_query: dict[str, np.ndarray]
    summary: dict[str, dict[str, float | int | None]]
    groups: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    notes: str = ""

    def to_json(self, *, per_query: bool = False) -> dict[str, Any]:
        doc = {"name": self.name, "summary": self.summary, "groups": self.groups, "notes": self.notes}
        if per_query:
            doc["per_query"] = {k: v.tolist() for k, v in self.per_query.items()}
        return json_safe(doc)


def retrieval_report(name: str, artists: Sequence[Any], groups: Sequence[Any] | None = None, *,
                     vectors: np.ndarray | None = None, similarity: np.ndarray | None = None, n_boot: int = 1000,
                     seed: int = 0, notes: str = "") -> RetrievalReport:
    """Label retrieval of an embedding (``vectors``, compared by cosine) or of a ``similarity`` matrix."""
    if (vectors is None) == (similarity is None):
        raise ParameterError("give vectors or a similarity matrix")
    s = cosine_similarity(vectors) if similarity is None else np.asarray(similarity, dtype=np.float64)
    per = query_metrics(s, artists, groups)
    by_artist = np.asarray([str(x) for x in artists])
    summary = {m: _summary(per[m], by_artist, n_boot=n_boot, seed=seed) for m in METRICS}
    by_group: dict[str, dict[str, float | int | None]] = {}
    if groups is not None:
        g = np.asarray([str(x) for x in groups])
        for value in sorted(set(g.tolist())):
            vals = per["auc_group"][g == value]
            ok = vals[np.isfinite(vals)]
            by_group[value] = {"auc": float(ok.mean()) if ok.size else None, "n": int(ok.size)}
    return RetrievalReport(name, per, summary, by_group, notes)


def _summary(values: np.ndarray, artists: np.ndarray, *, n_boot: int, seed: int) -> dict[str, float | int | None]:
    """Mean, CI over query tracks (``lo``, ``hi``, ``n``) and CI resampling whole artists (``artist_lo``,
    ``artist_hi``, ``artists``: how many artists have a query with a value)."""
    ok = np.isfinite(values)
    if not ok.any():
        return {"mean": None, "lo": None, "hi": None, "n": 0, "artist_lo": None, "artist_hi": None, "artists": 0}
    tracks = bootstrap_ci(values[ok], n_boot=n_boot, seed=seed)
    whole = bootstrap_ci(values[ok], n_boot=n_boot, seed=seed, clusters=artists[ok])
    return {**tracks, "artist_lo": whole["lo"], "artist_hi": whole["hi"], "artists": whole["clusters"]}


def group_coverage(artists: Sequence[Any], groups: Sequence[Any]) -> dict[str, int]:
    """Where ``auc_group`` is defined, from the labels alone (whatever the embedding): ``queries``, the tracks whose
    group holds another track by their artist and one by another artist, of ``tracks``; ``mixed``, the groups that
    hold tracks of two artists or more, of ``groups``."""
    pairs = Counter(zip(map(str, groups), map(str, artists), strict=True))
    sizes: Counter[str] = Counter()
    artists_in: Counter[str] = Counter()
    for (g, _), n in pairs.items():
        sizes[g] += n
        artists_in[g] += 1
    queries = sum(n for (g, _), n in pairs.items() if n >= 2 and sizes[g] > n)
    return {"queries": queries, "tracks": sum(sizes.values()), "mixed": sum(k >= 2 for k in artists_in.values()),
            "groups": len(sizes)}


def group_note(coverage: Mapping[str, int], column: str | None) -> str | None:
    """Why ``auc_group`` is undefined (no query has it), or how many queries it counts when some have not; None
    when every track is a query of it."""
    col = column or "group"
    if coverage["queries"] == coverage["tracks"]:
        return None
    mixed = f"{coverage['mixed']} of {coverage['groups']} {col} groups mix artists"
    if coverage["queries"]:
        return (f"auc_group counts {coverage['queries']} of {coverage['tracks']} query tracks, those whose {col} holds "
                f"another track by their artist and one by another artist ({mixed})")
    what = (f"no {col} holds two artists' tracks" if not coverage["mixed"] else
            f"no {col} holds two tracks of one artist beside another artist's track ({mixed})")
    return (f"{what}: the within-{col} AUC (auc_group) is undefined; --group-by a column that mixes artists "
            "(e.g. source, genre), or leave it out")


@dataclass
class LabelEvaluation:
    """Every embedding evaluated on the same tracks and queries: the models (if any) and the baselines."""

    labels: LabelSet
    reports: list[RetrievalReport]
    skipped: list[tuple[str, str]]
    model_version: str | None = None
    model_versions: list[str] = field(default_factory=list)
    note: str | None = None  # why a version that is no champion answers (a family without one: its last published)
    listed_at: dict[str, int] = field(default_factory=dict)  # each labelled file -> its CSV line (skipped ones too)

    def skipped_lines(self) -> list[tuple[int | None, str, str]]:
        """``(CSV line or None, path, reason)`` of each file left out of the scores."""
        return [(self.listed_at.get(p), p, r) for p, r in self.skipped]

    @property
    def coverage(self) -> dict[str, int] | None:
        """Where ``auc_group`` is defined (:func:`group_coverage`); None without groups."""
        if self.labels.groups is None:
            return None
        return group_coverage(self.labels.artists, self.labels.groups)

    @property
    def group_note(self) -> str | None:
        """Why ``auc_group`` is undefined, or how many queries it counts (:func:`group_note`); None when every track
        is one of its queries, and without groups (the table has no such column then)."""
        coverage = self.coverage
        return None if coverage is None else group_note(coverage, self.labels.group_by)

    def to_json(self) -> dict[str, Any]:
        reports = [r.to_json() for r in self.reports]
        note = self.group_note
        why = note if self.labels.groups is not None else "no --group-by column: no groups to compare within"
        for doc in reports:  # a metric undefined on every query is null with its reason, never a silent blank
            if doc["summary"]["auc_group"]["mean"] is None:
                doc["summary"]["auc_group"]["reason"] = why
        return json_safe({"labels": self.labels.source, "tracks": len(self.labels),
                          "artists": len(set(self.labels.artists)),
                          "groups": None if self.labels.groups is None else len(set(self.labels.groups)),
                          "group_by": self.labels.group_by, "group_coverage": self.coverage, "group_note": note,
                          "model_version": self.model_version, "model_versions": self.model_versions,
                          "model_note": self.note, "metrics": list(METRICS), "reports": reports,
                          "skipped": [{"path": p, "line": n, "reason": r} for n, p, r in self.skipped_lines()],
                          "left_out": [{"line": n, "reason": r} for n, r in self.labels.left_out]})

    def table(self) -> tuple[list[str], list[list[str]], str]:
        """``(columns, rows, title)`` of the comparison table (``musim models evaluate``, ``make demo-real``):
        one row per embedding, mean [95% CI] of each metric (``auc_group`` only with groups: ``undefined`` where no
        query has it, :attr:`group_note` says why), and the interval over artists of the first metric defined."""
        metrics = [m for m in METRICS if m != "auc_group" or self.labels.groups is not None]
        undefined = {m for m in metrics if all(r.summary[m].get("mean") is None for r in self.reports)}
        first = next((m for m in metrics if m not in undefined), metrics[0])
        rows = [[r.name, *["undefined" if m in undefined else _ci_cell(r.summary[m]) for m in metrics],
                 _ci_cell(r.summary[first], "artist_")] for r in self.reports]
        title = (f"{len(self.labels)} tracks of {len(set(self.labels.artists))} artists "
                 f"(mean [95% CI] over query tracks, and {first}'s CI resampling whole artists, the one to "
                 "trust with few artists; AUC chance 0.5)")
        return ["embedding", *metrics, f"{first} CI over artists"], rows, title

    def plot(self, path: str | os.PathLike[str]) -> Path:
        """The comparison table as a forest plot at ``path`` (PNG, :func:`musim.models.views.plot_intervals`): a
        panel per metric the table shows and some embedding defines, a line per embedding, its mean and 95% CI over
        query tracks; the AUCs' chance level dashed."""
        from musim.models.views import plot_intervals

        metrics = [m for m in METRICS if (m != "auc_group" or self.labels.groups is not None)
                   and any(r.summary[m].get("mean") is not None for r in self.reports)]
        panels = {m: [(r.name, r.summary[m].get("mean"), r.summary[m].get("lo"), r.summary[m].get("hi"))
                      for r in self.reports] for m in metrics}
        title = textwrap.fill(f"{len(self.labels)} tracks of {len(set(self.labels.artists))} artists: mean and 95% CI "
                              "over query tracks" + (f"; {self.group_note}" if self.group_note else ""),
                              width=40 + 32 * len(metrics))
        return plot_intervals(panels, path, title=title, chance={"auc_group": 0.5, "auc": 0.5})


def _ci_cell(c: Mapping[str, Any] | None, prefix: str = "") -> str:
    """``mean [lo, hi]`` of a summary; with ``prefix="artist_"`` the interval resampling whole artists alone."""
    if not c or c.get("mean") is None:
        return ""
    interval = f"[{c[prefix + 'lo']:.3f}, {c[prefix + 'hi']:.3f}]"
    return interval if prefix else f"{c['mean']:.3f} {interval}"


def _need_tracks_to_tell_apart(artists: Sequence[str], source: str, where: str) -> None:
    """Same-artist retrieval is defined only for a query whose artist has another track, and means something
    only when there are other artists' tracks to rank below it."""
    if len(set(artists)) == len(artists):
        raise ParameterError(f"{source}: no artist has two tracks{where}, so no track has a same-artist track to "
                             "find; label at least two tracks of some artist")
    if len(set(artists)) == 1:  # every metric would be 1 for any embedding, random included
        raise ParameterError(f"{source}: every track{where} is by one artist ({artists[0]}), so there is nothing to "
                             "tell apart; label tracks of at least two artists")


def evaluate_labels(labels: LabelSet, *, family: str | None = None, version: str | None = None,
                    versions: Sequence[str] = (), with_model: bool = True,
                    baseline_names: Sequence[str] = ("random", "mfcc", "descriptors"),
                    n_boot: int = 1000, seed: int = 0, progress: bool | None = None,
                    workers: int | None = None, min_duration_s: float | None = None) -> LabelEvaluation:
    """Label retrieval of registered models and of the baselines, on the tracks of ``labels`` that decode and
    that every model embeds: the ``versions`` given, else one model (``version``, else ``family``'s
    champion, else its version published last, else the serving model; none with ``with_model=False``; ``note``
    says why a version that is no champion answers). A named version is read from the warehouse's registry
    (published or not); a champion and the serving model from the published snapshot.

    Files are decoded in the audio path's process pool (``workers``, default one per CPU), where each baseline keeps
    what it needs of a track (:func:`track_values`), and each model featurises them there too; every stage has a
    progress bar (``progress``: always, never, or on a terminal when None).

    A file shorter than ``min_duration_s`` is skipped ``too_short``, by the baselines and the models alike. Without
    it, the threshold is the lowest that the evaluated versions' serving manifests record (the shortest audio their
    features were built from: the rule of ``similar-audio`` and ``embed``,
    :func:`~musim.models.audio_files.min_duration`); with no model, or none published with one, 5 s
    (:data:`musim.audio.formats.MIN_DURATION_S`)."""
    from musim.progress import progress_setting

    # a name given twice is one report: `--baselines random,random` was "one artist (and group) per track is needed"
    # after every file was decoded, and `--model V --model V` embedded every file twice for two identical rows
    versions, baseline_names = list(dict.fromkeys(versions)), list(dict.fromkeys(baseline_names))
    with progress_setting(progress):
        return _evaluate_labels(labels, family=family, version=version, versions=versions, with_model=with_model,
                                baseline_names=baseline_names, n_boot=n_boot, seed=seed, workers=workers,
                                min_duration_s=min_duration_s)


def _load_models(wanted: list[tuple[str | None, str | None]]) -> list[Any]:
    """The models of ``wanted`` ``(family, version)``, loaded (see :func:`evaluate_labels`); with no version named
    and nothing published to read a champion from, the NotFoundError says what else to run."""
    from musim.errors import NotFoundError
    from musim.models.new_audio import load_champion, resolve_version

    entries = {}
    if any(ver is not None for _, ver in wanted):
        # a named version is any registered one, published or not: the warehouse's registry (read-only,
        # waiting while a writer holds it), closed before the models load; the model comes from the store
        from musim import sandbox

        with sandbox.reader() as con:
            entries = {i: resolve_version(fam, con=con, version=ver)[0]
                       for i, (fam, ver) in enumerate(wanted) if ver is not None}
    try:
        return [load_champion(fam, version=ver, entry=entries.get(i), require_manifest=False)
                for i, (fam, ver) in enumerate(wanted)]
    except NotFoundError as exc:
        if entries:
            raise
        # the champion and the serving model are read from the published snapshot; a named version is not
        named = "" if "--model VERSION" in str(exc) else (
            "; or evaluate a registered version, published or not, with `--model VERSION`")
        raise NotFoundError(f"{exc}{named}; or the baselines alone with `--baselines-only`") from None


def _evaluate_labels(labels: LabelSet, *, family: str | None, version: str | None, versions: Sequence[str],
                     with_model: bool, baseline_names: Sequence[str], n_boot: int, seed: int,
                     workers: int | None, min_duration_s: float | None = None) -> LabelEvaluation:
    from musim.models.audio_files import min_duration
    from musim.progress import progress_bar

    wanted = [(None, v) for v in versions] if versions else [(family, version)] if with_model else []
    _need_tracks_to_tell_apart(labels.artists, labels.source, "")
    check_baselines(baseline_names)
    champions = _load_models(wanted) if wanted else []  # a version that does not exist fails before any decoding
    # one threshold: the baselines and every model hold the files to it (else they would score different tracks)
    shortest = min([min_duration(min_duration_s, c.manifest) for c in champions] or [min_duration(min_duration_s)])
    listed_at = labels.line_numbers()
    kept, values, skipped = track_values(labels.paths, baseline_names, seed=seed, workers=workers,
                                         min_duration_s=shortest)
    if len(kept) < 2:
        first = "; ".join(f"{p}: {why}" for p, why in skipped[:2])
        raise ParameterError(f"{labels.source}: fewer than two of its files decode, nothing to evaluate ({first}); "
                             "relative paths are read from the CSV's folder")
    labels = labels.subset(kept)
    _need_tracks_to_tell_apart(labels.artists, labels.source, " among the files that decode")
    embedded: list[tuple[str, dict[str, np.ndarray]]] = []
    if champions:
        from musim.models.audio_files import analysis_window
        from musim.models.label_baselines import features_of
        from musim.models.new_audio import embed_files, encode_featurised

        for loaded in champions:
            # features a baseline computed already, value for value (the descriptors of the same window): a model
            # reading the same ones embeds the baseline's rows instead of decoding and featurising every file again
            # (half the work of evaluating the descriptors family beside the descriptors baseline)
            window = analysis_window(loaded.manifest)
            rows = next((values[n] for n in baseline_names
                         if (params := features_of(n, window)) is not None and params == loaded.params), None)
            if rows is not None:
                files, failed, champ = [str(p) for p in labels.paths], [], loaded
                vectors = np.asarray(encode_featurised(loaded, rows), dtype=np.float32)
            else:
                files, vectors, failed, champ = embed_files([str(p) for p in labels.paths], champion=loaded,
                                                            workers=workers, min_duration_s=shortest)
            embedded.append((champ.entry.version, dict(zip(files, vectors, strict=True))))
            known = {p for p, _ in skipped}
            skipped += [(p, f"{champ.entry.version}: {e}") for p, e in failed if p not in known]
        keep = [i for i, p in enumerate(labels.paths) if all(str(p) in vecs for _, vecs in embedded)]
        if len(keep) < len(labels):  # files a model cannot embed (shorter than one slice): checked again, or one
            # artist left scored ap and p1 of 1 for every embedding, random's too, and auc none
            dropped = [f"{p}: {why}" for p, why in skipped if any(why.startswith(f"{v}: ") for v, _ in embedded)]
            _need_tracks_to_tell_apart([labels.artists[i] for i in keep], labels.source,
                                       f" among the files that {' and '.join(v for v, _ in embedded)} can embed "
                                       f"({len(labels) - len(keep)} cannot: {'; '.join(dropped[:2])})")
        labels = labels.subset(keep)
        values = {n: [v[i] for i in keep] for n, v in values.items()}
    reports = []
    with progress_bar(len(embedded) + len(baseline_names), unit="embedding", desc="scoring", leave=False) as bar:
        for name, vecs in embedded:
            reports.append(retrieval_report(name, labels.artists, labels.groups, n_boot=n_boot, seed=seed,
                                            vectors=np.stack([vecs[str(p)] for p in labels.paths])))
            bar.update()
        for name, spec in baselines(baseline_names, seed=seed).items():
            kind, value = spec.combine(values[name])
            arg = {"vectors": value} if kind == "vectors" else {"similarity": value}
            reports.append(retrieval_report(f"baseline: {name}", labels.artists, labels.groups, n_boot=n_boot,
                                            seed=seed, **arg))
            bar.update()
    names = [name for name, _ in embedded]
    notes = [c.note for c in champions if c.note]
    return LabelEvaluation(labels, reports, skipped, names[0] if len(names) == 1 else None, names,
                           " ".join(notes) or None, listed_at)
