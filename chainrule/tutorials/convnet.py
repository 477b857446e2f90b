"""Tutorial 9: a convolution's backward pass by hand, then keras-io's MNIST convnet.

Part 1 takes a 4x4 one-channel image X, a 2x2 kernel K and a bias b, and a 'valid' convolution
(strictly a cross-correlation, as in every deep-learning library):

    Y[i, j] = sum_{a, b} X[i + a, j + b] K[a, b] + bias          Y: (3, 3)
    L       = sum_{i, j} G[i, j] Y[i, j]                         G: known weights, so dL/dY = G

It prints the forward sums and then the three gradients, each in plain loops written to be read:

- dL/dK[a, b] = sum over output positions (i, j) of G[i, j] X[i + a, j + b]: each kernel weight's
  gradient is the correlation of the input with the upstream gradient (the im2col idea: the
  input pixels one kernel entry met, one per output, dotted with the upstream gradient);
- dL/dX[p, q] = sum over the outputs that read X[p, q] of G[i, j] K[p - i, q - j]: the upstream
  gradient scattered back through the kernel, which is the same as a 'full' convolution (G
  zero-padded by kernel size - 1 on every side) with the kernel flipped in both axes;
- dL/dbias = sum of G, since the bias is added to every output;

beside chainrule's autodiff (``chainrule.tensor.conv`` and ``backward``), asserting that they
agree. Then a 2x2 max pool: each window passes on only its maximum, so its gradient goes back to
that one pixel and the other three get zero.

Part 2 trains keras-io's "Simple MNIST convnet" (Conv2D 32 3x3, pool, Conv2D 64 3x3, pool,
Dropout, Dense 10) on the real MNIST data (``CHAINRULE_DATA_DIR``, as the mnist tutorial) and
plots the 32 learned 3x3 filters of its first layer: after training, several look like edge and
stroke detectors (a positive side beside a negative one).
"""

import importlib
import os

from chainrule._backend import numpy as np

# chainrule.tensor the module (chainrule.tensor the attribute is the tensor-making function)
_tensor = importlib.import_module("chainrule.tensor")

X = np.array([[1.0, 2.0, 0.0, 1.0],
              [0.0, 1.0, 3.0, 1.0],
              [2.0, 1.0, 0.0, 2.0],
              [1.0, 0.0, 1.0, 3.0]])
K = np.array([[1.0, -1.0],
              [0.0, 2.0]])
BIAS = 0.5
G = np.array([[1.0, 0.0, -1.0],
              [2.0, 1.0, 0.0],
              [0.0, -1.0, 1.0]])
# the max pool's input (distinct values in each window, so each has one maximum) and upstream gradient
P = np.array([[1.0, 3.0, 2.0, 0.0],
              [4.0, 2.0, 1.0, 5.0],
              [0.0, 6.0, 3.0, 1.0],
              [2.0, 1.0, 4.0, 2.0]])
P_GRAD = np.array([[1.0, 2.0],
                   [3.0, 4.0]])


def _fmt(value):
    return f"{value:g}"


def _product(u, v):
    """``u*v`` with a negative factor in parentheses: 2*(-1)."""
    return "*".join(f"({_fmt(w)})" if w < 0 else _fmt(w) for w in (u, v))


def _rows(array, indent="    "):
    return "\n".join(indent + "  ".join(f"{v:>5g}" for v in row) for row in np.asarray(array))


def conv_forward(x, k, bias):
    """Y[i, j] = sum_{a, b} x[i + a, j + b] k[a, b] + bias, 'valid' (no padding), stride 1."""
    kh, kw = k.shape
    y = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            total = bias
            for a in range(kh):
                for b in range(kw):
                    total += x[i + a, j + b] * k[a, b]
            y[i, j] = total
    return y


def kernel_gradient(x, grad, kernel_shape):
    """dL/dk[a, b] = sum_{i, j} grad[i, j] x[i + a, j + b]: the input correlated with the upstream
    gradient (the pixels kernel entry (a, b) met, one per output position)."""
    dk = np.zeros(kernel_shape)
    for a in range(kernel_shape[0]):
        for b in range(kernel_shape[1]):
            for i in range(grad.shape[0]):
                for j in range(grad.shape[1]):
                    dk[a, b] += grad[i, j] * x[i + a, j + b]
    return dk


def input_gradient_scattered(grad, k, input_shape):
    """dL/dx by scattering: output (i, j) read x[i + a, j + b] with weight k[a, b], so that pixel
    receives grad[i, j] k[a, b]; a pixel read by several outputs adds up their shares."""
    dx = np.zeros(input_shape)
    for i in range(grad.shape[0]):
        for j in range(grad.shape[1]):
            for a in range(k.shape[0]):
                for b in range(k.shape[1]):
                    dx[i + a, j + b] += grad[i, j] * k[a, b]
    return dx


def input_gradient_full(grad, k):
    """dL/dx as a 'full' convolution: grad zero-padded by (kernel size - 1) on every side, then
    correlated with the kernel flipped in both axes; the same sums as the scatter, read per pixel."""
    kh, kw = k.shape
    padded = np.zeros((grad.shape[0] + 2 * (kh - 1), grad.shape[1] + 2 * (kw - 1)))
    padded[kh - 1:kh - 1 + grad.shape[0], kw - 1:kw - 1 + grad.shape[1]] = grad
    flipped = k[::-1, ::-1]
    return conv_forward(padded, flipped, 0.0)


def max_pool_forward(x, size=2):
    """The maximum of each size x size window (stride = size) and where it is, (row, column)."""
    out = np.zeros((x.shape[0] // size, x.shape[1] // size))
    where = {}
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            window = x[i * size:(i + 1) * size, j * size:(j + 1) * size]
            a, b = np.unravel_index(np.argmax(window), window.shape)  # the first maximum, row-major
            out[i, j] = window[a, b]
            where[i, j] = (i * size + a, j * size + b)
    return out, where


def max_pool_backward(grad, where, input_shape):
    """Each window's gradient goes to its maximum; every other pixel of the window gets 0."""
    dx = np.zeros(input_shape)
    for (i, j), (p, q) in where.items():
        dx[p, q] += grad[i, j]
    return dx


def _autodiff_conv():
    """The same convolution and loss through chainrule: (1, 4, 4, 1) image, (2, 2, 1, 1) kernel."""
    import chainrule as cr

    x = cr.tensor(X[None, :, :, None], dtype="float64", requires_grad=True)
    k = cr.tensor(K[:, :, None, None], dtype="float64", requires_grad=True)
    b = cr.tensor([BIAS], dtype="float64", requires_grad=True)
    y = _tensor.conv(x, k, bias=b)  # (1, 3, 3, 1)
    loss = (y * G[None, :, :, None]).sum()
    loss.backward()
    return y.numpy()[0, :, :, 0], loss.item(), k.grad[:, :, 0, 0], x.grad[0, :, :, 0], b.grad.item()


def _autodiff_pool():
    import chainrule as cr

    x = cr.tensor(P[None, :, :, None], dtype="float64", requires_grad=True)
    y = _tensor.max_pool(x, 2)  # (1, 2, 2, 1)
    (y * P_GRAD[None, :, :, None]).sum().backward()
    return y.numpy()[0, :, :, 0], x.grad[0, :, :, 0]


def by_hand(print=print):
    """Part 1: a convolution's and a max pool's backward pass by hand, beside autodiff.

    Returns:
        A dict of NumPy arrays: ``output``, ``loss``; ``kernel_grad``, ``input_grad``,
        ``bias_grad`` and ``pool_grad``, each a ``{"hand": ..., "autodiff": ...}`` pair.

    Raises:
        AssertionError: if a hand computation and autodiff disagree (they never should).
    """
    print(f"a 4x4 image X, a 2x2 kernel K and a bias of {_fmt(BIAS)}; Y = X conv K + bias ('valid': 3x3); "
          f"L = sum G * Y")
    print(f"  X =\n{_rows(X)}\n  K =\n{_rows(K)}\n  G = dL/dY =\n{_rows(G)}")
    y = conv_forward(X, K, BIAS)
    loss = float((G * y).sum())
    print("forward: Y[i, j] = sum_{a, b} X[i + a, j + b] K[a, b] + bias")
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            terms = " + ".join(_product(X[i + a, j + b], K[a, b]) for a in range(2) for b in range(2))
            print(f"  Y[{i}, {j}] = {terms} + {_fmt(BIAS)} = {_fmt(y[i, j])}")
    print(f"  L = sum G * Y = {_fmt(loss)}")

    print("backward, dL/dK[a, b] = sum_{i, j} G[i, j] X[i + a, j + b] (the input correlated with G):")
    dk = kernel_gradient(X, G, K.shape)
    for a in range(2):
        for b in range(2):
            terms = " + ".join(_product(G[i, j], X[i + a, j + b]) for i in range(3) for j in range(3))
            print(f"  dL/dK[{a}, {b}] = {terms} = {_fmt(dk[a, b])}")
    print("dL/dX: each output (i, j) sends G[i, j] K[a, b] back to the pixel X[i + a, j + b] it read;")
    print("the same as a 'full' convolution of G (zero-padded by 1) with K flipped in both axes:")
    dx = input_gradient_scattered(G, K, X.shape)
    dx_full = input_gradient_full(G, K)
    assert np.array_equal(dx, dx_full), "scatter and full convolution disagree"
    terms = " + ".join(f"G[{1 - a}, {1 - b}]*K[{a}, {b}]" for a in range(2) for b in range(2))
    values = " + ".join(_product(G[1 - a, 1 - b], K[a, b]) for a in range(2) for b in range(2))
    print("  e.g. X[1, 1] is read by Y[0, 0], Y[0, 1], Y[1, 0] and Y[1, 1], so")
    print(f"  dL/dX[1, 1] = {terms} = {values} = {_fmt(dx[1, 1])}")
    print(f"  K flipped =\n{_rows(K[::-1, ::-1])}\n  dL/dX =\n{_rows(dx)}")
    db = float(G.sum())
    print(f"dL/dbias = sum of G = {_fmt(db)} (the bias is added to every output)")

    auto_y, auto_loss, auto_dk, auto_dx, auto_db = _autodiff_conv()
    print("autodiff (chainrule.tensor.conv, then backward):")
    print(f"  L = {_fmt(auto_loss)}; dL/dbias = {_fmt(auto_db)}\n  dL/dK =\n{_rows(auto_dk)}")
    print(f"  dL/dX =\n{_rows(auto_dx)}")
    for name, hand, auto in (("Y", y, auto_y), ("dL/dK", dk, auto_dk), ("dL/dX", dx, auto_dx),
                             ("dL/dbias", db, auto_db)):
        assert np.allclose(hand, auto, rtol=1e-12, atol=1e-12), f"{name}: by hand {hand} != autodiff {auto}"
    print("  the same as by hand")

    print("a 2x2 max pool (stride 2) of a 4x4 input: each window passes on its maximum only,")
    print("so its upstream gradient goes back to that pixel; the other three get 0")
    pooled, where = max_pool_forward(P)
    pool_dx = max_pool_backward(P_GRAD, where, P.shape)
    print(f"  input =\n{_rows(P)}\n  pooled =\n{_rows(pooled)}\n  upstream gradient =\n{_rows(P_GRAD)}")
    for (i, j), (p, q) in where.items():
        print(f"  window ({i}, {j}): max {_fmt(pooled[i, j])} at ({p}, {q}) receives {_fmt(P_GRAD[i, j])}")
    print(f"  dL/dinput =\n{_rows(pool_dx)}")
    auto_pooled, auto_pool_dx = _autodiff_pool()
    assert np.array_equal(pooled, auto_pooled) and np.array_equal(pool_dx, auto_pool_dx), "max pool disagrees"
    print("  autodiff (chainrule.tensor.max_pool) gives the same")
    return {"output": y, "loss": loss,
            "kernel_grad": {"hand": dk, "autodiff": auto_dk}, "input_grad": {"hand": dx, "autodiff": auto_dx},
            "bias_grad": {"hand": db, "autodiff": auto_db}, "pool_grad": {"hand": pool_dx, "autodiff": auto_pool_dx}}


def run(plots=None, epochs=15, print=print, seed=0, verbose=2):
    """Both parts: part 1 by hand, then keras-io's MNIST convnet trained for ``epochs`` epochs on
    the real MNIST data, its first layer's filters plotted to ``plots``/convnet_filters.png.

    Returns:
        Part 1's dict (see :func:`by_hand`) with ``test_loss``, ``test_accuracy`` and ``filters``
        (the first Conv2D's kernel, (3, 3, 1, 32)).
    """
    from chainrule.layers import Conv2D
    from chainrule.tutorials import keras_programs

    if plots:
        from chainrule import plotting

        plotting.check_folder(plots)  # before the training, not after it
    result = by_hand(print=print)
    span = f"{epochs} epoch" + ("s" if epochs != 1 else "")
    print(f"\nkeras-io's MNIST convnet, {span}:")
    loss, accuracy, history = keras_programs.mnist_convnet(epochs=epochs, seed=seed, verbose=verbose, print=print)
    first = next(layer for layer in history.model.layers if isinstance(layer, Conv2D))
    filters = np.array(first.kernel.data)  # (3, 3, 1, 32)
    if plots:
        os.makedirs(plots, exist_ok=True)
        path = os.path.join(plots, "convnet_filters.png")
        plotting.plot_filters(filters, path, f"the first layer's 32 filters after {span}")
        print(f"filters plotted to {path}")
    return {**result, "test_loss": loss, "test_accuracy": accuracy, "filters": filters}


main = run
