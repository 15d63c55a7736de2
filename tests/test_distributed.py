"""Tests of training on several devices (helpers.distributed and the losses' ``mining``).

The session runs on 4 logical CPU devices (``tests/conftest.py``), so every machine tests the
multi-replica code paths: with 2 and 4 replicas, global mining must give the loss and the
gradients of one device given the whole global batch, and local mining the mean of the shards'
one-device losses.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers import distributed  # noqa: E402
from helpers.contrastive import ContrastiveLoss, SupConLoss  # noqa: E402
from helpers.losses import (  # noqa: E402
    BatchAllTripletLoss, HardTripletLoss, LabelConcatLoss, SemiHardTripletLoss,
)
from helpers.data import load_mnist  # noqa: E402
from helpers.evaluation import retrieval_metrics  # noqa: E402
from helpers.models import build_mlp, embed, load_embedding  # noqa: E402
from helpers.training import train_embedding  # noqa: E402
from tests.test_cli import ROOT, run_cli, tiny_npz  # noqa: E402,F401  (a fixture)

DEVICES = distributed.use_cpu_devices(4)


def strategy(replicas):
    if replicas == 1:
        return tf.distribute.MirroredStrategy(DEVICES[:1])
    return distributed.strategy_for(replicas)


#: Every Keras loss of the course that mines a batch, with each distance it accepts.
LOSSES = {
    "semi_hard[squared_l2]": lambda m: SemiHardTripletLoss(distance="squared_l2", mining=m),
    "semi_hard[l2]": lambda m: SemiHardTripletLoss(margin=0.5, distance="l2", mining=m),
    "semi_hard[angular]": lambda m: SemiHardTripletLoss(margin=0.2, distance="angular", mining=m),
    "semi_hard_tile[squared_l2]": lambda m: SemiHardTripletLoss(method="tile", mining=m),
    "hard[l2]": lambda m: HardTripletLoss(distance="l2", mining=m),
    "hard[squared_l2]": lambda m: HardTripletLoss(distance="squared_l2", mining=m),
    "hard[angular]": lambda m: HardTripletLoss(margin=0.2, distance="angular", mining=m),
    "hard_soft[l2]": lambda m: HardTripletLoss(soft=True, mining=m),
    "batch_all[squared_l2]": lambda m: BatchAllTripletLoss(mining=m),
    "batch_all[l2]": lambda m: BatchAllTripletLoss(distance="l2", mining=m),
    "batch_all[angular]": lambda m: BatchAllTripletLoss(margin=0.2, distance="angular", mining=m),
    "contrastive[l2]": lambda m: ContrastiveLoss(mining=m),
    "contrastive[angular]": lambda m: ContrastiveLoss(margin=0.5, distance="angular", mining=m),
    "supcon": lambda m: SupConLoss(mining=m),
}


def layouts(replicas):
    """``(name, labels, shard sizes)``: the global batches every loss is checked on."""
    rng = np.random.default_rng(replicas)
    mixed = rng.permutation(np.repeat(np.arange(4), 6))  # every replica holds several classes
    by_class = np.repeat(np.arange(replicas + 1), 5)  # class 0 lives on replica 0 only, ...
    uneven = rng.integers(0, 3, size=5 + 3 * replicas)  # the last batch of a pass
    sizes = [len(uneven) // replicas + (1 if i < len(uneven) % replicas else 0) for i in range(replicas)]
    with_empty = [0] + sizes[1:-1] + [sizes[-1] + sizes[0]]  # a replica without images
    return [("mixed", mixed, [len(mixed) // replicas] * replicas),
            ("class on one replica", by_class, _cut(len(by_class), replicas)),
            ("uneven shards", uneven, sizes),
            ("an empty shard", uneven, with_empty)]


def _cut(n, parts):
    return [len(p) for p in np.array_split(np.arange(n), parts)]


def _batch(labels, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(labels), 6)).astype(np.float32)
    kernel = rng.normal(size=(6, 4)).astype(np.float32) * 0.7
    return x, kernel


def one_device(loss, labels, x, kernel, sample_weight=None):
    """Loss, kernel gradient and input gradient on one device."""
    xt, k = tf.constant(x), tf.Variable(kernel)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        value = loss(tf.constant(labels), xt @ k, sample_weight)
    gk, gx = tape.gradient(value, [k, xt])
    return float(value), gk.numpy(), gx.numpy()


def on_replicas(loss, labels, x, kernel, sizes, sample_weight=None):
    """Per-replica loss values, the kernel gradients summed over replicas (what the optimizer
    applies), and every replica's input gradient in replica order."""
    strat = strategy(len(sizes))
    edges = np.cumsum([0, *sizes])
    part = lambda a: [a[edges[i]:edges[i + 1]] for i in range(len(sizes))]  # noqa: E731
    xs, ys = part(x), part(labels)
    ws = part(sample_weight) if sample_weight is not None else None
    with strat.scope():
        k = tf.Variable(kernel)
    value_of = lambda seq: strat.experimental_distribute_values_from_function(  # noqa: E731
        lambda ctx: tf.constant(seq[ctx.replica_id_in_sync_group]))

    def step(xr, yr, wr=None):
        with tf.GradientTape() as tape:
            tape.watch(xr)
            value = loss(yr, xr @ k, wr)
        gk, gx = tape.gradient(value, [k, xr])
        return value, gk, gx

    args = (value_of(xs), value_of(ys)) + ((value_of(ws),) if ws is not None else ())
    values, gk, gx = strat.run(step, args=args)  # eagerly: a trace per case would cost more
    local = strat.experimental_local_results
    return ([float(v) for v in local(values)], sum(g.numpy() for g in local(gk)),
            np.concatenate([g.numpy() for g in local(gx)]))


def close(actual, expected):
    scale = max(np.max(np.abs(expected)), 1e-3)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * scale)


# ----------------------------------------------------------------------------- equality
@pytest.mark.parametrize("replicas", [2, 4])
@pytest.mark.parametrize("name", LOSSES)
def test_global_mining_equals_one_device_on_the_global_batch(name, replicas):
    # 4 replicas (slower to run eagerly): a class on one replica, and uneven shards with an empty one
    for layout, labels, sizes in layouts(replicas)[1::2] if replicas == 4 else layouts(replicas):
        x, kernel = _batch(labels)
        value, gk, gx = one_device(LOSSES[name]("global"), labels, x, kernel)
        values, gk_r, gx_r = on_replicas(LOSSES[name]("global"), labels, x, kernel, sizes)
        try:
            close(sum(values), value)  # what Keras and tf.distribute add up
            close(gk_r, gk)
            close(gx_r, gx)
        except AssertionError as err:
            raise AssertionError(f"{name}, {replicas} replicas, {layout} {sizes}: {err}") from None
        assert value > 0, layout  # the batches are not trivially solved


@pytest.mark.parametrize("replicas", [2, 4])
@pytest.mark.parametrize("name", ["semi_hard[squared_l2]", "hard[l2]", "batch_all[l2]", "supcon"])
def test_local_mining_is_the_mean_of_the_shards_losses(name, replicas):
    for layout, labels, sizes in layouts(replicas)[:3]:
        x, kernel = _batch(labels, seed=1)
        values, gk_r, _ = on_replicas(LOSSES[name]("local"), labels, x, kernel, sizes)
        edges = np.cumsum([0, *sizes])
        shards = [one_device(LOSSES[name]("local"), labels[a:b], x[a:b], kernel)
                  for a, b in zip(edges[:-1], edges[1:])]
        close(np.array(values) * replicas, [s[0] for s in shards])  # each replica: its shard's loss
        close(gk_r, np.mean([s[1] for s in shards], axis=0))
    # ... which is not the global loss where classes sit apart: their negatives are elsewhere
    _, labels, sizes = layouts(replicas)[1]
    x, kernel = _batch(labels, seed=1)
    local = sum(on_replicas(LOSSES[name]("local"), labels, x, kernel, sizes)[0])
    assert abs(local - one_device(LOSSES[name]("global"), labels, x, kernel)[0]) > 1e-3


def test_sample_weights_of_the_global_batch_weigh_the_global_loss():
    labels = np.repeat(np.arange(3), 4)
    x, kernel = _batch(labels, seed=2)
    weights = np.linspace(0.0, 2.0, len(labels)).astype(np.float32)
    for reduction in ("sum_over_batch_size", "sum", "mean_with_sample_weight"):
        make = lambda: SemiHardTripletLoss(reduction=reduction)  # noqa: E731
        value, gk, _ = one_device(make(), labels, x, kernel, weights)
        values, gk_r, _ = on_replicas(make(), labels, x, kernel, [6, 6], weights)
        close(sum(values), value)
        close(gk_r, gk)


def test_reduction_none_is_refused_under_a_strategy():
    labels = np.repeat(np.arange(2), 4)
    x, kernel = _batch(labels)
    with pytest.raises(ValueError, match="reduction='none' is not supported"):
        on_replicas(SemiHardTripletLoss(reduction="none"), labels, x, kernel, [4, 4])


def test_label_concat_loss_mines_as_its_inner_loss_says():
    labels = np.repeat(np.arange(3), 4)
    x, kernel = _batch(labels, seed=3)
    concat = lambda m: LabelConcatLoss(SemiHardTripletLoss(mining=m))  # noqa: E731
    plain = one_device(SemiHardTripletLoss(), labels, x, kernel)

    class Concat:  # [label | embedding], the 2018 wiring
        def __init__(self, loss):
            self.loss = loss

        def __call__(self, y, e, w=None):
            return self.loss(tf.zeros_like(y), tf.concat([tf.cast(y, e.dtype)[:, None], e], 1), w)

    values, gk, _ = on_replicas(Concat(concat("global")), labels, x, kernel, [6, 6])
    close(sum(values), plain[0])
    close(gk, plain[1])
    with pytest.raises(ValueError, match="needs one of the course's Keras losses"):
        on_replicas(Concat(LabelConcatLoss(keras.losses.MeanSquaredError())), labels, x, kernel, [6, 6])


# ----------------------------------------------------------------------------- the API
def test_mining_is_checked_saved_and_defaults_to_global():
    with pytest.raises(ValueError, match="mining must be 'global' or 'local'"):
        SemiHardTripletLoss(mining="everywhere")
    for cls in (SemiHardTripletLoss, HardTripletLoss, BatchAllTripletLoss, ContrastiveLoss, SupConLoss):
        assert cls().mining == "global"
        loss = cls(mining="local")
        assert cls.from_config(loss.get_config()).mining == "local"
        old = {k: v for k, v in loss.get_config().items() if k != "mining"}  # saved before mining
        assert cls.from_config(old).mining == "global"


def test_outside_a_strategy_both_minings_are_the_one_device_loss():
    labels = np.repeat(np.arange(3), 4)
    x, kernel = _batch(labels, seed=4)
    assert one_device(SemiHardTripletLoss(mining="local"), labels, x, kernel)[0] == \
        one_device(SemiHardTripletLoss(mining="global"), labels, x, kernel)[0]
    one = strategy(1)
    with one.scope():  # one replica: no gathering, no scaling
        value = one.run(lambda: SemiHardTripletLoss(mining="local")(labels, tf.constant(x @ kernel)))
    close(float(value), one_device(SemiHardTripletLoss(), labels, x, kernel)[0])


def test_devices_are_checked():
    assert distributed.strategy_for(1) is None
    assert distributed.device_names(2) == DEVICES[:2]
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive integer"):
            distributed.strategy_for(bad)
    with pytest.raises(RuntimeError, match=r"already started with 4; call helpers.distributed.use_cpu_devices\(8\)"):
        distributed.use_cpu_devices(8)


def test_mining_counts_see_fewer_negatives_in_shards():
    labels = np.repeat(np.arange(4), 6)
    x = np.random.default_rng(0).normal(size=(24, 3))
    whole = distributed.mining_counts(labels, x, margin=1.0, shards=1)
    halves = distributed.mining_counts(labels, x, margin=1.0, shards=2)
    assert whole["positive_pairs"] == 4 * 6 * 5
    assert halves["positive_pairs"] == 4 * 6 * 5  # each class sits in one half
    assert halves["with_semi_hard"] < whole["with_semi_hard"] <= whole["with_beyond"] <= whole["positive_pairs"]
    # by hand, on a line: digits 0 at 0 and 1, digits 1 at 1.5 and 5 (plain distances, margin 1).
    # (0,1): d 1, negatives 1.5 and 5, 1.5 in the band (1, 2). (1,0): d 1, negatives 0.5 and 4:
    # 4 is beyond, not in (1, 2). (2,3): d 3.5, negatives 1.5 and 0.5: none beyond. (3,2): d 3.5,
    # negatives 5 and 4: 4 in the band (3.5, 4.5).
    pts = np.array([[0.0], [1.0], [1.5], [5.0]])
    assert distributed.mining_counts([0, 0, 1, 1], pts, margin=1.0, distance="l2") == \
        {"positive_pairs": 4, "with_semi_hard": 2, "with_beyond": 3}
    with pytest.raises(ValueError, match="3 labels for 4 embeddings"):
        distributed.mining_counts([0, 0, 1], pts)


# ----------------------------------------------------------------------------- training
def data_of(path):
    return load_mnist(str(path), verbose=False)


def _model():
    keras.utils.set_random_seed(7)
    return build_mlp(16, dropout=0.0, hidden=32, l2_normalize=True)


def test_train_embedding_on_two_devices_follows_one_device(tiny):
    x, y = tiny
    recipe = dict(epochs=2, pk=(6, 10), learning_rate=1e-3, margin=0.5, verbose=0, seed=0)
    one = train_embedding(_model(), (x, y), **recipe)
    two = train_embedding(_model(), (x, y), devices=2, **recipe)
    assert two.recipe["replicas"] == 2 and two.recipe["mining"] == "global"
    assert two.recipe["global_batch"] == 60 and one.recipe["replicas"] == 1
    np.testing.assert_allclose(two.history["loss"], one.history["loss"], rtol=1e-4)
    for a, b in zip(two.model.get_weights(), one.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-4)
    local = train_embedding(_model(), (x, y), devices=2, mining="local", **recipe)
    assert local.recipe["mining"] == "local"
    assert abs(local.history["loss"][0] - one.history["loss"][0]) > 1e-4  # it mined otherwise


def test_train_embedding_refuses_losses_that_cannot_run_per_replica(tiny):
    with pytest.raises(ValueError, match="needs one of the course's Keras losses"):
        train_embedding("mlp", tiny, loss=keras.losses.MeanSquaredError(), devices=2, epochs=1)
    with pytest.raises(ValueError, match="mining='global' but the loss passed in mines 'local'"):
        train_embedding("mlp", tiny, loss=SemiHardTripletLoss(mining="local"), mining="global",
                        devices=2, epochs=1)


def test_cli_trains_on_two_devices_resumes_after_a_kill_and_loads_on_one(tiny_npz, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--model", "mlp", "--data", tiny_npz, "--output", out, "--epochs", "12",
            "--pk", "5", "12", "--devices", "2"]
    proc = subprocess.Popen([sys.executable, "-m", "helpers", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = out / "checkpoints" / "epoch_001.keras"
    deadline = time.monotonic() + 300
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert first.exists() or any(out.glob("checkpoints/epoch_*.keras")), "no checkpoint before the kill"
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    epochs = [line for line in done.stdout.splitlines() if line.startswith("Epoch ")]
    assert epochs and not epochs[0].startswith("Epoch 1/"), epochs[:2]  # it resumed
    assert "on 2 devices (global mining)" in done.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["replicas"], metrics["mining"], metrics["global_batch"]) == (2, "global", 60)
    assert metrics["epochs_trained"] == 12 and metrics["recipe"]["replicas"] == 2
    model = load_embedding(out / "embedding.keras")  # in this process, on one device
    assert model.predict(np.zeros((3, 28, 28, 1), np.float32), verbose=0).shape == (3, 64)
    held_out = data_of(tiny_npz)
    assert retrieval_metrics(embed(model, held_out.x_test), held_out.y_test)["precision_at_1"] == \
        metrics["precision_at_1"]  # what the CLI measured, found again by the one-device model


# ----------------------------------------------------------------------------- several machines
def _free_ports(n):
    import socket

    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _on_two_workers(argv, timeout=300):
    """Run ``python ARGV`` as worker 0 and worker 1 of a TF_CONFIG cluster on 127.0.0.1."""
    hosts = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps(
            {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen([sys.executable, *map(str, argv)], cwd=ROOT, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    try:
        outs = [p.communicate(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            p.kill()
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, outs)]


WORKER = """
import json, numpy as np, tensorflow as tf
from helpers import distributed
from helpers.losses import SemiHardTripletLoss
strategy = distributed.strategy_for(1)  # MultiWorkerMirroredStrategy: TF_CONFIG names 2 workers
workers, index = distributed.cluster()
labels = np.repeat(np.arange(3), 4)  # worker 0 holds digit 0 and half of 1, worker 1 the rest
x = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
mine = slice(6 * index, 6 * index + 6)
def step(xs, ys):
    with tf.GradientTape() as tape:
        tape.watch(xs)
        value = SemiHardTripletLoss(mining="{mining}")(ys, xs)
    return value, tape.gradient(value, xs)
value, grad = strategy.run(tf.function(step), args=(tf.constant(x[mine]), tf.constant(labels[mine])))
print(json.dumps({{"workers": workers, "replicas": strategy.num_replicas_in_sync, "index": index,
                  "value": float(value), "grad": grad.numpy().tolist()}}))
"""


def test_global_mining_across_two_worker_processes_equals_one_device():
    labels = np.repeat(np.arange(3), 4)
    x = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    value, _, grad = one_device(SemiHardTripletLoss(), labels, x, np.eye(4, dtype=np.float32))
    for mining in ("global", "local"):
        runs = _on_two_workers(["-c", WORKER.format(mining=mining)])
        assert all(code == 0 for code, _, _ in runs), [err[-1500:] for _, _, err in runs]
        found = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in runs]
        assert [(f["workers"], f["replicas"], f["index"]) for f in found] == [(2, 2, 0), (2, 2, 1)]
        total = found[0]["value"] + found[1]["value"]
        if mining == "global":
            close(total, value)
            close(np.concatenate([f["grad"] for f in found]), grad)
        else:
            shards = [one_device(SemiHardTripletLoss(), labels[s], x[s], np.eye(4, dtype=np.float32))[0]
                      for s in (slice(0, 6), slice(6, 12))]
            close([f["value"] * 2 for f in found], shards)


def test_cli_refuses_a_cluster_in_one_line_naming_why(tiny_npz, tmp_path):
    hosts = ["127.0.0.1:1", "127.0.0.1:2"]  # never contacted: refused before any strategy exists
    env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": hosts},
                                                  "task": {"type": "worker", "index": 0}})}
    proc = subprocess.run([sys.executable, "-m", "helpers", "train", "--model", "mlp", "--data", tiny_npz,
                           "--output", tmp_path / "run", "--epochs", "1", "--quiet"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "error: TF_CONFIG describes several workers, but Keras 3.15's fit cannot train under "
        "MultiWorkerMirroredStrategy"), proc.stderr[-800:]
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_per_replica_losses_cut_the_batch_as_tf_distribute_does():
    labels = np.repeat(np.arange(4), 5)
    x = np.random.default_rng(5).normal(size=(20, 3)).astype(np.float32)
    one = float(SemiHardTripletLoss()(labels, x))
    values = distributed.per_replica_losses(SemiHardTripletLoss(), labels, x, strategy(2))
    close(sum(values), one)
    local = distributed.per_replica_losses(SemiHardTripletLoss(mining="local"), labels, x, strategy(2))
    close(np.array(local) * 2, [float(SemiHardTripletLoss()(labels[:10], x[:10])),
                                float(SemiHardTripletLoss()(labels[10:], x[10:]))])
