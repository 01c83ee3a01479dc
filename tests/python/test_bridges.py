"""The Python module against the C++ core and the CLI: the same numbers bit
for bit, no copies, autograd, errors, Python-defined similarities in a
pipeline, and the README's examples."""
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import bridges

CLI = os.environ.get("BRIDGES_TEST_CLI", "bridges")
SOURCE = Path(os.environ.get("BRIDGES_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SIMILARITIES = ["cosine", "euclidean", "l1", "linf"]


def cli(*args):
    done = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def latents(n, d, seed, dtype=torch.float32):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ---- the same numbers as the CLI ------------------------------------------------------------------

@pytest.mark.parametrize("name", SIMILARITIES + ["rbf"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_project_equals_the_cli_bit_for_bit(tmp_path, name, dtype):
    x = latents(500, 24, 1).numpy().astype(dtype)
    anchors = x[:40].copy()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "a.npy", anchors)
    cli("project", "-s", name, "-a", tmp_path / "a.npy", "-i", tmp_path / "x.npy", "-o", tmp_path / "r.npy")
    expected = np.load(tmp_path / "r.npy")
    got = bridges.similarity(name).project(x, anchors)
    assert isinstance(got, np.ndarray) and got.dtype == dtype and got.shape == (500, 40)
    assert np.array_equal(got, expected)
    # With a normalisation, through project(): the CLI's --normalize.
    cli("project", "-s", name, "-a", tmp_path / "a.npy", "-i", tmp_path / "x.npy", "-o", tmp_path / "n.npy",
        "--normalize", "standardize")
    [normalized] = bridges.project(torch.from_numpy(x), torch.from_numpy(anchors), name, normalize="standardize")
    assert torch.equal(normalized, torch.from_numpy(np.load(tmp_path / "n.npy")))


def test_compare_equals_the_cli(tmp_path):
    a = latents(300, 16, 2)
    b = a @ torch.linalg.qr(latents(16, 16, 3))[0] + 0.1 * latents(300, 16, 4)
    np.save(tmp_path / "a.npy", a.numpy())
    np.save(tmp_path / "b.npy", b.numpy())
    measures = ["cka_linear", "svcca", "procrustes", "knn_mrr"]
    expected = json.loads(cli("compare", tmp_path / "a.npy", tmp_path / "b.npy", "-m", ",".join(measures), "--json"))
    got = bridges.compare(a, b, measures)
    for m in measures:
        assert got[m] == expected["measures"]["absolute"][m], m
    assert got["cka_linear"] < 1.0  # the noise shows: the test would see a wrong measure
    assert bridges.compare(a, b, "cka_linear") == {"cka_linear": got["cka_linear"]}  # one name, not its letters
    assert bridges.compare(a, b, [bridges.measure("knn_jaccard", knn=3)])["knn_jaccard"] != bridges.compare(a, b, "knn_jaccard")["knn_jaccard"]


def test_translate_equals_the_cli(tmp_path):
    source, target = latents(200, 12, 5), latents(200, 10, 6)
    np.save(tmp_path / "s.npy", source.numpy())
    np.save(tmp_path / "t.npy", target.numpy())
    cli("translate", "-t", "affine", "--source-anchors", tmp_path / "s.npy", "--target-anchors", tmp_path / "t.npy",
        "-i", tmp_path / "s.npy", "-o", tmp_path / "y.npy")
    got = bridges.translator("affine").fit(source, target).translate(source)
    assert got.shape == (200, 10)
    assert torch.equal(got, torch.from_numpy(np.load(tmp_path / "y.npy")))


def test_components_show_the_call_that_makes_them():
    for made in (bridges.similarity("rbf", sigma=2.0), bridges.measure("knn_jaccard", knn=3),
                 bridges.translator("linear", **{"lambda": 0.5})):
        again = eval(repr(made), {"bridges": bridges})
        assert again.to_json() == made.to_json() and type(again) is type(made)


def test_select_anchors_equals_the_core_strategies():
    labels = torch.arange(1000) % 7
    random = bridges.select_anchors("random", 50, seed=3, labels=labels)
    assert random.dtype == torch.int64 and len(set(random.tolist())) == 50
    assert torch.equal(random, bridges.select_anchors("random", 50, seed=3, labels=labels))
    assert not torch.equal(random, bridges.select_anchors("random", 50, seed=4, labels=labels))
    stratified = bridges.select_anchors("stratified", 70, seed=0, labels=labels)
    assert torch.equal(torch.bincount(labels[stratified]), torch.full((7,), 10))
    x = latents(400, 8, 7)
    far = bridges.select_anchors("farthest_point", 10, seed=0, latents=x)
    assert far.shape == (10,)
    # NumPy in, NumPy out.
    assert isinstance(bridges.select_anchors("kmeans", 5, latents=x.numpy()), np.ndarray)


# ---- no copies ------------------------------------------------------------------------------------

def test_numpy_results_share_the_memory_bridges_wrote():
    x = latents(100, 8, 8).numpy()
    r = bridges.similarity("l1").project(x, x[:10])
    assert r.base is not None  # a view of the tensor's memory, not a copy of it
    t = torch.from_numpy(r)
    r[0, 0] = 12345.0
    assert t[0, 0].item() == 12345.0


def test_inputs_are_not_copied():
    # 384 MB of float32 in: a copy would show in the peak resident size; the
    # result is 400000 x 4 x 4 bytes = 6.4 MB.
    x = torch.randn(400_000, 240)
    anchors = x[:4].clone()
    for view in (x, x.numpy()):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
        r = bridges.similarity("l1").project(view, anchors)
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        assert r.shape == (400_000, 4)
        assert grown_mb < 100, f"peak grew by {grown_mb:.0f} MB: the input was copied"


def test_the_result_is_the_memory_bridges_allocated():
    # bridges allocates results of 4 MiB and more on 2 MiB boundaries (for
    # huge pages); a copy made on the way to Python would not be.
    x = latents(400_000, 24, 30)
    for name in ("l1", "cosine"):
        r = bridges.similarity(name).project(x, x[:4].clone())
        assert r.numel() * 4 >= 4 << 20
        assert r.data_ptr() % (2 << 20) == 0, name
    assert torch.cdist(x, x[:4], p=1).data_ptr() % (2 << 20) != 0  # the test can tell


def test_a_viewed_array_is_released_after_the_call():
    x = latents(100, 8, 31).numpy()
    before = sys.getrefcount(x)
    r = bridges.similarity("cosine").project(x, x[:10])
    del r
    assert sys.getrefcount(x) == before  # the buffer view (and its reference) went with the call


def test_the_input_tensor_is_the_one_projected():
    x = latents(50, 6, 9, torch.float64)
    anchors = x[10:15].clone()
    r = bridges.similarity("l1").project(x, anchors)
    x[0] += 1.0  # bridges sees x itself, not a copy made earlier: row 0 changes, the others do not
    again = bridges.similarity("l1").project(x, anchors)
    assert not torch.equal(r[0], again[0]) and torch.equal(r[1:], again[1:])


# ---- dtypes and layouts ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", SIMILARITIES)
def test_non_contiguous_inputs_give_the_contiguous_result(name):
    base = latents(64, 300, 10, torch.float64)
    x = base.t()[:, ::2]          # [300, 32], strided in both dimensions
    anchors = latents(32, 20, 11, torch.float64).t()  # [20, 32], transposed
    assert not x.is_contiguous() and not anchors.is_contiguous()
    expected = bridges.similarity(name).project(x.contiguous(), anchors.contiguous())
    # l1 and linf: the same loops whatever the layout; cosine and euclidean go
    # through a GEMM, whose blocking may differ by rounding.
    same = torch.equal if name in ("l1", "linf") else lambda a, b: torch.allclose(a, b, rtol=1e-13, atol=1e-13)
    assert same(bridges.similarity(name).project(x, anchors), expected)
    # A Fortran-ordered NumPy array through the buffer protocol.
    fortran = np.asfortranarray(x.numpy())
    assert same(torch.from_numpy(bridges.similarity(name).project(fortran, anchors.numpy())), expected)


def test_float64_is_kept_and_matches_the_reference_formulas():
    x, a = latents(80, 10, 12, torch.float64), latents(15, 10, 13, torch.float64)
    reference = {
        "cosine": torch.nn.functional.normalize(x, dim=1) @ torch.nn.functional.normalize(a, dim=1).t(),
        "euclidean": torch.cdist(x, a),
        "l1": torch.cdist(x, a, p=1),
        "linf": (x[:, None, :] - a[None, :, :]).abs().amax(-1),
    }
    for name, expected in reference.items():
        got = bridges.similarity(name).project(x, a)
        assert got.dtype == torch.float64
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


# ---- autograd -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SIMILARITIES)
def test_gradients_pass_gradcheck_in_float64(name):
    x = latents(12, 5, 14, torch.float64).requires_grad_()
    a = latents(7, 5, 15, torch.float64).requires_grad_()
    similarity = bridges.similarity(name)
    assert torch.autograd.gradcheck(lambda x, a: similarity.project(x, a), (x, a), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("name, formula", [
    ("l1", lambda x, a: torch.cdist(x, a, p=1)),
    ("linf", lambda x, a: (x[:, None, :] - a[None, :, :]).abs().amax(-1)),
    ("euclidean", lambda x, a: torch.cdist(x, a)),
])
def test_gradients_equal_autograd_on_the_reference_formula(name, formula):
    x0, a0 = latents(40, 9, 16, torch.float64), latents(11, 9, 17, torch.float64)
    weights = latents(40, 11, 18, torch.float64)
    grads = []
    for f in (bridges.similarity(name).project, formula):
        x, a = x0.clone().requires_grad_(), a0.clone().requires_grad_()
        (f(x, a) * weights).sum().backward()
        grads.append((x.grad, a.grad))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-9, atol=1e-9)


def test_a_model_trains_through_a_relative_layer():
    torch.manual_seed(0)
    anchors = latents(16, 8, 19)
    layer = bridges.RelativeLayer(anchors, ["cosine", "l1"], aggregator="mlp_sum")
    encoder = torch.nn.Linear(8, 8)
    head = torch.nn.Linear(layer.output_dim, 2)
    x = latents(256, 8, 20)
    y = (x[:, 0] > 0).long()
    parameters = [*encoder.parameters(), *layer.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=0.01)
    aggregator_weight = next(layer.aggregator.parameters())
    start = aggregator_weight.detach().clone()
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(layer(encoder(x))), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert encoder.weight.grad is not None and aggregator_weight.grad is not None
    assert not torch.equal(aggregator_weight.detach(), start)  # the C++ module's own tensor was trained
    # A snapshot of the layer (as for keeping the best model) is independent of it.
    import copy
    snapshot = copy.deepcopy(layer)
    z = latents(8, 8, 26)
    assert torch.equal(snapshot(z), layer(z))
    with torch.no_grad():
        aggregator_weight.add_(1.0)
    assert not torch.equal(snapshot(z), layer(z))


def test_aggregators_are_modules_with_the_cpp_parameters():
    r = [latents(30, 12, s) for s in (21, 22, 23)]
    for kind, options in [("concat", {}), ("sum", {}), ("mlp_sum", {}), ("self_attention", {"heads": 2, "dim": 16}),
                          ("mlp_self_attention", {"heads": 2, "dim": 16})]:
        agg = bridges.Aggregator(kind, subspaces=3, anchors=12, seed=1, **options)
        out = agg(r)
        assert out.shape == (30, agg.output_dim), kind
        # The same seed draws the same weights; state_dict round-trips.
        twin = bridges.Aggregator(kind, subspaces=3, anchors=12, seed=1, **options)
        assert torch.equal(twin(r), out), kind
        twin.load_state_dict({k: v + 1 for k, v in agg.state_dict().items()})
        if list(agg.parameters()):
            assert not torch.equal(twin(r), out), kind
    # deepcopy and pickle: an independent module with the same weights.
    import copy
    import pickle
    trained = bridges.Aggregator("mlp_sum", subspaces=3, anchors=12, seed=2)
    with torch.no_grad():
        next(trained.parameters()).add_(1.0)
    for clone in (copy.deepcopy(trained), pickle.loads(pickle.dumps(trained))):
        assert torch.equal(clone(r), trained(r))
        with torch.no_grad():
            next(clone.parameters()).add_(1.0)
        assert not torch.equal(clone(r), trained(r))  # its own tensors
    attention = bridges.Aggregator("self_attention", subspaces=3, anchors=12, heads=2, dim=16)
    attention(r)
    assert attention.attention().shape == (30, 2, 3, 3)
    assert bridges.Aggregator("sum", subspaces=3, anchors=12).attention() is None


# ---- errors ---------------------------------------------------------------------------------------

def test_errors_are_one_hierarchy_with_the_cli_messages(tmp_path):
    with pytest.raises(bridges.UnknownNameError, match="Did you mean 'cosine'"):
        bridges.similarity("cosin")
    assert issubclass(bridges.UnknownNameError, bridges.ConfigError)
    assert issubclass(bridges.ConfigError, bridges.Error) and issubclass(bridges.Error, RuntimeError)
    assert bridges.ConfigError.__module__ == "bridges"  # shown as bridges.ConfigError in tracebacks
    with pytest.raises(bridges.ConfigError, match="sigma"):
        bridges.similarity("rbf", sigma=0.0)
    with pytest.raises(bridges.ConfigError, match="unknown option"):
        bridges.similarity("linf", q=3)
    with pytest.raises(bridges.ShapeError, match="the same dimension d"):
        bridges.similarity("l1").project(torch.randn(3, 4), torch.randn(2, 5))
    bad = torch.randn(10, 4)
    bad[3, 2] = float("nan")
    with pytest.raises(bridges.NonFiniteError, match="row 3"):
        bridges.similarity("cosine").project(bad, torch.randn(2, 4))
    with pytest.raises(TypeError, match="expected a torch.Tensor or a NumPy array, found str"):
        bridges.similarity("cosine").project("x", torch.randn(2, 4))
    with pytest.raises(TypeError, match="is not supported"):
        bridges.similarity("cosine").project(np.zeros((3, 4), dtype=np.int16), np.zeros((2, 4), dtype=np.int16))
    with pytest.raises(bridges.UndefinedMeasureError):
        bridges.measure("cka_linear").compare(torch.ones(10, 3), torch.randn(10, 3))
    classifier = bridges.RelativeClassifier("sum", subspaces=1, anchors=5, classes=2, epochs=1)
    with pytest.raises(bridges.ShapeError, match="class indices"):
        classifier.fit([torch.randn(10, 5)], torch.rand(10))  # float labels: no silent truncation to class 0
    with pytest.raises(bridges.ShapeError, match=r"in \[0, 2\)"):
        classifier.fit([torch.randn(10, 5)], torch.full((10,), 7))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert bridges.compare(torch.ones(10, 3), torch.randn(10, 3), ["cka_linear"]) == {"cka_linear": None}
    assert caught and "cka_linear" in str(caught[0].message)
    (tmp_path / "bad.json").write_text('{"name": "x", "encoders": [{"type": "mpl"}], "projections": ["cosine"]}')
    with pytest.raises(bridges.ConfigError, match=r"bad.json: \$.encoders\[0\].type: encoder 'mpl' does not exist") as e:
        bridges.run(tmp_path / "bad.json", out=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    # Word for word the CLI's message.
    done = subprocess.run([CLI, "run", tmp_path / "bad.json", "--out", tmp_path / "run"], capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.strip() == f"error: {e.value}"


# ---- Python similarities in pipelines ---------------------------------------------------------------

def test_a_python_similarity_runs_in_a_pipeline(tmp_path):
    calls = []

    @bridges.register_similarity("negative_l2", invariances=["orthogonal", "translation", "permutation"],
                                 options={"scale": {"type": "number", "default": 1.0}})
    def negative_l2(x, anchors, scale):
        calls.append(x.shape[0])
        return -scale * torch.cdist(x, anchors)

    x, a = latents(20, 4, 24), latents(5, 4, 25)
    torch.testing.assert_close(bridges.similarity("negative_l2", scale=2.0).project(x, a), -2 * torch.cdist(x, a))
    info = [p for p in bridges.plugins("similarity") if p["name"] == "negative_l2"][0]
    assert info["invariances"] == ["orthogonal", "translation", "permutation"]
    with pytest.raises(bridges.ConfigError, match="distances"):
        bridges.register_similarity("cosine", negative_l2)  # a plugin's name
    for bad in ("", "my/sim", "my sim"):
        with pytest.raises(bridges.ConfigError, match="a component name must be non-empty"):
            bridges.register_similarity(bad, negative_l2)
    with pytest.raises(bridges.ConfigError, match="found a NaN or an infinity"):
        bridges.similarity("negative_l2", scale=float("nan"))  # NaN became null before

    pipeline = {
        "name": "python-similarity",
        "dataset": {"type": "fashion_mnist", "train_limit": 600, "test_limit": 200},
        "encoders": [{"type": "mlp", "epochs": 1, "seeds": [0, 1]}],
        "anchors": {"count": 32},
        "projections": ["negative_l2", "cosine"],
        "aggregators": ["sum"],
        "decoder": {"seeds": [0], "epochs": 2},
        "experiments": [{"type": "stitching", "projection_sets": ["each"]}],
    }
    plan = bridges.plan(pipeline, out=tmp_path / "run")
    assert "Stitching runs: 2 (4 decoders in all" in plan and not (tmp_path / "run").exists()
    results = bridges.run(pipeline, out=tmp_path / "run", verbose=False)
    assert calls, "the pipeline never called the Python similarity"
    runs = {tuple(r["projections"]): r for r in results["stitching"]["runs"]}
    assert set(runs) == {("negative_l2",), ("cosine",)}
    accuracy = runs[("negative_l2",)]["summary"]["stitched"]["accuracy"]["mean"]
    assert 0.2 < accuracy <= 1.0  # 10 classes, 600 samples, one epoch: twice chance at least
    assert json.loads((tmp_path / "run" / "results.json").read_text())["stitching"]["runs"] == results["stitching"]["runs"]
    assert "warnings" not in results  # each alone: nothing merged

    # Merging a similarity with a distance by sum, "orientation" left out: a warning, in the plan and as a Python one.
    mixed = dict(pipeline, projections=["cosine", "euclidean"], experiments=[{"type": "stitching", "projection_sets": ["all"]}])
    assert "warning: $.orientation: aggregator sum treats every subspace alike" in bridges.plan(mixed, out=tmp_path / "mixed")
    with pytest.warns(UserWarning, match="aggregator sum treats every subspace alike"):
        assert len(bridges.run(mixed, out=tmp_path / "mixed", verbose=False)["warnings"]) == 1

    # A Python error inside the run reaches the caller as itself.
    @bridges.register_similarity("broken")
    def broken(x, anchors):
        raise ValueError("broken on purpose")

    with pytest.raises(ValueError, match="broken on purpose"):
        bridges.similarity("broken").project(x, a)
    with pytest.raises(bridges.ShapeError, match="returned a tensor of shape 5, 5"):
        bridges.register_similarity("wrong_shape", lambda x, a: torch.zeros(5, 5))
        bridges.similarity("wrong_shape").project(x, a)


def test_encode_trains_once_shares_the_cli_cache_and_gives_the_cli_latents(tmp_path):
    dataset = {"type": "fashion_mnist", "train_limit": 500, "test_limit": 200}
    encoder = {"type": "mlp", "epochs": 1, "seed": 3}
    first = bridges.encode(dataset, encoder, cache=tmp_path / "cache")
    assert first["latents"].shape[0] == 200 and first["labels"].shape == (200,)
    indices = first["indices"]  # the samples' rows in the whole test split (test_limit draws 200 of 10000)
    assert indices.shape == (200,) and len(set(indices.tolist())) == 200 and 0 <= indices.min() < indices.max() < 10000
    assert 0.0 <= first["quality"]["accuracy"] <= 1.0
    assert first["encoder"]["seed"] == 3 and first["encoder"]["epochs"] == 1  # every option filled in
    assert len(list((tmp_path / "cache").iterdir())) == 1
    # The CLI loads the encoder Python trained (one cache) and writes the same latents.
    out = cli("encode", "-d", json.dumps(dataset), "-e", json.dumps(encoder), "--cache", tmp_path / "cache",
              "-o", tmp_path / "z.npy")
    assert "loaded from the cache" in out
    assert torch.equal(torch.from_numpy(np.load(tmp_path / "z.npy")), first["latents"])
    again = bridges.encode(dataset, encoder, cache=tmp_path / "cache")
    assert torch.equal(again["latents"], first["latents"])
    assert len(list((tmp_path / "cache").iterdir())) == 1
    with pytest.raises(bridges.ConfigError, match="Did you mean 'mlp'"):
        bridges.encode(dataset, "mpl")


def test_stitch_and_the_relative_classifier():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (400,), generator=g)
    lat = torch.randn(3, 8, generator=g)[labels] * 3 + torch.randn(400, 8, generator=g)
    rotated = lat @ torch.linalg.qr(torch.randn(8, 8, generator=g))[0]
    spaces = {}
    for name, z in [("a", lat), ("b", rotated)]:
        rs = bridges.project(z, z[:24], ["cosine", "euclidean"], normalize="standardize")
        spaces[name] = ([s[:300] for s in rs], [s[300:] for s in rs])
    result = bridges.stitch(spaces, labels[:300], labels[300:], 3, aggregator="sum", decoder={"epochs": 5},
                            seeds=[0, 1], groups=["x", "y"])
    assert result["encoders"] == ["a", "b"]
    assert len(result["accuracy"]) == 2 and len(result["accuracy"][0]) == 2
    # Rotation: cosine and Euclidean spaces coincide, so stitching keeps the accuracy.
    assert result["stitching_index"]["mean"] == pytest.approx(1.0, abs=0.02)
    assert [g["name"] for g in result["pair_groups"]] == ["x ↔ y"]
    # The classifier alone, as stitch() trains it: the same seed, the same decoder.
    clf = bridges.RelativeClassifier("sum", subspaces=2, anchors=24, classes=3, seed=0, epochs=5)
    report = clf.fit(spaces["a"][0], labels[:300])
    assert report["epochs"] == 5
    predicted = clf.predict(spaces["b"][1])
    accuracy = (predicted == labels[300:]).double().mean().item()
    assert accuracy == pytest.approx(result["accuracy"][0][0][1], abs=1e-12)


# ---- the README --------------------------------------------------------------------------------------

def test_the_readme_python_examples_run(tmp_path, monkeypatch):
    readme = (SOURCE / "README.md").read_text()
    section = readme[readme.index("## Python"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "the README's Python section has no example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})


def test_ctrl_c_stops_a_run_with_keyboard_interrupt_and_leaves_no_results(tmp_path):
    # A pipeline of a few minutes, interrupted once it is under way.
    script = f"""
import bridges
bridges.run({{"name": "long", "dataset": {{"type": "fashion_mnist", "train_limit": 20000, "test_limit": 2000}},
             "encoders": [{{"type": "cnn", "epochs": 5, "seeds": [0, 1]}}], "projections": ["cosine"],
             "experiments": [{{"type": "stitching"}}]}}, out={str(tmp_path / "run")!r})
"""
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    time.sleep(5)  # Python and the data loaded, the first encoder training (its first epoch takes ~30 s)
    assert process.poll() is None, process.communicate()[1]
    process.send_signal(signal.SIGINT)
    try:
        stderr = process.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the run did not stop within 60 s of Ctrl-C")
    assert process.returncode != 0
    assert "KeyboardInterrupt: interrupted" in stderr, stderr[-2000:]
    assert not (tmp_path / "run" / "results.json").exists()


def test_overlapping_long_calls_give_sigint_back_to_python():
    # Two threads in long calls, the first leaving before the second: when
    # both are done, Ctrl-C must be Python's KeyboardInterrupt again, not a
    # bridges flag nobody checks.
    script = """
import os, signal, threading, time, torch, bridges
def fit(epochs):
    x, y = [torch.randn(4000, 64)], torch.randint(0, 3, (4000,))
    bridges.RelativeClassifier("sum", subspaces=1, anchors=64, classes=3, epochs=epochs).fit(x, y)
first = threading.Thread(target=fit, args=(2,))
first.start()
time.sleep(0.3)
fit(8)  # starts after the first and ends after it
first.join()
try:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(2)
    print("no KeyboardInterrupt")
except KeyboardInterrupt:
    print("KeyboardInterrupt")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "KeyboardInterrupt", done.stdout + done.stderr[-2000:]


def test_the_type_stub_declares_the_public_api():
    import ast
    stub = ast.parse((Path(bridges.__file__).parent / "__init__.pyi").read_text())
    declared = {node.name for node in stub.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    declared |= {t.id for node in stub.body if isinstance(node, ast.AnnAssign) for t in [node.target]}
    missing = set(bridges.__all__) - declared
    assert not missing, f"in __all__ but not in __init__.pyi: {sorted(missing)}"
    for name in bridges.__all__:
        assert hasattr(bridges, name), name
