"""The loaders on the real shared files reproduce the published figures."""

import functools

import numpy as np

from chainrule.datasets import fashion_mnist, imdb, mnist, read_idx


def test_mnist_matches_the_published_figures(shared_data):
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert x_train.mean() == 33.318421449829934
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_mnist_test_set_equals_the_original_idx_files(shared_data, tmp_path):
    # Two independent files of the same data: the npz and LeCun's IDX files (gzip, and raw).
    (_, _), (x_test, y_test) = mnist.load_data()
    np.testing.assert_array_equal(read_idx(shared_data / "mnist_idx" / "t10k-images-idx3-ubyte.gz"), x_test)
    import gzip

    raw = tmp_path / "t10k-labels-idx1-ubyte"
    raw.write_bytes(gzip.decompress((shared_data / "mnist_idx" / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    np.testing.assert_array_equal(read_idx(raw), y_test)


def test_imdb_matches_keras(shared_data):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=10000)
    assert len(x_train[0]) == 218
    assert x_train[0][:10] == [1, 14, 22, 16, 43, 530, 973, 1622, 1385, 65]
    assert len(x_train[1]) == 189
    assert y_train[:10].tolist() == [1, 0, 0, 1, 0, 0, 1, 0, 1, 0]
    assert x_train.shape == x_test.shape == (25000,) and x_train.dtype == object
    assert max(max(x) for x in x_train) == 9999 and min(min(x) for x in x_train) == 1
    # The published mean review length (start char included).
    assert np.mean([len(x) for x in x_train]) == 238.71364


def test_imdb_options_follow_keras(shared_data, monkeypatch):
    # the options act after the file is read: read it once (test_imdb_matches_keras reads it whole)
    monkeypatch.setattr(imdb, "read_npz", functools.lru_cache(maxsize=1)(imdb.read_npz))
    (x_train, _), _ = imdb.load_data(num_words=10000)
    (filtered, labels), (test, _) = imdb.load_data(num_words=10000, maxlen=100)
    assert all(len(x) < 100 for x in filtered) and all(len(x) < 100 for x in test)
    assert len(filtered) == sum(len(x) < 100 for x in x_train) and len(labels) == len(filtered)
    (no_oov, _), _ = imdb.load_data(num_words=10000, oov_char=None, skip_top=20)
    assert all(20 <= w < 10000 for w in no_oov[0]) and 1 not in no_oov[0]
    (plain, _), _ = imdb.load_data(start_char=None, index_from=0, num_words=10000)
    assert plain[0][:3] == [14 - 3, 22 - 3, 16 - 3]


def test_imdb_word_index(shared_data):
    index = imdb.get_word_index()
    assert len(index) == 88584
    assert [index[w] for w in ("the", "and", "a", "of", "to", "is", "br")] == [1, 2, 3, 4, 5, 6, 7]
    (x_train, _), _ = imdb.load_data(num_words=10000)
    words = {i + 3: w for w, i in index.items()}
    assert " ".join(words[i] for i in x_train[0][1:5]) == "this film was just"


def test_fashion_mnist_matches_the_published_figures(fashion_data):
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28) and x_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [6000] * 10 and np.bincount(y_test).tolist() == [1000] * 10
    np.testing.assert_allclose(x_train.mean() / 255, 0.2860405969887955, rtol=1e-12)
