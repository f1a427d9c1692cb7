"""Serving manifests (musim.models.manifests)."""

from __future__ import annotations

import pytest

from musim.storage import open_store


@pytest.mark.parametrize("family", ["siamese", "autoencoder"])
def test_an_unpublished_version_is_published_by_name(family):
    """`similar-audio CLIP --model siamese-2` (registered, never published) suggested training (`musim models train`
    publishes champions only) instead of publishing that version, as it did for the other families."""
    from musim.errors import NotFoundError
    from musim.models.manifests import read_manifest

    with pytest.raises(NotFoundError) as err:
        read_manifest(open_store(), family, f"{family}-2")
    assert str(err.value) == (f"{family}-2 has no published embeddings (models/{family}/{family}-2/embedding.json): "
                              f"publish them with `musim models publish {family}-2` (the training DAGs and `musim "
                              "models train` publish champions only)")
