"""The network half of ``helpers.data``: a quick reachability probe and a download bounded by silence.

Private to ``helpers.data`` (chapter 0), whose ``network_reachable`` calls ``probe``. Both give up
on a server that stops answering instead of waiting out the operating system's timeouts:

- ``probe`` tries a TCP connection, name resolution included, for at most ``timeout`` s;
- ``fetch`` downloads with a per-operation socket timeout of ``silence`` seconds, so it gives up
  when no byte arrives for that long (connecting, waiting for the answer, or mid-body) but lets a
  slow download that keeps sending finish, however long it takes in all. (Name resolution has no
  socket timeout; the probe, run just before, bounds it.) The file is written next to its target,
  its SHA-256 checked, and only then moved into place.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse


class DownloadError(Exception):
    """A download did not produce the expected file; the message says why in one line."""


def _port(url: str) -> int:
    parts = urlparse(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def probe(url: str, timeout: float) -> tuple[bool, str]:
    """Try a TCP connection to ``url``'s host and port, giving up (DNS included) after ``timeout`` s."""
    host = urlparse(url).hostname
    result = {"ok": False, "why": f"no answer from {host} within {timeout:g} s"}

    def attempt():
        try:
            with socket.create_connection((host, _port(url)), timeout=timeout):
                result.update(ok=True, why="reachable")
        except OSError as err:
            result["why"] = f"cannot reach {host} ({type(err).__name__})"

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout)
    return result["ok"], result["why"]


def fetch(url: str, target: Path, *, sha256: str, silence: float, block: int = 1 << 16) -> Path:
    """Download ``url`` to ``target``; give up after ``silence`` s without a byte; check the SHA-256."""
    target = Path(target)
    part = target.with_name(f"{target.name}.{os.getpid()}.part")  # one per process: no clashes
    host, digest, size = urlparse(url).hostname, hashlib.sha256(), 0
    stalled = f"no data from {host} for {silence:g} s: the server stopped answering"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=silence) as response, open(part, "wb") as out:
            length = response.headers.get("Content-Length")
            while chunk := response.read(block):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if length is not None and length.isdigit() and size != int(length):
            raise DownloadError(f"the download from {host} was cut short: {size:,} of {int(length):,} bytes")
        if (actual := digest.hexdigest()) != sha256:
            raise DownloadError(f"checksum mismatch: {host} sent {size:,} bytes with sha256 {actual[:12]}…, "
                                f"expected {sha256[:12]}…; nothing was saved")
        os.replace(part, target)
        return target
    except TimeoutError:
        raise DownloadError(stalled) from None
    except urllib.error.HTTPError as err:
        raise DownloadError(f"{host} answered HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError):
            raise DownloadError(stalled) from None
        raise DownloadError(f"cannot download from {host}: {err.reason}") from None
    except http.client.IncompleteRead as err:
        raise DownloadError(f"the download from {host} was cut short ({err!r})") from None
    except http.client.HTTPException as err:
        raise DownloadError(f"{host} sent a broken answer ({type(err).__name__}: {err})") from None
    except OSError as err:  # a reset connection, a full disk, an unwritable cache folder, ...
        raise DownloadError(f"downloading from {host} failed ({type(err).__name__}: {err})") from None
    finally:
        part.unlink(missing_ok=True)
