/*
 * Co-occurrence kernels in C (musim.cooccurrence): co-listeners of every pair of artists by a sparse
 * accumulator over the user x artist edges, and the pairs laid out in both directions for lookups.
 *
 * layout() lays the edges (user, artist) out twice, by a counting sort: rows (each user's artists,
 * ascending) and columns (each artist's users, with where the artist sits in that user's row). pairs() then
 * takes one artist a at a time and walks, for each of its users, the rest of that user's row (the artists
 * b > a), counting each b in a dense array of counters and marking it in a bitmap (and its word in a summary
 * bitmap, one bit per 64 artists, so that finding the marks costs 1/4096 of the artists per artist, not
 * 1/64: the walk stays linear as catalogues grow); the marked b with enough co-listeners are emitted in
 * ascending order by walking the set bits, and reset. Work is sum over
 * users of d(d-1)/2 increments (d: the user's eligible artists) in a counter array that stays in cache,
 * without hashing or sorting pairs; the rows of the next users are prefetched, since reaching them is what
 * the walk waits on (a random read each). The bitmap costs nothing measurable where the former list of
 * touched b (a branch per increment) left the pairs unsorted: the pairs now come sorted by (a, b), so that
 * they are stored in pair order and the quality gate checks "once each" by one streaming pass.
 * pairs() releases the GIL, so that Python threads can take disjoint ranges of artists
 * (musim.cooccurrence). The plain fallback is DuckDB's self-join (sql/similarity/pairs.sql);
 * tests/test_cooccurrence.py and tests/similarity/test_colisten.py check both give the same pairs.
 *
 * symmetric() lays pairs (a < b) out in both directions grouped by artist, by one counting pass: the rows
 * of a published snapshot's pair lookup, written without a sort (musim.serving).
 *
 * summary() is what a build records of its pairs (the seed scale, the neighbour rows), in one pass over the
 * chunks pairs() made (they are handed to DuckDB as they are, not concatenated).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_buffer.h" /* Buffer: C memory read by numpy without a copy */

/* How many column entries ahead pairs() prefetches the user's row (8-16 measured alike at full scale). */
#define PREFETCH_AHEAD 8

/* ---------- layout ---------- */

static int get_array(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (view->len % itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes is not a whole number of %zd-byte items", what, view->len,
                     itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int compare_ids(const void *x, const void *y) {
    const int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

/* Sorts ids ascending: insertion sort for the short rows most users have, qsort for the long ones. */
static void sort_ids(int32_t *ids, size_t n) {
    if (n > 48) {
        qsort(ids, n, sizeof(int32_t), compare_ids);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        const int32_t v = ids[i];
        size_t j = i;
        for (; j > 0 && ids[j - 1] > v; j--) ids[j] = ids[j - 1];
        ids[j] = v;
    }
}

PyDoc_STRVAR(layout_doc,
"layout(users, artists, n_users, n_artists) -> (row_ptr, row_artists, col_ptr, col_user, col_tail, work)\n\n"
"users, artists: int32 arrays, one edge (user, artist) each, in any order, no edge twice; ids in\n"
"0..n_users-1 and 0..n_artists-1. Returns buffers: row_ptr (int64, n_users+1) and row_artists (int32):\n"
"each user's artists ascending; col_ptr (int64, n_artists+1), col_user (int32) and col_tail (int64):\n"
"each artist's users (ascending) and the position just after the artist in that user's row; work (int64,\n"
"n_artists): the counter increments pairs() makes for each artist (the rest of its users' rows).");

static PyObject *layout(PyObject *self, PyObject *args) {
    PyObject *users_obj, *artists_obj;
    Py_ssize_t n_users, n_artists;
    if (!PyArg_ParseTuple(args, "OOnn", &users_obj, &artists_obj, &n_users, &n_artists)) return NULL;
    if (n_users < 0 || n_artists < 0) return PyErr_Format(PyExc_ValueError, "negative n_users or n_artists");
    Py_buffer ub, ab;
    if (get_array(users_obj, &ub, 4, "users") < 0) return NULL;
    if (get_array(artists_obj, &ab, 4, "artists") < 0) {
        PyBuffer_Release(&ub);
        return NULL;
    }
    PyObject *result = NULL;
    const int32_t *users = ub.buf, *artists = ab.buf;
    size_t n = (size_t)(ub.len / 4);
    int64_t *row_ptr = calloc((size_t)n_users + 1, sizeof(int64_t));
    int64_t *col_ptr = calloc((size_t)n_artists + 1, sizeof(int64_t));
    /* the fill positions of the columns, then of the rows */
    int64_t *fill = calloc((size_t)(n_users > n_artists ? n_users : n_artists) + 1, sizeof(int64_t));
    int32_t *row_artists = malloc((n ? n : 1) * sizeof(int32_t));
    int32_t *col_user = malloc((n ? n : 1) * sizeof(int32_t));
    int64_t *col_tail = malloc((n ? n : 1) * sizeof(int64_t));
    int64_t *work = calloc((size_t)n_artists + 1, sizeof(int64_t));
    if (!row_ptr || !col_ptr || !fill || !row_artists || !col_user || !col_tail || !work) {
        PyErr_NoMemory();
        goto done;
    }
    if ((size_t)(ab.len / 4) != n) {
        PyErr_Format(PyExc_ValueError, "users and artists differ in length (%zd and %zd edges)", ub.len / 4,
                     ab.len / 4);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (users[i] < 0 || users[i] >= n_users || artists[i] < 0 || artists[i] >= n_artists) {
            PyErr_Format(PyExc_ValueError, "edge %zu (user %d, artist %d) is outside 0..%zd x 0..%zd", i,
                         (int)users[i], (int)artists[i], n_users - 1, n_artists - 1);
            goto done;
        }
        row_ptr[users[i] + 1]++;
        col_ptr[artists[i] + 1]++;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t u = 0; u < n_users; u++) row_ptr[u + 1] += row_ptr[u];
    for (Py_ssize_t a = 0; a < n_artists; a++) col_ptr[a + 1] += col_ptr[a];
    /* the users' rows by a counting sort on the user (edges come grouped by user, so these writes are nearly
       sequential), each row then sorted in place (rows are short and contiguous) */
    memcpy(fill, row_ptr, (size_t)n_users * sizeof(int64_t));
    for (size_t i = 0; i < n; i++) row_artists[fill[users[i]]++] = artists[i];
    for (Py_ssize_t u = 0; u < n_users; u++) sort_ids(row_artists + row_ptr[u], (size_t)(row_ptr[u + 1] - row_ptr[u]));
    /* the columns from the rows in user order: each artist's users ascending, so that pairs() walks the rows
       forward in memory (an earlier layout sorted the edges by artist first and read them back at random) */
    memcpy(fill, col_ptr, (size_t)n_artists * sizeof(int64_t));
    for (Py_ssize_t u = 0; u < n_users; u++) {
        for (int64_t q = row_ptr[u]; q < row_ptr[u + 1]; q++) {
            const int64_t k = fill[row_artists[q]]++;
            col_user[k] = (int32_t)u;
            col_tail[k] = q + 1;
            work[row_artists[q]] += row_ptr[u + 1] - (q + 1);
        }
    }
    Py_END_ALLOW_THREADS
    for (Py_ssize_t u = 0; u < n_users; u++) {
        for (int64_t q = row_ptr[u] + 1; q < row_ptr[u + 1]; q++) {
            if (row_artists[q] == row_artists[q - 1]) {
                PyErr_Format(PyExc_ValueError, "the edge (user %zd, artist %d) is given twice", u,
                             (int)row_artists[q]);
                goto done;
            }
        }
    }
    PyObject *bufs[6] = {
        buffer_from(row_ptr, ((size_t)n_users + 1) * sizeof(int64_t)),
        buffer_from(row_artists, n * sizeof(int32_t)),
        buffer_from(col_ptr, ((size_t)n_artists + 1) * sizeof(int64_t)),
        buffer_from(col_user, n * sizeof(int32_t)),
        buffer_from(col_tail, n * sizeof(int64_t)),
        buffer_from(work, (size_t)n_artists * sizeof(int64_t)),
    };
    row_ptr = col_ptr = col_tail = work = NULL;
    row_artists = col_user = NULL;
    if (bufs[0] && bufs[1] && bufs[2] && bufs[3] && bufs[4] && bufs[5])
        result = PyTuple_Pack(6, bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], bufs[5]);
    for (int i = 0; i < 6; i++) Py_XDECREF(bufs[i]);
done:
    free(row_ptr);
    free(col_ptr);
    free(fill);
    free(row_artists);
    free(col_user);
    free(col_tail);
    free(work);
    PyBuffer_Release(&ub);
    PyBuffer_Release(&ab);
    return result;
}

/* ---------- pairs ---------- */

typedef struct {
    int32_t *a, *b, *co;
    size_t len, cap;
} pairs_out;

static int out_reserve(pairs_out *o, size_t more) {
    if (o->len + more <= o->cap) return 0;
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + more) cap *= 2;
    int32_t *a = realloc(o->a, cap * sizeof(int32_t));
    if (a) o->a = a;
    int32_t *b = realloc(o->b, cap * sizeof(int32_t));
    if (b) o->b = b;
    int32_t *co = realloc(o->co, cap * sizeof(int32_t));
    if (co) o->co = co;
    if (!a || !b || !co) return -1;
    o->cap = cap;
    return 0;
}

PyDoc_STRVAR(pairs_doc,
"pairs(row_ptr, row_artists, col_ptr, col_user, col_tail, lo, hi, min_co, ids=None) -> (a, b, co)\n\n"
"The pairs (a, b) with lo <= a < hi, a < b and at least min_co co-listeners, from layout()'s buffers;\n"
"int32 buffers, sorted by (a, b). With ids (int32, one per artist index), a and b are ids[a] and ids[b]\n"
"(labelled here rather than by a gather over all pairs afterwards). Releases the GIL.");

static PyObject *pairs(PyObject *self, PyObject *args) {
    PyObject *objs[6] = {NULL, NULL, NULL, NULL, NULL, Py_None};
    Py_ssize_t lo, hi;
    int min_co;
    if (!PyArg_ParseTuple(args, "OOOOOnni|O", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &lo, &hi, &min_co,
                          &objs[5]))
        return NULL;
    const int n_in = objs[5] == Py_None ? 5 : 6;
    Py_buffer v[6];
    const Py_ssize_t sizes[6] = {8, 4, 8, 4, 8, 4};
    const char *names[6] = {"row_ptr", "row_artists", "col_ptr", "col_user", "col_tail", "ids"};
    int got = 0;
    for (; got < n_in; got++)
        if (get_array(objs[got], &v[got], sizes[got], names[got]) < 0) break;
    PyObject *result = NULL;
    pairs_out out = {0};
    int32_t *counts = NULL;
    uint64_t *marked = NULL, *summary = NULL;
    int failed = 0;
    if (got < n_in) goto done;
    const int64_t *row_ptr = v[0].buf, *col_ptr = v[2].buf, *col_tail = v[4].buf;
    const int32_t *row_artists = v[1].buf, *col_user = v[3].buf;
    Py_ssize_t n_artists = v[2].len / 8 - 1;
    if (n_artists < 0 || lo < 0 || hi > n_artists || lo > hi) {
        PyErr_Format(PyExc_ValueError, "artists %zd..%zd are not within 0..%zd", lo, hi, n_artists);
        goto done;
    }
    const int32_t *ids = n_in == 6 ? v[5].buf : NULL;
    if (ids && v[5].len / 4 != n_artists) {
        PyErr_Format(PyExc_ValueError, "ids: %zd ids for %zd artists", v[5].len / 4, n_artists);
        goto done;
    }
    if (min_co < 1) min_co = 1;
    size_t words = ((size_t)n_artists + 63) / 64;
    counts = calloc((size_t)n_artists + 1, sizeof(int32_t));
    const size_t summary_words = (words + 63) / 64;
    marked = calloc(words + 1, sizeof(uint64_t));
    summary = calloc(summary_words + 1, sizeof(uint64_t));
    if (!counts || !marked || !summary) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t a = lo; a < hi && !failed; a++) {
        const int64_t k0 = col_ptr[a], k1 = col_ptr[a + 1];
        if (k0 == k1) continue;
        for (int64_t k = k0; k < k1; k++) {
            if (k + PREFETCH_AHEAD < k1) {
                __builtin_prefetch(&row_ptr[col_user[k + PREFETCH_AHEAD] + 1]);
                __builtin_prefetch(&row_artists[col_tail[k + PREFETCH_AHEAD / 2]]);
            }
            const int64_t end = row_ptr[col_user[k] + 1];
            for (int64_t q = col_tail[k]; q < end; q++) {
                const int32_t b = row_artists[q];
                counts[b]++;
                marked[b >> 6] |= 1ull << (b & 63);
                summary[b >> 12] |= 1ull << ((b >> 6) & 63);
            }
        }
        /* the marked b ascending: the set bits of the summary name the marked words */
        for (size_t s = (((size_t)a + 1) >> 6) >> 6; s < summary_words && !failed; s++) {
            uint64_t word_bits = summary[s];
            summary[s] = 0;
            while (word_bits) {
                const size_t w = s * 64 + (size_t)__builtin_ctzll(word_bits);
                uint64_t bits = marked[w];
                word_bits &= word_bits - 1;
                marked[w] = 0;
                if (out_reserve(&out, (size_t)__builtin_popcountll(bits)) < 0) {
                    failed = 1;
                    break;
                }
                while (bits) {
                    const int32_t b = (int32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
                    const int32_t c = counts[b];
                    bits &= bits - 1;
                    counts[b] = 0;
                    if (c >= min_co) {
                        out.a[out.len] = ids ? ids[a] : (int32_t)a;
                        out.b[out.len] = ids ? ids[b] : b;
                        out.co[out.len++] = c;
                    }
                }
            }
        }
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *a_buf = buffer_from(out.a, out.len * sizeof(int32_t));
    PyObject *b_buf = buffer_from(out.b, out.len * sizeof(int32_t));
    PyObject *co_buf = buffer_from(out.co, out.len * sizeof(int32_t));
    out.a = out.b = out.co = NULL;
    if (a_buf && b_buf && co_buf) result = PyTuple_Pack(3, a_buf, b_buf, co_buf);
    Py_XDECREF(a_buf);
    Py_XDECREF(b_buf);
    Py_XDECREF(co_buf);
done:
    free(out.a);
    free(out.b);
    free(out.co);
    free(counts);
    free(marked);
    free(summary);
    for (int i = 0; i < got; i++) PyBuffer_Release(&v[i]);
    return result;
}

/* ---------- symmetric ---------- */

PyDoc_STRVAR(symmetric_doc,
"symmetric(a, b, co, n_ids) -> (ptr, neighbor, co, artist)\n\n"
"Pairs a < b (int32 ids in 0..n_ids-1, each pair once) in both directions, grouped by artist: the\n"
"neighbours of artist x are neighbor[ptr[x]:ptr[x+1]] with their counts co[...], those below x first (in\n"
"the input's order), then those above (in the input's order); pairs sorted by (a, b) give each artist's\n"
"neighbours ascending; artist[r] is the artist of row r. ptr is int64 (n_ids + 1), the others int32. The\n"
"neighbours above each artist (sequential writes, and the artist column) are laid out on a second thread\n"
"while this one scatters those below. Releases the GIL.");

/* The rows' neighbours above their artist, and the artist column: symmetric()'s second thread. */
typedef struct {
    const int32_t *a, *b, *co;
    size_t n;
    Py_ssize_t n_ids;
    const int64_t *ptr;
    int64_t *above;
    int32_t *neighbor, *counts, *artist;
} upper_rows;

static void *lay_out_upper(void *arg) {
    const upper_rows *u = arg;
    for (size_t i = 0; i < u->n; i++) {
        const int64_t up = u->above[u->a[i]]++;
        u->neighbor[up] = u->b[i];
        u->counts[up] = u->co[i];
    }
    for (Py_ssize_t x = 0; x < u->n_ids; x++)
        for (int64_t r = u->ptr[x]; r < u->ptr[x + 1]; r++) u->artist[r] = (int32_t)x;
    return NULL;
}

static PyObject *symmetric(PyObject *self, PyObject *args) {
    PyObject *objs[3];
    Py_ssize_t n_ids;
    if (!PyArg_ParseTuple(args, "OOOn", &objs[0], &objs[1], &objs[2], &n_ids)) return NULL;
    if (n_ids < 0) return PyErr_Format(PyExc_ValueError, "negative n_ids");
    Py_buffer v[3];
    const char *names[3] = {"a", "b", "co"};
    int got = 0;
    for (; got < 3; got++)
        if (get_array(objs[got], &v[got], 4, names[got]) < 0) break;
    PyObject *result = NULL;
    int64_t *ptr = NULL, *below = NULL, *above = NULL;
    int32_t *neighbor = NULL, *counts = NULL, *artist = NULL;
    if (got < 3) goto done;
    const int32_t *a = v[0].buf, *b = v[1].buf, *co = v[2].buf;
    const size_t n = (size_t)(v[0].len / 4);
    if ((size_t)(v[1].len / 4) != n || (size_t)(v[2].len / 4) != n) {
        PyErr_Format(PyExc_ValueError, "a, b and co differ in length (%zd, %zd and %zd pairs)", v[0].len / 4,
                     v[1].len / 4, v[2].len / 4);
        goto done;
    }
    ptr = calloc((size_t)n_ids + 1, sizeof(int64_t));
    below = malloc(((size_t)n_ids + 1) * sizeof(int64_t)); /* where the next neighbour below x goes */
    above = calloc((size_t)n_ids + 1, sizeof(int64_t));    /* where the next neighbour above x goes */
    neighbor = malloc((n ? 2 * n : 1) * sizeof(int32_t));
    counts = malloc((n ? 2 * n : 1) * sizeof(int32_t));
    artist = malloc((n ? 2 * n : 1) * sizeof(int32_t));
    if (!ptr || !below || !above || !neighbor || !counts || !artist) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (a[i] < 0 || b[i] >= n_ids || a[i] >= b[i]) {
            PyErr_Format(PyExc_ValueError, "pair %zu (%d, %d) is not a < b within 0..%zd", i, (int)a[i], (int)b[i],
                         n_ids - 1);
            goto done;
        }
        ptr[a[i] + 1]++;
        ptr[b[i] + 1]++;
        above[b[i]]++; /* for now: the neighbours below each artist */
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t x = 0; x < n_ids; x++) {
        ptr[x + 1] += ptr[x];
        below[x] = ptr[x];
        above[x] += ptr[x];
    }
    /* the rows above each artist on a second thread (here, if it cannot start), those below on this one: the
       two write disjoint rows */
    upper_rows upper = {a, b, co, n, n_ids, ptr, above, neighbor, counts, artist};
    pthread_t second;
    const int threaded = pthread_create(&second, NULL, lay_out_upper, &upper) == 0;
    if (!threaded) lay_out_upper(&upper);
    for (size_t i = 0; i < n; i++) {
        const int64_t down = below[b[i]]++;
        neighbor[down] = a[i];
        counts[down] = co[i];
    }
    if (threaded) pthread_join(second, NULL);
    Py_END_ALLOW_THREADS
    PyObject *bufs[4] = {
        buffer_from(ptr, ((size_t)n_ids + 1) * sizeof(int64_t)),
        buffer_from(neighbor, 2 * n * sizeof(int32_t)),
        buffer_from(counts, 2 * n * sizeof(int32_t)),
        buffer_from(artist, 2 * n * sizeof(int32_t)),
    };
    ptr = NULL;
    neighbor = counts = artist = NULL;
    if (bufs[0] && bufs[1] && bufs[2] && bufs[3]) result = PyTuple_Pack(4, bufs[0], bufs[1], bufs[2], bufs[3]);
    for (int i = 0; i < 4; i++) Py_XDECREF(bufs[i]);
done:
    free(ptr);
    free(below);
    free(above);
    free(neighbor);
    free(counts);
    free(artist);
    for (int i = 0; i < got; i++) PyBuffer_Release(&v[i]);
    return result;
}

PyDoc_STRVAR(summary_doc,
"summary(chunks, listeners, k) -> (seed_raw_max, neighbors)\n\n"
"What a similarity build records of its pairs, given as a sequence of chunks (a, b, co): int32 arrays, one\n"
"pair each over all chunks; ids index listeners, a float64 array of the artists' listener counts): the\n"
"largest raw seed score (co / la + co / lb) / 2 with la = listeners[a], lb = listeners[b], computed as\n"
"co * (la + lb) / (2 * la * lb) in doubles, one correctly rounded division of exact products (as\n"
"sql/similarity/views.sql's sim_seed_raw does), or -inf without pairs, and the sum over artists of min(pairs of the artist,\n"
"k). One pass; releases the GIL. musim.similarity.colisten.summarize is the numpy reference.");

/* One chunk of summary(): its best seed into *best and its pairs into degree; the index (within the chunk) of
   the first pair with an artist outside 0..n_ids-1, or n when there is none. */
static size_t summarize_chunk(const int32_t *a, const int32_t *b, const int32_t *co, size_t n,
                              const double *listeners, size_t n_ids, int64_t *degree, double *best) {
    for (size_t i = 0; i < n; i++) {
        if (a[i] < 0 || b[i] < 0 || (size_t)a[i] >= n_ids || (size_t)b[i] >= n_ids) return i;
        const double c = (double)co[i], la = listeners[a[i]], lb = listeners[b[i]];
        /* sim_seed_raw of sql/similarity/views.sql: the products are integers below 2^53, exact in doubles */
        const double seed = c * (la + lb) / (2.0 * la * lb);
        if (seed > *best) *best = seed;
        degree[a[i]]++;
        degree[b[i]]++;
    }
    return n;
}

static PyObject *summary(PyObject *self, PyObject *args) {
    PyObject *chunks_obj, *listeners_obj;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOn", &chunks_obj, &listeners_obj, &k)) return NULL;
    if (k < 0) return PyErr_Format(PyExc_ValueError, "negative k");
    PyObject *chunks = PySequence_Fast(chunks_obj, "chunks must be a sequence of (a, b, co)");
    if (!chunks) return NULL;
    Py_buffer lv, v[3];
    const char *names[3] = {"a", "b", "co"};
    PyObject *result = NULL;
    int64_t *degree = NULL;
    if (get_array(listeners_obj, &lv, 8, "listeners") < 0) {
        Py_DECREF(chunks);
        return NULL;
    }
    const double *listeners = lv.buf;
    const size_t n_ids = (size_t)(lv.len / 8);
    degree = calloc(n_ids ? n_ids : 1, sizeof(int64_t));
    if (!degree) {
        PyErr_NoMemory();
        goto done;
    }
    double best = -HUGE_VAL;
    size_t before = 0; /* pairs in the chunks before this one */
    for (Py_ssize_t c = 0; c < PySequence_Fast_GET_SIZE(chunks); c++) {
        PyObject *chunk = PySequence_Fast_GET_ITEM(chunks, c), *parts[3];
        if (!PyArg_ParseTuple(chunk, "OOO", &parts[0], &parts[1], &parts[2])) goto done;
        int got = 0;
        for (; got < 3; got++)
            if (get_array(parts[got], &v[got], 4, names[got]) < 0) break;
        size_t n = (size_t)(v[0].len / 4), bad = n;
        int ok = got == 3;
        if (ok && ((size_t)(v[1].len / 4) != n || (size_t)(v[2].len / 4) != n)) {
            PyErr_Format(PyExc_ValueError, "chunk %zd: a, b and co differ in length (%zd, %zd and %zd pairs)", c,
                         v[0].len / 4, v[1].len / 4, v[2].len / 4);
            ok = 0;
        }
        if (ok) {
            const int32_t *a = v[0].buf, *b = v[1].buf, *co = v[2].buf;
            Py_BEGIN_ALLOW_THREADS
            bad = summarize_chunk(a, b, co, n, listeners, n_ids, degree, &best);
            Py_END_ALLOW_THREADS
            if (bad < n) {
                PyErr_Format(PyExc_ValueError, "pair %zu (%d, %d) has an artist outside 0..%zd (the listeners given)",
                             before + bad, (int)a[bad], (int)b[bad], (Py_ssize_t)n_ids - 1);
                ok = 0;
            }
        }
        for (int i = 0; i < got; i++) PyBuffer_Release(&v[i]);
        if (!ok) goto done;
        before += n;
    }
    int64_t neighbors = 0;
    for (size_t x = 0; x < n_ids; x++) neighbors += degree[x] < k ? degree[x] : k;
    result = Py_BuildValue("(dL)", best, (long long)neighbors);
done:
    free(degree);
    PyBuffer_Release(&lv);
    Py_DECREF(chunks);
    return result;
}

static PyMethodDef methods[] = {
    {"layout", layout, METH_VARARGS, layout_doc},
    {"pairs", pairs, METH_VARARGS, pairs_doc},
    {"symmetric", symmetric, METH_VARARGS, symmetric_doc},
    {"summary", summary, METH_VARARGS, summary_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cooccurrence",
    "Co-occurrence kernels: pair counts by a sparse accumulator, pairs in both directions (musim.cooccurrence).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__cooccurrence(void) {
    if (PyType_Ready(&BufferType) < 0) return NULL;
    return PyModule_Create(&module);
}
