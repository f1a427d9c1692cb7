# Sourced by make_corpus.sh and make_dev_corpus.sh: which Debian packages each may use, and fetching them
# without installing them.

# The benchmark corpus's packages (make_corpus.sh's default; never part of the development corpus).
BENCHMARK_PACKAGES="supertux-data freedroidrpg-data hedgewars-data flare-game supertuxkart-data drascula-music planetblupi-music-ogg pushover-data tomatoes-data"
# The benchmark corpus's music21 composers (make_corpus.sh's MIDI part; never in the development corpus's).
BENCHMARK_MIDI_COMPOSERS="bach palestrina monteverdi mozart"
# Kept for the independent evaluation of this project: never fetched, never used here (nor any wesnoth*-music).
RESERVED_PACKAGES="wesnoth-1.16-music singularity-music nexuiz-music ufoai-music warzone2100-music hyperrogue-music asc-music frozen-bubble-data openttd-openmsx"

#   refuse_listed NAME "LIST" WHY PACKAGE...
# Exits 2 with "NAME: PACKAGE WHY" for the first PACKAGE that is in LIST (or is a wesnoth*-music package).
refuse_listed() {
  local name="$1" listed="$2" why="$3" pkg other
  shift 3
  for pkg in "$@"; do
    for other in $listed; do
      if [[ "$pkg" == "$other" || "$pkg" == wesnoth*-music ]]; then
        echo "$name: $pkg $why" >&2
        exit 2
      fi
    done
  done
}

#   unpack_packages NAME DATA_DIR PACKAGE...
#
# Each package is downloaded with `apt-get download` into DATA_DIR/debs (kept for reruns) and unpacked with
# `dpkg -x` into DATA_DIR/pkgs/PACKAGE (via a .partial folder, so an interrupted unpack is redone); a package
# that cannot be downloaded is skipped with a message. NAME prefixes the messages.
unpack_packages() {
  local name="$1" data="$2" pkg
  shift 2
  mkdir -p "$data/debs" "$data/pkgs"
  for pkg in "$@"; do
    if [[ -d "$data/pkgs/$pkg" ]]; then
      echo "$name: $pkg already unpacked"
      continue
    fi
    if ! ls "$data/debs/$pkg"_*.deb >/dev/null 2>&1; then
      echo "$name: downloading $pkg"
      (cd "$data/debs" && apt-get download "$pkg") \
        || { echo "$name: cannot download $pkg (run apt-get update?); skipped" >&2; continue; }
    fi
    rm -rf "$data/pkgs/$pkg.partial"
    dpkg -x "$(ls "$data/debs/$pkg"_*.deb | head -1)" "$data/pkgs/$pkg.partial"
    mv "$data/pkgs/$pkg.partial" "$data/pkgs/$pkg"
  done
}
