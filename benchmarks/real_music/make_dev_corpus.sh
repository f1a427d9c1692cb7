#!/usr/bin/env bash
# Assemble the DEVELOPMENT real-music corpus (issue 18): Debian game soundtracks with credited composers,
# disjoint from the benchmark corpus of make_corpus.sh and from the packages reserved for independent
# evaluation, so that the descriptor family's choices can be made on data the benchmark never sees.
#
#   benchmarks/real_music/make_dev_corpus.sh [DATA_DIR]      (default: benchmarks/data/real_music_dev, git-ignored)
#
# Same layout as make_corpus.sh (DATA_DIR/corpus/<Artist>/..., DATA_DIR/manifest.csv). Composers
# from the artist tags, then the composer tag (names without nicknames), then the copyright `Files:` stanzas,
# with benchmarks/real_music/dev_credits.csv first (credits transcribed from the packages' own credits files;
# a row whose file pattern has a `/` names a composition outside a music folder, e.g. tuxmath's sounds/).
# The 17 packages: each has two or more credited composers, so that composer AUC within a package is defined
# (about 2.3 GB of downloads, redeclipse-data 0.9 GB of them; 175 files of 49 composers; with the MIDI part
# 221 files of 54 composers, the corpus every result up to stop 50 used: four scores, Beethoven op18no1/3, Haydn
# op1no1/3 and op74no1/2, Robert Schumann op41no1/4, made fluidsynth render without end and were left out; their
# openings are rendered since, so a corpus built now holds up to 8 files more).
# unknown-horizons (0.25 GB: Tobias Escher 4, Edvard Grieg 1) and blobwars-data (65 MB: DJ Sjors 7, Ambick 5,
# SinQ 2; Ogg files without a suffix, hence --suffixless-ogg) were added later: 194 files of 54 composers, with
# the MIDI part 246 files of 59 composers (a build of December 2026).
# A MIDI part like the benchmark's, of other composers (stop 34): music21 scores by DEV_MIDI_COMPOSERS, none of
# the benchmark's, rendered with the same two soundfonts, as the package music21-corpus-dev (needs fluidsynth and
# the soundfonts, as make_corpus.sh).
# pingus-data (11 MB: Impulse Tracker modules by H. Matthew Smith 5, Joseph Toscano 9, Yuri Sucupira 5, credited
# in the pingus package's AUTHORS) was added with the packages' tracker modules and MIDI files (--render-packaged:
# rendered whole, played once, up to 600 s, into DATA_DIR/rendered/; this also brings in tuxmath-data's three
# game*.mod, which its copyright credits), and heroes-sound-tracks (1 MB: FastTracker modules by Alexel 8 and Tnk 5,
# credited in the game's own mod/sound.conf; in a mod/ folder, so named by path in dev_credits.csv), a build of
# December 2026. Modules need `openmpt123` and a C compiler
# (`apt-get install -y openmpt123 gcc`), MIDI files fluidsynth and fluid-soundfont-gm; without them those files are
# left out with a message.
# Environment: DEV_PACKAGES, DEV_MIDI_COMPOSERS (defaults below), MIDI_PER_COMPOSER (6), MIDI_SECONDS (60),
# PYTHON. Needs `apt-get update` done once.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="$(realpath -m "${1:-$REPO/benchmarks/data/real_music_dev}")"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
DEV_PACKAGES="${DEV_PACKAGES:-naev-data widelands-data colobot-common-sounds warmux-data extremetuxracer-data lordsawar-data xmoto-data lincity-ng-data trackballs-data megaglest-data gigalomania-data freecol angrydd tuxmath-data redeclipse-data unknown-horizons blobwars-data pingus-data heroes-sound-tracks}"
# every music21 composer folder with five or more scores that the benchmark does not use
DEV_MIDI_COMPOSERS="${DEV_MIDI_COMPOSERS:-beethoven haydn josquin schumann_robert schumann_clara}"

# shellcheck source=benchmarks/real_music/debs.sh
source "$HERE/debs.sh"
refuse_listed make_dev_corpus "$BENCHMARK_PACKAGES $RESERVED_PACKAGES" \
  "belongs to the benchmark or is reserved; remove it from DEV_PACKAGES" $DEV_PACKAGES
refuse_listed make_dev_corpus "$BENCHMARK_MIDI_COMPOSERS" \
  "is a composer of the benchmark's MIDI part; remove it from DEV_MIDI_COMPOSERS" $DEV_MIDI_COMPOSERS
if [[ "$DATA" == "$(realpath -m "$REPO/benchmarks/data/real_music")" ]]; then
  echo "make_dev_corpus: $DATA is the benchmark corpus's folder; choose another" >&2
  exit 2
fi

unpack_packages make_dev_corpus "$DATA" $DEV_PACKAGES

"$PYTHON" "$HERE/corpus.py" --data "$DATA" --packages $DEV_PACKAGES --deny $BENCHMARK_PACKAGES $RESERVED_PACKAGES \
  --credits "$HERE/dev_credits.csv" --composer-tags --suffixless-ogg --render-packaged \
  --midi-composers $DEV_MIDI_COMPOSERS --midi-package music21-corpus-dev \
  --midi-per-composer "${MIDI_PER_COMPOSER:-6}" --midi-seconds "${MIDI_SECONDS:-60}"
echo "make_dev_corpus: corpus in $DATA/corpus, manifest $DATA/manifest.csv"
