"""Great Expectations' import without the optional libraries musim never asks it to use (SQL databases, S3,
Athena): hidden from its import only, only where the process has not imported them, only in the importing thread; and
without its own Spark, SQL and file datasources (stubbed), falling back to the whole GX should that fail."""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path


def run_python(code: str, env: dict[str, str] | None = None) -> str:
    """``code`` run in a fresh interpreter (as a musim command imports GX); its last line of output."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


#: a pandas frame validated by GX after its import: expectations that pass and fail, a pair, a NaN
VALIDATE = """
    import json
    import numpy as np, pandas as pd
    import great_expectations.expectations as gxe
    from musim.quality.gx import PartValidator, new_context
    validator = PartValidator(new_context(None), "t.part", [
        gxe.ExpectColumnPairValuesToBeEqual(column_A="a", column_B="b", description="a = b"),
        gxe.ExpectColumnMaxToBeBetween(column="a", min_value=0, max_value=5, description="a at most 5"),
        gxe.ExpectColumnValuesToMatchRegex(column="s", regex="^x", description="s starts with x"),
        gxe.ExpectColumnValuesToBeBetween(column="f", min_value=0, max_value=1, description="f in [0, 1]"),
    ], "run")
    validator.validate(pd.DataFrame({"a": [1, 2], "b": [1, 3], "s": ["x1", "y"], "f": [0.5, np.nan]}))
    failed = sorted(o.type for o in validator.finish() if not o.success)
    print(json.dumps(failed))
"""


def test_gx_is_imported_without_the_hidden_libraries_which_import_normally_afterwards():
    """The libraries GX binds stand-ins for when absent are not imported with it; musim's own later imports of them
    get the real modules; GX still validates a pandas frame (its failures as before)."""
    code = """
        import sys
        from musim.quality.gx import HIDDEN_FROM_GX, HiddenFromThread, import_gx
        assert not [n for n in HIDDEN_FROM_GX if n in sys.modules], "imported before GX"
        import_gx()
        seen = [n for n in HIDDEN_FROM_GX if n in sys.modules]
        assert not seen, f"imported with GX: {seen}"
        assert not any(isinstance(f, HiddenFromThread) for f in sys.meta_path)  # gone once GX is imported
        from musim.quality.gx import StubbedInThread
        assert not any(isinstance(f, StubbedInThread) for f in sys.meta_path)
        from great_expectations.compatibility import aws, sqlalchemy as gx_sa
        assert not gx_sa.sqlalchemy and not aws.boto3  # GX's stand-ins for absent libraries
        import boto3, botocore.exceptions, sqlalchemy
        assert sqlalchemy.text("select 1").text == "select 1"
        assert boto3.session.Session and issubclass(botocore.exceptions.ClientError, Exception)
    """
    failed = json.loads(run_python(textwrap.dedent(code) + textwrap.dedent(VALIDATE)))
    assert failed == ["expect_column_pair_values_to_be_equal", "expect_column_values_to_match_regex"]


def test_a_library_imported_before_gx_is_left_as_it_is():
    """sqlalchemy imported by the process (Airflow imports it): GX gets that very module; boto3, not imported yet,
    is still hidden."""
    out = run_python("""
        import sys
        import sqlalchemy
        from musim.quality.gx import import_gx
        import_gx()
        from great_expectations.compatibility.sqlalchemy import sqlalchemy as gx_sa
        assert sys.modules["sqlalchemy"] is sqlalchemy and gx_sa is sqlalchemy
        assert "boto3" not in sys.modules
        print("ok")
    """)
    assert out == "ok"


def test_another_thread_imports_a_hidden_library_while_gx_is_being_imported():
    """GX is preloaded in a thread beside a build, which may import boto3 (an S3 object store): hiding it from the
    whole process (``sys.modules["boto3"] = None``) would fail the build's import. The preload thread is held as it
    executes GX's AWS module while the main thread imports boto3; GX then sees it (imported already) and works."""
    code = """
        import importlib.abc, importlib.machinery, sys, threading
        from musim.quality.gx import import_gx
        reached, done = threading.Event(), threading.Event()

        # holds the GX thread as it executes GX's AWS module: finders run under the global import lock, which the
        # main thread's import needs, so the wait is in the loader, under that module's own lock only
        class Hold(importlib.abc.MetaPathFinder):

            def find_spec(self, name, path=None, target=None):
                if name != "great_expectations.compatibility.aws" or threading.current_thread().name != "gx":
                    return None
                spec = importlib.machinery.PathFinder.find_spec(name, path)
                real = spec.loader

                class Held(importlib.abc.Loader):
                    def create_module(self, spec):
                        return real.create_module(spec)

                    def exec_module(self, module):
                        reached.set()
                        assert done.wait(120)
                        real.exec_module(module)

                spec.loader = Held()
                return spec

        sys.meta_path.insert(0, Hold())
        thread = threading.Thread(target=import_gx, name="gx")
        thread.start()
        assert reached.wait(120)
        import boto3  # the main thread, while GX's import is under way
        assert boto3.session.Session
        done.set()
        thread.join(120)
        from great_expectations.compatibility import aws
        assert aws.boto3 is boto3 and "sqlalchemy" not in sys.modules
    """
    failed = json.loads(run_python(textwrap.dedent(code) + textwrap.dedent(VALIDATE)))
    assert failed == ["expect_column_pair_values_to_be_equal", "expect_column_values_to_match_regex"]


def _docs(home: Path, hide: bool) -> tuple[str, dict[str, str]]:
    """The Data Docs pages of a check of every suite, run in a fresh process with the libraries hidden or not (its
    verdict, and its pages with the run's id and times written as placeholders)."""
    out = run_python(
        f"""
        import sys
        import musim.quality.gx as gx
        if not {hide}:
            gx.HIDDEN_FROM_GX = gx.STUBBED_IN_GX = ()
        from musim.quality import check
        run = check()
        assert ("sqlalchemy" in sys.modules) is not {hide}
        stubs = [n for n, m in sys.modules.items() if isinstance(m, gx.GXStub)]
        assert len(stubs) == ({hide} and len(gx.STUBBED_IN_GX)), stubs
        print(run.run_id, run.success, run.docs_url)
    """,
        env={"MUSIM_HOME": str(home)},
    )
    run_id, success, url = out.split()
    assert url.startswith("file://"), url
    root = Path(url.removeprefix("file://")).parent
    stamp = re.compile(
        r"\d{8}T\d{6}(\.\d+)?Z|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?"
        r"|\b1\d{9}\.\d+\b|\b[0-9a-f]{32}\b"
    )  # ISO times, run times, epoch seconds, GX's ids

    def plain(text: str) -> str:
        return stamp.sub("<x>", text.replace(run_id, "<run>"))

    pages = {
        plain(p.relative_to(root).as_posix()): plain(p.read_text(encoding="utf-8"))
        for p in sorted(root.rglob("*.html"))
    }
    # the index lists the validations by their times, which follow the order the parts ran in: its links, as a set
    pages["index.html"] = "\n".join(
        sorted(set(re.findall(r"validations/[^'\"]+\.html", pages["index.html"])))
    )
    return success, pages


def test_data_docs_pages_are_the_same_with_the_libraries_hidden(good):
    """Every suite checked on the good warehouse, GX imported whole and trimmed (the libraries hidden, its Spark, SQL
    and file datasources stubbed): the same verdict and the same Data Docs pages, page by page."""
    seen_success, seen = _docs(good, hide=False)
    hidden_success, hidden = _docs(good, hide=True)
    assert seen_success == hidden_success == "True"
    assert len(seen) > 5 and sorted(seen) == sorted(hidden)
    for name, page in seen.items():
        diff = difflib.unified_diff(page.splitlines(), hidden[name].splitlines(), lineterm="", n=0)
        changed = [
            line for line in diff if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
        ]
        assert not changed, f"{name}: {changed[:6]}"


def test_gx_is_imported_without_its_spark_sql_and_file_datasources():
    """GX's package imports every fluent datasource to register it (~0.45 s of its import's CPU); musim validates
    pandas frames only: those modules are stubs, whose classes cannot be made (one line naming why), and GX still
    validates a frame through its pandas datasource (its failures as before)."""
    code = """
        import sys
        import pytest
        from musim.quality.gx import STUBBED_IN_GX, GXStub, StubbedInThread, import_gx
        import_gx()
        assert all(isinstance(sys.modules[n], GXStub) for n in STUBBED_IN_GX)
        assert not any(isinstance(f, StubbedInThread) for f in sys.meta_path)
        from great_expectations.datasource.fluent import PandasDatasource, SQLDatasource, SparkDatasource
        assert not isinstance(sys.modules[PandasDatasource.__module__], GXStub)
        for stand_in in (SQLDatasource, SparkDatasource):
            with pytest.raises(ImportError, match=r"was not loaded: musim imports Great Expectations without"):
                stand_in(name="x")
    """
    failed = json.loads(run_python(textwrap.dedent(code) + textwrap.dedent(VALIDATE)))
    assert failed == ["expect_column_pair_values_to_be_equal", "expect_column_values_to_match_regex"]


def test_another_gx_release_is_imported_whole():
    """The stubs are for the GX releases checked with them (the locked one): any other is imported as it ships, and
    validates as before."""
    code = """
        import sys
        import musim.quality.gx as gx
        assert gx.gx_version() in gx.STUBS_CHECKED_WITH  # the locked release: stubbed (a new one: check it, list it)
        gx.STUBS_CHECKED_WITH = ()
        gx.import_gx()
        assert not [n for n, m in sys.modules.items() if isinstance(m, gx.GXStub)]
        assert "great_expectations.datasource.fluent.sql_datasource" in sys.modules
        assert not any(isinstance(f, (gx.StubbedInThread, gx.HiddenFromThread)) for f in sys.meta_path)
    """
    failed = json.loads(run_python(textwrap.dedent(code) + textwrap.dedent(VALIDATE)))
    assert failed == ["expect_column_pair_values_to_be_equal", "expect_column_values_to_match_regex"]
