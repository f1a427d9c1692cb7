"""A quality run removes the scratch folders of killed runs (``$MUSIM_TMP/quality-*``), never a live run's."""

from __future__ import annotations

import pytest

from musim.config import get_settings
from musim.quality import check
from musim.quality.runner import SCRATCH_PREFIX
from tests.scratch_owner import kill, scratch_owner


@pytest.mark.slow
def test_a_run_sweeps_killed_runs_scratch_and_leaves_none_of_its_own(good):
    tmp = get_settings().tmp_dir
    legacy = tmp / "quality-20261101T000000-abcd-x1y2z3"  # mkdtemp's name before the owner lock
    legacy.mkdir(parents=True)
    (legacy / "docs").mkdir()
    with scratch_owner(tmp, SCRATCH_PREFIX) as (live, live_dir), scratch_owner(tmp, SCRATCH_PREFIX) as (dead, dead_dir):
        kill(dead)
        run = check(["lastfm_plays"], docs=False)
        assert run.results and live.poll() is None
        left = sorted(p.name for p in tmp.iterdir() if p.name.startswith(SCRATCH_PREFIX))
        assert left == sorted([live_dir.name, live_dir.name + ".lock"])  # only the live owner's
    assert not dead_dir.exists() and not legacy.exists()
