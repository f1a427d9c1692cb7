"""Run the C co-occurrence kernels built with AddressSanitizer and UndefinedBehaviorSanitizer over random
edge sets, edge cases and bad input (run by tests/test_cooccurrence_sanitizers.py in its own process, with
the sanitizer runtimes preloaded). Usage: ``python -m tests.sanitized_cooccurrence EXTENSION``.

Only numpy is imported beside the extension: a report can only come from the kernels.
"""

from __future__ import annotations

import sys

from tests.sanitizers import load_extension


def main(extension: str) -> None:
    load_extension(extension, "musim._cooccurrence")
    import numpy as np

    from musim.cooccurrence import pair_summary, symmetric_pairs
    from tests.pair_counts import pair_counts

    rng = np.random.default_rng(0)
    checked = 0
    for trial in range(40):
        n_users, n_artists = int(rng.integers(0, 60)), int(rng.integers(0, 50))
        if n_users and n_artists:
            mask = rng.random((n_users, n_artists)) < rng.uniform(0.01, 0.6)
            users, artists = (x.astype(np.int32) for x in np.nonzero(mask))
            order = rng.permutation(users.size)
            users, artists = users[order], artists[order]
            dense = mask.astype(np.int64)
            want = dense.T @ dense
        else:
            users = artists = np.empty(0, np.int32)
            want = np.zeros((n_artists, n_artists), np.int64)
        for min_co in (1, 3):
            a, b, co = pair_counts(users, artists, n_users, n_artists, min_co, threads=1 + trial % 3)
            ia, ib = np.triu_indices(n_artists, k=1)  # in pair order, as the kernel gives them
            keep = want[ia, ib] >= min_co
            assert np.array_equal(a, ia[keep]) and np.array_equal(b, ib[keep]), trial
            assert np.array_equal(co, want[ia, ib][keep]), trial
            artist, neighbor, counts = symmetric_pairs(a, b, co)
            full = np.where(np.eye(n_artists, dtype=bool) | (want < min_co), 0, want)
            ix, iy = np.nonzero(full)  # row-major: by artist, then neighbour
            assert np.array_equal(artist, ix) and np.array_equal(neighbor, iy), trial
            assert np.array_equal(counts, full[ix, iy]), trial
            listeners = dense.sum(axis=0).astype(np.float64) if n_users else np.ones(n_artists)
            seed_max, neighbors = pair_summary([(a, b, co)], listeners, 2)
            seed = co * (listeners[a] + listeners[b]) / (2.0 * listeners[a] * listeners[b])
            assert seed_max == (seed.max() if seed.size else -np.inf), trial
            assert neighbors == np.minimum(np.bincount(artist, minlength=n_artists), 2).sum(), trial
            checked += 2
    for users, artists, n_users, n_artists in (([0, 0], [1, 1], 1, 2), ([0], [5], 1, 2), ([-1], [0], 1, 1),
                                               ([0, 1], [0], 2, 1)):
        try:
            pair_counts(np.array(users, np.int32), np.array(artists, np.int32), n_users, n_artists, 1)
        except ValueError:
            checked += 1
        else:
            raise AssertionError(f"bad edges accepted: {users}, {artists}")
    for a, b in (([0], [9]), ([-1], [0])):
        try:
            pair_summary([(np.array(a, np.int32), np.array(b, np.int32), np.ones(1, np.int32))], np.ones(3), 1)
        except ValueError:
            checked += 1
        else:
            raise AssertionError(f"a pair outside the listeners accepted: {a}, {b}")
    for a, b in (([1], [1]), ([2], [1]), ([-1], [0])):
        try:
            symmetric_pairs(np.array(a, np.int32), np.array(b, np.int32), np.ones(1, np.int32))
        except ValueError:
            checked += 1
        else:
            raise AssertionError(f"bad pairs accepted: {a}, {b}")
    print(f"{checked} checks of the co-occurrence kernels under the sanitizers")


if __name__ == "__main__":
    main(sys.argv[1])
