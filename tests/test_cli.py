"""Tests of the command line ``python -m helpers`` (train, evaluate, errors, help)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


#: What TensorFlow's C++ start-up writes to stderr whatever TF_CPP_MIN_LOG_LEVEL says.
BANNER_TEXTS = ("oneDNN", "absl::InitializeLog", "cuda drivers", "cudart_stub")


def run_cli(*args, timeout=600):
    """``python -m helpers ARGS`` as a user types it: no TF_CPP_MIN_LOG_LEVEL of our own."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "helpers", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def error_line(stderr: str) -> str:
    """The last line of stderr."""
    return stderr.strip().splitlines()[-1]


def assert_no_banner(stderr: str) -> None:
    for text in BANNER_TEXTS:
        assert text not in stderr, stderr


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    """A small mnist.npz in Keras' layout: 300 training and 100 test images of the offline subset."""
    from helpers.data import load_mnist

    data = load_mnist("offline", verbose=False).limit(train=300, test=100)
    path = tmp_path_factory.mktemp("data") / "mnist.npz"
    to_uint8 = lambda x: np.round(x[..., 0] * 255).astype(np.uint8)  # noqa: E731
    np.savez(path, x_train=to_uint8(data.x_train), y_train=data.y_train,
             x_test=to_uint8(data.x_test), y_test=data.y_test)
    return path


@pytest.fixture(scope="module")
def trained(tiny_npz, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    proc = run_cli("train", "--model", "mlp", "--data", tiny_npz, "--output", out, "--epochs", "2",
                   "--pk", "5", "12", "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, proc


def test_train_writes_everything(trained):
    out, proc = trained
    assert (out / "embedding.keras").is_file()
    assert (out / "history.csv").read_text().splitlines()[0].startswith("epoch")
    assert len((out / "history.csv").read_text().splitlines()) == 3
    assert sorted(p.name for p in (out / "checkpoints").glob("epoch_*.keras")) == \
        ["epoch_001.keras", "epoch_002.keras"]
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("train_seconds", "samples_seen", "samples_per_second", "precision_at_1",
                "r_precision", "map_at_r", "recipe", "data_source"):
        assert key in metrics, key
    assert metrics["samples_seen"] == 2 * (300 // 60) * 60
    assert metrics["recipe"]["pk"] == [5, 12] and metrics["recipe"]["epochs"] == 2
    assert metrics["data_source"] == "npz"
    assert 0.0 <= metrics["precision_at_1"] <= 1.0
    assert "P@1" in proc.stdout
    assert_no_banner(proc.stderr)


def test_train_with_validation_never_scores_the_test_split(tiny_npz, tmp_path):
    proc = run_cli("train", "--model", "mlp", "--data", tiny_npz, "--output", tmp_path, "--epochs", "1",
                   "--pk", "5", "12", "--validation", "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    # 20 % of the 300 training images are the validation split; the 100 test images are unused.
    assert metrics["evaluation"] == "leave-one-out within the validation split (60 images)"
    assert metrics["recipe"]["train_images"] == 240
    assert "validation protocol: 240 train / 60 validation" in metrics["data_description"]
    assert "(validation split)" in proc.stdout


def test_saved_model_loads_with_load_embedding(trained):
    from helpers.models import load_embedding

    out, _ = trained
    model = load_embedding(out / "embedding.keras")
    emb = model.predict(np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32), verbose=0)
    assert emb.shape == (3, 64)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)  # the recipe L2-normalises


def test_evaluate_prints_the_table(trained, tiny_npz, tmp_path):
    out, _ = trained
    proc = run_cli("evaluate", out / "embedding.keras", "--data", tiny_npz, "--json", tmp_path / "m.json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "raw pixels" in proc.stdout and "embedding.keras" in proc.stdout and "MAP@R" in proc.stdout
    rows = json.loads((tmp_path / "m.json").read_text())
    assert set(rows) == {"raw pixels", "embedding.keras"}
    assert rows["raw pixels"]["num_queries"] == 100
    assert_no_banner(proc.stderr)


def test_missing_model_file_is_one_clear_line(tmp_path):
    proc = run_cli("evaluate", tmp_path / "nothing.keras")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert error_line(proc.stderr) == f"error: no such model file: {tmp_path / 'nothing.keras'}"


def test_bad_model_name_is_one_clear_line(tmp_path):
    proc = run_cli("train", "--model", "resnet", "--output", tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    line = error_line(proc.stderr)
    assert line.startswith("error: ") and "invalid choice: 'resnet'" in line


# In-process checks of the same entry point (no new interpreter, so they are quick).
@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["evaluate", "--help"]])
def test_help(argv, capsys):
    from helpers.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert "usage: python -m helpers" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "mlp"], "the following arguments are required: --output"),
    (["train", "--output", "x", "--epochs", "0"], "must be a positive integer"),
    (["train", "--output", "x", "--data", "/no/such/mnist.npz"], "no such file or folder"),
    (["train", "--output", "x", "--pk", "3"], "expected 2 arguments"),
    (["train", "--output", "x", "--pk", "3", "4", "--no-pk"], "contradict"),
    (["evaluate"], "the following arguments are required: model"),
    (["fly"], "invalid choice: 'fly'"),
    (["train", "--output", "x", "--learning-rate", "inf"], "must be a finite number > 0, got inf"),
    (["train", "--output", "x", "--margin", "nan"], "must be a finite number > 0, got nan"),
])
def test_usage_errors(argv, message, capsys):
    from helpers.__main__ import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err


def test_not_a_model_file(tmp_path, capsys):
    from helpers.__main__ import main

    bogus = tmp_path / "bogus.keras"
    bogus.write_text("not a zip")
    assert main(["evaluate", str(bogus)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bogus} is not a complete .keras file (9 bytes, not a zip archive)")
    assert len(err.strip().splitlines()) == 1


def test_cut_short_model_file_is_named_not_reported_as_file_not_found(tmp_path, capsys):
    from helpers.__main__ import main

    empty = tmp_path / "embedding.keras"
    empty.write_bytes(b"")  # what a kill during a non-atomic save used to leave
    assert main(["evaluate", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "is not a complete .keras file (0 bytes" in err and "File not found" not in err


def test_no_command_prints_help(capsys):
    from helpers.__main__ import main

    assert main([]) == 2
    assert "usage" in capsys.readouterr().err


# ----------------------------------------------------------------------------- TensorFlow's banner
# (the filter itself is tested in test_import.py; train and evaluate above check their stderr)
@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["evaluate", "--help"]])
def test_help_imports_no_tensorflow(argv):
    script = ("import runpy, sys\n"
              f"sys.argv = ['helpers', *{argv!r}]\n"
              "try:\n"
              "    runpy.run_module('helpers', run_name='__main__', alter_sys=True)\n"
              "except SystemExit as exit_:\n"
              "    assert exit_.code == 0, exit_.code\n"
              "print('TENSORFLOW' if 'tensorflow' in sys.modules else 'NO TENSORFLOW')\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage: python -m helpers" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "NO TENSORFLOW"
    assert proc.stderr == ""


# ----------------------------------------------------------------------------- run folders (issue 12)
def _copy_run(trained, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(trained[0], out)
    return out


def test_resume_with_another_margin_is_refused_in_one_line_naming_it(trained, tiny_npz, tmp_path):
    out = _copy_run(trained, tmp_path)
    before = (out / "metrics.json").read_text()
    proc = run_cli("train", "--model", "mlp", "--data", tiny_npz, "--output", out, "--epochs", "2",
                   "--pk", "5", "12", "--margin", "0.1", "--quiet")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = error_line(proc.stderr)
    assert len(proc.stderr.strip().splitlines()) == 1
    assert f"{out} holds another run (margin: 0.5 then, 0.1 now); " in line  # that difference alone
    assert "--restart" in line
    assert (out / "metrics.json").read_text() == before  # the finished run's results stay


def test_damaged_state_json_is_one_line_naming_the_file(trained, tiny_npz, tmp_path, capsys):
    from helpers.__main__ import main

    out = _copy_run(trained, tmp_path)
    (out / "checkpoints" / "state.json").write_text("{")
    assert main(["train", "--model", "mlp", "--data", str(tiny_npz), "--output", str(out), "--epochs", "2",
                 "--pk", "5", "12", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"{out / 'checkpoints' / 'state.json'} is damaged (not valid JSON" in err and "--restart" in err


def test_diverging_run_ends_in_one_line_and_publishes_no_nan_model(tiny_npz, tmp_path):
    proc = run_cli("train", "--model", "mlp", "--data", tiny_npz, "--output", tmp_path, "--epochs", "2",
                   "--pk", "5", "12", "--no-augment", "--l2-normalize", "no", "--learning-rate", "1e30",
                   "--quiet")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = error_line(proc.stderr)
    assert line.startswith("error: training diverged in epoch 1") and "--learning-rate" in line
    assert not (tmp_path / "embedding.keras").exists() and not (tmp_path / "metrics.json").exists()
    assert not list((tmp_path / "checkpoints").glob("epoch_*.keras"))
    again = run_cli("train", "--model", "mlp", "--data", tiny_npz, "--output", tmp_path, "--epochs", "1",
                    "--pk", "5", "12", "--no-augment", "--l2-normalize", "no", "--learning-rate", "1e-3",
                    "--quiet", "--restart")
    assert again.returncode == 0, again.stderr[-2000:]  # the folder is not stuck on a NaN checkpoint


def test_restart_leaves_no_result_of_the_previous_run(trained, tiny_npz, tmp_path):
    out = _copy_run(trained, tmp_path)
    proc = run_cli("train", "--model", "mlp", "--data", tiny_npz, "--output", out, "--epochs", "1",
                   "--pk", "5", "12", "--quiet", "--restart", "--margin", "0.2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["recipe"]["margin"] == 0.2 and metrics["epochs_trained"] == 1
    assert [p.name for p in sorted((out / "checkpoints").glob("epoch_*.keras"))] == ["epoch_001.keras"]


@pytest.mark.parametrize("argv", [["train", "--output", "x", "--data", "offline"],
                                  ["evaluate", "x.keras", "--data", "offline"]])
def test_unknown_profile_is_one_line_not_a_traceback(argv, tmp_path):
    env = {**os.environ, "TRIPLET_COURSE_PROFILE": "bogus"}
    proc = subprocess.run([sys.executable, "-m", "helpers", *argv], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: TRIPLET_COURSE_PROFILE='bogus' is not a profile; choose one of reader, quick, full"]


@pytest.mark.parametrize("delay", [0.3, 1.5, 3.0])
def test_ctrl_c_at_any_point_of_start_up_is_one_line(tiny_npz, tmp_path, delay):
    """From the moment the course's code runs (Python's own start-up, the first ~50 ms, prints
    Python's traceback before any of it could): one line, status 130."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "helpers", "train", "--model", "mlp", "--data",
                             str(tiny_npz), "--output", str(tmp_path), "--epochs", "50", "--quiet"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [
        "interrupted: run the same command again to resume from the last checkpoint"], err
