"""How long ``load_mnist("auto")`` takes to fall back when the MNIST server accepts and never answers.

A server on 127.0.0.1 accepts every connection and sends nothing; the download URL is pointed at it
and the cache at a temporary folder, so nothing is downloaded and nothing cached is touched. The
bound is ``NETWORK_TIMEOUT + DOWNLOAD_SILENCE`` (``helpers.data``); before issue 12 the download
waited out a 60 s socket timeout here.

    .venv/bin/python benchmarks/auto_fallback.py
"""

import os
import socket
import tempfile
import threading
import time


def main():
    os.environ["TRIPLET_COURSE_CACHE"] = tempfile.mkdtemp()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    held = []  # open connections that are never answered

    def accept():
        while True:
            held.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    from helpers import data

    data.KERAS_MNIST_URL = f"http://127.0.0.1:{server.getsockname()[1]}/mnist.npz"
    start = time.perf_counter()
    loaded = data.load_mnist("auto")
    seconds = time.perf_counter() - start
    bound = data.NETWORK_TIMEOUT + data.DOWNLOAD_SILENCE
    print(f"fell back to {loaded.source} after {seconds:.1f} s; bound {bound:.0f} s "
          f"(NETWORK_TIMEOUT {data.NETWORK_TIMEOUT:g} s + DOWNLOAD_SILENCE {data.DOWNLOAD_SILENCE:g} s)")


if __name__ == "__main__":
    main()
