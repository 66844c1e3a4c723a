"""``RunOutputs``: output folders checked before the first step, the run folder locked, a killed run's temporary
files removed, and SIGTERM leaving a non-zero exit status with last.ckpt and metrics.json written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest

from callbacks import RunOutputs, SampleGrid, TrainingSummary, ZooCheckpoint
from callbacks.run_outputs import LOCK_NAME, SIGTERM_EXIT_CODE, RunFolderLockedError, RunLock, UnwritableOutputError
from datamodules import FashionMNISTData
from tests.conftest import tiny_trainer
from zoo import GAN
from zoo.checkpoints import read_checkpoint
from zoo.commands.cli import main as cli_main

REPO = Path(__file__).resolve().parents[2]


class TermAt(L.Callback):
    """Sends SIGTERM (SLURM preemption, ``kill``) to this process at the first batch reaching global step ``step``."""

    def __init__(self, step: int = 6) -> None:
        self.step = step
        self.sent = False

    def on_train_batch_end(self, trainer, pl_module, *args) -> None:
        if trainer.global_step >= self.step and not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)


def data(fashion_dir) -> FashionMNISTData:
    return FashionMNISTData(data_dir=str(fashion_dir), batch_size=16)


def cli_args(fashion_dir, root, max_steps: int = 6, *extra: str) -> list[str]:
    args = ["fit", "--model", "GAN", "--model.latent_dim", "8", "--model.width", "8", "--data", "FashionMNISTData"]
    args += ["--data.data_dir", str(fashion_dir), "--data.batch_size", "16", "--trainer.enable_progress_bar", "false"]
    return args + ["--trainer.default_root_dir", str(root), "--trainer.max_steps", str(max_steps), *extra]


@pytest.fixture
def read_only_dir(tmp_path, monkeypatch) -> Path:
    """A folder this process cannot write to: permission bits for a normal user; root ignores them, so there a
    read-only kernel file system (sysfs) stands in, and where even that accepts root's writes (some sandboxes), a
    folder whose write probe (``tempfile.mkstemp``, what ``require_writable_folder`` tries) fails with EACCES."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").write_text("")
    except OSError:
        yield folder
        folder.chmod(0o755)
        return
    folder.chmod(0o755)
    (folder / "probe").unlink()
    for candidate in (Path("/sys/fs"), Path("/proc")):
        try:
            (candidate / "gan-zoo-probe").mkdir()
        except OSError:
            yield candidate
            return
        (candidate / "gan-zoo-probe").rmdir()
    import callbacks.run_outputs as run_outputs

    real_mkstemp = run_outputs.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).absolute().is_relative_to(folder):
            raise PermissionError(13, "Permission denied", str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(run_outputs.tempfile, "mkstemp", mkstemp)
    yield folder


# ------------------------------------------------------------------ folders checked before the first step
def test_unwritable_sample_folder_is_refused_before_the_first_step(fashion_dir, tmp_path):
    """It used to surface mid-training as a raw OSError from save_image, with no checkpoint written."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file")
    model = GAN(latent_dim=8, width=8)
    callbacks = [RunOutputs(), SampleGrid(every_n_steps=1, dirpath=str(blocker / "samples")), ZooCheckpoint()]
    trainer = tiny_trainer(tmp_path / "run", max_steps=6, enable_checkpointing=True, callbacks=callbacks)
    with pytest.raises(
        UnwritableOutputError,
        match=r"cannot write sample grids to \S+blocker/samples: \S+blocker is a file, not a folder; choose a writable "
        r"--trainer.default_root_dir .* or set --sample_grid.dirpath",
    ):
        trainer.fit(model, data(fashion_dir))
    assert model.d_steps == 0  # refused before the first step


def test_run_folder_under_a_file_names_the_folder_not_the_loggers_raw_error(fashion_dir, tmp_path):
    """The logger makes its folder before any callback's setup; its raw error is replaced by the clear one."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file")
    trainer = tiny_trainer(blocker / "run", max_steps=2, logger=True, callbacks=[RunOutputs()])
    with pytest.raises(UnwritableOutputError, match=r"cannot write the run's files to \S+blocker/run: \S+ is a file"):
        trainer.fit(GAN(latent_dim=8, width=8), data(fashion_dir))


def test_read_only_run_folder_is_refused_with_its_name(fashion_dir, tmp_path, read_only_dir):
    root = read_only_dir / "run"
    trainer = tiny_trainer(root, max_steps=2, logger=True, callbacks=[RunOutputs()])
    with pytest.raises(UnwritableOutputError, match=rf"cannot write the run's files to {root}: .* is not writable"):
        trainer.fit(GAN(latent_dim=8, width=8), data(fashion_dir))


def test_cli_checks_the_folders_before_the_logger(fashion_dir, tmp_path, read_only_dir):
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file")
    with pytest.raises(SystemExit, match=r"gan-zoo fit: error: cannot write the run's files to \S+blocker/run: .*file"):
        cli_main(cli_args(fashion_dir, blocker / "run"))  # the CLI's default TensorBoard logger included
    with pytest.raises(SystemExit, match=r"cannot write sample grids to \S+blocker/grids: .*--sample_grid.dirpath"):
        cli_main(cli_args(fashion_dir, tmp_path / "ok", 6, "--sample_grid.dirpath", str(blocker / "grids")))
    assert not (tmp_path / "ok" / "lightning_logs").exists()  # refused before the logger made its folder
    with pytest.raises(SystemExit, match=rf"cannot write the run's files to {read_only_dir / 'run'}: .*not writable"):
        cli_main(cli_args(fashion_dir, read_only_dir / "run"))


# ------------------------------------------------------------------ the run folder's lock
def test_a_second_run_in_the_same_folder_is_refused_naming_the_pid_and_a_stale_lock_is_recovered(fashion_dir, tmp_path):
    root = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from callbacks.run_outputs import RunLock; "
         "RunLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(120)", str(root)],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        model = GAN(latent_dim=8, width=8)
        trainer = tiny_trainer(root, max_steps=2, callbacks=[RunOutputs()])
        with pytest.raises(
            RunFolderLockedError, match=rf"run folder {root} is in use by another run: pid {holder.pid}"
        ):
            trainer.fit(model, data(fashion_dir))
        assert model.d_steps == 0
        with pytest.raises(
            SystemExit, match=rf"gan-zoo fit: error: run folder .* in use by another run: pid {holder.pid}"
        ):
            cli_main(cli_args(fashion_dir, root, 2, "--trainer.logger", "false"))
    finally:
        holder.kill()
        holder.wait()
    assert json.loads((root / LOCK_NAME).read_text())["pid"] == holder.pid  # killed: its lock stays behind
    trainer = tiny_trainer(root, max_steps=2, callbacks=[RunOutputs(), TrainingSummary()])
    with pytest.warns(UserWarning, match=rf"taking over the lock of pid {holder.pid}, which is no longer running"):
        trainer.fit(GAN(latent_dim=8, width=8), data(fashion_dir))
    assert json.loads((root / "metrics.json").read_text())["status"] == "completed"
    assert not (root / LOCK_NAME).exists()  # released at the end


def test_lock_is_reentrant_in_one_process_and_released(tmp_path):
    lock = RunLock(tmp_path)
    lock.acquire()
    again = RunLock(tmp_path)
    again.acquire()  # the same process (an earlier fit that did not release): not a conflict
    lock.release()
    assert not (tmp_path / LOCK_NAME).exists()
    (tmp_path / LOCK_NAME).write_text('{"pid": 1, "host": "elsewhere.example"}')
    with pytest.raises(
        RunFolderLockedError, match="locked by pid 1 on host elsewhere.example, which cannot be checked"
    ):
        RunLock(tmp_path).acquire()


def test_temporary_files_of_a_killed_run_are_removed_at_the_next_start(fashion_dir, tmp_path):
    root = tmp_path / "run"
    (root / "checkpoints").mkdir(parents=True)
    left = [root / "checkpoints" / "last.ckpt.tmp", root / ".metrics-x1y2.json", root / "checkpoints" / "keep.txt"]
    for path in left:
        path.write_bytes(b"half-written")
    callbacks = [RunOutputs(), TrainingSummary(), ZooCheckpoint(every_n_train_steps=2)]
    trainer = tiny_trainer(root, max_steps=2, enable_checkpointing=True, callbacks=callbacks)
    trainer.fit(GAN(latent_dim=8, width=8), data(fashion_dir))
    assert [p.exists() for p in left] == [False, False, True]  # only what an interrupted atomic write leaves
    read_checkpoint(root / "checkpoints" / "last.ckpt")


# ------------------------------------------------------------------ SIGTERM
def test_sigterm_exits_non_zero_after_writing_what_a_normal_end_writes(fashion_dir, tmp_path):
    root = tmp_path / "run"
    term = json.dumps([{"class_path": "tests.callbacks.test_run_outputs.TermAt", "init_args": {"step": 6}}])
    args = cli_args(fashion_dir, root, 200, "--trainer.logger", "false", "--trainer.callbacks", term)
    args += ["--checkpoint.every_n_train_steps", "100", "--sample_grid.every_n_steps", "1000"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "zoo.commands.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == SIGTERM_EXIT_CODE == 143, done.stderr[-3000:]
    saved = read_checkpoint(root / "checkpoints" / "last.ckpt")
    assert saved["global_step"] == 6  # saved at once, not at the checkpoint interval (100)
    summary = json.loads((root / "metrics.json").read_text())
    assert summary["status"] == "interrupted (SIGTERM)"
    assert summary["g_steps"] == saved["adversarial_counters"]["g_steps"] == 3
    assert (root / "samples" / "last.png").is_file()  # the grid a normal end leaves
    assert not (root / LOCK_NAME).exists()
