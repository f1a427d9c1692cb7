"""dev_select: the weight grid, the bootstrap choice and the paired CIs do what their docstrings say; the credits
of the development corpus are read, matched and normalised as corpus.py's docstring says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from benchmarks.real_music.corpus import credit_name, credited, read_credits
from benchmarks.real_music.dev_select import (
    descriptor_blocks,
    grid_weights,
    held_out_choice,
    most_often_best,
    paired_ci,
    report_choice,
    scored_candidates,
    weighted_similarity,
)


def test_grid_has_one_block_at_1_and_no_duplicates_of_scale():
    grid = grid_weights(("a", "b"), (0.0, 0.5, 1.0))
    assert [tuple(g.values()) for g in grid] == [(0.0, 1.0), (0.5, 1.0), (1.0, 0.0), (1.0, 0.5), (1.0, 1.0)]
    assert len(grid_weights(("a", "b", "c", "d"))) == 5**4 - 4**4


def test_weighted_similarity_leaves_out_zero_blocks_and_scales_the_rest():
    rng = np.random.default_rng(0)
    blocks = {"a": rng.normal(size=(6, 3)), "b": rng.normal(size=(6, 2))}
    only_a = weighted_similarity(blocks, {"a": 1.0, "b": 0.0})
    np.testing.assert_allclose(only_a, weighted_similarity({"a": blocks["a"]}, {"a": 0.3}))
    x = np.concatenate([blocks["a"], 0.5 * blocks["b"]], axis=1)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(weighted_similarity(blocks, {"a": 1.0, "b": 0.5}), x @ x.T)
    with pytest.raises(ValueError):
        weighted_similarity(blocks, {"a": 0.0})


def test_descriptor_blocks_split_the_vector_by_block_with_unit_mean_squared_norm():
    from musim.audio import DESCRIPTOR_NAMES
    from musim.models.families.descriptors import BLOCKS, block_of

    names = list(DESCRIPTOR_NAMES)
    desc = np.random.default_rng(3).normal(5.0, 2.0, size=(40, len(names)))
    blocks = descriptor_blocks({"desc": desc}, names)
    assert list(blocks) == list(BLOCKS)
    for name, block in blocks.items():
        assert block.shape == (40, sum(block_of(n) == name for n in names))
        assert np.mean(np.sum(block**2, axis=1)) == pytest.approx(1.0, rel=1e-6)


def test_most_often_best_prefers_a_steady_candidate_to_a_plateau_of_near_copies():
    x = np.tile([0.1, -0.097], 20)  # a's gain over b: +0.0015 on average, won in about 55% of resamples
    a = 0.7 + x
    copies = [a + 1e-6 * np.eye(40)[j] for j in range(5)]  # five near-identical weightings share those wins
    per = np.stack([*copies, np.full(40, 0.7)])
    assert np.argmax(per.mean(axis=1)) < 5
    assert most_often_best(per, np.random.default_rng(1)) == 5


def test_paired_ci_over_clusters_is_wider_when_a_cluster_carries_the_gain():
    rng = np.random.default_rng(2)
    diff = np.concatenate([np.full(20, 0.1), rng.normal(0, 0.01, 20)])  # all the gain in one composer's queries
    clusters = ["p/x"] * 20 + [f"p/{i}" for i in range(20)]
    m, lo, hi = paired_ci(diff, np.random.default_rng(3))
    mc, clo, chi = paired_ci(diff, np.random.default_rng(3), clusters=clusters)
    assert m == pytest.approx(mc) == pytest.approx(diff.mean())
    assert lo > 0  # per query the gain looks certain
    assert clo < lo and chi > hi  # resampling composers shows it rests on one
    assert clo <= 0.0


def test_credits_rows_need_evidence_and_the_first_match_wins(tmp_path):
    good = tmp_path / "credits.csv"
    good.write_text("# a comment\npackage,file,composer,evidence\n"
                    "p,special-ux.ogg,,a project, not a composer\np,*ux.ogg,Seb,authors.xml\n")
    credits = read_credits(good)
    assert credited("woodlux.ogg", credits["p"]) == "Seb"
    assert credited("special-ux.ogg", credits["p"]) == ""  # left out
    assert credited("other.ogg", credits["p"]) is None  # tags and copyright decide
    assert credited("usr/share/games/p/music/woodlux.ogg", credits["p"]) == "Seb"  # a name matches in any folder
    bad = tmp_path / "bad.csv"
    bad.write_text("package,file,composer,evidence\np,a.ogg,Someone,\n")
    with pytest.raises(SystemExit):
        read_credits(bad)
    assert read_credits(None) == {}


def test_a_credits_pattern_with_a_slash_matches_the_installed_path():
    from benchmarks.real_music.corpus import named_by_path

    credits = [("*/game/sounds/rush.ogg", "Serberis"), ("rush.ogg", "Someone Else")]
    assert credited("usr/share/game/sounds/rush.ogg", credits) == "Serberis"
    assert credited("usr/share/game/music/rush.ogg", credits) == "Someone Else"  # the path row names another file
    assert named_by_path("usr/share/game/sounds/rush.ogg", credits)
    assert not named_by_path("usr/share/game/sounds/laser.ogg", credits)
    assert not named_by_path("usr/share/game/music/rush.ogg", credits)  # a name row admits nothing new


@pytest.mark.parametrize(("raw", "name"), [("Nikola Whallon (saturn)", "Nikola Whallon"),
                                           ("Klaus Halfmann aka Hasi50", "Klaus Halfmann"),
                                           ("Martin  Strohmeier", "Martin Strohmeier"), ("Askyel", "Askyel")])
def test_credit_name_drops_nicknames(raw, name):
    assert credit_name(raw) == name


def test_held_out_choice_scores_each_group_with_the_choice_of_the_others():
    # candidate 1 has the best mean over all queries; held out, a is scored with the choice of b + c (1), b and c
    # with the choice of the others (0, which a's queries carry): worse than either in-sample mean.
    per = np.array([[0.9, 0.9, 0.4, 0.5, 0.5],
                    [0.6, 0.6, 0.8, 0.7, 0.7]])
    groups = ["a", "a", "b", "c", "c"]
    out, rows = held_out_choice(per, groups)
    assert rows == {"a": 1, "b": 0, "c": 0}
    np.testing.assert_allclose(out, [0.6, 0.6, 0.4, 0.5, 0.5])
    assert out.mean() < per.mean(axis=1).min()
    out2, rows2 = held_out_choice(per[:, :3], groups[:3])  # with only a and b: each is scored by the other's best
    assert rows2 == {"a": 1, "b": 0}
    np.testing.assert_allclose(out2, [0.6, 0.6, 0.4])
    with pytest.raises(ValueError):
        held_out_choice(per[:, :2], groups[:2])


# the benchmark's packages and reserved ones (never fetched): the script must refuse each before downloading
@pytest.mark.parametrize("package", ["hedgewars-data", "supertux-data", "asc-music", "wesnoth-1.18-music"])  # deny
def test_make_dev_corpus_refuses_benchmark_and_reserved_packages(tmp_path, package):
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "real_music" / "make_dev_corpus.sh"
    res = subprocess.run(["bash", str(script), str(tmp_path / "dev")], env={"PATH": "/usr/bin:/bin",
                         "DEV_PACKAGES": f"naev-data {package}"}, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and package in res.stderr
    assert not (tmp_path / "dev").exists()  # refused before anything was fetched


def test_make_dev_corpus_refuses_the_benchmarks_midi_composers(tmp_path):
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "real_music" / "make_dev_corpus.sh"
    res = subprocess.run(["bash", str(script), str(tmp_path / "dev")], env={"PATH": "/usr/bin:/bin",
                         "DEV_PACKAGES": "naev-data", "DEV_MIDI_COMPOSERS": "haydn mozart"},
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "mozart" in res.stderr and "haydn" not in res.stderr
    assert not (tmp_path / "dev").exists()


def test_label_packages_takes_credits_first_then_tags_then_the_composer_tag(tmp_path):
    import mutagen
    import soundfile as sf

    from benchmarks.real_music.corpus import label_packages

    music = tmp_path / "pkgs" / "game-data" / "usr" / "share" / "games" / "game" / "music"
    music.mkdir(parents=True)
    tone = (0.1 * np.sin(np.arange(22050) / 5)).astype(np.float32)
    for name, tags in {"a.flac": {"composer": "Ann Smith (annie)"}, "b.flac": {"artist": "Bob"},
                       "c.flac": {"artist": "Project Team"}, "d.flac": {}, "e.flac": {"composer": "Ann Smith"}}.items():
        sf.write(music / name, tone, 22050, format="FLAC")
        tagged = mutagen.File(music / name)
        for k, v in tags.items():
            tagged[k] = v
        tagged.save()
    sounds = music.parent / "sounds"  # effects, and one composition its package's credits name by its path
    sounds.mkdir()
    for name in ("theme.flac", "laser.flac"):
        sf.write(sounds / name, tone, 22050, format="FLAC")
    credits = {"game-data": [("c.flac", ""), ("d.*", "Dee"), ("*/game/sounds/theme.flac", "Tim")]}
    rows: list[dict[str, str]] = []
    label_packages(tmp_path, ["game-data"], set(), rows, credits=credits, composer_tags=True)
    got = {Path(r["path"]).name.split("__")[1]: (r["artist"], r["artist_source"]) for r in rows}
    assert got == {"a.flac": ("Ann Smith", "composer tag"), "b.flac": ("Bob", "tag"),
                   "d.flac": ("Dee", "credits file"), "e.flac": ("Ann Smith", "composer tag"),
                   "theme.flac": ("Tim", "credits file")}  # c.flac left out, laser.flac is no music
    rows = []
    label_packages(tmp_path, ["game-data"], set(), rows)  # the benchmark's way: artist tags and copyright only
    assert {r["artist"] for r in rows} == {"Bob", "Project Team"}


def test_label_packages_takes_an_ogg_without_a_suffix_only_when_asked(tmp_path):
    import mutagen
    import soundfile as sf

    from benchmarks.real_music.corpus import label_packages

    music = tmp_path / "pkgs" / "game-data" / "usr" / "share" / "games" / "game" / "music"
    music.mkdir(parents=True)
    tone = (0.1 * np.sin(np.arange(22050) / 5)).astype(np.float32)
    sf.write(music / "arctic.ogg", tone, 22050, format="OGG")
    tagged = mutagen.File(music / "arctic.ogg")
    tagged["artist"] = "SinQ"
    tagged.save()
    (music / "arctic.ogg").rename(music / "arctic")  # blobwars-data's way: no suffix, the tags beside it
    (music / "arctic.tags").write_text("artist=SinQ\n")
    (music / "notes").write_bytes(b"not an ogg file")
    rows: list[dict[str, str]] = []
    label_packages(tmp_path, ["game-data"], set(), rows)  # the benchmark's way: suffixes only
    assert rows == []
    label_packages(tmp_path, ["game-data"], set(), rows, suffixless_ogg=True)
    assert [(r["path"], r["artist"]) for r in rows] == [("corpus/SinQ/game-data__arctic.ogg", "SinQ")]
    assert sf.info(str(tmp_path / rows[0]["path"])).frames == 22050


def test_report_choice_adopts_only_a_choice_that_holds_on_unseen_packages(capsys):
    rng = np.random.default_rng(0)
    packages = np.repeat(["p1", "p2", "p3", "p4"], 10)
    clusters = [f"{p}/{i % 3}" for i, p in enumerate(packages)]
    base = np.full(40, 0.6)
    steady = base + 0.05  # mean 0.65, better than base on every package
    lucky = np.where(packages == "p1", 1.0, 0.58)  # the best mean (0.685), all of it from one package
    choice, adopt = report_choice(np.stack([steady, lucky]), ["steady", "lucky"], base, packages, clusters, rng,
                                  against="base")
    # lucky is the argmax; held out, p1 gets steady (+0.05) and p2-p4 get lucky (-0.02 each): a loss on average
    assert (choice, adopt) == (1, False)
    assert "choice: lucky" in capsys.readouterr().out
    choice, adopt = report_choice(np.stack([steady, base]), ["steady", "same"], base, packages, clusters, rng,
                                  against="base")
    assert (choice, adopt) == (0, True)


def test_the_corpora_must_not_share_a_package(tmp_path):
    import argparse

    import pytest

    from benchmarks.real_music.dev_select import check_corpora

    for name, packages in (("bench", ("a", "b")), ("dev", ("c", "b")), ("other", ("c", "d"))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.csv").write_text(
            "path,artist,source_package\n" + "".join(f"{p}.ogg,X,{p}\n" for p in packages))
    with pytest.raises(SystemExit, match=r"^prog: the corpora share packages \['b'\]$"):
        check_corpora(argparse.Namespace(corpus=tmp_path / "bench", dev_corpus=tmp_path / "dev"), "prog")
    with pytest.raises(SystemExit, match="the development corpus is the benchmark corpus"):
        check_corpora(argparse.Namespace(corpus=tmp_path / "bench", dev_corpus=tmp_path / "bench"), "prog")
    check_corpora(argparse.Namespace(corpus=tmp_path / "bench", dev_corpus=tmp_path / "other"), "prog")


def test_decide_adopts_only_a_candidate_ahead_on_held_out_packages_and_scores_the_benchmark_after(tmp_path, capsys):
    import argparse

    from benchmarks.real_music.dev_select import decide

    packages = np.repeat([f"p{i}" for i in range(6)], 10)
    clusters = [f"{p}/c{i % 5}" for i, p in enumerate(packages)]
    rng = np.random.default_rng(1)
    base = rng.uniform(0.5, 0.7, size=60)
    seen = []

    def score(ahead: float):
        def run(corpus, cache):
            seen.append(cache.name)
            return np.stack([base, base + ahead]), base - 0.1, packages, clusters
        return run

    args = argparse.Namespace(dev_corpus=tmp_path / "dev", corpus=tmp_path / "bench", cache=tmp_path, benchmark=False)
    decide(args, ["ref", "cand"], score(0.05), against="ref", keep="the reference")
    assert "decision: ADOPT cand" in capsys.readouterr().out and seen == ["dev"]
    args.benchmark = True
    decide(args, ["ref", "cand"], score(0.0), against="ref", keep="the reference")
    out = capsys.readouterr().out
    assert "decision: keep the reference (the rule is not met)" in out and seen == ["dev", "dev", "benchmark"]
    assert out.index("decision:") < out.index("NOT used to choose") and "- 20-MFCC +0.100" in out


def test_scored_candidates_gives_each_candidate_its_per_query_auc_within_a_package_and_the_queries_clusters(capsys):
    from musim.models.labels import LabelSet

    # package p: composers A (tracks 0, 1) and B (2); package q: C (3, 4) and D (5)
    labels = LabelSet([Path(f"/t{i}") for i in range(6)], ["A", "A", "B", "C", "C", "D"], ["p"] * 3 + ["q"] * 3)
    perfect = np.eye(6) + np.kron(np.eye(2), np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]))  # same composer closest
    inverse = -perfect
    mfcc = np.eye(6)
    per, base, packages, clusters = scored_candidates(Path("corpus"), labels, [perfect, inverse], mfcc)
    assert per.shape == (2, 4) and np.all(per[0] == 1.0) and np.all(per[1] == 0.0)  # queries: 0, 1, 3, 4
    assert packages.tolist() == ["p", "p", "q", "q"] and clusters == ["p/A", "p/A", "q/C", "q/C"]
    assert base.shape == (4,)
    assert "6 tracks of 4 composers; 4 queries in 2 (package, composer) clusters" in capsys.readouterr().out
