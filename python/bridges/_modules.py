"""torch.nn.Modules over bridges' C++ aggregators, and the relative classifier."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import torch

from . import _core


def _attach(module: torch.nn.Module, dotted: str, tensor: torch.Tensor, table: str) -> None:
    """Stores tensor as `dotted` ("a.0.weight") under module, making the
    submodules on the way (plain containers: the C++ module computes)."""
    *path, leaf = dotted.split(".")
    for part in path:
        if part not in module._modules:
            module._modules[part] = torch.nn.Module()
        module = module._modules[part]
    getattr(module, table)[leaf] = tensor


class Aggregator(torch.nn.Module):
    """A bridges aggregator (concat, sum, mlp_sum, self_attention,
    mlp_self_attention, or a plugin's) as a ``torch.nn.Module``: merges
    ``subspaces`` relative subspaces of ``anchors`` anchors each into the
    product space.

    ``forward(subspaces)``: a list of [n, anchors] tensors -> [n, output_dim].
    The parameters are the C++ module's own tensors (no copy): an optimizer
    over ``parameters()`` trains them, gradients arrive in their ``.grad``,
    and ``state_dict()`` holds them under their C++ names. ``train()`` and
    ``eval()`` reach the C++ module. The weights are drawn from LibTorch's
    generator seeded with ``seed``.

        agg = bridges.Aggregator("mlp_sum", subspaces=4, anchors=1280, seed=0)
        z = agg([r_cos, r_euc, r_l1, r_linf])              # [n, agg.output_dim]
    """

    def __init__(self, type: str, subspaces: int, anchors: int, seed: int = 0, **options: Any) -> None:
        super().__init__()
        impl = _core.make_aggregator(type, options, subspaces, anchors, seed)
        # Through object.__setattr__: the C++ object is not a Module attribute.
        object.__setattr__(self, "_impl", impl)
        self._made_with = (type, subspaces, anchors, seed, dict(options))
        self.subspaces = subspaces
        self.anchors = anchors
        self.output_dim: int = impl.output_dim(subspaces, anchors)
        # The C++ module's tensors themselves, not Parameters made from them
        # (a Parameter would be a new tensor whose gradient the C++ forward
        # never reaches), in the C++ module's own tree of submodules, so that
        # names, state_dict() and load_state_dict() match its ("mlps.0.1.weight").
        for name, tensor in impl.named_parameters():
            _attach(self, name, tensor, "_parameters")
        for name, tensor in impl.named_buffers():
            _attach(self, name, tensor, "_buffers")
        impl.train(self.training)

    @property
    def type(self) -> str:
        return self._impl.type

    def to_json(self) -> Dict[str, Any]:
        return self._impl.to_json()

    def __reduce__(self) -> Any:
        # copy.deepcopy and pickle: a new C++ module made the same way, then
        # this one's tensors (the C++ object itself cannot be pickled).
        state = {k: v.detach().clone() for k, v in self.state_dict().items()}
        return (_restore_aggregator, (self._made_with, state, self.training))

    def train(self, mode: bool = True) -> "Aggregator":
        super().train(mode)
        self._impl.train(mode)
        return self

    def forward(self, subspaces: Sequence[torch.Tensor]) -> torch.Tensor:
        if isinstance(subspaces, torch.Tensor):
            subspaces = [subspaces]
        return self._impl.aggregate(list(subspaces))

    def attention(self) -> Optional[torch.Tensor]:
        """The attention weights of the last forward, [n, heads, s, s]; None for an aggregator that does not attend."""
        a = self._impl.attention()
        return a if a is not None and a.numel() else None

    def extra_repr(self) -> str:
        return f"{self.to_json()}, subspaces={self.subspaces}, anchors={self.anchors}, output_dim={self.output_dim}"


def _restore_aggregator(made_with: Any, state: Dict[str, torch.Tensor], training: bool) -> Aggregator:
    type, subspaces, anchors, seed, options = made_with
    aggregator = Aggregator(type, subspaces, anchors, seed=seed, **options)
    aggregator.load_state_dict(state)
    return aggregator.train(training)


class RelativeLayer(torch.nn.Module):
    """x [n, d] -> the product space of x relative to fixed anchors [k, d]:
    one relative subspace per similarity (normalised row by row), merged by
    an aggregator. Differentiable in x (and in the anchors when they require
    grad), so a model can train through it.

        layer = bridges.RelativeLayer(anchors, ["cosine", "l1"], aggregator="sum")
        z = layer(encoder(images))
    """

    def __init__(self, anchors: torch.Tensor, similarities: Sequence[Any] = ("cosine",),
                 aggregator: Union[str, Mapping[str, Any], Aggregator] = "sum", normalize: str = "standardize",
                 seed: int = 0) -> None:
        super().__init__()
        from . import _similarities  # the package's helper (no import cycle at module load)

        self.register_buffer("anchor_latents", anchors)
        object.__setattr__(self, "_similarities", _similarities(list(similarities)))
        self.normalize = normalize
        if isinstance(aggregator, Aggregator):
            self.aggregator = aggregator
        else:
            spec = {"type": aggregator} if isinstance(aggregator, str) else dict(aggregator)
            kind = spec.pop("type")
            self.aggregator = Aggregator(kind, len(self._similarities), anchors.shape[0], seed=seed, **spec)
        self.output_dim = self.aggregator.output_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spaces = _core.relative(x, self.anchor_latents, self._similarities, self.normalize)
        return self.aggregator(spaces)


class RelativeClassifier:
    """The relative decoder of zero-shot stitching: aggregator -> LayerNorm ->
    Linear(hidden) -> Tanh -> Linear(classes), trained by bridges (Adam, the
    pipeline's ``decoder`` options: hidden, epochs, batch_size, lr, patience,
    max_epochs, val_fraction).

        clf = bridges.RelativeClassifier("mlp_sum", subspaces=4, anchors=1280, classes=10)
        clf.fit(train_spaces_of_encoder_a, labels)
        predicted = clf.predict(test_spaces_of_encoder_b)     # zero-shot
    """

    def __init__(self, aggregator: Union[str, Mapping[str, Any], None], subspaces: int, anchors: int, classes: int,
                 seed: int = 0, **decoder: Any) -> None:
        impl = None
        if aggregator is not None:
            spec = {"type": aggregator} if isinstance(aggregator, str) else dict(aggregator)
            kind = spec.pop("type")
            impl = _core.new_aggregator(kind, spec)  # the classifier builds it, seeded with `seed`
        self._impl = _core.RelativeClassifier(impl, subspaces, anchors, classes, decoder, seed)

    def fit(self, subspaces: Sequence[Any], labels: Any) -> Dict[str, Any]:
        """Trains on subspaces (each [n, anchors]) and labels [n] int64; returns
        {"epochs", "best_epoch", "val_loss"}."""
        return self._impl.fit(list(subspaces), labels)

    def logits(self, subspaces: Sequence[Any]) -> torch.Tensor:
        return self._impl.logits(list(subspaces))

    def predict(self, subspaces: Sequence[Any]) -> torch.Tensor:
        return self._impl.predict(list(subspaces))

    def finetune(self, params: str, steps: int, subspaces: Sequence[Any], labels: Any, lr: float = 1e-3,
                 seed: int = 0) -> int:
        """Stitch-time fine-tuning of only "qkv" (the attention's projections) or
        only "head"; returns the number of scalars trained."""
        return self._impl.finetune(params, steps, lr, list(subspaces), labels, seed)
