/*
 * One pass over a Last.FM 360K plays file ('user-sha1 \t artist-mbid \t artist-name \t plays'), in C.
 *
 * musim.ingest.plays_360k feeds it the file in blocks of whole lines (with the GIL released, beside the
 * sha256 thread). Per line it checks what must be checked line by line (irregular bytes, field count,
 * plays) and, for a good line, appends one row of integers: the index of its user id and of its artist
 * spelling (each distinct value stored once, exactly as in the file), its plays and its line number.
 * The per-distinct checks, identities and ids happen in SQL on those integers. Rare lines (irregular,
 * rejected, plays not written as a plain integer) are reported back as events; Python and SQL give them
 * their reasons.
 *
 * merge_runs() then merges duplicate user-artist rows once users and spellings have ids: one sequential
 * pass, one user's run of rows at a time, as a Last.FM dump lists each user's lines together.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "_prescan_rules.h" /* the pre-scan rules, generated from musim/ingest/prescan_rules.py */
#include "../_buffer.h"     /* Buffer: C memory read by numpy without a copy */

/* ---------- a growable array of plain values ---------- */

typedef struct {
    char *data;
    size_t len;   /* items */
    size_t cap;   /* items */
    size_t item;  /* bytes per item */
} vec;

static int vec_reserve(vec *v, size_t more) {
    if (v->len + more <= v->cap) return 0;
    size_t cap = v->cap ? v->cap : 1024;
    while (cap < v->len + more) cap *= 2;
    char *p = realloc(v->data, cap * v->item);
    if (!p) return -1;
    v->data = p;
    v->cap = cap;
    return 0;
}

#define VEC_PUSH(v, type, value) (((type *)(v).data)[(v).len++] = (value))

/* ---------- a vec handed to numpy without a copy (musim/_buffer.h) ---------- */

/* Moves the vec's memory into a new Buffer (the vec is left empty; on failure the memory is freed). */
static PyObject *buffer_from_vec(vec *v) {
    PyObject *b = buffer_from(v->data, v->len * v->item);
    v->data = NULL;
    v->len = v->cap = 0;
    return b;
}

/* ---------- distinct strings: an arena and an open-addressing table ---------- */

static inline uint64_t load_tail(const unsigned char *p, size_t n) {
    uint64_t w = 0;
    memcpy(&w, p, n);
    return w;
}

static inline uint64_t hash_bytes(const unsigned char *p, size_t n, uint64_t seed) {
    uint64_t h = seed ^ (n * 0x9E3779B97F4A7C15ULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    if (n) {
        h = (h ^ load_tail(p, n)) * 0x94D049BB133111EBULL;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
}

/* A key's record in the arena, 8-byte aligned: its length, where its second part starts, its bytes. */
typedef struct {
    uint32_t length;
    uint32_t split;
} keyhead;

/* A slot of the table: the full hash (most probes end here) and where the key lives. */
typedef struct {
    uint64_t hash;
    uint32_t index;  /* key index + 1; 0: empty */
    uint32_t record; /* arena offset / 8 */
} slot;

typedef struct {
    vec arena;     /* char: keyhead + bytes per key, each padded to 8 bytes */
    vec records;   /* uint32 per key: its record (arena offset / 8) */
    slot *slots;
    size_t mask;
    size_t count;
} strtab;

static int strtab_init(strtab *t) {
    memset(t, 0, sizeof *t);
    t->arena.item = 1;
    t->records.item = sizeof(uint32_t);
    t->mask = (1u << 16) - 1;
    t->slots = calloc(t->mask + 1, sizeof(slot));
    return t->slots ? 0 : -1;
}

static void strtab_free(strtab *t) {
    free(t->arena.data); free(t->records.data); free(t->slots);
    memset(t, 0, sizeof *t);
}

static int strtab_grow(strtab *t) {
    size_t mask = t->mask * 2 + 1;
    slot *slots = calloc(mask + 1, sizeof(slot));
    if (!slots) return -1;
    for (size_t i = 0; i <= t->mask; i++) {
        if (!t->slots[i].index) continue;
        size_t s = t->slots[i].hash & mask;
        while (slots[s].index) s = (s + 1) & mask;
        slots[s] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->mask = mask;
    return 0;
}

/* The index of the key a|b (b may be empty), adding it if new; -1 when out of memory or too many. */
static int64_t strtab_find(strtab *t, const char *a, size_t na, const char *b, size_t nb, uint64_t h) {
    size_t n = na + nb;
    size_t s = h & t->mask;
    for (;;) {
        slot sl = t->slots[s];
        if (!sl.index) break;
        if (sl.hash == h) {
            const char *rec = t->arena.data + (size_t)sl.record * 8;
            keyhead head;
            memcpy(&head, rec, sizeof head);
            rec += sizeof head;
            if (head.length == n && head.split == na && memcmp(rec, a, na) == 0 && memcmp(rec + na, b, nb) == 0)
                return (int64_t)sl.index - 1;
        }
        s = (s + 1) & t->mask;
    }
    size_t size = (sizeof(keyhead) + n + 7) & ~(size_t)7;
    if (t->count >= INT32_MAX - 1 || n >= UINT32_MAX || (t->arena.len + size) / 8 >= UINT32_MAX) return -1;
    if (vec_reserve(&t->arena, size) || vec_reserve(&t->records, 1)) return -1;
    keyhead head = {(uint32_t)n, (uint32_t)na};
    char *rec = t->arena.data + t->arena.len;
    memcpy(rec, &head, sizeof head);
    memcpy(rec + sizeof head, a, na);
    memcpy(rec + sizeof head + na, b, nb);
    uint32_t record = (uint32_t)(t->arena.len / 8);
    t->arena.len += size;
    VEC_PUSH(t->records, uint32_t, record);
    size_t i = t->count++;
    slot fresh = {h, (uint32_t)(i + 1), record};
    t->slots[s] = fresh;
    if (t->count * 2 > t->mask && strtab_grow(t)) return -1;
    return (int64_t)i;
}

/* ---------- the scanner ---------- */

/* A good line, parsed, waiting for its lookups. */
typedef struct {
    const char *user, *mbid, *name;
    uint32_t n_user, n_mbid, n_name;
    int same_user; /* the same user id as the line before */
    uint64_t user_hash, spelling_hash;
    int64_t plays, line_no;
    const char *line; /* the whole line (for an event) */
    size_t length;
    int canonical;
} parsed;


enum { EV_IRREGULAR = 1, EV_TOO_FEW = 2, EV_TOO_MANY = 3, EV_NOT_INTEGER = 4, EV_NEGATIVE = 5,
       EV_NOT_CANONICAL = 6 };

typedef struct {
    int32_t kind;
    int64_t line_no;
    const char *line; /* in the block being fed, or a fixed copy */
    size_t length;
} event;

typedef struct {
    PyObject_HEAD
    strtab users, spellings;
    vec row_user, row_spelling, row_plays, row_line;
    vec user_first;            /* int64 per user id: the line it first appears on */
    vec events;
    vec fixed;                 /* char *: the fixed copies of lines with a lone carriage return */
    int64_t longest, longest_line;
    int64_t last_user;         /* the user index of the last committed row, within one block */
    /* every event since the last take_events, as flat arrays: its kind (int32), line (int64), the end of its
       text in out_text (int64) and the texts one after another (a block of newlines is one event per byte:
       kept as 20 bytes each, not a Python tuple each) */
    vec out_kind, out_line, out_end, out_text;
} Scanner;

static void Scanner_dealloc(Scanner *self) {
    strtab_free(&self->users);
    strtab_free(&self->spellings);
    free(self->row_user.data); free(self->row_spelling.data); free(self->row_plays.data);
    free(self->row_line.data); free(self->events.data); free(self->user_first.data);
    for (size_t i = 0; i < self->fixed.len; i++) free(((char **)self->fixed.data)[i]);
    free(self->fixed.data);
    free(self->out_kind.data); free(self->out_line.data); free(self->out_end.data); free(self->out_text.data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "", kwlist)) return -1;
    if (strtab_init(&self->users) || strtab_init(&self->spellings)) { PyErr_NoMemory(); return -1; }
    self->row_user.item = self->row_spelling.item = sizeof(int32_t);
    self->row_plays.item = self->row_line.item = self->user_first.item = sizeof(int64_t);
    self->events.item = sizeof(event);
    self->fixed.item = sizeof(char *);
    self->last_user = -1;
    self->out_kind.item = sizeof(int32_t);
    self->out_line.item = self->out_end.item = sizeof(int64_t);
    self->out_text.item = 1;
    return 0;
}

/* RFC 3629 UTF-8, as Python's strict decoder (the tables of _prescan_rules.h): 1 when valid. */
static int valid_utf8(const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) { i++; continue; }
        int need = PRESCAN_UTF8_NEED[c];
        if (need < 0) return 0;
        if (i + (size_t)need >= n) return 0; /* cut short by the line's end */
        if (p[i + 1] < PRESCAN_UTF8_LO[c] || p[i + 1] > PRESCAN_UTF8_HI[c]) return 0;
        for (int k = 2; k <= need; k++)
            if ((p[i + k] & 0xC0) != 0x80) return 0;
        i += (size_t)need + 1;
    }
    return 1;
}

/* Plays: spaces around, an optional sign, 1 to 18 digits. 0: not an integer; else *value set, and
   *canonical = whether the text is exactly the value's decimal form. */
static int parse_plays(const char *p, size_t n, int64_t *value, int *canonical) {
    size_t a = 0, b = n;
    while (a < b && p[a] == ' ') a++;
    while (b > a && p[b - 1] == ' ') b--;
    int neg = 0, sign = 0;
    if (a < b && (p[a] == '+' || p[a] == '-')) { neg = p[a] == '-'; sign = 1; a++; }
    size_t digits = b - a;
    if (digits < 1 || digits > 18) return 0;
    int64_t v = 0;
    for (size_t i = a; i < b; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (d > 9) return 0;
        v = v * 10 + d;
    }
    *value = neg ? -v : v;
    /* the decimal form of a value >= 0 (the only ones kept): digits alone, no leading zero */
    *canonical = !sign && n == digits && (digits == 1 || p[a] != '0');
    return 1;
}

/* Whether a line is made only of blank bytes (the pre-scan's blank line). */
static int is_blank(const char *line, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!PRESCAN_BLANK[(unsigned char)line[i]]) return 0;
    return 1;
}

/* A rejected line: a blank one is IRREGULAR (rejected as the pre-scan rejects it), whatever else is wrong. */
static int push_event(Scanner *self, int kind, int64_t line_no, const char *line, size_t length) {
    if (kind != EV_NOT_CANONICAL && is_blank(line, length)) kind = EV_IRREGULAR;
    if (vec_reserve(&self->events, 1)) return -1;
    event e = {kind, line_no, line, length};
    VEC_PUSH(self->events, event, e);
    return 0;
}

#define BATCH 64

/* Whether a[0:n) == b[0:n): inline, for the short keys compared on every line. */
static inline int same_bytes(const char *a, const char *b, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y) return 0;
    }
    for (; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

/* Checks one line (newline excluded, a CR before it removed). A good line is parsed into *out (returns
   1); any other line becomes an event (returns 0); -1: out of memory. */
static int parse_line(Scanner *self, const char *line, size_t n, int64_t line_no, parsed *out,
                      const parsed *prev) {
    const unsigned char *p = (const unsigned char *)line;
    /* bytes >= 0x80 (maybe invalid UTF-8) or a carriage return: 8 bytes at a time */
    uint64_t high = 0, cr = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w, x;
        memcpy(&w, p + i, 8);
        high |= w;
        x = w ^ 0x0D0D0D0D0D0D0D0DULL;
        cr |= (x - 0x0101010101010101ULL) & ~x;
    }
    for (; i < n; i++) {
        high |= p[i];
        cr |= p[i] == PRESCAN_CR ? 0x80 : 0;
    }
    if ((high & 0x8080808080808080ULL) && !valid_utf8(p, n))
        return push_event(self, EV_IRREGULAR, line_no, line, n);
    if (cr & 0x8080808080808080ULL) {
        /* A lone carriage return inside a line does not end it: it stands for a space. The line is read
           from a fixed copy (kept until the scanner goes). A line of nothing but blanks stays irregular. */
        if (is_blank(line, n)) return push_event(self, EV_IRREGULAR, line_no, line, n);
        char *copy = malloc(n ? n : 1);
        if (!copy || vec_reserve(&self->fixed, 1)) { free(copy); return -1; }
        VEC_PUSH(self->fixed, char *, copy);
        for (i = 0; i < n; i++) copy[i] = p[i] == PRESCAN_CR ? (char)PRESCAN_LONE_CR_AS : line[i];
        return parse_line(self, copy, n, line_no, out, prev);
    }
    /* (a blank line cannot pass the plays check: push_event tells it apart) */
    const char *stop = line + n;
    const char *t1 = memchr(line, '\t', n);
    const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(stop - t1 - 1)) : NULL;
    const char *t3 = t2 ? memchr(t2 + 1, '\t', (size_t)(stop - t2 - 1)) : NULL;
    if (!t3) return push_event(self, EV_TOO_FEW, line_no, line, n);
    const char *f2 = t1 + 1, *f3 = t2 + 1, *f4 = t3 + 1;
    if (memchr(f4, '\t', (size_t)(stop - f4))) return push_event(self, EV_TOO_MANY, line_no, line, n);
    if (!parse_plays(f4, (size_t)(stop - f4), &out->plays, &out->canonical))
        return push_event(self, EV_NOT_INTEGER, line_no, line, n);
    if (out->plays < 0)
        return push_event(self, EV_NEGATIVE, line_no, line, n);
    out->user = line; out->n_user = (uint32_t)(t1 - line);
    out->mbid = f2; out->n_mbid = (uint32_t)(t2 - f2);
    out->name = f3; out->n_name = (uint32_t)(t3 - f3);
    out->line_no = line_no;
    out->line = line;
    out->length = n;
    out->same_user = prev && prev->n_user == out->n_user && same_bytes(prev->user, line, out->n_user);
    if (!out->same_user) out->user_hash = hash_bytes((const unsigned char *)line, out->n_user, 1);
    out->spelling_hash = hash_bytes((const unsigned char *)f2, out->n_mbid, 2)
                         ^ (hash_bytes((const unsigned char *)f3, out->n_name, 3) * 31);
    return 1;
}

static inline void prefetch_slot(const strtab *t, uint64_t h) { __builtin_prefetch(&t->slots[h & t->mask]); }

static inline void prefetch_record(const strtab *t, uint64_t h) {
    slot sl = t->slots[h & t->mask];
    if (sl.index && sl.hash == h) __builtin_prefetch(t->arena.data + (size_t)sl.record * 8);
}

/* Looks up a batch of good lines and appends their rows. The table probes of a batch are prefetched
   (slots, then the keys they point to) before any is used: lookups cost cache misses, not arithmetic. */
static int commit_batch(Scanner *self, parsed *batch, int count) {
    for (int i = 0; i < count; i++) {
        if (!batch[i].same_user) prefetch_slot(&self->users, batch[i].user_hash);
        prefetch_slot(&self->spellings, batch[i].spelling_hash);
    }
    for (int i = 0; i < count; i++) {
        if (!batch[i].same_user) prefetch_record(&self->users, batch[i].user_hash);
        prefetch_record(&self->spellings, batch[i].spelling_hash);
    }
    if (vec_reserve(&self->row_user, count) || vec_reserve(&self->row_spelling, count)
        || vec_reserve(&self->row_plays, count) || vec_reserve(&self->row_line, count))
        return -1;
    for (int i = 0; i < count; i++) {
        parsed *r = &batch[i];
        int64_t user = self->last_user;
        if (!r->same_user || user < 0) {
            uint64_t h = r->same_user ? hash_bytes((const unsigned char *)r->user, r->n_user, 1) : r->user_hash;
            size_t known = self->users.count;
            user = strtab_find(&self->users, r->user, r->n_user, "", 0, h);
            if (user < 0) return -1;
            if (self->users.count > known) { /* a new user id: where it first appears */
                if (vec_reserve(&self->user_first, 1)) return -1;
                VEC_PUSH(self->user_first, int64_t, r->line_no);
            }
            self->last_user = user;
        }
        int64_t spelling = strtab_find(&self->spellings, r->mbid, r->n_mbid, r->name, r->n_name, r->spelling_hash);
        if (spelling < 0) return -1;
        if (!r->canonical && push_event(self, EV_NOT_CANONICAL, r->line_no, r->line, r->length)) return -1;
        VEC_PUSH(self->row_user, int32_t, (int32_t)user);
        VEC_PUSH(self->row_spelling, int32_t, (int32_t)spelling);
        VEC_PUSH(self->row_plays, int64_t, r->plays);
        VEC_PUSH(self->row_line, int64_t, r->line_no);
    }
    return 0;
}

/* Every line of base[0:n); the last one may lack its newline. first_line: the first line's number. */
static int scan_block(Scanner *self, const char *base, size_t n, int64_t first_line, int64_t *lines_out) {
    parsed batch[BATCH];
    int count = 0;
    parsed last;               /* the last good line, within this block */
    int have_last = 0;
    size_t s = 0;
    int64_t line_no = first_line;
    self->last_user = -1;
    while (s < n) {
        const char *nl = memchr(base + s, '\n', n - s);
        size_t e = nl ? (size_t)(nl - base) : n;
        if ((int64_t)(e - s) > self->longest) { self->longest = (int64_t)(e - s); self->longest_line = line_no; }
        if (e - s > PRESCAN_MAX_LINE_BYTES) { /* rejected whole (line too long), as the pre-scan rejects it */
            if (push_event(self, EV_IRREGULAR, line_no, base + s, e - s)) return -1;
            line_no++;
            s = e + 1;
            continue;
        }
        size_t end = e;
        if (nl && end > s && base[end - 1] == PRESCAN_CR) end--; /* a Windows line ending */
        int rc = parse_line(self, base + s, end - s, line_no, &batch[count], have_last ? &last : NULL);
        if (rc < 0) return -1;
        if (rc == 1) {
            last = batch[count];
            have_last = 1;
            if (++count == BATCH) {
                if (commit_batch(self, batch, count)) return -1;
                count = 0;
            }
        }
        line_no++;
        s = e + 1;
    }
    if (count && commit_batch(self, batch, count)) return -1;
    self->last_user = -1;
    *lines_out = line_no - first_line;
    return 0;
}

/* Copies the events of the last block (whose texts point into the block) into the flat arrays take_events
   hands over; clears them. -1: out of memory. */
static int flush_events(Scanner *self) {
    event *ev = (event *)self->events.data;
    size_t n = self->events.len, text = 0;
    for (size_t i = 0; i < n; i++) text += ev[i].length;
    if (vec_reserve(&self->out_kind, n) || vec_reserve(&self->out_line, n) || vec_reserve(&self->out_end, n)
        || vec_reserve(&self->out_text, text))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].length) memcpy(self->out_text.data + self->out_text.len, ev[i].line, ev[i].length);
        self->out_text.len += ev[i].length;
        VEC_PUSH(self->out_kind, int32_t, ev[i].kind);
        VEC_PUSH(self->out_line, int64_t, ev[i].line_no);
        VEC_PUSH(self->out_end, int64_t, (int64_t)self->out_text.len);
    }
    self->events.len = 0;
    return 0;
}

static PyObject *Scanner_feed(Scanner *self, PyObject *args) {
    Py_buffer view;
    long long first_line;
    if (!PyArg_ParseTuple(args, "y*L", &view, &first_line)) return NULL;
    int64_t lines = 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = scan_block(self, view.buf, (size_t)view.len, first_line, &lines);
    Py_END_ALLOW_THREADS
    if (rc) { PyBuffer_Release(&view); return PyErr_NoMemory(); }
    rc = flush_events(self);
    PyBuffer_Release(&view);
    if (rc) return PyErr_NoMemory();
    return PyLong_FromLongLong(lines);
}

/* Every key's first (part 0) or second (part 1) part, in index order, as Arrow's large_string buffers:
   (data, int64 offsets). */
static PyObject *strings(strtab *t, int part) {
    vec data = {NULL, 0, 0, 1}, offsets = {NULL, 0, 0, sizeof(int64_t)};
    if (vec_reserve(&offsets, t->count + 1) || vec_reserve(&data, t->arena.len + 1)) {
        free(offsets.data); free(data.data);
        return PyErr_NoMemory();
    }
    const uint32_t *records = (const uint32_t *)t->records.data;
    VEC_PUSH(offsets, int64_t, 0);
    for (size_t i = 0; i < t->count; i++) {
        const char *rec = t->arena.data + (size_t)records[i] * 8;
        keyhead head;
        memcpy(&head, rec, sizeof head);
        rec += sizeof head;
        size_t a = part ? head.split : 0, b = part ? head.length : head.split;
        memcpy(data.data + data.len, rec + a, b - a);
        data.len += b - a;
        VEC_PUSH(offsets, int64_t, (int64_t)data.len);
    }
    PyObject *d = buffer_from_vec(&data), *o = d ? buffer_from_vec(&offsets) : NULL;
    if (!o) { Py_XDECREF(d); free(offsets.data); return NULL; }
    return Py_BuildValue("(NN)", d, o);
}

static PyObject *Scanner_result(Scanner *self, PyObject *Py_UNUSED(ignored)) {
    PyObject *users = strings(&self->users, 0);
    PyObject *mbids = users ? strings(&self->spellings, 0) : NULL;
    PyObject *names = mbids ? strings(&self->spellings, 1) : NULL;
    if (!names) { Py_XDECREF(users); Py_XDECREF(mbids); return NULL; }
    return Py_BuildValue(
        "{s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:L,s:L}",
        "users", users, "user_first_line", buffer_from_vec(&self->user_first), "mbids", mbids, "names", names,
        "row_user", buffer_from_vec(&self->row_user), "row_spelling", buffer_from_vec(&self->row_spelling),
        "row_plays", buffer_from_vec(&self->row_plays), "row_line", buffer_from_vec(&self->row_line),
        "longest", (long long)self->longest, "longest_line", (long long)self->longest_line);
}

static PyObject *Scanner_take_events(Scanner *self, PyObject *Py_UNUSED(ignored)) {
    PyObject *kinds = buffer_from_vec(&self->out_kind);
    PyObject *lines = kinds ? buffer_from_vec(&self->out_line) : NULL;
    PyObject *ends = lines ? buffer_from_vec(&self->out_end) : NULL;
    PyObject *text = ends ? buffer_from_vec(&self->out_text) : NULL;
    if (!text) { Py_XDECREF(kinds); Py_XDECREF(lines); Py_XDECREF(ends); return NULL; }
    return Py_BuildValue("(NNNN)", kinds, lines, ends, text);
}

static PyMethodDef Scanner_methods[] = {
    {"feed", (PyCFunction)Scanner_feed, METH_VARARGS,
     "feed(block, first_line) -> lines: scan whole lines (the last may lack its newline), numbered from "
     "first_line."},
    {"take_events", (PyCFunction)Scanner_take_events, METH_NOARGS,
     "take_events() -> (kinds, line_nos, ends, text): the events since the last call, as buffers of int32 kind, "
     "int64 line number and int64 end of each event's raw bytes in text (the texts one after another)."},
    {"result", (PyCFunction)Scanner_result, METH_NOARGS,
     "result() -> dict: the distinct users, mbids and names as (data, int64 offsets) buffers, and the line "
     "each user first appears on (int64); the rows as "
     "buffers of int32 user, int32 spelling, int64 plays, int64 line; the longest line and its number. "
     "Call once, at the end (after take_events)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "musim.ingest._scan360k.Scanner",
    .tp_doc = "Scanner(): one pass over a Last.FM 360K plays file, fed in blocks of whole lines.",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

/* ---------- merging duplicate user-artist rows, one user's run of rows at a time ---------- */

enum { MERGED = 0, NOT_GROUPED = 1, OVERFLOW = 2, NO_MEMORY = -1 };

typedef struct {
    int32_t artist;
    int32_t lines;
    int64_t plays;
} merged_play;

static int by_key(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* User uid's rows among [i, j) merged by artist into run[], in artist order; their number, or -1 on
   overflow. A small open-addressing table finds duplicates; the merged entries are then sorted as 64-bit
   keys (artist, entry), by insertion for a user's usual few dozen. */
static int64_t merge_run(int32_t uid, const int32_t *user, const int32_t *artist, const int64_t *plays, size_t i,
                         size_t j, merged_play *merged, merged_play *run, uint64_t *keys, uint32_t *slots,
                         size_t mask) {
    size_t count = 0;
    memset(slots, 0, (mask + 1) * sizeof *slots);
    for (size_t r = i; r < j; r++) {
        int32_t aid = artist[r];
        if (aid < 0 || user[r] != uid) continue; /* a row whose spelling or user was rejected */
        size_t s = ((uint32_t)aid * 2654435761u) & mask;
        for (;;) {
            uint32_t slot = slots[s];
            if (!slot) {
                slots[s] = (uint32_t)(count + 1);
                merged[count].artist = aid;
                merged[count].plays = plays[r];
                merged[count].lines = 1;
                count++;
                break;
            }
            merged_play *m = &merged[slot - 1];
            if (m->artist == aid) {
                if (__builtin_add_overflow(m->plays, plays[r], &m->plays) || m->lines == INT32_MAX) return -1;
                m->lines++;
                break;
            }
            s = (s + 1) & mask;
        }
    }
    for (size_t x = 0; x < count; x++) keys[x] = ((uint64_t)(uint32_t)merged[x].artist << 32) | x;
    if (count <= 64) {
        for (size_t x = 1; x < count; x++) {
            uint64_t v = keys[x];
            size_t y = x;
            while (y > 0 && keys[y - 1] > v) { keys[y] = keys[y - 1]; y--; }
            keys[y] = v;
        }
    } else {
        qsort(keys, count, sizeof *keys, by_key);
    }
    for (size_t x = 0; x < count; x++) run[x] = merged[(uint32_t)keys[x]];
    return (int64_t)count;
}

/* The rows merged per (user, artist), in (user, artist) order. Users must be numbered in the order they
   first appear, and each user's rows must be contiguous (rows of rejected users, id < 0, aside): then the
   runs come in id order and one sequential pass merges them. */
static int merge(const int32_t *user, const int32_t *artist, const int64_t *plays, size_t n, vec *out_user,
                 vec *out_artist, vec *out_plays, vec *out_lines) {
    merged_play *run = NULL, *merged = NULL;
    uint64_t *keys = NULL;
    uint32_t *slots = NULL;
    size_t cap = 0, out = 0;
    int32_t last = -1;
    int status = MERGED;
    if (vec_reserve(out_user, n) || vec_reserve(out_artist, n) || vec_reserve(out_plays, n)
        || vec_reserve(out_lines, n)) return NO_MEMORY;
    int32_t *ou = (int32_t *)out_user->data, *oa = (int32_t *)out_artist->data, *ol = (int32_t *)out_lines->data;
    int64_t *op = (int64_t *)out_plays->data;
    for (size_t i = 0; i < n;) {
        int32_t uid = user[i];
        if (uid < 0) { i++; continue; }
        size_t j = i + 1;
        while (j < n && (user[j] == uid || user[j] < 0)) j++;
        if (uid <= last) { status = NOT_GROUPED; break; }
        last = uid;
        size_t mask = 15;
        while (mask + 1 < 2 * (j - i)) mask = mask * 2 + 1;
        if (mask + 1 > cap) {
            free(run); free(merged); free(keys); free(slots);
            cap = mask + 1;
            run = malloc(cap * sizeof *run);
            merged = malloc(cap * sizeof *merged);
            keys = malloc(cap * sizeof *keys);
            slots = malloc(cap * sizeof *slots);
            if (!run || !merged || !keys || !slots) { status = NO_MEMORY; break; }
        }
        int64_t count = merge_run(uid, user, artist, plays, i, j, merged, run, keys, slots, mask);
        if (count < 0) { status = OVERFLOW; break; }
        for (int64_t k = 0; k < count; k++) {
            ou[out] = uid; oa[out] = run[k].artist; op[out] = run[k].plays; ol[out] = run[k].lines;
            out++;
        }
        i = j;
    }
    out_user->len = out_artist->len = out_plays->len = out_lines->len = out;
    free(run); free(merged); free(keys); free(slots);
    return status;
}

static PyObject *merge_runs(PyObject *module, PyObject *args) {
    Py_buffer u, a, p;
    if (!PyArg_ParseTuple(args, "y*y*y*", &u, &a, &p)) return NULL;
    size_t n = (size_t)u.len / sizeof(int32_t);
    PyObject *result = NULL;
    if ((size_t)a.len != n * sizeof(int32_t) || (size_t)p.len != n * sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "merge_runs: user and artist ids (int32) and plays (int64) of the same "
                                          "length are needed");
        goto done;
    }
    vec ou = {NULL, 0, 0, sizeof(int32_t)}, oa = {NULL, 0, 0, sizeof(int32_t)};
    vec op = {NULL, 0, 0, sizeof(int64_t)}, ol = {NULL, 0, 0, sizeof(int32_t)};
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = merge(u.buf, a.buf, p.buf, n, &ou, &oa, &op, &ol);
    Py_END_ALLOW_THREADS
    if (status == MERGED) {
        result = Py_BuildValue("{s:N,s:N,s:N,s:N}", "user_id", buffer_from_vec(&ou), "artist_id",
                               buffer_from_vec(&oa), "plays", buffer_from_vec(&op), "lines", buffer_from_vec(&ol));
    } else if (status == NO_MEMORY) {
        PyErr_NoMemory();
    } else {
        result = Py_None;
        Py_INCREF(result);
    }
    free(ou.data); free(oa.data); free(op.data); free(ol.data);
done:
    PyBuffer_Release(&u);
    PyBuffer_Release(&a);
    PyBuffer_Release(&p);
    return result;
}

static PyMethodDef module_methods[] = {
    {"merge_runs", merge_runs, METH_VARARGS,
     "merge_runs(user_id, artist_id, plays) -> dict | None: the rows (int32 user and artist ids, int64 "
     "plays; an id < 0 drops the row) with duplicate user-artist pairs merged: plays summed, lines "
     "counted, in (user, artist) order, as buffers user_id, artist_id, plays, lines (int32). Each user's "
     "rows must be contiguous, as in a Last.FM dump, and users numbered in the order they first appear: "
     "None when they are not (or a sum overflows), so that the caller merges another way."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan360k",
    "The C line scanner of Last.FM 360K plays files and the merge of their duplicate rows (see "
    "musim.ingest.plays_360k).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__scan360k(void) {
    if (PyType_Ready(&BufferType) < 0 || PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) { Py_DECREF(&ScannerType); Py_DECREF(m); return NULL; }
    PyModule_AddIntConstant(m, "IRREGULAR", EV_IRREGULAR);
    PyModule_AddIntConstant(m, "TOO_FEW", EV_TOO_FEW);
    PyModule_AddIntConstant(m, "TOO_MANY", EV_TOO_MANY);
    PyModule_AddIntConstant(m, "NOT_INTEGER", EV_NOT_INTEGER);
    PyModule_AddIntConstant(m, "NEGATIVE", EV_NEGATIVE);
    PyModule_AddIntConstant(m, "NOT_CANONICAL", EV_NOT_CANONICAL);
    return m;
}
