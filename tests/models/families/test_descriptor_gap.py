"""A descriptor vector that is not finite: the descriptors family says which tracks and features, not that the
inputs were loaded without descriptors."""

from __future__ import annotations

import numpy as np
import pytest

from musim import warehouse
from musim.errors import ParameterError
from musim.models.families import descriptors as fam
from musim.models.families.inputs import FamilyInputs, load_manifest
from musim.models.toy import planted_data
from musim.storage import open_store
from tests.models.catalogue import seed_catalogue


def test_non_finite_descriptors_are_named_by_track_and_feature(tmp_path):
    from musim.audio import DESCRIPTOR_NAMES

    toy = planted_data(communities=2, artists_per_community=3, clips_per_artist=2, shape=(32, 16), seed=1)
    store = open_store()
    with warehouse.writer() as con:
        seed_catalogue(con, store, toy)
        victim = con.execute("SELECT min(track_id) FROM track_descriptors").fetchone()[0]
        con.execute("UPDATE track_descriptors SET vec = list_transform(vec, lambda x, i: CASE WHEN i = 2 "
                    "THEN 'NaN'::DOUBLE WHEN i = 4 THEN 'Infinity'::DOUBLE ELSE x END) WHERE track_id = ?", [victim])
        inputs = load_manifest(con, needs=("log_mel", "descriptors"), with_targets=False)
    assert inputs.descriptors is None
    with pytest.raises(ParameterError) as err:
        fam.train(inputs, {}, tmp_path, 0)
    line = str(err.value)
    assert line.startswith(f"these inputs have no descriptors: 1 of {len(inputs)} tracks have descriptors that are "
                           f"not finite (NaN or infinite): {victim} ({DESCRIPTOR_NAMES[1]}, {DESCRIPTOR_NAMES[3]})")
    assert "`musim quality report --dataset features`" in line and "\n" not in line
    # the reason travels with the DAG's manifest (prepare -> train)
    again = FamilyInputs.from_bytes(inputs.to_bytes())
    with pytest.raises(ParameterError, match=f"not finite \\(NaN or infinite\\): {victim} "):
        fam.embed(None, again, np.arange(2))
