"""Training throughput: the project's proxy loop against a plain PyTorch loop, same model, data and steps.

    python bench/train_throughput.py                      # EfficientNet-B0 (full width), 32 px, CPU here
    python bench/train_throughput.py --device cuda --image-size 224 --batch-size 128   # on a GPU

The project's loop is ``scalesearch.train.train_proxy`` itself (its ``images_per_second`` counts training
steps only): uint8 data resident on the device, whole-batch crop+flip there, channels_last, bf16 autocast on
CUDA. The plain loop is what a first version usually is: a DataLoader over the same images as float32
tensors, NCHW, fp32, a host-to-device copy per batch, no augmentation. Both build the same network from the
same spec and run the same optimizer, batch and number of steps. Rounds alternate (ours, plain, ours, ...)
after one untimed warm-up round each, so load on a shared machine hits both alike; the medians are compared.
Only the CPU figure was measured so far (no GPU was available): run it on a GPU before quoting a GPU speedup.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from scalesearch.core.baselines import baseline
from scalesearch.core.runs import RunStatus
from scalesearch.core.spec import NetSpec
from scalesearch.nn.build import build
from scalesearch.train import Dataset, ProxyConfig, proxy_spec, resolve_device, set_threads, train_proxy


def make_data(n: int, size: int, classes: int = 10) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return Dataset(name="bench", train_x=x, train_y=y, val_x=x[:classes], val_y=torch.arange(classes),
                   classes=tuple(str(i) for i in range(classes)), base_resolution=size, flip=True)


def ours(net: NetSpec, data: Dataset, config: ProxyConfig) -> float:
    result = train_proxy(net, data, config, seed=0)
    if result.status is not RunStatus.OK:
        raise SystemExit(f"project loop ended with status {result.status}: {result.message}")
    return result.images_per_second


def plain(net: NetSpec, data: Dataset, config: ProxyConfig, device: torch.device) -> float:
    model = build(proxy_spec(net, config, data)).to(device)
    model.train()
    x = data.train_x.float().div_(255).sub_(0.5).div_(0.25)  # a float32 dataset, normalised once, on the host
    loader = DataLoader(TensorDataset(x, data.train_y), batch_size=config.batch_size, shuffle=True, drop_last=True)
    opt = torch.optim.SGD(model.parameters(), lr=config.learning_rate, momentum=0.9, nesterov=True,
                          weight_decay=config.decay)
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    seen, start = 0, time.perf_counter()
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = criterion(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(xb)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return seen / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="efficientnet-b0", help="baseline trained at full width")
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    ap.add_argument("--image-size", type=int, default=32, help="input pixels for both loops")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=8, help="training steps per timed round")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per loop, alternating")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: available cores)")
    args = ap.parse_args()

    threads = set_threads(args.threads)
    device = resolve_device(args.device)
    net = baseline(args.baseline)
    data = make_data(args.batch_size * args.steps, args.image_size)
    config = ProxyConfig(epochs=1, batch_size=args.batch_size, base_resolution=args.image_size, proxy_width=1.0,
                         bn_recalibration=0, warmup_epochs=0.0, device=str(device), threads=threads)
    print(f"{args.baseline} (full width) at {args.image_size} px, batch {args.batch_size}, {args.steps} steps x "
          f"{args.rounds} rounds, {device}, {threads} thread(s), torch {torch.__version__}")
    ours(net, data, config)  # warm-up: allocator, oneDNN/cuDNN kernel choice
    plain(net, data, config, device)
    a, b = [], []
    for r in range(args.rounds):
        a.append(ours(net, data, config))
        b.append(plain(net, data, config, device))
        print(f"round {r + 1}: project {a[-1]:8.1f} img/s   plain {b[-1]:8.1f} img/s", flush=True)
    mine, base = statistics.median(a), statistics.median(b)
    print(f"project loop (channels_last, device-resident uint8, batched augmentation): {mine:.1f} images/s")
    print(f"plain loop (DataLoader, NCHW, fp32, per-batch copies): {base:.1f} images/s")
    print(f"speedup: {mine / base:.2f}")


if __name__ == "__main__":
    main()
