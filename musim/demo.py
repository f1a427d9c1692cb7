"""``make demo``: the whole job end to end through Airflow, on embedded defaults.

Generates a synthetic Last.FM dump with taste communities (and quirks) into the landing folder (its answer file,
``synth-truth.json``, beside it under ``$MUSIM_HOME/demo``: the landing scan takes dump files only) and
synthesized audio for the top artists, runs the DAGs with ``airflow dags test`` against a SQLite metadata
DB under ``$MUSIM_HOME/airflow`` (ingest → similarity → acquire → features → train_siamese →
train_embeddings), then prints what a user would look at: loaded/rejected counts, the most similar
artists of a few artists, each with its community, so the structure is visible, the comparison table of
every model family and where their plots and model cards are.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from musim import serving, sql, warehouse
from musim.acquire.providers.local import LocalFolderProvider
from musim.cli.options import count, number, open_share
from musim.cli.options import seed as seed_option
from musim.config import get_settings
from musim.embedded import airflow_env, prepare_airflow, run_dag
from musim.similarity.query import similar_artists
from musim.synth.lastfm import PLAYS_FILE, PROFILE_FILE, TRUTH_FILE, write_lastfm_dump
from musim.terminal import Parser, run_entry_point


def demo_dump(settings, *, users: int, artists: int, communities: int, seed: int) -> Path:
    """Step 1: the synthetic dump's plays and profiles files in the landing folder (``demo-SEED``), unless made
    before; its answer file (every artist's community) is kept outside the landing area, under
    ``$MUSIM_HOME/demo/lastfm-SEED``, where the scan would report it as no dump file. Returns the answer file."""
    landing = Path(settings.ingest.landing) / f"demo-{seed}"
    made = settings.home / "demo" / f"lastfm-{seed}"
    truth = made / TRUTH_FILE
    if (landing / TRUTH_FILE).exists() and not truth.exists():  # an older demo's home: out of the landing area
        made.mkdir(parents=True, exist_ok=True)
        shutil.move(landing / TRUTH_FILE, truth)
    landed = [landing / PLAYS_FILE, landing / PROFILE_FILE]
    if truth.exists() and all(p.exists() for p in landed):
        print(f"1. the demo dump is already in the landing folder: {landing}")
        return truth
    # a demo killed before its dump landed left the answer file without it: the same seed writes it again
    s = write_lastfm_dump(made, users=users, artists=artists, communities=communities, quirks=0.002, seed=seed,
                          max_artists_per_user=20)
    landing.mkdir(parents=True, exist_ok=True)
    for written, target in zip((s.plays_path, s.profiles_path), landed, strict=True):
        # whole files into the landing folder: moved under a hidden name (the scan skips it), then renamed
        partial = target.with_name(f".{target.name}.partial")
        shutil.move(written, partial)
        partial.replace(target)
    print(f"1. generated a Last.FM dump: {s.lines:,} lines, {s.users:,} users, {s.artists} artists in "
          f"{s.communities} taste communities, {sum(s.quirk_counts.values())} quirky lines -> {landing}")
    return truth


def _marked(marker: Path) -> dict | None:
    """What the demo music folder was made for (its marker), or None (no marker, or an older demo's)."""
    try:
        made = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return made if isinstance(made, dict) else None


def acquire_demo_audio(truth_file: Path, env: dict[str, str], log: Path, settings, *, artists: int, clip_s: float,
                       seed: int) -> None:
    """Step 4: a local folder of synthesized tracks for the top artists (each sounding like its taste
    community), acquired through the local provider into the object store by the audio_acquire DAG."""
    from musim.acquire.pipeline import catalogue, status_counts
    from musim.synth.folders import write_music_folder

    truth = json.loads(truth_file.read_text())
    community = {a["name"].casefold(): a["community"] for a in truth["artists"]}
    top = [r["name"] for r in catalogue(artists, settings=settings)]
    wanted = [(name, community[name.casefold()]) for name in top if name.casefold() in community]
    music = settings.home / "music" / f"demo-{seed}"
    marker = music / ".complete"
    made_for = {"clip_s": clip_s, "artists": [name for name, _ in wanted]}
    started = time.perf_counter()
    remade = _marked(marker) != made_for
    if remade:  # none yet, cut short, or made for other artists or another clip length
        shutil.rmtree(music, ignore_errors=True)  # the demo's own folder: written again whole
        import concurrent.futures as cf
        import functools

        # mp3 encoding dominates: one process per core, each writing its share of the artists
        workers = max(1, min(4, os.cpu_count() or 1, len(wanted)))
        write = functools.partial(write_music_folder, tracks_per_artist=3, fmt="mp3", duration=clip_s,
                                  genre_names=truth["genres"])
        with cf.ProcessPoolExecutor(max_workers=workers) as pool:
            parts = pool.map(write, [music / f"part-{i}" for i in range(workers)],
                             [wanted[i::workers] for i in range(workers)])
            files = [f for part in parts for f in part]
        marker.write_text(json.dumps(made_for))
        print(f"4. synthesized {len(files)} tagged mp3 tracks ({clip_s:g} s each) for the top {len(wanted)} artists "
              f"in {time.perf_counter() - started:.0f} s -> {music}")
    else:
        print(f"4. the demo music folder is already there: {music}")
    # new tracks: the artists an earlier run gave up on (its tracks rejected, e.g. too short) are tried again
    took = run_dag("audio_acquire", env, log, {"top_n": artists, "providers": ["local"], "local_path": str(music),
                                               "per_artist": 3, "retry": remade})
    counts = status_counts(settings)
    by_status = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts["artists"].items() if v)
    print(f"   Airflow DAG audio_acquire ran in {took:.0f} s: {counts['tracks']} previews of "
          f"{counts['artists_with_tracks']} artists in {settings.storage.object_store} (artists: {by_status}); "
          "list them with `musim previews`")


#: Small settings of the demo's training run (minutes on two CPU cores): a narrower network, 3,000 artist
#: pairs per epoch, and 30% of the artists held out. The share matters more than the network: with 6
#: communities a test set of 9 or 18 artists holds 1-3 artists of a query's community, so even a perfect
#: "same community" scorer does not beat random at precision@5 there (measured: 0.67 vs 0.69 with 9 test
#: artists of 60); with 36 test artists of 120 it does (0.68-0.79 vs 0.15), and the evaluation can tell
#: a model from the baselines.
TRAIN_CONF = {"train_pairs": 3000, "embedding_size": 32, "seed": 0, "k": 10,
              "hparams": {"conv_filters": [16, 32, 32], "validation_pairs": 600}}


def _cell(c: dict | None) -> str:
    return "" if not c or c.get("mean") is None else f"{c['mean']:.3f} [{c['lo']:.3f}, {c['hi']:.3f}]"


def train_demo_model(env: dict[str, str], log: Path, settings, *, epochs: int, test_share: float) -> str | None:
    """Step 6: the train_siamese DAG with small settings; prints the evaluation against the baselines."""
    from musim.cli.output import print_table
    from musim.models import registry
    from musim.models.families.compare import version_comparisons

    conf = TRAIN_CONF | {"epochs": epochs, "hparams": TRAIN_CONF["hparams"] | {"test_share": test_share}}
    took = run_dag("train_siamese", env, log, conf)
    with warehouse.writer(settings) as con:
        entry = registry.list_models(con, family="siamese")[0]
        decision = next((d for d in registry.promotions(con, family="siamese") if d["version"] == entry.version), None)
        names = list(dict.fromkeys(["precision@3", "precision@5", entry.primary_metric]))
        paired = version_comparisons(con, entry.version, ["precision@3", "precision@5"], against=["random", "pixel"])
        champ = registry.champion(con, "siamese")
        n_test = sql.query(con, "models/registry_test_set_size.sql", test_set_id=entry.test_set_id).fetchone()[0]
        published = sql.query(con, "demo/latest_audio_build.sql").fetchone()
    training = entry.training or {}
    split = (training.get("data") or {}).get("split") or {}
    print(f"6. Airflow DAG train_siamese ran in {took:.0f} s: {entry.version} trained {training.get('epochs_run')} "
          f"epochs in {training.get('seconds', 0):.0f} s on {split.get('train')} artists; evaluated on {n_test} "
          f"held-out artists (mean [95% bootstrap CI] over query artists):")
    scorers = sorted(entry.metrics, key=lambda s: (s != "model", s))
    print_table([[s, *[_cell(entry.metrics[s].get(m)) for m in names]] for s in scorers], ["scorer", *names])
    for c in paired:
        verdict = "beats it beyond the CI" if c["a_better"] else "does NOT beat it beyond the CI"
        print(f"   model - {c['b']:<6} {c['metric']}: {c['diff']:+.3f} [{c['lo']:+.3f}, {c['hi']:+.3f}]  {verdict}")
    if decision is not None:
        print(f"   promotion vs {decision['against']} on {decision['metric']}: "
              f"{'PROMOTED' if decision['promoted'] else 'not promoted'} "
              f"({decision['reason'].removeprefix('not promoted: ')})")
    if champ is None:  # honest promotion: served by version for the example, the champion stays unset
        proc = subprocess.run([sys.executable, "-m", "musim.cli", "models", "publish", entry.version, "--k",
                               str(TRAIN_CONF["k"]), "--json"], env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"   no champion, and publishing {entry.version} by version failed: {proc.stderr.strip()[-500:]}")
            return None
        served = json.loads(proc.stdout)
        print(f"   no champion: {entry.version} is published by version for step 7 (`musim models publish "
              f"{entry.version}`; `similar-audio --model {entry.version}`): audio neighbours of {served['artists']} "
              f"artists and {served['tracks']} tracks, not the serving model")
        return entry.version
    print(f"   champion: {champ.version}; its embeddings give the audio neighbours of {published[0]} artists and "
          f"{published[1]} tracks in the new snapshot (`musim models show {champ.version}`)")
    return champ.version


def similar_audio_example(env: dict[str, str], settings, truth: dict, version: str, *,
                          clip_s: float) -> tuple[str, Path] | None:
    """Step 7: ``musim similar-audio`` with the siamese ``version`` (the champion, or the version step 6 published
    when none was promoted) on a new synthesized clip of an artist it never trained on (returns the artist and
    the clip, for step 8's families)."""
    from musim.models import registry
    from musim.synth.files import safe_name, write_clip
    from musim.synth.folders import artist_seed_for
    from musim.synth.sound import synthesize_clip

    with warehouse.writer(settings) as con:
        entry = registry.get_model(con, version)
        champion = registry.champion(con, "siamese")
        held_out = sql.query(con, "demo/held_out_artists.sql", test_set_id=entry.test_set_id,
                             dump_id=entry.dump_id).fetchall()
    community = {a["name"]: a["community"] for a in truth["artists"]}
    genres = truth["genres"]
    name = next(n for (n,) in held_out if n in community)
    folder = settings.home / "demo-query"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{safe_name(name)} - unreleased.mp3"
    y = synthesize_clip(community=community[name], artist_seed=artist_seed_for(name), track_no=9, sr=22050,
                        duration=clip_s)
    write_clip(path, y, sr=22050, format="mp3")
    by_version = champion is None or champion.version != version
    found = _similar_audio(env, path, "siamese", model=version if by_version else None)
    if isinstance(found, str):
        print(f"7. musim similar-audio failed: {found}")
        return None
    same = sum(community.get(a["artist"]) == community[name] for a in found["artists"])
    how = f"--model {version}" if by_version else "--family siamese"
    note = f" ({version}, not promoted)" if by_version else ""
    print(f"\n7. a new clip of {name} (community '{genres[community[name]]}', held out of training), by its audio "
          f"alone{note} — `musim similar-audio \"{path}\" {how} --k 5`: {same}/5 from the same community")
    for a in found["artists"]:
        c = community.get(a["artist"])
        mark = "  <- the artist itself" if a["artist"] == name else ""
        print(f"  {a['rank']}. {a['artist']:<24} {a['score']:.3f}  [{genres[c] if c is not None else '?'}]{mark}")
    return name, path


def _similar_audio(env: dict[str, str], path: Path, family: str, k: int = 5, model: str | None = None) -> dict | str:
    """``musim similar-audio PATH --family FAMILY --json`` (``--model VERSION`` instead when given) in a fresh
    process: its result, or its error."""
    which = ["--model", model] if model else ["--family", family]
    proc = subprocess.run([sys.executable, "-m", "musim.cli", "similar-audio", str(path), *which,
                           "--k", str(k), "--json"], env=env, capture_output=True, text=True, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else proc.stderr.strip()[-500:]


#: Small settings of the demo's train_embeddings run (a few minutes on two CPU cores): the families' demo
#: parameters (:data:`musim.models.families.DEMO_PARAMS`: narrow networks, few epochs) and the siamese run's
#: seed and test share, so every family holds out the same test artists and the comparison table pairs them.
EMBEDDINGS_CONF = {"families": ["cnn_classifier", "autoencoder", "contrastive"], "seed": 0, "n_boot": 500, "k": 10}


def train_demo_families(env: dict[str, str], log: Path, settings, *, test_share: float) -> list[str]:
    """Step 8: the train_embeddings DAG with small settings: a CNN genre classifier on 256 x 256 slices, a
    convolutional autoencoder on the log-mels and the self-supervised contrastive encoder, evaluated on the
    siamese model's test artists."""
    from musim.models import registry
    from musim.models.families import DEMO_PARAMS

    conf = EMBEDDINGS_CONF | {"test_share": test_share, "classifier": DEMO_PARAMS["cnn_classifier"],
                              "autoencoder": DEMO_PARAMS["autoencoder"], "contrastive": DEMO_PARAMS["contrastive"]}
    took = run_dag("train_embeddings", env, log, conf)
    with warehouse.writer(settings) as con:
        entries = [registry.list_models(con, family=f)[0] for f in conf["families"]]
        n_test = sql.query(con, "models/registry_test_set_size.sql", test_set_id=entries[0].test_set_id).fetchone()[0]
    print(f"\n8. Airflow DAG train_embeddings ran in {took:.0f} s: {len(entries)} families trained on the same audio "
          f"features and evaluated on the same {n_test} held-out artists:")
    for e in entries:
        training = e.training or {}
        what = []
        for key, rep in (training.get("classification") or {}).items():
            if rep.get("accuracy") is not None:
                what.append(f"{training.get('label', 'genre')} accuracy {key.replace('_', ' ')} {rep['accuracy']:.0%}")
        rec = training.get("reconstruction") or {}
        if rec.get("mae_db") is not None:
            what.append(f"reconstruction error {rec['mae_db']:.1f} dB")
        score = e.score() or {}
        if score.get("mean") is not None:
            what.append(f"{e.primary_metric} {score['mean']:.3f} [{score['lo']:.3f}, {score['hi']:.3f}]")
        print(f"   {e.version}: {e.status}, {training.get('epochs_run')} epochs in {training.get('seconds', 0):.0f} s; "
              + "; ".join(what))
    return [e.version for e in entries]


def families_similar_audio(env: dict[str, str], settings, truth: dict, name: str, clip: Path) -> None:
    """Step 8, continued: step 7's new clip of ``name`` by each embedding family's champion (cosine of
    embeddings)."""
    from musim.models import registry

    community = {a["name"]: a["community"] for a in truth["artists"]}
    with warehouse.writer(settings) as con:
        champions = {f: registry.champion(con, f) for f in EMBEDDINGS_CONF["families"]}
        latest = {f: registry.list_models(con, family=f)[0].version for f in EMBEDDINGS_CONF["families"]}
        why = {f: next((d["reason"].removeprefix("not promoted: ") for d in registry.promotions(con, family=f)
                        if d["version"] == latest[f]), "")
               for f in EMBEDDINGS_CONF["families"]}
    for family, entry in champions.items():
        if entry is None:
            print(f"   {family}: no champion ({latest[family]}: {why[family] or 'not promoted'}), nothing served as "
                  f"{family}: `musim models publish {latest[family]}` serves it by version")
            continue
        found = _similar_audio(env, clip, family)
        if isinstance(found, str):
            print(f"   musim similar-audio --family {family} failed: {found}")
            continue
        same = sum(community.get(a["artist"]) == community.get(name) for a in found["artists"])
        print(f"   the new clip by {found['model_version']} (`--family {family}`): {same}/5 from the same community "
              f"({', '.join(a['artist'] for a in found['artists'][:3])}, …)")


#: The plots next to a model, in the order printed, with what they show.
PLOTS = {"confusion_by_track.png": "confusion matrix, held-out tracks", "confusion_by_artist.png":
         "confusion matrix, held-out artists", "tsne.png": "t-SNE of the embeddings", "kmeans.png":
         "k-means clusters on the t-SNE", "dendrogram.png": "dendrogram (agglomerative clustering)",
         "reconstruction.png": "original vs reconstructed spectrogram", "tsne_descriptors.png":
         "t-SNE of the handcrafted descriptors", "curves.png": "training curves"}


def sql_hint(artist: str) -> str:
    """The query the demo suggests for ``musim sql``: ``artist``'s neighbours in the latest dump, by cosine, in rank
    order (as the README's examples ask)."""
    quoted = artist.replace("'", "''")
    # sql-in-python: a query printed for the user to type (musim never runs it); the name is quoted as SQL quotes
    return (f"SELECT rank, neighbor, score FROM similar_artists JOIN latest_dump USING (dump_id) WHERE artist = "
            f"'{quoted}' AND metric = 'cosine' ORDER BY rank LIMIT 5")


def print_quality(settings) -> None:
    """The latest result of every quality gate the DAGs ran, and where its Data Docs are."""
    con = warehouse.connect(settings=settings, read_only=True)
    try:
        results = sql.rows(con, "queries/quality_latest.sql")
    finally:
        con.close()
    if not results:
        return
    print("\ndata-quality gates (Great Expectations; `musim quality report`):")
    for r in results:
        rows_note = f"{r['rows_validated']:,} rows validated" if r["rows_validated"] else "whole-table facts"
        print(f"  {r['dataset']:<16} {r['status'].upper():<7} {r['expectations'] - r['failed']}/{r['expectations']} "
              f"expectations, {rows_note}")
    from musim.quality.report import docs_link
    from musim.storage import open_store

    store = open_store(settings.storage.object_store)
    docs = next((docs_link(r["docs_url"], store=store) for r in sorted(results, key=lambda r: r["created_at"], reverse=True)
                 if r["docs_url"]), None)
    if docs:
        print(f"  Data Docs of the latest run: {docs}")


def print_models(settings) -> None:
    """The comparison table of every family (what `musim models compare` prints) and, per model shown,
    the URLs of its plots and model card."""
    from musim.models.constants import CARD_FILE
    from musim.models.families import compare_families
    from musim.models.registry import object_prefix
    from musim.storage import open_store

    store = open_store(settings.storage.object_store)
    with warehouse.writer(settings) as con:
        comparison = compare_families(con)
    print("\nmodel families compared on co-listening similarity of the same test artists (`musim models compare`; "
          "a NOTE marks a row whose version trained on their audio):")
    print(comparison.text())
    versions = [(r["name"], r["version"]) for r in comparison.rows if r["kind"] == "family"]
    if versions:
        print("\nplots and model cards:")
    for family, version in versions:
        keys = {o.key.rsplit("/", 1)[-1]: o.key for o in store.list(object_prefix(family, version))}
        print(f"  {version}:")
        for name, what in PLOTS.items():
            if name in keys:
                print(f"    {what + ':':<42} {store.url(keys[name])}")
        if CARD_FILE in keys:
            print(f"    {'model card:':<42} {store.url(keys[CARD_FILE])}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--real" in argv:  # `make demo-real`: the audio path on the real-music corpus (musim.demo_real)
        from musim.demo_real import main as real_main

        return real_main([a for a in argv if a != "--real"])
    parser = Parser(prog="python -m musim.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true",
                        help="the real-music demo instead (`python -m musim.demo --real --help`)")
    parser.add_argument("--users", type=count(1), default=3000)
    parser.add_argument("--artists", type=count(2), default=240)
    parser.add_argument("--communities", type=count(1), default=6)
    parser.add_argument("--seed", type=seed_option, default=42)
    parser.add_argument("--audio-artists", type=count(1), default=120,
                        help="top artists given synthesized audio (120: enough held-out artists to rank)")
    parser.add_argument("--clip-seconds", type=number(LocalFolderProvider.min_audio_s, 600.0), default=15.0,
                        help="length of each synthesized track, at least the local provider's "
                             f"{LocalFolderProvider.min_audio_s:g} s (mp3 encoding costs ~0.16 s per 15 s clip)")
    parser.add_argument("--train-epochs", type=count(1, 10_000), default=10, help="epochs of the demo's siamese training")
    parser.add_argument("--test-share", type=open_share, default=0.3, help="share of the audio artists held out for testing")
    parser.add_argument("--no-train", action="store_true", help="stop after the audio features (steps 1-5)")
    parser.add_argument("--no-families", action="store_true",
                        help="train the siamese model only (skip step 8: the classifier, autoencoder and contrastive "
                             "families)")
    args = parser.parse_args(argv)

    settings = get_settings()
    settings.ensure_dirs()
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / "demo-airflow.log"
    env = airflow_env(settings.home)
    print(f"musim demo: MUSIM_HOME={settings.home}; Airflow logs in {log}")

    truth_file = demo_dump(settings, users=args.users, artists=args.artists, communities=args.communities,
                           seed=args.seed)
    prepare_airflow(env, log)
    took = run_dag("lastfm_ingest", env, log, {"settle_s": 0})  # the dump above is written whole
    print(f"2. Airflow DAG lastfm_ingest ran in {took:.0f} s")
    took = run_dag("artist_similarity", env, log, {"min_listeners": 20, "k": 50})
    print(f"3. Airflow DAG artist_similarity ran in {took:.0f} s and published {serving.current_path().name}")
    acquire_demo_audio(truth_file, env, log, settings, artists=args.audio_artists, clip_s=args.clip_seconds,
                       seed=args.seed)
    took = run_dag("audio_features", env, log, {"batch_size": 64})
    with warehouse.writer(settings) as con:
        mels, rejected = sql.query(con, "demo/feature_counts.sql").fetchone()
    print(f"5. Airflow DAG audio_features ran in {took:.0f} s: {mels} spectrogram arrays (log-mel and slices), "
          f"{rejected} rejected previews; see `musim features list`")
    truth = json.loads(truth_file.read_text())
    clip = None
    siamese = None if args.no_train else train_demo_model(env, log, settings, epochs=args.train_epochs,
                                                          test_share=args.test_share)
    if siamese:
        clip = similar_audio_example(env, settings, truth, siamese, clip_s=args.clip_seconds)
    families = not args.no_train and not args.no_families
    if families:
        train_demo_families(env, log, settings, test_share=args.test_share)
        if clip is not None:
            families_similar_audio(env, settings, truth, *clip)

    with warehouse.writer(settings) as con:
        rows = sql.query(con, "demo/latest_dump.sql").fetchall()
    dump_id, name, lines, loaded, rejected, users, artists = rows[0]
    print("\n" + "=" * 40 + " what to look at " + "=" * 40)
    print(f"\ndump {dump_id[:12]} ({name}): {lines:,} lines = {loaded:,} loaded + {rejected:,} rejected "
          f"({users:,} users, {artists:,} artists); see them with `musim rejects`")
    community = {a["name"]: a["community"] for a in truth["artists"]}
    genres = truth["genres"]
    con = serving.open_snapshot(settings)
    shown: set[int] = set()
    top = sql.query(con, "demo/top_artists.sql").fetchall()
    for (artist,) in top:
        c = community.get(artist)
        if c is None or c in shown:
            continue
        shown.add(c)
        answer = similar_artists(con, artist, k=5, metric="jaccard")
        display, neighbors = answer.artist, answer.neighbors
        same = sum(community.get(n.artist) == c for n in neighbors)
        print(f"\nmost similar to {display} (community '{genres[c]}'), jaccard: {same}/5 from the same community")
        for n in neighbors:
            print(f"  {n.rank}. {n.artist:<24} {n.score:.3f}  {n.co_listeners:>4} co-listeners  "
                  f"[{genres[community[n.artist]] if n.artist in community else '?'}]")
        if len(shown) == 3:
            break
    con.close()
    print_quality(settings)
    if not args.no_train:
        print_models(settings)
    name = top[0][0]
    print(f"\nTry: .venv/bin/musim similar \"{name}\" --metric cosine   |   .venv/bin/musim sql \"{sql_hint(name)}\"")
    if not args.no_train:
        print("     .venv/bin/musim models list   |   .venv/bin/musim models compare   |   "
              ".venv/bin/musim models show VERSION")
        file = f'"{clip[1]}"' if clip else "FILE.mp3"
        model = f"--model {siamese}" if siamese else "--model VERSION"
        print(f"     .venv/bin/musim similar-audio {file} {model} --k 10 (or --family siamese|cnn_classifier|autoencoder"
              f"|contrastive: its champion, else its version published last)   |   .venv/bin/musim embed "
              f"{settings.home / 'demo-query'} --out embeddings.npz {model}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_entry_point("musim demo", main))
