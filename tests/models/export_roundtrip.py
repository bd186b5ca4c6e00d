#!/usr/bin/python3
"""The exporter round trip, end to end (run by ctest):

    export_roundtrip.py --bisc B --weights-dir W [--work DIR]

1. A user network (roundtrip_net.py:make, every exported operator, odd sizes) gets random
   weights, is saved as a user's .pth and exported with `export.py --checkpoint`; `bisc run`
   on batch 2 at 45x61 must match PyTorch (max|diff| <= 1e-4 x max|logit|, argmax >= 99.9%),
   and, exported with an argmax at the end, give the same int32 labels.
2. A CoinCheung-style checkpoint of BiSeNetV2 (flat state_dict of the training model: booster
   keys, BN counters) exports to the inference graph and reproduces the golden logits.
3. Modules and functions without a bisc op fail with exit status 1 and an error naming the
   module path and the op, and no files are written.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODELS = os.path.join(ROOT, "models")
sys.path.insert(0, MODELS)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import check_model  # noqa: E402
from check_model import CheckFailed, check, compare  # noqa: E402

EXPORT = os.path.join(MODELS, "export.py")
NET = os.path.join(HERE, "roundtrip_net.py")


def export_cli(*args):
    return subprocess.run([sys.executable, EXPORT, *args], capture_output=True, text=True,
                          timeout=300)


def bisc_run(bisc, prefix, x, work, tag):
    xin, yout = os.path.join(work, tag + ".input.npy"), os.path.join(work, tag + ".bisc.npy")
    np.save(xin, np.ascontiguousarray(x, dtype="<f4"))
    r = subprocess.run([bisc, "run", prefix + ".json", "--weights", prefix + ".safetensors",
                        "--input", xin, "--output", yout], capture_output=True, text=True,
                       timeout=300)
    check(r.returncode == 0, f"bisc run {prefix}.json failed (exit {r.returncode}):\n{r.stderr}")
    return np.load(yout)


def user_network(bisc, work):
    import roundtrip_net
    from reference.weights import randomize
    model = roundtrip_net.make(n_classes=7)
    randomize(model, seed=5, calib_size=(45, 61))
    ckpt = os.path.join(work, "user.pth")
    torch.save(model.state_dict(), ckpt)
    prefix = os.path.join(work, "user")
    r = export_cli("--model", f"{NET}:make", "--arg", "n_classes=7", "--checkpoint", ckpt,
                   "--input-shape", "1x3x45x61", "-o", prefix)
    check(r.returncode == 0, f"export.py failed:\n{r.stderr}")
    print(r.stdout.strip())
    x = check_model.seeded_input([2, 3, 45, 61], 7)
    model.eval()
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    compare(bisc_run(bisc, prefix, x, work, "user"), want, "user network 2x3x45x61")

    # the same weights with an argmax at the end: bisc writes int32 labels
    r = export_cli("--model", f"{NET}:make", "--arg", "n_classes=7", "--arg", "labels=True",
                   "--checkpoint", ckpt, "--input-shape", "1x3x45x61", "-o", prefix + "_labels")
    check(r.returncode == 0, f"export.py failed:\n{r.stderr}")
    got = bisc_run(bisc, prefix + "_labels", x, work, "user_labels")
    check(got.dtype == np.int32 and got.shape == (2, 45, 61),
          f"labels: expected int32 (2, 45, 61), got {got.dtype} {got.shape}")
    agree = float((got == want.argmax(axis=1)).mean())
    print(f"user network labels: argmax agreement {agree:.5f}")
    check(agree >= check_model.ARGMAX_AGREEMENT, "labels: argmax agrees on too few pixels")


def coincheung_checkpoint(bisc, weights_dir, work):
    import export
    from reference import VARIANTS
    weights = os.path.join(weights_dir, "bisenetv2.safetensors")
    check(os.path.isfile(weights), f"{weights} is missing: the weights fixture did not run")
    model = VARIANTS["bisenetv2"](aux_mode="train")
    export.load_weights(model, export.read_safetensors(weights), weights)
    ckpt = os.path.join(work, "model_final_v2_city.pth")
    torch.save(model.state_dict(), ckpt)  # flat, as CoinCheung saves it
    prefix = os.path.join(work, "v2")
    r = export_cli("--model", "bisenetv2", "--checkpoint", ckpt, "--input-shape", "1x3x64x128",
                   "-o", prefix)
    check(r.returncode == 0, f"export.py failed:\n{r.stderr}")
    check("ignored" in r.stderr and "aux" in r.stderr,
          f"expected a note about the ignored booster tensors, got:\n{r.stderr}")
    golden = os.path.join(MODELS, "golden", "bisenetv2")
    got = bisc_run(bisc, prefix, np.load(golden + ".input.npy"), work, "v2")
    compare(got, np.load(golden + ".logits.npy"), "bisenetv2 from a CoinCheung checkpoint")


def unsupported(work):
    cases = [("make_gelu", ["'body.1'", "GELU"]), ("make_tanh", ["torch.tanh", "'head'"])]
    for factory, needles in cases:
        prefix = os.path.join(work, factory)
        r = export_cli("--model", f"{NET}:{factory}", "--input-shape", "1x3x16x16", "-o", prefix)
        print(f"{factory}: exit {r.returncode}: {r.stderr.strip()}")
        check(r.returncode == 1, f"{factory}: expected exit status 1, got {r.returncode}")
        check("Traceback" not in r.stderr, f"{factory}: a traceback instead of an error message")
        for n in needles:
            check(n in r.stderr, f"{factory}: the error does not mention {n}")
        check(not os.path.exists(prefix + ".json"), f"{factory}: a JSON was written anyway")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bisc", required=True)
    p.add_argument("--weights-dir", required=True)
    p.add_argument("--work")
    a = p.parse_args(argv)

    def body(work):
        user_network(a.bisc, work)
        coincheung_checkpoint(a.bisc, a.weights_dir, work)
        unsupported(work)

    return check_model.run_in_work_dir(a.work, body)


if __name__ == "__main__":
    sys.exit(main())
