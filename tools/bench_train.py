#!/usr/bin/env python3
"""Training steps per second of the table-space trainer (forward + backward + Adam + the table
budget cap), on random patches, one torch thread by default.

    python tools/bench_train.py --arch tinylut-s --task denoise --batch 16 --patch 32
    python tools/bench_train.py --all          # every architecture and task

Prints the median step time of ``--steps`` steps after ``--warmup``."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from tinylut.train.budget import fit_budget  # noqa: E402
from tinylut.train.nets import ARCHS, build_net  # noqa: E402
from tinylut.train.trainer import keep_freed_memory  # noqa: E402


def bench(arch: str, task: str, batch: int, patch: int, steps: int, warmup: int) -> float:
    torch.manual_seed(0)
    net = build_net(arch, task)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    s = net.scale
    g = torch.Generator().manual_seed(0)
    x = torch.randint(-128, 128, (batch, patch, patch), generator=g)
    target = torch.randint(-128, 128, (batch, patch * s, patch * s), generator=g).float()
    times = []
    for i in range(warmup + steps):
        t = time.perf_counter()
        y = net(x)
        loss = torch.mean(((y - target) / 255) ** 2) + 5e-5 * torch.mean(
            torch.cat(net.ddm_scales()) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        fit_budget(net, net.table_budget)
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="tinylut-s")
    ap.add_argument("--task", default="denoise")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    keep_freed_memory()
    for arch, task in (sorted(ARCHS) if a.all else [(a.arch, a.task)]):
        t = bench(arch, task, a.batch, a.patch, a.steps, a.warmup)
        print(f"{arch:10s} {task:8s} batch {a.batch} x {a.patch}x{a.patch}, {a.threads} thread(s): "
              f"{t:.3f} s/step, {1 / t:.2f} steps/s", flush=True)


if __name__ == "__main__":
    main()
