"""Run directories: one directory per run, a fixed set of files, written atomically.

Files of a run directory::

    config.json        resolved config + evoplast version, git revision, python, creation time
    history.csv        one row per generation (loss statistics, sigma, status counts, formula)
    evaluations.csv    one row per evaluation (generation, candidate, coefficients by term, loss,
                       status)
    checkpoint.pkl     the search state after the last finished generation (pycma object included),
                       signed with this user's key (see :func:`checkpoint_key`)
    result.json        the found rule, its held-out score and its comparison with theory
    lock               present while a process works on the directory
    generalisation.csv one row per ``evoplast evaluate`` (re-scoring on new held-out trials)
    cache.sqlite       evaluations already made by ``evoplast report``'s ablation (:class:`EvalCache`)

JSON files are standard JSON (a non-finite number is written as ``null``). JSON and the checkpoint
are written to a temporary file and renamed, so a kill never leaves a
half-written file; CSV rows are appended per generation and cut back to the checkpoint on resume.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import math
import os
import pickle
import platform
import sqlite3
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import RunDirError

if TYPE_CHECKING:
    from evoplast.config import Config

CONFIG, HISTORY, EVALUATIONS, CHECKPOINT, RESULT, LOCK = (
    "config.json", "history.csv", "evaluations.csv", "checkpoint.pkl", "result.json", "lock")
GENERALISATION, CACHE = "generalisation.csv", "cache.sqlite"
#: what every reader of result.json uses (the full schema: :class:`evoplast.selection.Result`)
RESULT_KEYS = ("task", "family", "coefficients", "normalized", "eta", "formula_pruned", "loss",
               "heldout", "theory", "generations", "evaluations")
DEFAULT_ROOT = Path("runs") / "out"


def git_revision(package_dir: Path | None = None, cwd: Path | None = None) -> str | None:
    """Git revision of the evoplast source tree that runs (``package_dir``, default this package's
    directory); for an installed copy, that of the working directory (``cwd``) when it is an
    evoplast checkout whose ``evoplast/`` holds the same Python sources. When they differ (an older
    install run from a newer checkout: ``python analysis/x.py`` imports the installed copy), None,
    with a warning: the checkout's revision would name code that did not run."""
    here = package_dir or Path(__file__).resolve().parent
    rev = _git_revision(here)
    cwd = cwd or Path.cwd()
    if rev is None and (cwd / "evoplast" / "__init__.py").is_file():
        if _same_sources(here, cwd / "evoplast"):
            rev = _git_revision(cwd)
        else:
            _warn_installed_differs(str(here), str(cwd))
    return rev


def _same_sources(a: Path, b: Path) -> bool:
    """The two package directories hold the same ``*.py`` files, byte for byte."""
    files = sorted(p.relative_to(a) for p in a.rglob("*.py"))
    if files != sorted(p.relative_to(b) for p in b.rglob("*.py")):
        return False
    return all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


_WARNED: set[tuple[str, str]] = set()


def _warn_installed_differs(here: str, cwd: str) -> None:
    import warnings

    if (here, cwd) not in _WARNED:
        _WARNED.add((here, cwd))
        warnings.warn(f"evoplast runs from {here}, whose sources differ from the checkout in {cwd}: no git "
                      "revision is recorded; to run the checkout's code, set PYTHONPATH to the checkout or "
                      "install it with `pip install -e .`", stacklevel=3)


def _git_revision(here: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                           capture_output=True, text=True, timeout=5, check=False).stdout.strip()
    return out.stdout.strip() + ("+dirty" if dirty else "")


def config_hash(config_dict: dict) -> str:
    return hashlib.sha256(json.dumps(config_dict, sort_keys=True).encode()).hexdigest()[:8]


def default_run_dir(config_path: str | Path, config_dict: dict, root: Path = DEFAULT_ROOT) -> Path:
    return root / f"{Path(config_path).stem}-{config_hash(config_dict)}"


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    """Standard JSON (RFC 8259): a non-finite number (inf, -inf, NaN) is written as ``null``."""
    text = json.dumps(_finite(obj), indent=2, sort_keys=False, allow_nan=False)
    write_atomic(path, (text + "\n").encode())


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.generic):  # numpy scalar
        return _finite(obj.item())
    return obj


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunDirError(f"{path} not found") from None
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path} is unreadable: {exc}") from None


MAGIC = b"evoplast-checkpoint-v2\n"


def checkpoint_key_path() -> Path:
    """Where this user's checkpoint key lives: $EVOPLAST_KEY_FILE, else
    $XDG_CONFIG_HOME/evoplast/checkpoint.key (default ~/.config/evoplast/checkpoint.key)."""
    if os.environ.get("EVOPLAST_KEY_FILE"):
        return Path(os.environ["EVOPLAST_KEY_FILE"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "evoplast" / "checkpoint.key"


def checkpoint_key() -> bytes:
    """This user's 32-byte key for signing checkpoints, created (mode 0600) on first use. It lives
    outside every run directory, so whoever can write a run directory cannot forge a checkpoint."""
    path = checkpoint_key_path()
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise RunDirError(f"cannot read the checkpoint key {path}: {exc}") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(32))
    except FileExistsError:  # another process made it first
        pass
    except OSError as exc:
        raise RunDirError(f"cannot create the checkpoint key {path} ({exc}); set EVOPLAST_KEY_FILE "
                          "to a writable path") from None
    return path.read_bytes()


def _mac(data: bytes) -> bytes:
    return hmac.new(checkpoint_key(), data, hashlib.sha256).digest()


class RunDir:
    """A run directory (see the module docstring for its files)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._locked = False

    def file(self, name: str) -> Path:
        return self.path / name

    # -- creation and locking ---------------------------------------------------------------------
    def create(self, config_dict: dict, source: str | None = None) -> None:
        """Make a new run directory; refuse one that already holds a run."""
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"{self.path} exists and is not a directory")
        if self.file(CONFIG).exists():
            raise RunDirError(f"{self.path} already holds a run; use 'evoplast resume {self.path}' "
                              f"or 'evoplast show {self.path}', or pass another --out")
        if self.path.exists() and any(self.path.iterdir()):
            raise RunDirError(f"{self.path} is not empty; pass an empty or new --out directory")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"cannot create run directory {self.path}: {exc}") from None
        from . import __version__

        meta = {"config": config_dict, "evoplast_version": __version__, "git_revision": git_revision(),
                "python": platform.python_version(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "source": source}
        # claim the directory atomically: link a complete config.json into place, which fails if
        # another process got there first (two runs into one --out: one wins, nothing mixed)
        tmp = self.path / f".{CONFIG}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(_finite(meta), indent=2, allow_nan=False) + "\n")
        try:
            os.link(tmp, self.file(CONFIG))
        except FileExistsError:
            raise RunDirError(f"{self.path} already holds a run (another process created it just "
                              f"now); pass another --out") from None
        finally:
            tmp.unlink(missing_ok=True)

    def lock(self) -> None:
        """Take the directory's lock file; refuse if a live process holds it."""
        path = self.file(LOCK)
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    fields = path.read_text().split()
                    pid = int(fields[0]) if fields else 0
                    started = fields[1] if len(fields) > 1 else None
                except OSError as exc:
                    raise RunDirError(f"{path} is a directory, not evoplast's lock file: remove it"
                                      if path.is_dir() else f"cannot read the lock file {path}: {exc}"
                                      ) from None
                except ValueError:  # garbage (UnicodeDecodeError too): a stale lock
                    pid, started = 0, None
                # a live process with the recorded start time holds it; a PID now reused by another
                # process (other start time) or a dead one left a stale lock
                if pid and _pid_alive(pid) and (started is None or started == _start_time(pid)):
                    raise RunDirError(f"{self.path} is in use by process {pid} (lock file {path}); "
                                      "wait for it to finish or stop it first (if no evoplast "
                                      f"process works on it, delete {path})") from None
                path.unlink(missing_ok=True)  # stale lock from a killed process
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{os.getpid()} {_start_time(os.getpid()) or ''}".strip())
            self._locked = True
            return
        raise RunDirError(f"cannot take the lock {path}")

    def unlock(self) -> None:
        if self._locked:
            self.file(LOCK).unlink(missing_ok=True)
            self._locked = False

    # -- reading ----------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.file(CONFIG).is_file()

    def require(self) -> None:
        if not self.path.is_dir():
            raise RunDirError(f"run directory {self.path} not found")
        if not self.exists():
            raise RunDirError(f"{self.path} is not a run directory (no {CONFIG})")

    def meta(self) -> dict:
        meta = read_json(self.file(CONFIG))
        if not isinstance(meta, dict) or "config" not in meta:
            raise RunDirError(f"{self.file(CONFIG)} has no 'config' entry")
        return meta

    def result(self) -> dict:
        """The finished run's result.json, checked for the keys every reader uses."""
        path = self.file(RESULT)
        result = read_json(path)
        missing = [k for k in RESULT_KEYS if k not in result] if isinstance(result, dict) else None
        if missing is None or missing:
            raise RunDirError(f"{path} is not an evoplast result (" + ("not a JSON object" if missing is None
                              else f"no {', '.join(missing[:3])}") + "); rerun, or resume from the "
                              "checkpoint after moving it away")
        return result

    # -- checkpoint -------------------------------------------------------------------------------
    def save_checkpoint(self, state: object) -> None:
        """The search state, pickled (pycma's object included) and signed: ``MAGIC``, an
        HMAC-SHA256 of the pickle under this user's key (:func:`checkpoint_key`), the pickle."""
        data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        write_atomic(self.file(CHECKPOINT), MAGIC + _mac(data) + data)

    def load_checkpoint(self) -> object | None:
        """The signed search state; a checkpoint whose signature does not verify under this user's
        key (tampered, written by another user or machine, or by evoplast < 0.2) is refused before
        anything in it is unpickled: a pickle can run code."""
        path = self.file(CHECKPOINT)
        if not path.exists():
            return None
        blob = path.read_bytes()
        head, mac, data = blob[:len(MAGIC)], blob[len(MAGIC):len(MAGIC) + 32], blob[len(MAGIC) + 32:]
        if head != MAGIC or not hmac.compare_digest(mac, _mac(data)):
            raise RunDirError(f"checkpoint {path} is not signed with this user's key "
                              f"({checkpoint_key_path()}): refused unread (a checkpoint can run code); "
                              "it may be tampered with, or from another user, machine or an evoplast "
                              "before 0.2 -- start a new run")
        try:
            state = pickle.loads(data)
        except Exception as exc:  # any unpickling failure means the file is unusable
            raise RunDirError(f"checkpoint {path} is unreadable ({type(exc).__name__}: {exc}); "
                              "earlier logs are intact, start a new run with --out") from None
        if not (isinstance(state, dict) and "generation" in state or hasattr(state, "generation")):
            raise RunDirError(f"checkpoint {path} does not hold an evoplast search state")
        return state

    # -- logs -------------------------------------------------------------------------------------
    def append_table(self, name: str, row: dict) -> Path:
        """Append one row to a CSV of the run directory (e.g. ``generalisation.csv``) under an
        exclusive lock, so concurrent writers keep every row; a new column widens the table."""
        import fcntl

        import pandas as pd

        path = self.file(name)
        fd = os.open(self.path, os.O_RDONLY)  # the directory itself is the lock: no file left behind
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            table = pd.DataFrame([row])
            old = self.read_table(name, list(row))
            if old is not None:
                table = pd.concat([old, table], ignore_index=True)
            write_atomic(path, table.to_csv(index=False).encode())
        finally:
            os.close(fd)
        return path

    def read_table(self, name: str, columns: list[str] | None = None) -> Any:
        """A CSV table of the run directory (a pandas DataFrame), or None if there is none yet;
        one that is unreadable, or lacks the first of ``columns``, is refused."""
        import pandas as pd

        path = self.file(name)
        if not path.exists():
            return None
        try:
            old = pd.read_csv(path, keep_default_na=False)
            if columns and columns[0] not in old:
                raise ValueError(f"not a table of this kind (columns {list(old.columns)[:4]})")
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            raise RunDirError(f"{path} is unreadable ({str(exc).splitlines()[0][:200]}); move it "
                              "away to start a new table") from None
        return old

    def append_rows(self, name: str, rows: Iterable[dict]) -> None:
        """Append rows to a CSV log under its existing header. A log begun by an evoplast without
        the ``metric:*`` columns keeps its header (those columns are left out of its new rows);
        any other difference in columns is refused."""
        rows = list(rows)
        if not rows:
            return
        path = self.file(name)
        new = not path.exists() or path.stat().st_size == 0
        fields = list(rows[0])
        if not new:
            with open(path, newline="") as fh:
                header = next(csv.reader(fh), [])
            if header != fields:
                if [f for f in fields if not f.startswith("metric:")] != header:
                    raise RunDirError(f"{path} has columns {header[:6]}...; this evoplast writes "
                                      f"{fields[:6]}...: resume with the version that began it")
                rows = [{k: v for k, v in r.items() if not k.startswith("metric:")} for r in rows]
                fields = header
        with open(path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            if new:
                writer.writeheader()
            writer.writerows(rows)
            fh.flush()
            os.fsync(fh.fileno())

    def truncate_logs(self, names: Iterable[str], max_generation: int) -> None:
        """Drop rows logged after the checkpoint (generation > max_generation) from the CSV logs
        ``names``; all are read and checked before any is rewritten, so a log that is not
        evoplast's (unreadable, no ``generation`` column, a directory) changes nothing."""
        import io

        new: dict[Path, bytes | None] = {}
        for name in names:
            path = self.file(name)
            if not path.exists():
                continue
            try:
                with open(path, newline="", encoding="utf-8") as fh:
                    reader = csv.DictReader(fh)
                    fields = reader.fieldnames
                    if fields is not None and "generation" not in fields:
                        raise ValueError(f"no 'generation' column (header: {','.join(fields)[:60]})")
                    # a row cut short by a kill has missing fields (None); rows after the checkpoint go
                    rows = [r for r in reader if None not in r.values() and None not in r
                            and r["generation"].isdigit() and int(r["generation"]) <= max_generation]
            except (OSError, ValueError, csv.Error) as exc:
                raise RunDirError(f"{path} is not evoplast's log ({type(exc).__name__}: {exc}"[:300]
                                  + "); restore it or move the run directory's logs away "
                                  "(the checkpoint is intact)") from None
            if fields is None:
                new[path] = None
                continue
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(rows)
            new[path] = buf.getvalue().encode()
        for path, data in new.items():
            if data is None:
                path.unlink()
            elif data != path.read_bytes():
                write_atomic(path, data)


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), or None where /proc
    does not say: with the PID it names one process, even after the PID is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EvalCache:
    """SQLite table (rule vector, task config, trial seeds) -> (loss row, status row, the task's
    per-trial metrics (:meth:`Task.evaluate_logged`) as JSON).

    Only ordinary outcomes are stored, never ``error``/``timeout``. The key includes the evoplast
    version, so results of another version are not reused. A cache file written before the metrics
    column existed gains it (its old entries read back without metrics).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._db = sqlite3.connect(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS evals (key TEXT PRIMARY KEY, loss BLOB, status BLOB, "
                         "metrics TEXT)")
        if "metrics" not in [r[1] for r in self._db.execute("PRAGMA table_info(evals)")]:
            self._db.execute("ALTER TABLE evals ADD COLUMN metrics TEXT")
        self._db.commit()

    @staticmethod
    def context(config: Config) -> str:
        from . import __version__

        d = config.to_dict()
        return json.dumps({"version": __version__, "task": d["task"], "rule": d["rule"]}, sort_keys=True)

    @staticmethod
    def key(context: str, vector: np.ndarray, trial_key: str) -> str:
        h = hashlib.sha256(context.encode())
        h.update(np.ascontiguousarray(vector, dtype=np.float64).tobytes())
        h.update(trial_key.encode())
        return h.hexdigest()

    def get(self, key: str) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]] | None:
        """(loss row, status row, {metric: row}) or None."""
        row = self._db.execute("SELECT loss, status, metrics FROM evals WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        metrics = {n: np.array(v, dtype=float) for n, v in json.loads(row[2] or "{}").items()}
        return np.frombuffer(row[0], dtype=np.float64), np.frombuffer(row[1], dtype=np.int16), metrics

    def put_many(self, items: Iterable[tuple[str, np.ndarray, np.ndarray, dict[str, np.ndarray]]]) -> None:
        """Store (key, loss row, status row, {metric: row}) items."""
        self._db.executemany(
            "INSERT OR REPLACE INTO evals (key, loss, status, metrics) VALUES (?, ?, ?, ?)",
            [(k, np.asarray(l, np.float64).tobytes(), np.asarray(s, np.int16).tobytes(),
              json.dumps({n: np.asarray(v, float).tolist() for n, v in m.items()}))
             for k, l, s, m in items])
        self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM evals").fetchone()[0]

    def close(self) -> None:
        self._db.close()
