"""The course's Jupyter kernel (``python -m helpers.kernel``): TensorFlow's start-up banner never
reaches the terminal that started JupyterLab; every other line the kernel process writes does."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BANNER_LINES = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    b"I0000 00:00:1.0 1 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.\n",
    b"I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on. You may see slightly different "
    b"numerical results due to floating-point round-off errors.\n",
)


def test_filter_drops_banner_lines_and_passes_the_rest():
    """The filter alone, in a subprocess (it rewires fd 2 for good): lines split over several
    writes, a partial line, Python's own stderr, and what is left at exit all arrive."""
    script = (
        "import os, sys, time\n"
        "from helpers.kernel import StderrFilter\n"
        "f = StderrFilter(noise=('my noise',)).start()\n"
        f"for line in {BANNER_LINES!r}:\n"
        "    os.write(2, line)\n"
        "os.write(2, b'keep ')\nos.write(2, b'me\\n')\n"
        "print('from sys.stderr', file=sys.stderr, flush=True)\n"
        "os.write(2, b'my noise is dropped\\n')\n"
        "os.write(2, b'a prompt: ')\n"
        "time.sleep(0.6)\n"  # longer than PARTIAL_LINE_SECONDS: the prompt is written anyway
        "os.write(2, b'last line\\n')\n"
        "f.stop()\n"
        "os.write(2, b'after stop\\n')\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b"keep me\nfrom sys.stderr\na prompt: last line\nafter stop\n"


def test_install_kernel_registers_the_launcher(tmp_path):
    from helpers.book import KERNEL_NAME, install_kernel

    folder = install_kernel(prefix=tmp_path)
    assert folder == tmp_path / "share" / "jupyter" / "kernels" / KERNEL_NAME
    spec = json.loads((folder / "kernel.json").read_text())
    argv = spec["argv"]
    assert argv[argv.index("-m") + 1] == "helpers.kernel" and "ipykernel_launcher" not in argv
    assert argv[argv.index("-m") + 2:argv.index("-m") + 4] == ["-f", "{connection_file}"]
    assert "--IPKernelApp.capture_fd_output=False" in argv
    assert spec["env"] == {"TF_CPP_MIN_LOG_LEVEL": "3"}


def test_kernel_keeps_the_banner_off_its_stderr(tmp_path):
    """The kernelspec ``install_kernel`` writes, installed in a temporary prefix, started by
    jupyter_client as JupyterLab would; the kernel imports TensorFlow."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    from helpers.book import KERNEL_NAME, install_kernel

    kernels = install_kernel(prefix=tmp_path).parent
    manager = KernelManager(kernel_name=KERNEL_NAME,
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    code = ("import os\nimport tensorflow as tf\n"
            + "".join(f"os.write(2, {line!r})\n" for line in BANNER_LINES)
            + "os.write(2, b'keep me\\n')\nprint(tf.constant(2) * 21)\n")
    outputs = []
    with open(tmp_path / "kernel_stderr.txt", "wb") as stderr:
        # TF_ENABLE_ONEDNN_OPTS=1: TensorFlow prints its oneDNN notice even on CPUs where it
        # would not by default, so the real notice is there to be filtered.
        manager.start_kernel(stderr=stderr, cwd=str(tmp_path),
                             env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1"})
        client = manager.client()
        try:
            client.start_channels()
            client.wait_for_ready(timeout=60)
            reply = client.execute_interactive(code, timeout=120, output_hook=outputs.append)
            deadline = time.monotonic() + 5  # the filter thread writes a moment later
            while b"keep me" not in (tmp_path / "kernel_stderr.txt").read_bytes() \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok", reply["content"]
    streams = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    assert "tf.Tensor(42" in streams
    err = (tmp_path / "kernel_stderr.txt").read_text()
    assert "keep me\n" in err
    for text in ("absl::InitializeLog", "cuda drivers", "oneDNN"):
        assert text not in err, err
    assert "Traceback" not in err, err
