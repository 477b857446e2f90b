"""Tutorial 6: the chain rule and gradient descent, each on its own.

1. f(x) = (x^2 + 1)^3 at x = 2, differentiated by hand with the chain rule (u = x^2 + 1,
   f = u^3, f' = 3u^2 * 2x) and by autodiff: both give f(2) = 125 and f'(2) = 300.
2. Gradient descent on g(x) = x^2 + 5 from x = 10 with learning rate 0.1: each step is
   x <- x - 0.1 * 2x = 0.8 x, so after 100 steps x = 10 * 0.8^100, about 2e-9: the minimum at 0.
"""

import chainrule as cr


def run(steps=100, learning_rate=0.1, start=10.0, print=print):
    """Prints both parts.

    Returns:
        A dict: ``f``, ``f_prime_by_hand``, ``f_prime_autodiff`` and ``x`` (after descent).
    """
    x0 = 2.0
    u = x0**2 + 1
    f, du_dx, df_du = u**3, 2 * x0, 3 * u**2
    print("f(x) = (x^2 + 1)^3 at x = 2, by hand:")
    print(f"  u = x^2 + 1 = {u:g};  f = u^3 = {f:g}")
    print(f"  df/du = 3u^2 = {df_du:g};  du/dx = 2x = {du_dx:g};  f'(x) = df/du * du/dx = {df_du * du_dx:g}")

    x = cr.tensor(x0, dtype="float64", requires_grad=True)
    y = (x**2 + 1) ** 3
    y.backward()
    f_autodiff, f_prime_autodiff = y.item(), x.grad.item()
    print(f"by autodiff: f(2) = {f_autodiff:g}, f'(2) = {f_prime_autodiff:g}")

    print(f"\ngradient descent on g(x) = x^2 + 5 from x = {start:g}, learning rate {learning_rate:g}:")
    x = cr.tensor(start, dtype="float64", requires_grad=True)
    for step in range(1, steps + 1):
        g = x**2 + 5
        g.backward()  # x.grad = 2x
        with cr.no_grad():
            x.data = x.data - learning_rate * x.grad
        x.grad = None
        if step % 10 == 0 or step == 1:
            print(f"  step {step:3d}: x = {x.item():.6e}, g(x) = {x.item() ** 2 + 5:.12f}")
    print(f"after {steps} steps x = {x.item():.3e}; by the closed form 10 * 0.8^{steps} = "
          f"{start * (1 - 2 * learning_rate) ** steps:.3e}")
    return {"f": f_autodiff, "f_prime_by_hand": df_du * du_dx, "f_prime_autodiff": f_prime_autodiff,
            "x": x.item()}


main = run
