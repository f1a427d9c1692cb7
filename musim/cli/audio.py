"""``musim similar-audio`` and ``musim embed``: new audio against a model of any family (cold start).

The model: ``--model VERSION``, else the champion of ``--family`` (any of
:data:`musim.models.constants.FAMILY_NAMES`; without one, its version published last), else the serving model (the
champion whose audio neighbours were published last; without a published champion, the version published last, as
``similar --audio`` serves it: :func:`musim.models.new_audio.serving_choice`), said in one line when it is no
champion. Nothing served fails before TensorFlow is imported. Each family embeds with its own features and
embedding (siamese: encoder of the log-mel; cnn_classifier: mean over 256 x 256 slices of its 128-unit layer;
autoencoder: flattened encoder output). Both read only published data: the serving snapshot (registry, tracks,
artists), the online store (the version's track embeddings) and the object store (the model and its manifest),
never the writer's warehouse (a file shorter than the shortest audio the version's features were built from, which
its manifest records, else 5 s, is skipped; ``--min-duration`` sets it instead). TensorFlow is imported when a
command runs, not when the CLI starts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from musim.audio.formats import FORMATS
from musim.cli.options import number, positive, version
from musim.cli.output import counted, print_json, print_table, printable
from musim.errors import NotFoundError, ParameterError
from musim.filenames import refuse_empty
from musim.models.constants import FAMILY_NAMES as FAMILY_CHOICES
from musim.progress import progress_setting
from musim.scratch import temp_file

#: ``--min-duration`` of similar-audio and embed (models evaluate --labels words it for labelled files).
MIN_DURATION_HELP = ("skip audio files shorter than this many seconds (default: the lowest --min-duration of the "
                     "feature builds when the model was published, else 5)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("similar-audio", help="known artists and tracks most similar to new audio files",
                       description="Decode the FILEs, compute the model's input features (log-mels or slices) with "
                                   "its feature parameters, embed them and rank every known artist and track by "
                                   "the model's similarity. The files are taken as clips of one query (e.g. a new "
                                   "artist without listening data): siamese scores an artist by the mean model "
                                   "output over every (query clip, artist clip) pair; the other families by the "
                                   "cosine of the query's mean embedding and the artist's.")
    p.add_argument("files", nargs="+", metavar="FILE", help=f"audio files ({', '.join(FORMATS)}) or folders")
    p.add_argument("--k", type=positive, default=10, help="how many artists and tracks (default 10)")
    p.add_argument("--family", choices=FAMILY_CHOICES,
                   help="use this family's champion, else its version published last (default: the serving model: the "
                        "champion published last, else the version published last)")
    p.add_argument("--model", metavar="VERSION", type=version, help="a published version instead of the champion")
    p.add_argument("--search", choices=("auto", "exact", "ann"),
                   help="tracks by brute force or through the version's ANN index (default auto: "
                        "MUSIM_AUDIO_SEARCH, else the index from MUSIM_ANN_MIN_TRACKS tracks, 20,000)")
    p.add_argument("--min-duration", type=number(0.0, 3600.0), metavar="SECONDS", help=MIN_DURATION_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (drawn on a terminal while the files "
                   "are decoded)")
    p.set_defaults(func=cmd_similar_audio)

    p = sub.add_parser("similar-tracks", help="catalogue tracks that sound most like a catalogue track",
                       description="The published audio neighbours of one track of the catalogue (a preview or a "
                                   "library track), found by its title or artist (the best match; the others are "
                                   "listed) or by --id. For a file that is not in the catalogue: similar-audio.")
    p.add_argument("query", nargs="?", metavar="TEXT", help="words of the track's title or artist")
    p.add_argument("--id", dest="track_id", metavar="TRACK_ID", help="the track id instead (musim library list, "
                   "musim previews)")
    p.add_argument("--k", type=positive, default=10, help="neighbours to show (default 10)")
    p.add_argument("--model", metavar="VERSION", type=version, help="this published version's neighbours (default: the champion's, "
                   "else the version published last)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_similar_tracks)

    p = sub.add_parser("embed", help="a model's embedding of audio files, to an .npz",
                       description="Write OUT.npz with `files` (the paths, in order), `embeddings` (files x dim, "
                                   "float32: the family's own embedding) and `model_version`, `family`.")
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR", help="audio files or folders (searched recursively)")
    p.add_argument("--out", required=True, metavar="OUT.npz")
    p.add_argument("--family", choices=FAMILY_CHOICES,
                   help="use this family's champion, else its version published last (default: the serving model: the "
                        "champion published last, else the version published last)")
    p.add_argument("--model", metavar="VERSION", type=version, help="a registered version instead of the champion")
    p.add_argument("--min-duration", type=number(0.0, 3600.0), metavar="SECONDS", help=MIN_DURATION_HELP)
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (drawn on a terminal while the files "
                   "are decoded)")
    p.set_defaults(func=cmd_embed)


def check_inputs(paths: Sequence[str]) -> None:
    """Every path exists and is a readable file or a searchable folder, checked before any model loads."""
    refuse_empty(paths, "audio files or folders")
    for text in paths:
        path = Path(text)
        if path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                raise NotFoundError(f"cannot read the folder {printable(text, 0)}: check its permissions")
        elif path.is_file():
            if not os.access(path, os.R_OK):
                raise NotFoundError(f"cannot read {printable(text, 0)}: check its permissions")
        elif path.exists():
            raise NotFoundError(f"{printable(text, 0)} is neither a file nor a folder: give audio files or folders")
        else:
            raise NotFoundError(f"no such file or folder: {printable(text, 0)}")


def check_can_make(folder: Path, option: str = "--out") -> None:
    """``folder`` exists or can be made: its nearest existing ancestor is a folder this user can write into.
    Nothing is created, so a command that fails later (no model published) leaves no empty folder behind."""
    missing = folder
    while not missing.exists() and missing != missing.parent:
        missing = missing.parent
    if not missing.is_dir():
        raise ParameterError(f"cannot make the folder {printable(str(folder), 0)}: {printable(str(missing), 0)} "
                             "is a file, not a folder")
    if not os.access(missing, os.W_OK | os.X_OK):
        raise ParameterError(f"cannot write into {printable(str(missing), 0)}: check its permissions, "
                             f"or give {option} in a folder you can write")
    try:  # what permissions do not tell: /proc, /sys, a read-only mount (root passes every access check)
        fd, probe = tempfile.mkstemp(dir=missing, prefix=".musim-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ParameterError(f"cannot write into {printable(str(missing), 0)} ({exc.strerror or exc}): give {option} "
                             "in a folder you can write") from None


def output_file(text: str, *, option: str, example: str) -> Path:
    """The file ``option`` (``--out``, ``--plot``) names, checked before any work is done: not a folder, nor a name
    ending in a separator (a folder that is not there), its suffix ``example``'s (added when it has another), in a
    folder that exists or can be made (:func:`check_can_make`; made by the caller once there is something to
    write). ``example`` is the file name an error suggests in a folder."""
    out = Path(text)
    if out.is_dir():  # numpy or matplotlib would write OUT.npz beside the folder, or fail after the work
        raise ParameterError(f"{option} {out} is a folder: give a file, e.g. {option} {out / example}")
    if text.endswith((os.sep, os.altsep or os.sep)):
        raise ParameterError(f"{option} {text} names a folder, which does not exist: make it, or give a file, e.g. "
                             f"{option} {out / example}")
    suffix = Path(example).suffix
    if out.suffix != suffix:
        out = out.with_name(out.name + suffix)
    check_can_make(out.parent, option)
    return out


def cmd_similar_audio(args: argparse.Namespace) -> int:
    check_inputs(args.files)
    from musim.models.new_audio import similar_audio

    with progress_setting(False if args.no_progress else None):
        result = similar_audio(args.files, k=args.k, family=args.family, version=args.model, search=args.search,
                               min_duration_s=args.min_duration)
    if args.json:
        print_json(result.to_json())
        return 0
    if result.note:
        print(printable(f"musim: {result.note}", 0), file=sys.stderr)
    for f, err in result.failed:
        print(printable(f"skipped {f}: {err}", 0), file=sys.stderr)
    what = printable(", ".join(Path(f).name for f in result.files))
    print_table([(m.rank, m.artist or m.artist_id, round(m.score, 4),
                  "" if m.listeners is None else m.listeners) for m in result.artists],
                ["rank", "artist", "score", "listeners"],
                title=f"artists most similar to {what} ({result.version}, {result.scoring} scores"
                      f"{', ANN search' if result.search == 'ann' else ''})")
    print()
    print_table([(m.rank, m.title or m.track_id, m.artist or m.artist_id, round(m.score, 4)) for m in result.tracks],
                ["rank", "track", "artist", "score"], title="tracks")
    return 0


def cmd_similar_tracks(args: argparse.Namespace) -> int:
    from musim import queries

    if bool(args.query) == bool(args.track_id):
        raise ParameterError("give the track's title or artist words, or --id TRACK_ID (one of them)")
    result = queries.ask(queries.similar_tracks, track_id=args.track_id, q=args.query, k=args.k, model=args.model)
    if result["reason"]:  # removed neighbours, no other artist's tracks, or none with features when published
        print(printable(result["reason"], 0), file=sys.stderr)
    if args.json:
        print_json(result)
        return 0
    track = result["track"]
    print_table([(r["rank"], r.get("title") or r.get("track_id"), r.get("artist") or "", r["score"])
                 for r in result["rows"]], ["rank", "track", "artist", "score"],
                title=f"tracks that sound most like {printable(track.get('title') or track['track_id'])} by "
                      f"{printable(track.get('artist') or '?')} ({result['model']})")
    others = result["other_matches"]
    if others:
        shown = "; ".join(f"{m.get('title')} by {m.get('artist')} (--id {m['track_id']})" for m in others[:5])
        print(printable(f"other matches of {args.query!r}: {shown}" + (" ..." if len(others) > 5 else ""), 0),
              file=sys.stderr)
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    check_inputs(args.paths)
    import numpy as np

    from musim.models.new_audio import embed_files

    out = output_file(args.out, option="--out", example="embeddings.npz")  # checked before the files are embedded
    with progress_setting(False if args.no_progress else None):
        files, emb, failed, champ = embed_files(args.paths, family=args.family, version=args.model,
                                                min_duration_s=args.min_duration)
    out.parent.mkdir(parents=True, exist_ok=True)
    with temp_file(out.parent, f".{out.name}.", ".tmp") as tmp:  # removed if the write fails (a full disk)
        with open(tmp, "wb") as fh:
            np.savez(fh, files=np.array(files, dtype=str), embeddings=emb.astype(np.float32),
                     model_version=np.array(champ.entry.version), family=np.array(champ.family))
        tmp.replace(out)
    summary = {"out": str(out), "files": len(files), "dim": int(emb.shape[1]), "model_version": champ.entry.version,
               "family": champ.family, "model_note": champ.note,
               "failed": [{"file": f, "error": e} for f, e in failed]}
    if args.json:
        print_json(summary)
    else:
        if champ.note:
            print(printable(f"musim: {champ.note}", 0), file=sys.stderr)
        for f, err in failed:
            print(printable(f"skipped {f}: {err}", 0), file=sys.stderr)
        print(printable(f"wrote {counted(len(files), 'embedding')} ({emb.shape[1]}-d, {champ.entry.version}) to {out}", 0))
    return 0
