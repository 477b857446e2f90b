"""Where dataset files come from: an offline mirror, the cache, or a pinned download.

1. ``CHAINRULE_DATA_DIR``, when set, is a folder the user filled (an offline mirror). A file found
   there is used as it is (its content is validated by the loader); nothing is downloaded.
2. Otherwise the cache, ``$CHAINRULE_HOME/datasets`` (default ``~/.chainrule/datasets``). A missing
   file, or one whose hashes are wrong, is downloaded over HTTPS from its canonical location and
   checked against its pinned SHA-256 (and the MD5 too, where that is what the publisher gives).
   A redirect away from HTTPS is refused, and no more bytes are accepted than the published size.
   The file is written to a temporary file beside the target and moved into place only when every
   hash matches, so a failed or interrupted download never leaves anything at the final path.
3. A ``path`` with a folder in it (``"data/mnist.npz"``, ``"/tmp/mnist.npz"``) is an explicit file.
"""

import hashlib
import http.client
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from chainrule.utils.files import atomic_write

DATA_DIR_VARIABLE = "CHAINRULE_DATA_DIR"
HOME_VARIABLE = "CHAINRULE_HOME"

# Keras's canonical location for the files of keras.datasets.
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

# The most a download whose size is not published may send (the largest file here is 26 MB).
MAX_UNSIZED_DOWNLOAD = 1 << 28


class DatasetError(ValueError):
    """A dataset file whose content is not what it should be; the message names the file."""


class DownloadError(OSError):
    """A dataset file that could not be downloaded, or whose download failed its hash check."""


class InsecureRedirect(DownloadError):
    """A redirect that would take a download off HTTPS."""


@dataclass(frozen=True)
class Remote:
    """Where a file is published, and what pins it: its SHA-256, and its MD5 and size where known.

    Every file is pinned by SHA-256. Where its publisher gives only an MD5, that MD5 is kept too and
    both are checked, the SHA-256 having been computed from a copy whose MD5 is the published one.
    """

    url: str
    sha256: str
    md5: str = None
    size: int = None

    def __post_init__(self):
        if not isinstance(self.sha256, str) or not re.fullmatch("[0-9a-f]{64}", self.sha256):
            raise ValueError(f"Remote({self.url!r}): sha256 must be 64 hexadecimal digits (lower case), found {self.sha256!r}")
        if self.md5 is not None and not (isinstance(self.md5, str) and re.fullmatch("[0-9a-f]{32}", self.md5)):
            raise ValueError(f"Remote({self.url!r}): md5 must be 32 hexadecimal digits (lower case), found {self.md5!r}")

    @property
    def hashes(self):
        """The pinned digests by algorithm name, SHA-256 first."""
        return {"sha256": self.sha256, **({"md5": self.md5} if self.md5 else {})}


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
        if _matches(target, remote):
            return target
        print(f"chainrule: the cached {target} does not match its published hash; downloading it again", file=sys.stderr)
    download(remote, target)
    return target


def _digests(algorithms):
    # MD5 is a second pin beside SHA-256, not a security check on its own (FIPS builds allow this).
    return {algorithm: hashlib.new(algorithm, usedforsecurity=False) for algorithm in algorithms}


def _matches(path, remote):
    """Whether the file at ``path`` has ``remote``'s size (where pinned) and every pinned hash."""
    if remote.size is not None and os.path.getsize(path) != remote.size:
        return False
    digests = _digests(remote.hashes)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            for digest in digests.values():
                digest.update(block)
    return all(digests[algorithm].hexdigest() == expected for algorithm, expected in remote.hashes.items())


def download(remote, target, timeout=30):
    """Downloads ``remote`` to ``target`` through a temporary file, keeping it only if every hash matches."""
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    name = os.path.basename(target)
    with atomic_write(target) as out:  # kept only if the block ends without an error
        digests = _fetch(remote, out, name, target, timeout)
        for algorithm, expected in remote.hashes.items():
            if digests[algorithm] != expected:
                raise DownloadError(
                    f"the download of {name} from {remote.url} does not match its published {algorithm}: "
                    f"expected {expected}, received {digests[algorithm]}; it was discarded"
                )


class HTTPSOnlyRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows a redirect from HTTPS only to HTTPS (and from a plain-HTTP origin, such as a local
    mirror, only to HTTP or HTTPS): a pinned file is never fetched over a channel it did not ask for."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        allowed = ("https",) if urllib.parse.urlsplit(req.full_url).scheme == "https" else ("http", "https")
        if urllib.parse.urlsplit(newurl).scheme.lower() not in allowed:
            raise InsecureRedirect(f"from {req.full_url} to {newurl}: a download may only be redirected to {' or '.join(allowed).upper()}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _fetch(remote, out, name, target, timeout):
    """Streams ``remote.url`` into ``out``; returns its hex digests. Raises DownloadError on any failure."""
    url = remote.url
    digests = _digests(remote.hashes)
    limit = remote.size if remote.size is not None else MAX_UNSIZED_DOWNLOAD
    try:
        response = urllib.request.build_opener(HTTPSOnlyRedirectHandler).open(url, timeout=timeout)
    except InsecureRedirect as error:
        raise DownloadError(f"refused to follow the redirect of {name} {error}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise DownloadError(
            f"could not download {name} from {url} ({getattr(error, 'reason', error)}). Without a "
            f"network, put the file at {target}, or set {DATA_DIR_VARIABLE} to a folder that holds it"
        ) from None
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and (total != remote.size if remote.size is not None else total > limit):
            published = f"its published size is {remote.size:,}" if remote.size is not None else f"more than the {limit:,} allowed"
            raise DownloadError(f"the server of {name} ({url}) announces {total:,} bytes; {published}")
        progress = _Progress(name, total) if total and total > (1 << 20) and sys.stderr.isatty() else None
        received = 0
        try:
            while True:
                # One byte past the limit at most: enough to know it was passed.
                chunk = response.read(min(1 << 16, limit + 1 - received))
                if not chunk:
                    break
                received += len(chunk)
                if received > limit:
                    published = f"the {limit:,} bytes published" if remote.size is not None else f"{limit:,} bytes, the most a file of unpublished size may have"
                    raise DownloadError(f"the download of {name} from {url} sent more than {published}; it was discarded")
                out.write(chunk)
                for digest in digests.values():
                    digest.update(chunk)
                if progress:
                    progress.update(received)
        except DownloadError:
            raise
        except (OSError, http.client.HTTPException) as error:
            raise DownloadError(f"the download of {name} from {url} broke off after {received} bytes ({error!r})") from None
        finally:
            if progress:
                progress.close()
    expected = total if total is not None else remote.size
    if expected is not None and received != expected:
        raise DownloadError(f"the download of {name} from {url} was cut short: {received} of {expected} bytes arrived")
    return {algorithm: digest.hexdigest() for algorithm, digest in digests.items()}


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
