"""A labels file (``musim models evaluate --labels``): which artist, and optionally which group (album,
soundtrack, source package), each audio file belongs to, read with every problem named by its line."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from musim.audio.formats import AUDIO_SUFFIXES
from musim.errors import ParameterError
from musim.filenames import refuse_empty

__all__ = ["LabelSet", "read_labels"]


@dataclass(frozen=True)
class LabelSet:
    """Tracks with their labels: ``paths`` (absolute), ``artists`` and optional ``groups`` (one per track)."""

    paths: list[Path]
    artists: list[str]
    groups: list[str] | None = None
    source: str = ""
    left_out: list[tuple[int, str]] = field(default_factory=list)  # (line, why) of the rows without an artist or group
    group_by: str | None = None  # the column the groups come from (``album``): named in the notes
    lines: list[int] | None = None  # each track's line in the CSV (``None``: not read from one)

    def __len__(self) -> int:
        return len(self.paths)

    def line_numbers(self) -> dict[str, int]:
        """Each track's path (as text) -> the CSV line that lists it; empty when not read from a CSV."""
        return {} if self.lines is None else dict(zip(map(str, self.paths), self.lines, strict=True))

    def subset(self, keep: Sequence[int]) -> LabelSet:
        idx = list(keep)
        return LabelSet([self.paths[i] for i in idx], [self.artists[i] for i in idx],
                        None if self.groups is None else [self.groups[i] for i in idx], self.source, self.left_out,
                        self.group_by, None if self.lines is None else [self.lines[i] for i in idx])

    def fingerprint(self) -> tuple[str, dict[str, str]]:
        """What the labelled files hold: the first 12 hex digits of a sha256 over their contents' sha256s (sorted, so
        neither their paths nor their order count), and the same per group. Two evaluations scored the same audio
        only where these agree (a corpus rebuilt on another machine may not be the one scored before); a file that
        cannot be read counts as ``missing``."""
        from musim.storage.base import file_sha256

        def digest(hashes: list[str]) -> str:
            return hashlib.sha256("\n".join(sorted(hashes)).encode()).hexdigest()[:12]

        hashes = []
        for path in self.paths:
            try:
                hashes.append(file_sha256(path))
            except OSError:
                hashes.append("missing")
        groups = self.groups if self.groups is not None else []
        per_group = {g: digest([h for h, gg in zip(hashes, groups, strict=True) if gg == g]) for g in sorted(set(groups))}
        return digest(hashes), per_group


def read_labels(path: str | Path, *, group_by: str | None = None) -> LabelSet:
    """A CSV with columns ``path`` and ``artist`` (and ``group_by``, e.g. ``album`` or ``source``); relative
    paths are relative to the CSV's folder (to the working folder for a pipe such as ``/dev/stdin``). Rows with an
    empty path or artist, or an empty group when grouping, are left out (``left_out`` names them): an empty group
    would otherwise pool every such track into one group."""
    refuse_empty([path], "the labels CSV")
    csv_path = Path(path)
    if csv_path.is_dir() or not csv_path.exists():
        what = "is a folder, not a labels file" if csv_path.is_dir() else "no such labels file"
        raise ParameterError(f"{csv_path}: {what} (a CSV with columns path, artist[, group])")
    base = csv_path.parent if csv_path.is_file() else Path.cwd()  # a pipe (/dev/stdin): paths from here
    data = csv_path.read_bytes()  # a labels file is small; read once, so a bad byte is named by its line
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0  # a spreadsheet's byte-order mark
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = bom + exc.start
        line = data[:at].count(b"\n") + 1
        column = at - (data.rfind(b"\n", 0, at) + 1) + 1
        raise ParameterError(f"{csv_path}, line {line}: not UTF-8 text (byte 0x{data[at]:02x} at column "
                             f"{column}: {exc.reason}); save the labels as a UTF-8 CSV with columns path, "
                             "artist[, group]") from None
    if "\0" in text:  # no path or name holds one (the OS refuses it): a binary file, or a UTF-16 one
        line = text.count("\n", 0, text.index("\0")) + 1
        raise ParameterError(f"{csv_path}, line {line}: a NUL byte (a binary or UTF-16 file?); save the labels as "
                             "a UTF-8 CSV with columns path, artist[, group]")
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh, strict=True)  # strict: a quote never closed is an error, not one long field
        start = 1  # the line where the record being read starts
        try:
            columns = reader.fieldnames or []
            reader.fieldnames = [c.strip().lower() for c in columns]  # "Path", " artist" are the columns too
            doubled = sorted({c for c in reader.fieldnames if c and reader.fieldnames.count(c) > 1})
            if doubled:  # the last of them was read, silently (an album column read as the paths)
                raise ParameterError(f"{csv_path}: the header has {', '.join(doubled)} more than once; "
                                     "give each column once")
            group_by = group_by.strip().lower() if group_by else None
            need = ["path", "artist", *([group_by] if group_by else [])]
            missing = [c for c in need if c not in reader.fieldnames]
            # no column it needs, and a field names an audio file: the first line is a row, not a header (a header
            # whose columns are named otherwise, `file,composer`, is told its missing columns below)
            if missing == need and len(columns) >= 2 and any(Path(c.strip()).suffix.lower() in AUDIO_SUFFIXES
                                                             for c in columns):
                raise ParameterError(f"{csv_path}: line 1 ({', '.join(columns)}) is no header; start the file with a "
                                     f"line naming the columns: {','.join(need)}")
            if missing:
                other = next((d for d in ";\t|" if len(columns) == 1 and d in columns[0]), None)
                hint = f" (separated by {other!r}: save it with commas)" if other else ""
                raise ParameterError(f"{csv_path}: missing column(s) {', '.join(missing)}; "
                                     f"it has {', '.join(columns) or 'none'}{hint}")
            rows, left_out = [], []
            start = reader.line_num + 1
            for r in reader:
                if r.get(None):  # more fields than columns: a comma inside an unquoted field
                    raise ParameterError(f"{csv_path}, line {reader.line_num}: {len(columns) + len(r[None])} fields, the header "
                                         f"has {len(columns)} (a comma inside a path or name? put it in double quotes)")
                grouped = not group_by or (r.get(group_by) or "").strip()
                located = (r.get("path") or "").strip()
                if located and (r.get("artist") or "").strip() and grouped:
                    rows.append((reader.line_num, r))
                elif any((v or "").strip() for v in r.values()):  # a blank line is no row
                    short = sum(v is not None for v in r.values()) < len(columns)
                    left_out.append((reader.line_num, f"{sum(v is not None for v in r.values())} of {len(columns)} "
                                     "fields" if short else "no path" if not located else "no artist"
                                     if not (r.get("artist") or "").strip() else f"no {group_by}"))
                start = reader.line_num + 1
        except csv.Error as exc:
            what = "a double quote opened here is never closed" if "end of data" in str(exc) else str(exc)
            raise ParameterError(f"{csv_path}, line {start}: {what}; the labels must be a CSV with "
                                 "columns path, artist[, group] (a field with a comma or quote in double quotes, "
                                 'a quote inside it doubled: "a ""b"", c")') from None
    if not rows:
        raise ParameterError(f"{csv_path}: no row with a path and an artist"
                             + (f" and a value of {group_by}" if group_by else ""))
    paths, first_line = [], {}
    for line, r in rows:
        path = (base / r["path"]).resolve()  # an absolute path stays itself, normalised
        if path in first_line:  # a track listed twice would be its own nearest same-artist neighbour
            raise ParameterError(f"{csv_path}, line {line}: {r['path']} is listed already (line {first_line[path]}); "
                                 "list each track once")
        first_line[path] = line
        paths.append(path)
    return LabelSet(paths, [r["artist"].strip() for _, r in rows],
                    [(r[group_by] or "").strip() for _, r in rows] if group_by else None, str(csv_path), left_out,
                    group_by, [line for line, _ in rows])
