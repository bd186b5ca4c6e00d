#!/usr/bin/python3
"""torch_timer: times a BiSeNet reference in PyTorch eager mode, as bench/run's peer.

    torch_timer.py VARIANT 1x3xHxW THREADS RUNS WARMUP   prints {"ms":[t1,...]}
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

from reference_models import reference_model  # noqa: E402


def main(variant, shape, threads, runs, warmup):
    torch.set_num_threads(int(threads))
    model = reference_model(variant)
    x = torch.rand([int(d) for d in shape.split("x")]) * 2 - 1
    ms = []
    with torch.no_grad():
        for _ in range(int(warmup)):
            model(x)
        for _ in range(int(runs)):
            start = time.perf_counter()
            model(x)
            ms.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({"ms": ms}))


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit("usage: torch_timer.py VARIANT 1x3xHxW THREADS RUNS WARMUP")
    main(*sys.argv[1:])
