"""musim.models.card: what a model card says about its evaluation."""

from __future__ import annotations

from tests.models.conftest import _report, _truth


def test_a_card_says_when_the_model_heard_the_test_artists_audio():
    """The contrastive and autoencoder families train on every track's audio, the test artists' too, and were
    ranked against the siamese family and the baselines on those artists without a word on the card."""
    from musim.models.card import render_card

    report = _report(_truth(1), 0.5)
    said = "the evaluation is transductive"
    assert said in render_card(version="contrastive-1", family="contrastive", report=report, params={}, curves=False)
    assert said in render_card(version="autoencoder-1", family="autoencoder", report=report,
                               params={"train_on": "all"}, curves=False)
    assert said not in render_card(version="autoencoder-2", family="autoencoder", report=report,
                                   params={"train_on": "train_artists"}, curves=False)
    assert said not in render_card(version="siamese-1", family="siamese", report=report, params={}, curves=False)


def test_artist_names_with_a_pipe_or_a_line_break_stay_in_their_cell_of_the_examples():
    """An artist named `AC|DC` split its cell of the Examples tables in two, moving every later scorer's neighbour
    under the wrong heading; a name with a line break ended the table."""
    import re

    from musim.models.card import render_card
    from tests.models.conftest import IDS

    report = _report(_truth(1), 0.5)
    names = {int(a): ("AC|DC" if i % 2 else "Line\nBreak") for i, a in enumerate(IDS)}
    card = render_card(version="siamese-1", family="siamese", report=report, params={}, curves=False,
                       artist_names=names)
    examples = card.split("## Examples", 1)[1].split("## Caveats", 1)[0]
    rows = [line for line in examples.splitlines() if line.startswith("|")]
    assert rows and "AC\\|DC" in examples and "Line Break" in examples
    cells = {len(re.split(r"(?<!\\)\|", line)) for line in rows}  # unescaped pipes only
    assert cells == {len(report.scorers) + 3}, cells  # truth + each scorer, and the empty ends
    assert all(line.endswith("|") for line in examples.splitlines() if line.startswith("| ")), examples
