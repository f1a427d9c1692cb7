"""The four maintained ANN libraries of the lock on one catalogue: why musim's audio index is Voyager.

Each builds an HNSW graph with the same shape (M = 16 links, ef_construction = 200, cosine on L2-normalised
vectors) over the same synthetic catalogue; each is queried one vector at a time (what ``similar-audio`` does)
with the search depth ``ef`` that the library needs for recall@10 >= 0.95 (the lowest of a few tried). The
exact top-10 (float64 brute force) is the reference. Used by :mod:`benchmarks.bench_ann`; runnable alone::

    python -m benchmarks.ann_libraries --n 100000 --dim 64
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from musim.terminal import Parser

M = 16
EF_CONSTRUCTION = 200
EFS = (32, 64, 128, 256)
K = 10


def catalogue(n: int, dim: int, *, seed: int = 0, tracks_per_artist: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic catalogue shaped like audio embeddings: ``n`` tracks grouped by artist (a random
    centre per artist, tracks scattered around it; ReLU-like positive parts as the siamese/classifier
    dense layers give). Returns ``(embeddings (n, dim) float32, owner (n,) int64)``."""
    rng = np.random.default_rng(seed)
    artists = max(1, n // tracks_per_artist)
    owner = np.sort(rng.integers(0, artists, size=n)).astype(np.int64)
    centres = rng.normal(size=(artists, dim)).astype(np.float32)
    x = centres[owner] + rng.normal(scale=0.8, size=(n, dim)).astype(np.float32)
    return np.maximum(x, 0.0, dtype=np.float32) + 0.01, owner


def unit(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(n > 0, n, 1.0)).astype(np.float32)


def exact_top(x: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Exact top-``k`` row positions of each query (cosine; x and queries L2-normalised), in blocks."""
    out = np.empty((queries.shape[0], k), dtype=np.int64)
    step = max(1, 2**25 // x.shape[0])  # ~128 MB of scores per block
    for s in range(0, queries.shape[0], step):
        sims = queries[s:s + step] @ x.T
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
        out[s:s + step] = np.take_along_axis(part, order, axis=1)
    return out


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / truth.shape[1] for f, t in zip(found, truth,
                                                                                                  strict=True)]))


@dataclass
class Built:
    query: Callable[[np.ndarray, int], np.ndarray]   # (one vector, ef) -> top-K positions
    size: int                                          # serialized bytes


def _voyager(x: np.ndarray, threads: int) -> Built:
    import voyager

    idx = voyager.Index(voyager.Space.Cosine, x.shape[1], M=M, ef_construction=EF_CONSTRUCTION, random_seed=1,
                        max_elements=x.shape[0])
    idx.add_items(x, np.arange(x.shape[0]), num_threads=threads)
    buf = io.BytesIO()
    idx.save(buf)
    return Built(lambda q, ef: np.asarray(idx.query(q, k=K, query_ef=ef)[0], dtype=np.int64), buf.tell())


def _hnswlib(x: np.ndarray, threads: int) -> Built:
    import hnswlib

    idx = hnswlib.Index(space="cosine", dim=x.shape[1])
    idx.init_index(max_elements=x.shape[0], ef_construction=EF_CONSTRUCTION, M=M, random_seed=1)
    idx.add_items(x, np.arange(x.shape[0]), num_threads=threads)
    idx.set_num_threads(1)

    def query(q: np.ndarray, ef: int) -> np.ndarray:
        idx.set_ef(ef)
        return np.asarray(idx.knn_query(q, k=K)[0][0], dtype=np.int64)

    with tempfile.TemporaryDirectory() as tmp:
        idx.save_index(os.path.join(tmp, "i.bin"))
        size = os.path.getsize(os.path.join(tmp, "i.bin"))
    return Built(query, size)


def _usearch(x: np.ndarray, threads: int) -> Built:
    from usearch.index import Index

    idx = Index(ndim=x.shape[1], metric="cos", dtype="f32", connectivity=M, expansion_add=EF_CONSTRUCTION)
    idx.add(np.arange(x.shape[0]), x, threads=threads)

    def query(q: np.ndarray, ef: int) -> np.ndarray:
        idx.expansion_search = ef
        return np.asarray(idx.search(q, K, threads=1).keys, dtype=np.int64)

    return Built(query, len(idx.save()))


def _faiss(x: np.ndarray, threads: int) -> Built:
    import faiss

    faiss.omp_set_num_threads(threads)
    idx = faiss.IndexHNSWFlat(x.shape[1], M, faiss.METRIC_INNER_PRODUCT)
    idx.hnsw.efConstruction = EF_CONSTRUCTION
    idx.add(x)

    def query(q: np.ndarray, ef: int) -> np.ndarray:
        faiss.omp_set_num_threads(1)
        idx.hnsw.efSearch = ef
        return idx.search(q[None, :], K)[1][0].astype(np.int64)

    return Built(query, int(faiss.serialize_index(idx).size))


LIBRARIES: dict[str, Callable[[np.ndarray, int], Built]] = {
    "voyager": _voyager, "hnswlib": _hnswlib, "usearch": _usearch, "faiss": _faiss}


def compare(n: int, dim: int, *, queries: int = 500, threads: int = 2, seed: int = 0,
            libraries: tuple[str, ...] = tuple(LIBRARIES)) -> list[dict]:
    """One row per library: build seconds, index MiB, the lowest ef reaching recall@10 >= 0.95 (or the
    highest tried), its recall and single-query p50 in ms."""
    x = unit(catalogue(n, dim, seed=seed)[0])
    rng = np.random.default_rng(seed + 1)
    q = x[rng.choice(n, size=min(queries, n), replace=False)]
    truth = exact_top(x, q)
    out = []
    for name in libraries:
        start = time.perf_counter()
        built = LIBRARIES[name](x, threads)
        build_s = time.perf_counter() - start
        for ef in EFS:
            times, found = [], []
            for v in q:
                t0 = time.perf_counter()
                found.append(built.query(v, ef))
                times.append(time.perf_counter() - t0)
            r = recall(np.stack(found), truth)
            if r >= 0.95:
                break
        out.append({"library": name, "n": n, "dim": dim, "build_s": round(build_s, 2),
                    "size_mib": round(built.size / 2**20, 1), "ef": ef, "recall@10": round(r, 4),
                    "p50_ms": round(float(np.median(times)) * 1e3, 3)})
    return out


def main() -> None:
    parser = Parser(prog=f"python -m {__spec__.name}" if __spec__ else None, description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, nargs="*", default=[64, 128])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    for d in args.dim:
        for r in compare(args.n, d, threads=args.threads):
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
