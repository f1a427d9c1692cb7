"""Model cards: a markdown page per model version, and its training curves as a PNG.

:func:`render_card` takes JSON-ready pieces (params, training summary, an
:class:`~musim.models.evaluate.EvaluationReport`), so any family can have a card; :func:`plot_curves`
draws Keras history with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from musim.models.bootstrap import Comparison
from musim.models.constants import CURVES_FILE, PRIMARY_METRIC
from musim.models.evaluate import EvaluationReport
from musim.models.fairness import FairQueries

__all__ = ["fair_note", "metrics_table", "plot_curves", "promotion_section", "render_card", "versus", "with_section"]


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def metrics_table(report: EvaluationReport, metrics: Sequence[str] | None = None,
                  scorers: Sequence[str] | None = None, fair: Mapping[str, FairQueries] | None = None) -> str:
    """Markdown table: one row per metric, one column per scorer, ``mean [lo, hi]``. A scorer in ``fair`` (another
    version re-scored here: :func:`musim.models.registry.rescored_fairly`) that trained on some of the test artists
    is shown on its fair queries only, marked ``*`` and explained under the table (:func:`fair_note`)."""
    scorers = list(scorers or report.scorers)
    on = {s: f.queries for s, f in (fair or {}).items() if f.left_out}
    lines = ["| metric | " + " | ".join(s + ("*" if s in on else "") for s in scorers) + " |",
             "|---|" + "---|" * len(scorers)]
    for m in metrics or report.metrics:
        cells = []
        for s in scorers:
            c = report.summarise(s, m, on.get(s))
            cells.append("–" if c["n"] == 0 else f"{_fmt(c['mean'])} [{_fmt(c['lo'])}, {_fmt(c['hi'])}]")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    notes = [fair_note(s, f, report) for s, f in (fair or {}).items() if s in on and s in scorers]
    return "\n".join(lines + ([""] + notes if notes else []))


def fair_note(scorer: str, fair: FairQueries, report: EvaluationReport) -> str:
    """The line under a table that says on which queries a re-scored version is shown, and why."""
    total = len({*report.query_clusters.tolist()}) if report.query_clusters is not None else report.queries.size
    return (f"\\* {scorer} on the {len(fair.queries)} queries of {fair.artists} artists it never trained on (of "
            f"{report.queries.size} queries of {total} test artists: the other {len(fair.left_out)} "
            f"{fair.left_out_phrase()}), the queries its promotion decision compares.")


def plot_curves(history: Mapping[str, Sequence[float]], path: str | os.PathLike[str], *, title: str = "") -> None:
    """Loss (and every other metric) per epoch, training vs validation, as a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    bases = [k for k in history if not k.startswith("val_")]
    fig, axes = plt.subplots(1, max(len(bases), 1), figsize=(5 * max(len(bases), 1), 3.6), squeeze=False)
    for ax, key in zip(axes[0], bases, strict=False):
        epochs = range(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], marker="o", label="train")
        if f"val_{key}" in history:
            ax.plot(range(1, len(history[f"val_{key}"]) + 1), history[f"val_{key}"], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=100)
    plt.close(fig)


def render_card(*, version: str, family: str, report: EvaluationReport, params: Mapping[str, Any],
                training: Mapping[str, Any] | None = None, feature_service: str | None = None,
                dump_id: str | None = None, snapshot_id: str | None = None, target_metric: str = "seed",
                primary_metric: str = PRIMARY_METRIC, model_scorer: str = "model",
                artist_names: Mapping[int, str] | None = None, curves: bool = True, examples: int = 3,
                fair: Mapping[str, FairQueries] | None = None) -> str:
    """The model card as markdown. ``fair``: the queries each re-scored version (the champion) is shown on
    (:func:`musim.models.registry.rescored_fairly`, what the promotion decision compares)."""
    names = dict(artist_names or {})
    training = dict(training or {})
    data = dict(training.get("data") or {})
    t = len(report.test_artists)
    by_identity = report.query_clusters is not None  # queries are tracks, judged by their artist's other tracks
    out = [f"# Model card: {version}", "",
           f"Family **{family}**. " + (
               "Embeds tracks so that an artist's tracks lie close together, from audio alone (evaluated without "
               "listening data: does a track's neighbourhood hold its artist's other tracks?)." if by_identity else
               f"Predicts how similar two artists are *to their listeners* (Last.FM co-listening, metric "
               f"`{target_metric}`) from audio alone."), "",
           "## Data", "",
           f"- Last.FM dump: `{dump_id or '–'}`; snapshot: `{snapshot_id or '–'}`",
           f"- Feature service: `{feature_service or '–'}`",
           f"- Test artists: {t} (set `{report.test_set_id}`), {len(report.queries)} queries "
           + (f"(tracks of an artist with another track, {t} artists)" if by_identity else
              f"({len(report.skipped_queries)} skipped: no co-listeners with any other test artist)")]
    if data:
        split = data.get("split", {})
        out += [f"- Tracks: {data.get('tracks')}, artists: {data.get('artists')} (train {split.get('train')}, "
                f"validation {split.get('validation')}, test {split.get('test')}; split seed {split.get('seed')}), "
                f"{data.get('clips_per_artist')} clips per artist",
                f"- Training examples (clip pairs): {data.get('train_pairs')} from {data.get('train_artist_pairs')} "
                f"artist pairs; validation {data.get('validation_pairs')}",
                f"- Sampling: `{data.get('sampling')}`",
                f"- Training targets per tenth of 0..1: {data.get('train_target_histogram')}"]
    out += ["", "## Parameters", "", "| parameter | value |", "|---|---|"]
    out += [f"| {k} | `{v}` |" for k, v in params.items()]
    if training:
        out += ["", "## Training", "",
                f"- {training.get('epochs_run')} epochs in {training.get('seconds')} s, "
                f"{training.get('examples_per_second')} examples/s; device: `{training.get('device')}`",
                f"- Final: `{training.get('final')}`; best loss {_fmt(training.get('best_loss'), 4)}; "
                f"{training.get('params')} weights"]
        if curves:
            out += ["", f"![training curves]({CURVES_FILE})"]
    chance = {n: n / max(t - 1, 1) for n in report.ns}
    if by_identity:
        how = (f"For each query track, its artist's other tracks against every other track (AUC, average "
               f"precision, precision@1); mean over query tracks with a {report.confidence:.0%} bootstrap interval "
               f"resampling whole artists ({report.n_boot} resamples: an artist's tracks are not independent "
               "queries). Chance: AUC 0.5.")
    else:
        how = (f"Ranking of the other test artists for each test artist; mean over queries with a "
               f"{report.confidence:.0%} bootstrap interval over query artists ({report.n_boot} resamples). "
               f"Chance level of precision@n is about n / (T - 1): "
               + ", ".join(f"{n}: {c:.3f}" for n, c in chance.items()) + ".")
    out += ["", "## Evaluation", "", how, "", metrics_table(report, fair=fair)]
    paired = versus(report, model_scorer=model_scorer, primary_metric=primary_metric, fair=fair)
    if paired:
        out += ["", f"### {model_scorer} vs the others (paired bootstrap of the difference)", "",
                "| against | metric | difference | CI | verdict |", "|---|---|---|---|---|"]
        for c, fairly in paired:
            verdict = "better" if c.a_better else "worse" if c.b_better else "within CI"
            label = f"{c.b}* ({c.n} queries)" if fairly else c.b
            out.append(f"| {label} | {c.metric} | {_fmt(c.diff)} | [{_fmt(c.lo)}, {_fmt(c.hi)}] | {verdict} |")
    if examples and report.top.get("truth"):
        out += ["", "## Examples", ""]
        label = lambda a: _table_text(names.get(a, str(a)))  # noqa: E731
        for q in list(report.top["truth"])[:examples]:
            out += [f"**{label(q)}**", "", "| truth | " + " | ".join(report.scorers) + " |",
                    "|---|" + "---|" * len(report.scorers)]
            cols = [report.top["truth"][q]] + [report.top[s].get(q, []) for s in report.scorers]
            for r in range(min(5, max(len(c) for c in cols))):
                out.append("| " + " | ".join(label(c[r]) if r < len(c) else "" for c in cols) + " |")
            out.append("")
    out += ["", "## Caveats", "",
            f"- {t} test artists: with few artists, intervals are wide and large n is close to chance "
            "(the CS230 origin had 49).",
            ("- Labels are artist identity, not similarity between artists: an embedding that keeps an artist's "
             "tracks together may still place unlike artists close." if by_identity else
             "- Targets are co-listening, not audio similarity: artists can sound alike without shared listeners.")]
    if family == "contrastive" or params.get("train_on") == "all":
        out.append("- Trained without labels on the audio of every track, the test artists' included: the evaluation "
                   "is transductive (the model heard the test audio, never the test artists' co-listening or "
                   "identity), an advantage the families trained on the training artists only do not have.")
    out.append("")
    return "\n".join(out)


def _table_text(name: str) -> str:
    """An artist name as the text of a markdown table cell: a ``|`` in it (``AC|DC``) split it into two cells and
    moved every later scorer's neighbour under the wrong heading; a line break ended the table."""
    return " ".join(str(name).split()).replace("|", "\\|")


def versus(report: EvaluationReport, *, model_scorer: str = "model", primary_metric: str = PRIMARY_METRIC,
           fair: Mapping[str, FairQueries] | None = None) -> list[tuple[Comparison, bool]]:
    """The model's paired comparisons with every other scorer of ``report`` (each baseline, a re-scored version) on
    the primary metric and precision@3/5 where evaluated, as the card's table shows them: one bootstrap each, a
    re-scored version in ``fair`` that trained on some test artists compared on its fair queries only (then the
    flag is True)."""
    if model_scorer not in report.scorers:
        return []
    on = {s: f.queries for s, f in (fair or {}).items() if f.left_out}
    metrics = [m for m in dict.fromkeys([primary_metric, "precision@3", "precision@5"]) if m in report.metrics]
    return [(report.compare(model_scorer, s, m, on=on.get(s)), s in on)
            for s in report.scorers if s != model_scorer for m in metrics]


def with_section(card: str, section: str) -> str:
    """``card`` with ``section`` (markdown starting with its ``## `` heading) in place of the section of the same
    heading (up to the next ``## ``), else inserted before the Caveats, else appended."""
    section = section.strip() + "\n"
    heading = section.splitlines()[0]
    lines = card.split("\n")
    if heading in lines:
        start = lines.index(heading)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        return "\n".join([*lines[:start], *section.split("\n"), *lines[end:]])
    marker = "\n## Caveats"
    if marker in card:
        return card.replace(marker, "\n" + section + marker, 1)
    return card.rstrip("\n") + "\n\n" + section


def decision_words(d: Mapping[str, Any]) -> tuple[str, str]:
    """A recorded promotion decision (a row of ``model_promotion``) as its outcome (``promoted``, ``promoted (forced)``,
    ``not promoted``) and its reason without the words the outcome says already: what the card and ``musim models
    show`` print."""
    outcome = ("promoted (forced)" if d["forced"] else "promoted") if d["promoted"] else "not promoted"
    return outcome, str(d["reason"]).removeprefix("forced; " if d["forced"] else "not promoted: ")


def promotion_section(*, status: str, since: dt.datetime, decisions: Sequence[Mapping[str, Any]],
                      replaced_by: str | None = None) -> str:
    """The card's Promotion section: the version's status and every decision on it, newest first (rows of
    ``model_promotion``: decided_at, against, metric, promoted, forced, reason)."""
    when = lambda t: t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")  # noqa: E731
    head = f"**{status}** since {when(since)}"
    if replaced_by:
        head += f": {replaced_by} became the champion"
    out = ["## Promotion", "", head + ".", ""]
    for d in decisions:
        outcome, why = decision_words(d)
        out.append(f"- {when(d['decided_at'])}: **{outcome}** against {d['against']} on {d['metric']}: {why}")
    if not decisions:
        out.append("- no decision recorded")
    return "\n".join(out) + "\n"
