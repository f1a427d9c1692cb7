"""``musim sql --json``: a MAP's keys as JSON holds them, and a large answer streamed, byte for byte as before."""

from __future__ import annotations

import json

from musim.cli.output import print_json
from tests.cli_output import run

#: Rows of every kind a value can take: hostile text (controls, U+2028, a bidi override), NaN and the infinities
#: (as values and as MAP keys), lists, structs, empty lists, NULLs, dates and blobs; 2,500 of them (two full chunks
#: of STREAM_CHUNK and a part).
ROWS = """
SELECT range AS i, 'a' || chr(10) || chr(8232) || chr(8238) || chr(133) || chr(27) || range AS s,
       CASE range % 4 WHEN 0 THEN 'nan'::DOUBLE WHEN 1 THEN 'inf'::DOUBLE WHEN 2 THEN '-inf'::DOUBLE END AS x,
       [range, NULL] AS l, {'k': range, 'e': []::INTEGER[]} AS st, DATE '2026-01-01' + range::INTEGER AS d,
       'blob'::BLOB AS b, MAP {range::DOUBLE / 2: 'v'} AS m
FROM range(2500)
"""


def test_map_keys_are_json_safe(hostile, capsys):
    """`SELECT MAP {'nan'::DOUBLE: 'b'}` failed with `ValueError: Out of range float values are not JSON compliant`
    (exit 1), and a MAP of DATE (DECIMAL, UUID, BLOB) keys with a TypeError: keys are now written as the values are
    (NaN as "NaN", a date as default=str writes it)."""
    code, out, err = run(capsys, "sql", "SELECT MAP {'nan'::DOUBLE: 'b', 'inf'::DOUBLE: 'c', '-inf'::DOUBLE: 'd', "
                                        "1.5: 'e'} AS m, MAP {DATE '2026-01-02': 1} AS d, MAP {1.5::DECIMAL(3,1): 2} "
                                        "AS dec, MAP {true: 3} AS t, 'nan'::DOUBLE AS v", "--json")
    assert code == 0, err
    row = json.loads(out)["rows"][0]
    assert row["m"] == {"NaN": "b", "Infinity": "c", "-Infinity": "d", "1.5": "e"} and row["v"] == "NaN"
    assert row["d"] == {"2026-01-02": 1} and row["dec"] == {"1.5": 2} and row["t"] == {"true": 3}


def test_a_streamed_answer_is_byte_for_byte_the_whole_one(hostile, capsys):
    """The rows are written as they are encoded (a million rows took 2.6 GB as one JSON text): the output is what
    the whole answer, encoded at once, reads, and still JSON."""
    code, out, err = run(capsys, "sql", ROWS, "--json", "--limit", "0")
    assert code == 0 and "(2,500 rows)" in err, err
    answer = json.loads(out)
    assert len(answer["rows"]) == 2500 and answer["rows"][2]["x"] == "-Infinity" and answer["rows"][3]["x"] is None and answer["rows"][0]["x"] == "NaN"
    assert answer["rows"][7]["m"] == {"3.5": "v"} and answer["rows"][1]["st"] == {"k": 1, "e": []}
    print_json(answer)  # the same answer as one object: encoded whole, as every answer was
    assert capsys.readouterr().out == out


def test_an_empty_answer_is_an_empty_list(hostile, capsys):
    code, out, _ = run(capsys, "sql", "SELECT 1 AS a WHERE false", "--json")
    answer = json.loads(out)
    assert code == 0 and answer["rows"] == [] and answer["columns"] == ["a"]
    print_json(answer)
    assert capsys.readouterr().out == out


def test_print_json_streams_an_iterator_as_the_list_it_holds(capsys):
    items = [{"n": i, "s": "x\n\u2028\x85", "f": float("nan"), "m": {float("inf"): [i, {}]}} for i in range(2001)]
    for count in (0, 1, 999, 1000, 1001, 2001):
        doc = {"head": ["a", "b"], "rows": items[:count], "tail": None, "empty": {}}
        print_json(doc)
        whole = capsys.readouterr().out
        print_json(doc | {"rows": iter(items[:count])})
        assert capsys.readouterr().out == whole, count


def test_rows_are_written_before_the_last_is_encoded(monkeypatch):
    """The text is written chunk by chunk as the rows come, never held whole: 5,000 rows, a write (of at most a
    chunk of rows) after each 1,000 are encoded."""
    consumed, seen = [], []

    class Out:
        def write(self, text: str) -> None:
            seen.append((len(consumed), text.count('"n"')))

    def rows():
        for i in range(5000):
            consumed.append(i)
            yield {"n": i}

    monkeypatch.setattr("sys.stdout", Out())
    print_json({"rows": rows()})
    written = [(at, n) for at, n in seen if n]
    assert sum(n for _, n in written) == 5000 and max(n for _, n in written) <= 1000
    assert written[0][0] <= 1001 and len(written) == 5
