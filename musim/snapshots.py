"""The published snapshots under ``$MUSIM_SERVING_DIR/snapshots/``: what each serves, which one is current, going
back to an earlier one, and which are pruned.

Each snapshot records what it serves (``served_state``: its dumps and similarity builds, model versions and their
published neighbours, artists and tracks; ``sql/serving/served_state.sql``), so two snapshots of the same served
state are known to be alike: pruning keeps the newest snapshot of each of the newest ``keep`` *distinct* states
(publishing the same thing again replaces its twin rather than pushing out older states), never the current one.
:func:`rollback` points ``current.duckdb`` back at an earlier snapshot with the same atomic rename a publish does
(:func:`point_current`) and *pins* it (:class:`Pin`, ``pin.json`` in the serving folder): while pinned, a publish
still writes its snapshot but leaves ``current.duckdb`` where it is, and pruning keeps the pinned snapshot, until
:func:`release` serves the newest snapshot again (a rollback to another snapshot moves the pin). Link swaps, the pin
and pruning take one lock (:func:`serving_lock`), so a rollback never points at a snapshot that a publish is pruning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import hashlib
import json
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from musim import scratch, sql, warehouse
from musim.config import Settings, get_settings
from musim.errors import NotFoundError, StorageError, refuse_blank

CURRENT = "current.duckdb"
LINK_PREFIX = ".current-link-"
PIN = "pin.json"
"""The rollback pin in the serving folder (:class:`Pin`): present while a rollback holds."""
PIN_PREFIX = ".pin-"
SNAPSHOT = re.compile(r"^snapshot-(\d{8}T\d{6}\d{6}Z)\.duckdb$")


@dataclass(frozen=True)
class Snapshot:
    """One published snapshot file: when it was published, whether it is current, and what it serves (``state``:
    a fingerprint of its served_state rows; ``problem``: why it cannot be read, then nothing else is known)."""

    path: Path
    published_at: dt.datetime
    current: bool = False
    state: str | None = None
    builds: list[tuple[str, dt.datetime]] = field(default_factory=list)  # (dump id, built at) per similarity build
    models: list[str] = field(default_factory=list)  # model versions with published neighbours
    problem: str | None = None
    held: str | None = None  # "pid N" when another process holds it open read-write: neither counted nor pruned

    @property
    def name(self) -> str:
        return self.path.name

    def serves(self) -> str:
        """What it serves, in a few words."""
        if self.held:
            return f"held by {self.held} (open read-write elsewhere: what it serves is unknown until it closes)"
        if self.problem:
            return f"unreadable: {self.problem}"
        builds = ", ".join(f"dump {d[:12]} built {t:%Y-%m-%d %H:%M:%S}" for d, t in self.builds) or "no build"
        return builds + (f"; models {', '.join(self.models)}" if self.models else "")

    def to_json(self) -> dict:
        return {"snapshot": self.name, "path": str(self.path), "published_at": self.published_at.isoformat(),
                "current": self.current, "older_layout": self.name == CURRENT, "state": self.state,
                "problem": self.problem, "held_by": self.held, "models": self.models,
                "builds": [{"dump_id": d, "built_at": t.isoformat()} for d, t in self.builds]}


def snapshots_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).serving_dir / "snapshots"


def record_state(con: duckdb.DuckDBPyConnection) -> None:
    """Record in the new snapshot of connection ``con`` what it serves (table ``served_state``)."""
    rows = sql.query(con, "serving/served_state.sql").fetchall()
    table = pa.table({name: pa.array([r[i] for r in rows], pa.string())
                      for i, name in enumerate(("part", "item", "detail"))})
    with warehouse.registered(con, "pub_served_state", table):
        sql.run(con, "serving/record_served_state.sql")


def current_target(settings: Settings | None = None) -> Path | None:
    """The snapshot file ``current.duckdb`` points to (whether or not it exists), or None without a link."""
    link = (settings or get_settings()).serving_dir / CURRENT
    if not link.is_symlink():
        return None
    return (link.parent / os.readlink(link)).resolve()


#: Publishes a reader follows that swap ``current.duckdb`` and prune the snapshot it was about to open.
SWAPS_FOLLOWED = 3


def served_instead(path: Path, settings: Settings | None = None) -> Path:
    """The snapshot served now in place of the published snapshot ``path``, which is gone: a query reads
    ``current.duckdb``, then opens the file, and a publish in between (of the same state: it replaces its identical
    predecessor) may prune that file. :class:`NotFoundError` for a file that is not a published snapshot, or when
    none other is served."""
    settings = settings or get_settings()
    now = current_target(settings)
    if (path.parent.resolve() != snapshots_dir(settings).resolve() or now is None or now == path.resolve()
            or not now.is_file()):
        raise NotFoundError(f"no snapshot file {path}: run `musim similarity build` (or `musim publish`)")
    return now


def read_snapshot(path: Path, settings: Settings | None = None, *, current: Path | None = None,
                  full_check: bool = False) -> Snapshot:
    """The snapshot at ``path`` (a ``snapshot-*.duckdb`` file) as :class:`Snapshot`; one that cannot be opened or
    read has ``problem`` set. ``full_check`` also reads the size of its pair lookup (before it is served again)."""
    settings = settings or get_settings()
    older = path.name == CURRENT  # a plain current.duckdb (:func:`older_layout`): when it was written
    stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) if older else published_at(path.name)
    if stamp is None:
        raise ValueError(f"{path.name} is not a snapshot name")
    is_current = current is not None and path.resolve() == current
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        return Snapshot(path, stamp, is_current, problem=_first_line(exc), held=warehouse.lock_holder(exc))
    try:
        warehouse.configure(con, settings)
        recorded = sql.query(con, "serving/has_served_state.sql").fetchone()[0]
        rows = sql.query(con, "serving/recorded_state.sql" if recorded else "serving/served_state.sql").fetchall()
        if full_check:
            sql.query(con, "serving/pair_lookup_size.sql").fetchone()
    except duckdb.Error as exc:
        return Snapshot(path, stamp, is_current, problem=_first_line(exc))
    finally:
        con.close()
    digest = hashlib.sha256("\n".join("\t".join(r) for r in rows).encode()).hexdigest()
    builds = []
    for part, item, detail in rows:
        if part == "similarity":
            built_us = int(detail.split()[0])
            builds.append((item, dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=built_us)))
    models = sorted({item for part, item, _ in rows if part in ("artist_audio", "track_audio")})
    return Snapshot(path, stamp, is_current, digest, builds, models)


def published_at(name: str) -> dt.datetime | None:
    """When the snapshot file ``name`` was published (from its name), or None for a name that is not a snapshot's
    (another pattern, or an impossible date)."""
    m = SNAPSHOT.match(name)
    try:
        return dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC) if m else None
    except ValueError:
        return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def list_snapshots(settings: Settings | None = None) -> list[Snapshot]:
    """Every published snapshot, newest first: the regular files named ``snapshot-<time>.duckdb`` (see
    :func:`strays` for other entries of that pattern)."""
    settings = settings or get_settings()
    folder, current = snapshots_dir(settings), current_target(settings)
    if not folder.is_dir():
        return []
    files = sorted((p for p in folder.iterdir() if published_at(p.name) and _regular(p)), reverse=True)
    return [read_snapshot(p, settings, current=current) for p in files]


def older_layout(settings: Settings | None = None) -> Snapshot | None:
    """``current.duckdb`` as a plain file (served: the layout before the snapshots folder, a publish moves), or None."""
    plain = (settings or get_settings()).serving_dir / CURRENT
    return read_snapshot(plain, settings, current=plain.resolve()) if _regular(plain) else None


def strays(settings: Settings | None = None) -> list[tuple[Path, str]]:
    """The entries of the snapshots folder named like a snapshot that are none (an impossible date, a folder, a
    link): each with why it is ignored. They are never served, listed as snapshots, or pruned."""
    folder = snapshots_dir(settings)
    if not folder.is_dir():
        return []
    found = []
    for p in sorted(folder.iterdir(), reverse=True):
        if not SNAPSHOT.match(p.name):
            continue
        if published_at(p.name) is None:
            found.append((p, "not a snapshot: its name holds an impossible time; remove it"))
        elif not _regular(p):
            found.append((p, "not a snapshot: not a regular file; remove it"))
    return found


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


@contextlib.contextmanager
def serving_lock(settings: Settings | None = None) -> Iterator[None]:
    """Held while ``current.duckdb`` is swapped and snapshots are pruned (publish, rollback): one at a time. No
    serving folder (rollback or release before any publish): :class:`~musim.errors.NotFoundError`."""
    serving = (settings or get_settings()).serving_dir
    try:
        fd = os.open(serving, os.O_RDONLY)  # the folder itself: no file left behind
    except FileNotFoundError:
        raise NotFoundError(f"nothing has been published under {serving} yet, so there is nothing to roll back to or "
                            "release: `musim similarity build` publishes a snapshot") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def point_current(snapshot: Path, settings: Settings | None = None) -> None:
    """Make ``current.duckdb`` point to ``snapshot`` with one atomic rename (a new link beside it, then moved over
    it): a query sees the old snapshot or the new one, never none. Call it under :func:`serving_lock`."""
    serving = (settings or get_settings()).serving_dir
    with scratch.owned_scratch(serving, LINK_PREFIX) as link_tmp:
        os.symlink(os.path.relpath(snapshot, serving), link_tmp)
        os.replace(link_tmp, serving / CURRENT)


@dataclass(frozen=True)
class Pin:
    """A rollback that holds (``pin.json`` in the serving folder): ``current.duckdb`` stays on ``snapshot`` (a file
    name under the snapshots folder), pinned at ``pinned_at`` by ``by`` in place of ``replaced`` (the snapshot current
    before), until :func:`release`. A pin file that cannot be read has ``problem`` set and nothing else: it still
    holds (current stays where it is) until it is released or a rollback writes it again."""

    path: Path
    snapshot: str | None = None
    pinned_at: dt.datetime | None = None
    by: str | None = None
    replaced: str | None = None
    problem: str | None = None

    def describe(self) -> str:
        """What the pin holds, in a few words."""
        if self.problem:
            return f"the rollback pin {self.path} is damaged ({self.problem})"
        return (f"pinned to {self.snapshot} by a rollback at {self.pinned_at:%Y-%m-%d %H:%M:%S} UTC ({self.by}"
                + (f", in place of {self.replaced})" if self.replaced else ")"))

    def to_json(self) -> dict:
        return {"pin": str(self.path), "snapshot": self.snapshot,
                "pinned_at": self.pinned_at.isoformat() if self.pinned_at else None, "by": self.by,
                "replaced": self.replaced, "problem": self.problem}


def pin_path(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).serving_dir / PIN


def _not_a_folder(path: Path) -> Path | None:
    """The nearest folder above ``path`` that exists and is no folder (a file), if one is."""
    for above in path.parents:
        if above.exists() or above.is_symlink():
            return None if above.is_dir() else above
    return None


def read_pin(settings: Settings | None = None) -> Pin | None:
    """The rollback pin, or None when nothing is pinned (no pin file). A pin file that cannot be read, is not the
    JSON a rollback writes or names no snapshot is a :class:`Pin` with ``problem`` set; a serving folder that cannot
    exist (a file stands in its path: ``MUSIM_HOME`` under a file) is a :class:`~musim.errors.StorageError`."""
    path = pin_path(settings)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except NotADirectoryError:  # no pin to be damaged: the serving folder itself cannot be there
        blocker = _not_a_folder(path)
        raise StorageError(f"{blocker or path.parent} is a file, not a folder, so the serving folder "
                           f"{path.parent} cannot be there: set MUSIM_HOME (or MUSIM_SERVING_DIR) to a folder, or "
                           "move that file aside") from None
    except (OSError, ValueError) as exc:  # a folder, unreadable, not UTF-8, not JSON
        return Pin(path, problem=_first_line(exc) if isinstance(exc, OSError) else "not the JSON a rollback writes")
    try:
        snapshot, replaced, by = doc["snapshot"], doc.get("replaced"), doc.get("by")
        pinned_at = dt.datetime.fromisoformat(doc["pinned_at"])
        if published_at(snapshot) is None or not isinstance(by, str | None) or pinned_at.tzinfo is None or not (
                replaced is None or published_at(replaced)):
            raise ValueError(snapshot)
    except (KeyError, TypeError, ValueError, AttributeError):
        return Pin(path, problem="not the JSON a rollback writes")
    return Pin(path, snapshot, pinned_at, by, replaced)


def check_pin_replaceable(settings: Settings | None = None) -> None:
    """Refuse (:class:`~musim.errors.StorageError`) to touch current while the pin cannot be written or removed: a
    folder (or another entry that is no file) stands at ``pin.json``. Call it under :func:`serving_lock`, before
    anything changes, so a rollback or release never switches current and then fails on the pin."""
    path = pin_path(settings)
    if (path.exists() or path.is_symlink()) and not (path.is_file() or path.is_symlink()):
        raise StorageError(f"the rollback pin {path} is not a file (a folder?), so it can be neither written nor "
                           "removed; nothing changed: remove it by hand, then run the command again")


def remove_pin(settings: Settings | None = None) -> None:
    """Remove the rollback pin (none there is fine); :class:`~musim.errors.StorageError` naming it when it cannot
    be removed."""
    path = pin_path(settings)
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot remove the rollback pin {path} ({exc.strerror or exc}): remove it by "
                           "hand") from None


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = f"uid {os.getuid()}"
    return f"{user}@{socket.gethostname()}, pid {os.getpid()}"


def write_pin(snapshot: Path, replaced: Path | None, settings: Settings | None = None) -> Pin:
    """Pin ``snapshot`` (the one now current, in place of ``replaced``): the pin file is written beside it under a
    temporary name and renamed into place, so a reader sees the old pin or the new one. Call it under
    :func:`serving_lock`."""
    path = pin_path(settings)
    pin = Pin(path, snapshot.name, dt.datetime.now(dt.UTC).replace(microsecond=0), _who(),
              replaced.name if replaced is not None else None)
    doc = {k: v for k, v in pin.to_json().items() if k not in ("pin", "problem")}
    with scratch.temp_file(path.parent, PIN_PREFIX) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return pin


def holds(pin: Pin | None, settings: Settings | None = None) -> bool:
    """Whether ``pin`` keeps ``current.duckdb`` where it is: a pin whose snapshot is still there and can be read, or
    a damaged pin while something readable is served. A pin whose snapshot is gone (deleted by hand) or can no
    longer be read (cut short, overwritten: every query on it fails, and keeping it would leave each publish
    unserved) holds nothing; one that another process holds open read-write still holds."""
    if pin is None:
        return False
    settings = settings or get_settings()
    target = current_target(settings) if pin.problem else snapshots_dir(settings) / pin.snapshot
    if target is None or not _regular(target):
        return False
    return published_at(target.name) is None or _servable(target, settings)


def _servable(path: Path, settings: Settings) -> bool:
    """Whether the snapshot ``path`` can be served as :func:`rollback` checks it, or another process holds it open
    (what it serves is unknown, not damaged)."""
    checked = read_snapshot(path, settings, full_check=True)
    return checked.problem is None or checked.held is not None


def why_not_held(pin: Pin, settings: Settings | None = None) -> str:
    """Why ``pin`` (one that :func:`holds` says holds nothing) was let go, in a few words."""
    settings = settings or get_settings()
    target = current_target(settings) if pin.problem else snapshots_dir(settings) / pin.snapshot
    if target is None or not _regular(target):
        return f"named {pin.snapshot or 'nothing'}, which is gone (deleted by hand?)"
    checked = read_snapshot(target, settings)
    return f"named {target.name}, which cannot be read ({checked.problem or 'damaged'})"


def pinned_line(written: Path, pin: Pin) -> str:
    """What a publish under ``pin`` says, in one line: the snapshot it wrote, that current stays, how to serve it."""
    if pin.problem:
        return (f"wrote {written.name}, but current stays where it is: {pin.describe()}; `musim publish --release` "
                "serves the newest snapshot and removes the pin, `musim publish --rollback SNAPSHOT` pins one again")
    return (f"wrote {written.name}, but current stays on {pin.snapshot}, pinned by a rollback since "
            f"{pin.pinned_at:%Y-%m-%d %H:%M:%S} UTC: serve the new one with `musim publish --release` (the newest, "
            f"ending the pin) or `musim publish --rollback {written.stem}`")


def served(path: Path, settings: Settings | None = None) -> bool:
    """Whether ``current.duckdb`` points to the snapshot ``path`` (a publish under a pin wrote one it does not)."""
    target = current_target(settings)
    return target is not None and target == path.resolve()


def prune(settings: Settings | None = None, *, keep: int = 3) -> list[Path]:
    """Remove the snapshots beyond the newest of each of the newest ``keep`` distinct served states (a snapshot that
    cannot be read serves no state: it takes no state's place, and goes once ``keep`` states newer than it are
    kept); never the current one, nor the pinned one (:class:`Pin`), nor one
    another process holds open (what it serves is unknown: neither counted nor removed). The newest snapshot is
    always kept (it comes first), so under a pin the newest one written beside the pinned one survives for
    :func:`release` to serve. Returns the paths removed. Call it under :func:`serving_lock`."""
    settings = settings or get_settings()
    pin = read_pin(settings)
    pinned = pin.snapshot if pin is not None else None
    kept_states: set[str] = set()
    removed = []
    for snap in list_snapshots(settings):  # newest first
        if snap.held:
            continue
        if snap.problem:  # damaged: it can never be served again, so it never pushes a servable state out
            if snap.current or snap.name == pinned or len(kept_states) < max(keep, 1):
                continue
        elif snap.current or snap.name == pinned or (snap.state not in kept_states and
                                                     len(kept_states) < max(keep, 1)):
            kept_states.add(snap.state)
            continue
        snap.path.unlink(missing_ok=True)
        Path(str(snap.path) + ".wal").unlink(missing_ok=True)
        removed.append(snap.path)
    return removed


def rollback(target: str | None = None, settings: Settings | None = None) -> Snapshot:
    """Serve the snapshot ``target`` again (its file name, with or without ``.duckdb``, or its path); by default the
    newest snapshot published before the current one that serves something else; and pin it (:func:`write_pin`:
    later publishes write their snapshots beside it and leave it current until :func:`release`; a pin already there
    moves, and keeps naming the snapshot served before the first rollback as the one it replaced). Refuses (:class:`~musim.errors.NotFoundError`, :class:`~musim.errors.StorageError`) an unknown, missing
    or unreadable snapshot, leaving the current one served and the pin as it was, and an empty ``target``
    (:class:`~musim.errors.ParameterError`: an unset variable, not the default). Returns the snapshot now current."""
    refuse_blank(target, "the snapshot to roll back to", "a name `musim publish --list` shows, or none for the newest "
                 "one before the current")
    settings = settings or get_settings()
    with serving_lock(settings):
        known = list_snapshots(settings)
        current = next((s for s in known if s.current), None)
        chosen = _named(target, known, settings) if target else _before(current, known)
        checked = read_snapshot(chosen.path, settings, current=current_target(settings), full_check=True)
        if checked.problem:
            raise StorageError(f"snapshot {chosen.name} cannot be served ({checked.problem}); nothing changed: roll "
                               "back to another one (`musim publish --list`)")
        replaced = _replaced_by_pin(checked.path, current, read_pin(settings), settings)
        check_pin_replaceable(settings)
        point_current(checked.path, settings)
        write_pin(checked.path, replaced, settings)
    return Snapshot(checked.path, checked.published_at, True, checked.state, checked.builds, checked.models)


def _replaced_by_pin(chosen: Path, current: Snapshot | None, pin: Pin | None, settings: Settings) -> Path | None:
    """What a rollback to ``chosen`` replaces: the snapshot current now, unless a readable pin already holds, when
    it is the one that pin replaced (what was served before the first rollback, which a release or a user looking
    at the pin wants to know), so rolling back twice never names the pinned snapshot in place of itself. Pinning
    the snapshot the first rollback replaced (back where it started, still pinned) names the one pinned until now."""
    here = current.path if current is not None else None
    if pin is None or pin.problem or pin.replaced is None:
        return here
    if pin.replaced == chosen.name:
        return here if here is not None and here.name != chosen.name else None
    return snapshots_dir(settings) / pin.replaced


def release(settings: Settings | None = None) -> tuple[Snapshot, Pin | None]:
    """End a rollback's pin (a damaged one too) and serve the newest snapshot that can be served (one that cannot
    be read, or that another process holds, is passed over): publishes make their snapshots current again. Refuses
    (:class:`~musim.errors.NotFoundError`) when no snapshot can be served, leaving the pin. Returns the snapshot now
    current and the pin released (None when nothing was pinned)."""
    settings = settings or get_settings()
    with serving_lock(settings):
        pin = read_pin(settings)
        check_pin_replaceable(settings)
        for snap in list_snapshots(settings):  # newest first
            if snap.problem or snap.held:
                continue
            checked = read_snapshot(snap.path, settings, current=current_target(settings), full_check=True)
            if checked.problem:
                continue
            point_current(checked.path, settings)
            remove_pin(settings)
            return Snapshot(checked.path, checked.published_at, True, checked.state, checked.builds,
                            checked.models), pin
    raise NotFoundError(f"no published snapshot under {snapshots_dir(settings)} can be served, so nothing was "
                        "released: publish one (`musim publish`), then release (`musim publish --list` shows them)")


def _named(target: str, known: list[Snapshot], settings: Settings) -> Snapshot:
    folder = snapshots_dir(settings)
    if Path(target).parent != Path(".") and Path(target).parent.resolve() != folder.resolve():
        raise NotFoundError(f"no published snapshot {target!r}: it is not under the snapshots folder {folder}; name "
                            "one of the published snapshots (`musim publish --list`)")
    name = Path(target).name
    name = name if name.endswith(".duckdb") else name + ".duckdb"
    found = next((s for s in known if s.name == name), None)
    if found is None:
        raise NotFoundError(f"no published snapshot {target!r} under {snapshots_dir(settings)}; the published ones: "
                            "`musim publish --list`")
    return found


def _before(current: Snapshot | None, known: list[Snapshot]) -> Snapshot:
    if current is None:
        raise NotFoundError("no snapshot is current, so there is none before it: name the one to serve "
                            "(`musim publish --rollback SNAPSHOT`; the published ones: `musim publish --list`)")
    older = [s for s in known if s.published_at < current.published_at and not s.problem and s.state != current.state]
    if not older:
        raise NotFoundError(f"no snapshot published before the current one ({current.name}) serves anything else: "
                            "nothing to roll back to (`musim publish --list`)")
    return older[0]
