"""Helper of make_corpus.sh: label the unpacked soundtrack packages, render the MIDI scores, write the manifest.

Artists come from the files' tags (musim's tag reader), else from the most specific ``Files:`` stanza of
``usr/share/doc/PKG/copyright`` that names the file (the catch-all ``Files: *`` names the game's authors,
not a composer: such files are left out and counted). For the development corpus
(``make_dev_corpus.sh``) two more sources, both off for the benchmark corpus so that its labels stay as they
were: ``--credits FILE``, a CSV of ``package,file,composer,evidence`` rows (``file`` an fnmatch pattern on the
file's name; a pattern with a ``/`` matches the file's installed path instead, and names that file as music
even outside a music folder: ``*/tuxmath/sounds/01_rush.ogg``) transcribed from a package's own credits files
(``authors.xml``, ``music/readme``, ...), which come first (an empty composer leaves matching files out: a
copyright holder that is a project, not a composer); and ``--composer-tags``, which reads the ``composer`` tag when the artist tags are empty and
normalises every name with :func:`credit_name` (``Nikola Whallon (saturn)`` and ``Nikola Whallon`` are one
composer), and ``--suffixless-ogg``, which takes an Ogg file without a suffix (blobwars-data's ``music/arctic``)
as music, linked with ``.ogg`` added. MIDI scores from the music21 corpus are rendered by
fluidsynth with each soundfont, so the same composer appears in several timbres; an ABC file whose voices
parse as an opus of tunes is merged into one score; only the opening kept is rendered (fluidsynth is stopped once
it has written it). A render that fails (a fluidsynth error, or 180 s without the opening) leaves
``DATA_DIR/midi/<composer>__<score>__<font>.failed``; reruns skip it until that file is deleted.

``--render-packaged`` (development corpus only) also takes a package's tracker modules (``.mod .xm .it .s3m``
...) and MIDI files as music, labelled like any file, and renders each once into
``DATA_DIR/rendered/PACKAGE/<file>.flac`` (16-bit stereo FLAC at :data:`RENDER_RATE`), linked from the corpus: a
module with ``openmpt123``, a MIDI file with fluidsynth and FluidR3 as the MIDI part does. The whole piece is
rendered, played once without its loop, up to :data:`PACKAGED_SECONDS` (the longest window excerpt_dev reads):
an opening would give every window past it the same audio, and the whole-track candidate needs real lengths.
openmpt123 runs with every option fixed, without dither, and with ``fixed_seed.c`` preloaded (compiled with ``cc``
into ``DATA_DIR/rendered/PACKAGE/fixed_seed.so``), which fixes libopenmpt's random seed: modules with random effects
otherwise render differently each time. A render that fails or takes over :data:`RENDER_TIMEOUT_S` leaves
``<file>.failed`` beside where its FLAC would be; reruns skip it until that file is deleted.
"""

from __future__ import annotations

import csv
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from musim.library.artists import is_placeholder
from musim.library.formats import AUDIO_SUFFIXES
from musim.library.tags import read_tags_of
from musim.terminal import Parser

if TYPE_CHECKING:
    import numpy as np

#: fluidsynth's output rate and how long one render may take (a render that exceeds it is remembered as failed).
RENDER_RATE = 22050
RENDER_TIMEOUT_S = 180.0
SOUNDFONTS = {"fluidr3": Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
              "timgm6mb": Path("/usr/share/sounds/sf2/TimGM6mb.sf2")}
#: tracker modules and MIDI files a package may hold (``--render-packaged``), and how much of each is rendered
MODULE_SUFFIXES = frozenset({".mod", ".xm", ".it", ".s3m", ".mptm", ".669", ".mtm", ".med", ".okt", ".stm", ".far",
                             ".ult", ".umx", ".mo3"})
MIDI_SUFFIXES = frozenset({".mid", ".midi"})
PACKAGED_SECONDS = 600
FIXED_SEED_C = Path(__file__).with_name("fixed_seed.c")
_YEARS = re.compile(r"(?:\(c\)|©|copyright)?\s*\d{4}(?:\s*[-–,]\s*\d{2,4})*\s*,?", re.I)


def copyright_stanzas(path: Path) -> list[dict[str, str]]:
    """DEP-5 stanzas with a ``Files:`` field: ``files`` (patterns), ``holder`` (first holder), ``licence``."""
    if not path.is_file():
        return []
    stanzas, current, key = [], {}, None
    for line in path.read_text(errors="replace").splitlines() + [""]:
        if not line.strip():
            if "files" in current:
                stanzas.append(current)
            current, key = {}, None
        elif line[0] in " \t" and key:
            current[key] += "\n" + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            current[key] = value.strip()
    out = []
    for s in stanzas:
        holders = [h for h in (s.get("copyright") or "").split("\n") if h.strip()]
        holder = re.sub(r"<[^>]*>", "", _YEARS.sub("", holders[0])).strip(" ,.") if holders else ""
        out.append({"files": s["files"].split(), "holder": holder, "licence": (s.get("license") or "").split("\n")[0]})
    return out


def match_stanza(rel: str, stanzas: list[dict[str, str]]) -> dict[str, str] | None:
    """The most specific stanza whose pattern matches the end of the installed path ``rel``."""
    best, best_len = None, 0
    for s in stanzas:
        for pattern in s["files"]:
            if pattern == "*":
                continue
            parts = pattern.split("/")
            for i in range(len(parts)):
                tail = "/".join(parts[i:])
                if tail and tail != "*" and (fnmatch.fnmatch(rel, "*/" + tail) or fnmatch.fnmatch(rel, tail)):
                    if len(tail) > best_len:
                        best, best_len = s, len(tail)
                    break
    return best


def credit_name(name: str) -> str:
    """A credited name without its nickname: a trailing ``(nick)`` or ``aka nick`` is dropped, spaces folded."""
    name = re.sub(r"\s+aka\s+.*$", "", name, flags=re.I)
    name = re.sub(r"\s*\([^)]*\)\s*$", "", name)
    return re.sub(r"\s+", " ", name).strip()


def read_credits(path: Path | None) -> dict[str, list[tuple[str, str]]]:
    """``package -> [(file-name pattern, composer)]`` from a credits CSV (``package,file,composer,evidence``)."""
    if path is None:
        return {}
    out: dict[str, list[tuple[str, str]]] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(line for line in fh if not line.startswith("#")):
            if not (row.get("evidence") or "").strip():
                raise SystemExit(f"corpus: {path}: {row['package']} {row['file']} names no evidence")
            out.setdefault(row["package"].strip(), []).append((row["file"].strip(), row["composer"].strip()))
    return out


def credited(rel: str, credits: list[tuple[str, str]]) -> str | None:
    """The composer of the first credits row whose pattern matches the file (``""``: left out), or None: a pattern
    with a ``/`` is matched against the installed path ``rel``, any other against the file's name."""
    name = rel.rsplit("/", 1)[-1]
    return next((composer for pattern, composer in credits
                 if fnmatch.fnmatch(rel if "/" in pattern else name, pattern)), None)


def named_by_path(rel: str, credits: list[tuple[str, str]]) -> bool:
    """Whether a credits row names the installed path ``rel`` (a pattern with a ``/``): music outside a music
    folder (``sounds/``, ``maps/``) that the package's credits name as a composition."""
    return any("/" in pattern and fnmatch.fnmatch(rel, pattern) for pattern, _ in credits)


def composer_tag(path: Path) -> str | None:
    """The file's ``composer`` tag (Vorbis ``composer``, ID3 ``TCOM``), or None."""
    import mutagen

    try:
        tagged = mutagen.File(path, easy=True)
    except Exception:  # noqa: BLE001 - mutagen raises many types for broken files
        return None
    tags = getattr(tagged, "tags", None)
    values = tags.get("composer") if tags is not None else None
    return next((v for v in values or [] if not is_placeholder(v)), None)


def is_suffixless_ogg(path: Path) -> bool:
    """Whether ``path`` has no suffix and is an Ogg file (blobwars-data's ``music/arctic``, with ``arctic.tags``)."""
    if path.suffix:
        return False
    with open(path, "rb") as fh:
        return fh.read(4) == b"OggS"


def safe(name: str) -> str:
    return re.sub(r"[/\\\x00-\x1f]+", " ", name).strip()[:80] or "unnamed"


def label_packages(data: Path, packages: list[str], deny: set[str], rows: list[dict[str, str]], *,
                   credits: dict[str, list[tuple[str, str]]] | None = None, composer_tags: bool = False,
                   suffixless_ogg: bool = False, render_packaged: bool = False) -> None:
    corpus = data / "corpus"
    renderable = (MODULE_SUFFIXES | MIDI_SUFFIXES) if render_packaged else frozenset()
    for pkg in packages:
        if pkg in deny:
            raise SystemExit(f"corpus: {pkg} is reserved for independent evaluation")
        root = data / "pkgs" / pkg
        if not root.is_dir():
            continue
        stanzas = copyright_stanzas(root / "usr" / "share" / "doc" / pkg / "copyright")
        licence_all = next((s["licence"] for s in copyright_stanzas(root / "usr/share/doc" / pkg / "copyright")
                            if "*" in s["files"]), "")
        kept = dropped = unrendered = 0
        pkg_credits = (credits or {}).get(pkg, [])
        for f in sorted(p for p in root.rglob("*") if p.is_file() and (
                p.suffix.lower() in AUDIO_SUFFIXES | renderable or suffixless_ogg and is_suffixless_ogg(p))):
            rel = f.relative_to(root).as_posix()
            if "/music" not in rel.lower() and "/sound/music" not in rel.lower() and pkg not in (
                    "drascula-music", "planetblupi-music-ogg", "tomatoes-data") and not named_by_path(rel, pkg_credits):
                continue  # sound effects are not music
            tags = read_tags_of(str(f))
            stanza = match_stanza(rel, stanzas)
            artist = next((a for a in (tags.albumartist, tags.artist) if not is_placeholder(a)), None)
            source = "tag"
            if artist is None and composer_tags:
                artist, source = composer_tag(f), "composer tag"
            if artist is None and stanza and stanza["holder"]:
                artist, source = stanza["holder"], "copyright"
            from_credits = credited(rel, pkg_credits)
            if from_credits is not None:
                artist, source = from_credits or None, "credits file"
            if artist is not None and composer_tags:
                artist = credit_name(artist) or None
            if artist is None:
                dropped += 1
                continue
            target = f
            if f.suffix.lower() in renderable:
                target = data / "rendered" / pkg / f"{f.name}.flac"
                if not render_packaged_file(f, target, artist=artist, title=tags.title or f.stem):
                    unrendered += 1
                    continue
            dest = corpus / safe(artist) / f"{pkg}__{f.name}{'.flac' if target != f else '' if f.suffix else '.ogg'}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():
                dest.symlink_to(target)
            rows.append({"path": str(dest.relative_to(data)), "artist": artist, "title": tags.title or f.stem,
                         "source_package": pkg, "licence": (stanza or {}).get("licence") or licence_all,
                         "artist_source": source, "timbre": ""})
            kept += 1
        print(f"corpus: {pkg}: {kept} music files labelled, {dropped} without a credited composer left out"
              + (f", {unrendered} not rendered" if unrendered else ""))


def midi_artist(folder: str) -> str:
    """The artist name of a music21 composer folder: ``bach`` -> ``Bach``, ``schumann_robert`` -> ``Robert Schumann``."""
    family, _, given = folder.partition("_")
    return f"{given.capitalize()} {family.capitalize()}" if given else family.capitalize()


def render_opening(sf2: Path, mid: Path, raw: Path, *, seconds: float, sr: int,
                   timeout_s: float | None = None) -> np.ndarray:
    """The first ``seconds`` of fluidsynth's render of ``mid`` with ``sf2`` (float32, frames x 2 channels, as
    soundfile reads a 16-bit WAV), read from its raw 16-bit output (``raw``, deleted after) while it renders:
    fluidsynth is stopped once it has written them, so a score that renders without end (a note never released:
    four music21 scores wrote 7.8 GB in 180 s) costs its opening, not the timeout. Raises
    ``subprocess.TimeoutExpired`` after ``timeout_s`` (default :data:`RENDER_TIMEOUT_S`) without the opening,
    ``CalledProcessError`` when fluidsynth fails."""
    import numpy as np

    timeout_s = RENDER_TIMEOUT_S if timeout_s is None else timeout_s
    frames = int(seconds * sr)
    cmd = ["fluidsynth", "-ni", "-q", "-g", "0.7", "-r", str(sr), "-T", "raw", "-O", "s16", "-E", "little",
           "-F", str(raw), str(sf2), str(mid)]
    try:
        with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
            deadline = time.monotonic() + timeout_s
            while proc.poll() is None:
                if raw.exists() and raw.stat().st_size >= frames * 4:  # enough: the rest is not needed
                    proc.kill()
                    break
                if time.monotonic() > deadline:
                    proc.kill()
                    raise subprocess.TimeoutExpired(cmd, timeout_s)
                time.sleep(0.05)
            else:
                if proc.returncode != 0:
                    raise subprocess.CalledProcessError(proc.returncode, cmd, stderr=proc.stderr.read())
        pcm = np.fromfile(raw, dtype="<i2", count=frames * 2) if raw.exists() else np.zeros(0, dtype="<i2")
    finally:
        raw.unlink(missing_ok=True)
    return (pcm[: pcm.size - pcm.size % 2].reshape(-1, 2) / np.float32(32768)).astype(np.float32)


def fixed_seed_library(folder: Path) -> Path:
    """``fixed_seed.c`` compiled with ``cc`` into ``folder/fixed_seed.so`` (once; via a partial file)."""
    library = folder / "fixed_seed.so"
    if not library.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / "fixed_seed.so.partial"
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(partial), str(FIXED_SEED_C)], check=True,
                       capture_output=True)
        partial.replace(library)
    return library


def openmpt_command(module: Path, wav: Path, *, sr: int, seconds: int) -> list[str]:
    """openmpt123 rendering ``module`` once (no repeat) into a 16-bit stereo WAV at ``sr``, every playback option
    given (no dither, the default gain, stereo separation, 8-tap interpolation and ramping), at most ``seconds``."""
    return ["openmpt123", "--batch", "--quiet", "--no-progress", "--no-meters", "--no-float", "--dither", "0",
            "--samplerate", str(sr), "--channels", "2", "--gain", "0", "--stereo", "100", "--filter", "8",
            "--ramping", "-1", "--repeat", "0", "--end-time", str(seconds), "--force", "--output", str(wav),
            str(module)]


def render_module(module: Path, wav: Path, *, seconds: int, sr: int, timeout_s: float | None = None) -> np.ndarray:
    """The samples of openmpt123's render of ``module`` (int16, frames x 2), through ``wav`` (deleted after), with
    :func:`fixed_seed_library` preloaded so that random effects render the same each time. Raises
    ``subprocess.TimeoutExpired`` after ``timeout_s`` (default :data:`RENDER_TIMEOUT_S`), ``CalledProcessError``
    when openmpt123 or the compiler fails."""
    import soundfile as sf

    env = dict(os.environ, LD_PRELOAD=str(fixed_seed_library(wav.parent)))
    try:
        subprocess.run(openmpt_command(module, wav, sr=sr, seconds=seconds), env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True,
                       timeout=RENDER_TIMEOUT_S if timeout_s is None else timeout_s)
        y, rate = sf.read(str(wav), dtype="int16", always_2d=True)
    finally:
        wav.unlink(missing_ok=True)
    if rate != sr:
        raise subprocess.CalledProcessError(0, "openmpt123", stderr=f"wrote {rate} Hz, not {sr}".encode())
    return y


def render_packaged_file(src: Path, out: Path, *, artist: str, title: str) -> bool:
    """Render a package's module or MIDI file ``src`` whole (up to :data:`PACKAGED_SECONDS`) into the FLAC ``out``,
    tagged with ``artist`` and ``title``; True when ``out`` exists after. A failed or silent render leaves
    ``out`` with the suffix ``.failed`` (reruns skip it until that file is deleted); a missing renderer skips."""
    import mutagen
    import numpy as np
    import soundfile as sf

    failed = out.with_suffix(".failed")
    if out.exists():
        return True
    if failed.exists():
        print(f"corpus: {src.name}: not rendered ({failed.read_text().strip()}, in an earlier run; delete {failed} "
              "to retry)", file=sys.stderr)
        return False
    is_midi = src.suffix.lower() in MIDI_SUFFIXES
    needs = ["fluidsynth"] if is_midi else ["openmpt123", "cc"]
    if any(shutil.which(tool) is None for tool in needs) or is_midi and not SOUNDFONTS["fluidr3"].is_file():
        print(f"corpus: {src.name}: {' or '.join(needs)} missing, not rendered (apt-get install -y "
              + ("fluidsynth fluid-soundfont-gm" if is_midi else "openmpt123 gcc") + ")", file=sys.stderr)
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        if is_midi:
            y = render_opening(SOUNDFONTS["fluidr3"], src, out.with_suffix(".raw"), seconds=PACKAGED_SECONDS,
                               sr=RENDER_RATE)
        else:
            y = render_module(src, out.with_suffix(".wav"), seconds=PACKAGED_SECONDS, sr=RENDER_RATE)
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
        print(f"corpus: {src.name}: not rendered ({type(exc).__name__})", file=sys.stderr)
        failed.write_text(type(exc).__name__ + "\n")
        return False
    if y.size == 0 or not np.any(y):
        print(f"corpus: {src.name}: rendered silent, left out", file=sys.stderr)
        failed.write_text("silent\n")
        return False
    partial = out.with_suffix(".partial.flac")
    sf.write(str(partial), y, RENDER_RATE, format="FLAC", subtype="PCM_16")
    tagged = mutagen.File(partial)
    tagged["artist"], tagged["title"] = artist, title
    tagged["genre"] = "rendered: " + ("fluidr3" if is_midi else "openmpt123")
    tagged.save()
    partial.replace(out)
    return True


def render_midi(data: Path, composers: list[str], per_composer: int, seconds: float,
                rows: list[dict[str, str]], *, package: str = "music21-corpus") -> None:
    fonts = {k: v for k, v in SOUNDFONTS.items() if v.is_file()}
    if not shutil.which("fluidsynth") or len(fonts) < 2:
        print("corpus: fluidsynth or the soundfonts are missing: MIDI part skipped "
              "(apt-get install -y fluidsynth fluid-soundfont-gm timgm6mb-soundfont)", file=sys.stderr)
        return
    import mutagen
    import numpy as np
    import soundfile as sf
    from music21 import corpus as m21
    from music21 import stream

    midi_dir = data / "midi"
    midi_dir.mkdir(parents=True, exist_ok=True)
    for composer in composers:
        name = midi_artist(composer)
        done = 0
        seen: set[str] = set()
        for score_path in m21.getComposer(composer):
            if done >= per_composer:
                break
            score_file = Path(str(score_path))
            stem = safe(f"{score_file.parent.name}_{score_file.stem}")  # movement2 of several works
            if stem in seen:  # the same score in two encodings (.mxl and .xml, ...)
                continue
            seen.add(stem)
            rendered = 0
            mid = midi_dir / f"{composer}__{stem}.mid"
            try:
                if not mid.exists():
                    score = m21.parse(score_path)
                    if isinstance(score, stream.Opus):  # an ABC file's voices are tunes of an opus: one score
                        score = score.mergeScores()
                    try:  # render only the opening (MIDI_SECONDS are kept): long movements cost minutes
                        score = score.measures(1, 48)
                    except Exception:  # noqa: BLE001 - scores without measures: render all of it
                        pass
                    score.write("midi", fp=str(mid))
            except Exception as exc:  # noqa: BLE001 - some scores do not expand (ExpanderException, ...)
                print(f"corpus: {composer}/{stem}: not rendered ({type(exc).__name__})", file=sys.stderr)
                continue
            for font, sf2 in fonts.items():
                out = data / "corpus" / name / f"{stem}__{font}.flac"
                out.parent.mkdir(parents=True, exist_ok=True)
                failed = midi_dir / f"{composer}__{stem}__{font}.failed"  # a rerun does not wait for it again
                if failed.exists():
                    print(f"corpus: {stem} with {font}: not rendered ({failed.read_text().strip()}, in an earlier "
                          f"run; delete {failed} to retry)", file=sys.stderr)
                    continue
                if not out.exists():
                    raw = midi_dir / f"{composer}__{stem}__{font}.raw"
                    try:
                        y = render_opening(sf2, mid, raw, seconds=seconds, sr=RENDER_RATE)
                    except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
                        print(f"corpus: {stem} with {font}: not rendered ({type(exc).__name__})", file=sys.stderr)
                        failed.write_text(type(exc).__name__ + "\n")
                        continue
                    if y.size == 0 or float(np.abs(y).max()) == 0.0:
                        continue
                    sf.write(str(out), y, RENDER_RATE, format="FLAC")
                    tagged = mutagen.File(out)
                    tagged["artist"], tagged["title"], tagged["genre"] = name, stem, f"rendered: {font}"
                    tagged.save()
                rows.append({"path": str(out.relative_to(data)), "artist": name, "title": stem,
                             "source_package": package, "licence": "public-domain score; soundfont "
                             + ("MIT (fluid-soundfont-gm)" if font == "fluidr3" else "GPL-2 (timgm6mb-soundfont)"),
                             "artist_source": "music21", "timbre": font})
                rendered += 1
            done += rendered > 0
        print(f"corpus: {name}: {done} scores x {len(fonts)} soundfonts")


def main() -> int:
    ap = Parser(prog=f"python -m {__spec__.name}" if __spec__ else None, description=__doc__)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--packages", nargs="*", default=[])
    ap.add_argument("--deny", nargs="*", default=[])
    ap.add_argument("--credits", type=Path, help="CSV package,file,composer,evidence (first; empty composer: drop)")
    ap.add_argument("--composer-tags", action="store_true", help="the composer tag too; nicknames dropped")
    ap.add_argument("--suffixless-ogg", action="store_true",
                    help="Ogg files without a suffix too (linked with .ogg added)")
    ap.add_argument("--render-packaged", action="store_true",
                    help="tracker modules (openmpt123) and MIDI files (fluidsynth) in the packages too, rendered whole")
    ap.add_argument("--midi-composers", nargs="*", default=[])
    ap.add_argument("--midi-per-composer", type=int, default=6)
    ap.add_argument("--midi-seconds", type=float, default=60.0)
    ap.add_argument("--midi-package", default="music21-corpus", help="the MIDI part's source_package (its group)")
    args = ap.parse_args()
    rows: list[dict[str, str]] = []
    label_packages(args.data, args.packages, set(args.deny), rows, credits=read_credits(args.credits),
                   composer_tags=args.composer_tags, suffixless_ogg=args.suffixless_ogg,
                   render_packaged=args.render_packaged)
    render_midi(args.data, args.midi_composers, args.midi_per_composer, args.midi_seconds, rows,
                package=args.midi_package)
    with open(args.data / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["path", "artist", "title", "source_package", "licence", "artist_source", "timbre"])
        writer.writeheader()
        writer.writerows(rows)
    artists = {r["artist"] for r in rows}
    print(f"corpus: {len(rows)} files by {len(artists)} artists; manifest {args.data / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
