"""Stemdeck model zoo.

    from models import build_model, ARCHS, PAPER_PARAMS
    model = build_model("bsrnn", "small")          # nn.Module (SeparationModel)
    est, extra = model.separate(mixture)            # [B, C, N] → [B, S, C, N]
    loss = model.loss(mixture, targets)             # the architecture's own loss

Architectures (manifest "architecture" values): demucs, bsrnn, mstfa, scunet, resunet-decouple.
"""
import importlib

from .base import SeparationModel, count_params, STEMS4  # noqa: F401

_MODULES = {
    "demucs": "demucs",
    "bsrnn": "bsrnn",
    "mstfa": "mstfa",
    "scunet": "scunet",
    "resunet-decouple": "resunet",
    "resunet": "resunet",
}
ARCHS = ["demucs", "bsrnn", "mstfa", "scunet", "resunet-decouple"]


def _module(arch):
    if arch not in _MODULES:
        raise ValueError(f"unknown architecture {arch!r}; one of {ARCHS}")
    return importlib.import_module(f".{_MODULES[arch]}", __name__)


def build_model(arch, config="small", **overrides):
    """A fresh (randomly initialised) model. config: "small" | "paper"."""
    return _module(arch).build(config, **overrides)


def paper_params(arch):
    """The parameter count the paper reports (or that its configuration implies), or None."""
    return getattr(_module(arch), "PAPER_PARAMS", None)


def model_loss(model, mixture, targets):
    """The architecture's loss for a batch: mixture [B, C, N], targets [B, S, C, N]."""
    return model.loss(mixture, targets)
