#!/usr/bin/env python3
"""bridges from Python against the formulas a PyTorch user writes.

    PYTHONPATH=build/release/python /usr/bin/python3 bench/bench_python.py [--quick]

Relative projection at n = 10000, k = 1280, d = 768 (float32): bridges'
similarities against torch.cdist and the formulas latentis and relreps use
(normalised matmul for cosine, cdist p=1 / p=inf for L1 / L-inf); linear CKA
at n = 100000, d = 768 against the feature-space formula in torch (the Gram
form, which several libraries use, would need 80 GB here); the overhead of
one Python call on a tiny input. Each time is the best of several runs after
a warm-up; the ratios are what to read (the machine is shared).
"""
import argparse
import time

import torch

import bridges


def best_of(function, repeats):
    function()  # warm-up: first-call allocations, the plugin's loading
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def linear_cka_torch(x, y):
    # The feature-space form: ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F), in float64.
    x = (x - x.mean(0)).double()
    y = (y - y.mean(0)).double()
    return (torch.linalg.matrix_norm(y.t() @ x) ** 2 / (torch.linalg.matrix_norm(x.t() @ x) *
                                                       torch.linalg.matrix_norm(y.t() @ y))).item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="n = 2000 and CKA at n = 20000")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n, k, d = (2000 if args.quick else 10000), 1280, 768
    repeats = 5
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g)
    anchors = torch.randn(k, d, generator=g)

    print(f"bridges {bridges.__version__} from Python, {torch.get_num_threads()} threads, kernels "
          f"{bridges.build_info()['kernel_isa']}; torch {torch.__version__}")
    print(f"\nrelative projection, n = {n}, k = {k}, d = {d}, float32 (best of {repeats})")
    print(f"  {'similarity':10} {'bridges (s)':>12} {'torch formula (s)':>18} {'speed-up':>9}  max |difference|")
    formulas = {
        "cosine": lambda: torch.nn.functional.normalize(x, dim=1) @ torch.nn.functional.normalize(anchors, dim=1).t(),
        "euclidean": lambda: torch.cdist(x, anchors),
        "l1": lambda: torch.cdist(x, anchors, p=1),
        "linf": lambda: torch.cdist(x, anchors, p=float("inf")),
    }
    for name, formula in formulas.items():
        similarity = bridges.similarity(name)
        ours = best_of(lambda: similarity.project(x, anchors), repeats)
        theirs = best_of(formula, 2 if name in ("l1", "linf") else repeats)
        difference = (similarity.project(x, anchors) - formula()).abs().max().item()
        print(f"  {name:10} {ours:12.3f} {theirs:18.3f} {theirs / ours:8.1f}x  {difference:.2e}")

    m = 20000 if args.quick else 100000
    a = torch.randn(m, d, generator=g)
    b = a @ torch.linalg.qr(torch.randn(d, d, generator=g))[0] + 0.5 * torch.randn(m, d, generator=g)
    cka = bridges.measure("cka_linear")
    ours = best_of(lambda: cka.compare(a, b), 3)
    theirs = best_of(lambda: linear_cka_torch(a, b), 3)
    print(f"\nlinear CKA, n = {m}, d = {d}, float32 in (best of 3)")
    print(f"  bridges {ours:.3f} s, torch feature-space formula {theirs:.3f} s ({theirs / ours:.1f}x); "
          f"values {cka.compare(a, b):.6f} and {linear_cka_torch(a, b):.6f}")

    tiny_x, tiny_a = torch.randn(4, 8), torch.randn(2, 8)
    l1 = bridges.similarity("l1")
    calls = 20000
    per_call = best_of(lambda: [l1.project(tiny_x, tiny_a) for _ in range(calls)], 3) / calls
    torch_call = best_of(lambda: [torch.cdist(tiny_x, tiny_a, p=1) for _ in range(calls)], 3) / calls
    numpy_x, numpy_a = tiny_x.numpy(), tiny_a.numpy()
    numpy_call = best_of(lambda: [l1.project(numpy_x, numpy_a) for _ in range(calls)], 3) / calls
    print(f"\none call on x [4, 8], anchors [2, 8] (best of 3 x {calls} calls)")
    print(f"  bridges l1 {per_call * 1e6:.1f} us (torch tensors), {numpy_call * 1e6:.1f} us (NumPy arrays); "
          f"torch.cdist(p=1) {torch_call * 1e6:.1f} us")


if __name__ == "__main__":
    main()
