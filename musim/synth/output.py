"""The files of a synthetic dump, written whole into a folder that may hold other files.

A dump's files are named as the real Last.FM dumps' files, so a folder holding a real dump (or anything else
under those names) is refused rather than overwritten: only a folder of an earlier synthetic dump (its
``synth-truth.json`` beside them) is written over. Each file is written under a hidden temporary name and renamed
into place at the end, the answer file first, so a run killed midway leaves the folder as it was or, at worst, an
answer file whose next run writes the dump again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from musim.errors import ParameterError

__all__ = ["refuse_foreign_files", "publish", "temporary"]


def refuse_foreign_files(out: Path, names: Sequence[str], truth: str) -> None:
    """:class:`ParameterError` if ``out`` holds one of ``names`` without ``truth`` beside it (so not an earlier
    synthetic dump's file: a real dump's, or the user's)."""
    if (out / truth).exists():
        return
    for name in names:
        if (out / name).exists() or (out / name).is_symlink():
            raise ParameterError(f"{out / name} exists and is no synthetic dump's file (no {truth} beside it): "
                                 "choose another output folder, or move that file away first")


def temporary(path: Path) -> Path:
    """The hidden name ``path`` is written under before it is renamed into place."""
    return path.with_name(f".{path.name}.partial")


def publish(paths: Sequence[Path]) -> None:
    """Rename each of ``paths``' :func:`temporary` files into place, in the order given."""
    for p in paths:
        temporary(p).replace(p)
