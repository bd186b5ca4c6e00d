#!/usr/bin/python3
"""Write golden data for every bundled variant under models/golden/:

    <variant>.input.npy    1x3x64x128 f32, the same seed-fixed image for every variant
    <variant>.logits.npy   PyTorch f32 output of the inference graph (eval mode) with the
                           reference weights of seed 0 (TorchSeg variants: the log_softmax the
                           model returns)

The weights are not stored: `python3 models/make_bundled.py --out DIR` writes the very same
tensors to DIR/<variant>.safetensors (export.py --random-seed 0).  `--check-weights DIR` re-runs
the goldens from DIR/<variant>.json + .safetensors with the bisc_graph interpreter.

    python3 models/make_goldens.py [--out models/golden] [--variants v1,v2] [--check-weights DIR]
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import export  # noqa: E402
from reference import VARIANTS  # noqa: E402
from reference.weights import reference_state_dict  # noqa: E402

GOLDEN_SHAPE = (1, 3, 64, 128)
INPUT_SEED = 20240601
WEIGHT_SEED = 0


def golden_input():
    g = torch.Generator().manual_seed(INPUT_SEED)
    # a normalised-image-like input: unit noise with a per-channel offset
    x = torch.randn(GOLDEN_SHAPE, generator=g)
    return x + 0.5 * torch.randn((1, GOLDEN_SHAPE[1], 1, 1), generator=g)


def golden_logits(variant, x):
    model = VARIANTS[variant](n_classes=19, aux_mode="eval")
    export.load_weights(model, reference_state_dict(variant, WEIGHT_SEED), "reference weights")
    model.eval()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        torch.set_num_threads(threads)
    return out[0] if isinstance(out, (tuple, list)) else out


def main(argv=None):
    p = argparse.ArgumentParser(description="regenerate models/golden/*.npy")
    p.add_argument("--out", default=os.path.join(HERE, "golden"))
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--check-weights", metavar="DIR",
                   help="also evaluate DIR/<variant>.json + .safetensors and compare")
    a = p.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    x = golden_input()
    status = 0
    for v in a.variants.split(","):
        y = golden_logits(v, x)
        np.save(os.path.join(a.out, f"{v}.input.npy"), x.numpy().astype("<f4"))
        np.save(os.path.join(a.out, f"{v}.logits.npy"), y.numpy().astype("<f4"))
        msg = f"{v}: logits {tuple(y.shape)} max|y| {float(y.abs().max()):.4f}"
        if a.check_weights:
            import bisc_graph
            doc = bisc_graph.load(os.path.join(a.check_weights, v + ".json"))
            w = export.read_safetensors(os.path.join(a.check_weights, v + ".safetensors"))
            with torch.no_grad():
                z = bisc_graph.run(doc, w, x, outputs=["logits"])["logits"]
            err = float((z - y).abs().max() / y.abs().max())
            msg += f", interpreter on {a.check_weights}: rel. err {err:.2e}"
            if err > 1e-5:
                status = 1
        print(msg)
    return status


if __name__ == "__main__":
    sys.exit(main())
