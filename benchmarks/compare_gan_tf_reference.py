"""An independent TensorFlow re-implementation of compare_gan's default NS GAN on Fashion-MNIST (issue 16).

Why: the zoo's NS GAN at compare_gan's default setting (Adam 5e-5, beta1 0, batch norm in D) ends at Inception FID
~56 (``fashion_lucic.md``), and ``bn_gradient_probe`` traces a collapse of the samples early in training. Is that
the setting, or something in the zoo (PyTorch, its nets, its losses, its loop)? This script trains the same setting
in a different framework, written from ``benchmarks/tables/lucic_protocol.md`` (which cites compare_gan ``v1``
``file:line`` for every item) and from nothing in the zoo, as compare_gan ran it in TF1:

* nets: ``abstract_gan.py`` l.67-116, InfoGAN-style: G FC 1024 -> BN -> lrelu -> FC 6272 -> BN -> lrelu -> deconv 64
  -> BN -> lrelu -> deconv 1 -> sigmoid; D conv 64 -> lrelu -> conv 128 -> BN -> lrelu -> FC 1024 -> BN -> lrelu ->
  FC 1 (4x4 kernels, stride 2, ``SAME``; lrelu 0.2); FC and deconv weights N(0, 0.02), conv weights truncated
  normal (std 0.02), biases 0; BN as ``tf.contrib.layers.batch_norm(decay=0.999, epsilon=0.001, scale=True)``:
  batch statistics in training mode, moving averages updated at every training-mode call;
* data: the 60,000 training images in [0, 1], ``repeat().shuffle(10000, seed=547).batch(64)`` (``gan_lib.py``);
* a step: one D update on a fresh real batch and a fresh z ~ U[-1, 1]^64 (NumPy, seeded), then one G update on
  the *same* z (``disc_iters`` 1; ``abstract_gan.py`` l.207-263); D called on reals and fakes separately
  (``GAN.py`` l.54-60); D loss BCE-with-logits (real 1, fake 0), G loss BCE(D(G(z)), 1) (l.63-77);
  Adam(5e-5, beta1 0, beta2 0.999, eps 1e-8, TF's form) for both nets (l.89-95); 15,625 D updates;
* samples: at D steps 3,906, 7,812, 11,718 and 15,625 (compare_gan's checkpoints), 10,000 fakes of G in
  inference mode (moving averages) from ``np.random.seed(42)``'s z, as ``eval_gan_lib.py`` draws them, saved as
  uint8 (x * 255, rounded) for ``benchmarks.score_images`` to score with the zoo's Inception pipeline.

Every ``--every`` D updates it records, on a fixed z batch (its own RNG), what ``bn_gradient_probe`` records:
the fakes' pixel std across the batch ([-1, 1] units, i.e. 2x the [0, 1] std), mean sigmoid D on the step's reals
and on the fakes (D in training mode on the fakes alone), and the NS G loss with D on the fakes alone
(``separate``) and on reals and fakes in one batch (``joint``); BN moving averages are restored after measuring.

TensorFlow is not a dependency of the zoo: run this in its own environment, e.g.
``python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu`` and
``/tmp/tfenv/bin/python benchmarks/compare_gan_tf_reference.py --out benchmarks/results/compare_gan_tf_reference``.
Score the saved samples with the zoo's pipeline (the Lucic table's extractor, split and sample counts; the real
statistics are the table's, cached), then render ``<out>.md`` beside the zoo's own runs (no TensorFlow needed):
``gan-zoo evaluate --images <out>/.work/ns_gan-s0/samples-15625.npz --extractor inception-v3-compat --metrics
fid,kid,pr --out <out>/ns_gan-s0-d15625-inception-v3-compat.metrics.json`` and
``python benchmarks/compare_gan_tf_reference.py --out <out> --render``.
The run checkpoints every ``--checkpoint-every`` D updates (nets, optimizers, data iterator, NumPy RNG) under
``<out>/.work`` and resumes from there. Not exercised by the test suite (no TensorFlow in CI).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

#: compare_gan's checkpoints for a 15,625-step Fashion-MNIST run (every 5 * 50000 // 64 steps, and the last)
SNAPSHOTS = (3906, 7812, 11718, 15625)
FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def load_idx_images(path: str) -> np.ndarray:
    """uint8 images (N, 28, 28) of an IDX3 file (gzip)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    n, rows, cols = (int.from_bytes(data[i : i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows, cols)


def build_nets(tf, keras):
    """compare_gan's InfoGAN-style G and D for 28x28x1 (abstract_gan.py l.67-116), NHWC, images in [0, 1]."""
    normal = keras.initializers.RandomNormal(stddev=0.02)
    truncated = keras.initializers.TruncatedNormal(stddev=0.02)

    def bn():
        return keras.layers.BatchNormalization(momentum=0.999, epsilon=1e-3, scale=True, center=True)

    def lrelu():
        return keras.layers.LeakyReLU(negative_slope=0.2)

    generator = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(1024, kernel_initializer=normal),
            bn(),
            lrelu(),
            keras.layers.Dense(128 * 7 * 7, kernel_initializer=normal),
            bn(),
            lrelu(),
            keras.layers.Reshape((7, 7, 128)),
            keras.layers.Conv2DTranspose(64, 4, strides=2, padding="same", kernel_initializer=normal),
            bn(),
            lrelu(),
            keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", kernel_initializer=normal),
            keras.layers.Activation("sigmoid"),
        ]
    )
    discriminator = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(64, 4, strides=2, padding="same", kernel_initializer=truncated),
            lrelu(),
            keras.layers.Conv2D(128, 4, strides=2, padding="same", kernel_initializer=truncated),
            bn(),
            lrelu(),
            keras.layers.Flatten(),
            keras.layers.Dense(1024, kernel_initializer=normal),
            bn(),
            lrelu(),
            keras.layers.Dense(1, kernel_initializer=normal),
        ]
    )
    return generator, discriminator


def git_sha() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="result folder (JSON here, checkpoints and samples in .work)")
    parser.add_argument("--steps", type=int, default=15625, help="D updates (compare_gan: 15,625)")
    parser.add_argument("--seed", type=int, default=0, help="tf and NumPy seed (compare_gan's tf_seed)")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--beta1", type=float, default=0.0)
    parser.add_argument("--d-batchnorm", choices=("on", "off"), default="on")
    parser.add_argument("--every", type=int, default=150, help="measure every this many D updates")
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    parser.add_argument("--n-samples", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fashion-dir", default=FASHION_DIR)
    parser.add_argument("--label", default="", help="suffix of the result file")
    parser.add_argument("--render", action="store_true", help="only render <out>.md from the JSON files")
    args = parser.parse_args(argv)
    if args.render:
        render(Path(args.out))
        return

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.random.set_seed(args.seed)
    np.random.seed(args.seed)

    out = Path(args.out)
    name = f"ns_gan-s{args.seed}" + (f"-{args.label}" if args.label else "")
    work = out / ".work" / name
    work.mkdir(parents=True, exist_ok=True)

    train = load_idx_images(os.path.join(args.fashion_dir, "train-images-idx3-ubyte.gz"))
    images = (train.astype(np.float32) / 255.0)[..., None]
    dataset = tf.data.Dataset.from_tensor_slices(images).repeat().shuffle(10000, seed=547).batch(64)
    iterator = iter(dataset)

    generator, discriminator = build_nets(tf, keras)
    if args.d_batchnorm == "off":
        discriminator = keras.Sequential(
            [layer for layer in discriminator.layers if not isinstance(layer, keras.layers.BatchNormalization)]
        )
        discriminator.build((None, 28, 28, 1))
    g_opt = keras.optimizers.Adam(learning_rate=args.lr, beta_1=args.beta1, beta_2=0.999, epsilon=1e-8)
    d_opt = keras.optimizers.Adam(learning_rate=args.lr, beta_1=args.beta1, beta_2=0.999, epsilon=1e-8)
    g_opt.build(generator.trainable_variables)
    d_opt.build(discriminator.trainable_variables)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    step = tf.Variable(0, dtype=tf.int64)
    checkpoint = tf.train.Checkpoint(g=generator, d=discriminator, g_opt=g_opt, d_opt=d_opt, data=iterator, step=step)
    manager = tf.train.CheckpointManager(checkpoint, str(work / "ckpt"), max_to_keep=1)
    trace_path = work / "trace.json"
    trace: list[dict[str, float]] = []
    wall_before = 0.0
    shas = [git_sha()]  # the code of each sitting (the first started the run)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
        state = json.loads((work / "state.json").read_text())
        np.random.set_state(
            tuple(state["numpy_rng"][:1])
            + (np.array(state["numpy_rng"][1], np.uint32),)
            + tuple(state["numpy_rng"][2:])
        )
        trace = json.loads(trace_path.read_text())
        wall_before = state["wall_s"]
        shas = list(dict.fromkeys(state.get("git", []) + shas))
        print(f"resumed at D step {int(step.numpy())}", flush=True)

    @tf.function
    def train_step(real, z):
        with tf.GradientTape() as tape:
            fake = generator(z, training=True)
            real_logits = discriminator(real, training=True)
            fake_logits = discriminator(fake, training=True)
            d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
        d_opt.apply_gradients(
            zip(tape.gradient(d_loss, discriminator.trainable_variables), discriminator.trainable_variables)
        )
        with tf.GradientTape() as tape:
            fake_logits = discriminator(generator(z, training=True), training=True)
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
        g_opt.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables), generator.trainable_variables))
        return d_loss, g_loss

    probe_z = np.random.RandomState(1234).uniform(-1, 1, (64, 64)).astype(np.float32)

    def measure(real) -> dict[str, float]:
        saved = [v.numpy() for v in generator.non_trainable_variables + discriminator.non_trainable_variables]
        fake = generator(probe_z, training=True)
        separate = discriminator(fake, training=True)
        joint = discriminator(tf.concat([real, fake], 0), training=True)[len(real) :]
        real_logits = discriminator(real, training=True)
        for v, value in zip(generator.non_trainable_variables + discriminator.non_trainable_variables, saved):
            v.assign(value)
        return {
            "d_steps": int(step.numpy()),
            "fake_std": float(2 * np.std(fake.numpy(), axis=0, ddof=1).mean()),
            "real_std": float(2 * np.std(real.numpy(), axis=0, ddof=1).mean()),
            "d_real": float(tf.reduce_mean(tf.sigmoid(real_logits))),
            "d_fake": float(tf.reduce_mean(tf.sigmoid(separate))),
            "g_loss_separate": float(bce(tf.ones_like(separate), separate)),
            "g_loss_joint": float(bce(tf.ones_like(joint), joint)),
        }

    def save_samples(at: int) -> None:
        path = work / f"samples-{at}.npz"
        if path.exists():
            return
        z = np.random.RandomState(42).uniform(-1, 1, (args.n_samples, 64)).astype(np.float32)
        fakes = np.concatenate([generator(z[i : i + 500], training=False).numpy() for i in range(0, len(z), 500)])
        np.savez_compressed(path, images=np.round(fakes[..., 0] * 255).astype(np.uint8), d_steps=at)
        print(f"samples at D step {at}: {path}", flush=True)

    t0 = time.perf_counter()
    while int(step.numpy()) < args.steps:
        real = next(iterator)
        z = np.random.uniform(-1, 1, (64, 64)).astype(np.float32)
        train_step(real, z)
        step.assign_add(1)
        done = int(step.numpy())
        if done % args.every == 0 or done == args.steps:
            row = measure(real)
            trace.append(row)
            print(row, flush=True)
        if done in SNAPSHOTS or done == args.steps:
            save_samples(done)
        if done % args.checkpoint_every == 0 or done == args.steps:
            manager.save()
            rng = np.random.get_state()
            state = {"numpy_rng": [rng[0], rng[1].tolist(), *rng[2:]], "wall_s": wall_before + time.perf_counter() - t0}
            state["git"] = shas
            (work / "state.json").write_text(json.dumps(state))
            trace_path.write_text(json.dumps(trace))
    wall = wall_before + time.perf_counter() - t0
    result = {
        "schema": "compare_gan_tf_reference/1",
        "what": "compare_gan's default NS GAN (v1 code, as lucic_protocol.md records it) re-implemented in TensorFlow",
        "settings": vars(args) | {"batch": 64, "z": "U[-1, 1]^64", "g_update_z": "the D update's z"},
        "samples": {str(s): str(work / f"samples-{s}.npz") for s in SNAPSHOTS if (work / f"samples-{s}.npz").exists()},
        "trace": trace,
        "protocol": {
            "git": ", ".join(shas),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "cpu_model": cpu_model(),
            "threads": args.threads,
            "command": "python benchmarks/compare_gan_tf_reference.py "
            + " ".join(argv if argv is not None else sys.argv[1:]),
        },
        "wall_time_s": round(wall, 1),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out / f'{name}.json'} ({wall:.0f} s)", flush=True)


#: the zoo's side of the comparison: the table cells and the probe runs of the same setting
ZOO_RESULTS = Path(__file__).resolve().parent / "results"
ZOO_CELLS = "fashion_lucic/gan_ns-s{seed}.json"
ZOO_PROBES = {
    "zoo (fresh z for G)": "bn_gradient_probe/gan_ns-s{seed}.json",
    "zoo (G reuses D's z)": "bn_gradient_probe/gan_ns-s{seed}-g_reuses_d_z.json",
}
METRIC_FILE = re.compile(r"(?P<run>ns_gan-s\d+(?:-[\w.-]+?)?)-d(?P<step>\d+)-(?P<extractor>[\w-]+)\.metrics\.json")


def render(out: Path) -> Path:
    """``<out>.md``: each TF run's trace beside the zoo's probe traces, and the scored samples beside the zoo cells."""
    runs = sorted(p for p in out.glob("ns_gan-*.json") if not p.name.endswith(".metrics.json"))
    lines = [
        "# compare_gan's default NS GAN in TensorFlow, beside the zoo's",
        "",
        "Made by `benchmarks/compare_gan_tf_reference.py` (see its docstring): compare_gan's default NS GAN setting "
        "(Adam 5e-5, beta1 0, batch norm in D, 15,625 D updates, batch 64, z ~ U[-1, 1]^64) re-implemented in "
        "TensorFlow from `benchmarks/tables/lucic_protocol.md`, sharing no code with the zoo. `fake std`: pixel std "
        "across a fixed-z fake batch ([-1, 1] units; real batches ~0.55). `D(x)`, `D(G(z))`: mean sigmoid of D "
        "(training mode) on the step's reals and on the fakes alone; `G loss`: the NS loss with D on the fakes alone "
        "(separate) and in one batch with reals (joint). The zoo's columns come from `bn_gradient_probe` runs of the "
        "table's cell with the same seed (its own z draws: the runs share the setting, not the random numbers).",
        "",
    ]
    for path in runs:
        run = json.loads(path.read_text())
        seed = run["settings"]["seed"]
        proto = run["protocol"]
        lines += [
            f"## {path.stem}",
            "",
            f"{run['trace'][-1]['d_steps'] if run['trace'] else 0} D updates; git `{proto['git']}`; TensorFlow "
            f"{proto['tensorflow']}, Keras {proto['keras']}; {proto['cpu_model']}, {proto['threads']} thread(s); "
            f"{run['wall_time_s']:.0f} s. Command: `{proto['command']}`.",
            "",
        ]
        zoo = {}
        for name, pattern in ZOO_PROBES.items():
            probe = ZOO_RESULTS / pattern.format(seed=seed)
            if probe.is_file():
                zoo[name] = {row["d_steps"]: row["fake_std"] for row in json.loads(probe.read_text())["trace"]}
        header = "| D steps | fake std | real std | D(x) | D(G(z)) | G loss separate | G loss joint |"
        header += "".join(f" fake std, {name} |" for name in zoo)
        lines += [header, "|" + "---:|" * (7 + len(zoo))]
        for row in run["trace"]:
            cells = [
                str(row["d_steps"]),
                f"{row['fake_std']:.4f}",
                f"{row['real_std']:.4f}",
                f"{row['d_real']:.3f}",
                f"{row['d_fake']:.3f}",
                f"{row['g_loss_separate']:.3f}",
                f"{row['g_loss_joint']:.3f}",
            ]
            cells += [f"{z[row['d_steps']]:.4f}" if row["d_steps"] in z else "–" for z in zoo.values()]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    scored = sorted(
        ((m, json.loads(p.read_text())) for p in out.glob("*.metrics.json") if (m := METRIC_FILE.fullmatch(p.name))),
        key=lambda item: (item[0]["run"], item[0]["extractor"], int(item[0]["step"])),
    )
    if scored:
        lines += [
            "## The samples, scored by the zoo's pipeline",
            "",
            "`gan-zoo evaluate --images` on each saved set (10,000 fakes of G in inference mode, z from NumPy seed "
            "42 as compare_gan's eval draws it, uint8) against the 10,000 test images, the Lucic table's protocol "
            "and cached real statistics; the zoo's cells of the same setting below them (their own z, seed 0).",
            "",
            "| run | D steps | extractor | FID | KID | precision | recall | n fake | weights SHA-256 |",
            "|---|---:|---|---:|---:|---:|---:|---:|---|",
        ]
        for match, result in scored:
            v, pr = result["metrics"], result["protocol"]
            lines.append(
                f"| TF {match['run']} | {match['step']} | {pr['extractor']} | {v['fid']:.2f} | {v['kid']:.4f} | "
                f"{v.get('precision', float('nan')):.3f} | {v.get('recall', float('nan')):.3f} | {pr['n_fake']} | "
                f"`{pr['extractor_sha256'][:12]}` |"
            )
        for extractor in sorted({match["extractor"] for match, _ in scored}):
            for seed in (0, 1, 2):
                cell_path = ZOO_RESULTS / ZOO_CELLS.format(seed=seed)
                if not cell_path.is_file():
                    continue
                cell = json.loads(cell_path.read_text())
                evaluation = cell["evaluation"]
                if evaluation["extractor"] != extractor:  # the second extractor's numbers carry a prefix
                    evaluation, prefix = evaluation.get("also", {}), "domain_"
                    if evaluation.get("extractor") != extractor:
                        continue
                else:
                    prefix = ""
                v = {k[len(prefix) :]: x for k, x in cell["metrics"].items() if k.startswith(prefix)}
                lines.append(
                    f"| zoo `{cell['cell']}` | 15625 | {extractor} | {v['fid']:.2f} | {v['kid']:.4f} | "
                    f"{v['precision']:.3f} | {v['recall']:.3f} | {evaluation['n_fake']} | "
                    f"`{evaluation['extractor_sha256'][:12]}` |"
                )
        lines.append("")
    md = out.parent / f"{out.name}.md"
    md.write_text("\n".join(lines))
    print(f"rendered {md}")
    return md


if __name__ == "__main__":
    main()
