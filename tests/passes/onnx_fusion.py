"""ONNX-born graphs must fuse like the bundled JSON models.

Exports each PyTorch reference (models/reference, seed-0 reference weights, eval mode) with
torch.onnx.export at 1x3x64x128 (PyTorch folds BN into the convs and names nodes its own
way), runs `bisc-opt --passes=default --check-numerics` on the .onnx (the reference weights
come with it), and checks that every pass kept the outputs and that the op histogram
afterwards is the one the JSON models reach.

usage: onnx_fusion.py BISC_OPT OUT_DIR [VARIANT...]
"""
import collections
import os
import re
import subprocess
import sys
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

V1 = {"add": 1, "arm": 2, "ffm": 1, "global_avg_pool": 1, "max_pool": 1, "resize": 3}
V2 = {"avg_pool": 1, "bga": 1, "concat": 1, "context_embedding": 1, "conv2d": 16,
      "max_pool": 1, "resize": 1}
EXPECTED = {
    "bisenetv1_resnet18": {**V1, "conv2d": 4, "fused_conv": 27},
    "bisenetv1_resnet101": {**V1, "conv2d": 5, "fused_conv": 112, "log_softmax": 1},
    "bisenetv1_xception39": {**V1, "conv2d": 55, "fused_conv": 59, "log_softmax": 1},
    "bisenetv2": {**V2, "fused_conv": 38},
    "bisenetv2_large": {**V2, "fused_conv": 76},
}


def export(variant, path):
    import torch
    sys.path.insert(0, os.path.join(ROOT, "models"))
    import export as exporter
    from reference import VARIANTS
    from reference.weights import reference_state_dict
    model = VARIANTS[variant](n_classes=19, aux_mode="eval")
    exporter.load_weights(model, reference_state_dict(variant, 0), "reference weights")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), torch.zeros(1, 3, 64, 128), path, opset_version=13)


def check(bisc_opt, out_dir, variant):
    path = os.path.join(out_dir, variant + ".onnx")
    export(variant, path)
    run = subprocess.run([bisc_opt, path, "--passes=default", "--check-numerics", "--print-ir"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        return f"{variant}: bisc-opt failed: {run.stderr.strip()}"
    checked = len(re.findall(r"^// check-numerics: \S+ ok", run.stdout, re.M))
    counts = collections.Counter(re.findall(r"^  %\S+ = ([a-z_0-9]+)\(", run.stdout, re.M))
    del counts["reorder"]  # the blocked layout's edges: tests/unit/passes/model_pipeline_test.cpp
    if checked != 13:
        return f"{variant}: expected 13 check-numerics lines (one per default pass), got {checked}"
    if dict(counts) != EXPECTED[variant]:
        return f"{variant}: op counts {dict(sorted(counts.items()))}, expected {EXPECTED[variant]}"
    print(f"{variant}: ok {dict(sorted(counts.items()))}")
    return None


def main():
    bisc_opt, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    problems = [p for v in (sys.argv[3:] or EXPECTED) if (p := check(bisc_opt, out_dir, v))]
    for problem in problems:
        print("FAIL", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
