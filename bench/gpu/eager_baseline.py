#!/usr/bin/env python3
"""The baseline users would otherwise run: CREPE's network in eager PyTorch, laid out as
torchcrepe lays it out (Conv2d over (B, 1, 1024, 1), BatchNorm2d, MaxPool2d), on the same device
and batch sizes as crepe-gpu-bench. Weights are random (speed does not depend on their values):
torchcrepe itself ships only tiny and full, and is not installed on the GPU machine.

Writes one JSON object per measurement (section "eager") to --json and a line per point to stdout.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

MULTIPLIER = {"tiny": 4, "small": 8, "medium": 16, "large": 24, "full": 32}
BASE = [32, 4, 4, 4, 8, 16]


class Crepe(torch.nn.Module):
    def __init__(self, capacity):
        super().__init__()
        filters = [1] + [b * MULTIPLIER[capacity] for b in BASE]
        kernels = [512] + [64] * 5
        strides = [4] + [1] * 5
        self.convs = torch.nn.ModuleList(
            torch.nn.Conv2d(filters[i], filters[i + 1], (kernels[i], 1), (strides[i], 1)) for i in range(6))
        self.norms = torch.nn.ModuleList(torch.nn.BatchNorm2d(filters[i + 1], eps=1e-3) for i in range(6))
        self.kernels, self.strides = kernels, strides
        self.dense = torch.nn.Linear(filters[6] * 4, 360)

    def forward(self, x):
        x = x[:, None, :, None]
        for conv, norm, k, s in zip(self.convs, self.norms, self.kernels, self.strides):
            length = x.shape[2]
            out = (length + s - 1) // s
            pad = max((out - 1) * s + k - length, 0)
            x = F.pad(x, (0, 0, pad // 2, pad - pad // 2))
            x = F.max_pool2d(norm(F.relu(conv(x))), (2, 1), (2, 1))
        x = x.permute(0, 2, 1, 3).reshape(x.shape[0], -1)
        return torch.sigmoid(self.dense(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--capacities", default="tiny,small,medium,large,full")
    ap.add_argument("--precisions", default="fp32,tf32,bf16,fp16")
    ap.add_argument("--batch-sizes", default="256,1024,4096")
    ap.add_argument("--point-s", type=float, default=0.5)
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    device = torch.device(a.device)
    out = open(a.json, "a") if a.json else None
    torch.manual_seed(0)
    for capacity in a.capacities.split(","):
        base = Crepe(capacity).eval()
        for precision in a.precisions.split(","):
            if device.type == "cuda":
                torch.backends.cudnn.allow_tf32 = precision == "tf32"
                torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
            dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
            model = Crepe(capacity).eval()
            model.load_state_dict(base.state_dict())
            model = model.to(device=device, dtype=dtype)
            for batch in (int(b) for b in a.batch_sizes.split(",")):
                x = torch.randn(batch, 1024, device=device, dtype=dtype)
                sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
                with torch.inference_mode():
                    for _ in range(3):
                        model(x)
                    sync()
                    t = time.perf_counter()
                    model(x)
                    sync()
                    one = time.perf_counter() - t
                    passes = max(3, min(100000, int(a.point_s / max(one, 1e-6))))
                    t = time.perf_counter()
                    for _ in range(passes):
                        model(x)
                    sync()
                    elapsed = time.perf_counter() - t
                fps = passes * batch / elapsed
                print(f"eager: {capacity:6s} {precision:4s} batch {batch:5d}: {fps:12.0f} frames/s", flush=True)
                if out:
                    out.write(json.dumps({"section": "eager", "capacity": capacity, "precision": precision,
                                          "pass": batch, "device": a.device, "fps": fps}) + "\n")
                    out.flush()


if __name__ == "__main__":
    main()
