"""bridges: latent-space communication between neural networks, from Python.

The same C++ core as the ``bridges`` program and its plugins, with tensors
passed without copies: a ``torch.Tensor`` argument is used as it is (so
autograd runs through bridges' kernels), a NumPy array (any object with the
buffer protocol) is viewed in place, and a result is a ``torch.Tensor``
owning the memory bridges wrote (a NumPy array when the input was one,
sharing that memory).

    import bridges, torch
    x, anchors = torch.randn(1000, 64), torch.randn(128, 64)
    r = bridges.similarity("l1").project(x, anchors)      # [1000, 128]
    bridges.compare(x, x @ torch.linalg.qr(torch.randn(64, 64))[0],
                    measures=["cka_linear"])               # {'cka_linear': 1.0}

Errors are ``bridges.Error`` and its subclasses (``ConfigError``,
``ShapeError``, ...), with the messages the CLI prints.
"""
from __future__ import annotations

import keyword
import os
import warnings
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import sys

try:
    import torch  # first: it loads the LibTorch that bridges' libraries link
except ImportError as e:  # pragma: no cover - depends on the interpreter
    raise ImportError(
        f"bridges needs PyTorch built on the LibTorch bridges links: Debian's python3-torch, for Debian's own "
        f"/usr/bin/python3 (this is {sys.executable}). Run it with /usr/bin/python3, or a venv made with "
        f"`/usr/bin/python3 -m venv --system-site-packages` (README, \"Python\").") from e

from . import _core
from ._core import (  # noqa: F401  (the exception hierarchy)
    AbiMismatchError,
    ConfigError,
    CreateError,
    Error,
    FormatError,
    IoError,
    LoadError,
    ManifestError,
    NonFiniteError,
    NotImplementedError,
    ShapeError,
    UndefinedMeasureError,
    UnknownNameError,
)
from ._modules import Aggregator, RelativeClassifier, RelativeLayer  # noqa: F401

for _error in (Error, NotImplementedError, IoError, FormatError, ShapeError, UndefinedMeasureError, NonFiniteError,
               ConfigError, UnknownNameError, ManifestError, LoadError, AbiMismatchError, CreateError):
    _error.__module__ = __name__  # tracebacks say bridges.ConfigError, not bridges._core.ConfigError

__version__: str = _core.version()

# LibTorch may start on one thread (Debian's python3-torch does on this kind
# of machine): like every bridges program, use every core unless the user
# chose (OMP_NUM_THREADS, or torch.set_num_threads / bridges.set_threads later).
if "OMP_NUM_THREADS" not in os.environ:
    _core.set_threads(0)
# As the programs do: glibc keeps freed memory for the next tensor instead of
# unmapping it (a page fault per 4 KiB page otherwise; bridges/util/runtime.hpp).
_core.keep_freed_memory()


def set_threads(threads: int = 0) -> int:
    """LibTorch's intra-op threads for bridges and torch alike (one LibTorch);
    0: every core. Returns the number now in use."""
    return _core.set_threads(threads)

__all__ = [
    "__version__", "build_info", "set_threads", "plugins", "similarity", "Similarity", "project", "select_anchors",
    "measure", "Measure", "compare", "translator", "Translator", "Aggregator", "RelativeLayer", "RelativeClassifier", "stitch", "encode", "run", "plan",
    "register_similarity", "Error", "ConfigError", "UnknownNameError", "ShapeError", "UndefinedMeasureError",
    "NonFiniteError", "IoError", "FormatError", "ManifestError", "LoadError", "AbiMismatchError", "CreateError",
    "NotImplementedError",
]

Array = Any  # a torch.Tensor, or a NumPy array / any buffer of float32 or float64


def _like(result: torch.Tensor, *inputs: Any) -> Any:
    """The result as the caller's type: NumPy when every input was not a tensor."""
    if any(isinstance(x, torch.Tensor) for x in inputs if x is not None):
        return result
    return result.detach().numpy()


def build_info() -> Dict[str, Any]:
    """bridges' version, git commit, build id, the kernels' instruction set, the BLAS and its kernels,
    and LibTorch's threads: what results.json records as provenance."""
    return _core.build_info()


def plugins(kind: Optional[str] = None) -> List[Dict[str, Any]]:
    """Every component the registry (and Python) provides, each a dict with
    kind, name, description, provider, options (the manifest's schema) and,
    for similarities and measures, invariances and direction.
    ``kind``: "similarity", "aggregator", "encoder", "dataset", "translator" or "measure"."""
    found = _core.components()
    return [c for c in found if kind is None or c["kind"] == kind]


class _Component:
    """A component made by the registry: its name, its spec, its repr."""

    _factory = "component"

    def __init__(self, impl: Any) -> None:
        self._impl = impl

    @property
    def type(self) -> str:
        return self._impl.type

    def to_json(self) -> Dict[str, Any]:
        """{"type": name, ...every option}: the spec a pipeline takes."""
        return self._impl.to_json()

    def __repr__(self) -> str:  # the call that makes it: bridges.similarity('rbf', sigma=None)
        spec = self.to_json()
        named = {k: v for k, v in spec.items() if k != "type" and k.isidentifier() and not keyword.iskeyword(k)}
        rest = {k: v for k, v in spec.items() if k != "type" and k not in named}  # "lambda": not a keyword argument
        options = "".join(f", {key}={value!r}" for key, value in named.items()) + (f", **{rest!r}" if rest else "")
        return f"bridges.{self._factory}({spec['type']!r}{options})"


class Similarity(_Component):
    """A similarity function of the registry (or one registered from Python).

    ``project(x [n, d], anchors [k, d]) -> [n, k]``: row i holds f(x_i, a_j)
    for every anchor j, in x's dtype (float32 or float64, both inputs alike).
    Differentiable where the similarity is (cosine, euclidean, l1, linf and
    the other built-ins): gradients flow to x and the anchors."""

    _factory = "similarity"

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(_core.make_similarity(name, options))

    def project(self, x: Array, anchors: Array) -> Array:
        return _like(self._impl.project(x, anchors), x, anchors)

    def __call__(self, x: Array, anchors: Array) -> Array:
        return self.project(x, anchors)


def similarity(name: str, **options: Any) -> Similarity:
    """The similarity ``name`` with its options, e.g. ``similarity("rbf", sigma=2.0)``.
    Unknown names and options raise ConfigError / UnknownNameError with a "did you mean"."""
    return Similarity(name, **options)


def _similarities(similarities: Union[str, Similarity, Sequence[Union[str, Similarity]]]) -> List[Any]:
    if isinstance(similarities, (str, Similarity)):
        similarities = [similarities]
    return [(s if isinstance(s, Similarity) else Similarity(s))._impl for s in similarities]


def project(x: Array, anchors: Array, similarities: Union[str, Similarity, Sequence[Union[str, Similarity]]] = "cosine",
            normalize: str = "none") -> List[Array]:
    """x [n, d] relative to anchors [k, d] under each similarity: a list of [n, k],
    each normalised row by row ("none", "l2", "standardize") as a pipeline's projector does."""
    spaces = _core.relative(x, anchors, _similarities(similarities), normalize)
    return [_like(s, x, anchors) for s in spaces]


def select_anchors(strategy: str, count: int, seed: int = 0, latents: Optional[Array] = None,
                   labels: Optional[Array] = None) -> Array:
    """``count`` sample indices (int64 [count]): "random" (needs latents or labels for n),
    "stratified" (labels [n]), "farthest_point" or "kmeans" (latents [n, d])."""
    result = _core.select_anchors(strategy, count, seed, latents, labels)
    return _like(result, latents, labels)


class Measure(_Component):
    """A latent-similarity measure of the registry: ``compare(a [n, da], b [n, db]) -> float``."""

    _factory = "measure"

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(_core.make_measure(name, options))

    def compare(self, a: Array, b: Array) -> float:
        """Raises UndefinedMeasureError (with the reason) where the measure is not defined."""
        return self._impl.compare(a, b)

    __call__ = compare


def measure(name: str, **options: Any) -> Measure:
    """The measure ``name`` (cka_linear, cka_debiased, svcca, pwcca, procrustes, knn_mrr, ...)."""
    return Measure(name, **options)


def compare(a: Array, b: Array, measures: Iterable[Union[str, Measure]] = ("cka_linear",)) -> Dict[str, Optional[float]]:
    """Each measure on a [n, da] and b [n, db] (the same samples, row by row): {name: value}.
    A measure that is not defined here (too few samples, a constant space, widths
    that differ for a measure that pairs columns) gives None, with a warning saying why."""
    out: Dict[str, Optional[float]] = {}
    if isinstance(measures, (str, Measure)):
        measures = [measures]
    for m in measures:
        chosen = m if isinstance(m, Measure) else Measure(m)
        name = chosen.type if isinstance(m, Measure) else m
        try:
            out[name] = chosen.compare(a, b)
        except UndefinedMeasureError as e:
            warnings.warn(f"{name}: {e}", RuntimeWarning, stacklevel=2)
            out[name] = None
    return out


class Translator(_Component):
    """Latent-space translation fitted on paired anchors: ``fit(source [k, d1], target [k, d2])``,
    then ``translate(x [n, d1]) -> [n, d2]``."""

    _factory = "translator"

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(_core.make_translator(name, options))

    def fit(self, source: Array, target: Array) -> "Translator":
        self._impl.fit(source, target)
        return self

    def translate(self, x: Array) -> Array:
        return _like(self._impl.translate(x), x)

    __call__ = translate


def translator(name: str, **options: Any) -> Translator:
    """The translator ``name`` ("orthogonal", "affine", "linear", ...) with its options."""
    return Translator(name, **options)


def register_similarity(name: str, function: Optional[Callable[..., torch.Tensor]] = None, *,
                        invariances: Sequence[Any] = (), direction: str = "similarity", description: str = "",
                        options: Optional[Mapping[str, Any]] = None) -> Any:
    """Registers a similarity written in Python, usable by name everywhere
    (``similarity(name)``, ``project``, pipelines run by ``run``).

    ``function(x [n, d], anchors [k, d], **options) -> torch.Tensor [n, k]`` of
    x's dtype. ``options`` is a manifest's option schema ({"alpha": {"type":
    "number", "default": 1.0}}); ``invariances`` and ``direction`` as a
    manifest declares them. Registering a name again replaces it. Usable as
    a decorator: ``@bridges.register_similarity("mine", invariances=["translation"])``."""
    declaration = {"invariances": list(invariances), "direction": direction,
                   "description": description or f"Python similarity {name}", "options": dict(options or {})}

    def register(f: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        _core.register_similarity(name, f, declaration)
        return f

    return register if function is None else register(function)


def stitch(encoders: Mapping[str, Any], train_labels: Array, test_labels: Array, classes: int,
           aggregator: Union[str, Mapping[str, Any]] = "sum", decoder: Optional[Mapping[str, Any]] = None,
           seeds: Sequence[int] = (0,), groups: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Zero-shot stitching: for each encoder and seed, a RelativeClassifier trained on
    that encoder's training subspaces and scored on every encoder's test subspaces.

    ``encoders``: {name: (train subspaces, test subspaces)}, each a list of [n, k]
    (one per similarity, in one order for every encoder). Returns the stitching
    matrix as the pipeline runner computes it: "accuracy" [seed][trained on][scored
    on], "index", "end_to_end", "stitched", "stitching_index" (mean, std over
    seeds), "pair_means", and with ``groups`` (one group name per encoder) "pair_groups"."""
    spec = {"type": aggregator} if isinstance(aggregator, str) else dict(aggregator)
    return _core.stitch(dict(encoders), train_labels, test_labels, classes, spec, dict(decoder or {}), list(seeds),
                        None if groups is None else list(groups))


def _spec(spec: Union[str, Mapping[str, Any]]) -> Dict[str, Any]:
    return {"type": spec} if isinstance(spec, str) else dict(spec)


def encode(dataset: Union[str, Mapping[str, Any]], encoder: Union[str, Mapping[str, Any]], split: str = "test",
           cache: Union[None, bool, str, "os.PathLike[str]"] = None) -> Dict[str, Any]:
    """An encoder of the registry on a data set, as ``bridges encode`` does: trained on the
    train split (or loaded from the cache ``bridges encode`` and pipelines share, keyed by the
    encoder's every option and the data; ``cache=False`` trains without it, a path uses that
    folder), then run on ``split``. Returns {"latents" [n, d], "labels" [n] int64 or None,
    "indices" [n] int64 (the samples' rows in the data set), "quality" (e.g. {"accuracy": ...}),
    "encoder" (its spec with every option)}.

        cnn = bridges.encode({"type": "fashion_mnist", "test_limit": 1000}, {"type": "cnn", "seed": 0})
        mlp = bridges.encode({"type": "fashion_mnist", "test_limit": 1000}, {"type": "mlp", "seed": 0})
        bridges.compare(cnn["latents"], mlp["latents"], ["cka_linear"])
    """
    folder = "" if cache is None or isinstance(cache, bool) else os.fspath(cache)
    return _core.encode(_spec(dataset), _spec(encoder), split, folder, cache is not False)


PipelineLike = Union[str, "os.PathLike[str]", Mapping[str, Any]]


def run(pipeline: PipelineLike, out: Optional[Union[str, "os.PathLike[str]"]] = None,
        cache: Optional[Union[str, "os.PathLike[str]"]] = None, verbose: bool = True) -> Dict[str, Any]:
    """Runs a pipeline (a JSON file's path, or the same as a dict) as ``bridges run`` does,
    into the run folder ``out`` (default: the pipeline's "output"), and returns its results
    (results.json, as a dict). Progress goes to stderr; the summary is printed when ``verbose``.
    Ctrl-C stops it at the next check (KeyboardInterrupt); finished work stays cached."""
    source = dict(pipeline) if isinstance(pipeline, Mapping) else os.fspath(pipeline)
    results, log = _core.run(source, os.fspath(out) if out else "", os.fspath(cache) if cache else "")
    if verbose:
        print(log, end="")
    for warning in results.get("warnings", []):  # valid, but most likely not what was meant
        warnings.warn(warning, UserWarning, stacklevel=2)
    return results


def plan(pipeline: PipelineLike, out: Optional[Union[str, "os.PathLike[str]"]] = None,
         cache: Optional[Union[str, "os.PathLike[str]"]] = None, estimate: bool = False) -> str:
    """What ``run`` would do, in words (``bridges run --dry-run``), with the time estimate when asked."""
    source = dict(pipeline) if isinstance(pipeline, Mapping) else os.fspath(pipeline)
    return _core.plan(source, os.fspath(out) if out else "", os.fspath(cache) if cache else "", estimate)
