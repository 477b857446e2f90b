"""Downloads, the cache and the mirror, against an HTTP server on 127.0.0.1 started by the test."""

import hashlib
import http.server
import io
import os
import socket
import struct
import threading

import numpy as np
import pytest

from chainrule.datasets import DownloadError, _files, mnist
from chainrule.datasets._files import Remote, locate

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """/good serves PAYLOAD; /other different bytes; /truncated promises more than it sends;
    /drop resets the connection part-way; /file/<name> serves a registered body."""

    def do_GET(self):
        self.server.requests.append(self.path)
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


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.requests, httpd.files = [], {}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
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
