"""helpers.data: the offline subset, file round trips, corrupt files, sources and PK batches."""

import builtins
import gzip
import os
import socket
import struct
import threading
import time

import numpy as np
import pytest

from helpers import data
from helpers.config import DATA_ENV, CACHE_ENV, get_profile


@pytest.fixture(scope="module")
def offline():
    return data.load_offline()


def test_offline_subset_shape_dtype_range_and_balance(offline):
    assert offline.x_train.shape == (4000, 28, 28, 1)
    assert offline.x_test.shape == (1000, 28, 28, 1)
    assert offline.x_train.dtype == np.float32 and offline.y_train.dtype == np.int64
    assert offline.x_train.min() == 0.0 and offline.x_train.max() == 1.0
    assert np.bincount(offline.y_train).tolist() == [400] * 10
    assert np.bincount(offline.y_test).tolist() == [100] * 10
    assert offline.source == "offline"


def test_offline_split_is_deterministic_and_disjoint(offline):
    again = data.load_offline()
    assert np.array_equal(again.x_train, offline.x_train)
    assert np.array_equal(again.y_test, offline.y_test)
    train = {img.tobytes() for img in offline.x_train}
    assert sum(img.tobytes() in train for img in offline.x_test) <= 2  # MNIST has a few exact repeats
    other = data.load_offline(seed=1)
    assert not np.array_equal(other.y_train, offline.y_train)


def test_offline_images_are_real_digits(offline):
    # Real MNIST digits: mostly background, a centred stroke of 100–200 lit pixels on average.
    lit = (offline.x_train > 0.5).sum(axis=(1, 2, 3))
    assert 80 < lit.mean() < 200
    assert offline.x_train[:, 0].max() == 0.0  # MNIST centres digits: the top row is always blank
    assert (offline.x_train[:, :2] > 0).mean() < 0.001


def test_limit_is_stratified_and_bounded(offline):
    small = offline.limit(train=250, test=33, seed=3)
    assert len(small.y_train) == 250 and len(small.y_test) == 33
    counts = np.bincount(small.y_train, minlength=10)
    assert counts.min() >= 24 and counts.max() <= 26
    assert offline.limit() is offline
    with pytest.raises(ValueError, match="at least one"):
        offline.limit(train=0)


@pytest.mark.parametrize("layout", ["npz", "idx"])
def test_file_round_trip(offline, tmp_path, layout):
    small = offline.limit(300, 100)
    target = data.save_mnist(small, tmp_path / ("mnist.npz" if layout == "npz" else "idx"), layout=layout)
    loaded = data.load_mnist(target, verbose=False)
    assert loaded.source == layout
    assert loaded.description.endswith("uint8 pixels 0–255, divided by 255")
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(loaded, name), getattr(small, name)), name


def test_uncompressed_idx_folder(offline, tmp_path):
    small = offline.limit(50, 20)
    folder = data.save_mnist(small, tmp_path / "idx", layout="idx")
    for gz in folder.glob("*.gz"):
        (folder / gz.stem).write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    assert np.array_equal(data.load_mnist(folder, verbose=False).x_test, small.x_test)


def test_truncated_gzip_raises(offline, tmp_path):
    folder = data.save_mnist(offline.limit(50, 20), tmp_path / "idx", layout="idx")
    victim = folder / "train-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:200])
    with pytest.raises(data.DataError, match="truncated or corrupt"):
        data.load_mnist(folder)


def test_whole_course_data_round_trips_through_both_layouts(offline, tmp_path):
    # What chapter 0 points to: the data it loads, written as mnist.npz and as the MNIST site's
    # four IDX files, loads back exactly; a download cut off mid-file is a DataError naming the file.
    npz = data.save_mnist(offline, tmp_path / "mnist.npz")
    idx = data.save_mnist(offline, tmp_path / "idx", layout="idx")
    assert sorted(p.name for p in idx.iterdir()) == sorted(f"{stem}.gz" for stem in data.IDX_FILES.values())
    for loaded in (data.load_mnist(npz, verbose=False), data.load_mnist(idx, verbose=False)):
        for name in ("x_train", "y_train", "x_test", "y_test"):
            assert np.array_equal(getattr(loaded, name), getattr(offline, name)), name
    broken = idx / "t10k-images-idx3-ubyte.gz"
    broken.write_bytes(broken.read_bytes()[:5000])
    with pytest.raises(data.DataError, match="t10k-images-idx3-ubyte.gz.*truncated or corrupt"):
        data.load_mnist(idx, verbose=False)


def test_idx_length_mismatch_raises(tmp_path):
    path = data.write_idx(tmp_path / "x", np.zeros((3, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(data.DataError, match="IDX header says"):
        data.read_idx(path)


def test_idx_bad_magic_raises(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"hello world, not an idx file")
    with pytest.raises(data.DataError, match="magic"):
        data.read_idx(path)


def test_missing_idx_file_is_named(offline, tmp_path):
    folder = data.save_mnist(offline.limit(50, 20), tmp_path / "idx", layout="idx")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte"):
        data.load_mnist(folder)


def test_corrupt_npz_raises(offline, tmp_path):
    path = data.save_mnist(offline.limit(50, 20), tmp_path / "mnist.npz")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(data.DataError, match="truncated or corrupt"):
        data.load_mnist(path)


def test_npz_checksum_mismatch_raises(offline, tmp_path):
    path = data.save_mnist(offline.limit(50, 20), tmp_path / "mnist.npz")
    with pytest.raises(data.DataError, match="checksum mismatch"):
        data.load_npz(path, sha256="0" * 64)


# Messages that name the real problem (item 12 of issue 12).

def deny(monkeypatch, victim):
    """Make every open() of ``victim`` fail as an unreadable file does (tests here run as root)."""
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.fspath(file) == os.fspath(victim):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)


def test_unreadable_npz_says_permission_denied_not_corrupt(offline, tmp_path, monkeypatch):
    path = data.save_mnist(offline.limit(50, 20), tmp_path / "mnist.npz")
    deny(monkeypatch, path)
    for load in (lambda: data.load_mnist(path), lambda: data.load_npz(path, sha256="0" * 64)):
        with pytest.raises(data.DataError) as caught:
            load()
        message = str(caught.value)
        assert message.startswith(f"{path}: permission denied")
        assert "chmod u+r" in message and "corrupt" not in message


def test_unreadable_idx_file_says_permission_denied_not_corrupt(offline, tmp_path, monkeypatch):
    folder = data.save_mnist(offline.limit(50, 20), tmp_path / "idx", layout="idx")
    victim = folder / "t10k-images-idx3-ubyte.gz"
    deny(monkeypatch, victim)
    with pytest.raises(data.DataError, match=f"^{victim}: permission denied") as caught:
        data.load_mnist(folder)
    assert "corrupt" not in str(caught.value)


def test_unreadable_npz_for_real_says_permission_denied(offline, tmp_path):
    path = data.save_mnist(offline.limit(50, 20), tmp_path / "mnist.npz")
    path.chmod(0)
    try:
        try:
            path.open("rb").close()
        except PermissionError:
            pass
        else:
            pytest.skip("this process reads files whatever their mode (root)")
        with pytest.raises(data.DataError, match=f"^{path}: permission denied"):
            data.load_mnist(path)
    finally:
        path.chmod(0o644)


def test_crafted_idx_header_cannot_overflow_into_a_reshape_error(tmp_path):
    # 2**22 * 2**22 * 2**20 = 2**64: NumPy's int64 product wraps to 0, which matched this 16-byte file.
    path = tmp_path / "crafted"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**22, 2**22, 2**20))
    says = r"IDX header says \(4194304, 4194304, 1048576\) \(18,446,744,073,709,551,632 bytes\)"
    with pytest.raises(data.DataError, match=says + " but the file has 16 bytes"):
        data.read_idx(path)


@pytest.mark.parametrize("split", ["train", "test"])
def test_a_file_with_an_empty_split_is_refused_naming_the_split(offline, tmp_path, split):
    small = offline.limit(50, 20)
    arrays = {name: getattr(small, name) for name in ("x_train", "y_train", "x_test", "y_test")}
    arrays[f"x_{split}"], arrays[f"y_{split}"] = arrays[f"x_{split}"][:0], arrays[f"y_{split}"][:0]
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(data.DataError, match=rf"mnist\.npz: the {split} split has no images"):
        data.load_mnist(tmp_path / "mnist.npz")


def test_an_idx_folder_with_an_empty_test_split_is_refused(offline, tmp_path):
    folder = data.save_mnist(offline.limit(50, 20), tmp_path / "idx", layout="idx")
    data.write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8))
    data.write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(0, np.uint8))
    with pytest.raises(data.DataError, match=r"idx: the test split has no images"):
        data.load_mnist(folder)


def test_a_file_whose_labels_do_not_match_the_images_is_refused_naming_file_and_split(offline, tmp_path):
    small = offline.limit(50, 20)
    np.savez(tmp_path / "mnist.npz", x_train=small.x_train, y_train=small.y_train[:-1],
             x_test=small.x_test, y_test=small.y_test)
    with pytest.raises(data.DataError, match=r"mnist\.npz \(train\): labels must be \(50,\) to match the "
                                             r"images, got \(49,\)"):
        data.load_mnist(tmp_path / "mnist.npz")


def test_a_file_with_labels_outside_0_to_9_is_refused(offline, tmp_path):
    small = offline.limit(50, 20)
    np.savez(tmp_path / "mnist.npz", x_train=small.x_train, y_train=small.y_train,
             x_test=small.x_test, y_test=small.y_test + 1)
    with pytest.raises(data.DataError, match=r"mnist\.npz \(test\): labels must be whole numbers 0–9"):
        data.load_mnist(tmp_path / "mnist.npz")


def test_npz_wrong_layout_and_shapes(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((2, 28, 28)))
    with pytest.raises(data.DataError, match="missing"):
        data.load_mnist(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", x_train=np.zeros((2, 27, 28), np.uint8), y_train=np.zeros(2, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(data.DataError, match=r"\(2, 27, 28"):
        data.load_mnist(tmp_path / "b.npz")


def test_missing_path_is_named(tmp_path):
    with pytest.raises(data.DataError, match="no such file"):
        data.load_mnist(tmp_path / "nowhere.npz")
    with pytest.raises(data.DataError, match="no such file or folder"):
        data.load_mnist(tmp_path / "nowhere")


def with_one_stray_pixel(images, value=1.0001):
    """A copy of ``images`` with one pixel set to ``value`` (by default just above 1)."""
    images = np.array(images, dtype=np.float32)
    images.flat[images.size // 2] = value
    return images


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((3, 28, 28)), np.zeros(4), r"labels must be \(3,\)"),
    (np.zeros((3, 32, 32)), np.zeros(3), r"\(3, 32, 32\)"),
    (np.zeros((3, 28, 28)), np.array([0, 1, 12]), "0–9"),
    (np.full((3, 28, 28), np.nan), np.zeros(3), "NaN"),
    (np.full((3, 28, 28), -1.0), np.zeros(3), r"\[0, 1\]"),
    (np.zeros((3, 28, 28), dtype=object), np.zeros(3), "dtype"),
    (with_one_stray_pixel(np.full((3, 28, 28), 0.5)), np.zeros(3),
     r"images holds values from 0\.5 to 1\.0001"),
    (np.arange(3 * 784).reshape(3, 28, 28) % 256 + 0.5, np.zeros(3), r"whole numbers in \[0, 255\]"),
])
def test_validate_arrays_rejects(images, labels, message):
    with pytest.raises(data.DataError, match=message):
        data.validate_arrays(images, labels)


def test_validate_arrays_accepts_flat_uint8():
    x, y = data.validate_arrays(np.full((2, 784), 255, np.uint8), np.array([[3], [4]]))
    assert x.shape == (2, 28, 28, 1) and x.dtype == np.float32 and x.max() == 1.0
    assert y.tolist() == [3, 4] and y.dtype == np.int64


# Pixel scale: decided once for the data set, both splits together (item 4 of issue 12).

def float_npz(path, small, x_train, x_test):
    np.savez(path, x_train=x_train, y_train=small.y_train, x_test=x_test, y_test=small.y_test)
    return path


def test_one_stray_pixel_cannot_rescale_one_split_and_not_the_other(offline, tmp_path):
    # Floats in [0, 1] and one value of 1.0001 in x_train: dividing x_train alone by 255 would
    # leave its brightest pixel at 0.0039 while x_test stays in [0, 1]. Refused, naming the array.
    small = offline.limit(60, 20)
    path = float_npz(tmp_path / "mnist.npz", small, with_one_stray_pixel(small.x_train[..., 0]),
                     small.x_test[..., 0])
    with pytest.raises(data.DataError, match=r"mnist\.npz: x_train holds values from 0 to 1\.0001 "
                                             r"\(float32\); pixels must be floats in \[0, 1\]"):
        data.load_mnist(path, verbose=False)


def test_stray_pixel_in_the_test_split_is_refused_too(offline, tmp_path):
    small = offline.limit(60, 20)
    path = float_npz(tmp_path / "mnist.npz", small, small.x_train[..., 0],
                     with_one_stray_pixel(small.x_test[..., 0], 3.5))
    with pytest.raises(data.DataError, match=r"x_test holds values from 0 to 3\.5"):
        data.load_mnist(path, verbose=False)


def test_float_pixels_in_unit_range_are_used_as_is_and_said(offline, tmp_path):
    small = offline.limit(60, 20)
    loaded = data.load_mnist(float_npz(tmp_path / "mnist.npz", small, small.x_train, small.x_test),
                             verbose=False)
    assert np.array_equal(loaded.x_train, small.x_train) and np.array_equal(loaded.x_test, small.x_test)
    assert loaded.description.endswith("float32 pixels in [0, 1], used as is")


def test_float_copy_of_0_255_pixels_is_divided_by_255_in_both_splits_and_said(offline, tmp_path, capsys):
    small = offline.limit(60, 20)
    as_float = lambda x: np.round(x[..., 0] * 255).astype(np.float64)  # noqa: E731
    path = float_npz(tmp_path / "mnist.npz", small, as_float(small.x_train), as_float(small.x_test))
    loaded = data.load_mnist(path)
    assert np.array_equal(loaded.x_train, small.x_train) and np.array_equal(loaded.x_test, small.x_test)
    assert loaded.description.endswith("float64 pixels, whole numbers 0–255, divided by 255")
    assert "mnist.npz stores floats 0–255 as whole numbers; divided by 255" in capsys.readouterr().out


def test_a_test_split_of_only_0_and_1_follows_a_0_255_train_split(offline, tmp_path):
    # x_test alone would pass for [0, 1]; x_train is 0–255, so the one scale for both is 1/255.
    small = offline.limit(60, 20)
    x_test = (small.x_test[..., 0] > 0.5).astype(np.float64)
    path = float_npz(tmp_path / "mnist.npz", small, np.round(small.x_train[..., 0] * 255), x_test)
    loaded = data.load_mnist(path, verbose=False)
    assert loaded.x_train.max() == 1.0 and loaded.x_test.max() == np.float32(1 / 255)


def test_splits_stored_in_different_conventions_are_refused(offline, tmp_path):
    small = offline.limit(60, 20)
    path = float_npz(tmp_path / "mnist.npz", small, np.round(small.x_train[..., 0] * 255).astype(np.uint8),
                     small.x_test[..., 0])
    with pytest.raises(data.DataError, match=r"x_test holds pixels in \[0, 1\] \(float32\) but x_train "
                                             r"holds 0–255 \(uint8\); store both splits the same way"):
        data.load_mnist(path, verbose=False)


def test_validate_arrays_keeps_its_call_and_scales_by_the_rule():
    x, y = data.validate_arrays(np.full((2, 28, 28), 255.0), [1, 2], "mine")
    assert x.max() == 1.0 and y.tolist() == [1, 2]
    x, _ = data.validate_arrays(np.full((2, 28, 28), 0.25, np.float64), [1, 2])
    assert x.dtype == np.float32 and x.max() == 0.25


def test_forced_offline_source(monkeypatch, capsys):
    monkeypatch.setenv(DATA_ENV, "offline")
    loaded = data.load_mnist("auto")
    assert loaded.source == "offline"
    assert DATA_ENV in capsys.readouterr().out


def test_auto_falls_back_quickly_without_network(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))  # nothing cached here
    monkeypatch.setattr(data, "network_reachable", lambda **kw: (False, "no network in this test"))
    loaded = data.load_mnist("auto")
    assert loaded.source == "offline"
    assert "no network in this test" in capsys.readouterr().out


def test_auto_uses_a_cached_full_mnist(monkeypatch, tmp_path, offline):
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    cached = data.keras_cache_path()
    cached.parent.mkdir(parents=True)
    data.save_mnist(offline.limit(100, 50), cached)
    digest = data._sha256(cached)
    monkeypatch.setattr(data, "KERAS_MNIST_SHA256", digest)
    monkeypatch.setattr(data, "network_reachable", lambda **kw: pytest.fail("must not touch the network"))
    loaded = data.load_mnist("auto", verbose=False)
    assert loaded.source == "keras" and len(loaded.y_train) == 100


def test_cached_file_with_wrong_checksum_is_refused(monkeypatch, tmp_path, offline):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    cached = data.keras_cache_path()
    cached.parent.mkdir(parents=True)
    data.save_mnist(offline.limit(100, 50), cached)
    with pytest.raises(data.DataError, match="checksum mismatch"):
        data.load_mnist("keras")


def test_network_probe_gives_up_in_time():
    import time

    start = time.perf_counter()
    ok, why = data.network_reachable("https://unreachable.invalid/x", timeout=1.0)
    assert not ok and why
    assert time.perf_counter() - start < 3.0


# A server that accepts and then stops answering (item 10 of issue 12).

class MisbehavingServer:
    """An HTTP server on 127.0.0.1 that runs ``answer(conn, stop)`` for every request it receives."""

    def __init__(self, answer):
        self.answer, self.stop = answer, threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/mnist.npz"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            conn.settimeout(30)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:  # the reachability probe connects and leaves
                    return
                request += chunk
            self.answer(conn, self.stop)

    def close(self):
        self.stop.set()
        self.sock.close()


def headers(length):
    return f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n".encode()


@pytest.fixture
def serve(monkeypatch, tmp_path):
    """Start a MisbehavingServer as Keras' MNIST URL, with an empty cache and a 1 s silence bound."""
    servers = []
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "*")
    monkeypatch.setattr(data, "DOWNLOAD_SILENCE", 1.0)

    def start(answer):
        servers.append(MisbehavingServer(answer))
        monkeypatch.setattr(data, "KERAS_MNIST_URL", servers[-1].url)
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def cache_files(tmp_path):
    return sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file())


def test_auto_falls_back_in_seconds_when_the_server_accepts_but_never_answers(serve, tmp_path, capsys):
    serve(lambda conn, stop: stop.wait())
    start = time.perf_counter()
    loaded = data.load_mnist("auto")
    elapsed = time.perf_counter() - start
    assert loaded.source == "offline"
    assert elapsed < 25, f"{elapsed:.1f} s: the download waited out a socket default, not the 1 s silence"
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("MNIST source")]
    assert notes == ["MNIST source: offline — downloading full MNIST failed: no data from 127.0.0.1 "
                     "for 1 s: the server stopped answering"]
    assert cache_files(tmp_path) == []


def test_a_download_that_stops_mid_file_gives_up_and_caches_nothing(serve, tmp_path):
    def half_then_silence(conn, stop):
        conn.sendall(headers(1000) + b"x" * 100)
        stop.wait()

    serve(half_then_silence)
    start = time.perf_counter()
    with pytest.raises(data.DataError, match="no data from 127.0.0.1 for 1 s: the server stopped answering"):
        data.load_mnist("keras")
    assert time.perf_counter() - start < 25
    assert cache_files(tmp_path) == []


def test_a_slow_download_that_keeps_sending_completes(serve, tmp_path, offline, monkeypatch):
    # 8 pieces 0.3 s apart: 2.4 s in all, more than twice the 1 s silence bound, never 1 s silent.
    body = data.save_mnist(offline.limit(100, 50), tmp_path / "served.npz").read_bytes()
    monkeypatch.setattr(data, "KERAS_MNIST_SHA256", data._sha256(tmp_path / "served.npz"))

    def slowly(conn, stop):
        conn.sendall(headers(len(body)))
        for piece in np.array_split(np.frombuffer(body, np.uint8), 8):
            time.sleep(0.3)
            conn.sendall(piece.tobytes())

    serve(slowly)
    start = time.perf_counter()
    loaded = data.load_mnist("keras", verbose=False)
    assert time.perf_counter() - start > 2.0
    assert loaded.source == "keras" and len(loaded.y_train) == 100
    assert cache_files(tmp_path) == ["mnist.npz"]


def test_a_truncated_download_is_refused_and_not_cached(serve, tmp_path):
    serve(lambda conn, stop: conn.sendall(headers(1000) + b"x" * 400))  # then the server hangs up
    with pytest.raises(data.DataError, match=r"downloading full MNIST failed: the download from 127\.0\.0\.1 "
                                             r"was cut short"):
        data.load_mnist("keras")
    assert cache_files(tmp_path) == []


def test_a_download_with_the_wrong_checksum_is_refused_and_not_cached(serve, tmp_path, capsys):
    serve(lambda conn, stop: conn.sendall(headers(9) + b"not mnist"))
    with pytest.raises(data.DataError, match=r"checksum mismatch: 127\.0\.0\.1 sent 9 bytes"):
        data.load_mnist("keras")
    assert cache_files(tmp_path) == []
    assert data.load_mnist("auto").source == "offline"
    assert "checksum mismatch" in capsys.readouterr().out


def test_course_data_follows_the_profile():
    quick = data.load_course_data("offline", get_profile("quick"), verbose=False)
    reader = data.load_course_data("offline", get_profile("reader"), verbose=False)
    assert len(quick.y_train) == 2000 and len(quick.y_test) == 500
    assert len(reader.y_train) == 4000


def test_profiles():
    assert get_profile("quick").quick and not get_profile("reader").quick
    assert get_profile("quick").pick(reader=25, quick=2) == 2
    with pytest.raises(ValueError, match="not a profile"):
        get_profile("fast")


def test_pk_batches_are_balanced_and_cover_every_image():
    labels = np.repeat(np.arange(5), 12)
    batches = data.pk_batch_indices(labels, p=5, k=4, seed=0)
    seen = []
    for _ in range(3):  # 3 batches × 4 images of each of the 5 classes = all 60 images once
        batch = next(batches)
        classes, counts = np.unique(labels[batch], return_counts=True)
        assert classes.tolist() == [0, 1, 2, 3, 4] and counts.tolist() == [4] * 5
        seen.extend(batch.tolist())
    assert sorted(seen) == list(range(60))


def test_pk_small_class_and_errors():
    labels = np.array([0] * 10 + [1] * 2)
    batch = next(data.pk_batch_indices(labels, p=2, k=3, seed=1))
    assert np.bincount(labels[batch]).tolist() == [3, 3]
    with pytest.raises(ValueError, match="only 2 classes"):
        next(data.pk_batch_indices(labels, p=3, k=2))
    with pytest.raises(ValueError, match="positive"):
        next(data.pk_batch_indices(labels, p=0, k=2))


def test_pk_dataset_yields_images_and_new_batches_each_pass(offline):
    ds = data.pk_dataset(offline.x_train, offline.y_train, p=4, k=3, seed=0, steps=2)
    first = [y.numpy().tolist() for _, y in ds]
    second = [y.numpy().tolist() for _, y in ds]
    assert len(first) == 2 and first != second
    x, y = next(iter(ds))
    assert x.shape == (12, 28, 28, 1) and x.dtype.name == "float32"
    assert sorted(np.bincount(y.numpy()).tolist())[-4:] == [3, 3, 3, 3]


def test_pk_errors_are_raised_before_training(offline):
    from helpers.training import train_embedding

    with pytest.raises(ValueError, match="P=11 classes per batch"):
        data.pk_dataset(offline.x_train, offline.y_train, p=11, k=2)
    small = offline.limit(100, 10)
    with pytest.raises(ValueError, match="P=11 classes per batch"):
        train_embedding("mlp", small, pk=(11, 2), epochs=1, verbose=0)


def test_validation_split_is_stratified_and_carved_from_the_training_split(offline):
    split = offline.validation_split()
    assert split.held_out == "validation" and offline.held_out == "test"
    assert data.VALIDATION_FRACTION == 0.2
    # 20 % of 4,000 balanced training images: 800 validation images, 80 of each digit.
    assert len(split.y_test) == 800 and len(split.y_train) == 3200
    assert np.bincount(split.y_test).tolist() == [80] * 10
    assert np.bincount(split.y_train).tolist() == [320] * 10
    assert split.x_train.shape[1:] == split.x_test.shape[1:] == (28, 28, 1)
    assert "validation protocol" in split.description and "3,200 train / 800 validation" in split.description
    # Disjoint, and together exactly the training split: find each image's index in x_train.
    index = {img.tobytes(): i for i, img in enumerate(offline.x_train)}
    assert len(index) == 4000  # no exact repeats inside this training split, so indices are unique
    fit = [index[img.tobytes()] for img in split.x_train]
    val = [index[img.tobytes()] for img in split.x_test]
    assert not set(fit) & set(val)
    assert sorted(fit + val) == list(range(4000))
    assert np.array_equal(offline.y_train[fit], split.y_train)
    assert np.array_equal(offline.y_train[val], split.y_test)
    # The test split is never used: its images appear only where they repeat a training image.
    # (Every image of the split is a training image, found above; a test image can only appear
    # where MNIST repeats it exactly in the training split — at most 2 here, as above.)
    assert sum(img.tobytes() in index for img in offline.x_test) <= 2


def test_validation_split_is_deterministic_and_follows_the_seed(offline):
    a, b = offline.validation_split(), offline.validation_split()
    assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.y_train, b.y_train)
    assert a.x_test.tobytes() == offline.validation_split(0.2, data.VALIDATION_SEED).x_test.tobytes()
    other = offline.validation_split(seed=data.VALIDATION_SEED + 1)
    assert not np.array_equal(other.x_test, a.x_test)
    assert np.bincount(other.y_test).tolist() == [80] * 10


def test_validation_split_of_an_unbalanced_subset_keeps_the_proportions():
    y = np.repeat(np.arange(3), [50, 30, 20])
    x = np.arange(100, dtype=np.float32).reshape(100, 1, 1, 1) * np.ones((1, 28, 28, 1), np.float32)
    mnist = data.MnistData(x, y, x[:5], y[:5], source="test", description="toy")
    split = mnist.validation_split(fraction=0.3, seed=4)
    assert np.bincount(split.y_test).tolist() == [15, 9, 6]
    assert np.bincount(split.y_train).tolist() == [35, 21, 14]
    ids = np.concatenate([split.x_train[:, 0, 0, 0], split.x_test[:, 0, 0, 0]])
    assert sorted(ids.tolist()) == list(range(100))


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_validation_split_rejects_fractions_outside_the_open_interval(offline, fraction):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        offline.validation_split(fraction)


def test_validation_split_rejects_a_share_that_empties_one_side(offline):
    tiny = offline.limit(train=10, test=10)
    with pytest.raises(ValueError, match="leaves no images"):
        tiny.validation_split(0.01)  # 0.1 of an image rounds to none
    with pytest.raises(ValueError, match="leaves no images"):
        tiny.validation_split(0.99)


def test_validation_split_cannot_be_split_again(offline):
    with pytest.raises(ValueError, match="already is a validation split"):
        offline.validation_split().validation_split()
