"""Downloads, the cache and the mirror, against an HTTP server on 127.0.0.1 started by the test."""

import gzip
import hashlib
import http.client
import http.server
import io
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from chainrule.datasets import DownloadError, _files, fashion_mnist, imdb, mnist
from chainrule.datasets._files import Remote, locate

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """/good serves PAYLOAD; /other different bytes; /truncated promises more than it sends;
    /drop resets the connection part-way; /file/<name> serves a registered body; /endless sends
    PAYLOAD eight times with no Content-Length; a registered redirect answers 302."""

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path in self.server.redirects:
            self.send_response(302)
            self.send_header("Location", self.server.redirects[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if self.path == "/endless":
            self.send_response(200)
            self.end_headers()
            for _ in range(8):
                self.wfile.write(PAYLOAD)
            return None
        if self.path.startswith("/file/"):
            body = self.server.files[self.path[len("/file/"):]]
            return self._send(body, len(body))
        if self.path == "/good":
            return self._send(PAYLOAD, len(PAYLOAD))
        if self.path == "/other":
            return self._send(PAYLOAD[::-1], len(PAYLOAD))
        if self.path == "/truncated":
            return self._send(PAYLOAD[: len(PAYLOAD) // 2], len(PAYLOAD))
        if self.path == "/drop":
            self._send(PAYLOAD[:300_000], len(PAYLOAD), flush=True)
            # An abortive close (RST), as a dropped connection looks to the client.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return None
        self.send_error(404)

    def _send(self, body, length, flush=False):
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)
        if flush:
            self.wfile.flush()

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up on purpose
            super().handle_error(request, client_address)


@pytest.fixture
def server():
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.requests, httpd.files, httpd.redirects = [], {}, {}
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _cache(name):
    return os.path.join(_files.cache_dir(), name)


def _leftovers():
    folder = _files.cache_dir()
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_a_good_download_lands_in_the_cache_once(server):
    path = locate("data.bin", Remote(server.url + "/good", SHA))
    assert path == _cache("data.bin")
    assert open(path, "rb").read() == PAYLOAD
    assert locate("data.bin", Remote(server.url + "/good", SHA)) == path
    assert server.requests == ["/good"]  # the second call used the cache
    assert _leftovers() == ["data.bin"]


@pytest.mark.parametrize(
    "route, message",
    [
        ("/other", "does not match its published sha256"),
        ("/truncated", "cut short|broke off"),
        ("/drop", "cut short|broke off"),
    ],
)
def test_a_failed_download_leaves_nothing_behind(server, route, message):
    with pytest.raises(DownloadError, match=message):
        locate("data.bin", Remote(server.url + route, SHA))
    assert _leftovers() == []


def test_a_corrupted_cached_file_is_downloaded_again(server):
    os.makedirs(_files.cache_dir())
    with open(_cache("data.bin"), "wb") as f:
        f.write(PAYLOAD[:1000] + b"corrupted")
    path = locate("data.bin", Remote(server.url + "/good", SHA))
    assert open(path, "rb").read() == PAYLOAD
    assert server.requests == ["/good"]


def test_a_failed_download_keeps_the_previous_cached_file_untouched(server):
    os.makedirs(_files.cache_dir())
    with open(_cache("data.bin"), "wb") as f:
        f.write(b"stale")
    with pytest.raises(DownloadError):
        locate("data.bin", Remote(server.url + "/other", SHA))
    assert open(_cache("data.bin"), "rb").read() == b"stale"
    assert _leftovers() == ["data.bin"]


def test_offline_says_which_file_to_put_where():
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match=r"Without a network, put the file at .*mnist\.npz, or set CHAINRULE_DATA_DIR"):
        locate("mnist.npz", Remote(f"http://127.0.0.1:{port}/mnist.npz", SHA))
    assert _leftovers() == []


def test_the_mirror_is_used_as_it_is_and_never_downloads(tmp_path, monkeypatch, server):
    (tmp_path / "data.bin").write_bytes(b"not the published bytes")
    monkeypatch.setenv("CHAINRULE_DATA_DIR", str(tmp_path))
    assert locate("data.bin", Remote(server.url + "/good", SHA)) == str(tmp_path / "data.bin")
    with pytest.raises(FileNotFoundError, match="CHAINRULE_DATA_DIR is set to .* which has no missing.bin"):
        locate("missing.bin", Remote(server.url + "/good", SHA))
    assert server.requests == []


def test_an_explicit_path_is_used_directly(tmp_path):
    (tmp_path / "mine.bin").write_bytes(b"x")
    assert locate(str(tmp_path / "mine.bin"), Remote("https://invalid.example/", SHA)) == str(tmp_path / "mine.bin")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        locate(str(tmp_path / "absent.bin"), Remote("https://invalid.example/", SHA))


def test_mnist_load_data_downloads_through_the_pinned_hash(server, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "y_train": np.arange(6, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        "y_test": np.array([9, 0], dtype=np.uint8),
    }
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    server.files["mnist.npz"] = buffer.getvalue()
    monkeypatch.setattr(mnist, "REMOTE", Remote(server.url + "/file/mnist.npz", hashlib.sha256(buffer.getvalue()).hexdigest()))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, [9, 0])
    assert os.path.isfile(_cache("mnist.npz"))


# --- redirects ------------------------------------------------------------------------------------


def test_the_redirect_handler_refuses_to_leave_https():
    handler = _files.HTTPSOnlyRedirectHandler()
    request = urllib.request.Request("https://origin.example/imdb.npz")
    for target in ("http://origin.example/imdb.npz", "ftp://origin.example/imdb.npz", "file:///etc/passwd"):
        with pytest.raises(_files.InsecureRedirect, match=f"from https://origin.example/imdb.npz to {re.escape(target)}"):
            handler.redirect_request(request, None, 302, "Found", {}, target)
    moved = handler.redirect_request(request, None, 301, "Moved", {}, "https://mirror.example/imdb.npz")
    assert moved.full_url == "https://mirror.example/imdb.npz"
    # A plain-HTTP origin (a local mirror, these tests) may move to HTTP or HTTPS, nothing else.
    local = urllib.request.Request("http://127.0.0.1/a")
    assert handler.redirect_request(local, None, 302, "Found", {}, "https://127.0.0.1/b").full_url == "https://127.0.0.1/b"
    with pytest.raises(_files.InsecureRedirect):
        handler.redirect_request(local, None, 302, "Found", {}, "ftp://127.0.0.1/b")


class _PlainHTTPS(urllib.request.HTTPHandler):
    """Opens https:// URLs over plain HTTP, so a server on 127.0.0.1 can stand in for an HTTPS origin."""

    def https_open(self, request):
        return self.do_open(http.client.HTTPConnection, request)


@pytest.fixture
def https_server(server, monkeypatch):
    """``server``, also reachable as ``server.https_url``: https:// URLs carried over plain HTTP."""
    monkeypatch.setattr(urllib.request, "HTTPSHandler", _PlainHTTPS)
    for variable in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    server.https_url = server.url.replace("http://", "https://")
    return server


def test_a_download_redirected_from_https_to_http_is_refused(https_server):
    https_server.redirects["/moved"] = https_server.url + "/good"
    with pytest.raises(DownloadError, match=r"refused to follow .* from https://127\.0\.0\.1:\d+/moved to http://127\.0\.0\.1:\d+/good"):
        locate("data.bin", Remote(https_server.https_url + "/moved", SHA))
    assert https_server.requests == ["/moved"]  # the plain-HTTP copy was never asked for
    assert _leftovers() == []


def test_a_download_redirected_within_https_is_followed(https_server):
    https_server.redirects["/moved"] = https_server.https_url + "/good"
    path = locate("data.bin", Remote(https_server.https_url + "/moved", SHA))
    assert open(path, "rb").read() == PAYLOAD and https_server.requests == ["/moved", "/good"]


# --- hashes and sizes ------------------------------------------------------------------------------


def test_a_download_must_match_every_published_hash(server):
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    assert open(locate("data.bin", Remote(server.url + "/good", SHA, md5=md5)), "rb").read() == PAYLOAD
    with pytest.raises(DownloadError, match=f"does not match its published md5: expected {'0' * 32}, received {md5}"):
        locate("other.bin", Remote(server.url + "/good", SHA, md5="0" * 32))
    assert _leftovers() == ["data.bin"]


def test_a_cached_file_is_checked_against_every_published_hash(server):
    os.makedirs(_files.cache_dir())
    with open(_cache("data.bin"), "wb") as f:
        f.write(PAYLOAD)
    server.files["fresh"] = PAYLOAD
    remote = Remote(server.url + "/file/fresh", SHA, md5="f" * 32)  # the md5 pin disagrees
    with pytest.raises(DownloadError, match="published md5"):
        locate("data.bin", remote)
    assert server.requests == ["/file/fresh"]  # the cached copy was not trusted on its sha256 alone


@pytest.mark.parametrize(
    "sha256, md5, message",
    [
        ("bfafd718b763782e994055a2d397834f", None, "sha256 must be 64 hexadecimal digits"),
        (SHA.upper(), None, "sha256 must be 64 hexadecimal digits"),
        (SHA, "abc", "md5 must be 32 hexadecimal digits"),
    ],
)
def test_a_remote_is_pinned_by_sha256(sha256, md5, message):
    with pytest.raises(ValueError, match=message):
        Remote("https://example.invalid/f", sha256, md5=md5)


def test_a_download_longer_than_its_published_size_is_refused(server):
    with pytest.raises(DownloadError, match=r"announces 1,048,576 bytes; its published size is 1,000"):
        locate("data.bin", Remote(server.url + "/good", SHA, size=1000))
    with pytest.raises(DownloadError, match=r"sent more than the 1,000 bytes published"):
        locate("data.bin", Remote(server.url + "/endless", SHA, size=1000))
    assert _leftovers() == []


def test_a_download_of_unpublished_size_is_bounded(server, monkeypatch):
    monkeypatch.setattr(_files, "MAX_UNSIZED_DOWNLOAD", 2 * len(PAYLOAD))
    with pytest.raises(DownloadError, match=r"sent more than 2,097,152 bytes"):
        locate("data.bin", Remote(server.url + "/endless", SHA))
    assert _leftovers() == []


# --- the pins --------------------------------------------------------------------------------------

# The MD5s zalandoresearch/fashion-mnist publishes in its README, file by file.
FASHION_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}


def test_every_pinned_file_has_a_sha256_and_keeps_the_published_md5():
    remotes = [mnist.REMOTE, imdb.REMOTE, imdb.WORD_INDEX_REMOTE, *fashion_mnist.REMOTES.values()]
    assert len(remotes) == 7
    for remote in remotes:
        assert re.fullmatch("[0-9a-f]{64}", remote.sha256) and remote.url.startswith("https://"), remote
    assert imdb.WORD_INDEX_REMOTE.md5 == "bfafd718b763782e994055a2d397834f"  # Keras's file_hash
    assert {name: remote.md5 for name, remote in fashion_mnist.REMOTES.items()} == FASHION_MD5


def test_the_shared_word_index_matches_both_of_its_pins(shared_data):
    data = (shared_data / "imdb_word_index.json").read_bytes()
    remote = imdb.WORD_INDEX_REMOTE
    assert hashlib.sha256(data).hexdigest() == remote.sha256 and hashlib.md5(data).hexdigest() == remote.md5
    assert len(data) == remote.size


@pytest.mark.skipif(shutil.which("gzip") is None, reason="needs GNU gzip")
def test_the_fashion_pins_are_debians_pixels_gzipped_as_zalando_did(fashion_data):
    # Debian recompressed the four files, but their content is the original. GNU gzip -6 with the
    # original header (FNAME, the 2017 mtime, OS 3) gives back Zalando's bytes: the published MD5,
    # and so the SHA-256 pinned beside it.
    mtimes = {"train": 1504176606, "t10k": 1504176627}
    for name, remote in fashion_mnist.REMOTES.items():
        content = gzip.decompress((fashion_data / name).read_bytes())
        deflated = subprocess.run(["gzip", "-n", "-6", "-c"], input=content, capture_output=True, check=True).stdout
        original_name = name[: -len(".gz")].encode()
        header = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtimes[name.split("-")[0]]) + b"\x00\x03" + original_name + b"\x00"
        rebuilt = header + deflated[10:]
        assert hashlib.md5(rebuilt).hexdigest() == FASHION_MD5[name], name
        assert hashlib.sha256(rebuilt).hexdigest() == remote.sha256 and len(rebuilt) == remote.size, name
