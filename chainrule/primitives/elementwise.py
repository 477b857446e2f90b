"""Elementwise primitives. Inputs may broadcast; the engine reduces gradients to their shapes."""

import math

from chainrule.autograd import Function
from chainrule._backend import exp_nonpositive, xp


class Add(Function):
    """z = x + y;  dz/dx = 1, dz/dy = 1"""

    inline = ("{x} + {y}", ("{g}", "{g}"))

    def forward(ctx, x, y):
        return x + y

    def backward(ctx, grad):
        return grad, grad


class Mul(Function):
    """z = x * y;  dz/dx = y, dz/dy = x"""

    inline = ("{x} * {y}", ("{g} * {y}", "{g} * {x}"))

    def forward(ctx, x, y):
        ctx.save(x, y)
        return x * y

    def backward(ctx, grad):
        x, y = ctx.saved
        return (
            grad * y if ctx.needs_input_grad[0] else None,
            grad * x if ctx.needs_input_grad[1] else None,
        )


class Div(Function):
    """z = x / y;  dz/dx = 1 / y, dz/dy = -z / y"""

    def forward(ctx, x, y):
        z = x / y
        ctx.save(y, z)
        return z

    def backward(ctx, grad):
        y, z = ctx.saved
        dx = grad / y
        return dx, (-dx * z if ctx.needs_input_grad[1] else None)


class Neg(Function):
    """z = -x;  dz/dx = -1"""

    inline = ("-{x}", ("-{g}",))

    def forward(ctx, x):
        return -x

    def backward(ctx, grad):
        return (-grad,)


class Pow(Function):
    """z = x ** y;  dz/dx = y * x ** (y - 1), dz/dy = z * log(x)"""

    def forward(ctx, x, y):
        z = x**y
        ctx.save(x, y, z)
        return z

    def backward(ctx, grad):
        x, y = ctx.saved[:2]
        z = ctx.saved[2]
        dx = dy = None
        if ctx.needs_input_grad[0]:
            dx = grad * y * x ** (y - 1)
        if ctx.needs_input_grad[1]:
            # NOTE: log(x) is taken as 0 at x = 0, so d(x**y)/dy there is 0 (the limit from x > 0)
            # rather than nan, as in PyTorch. A Python-number base stays a Python number, so a
            # float32 gradient is not promoted to float64.
            if isinstance(x, xp.ndarray):
                log_x = xp.log(xp.where(x == 0, 1, x))
            else:
                log_x = math.log(x) if x > 0 else (0.0 if x == 0 else math.nan)
            dy = grad * z * log_x
        return dx, dy


class Exp(Function):
    """z = exp(x);  dz/dx = z"""

    inline = ("xp.exp({x})", ("{g} * {z}",))

    def forward(ctx, x):
        z = xp.exp(x)
        ctx.save(z)
        return z

    def backward(ctx, grad):
        return (grad * ctx.saved[0],)


class Log(Function):
    """z = log(x);  dz/dx = 1 / x"""

    def forward(ctx, x):
        ctx.save(x)
        return xp.log(x)

    def backward(ctx, grad):
        return (grad / ctx.saved[0],)


class Sqrt(Function):
    """z = sqrt(x);  dz/dx = 1 / (2 z)

    A primitive for cost: ``np.sqrt`` is several times faster than ``x ** 0.5``.
    """

    def forward(ctx, x):
        z = xp.sqrt(x)
        ctx.save(z)
        return z

    def backward(ctx, grad):
        return (grad / (2.0 * ctx.saved[0]),)


class Abs(Function):
    """z = |x|;  dz/dx = sign(x)   (NOTE: abs'(0) := 0, as in PyTorch)"""

    def forward(ctx, x):
        ctx.save(x)
        return xp.abs(x)

    def backward(ctx, grad):
        return (grad * xp.sign(ctx.saved[0]),)


class Tanh(Function):
    """z = tanh(x);  dz/dx = 1 - z^2"""

    inline = ("xp.tanh({x})", ("{g} * (1.0 - {z} * {z})",))

    def forward(ctx, x):
        z = xp.tanh(x)
        ctx.save(z)
        return z

    def backward(ctx, grad):
        z = ctx.saved[0]
        return (grad * (1.0 - z * z),)


def sigmoid_array(x):
    """1 / (1 + exp(-x)) without overflow or underflow for any finite x."""
    # NOTE: exp(-|x|) is at most 1, so nothing overflows; for x < 0 the value is e / (1 + e).
    e = exp_nonpositive(-xp.abs(x))
    return xp.where(x >= 0, 1.0, e) / (1.0 + e)


class Sigmoid(Function):
    """z = 1 / (1 + exp(-x));  dz/dx = z (1 - z)

    A primitive for stability: the composed form overflows in exp for x below about -88 (float32).
    """

    def forward(ctx, x):
        z = sigmoid_array(x)
        ctx.save(z)
        return z

    def backward(ctx, grad):
        z = ctx.saved[0]
        return (grad * z * (1.0 - z),)


class Relu(Function):
    """z = max(x, 0);  dz/dx = 1 if x > 0 else 0   (NOTE: relu'(0) := 0, as in PyTorch)

    A primitive for cost: it is on the hot path of most networks.
    """

    inline = ("xp.maximum({x}, 0)", ("{g} * ({z} > 0)",))

    def forward(ctx, x):
        z = xp.maximum(x, 0)
        ctx.save(z)
        return z

    def backward(ctx, grad):
        return (grad * (ctx.saved[0] > 0),)


class Elu(Function):
    """z = x if x > 0 else alpha (exp(x) - 1);  dz/dx = 1 if x > 0 else z + alpha

    A primitive for stability: expm1 keeps precision near 0, and exp(x) is only taken for x <= 0.
    """

    def forward(ctx, x, alpha):
        z = xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))
        ctx.save(x, z)
        ctx.alpha = alpha
        return z

    def backward(ctx, grad):
        x, z = ctx.saved
        return (grad * xp.where(x > 0, 1.0, z + ctx.alpha),)


class Softplus(Function):
    """z = log(1 + exp(x));  dz/dx = sigmoid(x)

    A primitive for stability: computed as max(x, 0) + log1p(exp(-|x|)), which never overflows.
    """

    def forward(ctx, x):
        ctx.save(x)
        return xp.maximum(x, 0) + xp.log1p(exp_nonpositive(-xp.abs(x)))

    def backward(ctx, grad):
        return (grad * sigmoid_array(ctx.saved[0]),)



_erf = xp.frompyfunc(math.erf, 1, 1)


class Erf(Function):
    """z = erf(x) = 2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt;  dz/dx = 2/sqrt(pi) exp(-x^2)

    A primitive because nothing composes it: NumPy has no erf, so the forward maps the standard
    library's (correctly rounded to double) over the array; about 0.1 us per element.
    """

    def forward(ctx, x):
        ctx.save(x)
        return xp.asarray(_erf(x), dtype=x.dtype) if x.size else x.copy()

    def backward(ctx, grad):
        x = ctx.saved[0]
        return (grad * (2.0 / math.sqrt(math.pi)) * exp_nonpositive(-x * x),)


# --- trigonometric and hyperbolic -----------------------------------------------------------------
# Primitives because nothing composes them: sin, cos and the inverse functions have no form in
# exp, log and sqrt over the reals, and the logarithmic forms of sinh, arcsinh and arctanh lose
# the digits of small x (log(1 + x) with x below float32's epsilon is 0, not x). tan and cosh
# are composed in chainrule.ops.


class Sin(Function):
    """z = sin(x);  dz/dx = cos(x)"""

    def forward(ctx, x):
        ctx.save(x)
        return xp.sin(x)

    def backward(ctx, grad):
        return (grad * xp.cos(ctx.saved[0]),)


class Cos(Function):
    """z = cos(x);  dz/dx = -sin(x)"""

    def forward(ctx, x):
        ctx.save(x)
        return xp.cos(x)

    def backward(ctx, grad):
        return (-grad * xp.sin(ctx.saved[0]),)


class Arcsin(Function):
    """z = arcsin(x) on [-1, 1];  dz/dx = 1 / sqrt(1 - x^2)"""

    def forward(ctx, x):
        ctx.save(x)
        return xp.arcsin(x)

    def backward(ctx, grad):
        x = ctx.saved[0]
        return (grad / xp.sqrt((1.0 - x) * (1.0 + x)),)


class Arccos(Function):
    """z = arccos(x) on [-1, 1];  dz/dx = -1 / sqrt(1 - x^2)"""

    def forward(ctx, x):
        ctx.save(x)
        return xp.arccos(x)

    def backward(ctx, grad):
        x = ctx.saved[0]
        return (-grad / xp.sqrt((1.0 - x) * (1.0 + x)),)


class Arctan(Function):
    """z = arctan(x);  dz/dx = 1 / (1 + x^2)"""

    def forward(ctx, x):
        ctx.save(x)
        return xp.arctan(x)

    def backward(ctx, grad):
        x = ctx.saved[0]
        return (grad / (1.0 + x * x),)


class Sinh(Function):
    """z = sinh(x);  dz/dx = cosh(x)"""

    def forward(ctx, x):
        ctx.save(x)
        return xp.sinh(x)

    def backward(ctx, grad):
        return (grad * xp.cosh(ctx.saved[0]),)


class Arcsinh(Function):
    """z = arcsinh(x);  dz/dx = 1 / sqrt(x^2 + 1)"""

    def forward(ctx, x):
        ctx.save(x)
        return xp.arcsinh(x)

    def backward(ctx, grad):
        x = ctx.saved[0]
        return (grad / xp.sqrt(x * x + 1.0),)


class Arccosh(Function):
    """z = arccosh(x) on [1, inf);  dz/dx = 1 / sqrt(x^2 - 1)"""

    def forward(ctx, x):
        ctx.save(x)
        return xp.arccosh(x)

    def backward(ctx, grad):
        x = ctx.saved[0]
        # NOTE: (x - 1)(x + 1) rather than x^2 - 1, which cancels to 0 too early near x = 1.
        return (grad / xp.sqrt((x - 1.0) * (x + 1.0)),)


class Arctanh(Function):
    """z = arctanh(x) on (-1, 1);  dz/dx = 1 / (1 - x^2)"""

    def forward(ctx, x):
        ctx.save(x)
        return xp.arctanh(x)

    def backward(ctx, grad):
        x = ctx.saved[0]
        return (grad / ((1.0 - x) * (1.0 + x)),)


def _share(wins, ties, dtype):
    """1 where the first input wins, 1/2 where it ties, else 0, in ``dtype``."""
    share = xp.asarray(wins).astype(dtype)
    share[xp.broadcast_to(ties, share.shape)] = 0.5
    return share


class Maximum(Function):
    """z = max(x, y);  dz/dx = [x > y] + [x == y] / 2, dz/dy = [y > x] + [x == y] / 2

    NOTE: ties split the gradient evenly, as PyTorch does.
    """

    pick, wins = xp.maximum, xp.greater

    def forward(ctx, x, y):
        ctx.save(x, y)
        return ctx.pick(x, y)

    def backward(ctx, grad):
        x, y = ctx.saved
        dx = grad * _share(ctx.wins(x, y), x == y, grad.dtype)
        return dx, (grad - dx if ctx.needs_input_grad[1] else None)


class Minimum(Maximum):
    """z = min(x, y);  dz/dx = [x < y] + [x == y] / 2, dz/dy = [y < x] + [x == y] / 2"""

    pick, wins = xp.minimum, xp.less


class Where(Function):
    """z = x where condition else y;  dz/dx = [condition], dz/dy = [not condition]"""

    def forward(ctx, condition, x, y):
        ctx.save(condition)
        return xp.where(condition, x, y)

    def backward(ctx, grad):
        condition = ctx.saved[0]
        zero = xp.zeros((), dtype=grad.dtype)
        return (
            None,
            xp.where(condition, grad, zero) if ctx.needs_input_grad[1] else None,
            xp.where(condition, zero, grad) if ctx.needs_input_grad[2] else None,
        )


class Cast(Function):
    """z = x as another dtype;  dz/dx = 1 (cast back to the input's dtype)"""

    def forward(ctx, x, dtype):
        ctx.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(ctx, grad):
        return (grad.astype(ctx.input_dtype),)
