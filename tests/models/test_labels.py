"""The labels file of `musim models evaluate --labels` (musim.models.labels): its columns, rows left out, every
problem named by its line, and the corpus fingerprint."""

from __future__ import annotations

import pytest

from musim.errors import ParameterError
from musim.models.labels import read_labels


def test_labels_file(tmp_path):
    (tmp_path / "labels.csv").write_text("path,artist,album\na/1.ogg,Bach,Suites\n/abs/2.ogg,Mozart,\nx.ogg,,Y\n")
    labels = read_labels(tmp_path / "labels.csv", group_by="album")
    assert labels.paths == [(tmp_path / "a/1.ogg").resolve()]  # Mozart's row has no album: left out, named
    assert labels.artists == ["Bach"] and labels.groups == ["Suites"] and labels.left_out == [(3, "no album"),
                                                                                           (4, "no artist")]
    ungrouped = read_labels(tmp_path / "labels.csv")
    assert ungrouped.paths == [(tmp_path / "a/1.ogg").resolve(), __import__("pathlib").Path("/abs/2.ogg")]
    with pytest.raises(ParameterError, match="missing column.*source"):
        read_labels(tmp_path / "labels.csv", group_by="source")
    with pytest.raises(ParameterError, match="no such labels file"):
        read_labels(tmp_path / "nope.csv")
    # a file without its header: its first row was quoted as the columns ("missing column(s) path, artist; it has
    # a/1.ogg, Bach, Suites"); it says the first line must name them
    (tmp_path / "nohdr.csv").write_text("a/1.ogg,Bach,Suites\nb/2.ogg,Mozart,Requiem\n")
    with pytest.raises(ParameterError) as refused:
        read_labels(tmp_path / "nohdr.csv", group_by="album")
    assert str(refused.value) == (f"{tmp_path / 'nohdr.csv'}: line 1 (a/1.ogg, Bach, Suites) is no header; start the "
                                  "file with a line naming the columns: path,artist,album")
    # from a review: a header whose columns are named otherwise is a header, not a row: it was told to start the file
    # with a header line (a second one, above it); it is told the columns it lacks and the ones it has
    (tmp_path / "renamed.csv").write_text("file,composer\na/1.ogg,Bach\n")
    with pytest.raises(ParameterError) as refused:
        read_labels(tmp_path / "renamed.csv")
    assert str(refused.value) == f"{tmp_path / 'renamed.csv'}: missing column(s) path, artist; it has file, composer"
    with pytest.raises(ParameterError, match="is a folder, not a labels file"):
        read_labels(tmp_path)
    (tmp_path / "twice.csv").write_text(f"path,artist\na/1.ogg,Bach\nb.ogg,Bach\n{tmp_path}/a/../a/1.ogg,Bach\n")
    with pytest.raises(ParameterError, match=r"twice.csv, line 4: .*1.ogg is listed already \(line 2\)"):
        read_labels(tmp_path / "twice.csv")  # the same file, however spelt: it would retrieve itself
    # an empty path was the one empty field that aborted the run ("line 3: the path is empty"): left out, as the others
    (tmp_path / "blank.csv").write_text("path,artist\na.ogg,Bach\n ,Bach\nb.ogg,\n,\n")
    blank = read_labels(tmp_path / "blank.csv")
    assert blank.paths == [(tmp_path / "a.ogg").resolve()] and blank.left_out == [(3, "no path"), (4, "no artist")]
    (tmp_path / "no paths.csv").write_text("path,artist\n,Bach\n")
    with pytest.raises(ParameterError, match=r"no paths.csv: no row with a path and an artist$"):
        read_labels(tmp_path / "no paths.csv")


def test_the_corpus_fingerprint_follows_the_files_contents_not_their_paths_or_order(tmp_path):
    """Two evaluations scored the same audio only where the fingerprints agree: the same bytes elsewhere and in
    another order give the same digests; one changed file changes the whole and its own group's, not another's."""
    import shutil

    def corpus(folder, order, changed=None):
        folder.mkdir()
        rows = ["path,artist,pkg"]
        for name, pkg in order:
            (folder / name).write_bytes(b"changed" if name == changed else f"audio of {name}".encode())
            rows.append(f"{name},A{name[0]},{pkg}")
        (folder / "labels.csv").write_text("\n".join(rows) + "\n")
        return read_labels(folder / "labels.csv", group_by="pkg")

    files = [("a.flac", "p1"), ("b.flac", "p1"), ("c.flac", "p2")]
    whole, per_group = corpus(tmp_path / "one", files).fingerprint()
    assert len(whole) == 12 and set(per_group) == {"p1", "p2"}
    assert corpus(tmp_path / "two", files[::-1]).fingerprint() == (whole, per_group)
    other_whole, other_groups = corpus(tmp_path / "three", files, changed="c.flac").fingerprint()
    assert other_whole != whole and other_groups["p1"] == per_group["p1"] and other_groups["p2"] != per_group["p2"]
    gone = corpus(tmp_path / "four", files)
    shutil.rmtree(tmp_path / "four")
    assert gone.fingerprint()[0] not in (whole, other_whole)  # unreadable files count as missing, not as skipped


def test_labels_file_from_a_spreadsheet_or_not_text(tmp_path):
    bom = tmp_path / "excel.csv"
    bom.write_bytes("path,artist\r\na.ogg,Björk\r\n".encode("utf-8-sig"))  # a spreadsheet's UTF-8 with a BOM
    assert read_labels(bom).artists == ["Björk"]
    titled = tmp_path / "titled.csv"
    titled.write_text("Path, Artist,Album\na.ogg,Björk,Homogenic\n")  # headers as people write them
    assert read_labels(titled, group_by="album").groups == ["Homogenic"]
    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_text("path;artist\na.ogg;Björk\n")  # a spreadsheet in a comma-decimal locale
    with pytest.raises(ParameterError, match=r"it has path;artist \(separated by ';': save it with commas\)"):
        read_labels(semicolons)
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("path,artist\na.ogg,Bj\xf6rk\n".encode("latin-1"))
    with pytest.raises(ParameterError, match=r"latin1.csv, line 2: not UTF-8 text \(byte 0xf6 at column 9: .*save "
                                             "the labels as a UTF-8 CSV"):
        read_labels(latin)
    latin.write_bytes(b"\xef\xbb\xbfpath,artist\na.ogg,A\nb.ogg,Bj\xf6rk\n")  # a byte-order mark before: same count
    with pytest.raises(ParameterError, match=r"latin1.csv, line 3: not UTF-8 text \(byte 0xf6 at column 9: "):
        read_labels(latin)
    huge = tmp_path / "huge.csv"
    huge.write_text('path,artist\na.ogg,A\nb.ogg,"' + "x" * 200_000 + '"\n')  # over csv's field limit
    with pytest.raises(ParameterError, match=r"huge.csv, line 3: field larger than field limit"):
        read_labels(huge)
    unclosed = tmp_path / "unclosed.csv"  # was read as one long path and left out for its empty artist
    unclosed.write_text('path,artist\na.ogg,A\n"b.ogg,B\nc.ogg,A\n')
    with pytest.raises(ParameterError, match=r"unclosed.csv, line 3: a double quote opened here is never closed"):
        read_labels(unclosed)


@pytest.mark.parametrize("content", [b"path,artist\na.ogg,A\nb\x00.ogg,B\n", "path,artist\na.ogg,A\n".encode("utf-16-le")])
def test_a_labels_file_holding_a_nul_byte_is_named_by_its_line(tmp_path, content):
    """A NUL in a path was "musim: error: ValueError: embedded null byte" (pathlib, resolving it) with exit 1; a
    UTF-16 file without its byte-order mark (every other byte a NUL) the same."""
    nul = tmp_path / "nul.csv"
    nul.write_bytes(content)
    line = 3 if content.startswith(b"path") else 1
    with pytest.raises(ParameterError) as err:
        read_labels(nul)
    assert str(err.value) == (f"{nul}, line {line}: a NUL byte (a binary or UTF-16 file?); save the labels as a "
                              "UTF-8 CSV with columns path, artist[, group]")


def test_rows_left_out_are_named_and_a_row_of_too_many_fields_is_refused(tmp_path):
    """A row without an artist, and a short row, were dropped without a word."""
    (tmp_path / "labels.csv").write_text("path,artist\na.ogg,A\nb.ogg,A\nc.ogg,\n\nd.ogg\ne.ogg,B\n")
    labels = read_labels(tmp_path / "labels.csv")
    assert labels.artists == ["A", "A", "B"] and labels.left_out == [(4, "no artist"), (6, "1 of 2 fields")]
    (tmp_path / "commas.csv").write_text("path,artist\nSong, with comma.ogg,A\n")
    with pytest.raises(ParameterError, match=r"commas.csv, line 2: 3 fields, the header has 2 \(a comma inside"):
        read_labels(tmp_path / "commas.csv")


def test_a_row_without_its_group_is_left_out_not_pooled_and_a_doubled_column_refused(tmp_path):
    """Every track with an empty album was one album (the within-group AUC became the overall one, silently);
    a header `path,artist,artist` read the last artist column."""
    (tmp_path / "labels.csv").write_text("path,artist,album\na.ogg,A,x\nb.ogg,A,\nc.ogg,B,x\nd.ogg,,x\n")
    labels = read_labels(tmp_path / "labels.csv", group_by="album")
    assert labels.artists == ["A", "B"] and labels.groups == ["x", "x"]
    assert labels.left_out == [(3, "no album"), (5, "no artist")]
    assert read_labels(tmp_path / "labels.csv").artists == ["A", "A", "B"]  # no grouping: the album is not needed
    (tmp_path / "doubled.csv").write_text("path,artist,Artist\na.ogg,A,B\n")
    with pytest.raises(ParameterError, match=r"doubled.csv: the header has artist more than once; give each column"):
        read_labels(tmp_path / "doubled.csv")
    (tmp_path / "none.csv").write_text("path,artist,album\na.ogg,A,\n")
    with pytest.raises(ParameterError, match=r"none.csv: no row with a path and an artist and a value of album"):
        read_labels(tmp_path / "none.csv", group_by="album")


def test_labels_from_a_pipe_read_paths_from_the_working_folder(tmp_path, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    read, write = os.pipe()
    os.write(write, b"path,artist\nmusic/a.ogg,A\n")
    os.close(write)
    try:
        labels = read_labels(f"/dev/fd/{read}")
    finally:
        os.close(read)
    assert labels.paths == [(tmp_path / "music" / "a.ogg").resolve()]


def test_an_empty_labels_path_is_refused_not_the_working_folder():
    """`models evaluate --labels ""` said ".: is a folder"."""
    with pytest.raises(ParameterError, match=r"an empty path was given \(an unset variable\?\): give the labels CSV"):
        read_labels("")
