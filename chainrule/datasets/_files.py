"""Where dataset files come from: an offline mirror, the cache, or a pinned download.

1. ``CHAINRULE_DATA_DIR``, when set, is a folder the user filled (an offline mirror). A file found
   there is used as it is (its content is validated by the loader); nothing is downloaded.
2. Otherwise the cache, ``$CHAINRULE_HOME/datasets`` (default ``~/.chainrule/datasets``). A missing
   file, or one whose hash is wrong, is downloaded over HTTPS from its canonical location and
   checked against the published hash. It is written to a temporary file beside the target and
   moved into place only when the hash matches, so a failed or interrupted download never leaves
   anything at the final path.
3. A ``path`` with a folder in it (``"data/mnist.npz"``, ``"/tmp/mnist.npz"``) is an explicit file.
"""

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass

DATA_DIR_VARIABLE = "CHAINRULE_DATA_DIR"
HOME_VARIABLE = "CHAINRULE_HOME"

# Keras's canonical location for the files of keras.datasets.
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


class DatasetError(ValueError):
    """A dataset file whose content is not what it should be; the message names the file."""


class DownloadError(OSError):
    """A dataset file that could not be downloaded, or whose download failed its hash check."""


@dataclass(frozen=True)
class Remote:
    """Where a file is published and the hash it is published with."""

    url: str
    hash: str
    algorithm: str = "sha256"


def cache_dir():
    """The folder downloads go to: ``$CHAINRULE_HOME/datasets`` (default ``~/.chainrule/datasets``)."""
    home = os.environ.get(HOME_VARIABLE) or os.path.join(os.path.expanduser("~"), ".chainrule")
    return os.path.join(home, "datasets")


def locate(path, remote, subdir=""):
    """A local file for ``path``, following the order in the module docstring.

    Args:
        path: a file name (looked up in the mirror or the cache) or an explicit file path.
        remote: where to download the file from, and its hash.
        subdir: the folder under the mirror or cache that holds the file (``"fashion-mnist"``).

    Raises:
        FileNotFoundError: an explicit path or a mirror that lacks the file.
        DownloadError: the download failed or its hash did not match.
    """
    path = os.fspath(path)
    if os.path.dirname(path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"dataset file {path!r} does not exist")
        return path
    mirror = os.environ.get(DATA_DIR_VARIABLE)
    if mirror:
        candidate = os.path.join(mirror, subdir, path)
        if not os.path.isfile(candidate):
            raise FileNotFoundError(
                f"{DATA_DIR_VARIABLE} is set to {mirror!r}, which has no {os.path.join(subdir, path)}: "
                f"put the file there (it is published at {remote.url}) or unset {DATA_DIR_VARIABLE} "
                f"to download it into the cache"
            )
        return candidate
    target = os.path.join(cache_dir(), subdir, path)
    if os.path.isfile(target):
        if file_hash(target, remote.algorithm) == remote.hash:
            return target
        print(f"chainrule: the cached {target} does not match its published hash; downloading it again", file=sys.stderr)
    download(remote, target)
    return target


def file_hash(path, algorithm="sha256"):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(remote, target, timeout=30):
    """Downloads ``remote`` to ``target`` through a temporary file, keeping it only if its hash matches."""
    folder = os.path.dirname(target) or "."
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(target)
    fd, partial = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(remote.url, out, name, target, timeout, remote.algorithm)
        if digest != remote.hash:
            raise DownloadError(
                f"the download of {name} from {remote.url} does not match its published {remote.algorithm}: "
                f"expected {remote.hash}, received {digest}; it was discarded"
            )
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _fetch(url, out, name, target, timeout, algorithm):
    """Streams ``url`` into ``out``; returns the hex digest. Raises DownloadError on any failure."""
    digest = hashlib.new(algorithm)
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise DownloadError(
            f"could not download {name} from {url} ({getattr(error, 'reason', error)}). Without a "
            f"network, put the file at {target}, or set {DATA_DIR_VARIABLE} to a folder that holds it"
        ) from None
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        progress = _Progress(name, total) if total and total > (1 << 20) and sys.stderr.isatty() else None
        received = 0
        try:
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress:
                    progress.update(received)
        except (OSError, http.client.HTTPException) as error:
            raise DownloadError(f"the download of {name} from {url} broke off after {received} bytes ({error!r})") from None
        finally:
            if progress:
                progress.close()
    if total is not None and received != total:
        raise DownloadError(f"the download of {name} from {url} was cut short: {received} of {total} bytes arrived")
    return digest.hexdigest()


class _Progress:
    """A one-line progress bar on stderr, for big downloads to a terminal."""

    def __init__(self, name, total):
        self.name, self.total, self.shown = name, total, -1

    def update(self, received):
        percent = 100 * received // self.total
        if percent != self.shown:
            self.shown = percent
            bar = "=" * (percent // 4)
            sys.stderr.write(f"\rdownloading {self.name} [{bar:<25}] {percent:3d}% of {self.total / 1e6:.1f} MB")
            sys.stderr.flush()

    def close(self):
        sys.stderr.write("\n")
