"""What an online lookup says when nothing can be served: an unknown view, a tensor view, a view not yet published."""

from __future__ import annotations

import numpy as np
import pytest

from musim.errors import NotFoundError, ParameterError
from musim.features import clear_cache, lookup, publish_online, write_vectors
from musim.features.registry import ARTIST, embedding_view


@pytest.mark.usefixtures("artist_con")
def test_an_unknown_view_is_named_with_the_known_ones(con):
    with pytest.raises(NotFoundError, match=r"^unknown view nope \(known: artist_descriptors_mean, track_descriptors\); "
                                            r"a model's embedding view is served once `musim models publish VERSION`"):
        lookup("nope", 1)
    view = embedding_view("artist_embedding", 1, entity=ARTIST, dim=2, model_version="m", description="t")
    write_vectors(con, view, [1], np.array([[1.0, 0.0]]))
    publish_online(con, view)
    clear_cache()
    with pytest.raises(NotFoundError, match=r"^unknown view nope \(known: artist_descriptors_mean, artist_embedding, "
                                            r"track_descriptors\)"):
        lookup("nope", 1)
    with pytest.raises(NotFoundError, match=r"^no online snapshot of artist_embedding:2 under "):
        lookup("artist_embedding", 1, version=2)  # a published view, not that version


@pytest.mark.parametrize("name", ["track_log_mel", "track_slices"])
def test_a_tensor_view_is_said_to_live_in_the_object_store(name):
    with pytest.raises(ParameterError, match=rf"^{name} is a tensor view, never served online: tensor views are read "
                                             r"from the object store \(load_tensor\)$"):
        lookup(name, 1)


def test_a_defined_view_not_yet_published_says_to_build_it():
    with pytest.raises(NotFoundError, match=r"^no online snapshot of artist_descriptors_mean under .*: run `musim "
                                            r"features build`"):
        lookup("artist_descriptors_mean", 1)
