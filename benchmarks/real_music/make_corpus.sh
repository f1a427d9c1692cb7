#!/usr/bin/env bash
# Assemble a composer-labelled real-music corpus for development and benchmarks (data never committed).
#
#   benchmarks/real_music/make_corpus.sh [DATA_DIR]      (default: benchmarks/data/real_music, git-ignored)
#
# 1. Game soundtracks from Debian: `apt-get download` + `dpkg -x` (nothing is installed); composers from the
#    files' Vorbis/ID3 tags, else from usr/share/doc/PKG/copyright `Files:` stanzas; licences from there too.
# 2. Scores with known composers from the music21 corpus, written to MIDI and rendered by fluidsynth with two
#    General MIDI soundfonts, so that composer and timbre vary independently.
# Then DATA_DIR/corpus/<Artist>/... holds the audio and DATA_DIR/manifest.csv lists
# path,artist,title,source_package,licence,artist_source,timbre.
#
# Environment: PACKAGES (space-separated, default below), MIDI_COMPOSERS, MIDI_PER_COMPOSER (default 6),
# MIDI_SECONDS (default 60), PYTHON (default .venv/bin/python). Needs `apt-get update` done once, and
# `apt-get install -y fluidsynth fluid-soundfont-gm timgm6mb-soundfont` for the MIDI part (skipped without).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="$(realpath -m "${1:-$REPO/benchmarks/data/real_music}")"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
# shellcheck source=benchmarks/real_music/debs.sh
source "$HERE/debs.sh"
PACKAGES="${PACKAGES:-$BENCHMARK_PACKAGES}"
refuse_listed make_corpus "$RESERVED_PACKAGES" "is reserved for independent evaluation; remove it from PACKAGES" $PACKAGES

unpack_packages make_corpus "$DATA" $PACKAGES

"$PYTHON" "$HERE/corpus.py" --data "$DATA" --packages $PACKAGES --deny $RESERVED_PACKAGES \
  --midi-composers ${MIDI_COMPOSERS:-$BENCHMARK_MIDI_COMPOSERS} \
  --midi-per-composer "${MIDI_PER_COMPOSER:-6}" --midi-seconds "${MIDI_SECONDS:-60}"
echo "make_corpus: corpus in $DATA/corpus, manifest $DATA/manifest.csv"
