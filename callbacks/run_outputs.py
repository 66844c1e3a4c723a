"""``RunOutputs``: a run's folders checked and its run folder locked before the first step; SIGTERM exits non-zero.

Before the first step (``prepare``: the CLI calls it before ``fit``, the callback's ``setup`` otherwise):

* every folder the run will write is checked writable, with an error naming the folder and the option that moves
  it: the run folder (``default_root_dir``), each logger's folder, and each callback's folders (a callback lists
  them in ``output_folders(trainer)``: ``ZooCheckpoint`` its checkpoints, ``SampleGrid`` its grids,
  ``TrainingSummary`` / ``GenerativeMetrics`` their ``metrics.json``; a plain ``ModelCheckpoint`` its ``dirpath``);
* the run folder is locked (``.gan-zoo.lock``: pid, host, start time) against a second run writing into it at the
  same time, which is refused naming the other process; a lock whose process is gone (same host) is taken over;
* temporary files a killed run left behind (``*.ckpt.tmp`` of the atomic checkpoint writes, ``.metrics-*.json``
  of the atomic ``metrics.json`` writes) are removed.

A logger creates its folder before any callback's ``setup`` runs; when that fails (a run folder under a regular file,
a read-only path), ``on_exception`` replaces the logger's raw error by the same clear one.

On SIGTERM (SLURM preemption, ``kill``) ``ZooCheckpoint`` saves ``last.ckpt``, ``TrainingSummary`` and
``SampleGrid`` write what a normal end writes, and this callback makes the process exit with status 143
(128 + SIGTERM) instead of Lightning's 0, so a scheduler sees the run as interrupted, not finished.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from lightning.pytorch.utilities.exceptions import SIGTERMException

LOCK_NAME = ".gan-zoo.lock"
#: files an interrupted atomic write leaves behind (``ZooCheckpoint``: ``<name>.ckpt.tmp``; ``metrics_file``)
TEMPORARY_PATTERNS = ("*.ckpt.tmp", ".metrics-*.json", ".gan-zoo-probe-*")
SIGTERM_EXIT_CODE = 128 + signal.SIGTERM
ROOT_OPTION = "--trainer.default_root_dir (Trainer(default_root_dir=...))"


class UnwritableOutputError(PermissionError):
    """A folder the run must write cannot be written; the message names it and the option that moves it."""


class RunFolderLockedError(OSError):
    """Another live process is running in this run folder; the message names its pid."""


def require_writable_folder(folder: str | Path, what: str, option: str = ROOT_OPTION) -> None:
    """Raise ``UnwritableOutputError`` unless ``folder`` can be created (if missing) and written to.

    Nothing is created: the nearest existing folder on the way is probed with a temporary file (permission bits
    alone say nothing for root, or on a read-only mount)."""
    folder = Path(folder).absolute()
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    fix = f"choose a writable {ROOT_OPTION}" + ("" if option == ROOT_OPTION else f" or set {option}")
    if not existing.is_dir():
        raise UnwritableOutputError(f"cannot write {what} to {folder}: {existing} is a file, not a folder; {fix}.")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".gan-zoo-probe-")
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise UnwritableOutputError(
            f"cannot write {what} to {folder}: {existing} is not writable ({reason}); {fix}."
        ) from err
    os.close(fd)
    os.remove(probe)


def output_folders(trainer: L.Trainer, loggers: bool = True) -> list[tuple[str, Path, str]]:
    """(what, folder, option that moves it) for every folder this run will write (``loggers=False``: the run
    folder and the callbacks' folders only)."""
    folders = [("the run's files", Path(trainer.default_root_dir), ROOT_OPTION)]
    for logger in trainer.loggers if loggers else []:
        save_dir = getattr(logger, "save_dir", None)
        if save_dir is not None:
            folders.append((f"logs ({type(logger).__name__})", Path(save_dir), "--trainer.logger.init_args.save_dir"))
    for callback in trainer.callbacks:
        declared = getattr(callback, "output_folders", None)
        if callable(declared):
            folders.extend((what, Path(folder), option) for what, folder, option in declared(trainer))
        elif isinstance(callback, ModelCheckpoint) and callback.dirpath is not None:
            folders.append(("checkpoints", Path(callback.dirpath), "dirpath"))
    return folders


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class RunLock:
    """``<folder>/.gan-zoo.lock``: created atomically (a hard link of a complete temporary file), holding the
    owner's pid, host and start time. Held by this process: re-entered. Held by a live process: refused. Held by
    a process that is gone (same host): taken over, with a warning."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.held = False

    def owner(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # unreadable or half-written: nobody can hold it

    def acquire(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        for _ in range(3):
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".gan-zoo-probe-")
            with os.fdopen(fd, "w") as handle:
                handle.write(json.dumps(me) + "\n")
            try:
                os.link(tmp, self.path)
                self.held = True
                return
            except FileExistsError:
                pass
            finally:
                os.remove(tmp)
            owner = self.owner()
            if owner is None:
                continue  # released meanwhile: try again
            pid, host = owner.get("pid"), owner.get("host")
            if pid == os.getpid() and host == me["host"]:
                self.held = True  # an earlier fit of this process did not release it
                return
            if isinstance(pid, int) and host == me["host"] and pid_alive(pid):
                raise RunFolderLockedError(
                    f"run folder {self.folder} is in use by another run: pid {pid} on {host}, started "
                    f"{owner.get('started', '?')} (lock file {self.path}). Wait for it to end or stop it, or choose "
                    f"another {ROOT_OPTION}."
                )
            if host not in (None, me["host"]) and isinstance(pid, int):
                raise RunFolderLockedError(
                    f"run folder {self.folder} is locked by pid {pid} on host {host}, which cannot be checked from "
                    f"here (lock file {self.path}). If that run has ended, delete the lock file; or choose another "
                    f"{ROOT_OPTION}."
                )
            rank_zero_warn(f"run folder {self.folder}: taking over the lock of pid {pid}, which is no longer running.")
            self.path.unlink(missing_ok=True)
        raise RunFolderLockedError(f"could not lock run folder {self.folder} ({self.path} keeps changing).")

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        owner = self.owner()
        if owner and owner.get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)


def remove_temporary_files(folders: list[Path]) -> list[Path]:
    """Delete what an interrupted atomic write left in ``folders`` (``TEMPORARY_PATTERNS``); returns the files."""
    removed = []
    for folder in dict.fromkeys(folders):
        if folder.is_dir():
            for pattern in TEMPORARY_PATTERNS:
                for path in folder.glob(pattern):
                    if path.is_file():
                        path.unlink(missing_ok=True)
                        removed.append(path)
    return removed


class RunOutputs(L.Callback):
    """Checks and locks a run's outputs before the first step; SIGTERM exits with status 143 (see the module doc).

    Args:
        lock: lock the run folder against a concurrent run.
        clean_temporary: remove temporary files a killed run left in the output folders.
    """

    def __init__(self, lock: bool = True, clean_temporary: bool = True) -> None:
        self.lock = lock
        self.clean_temporary = clean_temporary
        self._lock: RunLock | None = None
        self._prepared = False

    def check(self, trainer: L.Trainer) -> list[Path]:
        """Check every output folder (``output_folders``); returns them."""
        folders = output_folders(trainer)
        for what, folder, option in folders:
            require_writable_folder(folder, what, option)
        return [folder for _, folder, _ in folders]

    def prepare(self, trainer: L.Trainer) -> None:
        """Check the folders, lock the run folder, remove stale temporary files (once per fit; global rank 0 locks
        and cleans)."""
        if self._prepared:
            return
        self.check(trainer)
        if trainer.is_global_zero:
            if self.lock:
                self._lock = RunLock(trainer.default_root_dir)
                self._lock.acquire()
            if self.clean_temporary:  # the run's own folders (a logger's may be shared, e.g. ".")
                removed = remove_temporary_files([folder for _, folder, _ in output_folders(trainer, loggers=False)])
                if removed:
                    rank_zero_info(f"Removed {len(removed)} temporary file(s) of an interrupted run: {removed}")
        self._prepared = True

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self._prepared = False

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            self.prepare(trainer)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            self.release()

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, SIGTERMException) and exception.code in (None, 0):
            exception.code = SIGTERM_EXIT_CODE  # SystemExit's status: interrupted, not finished
        prepared = self._prepared
        self.release()
        if not prepared and isinstance(exception, OSError) and trainer.state.fn == "fit":
            # a logger failed to make its folder before setup: name the folder instead of its raw error
            try:
                self.check(trainer)
            except UnwritableOutputError as clear:
                raise clear from exception
