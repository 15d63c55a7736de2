"""``import helpers`` is cheap and changes nothing; saved models load through ``load_embedding``;
``helpers._quiet`` drops TensorFlow's start-up banner and nothing else."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BANNER = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
ONEDNN = (b"I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on. You may see slightly "
          b"different numerical results due to floating-point round-off errors.\n")


def run_python(code, *, env=None, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env if env is not None else dict(os.environ))


# ------------------------------------------------------------------------------------ import helpers
CHEAP_IMPORT = """
import json, os, sys
redirected = []
real_dup2 = os.dup2
os.dup2 = lambda fd, fd2, *a: (redirected.append(fd2), real_dup2(fd, fd2, *a))[1]
stat = lambda: tuple(os.fstat(2)[:3])  # mode, inode, device
before, env = stat(), dict(os.environ)
import {module}
{use}
print(json.dumps({{
    "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")),
    "fd2_same": stat() == before, "dup2": redirected, "env_same": dict(os.environ) == env}}))
"""


@pytest.mark.parametrize("module, use", [
    ("helpers", "assert helpers.__version__ and helpers.PROFILE.name in ('reader', 'quick')"),
    ("helpers.config", "from helpers.config import PROFILE"),
    ("helpers.reference", "helpers.reference.semi_hard_loss([0, 0, 1], [[0.0], [1.0], [3.0]])"),
    ("helpers.exercises", "assert helpers.exercises.exercises()  # every chapter's checks"),
    ("helpers._quiet", "assert helpers._quiet.BANNER"),
    ("helpers.kernel", "assert helpers.kernel.StderrFilter"),
])
def test_import_is_cheap_and_side_effect_free(module, use):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = run_python(CHEAP_IMPORT.format(module=module, use=use), env=env)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["heavy"] == [], f"importing {module} imported {found['heavy'][:5]}"
    assert found["fd2_same"] and found["dup2"] == [], f"importing {module} redirected a file descriptor"
    assert found["env_same"], f"importing {module} changed os.environ"


def test_submodules_are_attributes_on_first_use():
    import helpers

    assert helpers.reference.semi_hard_loss is not None
    assert "models" in dir(helpers)
    assert "contrastive" in dir(helpers)  # chapter 7's losses are registered too
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        helpers.nonsense  # noqa: B018


# ---------------------------------------------------------------------------------- load_embedding
def test_load_embedding_round_trip_in_a_fresh_process(tmp_path):
    """A model saved with the course's layer loads in a process that imported nothing else."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from helpers.models import L2Normalize, build_mlp, embed

    model = build_mlp(embedding_dim=8, hidden=16, l2_normalize=True)
    assert any(isinstance(layer, L2Normalize) for layer in model.layers)
    images = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    model.save(tmp_path / "small.keras")
    np.save(tmp_path / "expected.npy", embed(model, images))
    np.save(tmp_path / "images.npy", images)
    code = (
        "import sys, numpy as np\n"
        "from helpers.models import embed, load_embedding\n"
        f"folder = {str(tmp_path)!r}\n"
        "model = load_embedding(folder + '/small.keras')\n"
        "got = embed(model, np.load(folder + '/images.npy'))\n"
        "np.testing.assert_array_equal(got, np.load(folder + '/expected.npy'))\n"
        "print('compiled' if model.compiled else 'not compiled', type(model.layers[-1]).__name__)\n")
    proc = run_python(code, cwd=tmp_path, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["not", "compiled", "L2Normalize"]


def test_load_embedding_names_the_problem(tmp_path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from helpers.models import load_embedding

    with pytest.raises(FileNotFoundError, match="no such model file: .*missing.keras"):
        load_embedding(tmp_path / "missing.keras")
    bogus = tmp_path / "bogus.keras"
    bogus.write_text("not a zip")
    with pytest.raises(ValueError, match=r"bogus.keras is not a complete .keras file \(9 bytes"):
        load_embedding(bogus)
    import zipfile

    with zipfile.ZipFile(tmp_path / "other.keras", "w") as archive:  # a zip, but no model in it
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="cannot load .*other.keras as a Keras model"):
        load_embedding(tmp_path / "other.keras")


# ------------------------------------------------------------------------------ TensorFlow's banner
def test_without_banner_drops_whole_lines_only():
    from helpers._quiet import without_banner

    data = BANNER + b"first\n" + ONEDNN + b"Could not find cuda drivers on your machine, GPU will not be used.\n" \
        + b"second, no newline"
    assert without_banner(data) == b"first\nsecond, no newline"
    assert without_banner(b"a\nnoise here\nb\n", noise=("noise",)) == b"a\nb\n"


def _import_fake_tensorflow(tmp_path, body, level="3"):
    """``import_tensorflow_quietly`` on a fake ``tensorflow`` package whose import runs ``body``."""
    fake = tmp_path / "fake" / "tensorflow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"import os\n{body}\n")
    script = (f"import sys\nsys.path.insert(0, {str(fake.parent)!r})\n"
              "from helpers._quiet import import_tensorflow_quietly\n"
              "import_tensorflow_quietly()\n"
              "print(sys.modules['tensorflow'].__file__)\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return run_python(script, env=env if level is None else {**env, "TF_CPP_MIN_LOG_LEVEL": level})


@pytest.mark.parametrize("level", [None, "2", "3"])
def test_quiet_import_drops_only_the_banner(tmp_path, level):
    proc = _import_fake_tensorflow(tmp_path, f"os.write(2, {BANNER!r})\nos.write(2, {ONEDNN!r})\n"
                                             "os.write(2, b'a line that matters\\n')")
    assert proc.returncode == 0, proc.stderr
    assert "fake" in proc.stdout
    assert proc.stderr == "a line that matters\n"


def test_quiet_import_keeps_the_banner_when_logs_are_asked_for(tmp_path):
    proc = _import_fake_tensorflow(tmp_path, f"os.write(2, {BANNER!r})", level="0")
    assert proc.returncode == 0 and "absl::InitializeLog" in proc.stderr


def test_quiet_import_lets_import_errors_through(tmp_path):
    proc = _import_fake_tensorflow(tmp_path, "os.write(2, b'why it failed\\n')\n"
                                             "raise ImportError('fake tensorflow is broken')")
    assert proc.returncode != 0
    assert "why it failed" in proc.stderr and "fake tensorflow is broken" in proc.stderr
