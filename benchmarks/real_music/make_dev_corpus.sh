#!/usr/bin/env bash
# Assemble the DEVELOPMENT real-music corpus (issue 18): Debian game soundtracks with credited composers,
# disjoint from the benchmark corpus of make_corpus.sh and from the packages reserved for independent
# evaluation, so that the descriptor family's choices can be made on data the benchmark never sees.
#
#   benchmarks/real_music/make_dev_corpus.sh [DATA_DIR]      (default: benchmarks/data/real_music_dev, git-ignored)
#
# Same layout as make_corpus.sh (DATA_DIR/corpus/<Artist>/..., DATA_DIR/manifest.csv), no MIDI part. Composers
# from the artist tags, then the composer tag (names without nicknames), then the copyright `Files:` stanzas,
# with benchmarks/real_music/dev_credits.csv first (credits transcribed from the packages' own credits files).
# Environment: DEV_PACKAGES (default below), PYTHON. Needs `apt-get update` done once.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="$(realpath -m "${1:-$REPO/benchmarks/data/real_music_dev}")"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
DEV_PACKAGES="${DEV_PACKAGES:-naev-data widelands-data colobot-common-sounds warmux-data extremetuxracer-data lordsawar-data xmoto-data lincity-ng-data}"

# The benchmark's packages (make_corpus.sh) and the reserved ones: never part of the development corpus.
BENCHMARK="supertux-data freedroidrpg-data hedgewars-data flare-game supertuxkart-data drascula-music planetblupi-music-ogg pushover-data tomatoes-data"
DENY="wesnoth-1.16-music singularity-music nexuiz-music ufoai-music warzone2100-music hyperrogue-music asc-music frozen-bubble-data openttd-openmsx"

for pkg in $DEV_PACKAGES; do
  for other in $BENCHMARK $DENY; do
    if [[ "$pkg" == "$other" || "$pkg" == wesnoth*-music ]]; then
      echo "make_dev_corpus: $pkg belongs to the benchmark or is reserved; remove it from DEV_PACKAGES" >&2
      exit 2
    fi
  done
done
if [[ "$DATA" == "$(realpath -m "$REPO/benchmarks/data/real_music")" ]]; then
  echo "make_dev_corpus: $DATA is the benchmark corpus's folder; choose another" >&2
  exit 2
fi

mkdir -p "$DATA/debs" "$DATA/pkgs"
cd "$DATA/debs"
for pkg in $DEV_PACKAGES; do
  if [[ -d "$DATA/pkgs/$pkg" ]]; then
    echo "make_dev_corpus: $pkg already unpacked"
    continue
  fi
  if ! ls "$pkg"_*.deb >/dev/null 2>&1; then
    echo "make_dev_corpus: downloading $pkg"
    apt-get download "$pkg" || { echo "make_dev_corpus: cannot download $pkg (run apt-get update?); skipped" >&2; continue; }
  fi
  dpkg -x "$(ls "$pkg"_*.deb | head -1)" "$DATA/pkgs/$pkg.partial"
  mv "$DATA/pkgs/$pkg.partial" "$DATA/pkgs/$pkg"
done

"$PYTHON" "$HERE/corpus.py" --data "$DATA" --packages $DEV_PACKAGES --deny $BENCHMARK $DENY \
  --credits "$HERE/dev_credits.csv" --composer-tags
echo "make_dev_corpus: corpus in $DATA/corpus, manifest $DATA/manifest.csv"
