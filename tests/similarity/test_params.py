"""SimilarityParams: what its docstring says it takes and refuses is what it takes and refuses."""

from __future__ import annotations

import pytest

from musim.errors import ParameterError
from musim.similarity.params import SimilarityParams


def test_a_count_written_as_text_is_that_count_and_the_docstring_says_so():
    """The docstring said the string "10" is refused; it was taken as 10, as every parameter record takes it
    (musim.params: pydantic's lax integers). The docstring now says what happens."""
    assert '``k="10"`` is\n    10' in SimilarityParams.__doc__
    p = SimilarityParams(k="10", min_listeners=2.0)
    assert (p.k, p.min_listeners) == (10, 2) and type(p.k) is int and type(p.min_listeners) is int
    for bad in (2.5, "ten", "2.5", True, 0):
        with pytest.raises(ParameterError, match=r"^similarity parameter k: "):
            SimilarityParams(k=bad)
