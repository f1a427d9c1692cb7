"""Lines kept in flat buffers, and numpy arrays handed to DuckDB as Arrow tables without a copy.

An ingest keeps the lines it rejects or must look at again (blank, invalid UTF-8, a lone carriage return, fields
the load rejects) until it writes them: a hostile or broken file can hold millions of them, so they are never one
Python object each (:class:`LineTexts`), and what SQL reads of them or of the scan is an Arrow table over the same
buffers (:func:`arrow_table`, :meth:`LineTexts.arrow`).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["LineTexts", "arrow_table"]


class LineTexts:
    """Lines' numbers, labels (none, or each one of a few texts, kept once) and texts, in flat buffers: about 20 bytes
    a line beside its text, where a list of Python tuples or objects took about 1 KB a line (a 90 MB file of 2M lines
    that were no dump lines, each rejected and kept, peaked at 2.6 GB; a file of a million blank lines between its
    lines, as a doubled line ending makes, added 850 MB). Iterates as ``(line_no, label, text)``, or ``(line_no,
    text)`` without labels; a text is ``str``, or ``bytes`` with ``binary`` (a line that may not be UTF-8).
    :meth:`arrow` is the table SQL reads (``row_id``, ``label``, ``raw``)."""

    def __init__(self, labels: tuple[str, ...] = (), *, binary: bool = False, labelled: bool | None = None) -> None:
        self.labelled = bool(labels) if labelled is None else labelled
        self.binary = binary
        self._labels = list(labels)
        self._label_of = {label: i for i, label in enumerate(labels)}
        self._line_nos = array("q")
        self._label_ids = array("i")
        self._data = bytearray()
        self._offsets = array("q", [0])

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label, in the order of their indices (the ``label`` column of :meth:`arrow`)."""
        return tuple(self._labels)

    def _label_id(self, label: str | None) -> int:
        """The index of ``label``, a new one the first time it comes."""
        if label not in self._label_of:
            self._label_of[label] = len(self._labels)
            self._labels.append(label)
        return self._label_of[label]

    def append(self, line_no: int, raw: bytes, label: str | None = None) -> None:
        self._line_nos.append(line_no)
        if self.labelled:
            self._label_ids.append(self._label_id(label))
        self._data += raw
        self._offsets.append(len(self._data))

    def extend(self, line_nos: np.ndarray, lengths: np.ndarray, data: bytes, label: str | None = None) -> None:
        """Append many lines at once, all with ``label``: their numbers, their texts' lengths, and the texts one after
        another in ``data`` (a run of a million blank lines is a few array copies, not a million appends)."""
        line_nos = np.ascontiguousarray(line_nos, dtype=np.int64)
        self._line_nos.frombytes(line_nos.tobytes())
        if self.labelled:
            self._label_ids.frombytes(np.full(len(line_nos), self._label_id(label), dtype=np.int32).tobytes())
        self._offsets.frombytes((self._offsets[-1] + np.cumsum(lengths, dtype=np.int64)).tobytes())
        self._data += data

    def __len__(self) -> int:
        return len(self._line_nos)

    def line_nos(self) -> np.ndarray:
        """The line numbers, in the order they were appended (a view on the buffer)."""
        return np.frombuffer(self._line_nos, dtype=np.int64) if len(self) else np.zeros(0, dtype=np.int64)

    def _bytes(self, i: int) -> bytes:
        return bytes(self._data[self._offsets[i]:self._offsets[i + 1]])

    def __getitem__(self, i: int) -> tuple:
        i = range(len(self))[i]
        text = self._bytes(i) if self.binary else self._bytes(i).decode()
        if self.labelled:
            return self._line_nos[i], self._labels[self._label_ids[i]], text
        return self._line_nos[i], text

    def __iter__(self) -> Iterator[tuple]:
        return (self[i] for i in range(len(self)))

    def texts(self) -> Iterator[bytes]:
        """Each line's bytes, in order."""
        return (self._bytes(i) for i in range(len(self)))

    def arrow(self) -> pa.Table:
        """``row_id`` (the line number), ``label`` (the index of its label in :attr:`labels`, where there are labels)
        and ``raw``, over the buffers (the texts are not copied into Python strings)."""
        import pyarrow as pa

        n = len(self)
        kind = pa.large_binary() if self.binary else pa.large_string()
        raw = pa.Array.from_buffers(kind, n, [None, pa.py_buffer(self._offsets), pa.py_buffer(self._data)])
        columns = {"row_id": pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(self._line_nos)])}
        if self.labelled:  # the label's index: SQL looks its text up in :attr:`labels` (a pyarrow dictionary array
            # would import pyarrow.compute, 0.2 s of every ingest)
            columns["label"] = pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(self._label_ids)])
        columns["raw"] = raw
        return pa.table(columns)


def arrow_table(**columns: np.ndarray | pa.Array) -> pa.Table:
    """An Arrow table over numpy arrays (contiguous) without a copy, and without pyarrow's numpy path, which imports
    pandas: a second's work."""
    import pyarrow as pa

    arrays = [c if isinstance(c, pa.Array) else
              pa.Array.from_buffers(pa.from_numpy_dtype(c.dtype), len(c), [None, pa.py_buffer(np.ascontiguousarray(c))])
              for c in columns.values()]
    return pa.Table.from_arrays(arrays, names=list(columns))
