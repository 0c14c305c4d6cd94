"""torchcrepe with all five capacities: small, medium and large besides torchcrepe's tiny and full.

torchcrepe's `Crepe` module knows only 'tiny' and 'full'. `crepe_module` builds torchcrepe's own
module and resizes its layers for any capacity (channels [32, 4, 4, 4, 8, 16] x the capacity's
multiplier, classifier input 64 x multiplier); torchcrepe's forward, embed and layer code run
unchanged. The weights come from `crepe-predict --export-torchcrepe DIR` (the official Keras
weights as torchcrepe state dicts).

    from crepe_client import torchcrepe_capacities
    torchcrepe_capacities.install("small", "exported/small.pth", device="cuda")
    pitch = torchcrepe.predict(audio, sr, model="small", device="cuda")

Needs torch and torchcrepe (pip install 'crepe-service-client[torchcrepe]'); nothing else in
crepe_client does.
"""

from __future__ import annotations

MULTIPLIERS = {"tiny": 4, "small": 8, "medium": 16, "large": 24, "full": 32}
CHANNELS = (32, 4, 4, 4, 8, 16)  # out channels of conv1..conv6, per unit of multiplier


def crepe_module(capacity: str):
    """An untrained torchcrepe.Crepe of `capacity` (any of the five)."""
    import torch
    import torchcrepe

    if capacity not in MULTIPLIERS:
        raise ValueError(f"capacity must be one of {', '.join(MULTIPLIERS)}, not {capacity!r}")
    if capacity in ("tiny", "full"):
        return torchcrepe.Crepe(capacity)
    model = torchcrepe.Crepe("tiny")
    out = [c * MULTIPLIERS[capacity] for c in CHANNELS]
    for i, (cin, cout) in enumerate(zip([1] + out[:-1], out), start=1):
        conv, bn = getattr(model, f"conv{i}"), getattr(model, f"conv{i}_BN")
        # Same kernel, stride, eps and momentum as torchcrepe's; replacing keeps the state-dict order.
        setattr(model, f"conv{i}", torch.nn.Conv2d(cin, cout, conv.kernel_size, conv.stride))
        setattr(model, f"conv{i}_BN", torch.nn.BatchNorm2d(cout, eps=bn.eps, momentum=bn.momentum))
    model.in_features = 4 * out[-1]
    model.classifier = torch.nn.Linear(model.in_features, model.classifier.out_features)
    return model


def load(capacity: str, path: str, device: str = "cpu"):
    """torchcrepe.Crepe of `capacity` with the state dict at `path`, on `device`, in eval mode."""
    import torch

    model = crepe_module(capacity)
    model.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    return model.to(torch.device(device)).eval()


def install(capacity: str, path: str, device: str = "cpu"):
    """Makes torchcrepe.predict / embed / infer(model=capacity) use these weights (torchcrepe caches
    its model in torchcrepe.infer; its loader reads only its bundled tiny and full)."""
    import torchcrepe

    torchcrepe.infer.model = load(capacity, path, device)
    torchcrepe.infer.capacity = capacity
    return torchcrepe.infer.model
