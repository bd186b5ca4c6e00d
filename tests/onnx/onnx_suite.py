#!/usr/bin/python3
"""End-to-end tests of the ONNX frontend: bisc's interpreter against ONNX Runtime.

    onnx_suite.py list                      the case names (one ctest test each)
    onnx_suite.py prepare --out DIR [--variant V]
                                            build the small ONNX files, or export variant V
    onnx_suite.py run CASE --out DIR --bin BISC_BIN_DIR --ort-dir ORT_DIR [--cc CC]

Numeric cases run `bisc run X.onnx --input ... --output ...` and tests/onnx/ort_run.js on the
same file and input, and pass when max|bisc - ort| <= 1e-4 * max|ort| (integer outputs:
identical). Compiled cases build the library with `bisc compile X.onnx` and check it with
tests/capi/model_check.c against ONNX Runtime's logits (same tolerance, >= 99.9% identical
arg-max). Node-count cases compare the op counts after the default pass pipeline with those
of the same variant loaded from bisc JSON. Error cases expect exit status 1 and the listed
phrases on stderr.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_cases  # noqa: E402

TOLERANCE = 1e-4


def reference_cases():
    cases = {}
    for variant in make_cases.REFERENCE_VARIANTS:
        for opset in make_cases.OPSETS:
            cases[f"reference.{variant}.opset{opset}"] = (
                "numeric", f"{variant}.opset{opset}.onnx", "reference.input.npy", None)
    # dynamic axes in the file, shape from the input array
    for variant in ("bisenetv2", "bisenetv1_xception39"):
        cases[f"reference.{variant}.dynamic_axes"] = (
            "numeric", f"{variant}.dynamic.onnx", "dynamic.input.npy", None)
    cases["reference.bisenetv2.opset17"] = ("numeric", "bisenetv2.opset17.onnx", "reference.input.npy", None)
    # BatchNormalization nodes kept in the file
    cases["reference.bisenetv2.bn_unfolded"] = ("numeric", "bisenetv2.bn_unfolded.onnx", "reference.input.npy", None)
    # a fixed-shape file run at another shape; ORT runs the dynamic export of the same weights
    cases["reference.bisenetv2.input_shape_override"] = (
        "numeric", "bisenetv2.opset13.onnx", "dynamic.input.npy", "bisenetv2.dynamic.onnx")
    return cases


def op_cases():
    return {f"ops.{name}": ("numeric", f"{name}.onnx", f"{name}.input.npy",
                            f"{name}.oracle.onnx" if name in make_cases.ORACLE_STANDINS else None)
            for name in make_cases.OP_CASES}


# file -> phrases the error must contain (the driver prefixes "bisc-opt: error: ")
ERRORS = {
    "truncated": ("truncated.onnx", ["truncated.onnx: not a valid ONNX model"]),
    "not_onnx": ("not_onnx.onnx", ["not_onnx.onnx: not a valid ONNX model"]),
    "missing_initializer": ("missing_initializer.onnx",
                            ["node 'conv' (Conv, opset 13)", "input 1 'conv.weight'", "missing initializer"]),
    "unsupported_ops": ("unsupported_ops.onnx",
                        ["3 nodes with unsupported op types", "node 'leaky' (LeakyRelu, opset 13)",
                         "node 'erf' (Erf, opset 13)", "node 'topk' (TopK, opset 13)", "supported: "]),
    "opset_too_old": ("opset_too_old.onnx", ["opset 6 of the default ONNX domain", "supported range 7 to 17"]),
    "opset_too_new": ("opset_too_new.onnx", ["opset 18 of the default ONNX domain", "supported range 7 to 17"]),
    "dynamic_unresolved": ("dynamic_unresolved.onnx",
                           ["input 'x' has dynamic dimensions [1,3,height,width]", "--input-shape"]),
    "runtime_gather": ("runtime_gather.onnx",
                       ["node 'gather_channels' (Gather, opset 13)", "computed at run time"]),
    "unsorted_nodes": ("unsorted_nodes.onnx",
                       ["node 'relu' (Relu, opset 13): input 0 'c' is produced by a later node"]),
    "lowering_errors": ("lowering_errors.onnx",
                        ["node 'sub_runtime' (Sub, opset 13): Sub is supported only on constants",
                         "node 'sigmoid_after_pad' (Sigmoid, opset 13): input 0 'p' comes from a Pad",
                         "only accepted when it feeds Conv, MaxPool or AveragePool",
                         "output 't' is a transposed tensor"]),
    "resize_unsupported_rounding": ("resize_unsupported_rounding.onnx",
                                    ["node 'resize' (Resize, opset 13)", "nearest_mode=round_prefer_floor",
                                     "output row 2 reads src 1", "supported: nearest with asymmetric+floor"]),
}


def all_cases():
    cases = {}
    cases.update(reference_cases())
    cases.update(op_cases())
    for name, (model, phrases) in ERRORS.items():
        cases[f"errors.{name}"] = ("error", model, phrases, None)
    cases["reference.bisenetv2.opset9_linear_upsample_refused"] = (
        "error", "bisenetv2.opset9.onnx",
        ["(Upsample, opset 9): mode=linear, coordinate_transformation_mode=asymmetric",
         "output row 1 reads 0.875*src 0 + 0.125*src 1 in ONNX"], None)
    cases["errors.dynamic_resolved_by_input_shape"] = ("resolved", "dynamic_unresolved.onnx", None, None)
    for variant in make_cases.REFERENCE_VARIANTS:
        cases[f"reference.{variant}.compiled"] = ("compiled", f"{variant}.opset13.onnx", "reference.input.npy",
                                                 variant)
        for opset in make_cases.OPSETS:
            cases[f"reference.{variant}.opset{opset}.node_counts"] = (
                "node_counts", f"{variant}.opset{opset}.onnx", variant, None)
    cases["reference.bisenetv2.bn_unfolded.node_counts"] = (
        "node_counts", "bisenetv2.bn_unfolded.onnx", "bisenetv2", None)
    return cases


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def ort_output(ctx, model, input_path, out_path):
    proc = run(["node", os.path.join(HERE, "ort_run.js"), ctx.ort_dir, model, input_path, out_path])
    if proc.returncode != 0:
        raise AssertionError(f"ONNX Runtime failed on {model}:\n{proc.stderr}")
    return np.load(out_path)


def check_numeric(ctx, name, model, input_name, oracle_model):
    model_path = os.path.join(ctx.out, model)
    input_path = os.path.join(ctx.out, input_name)
    with tempfile.TemporaryDirectory() as tmp:
        got_path = os.path.join(tmp, "bisc.npy")
        proc = run([ctx.bisc, "run", model_path, "--input", input_path, "--output", got_path])
        if proc.returncode != 0:
            raise AssertionError(f"bisc run failed ({proc.returncode}):\n{proc.stderr}")
        oracle = os.path.join(ctx.out, oracle_model or model)
        want = ort_output(ctx, oracle, input_path, os.path.join(tmp, "ort.npy"))
        got = np.load(got_path)
    if got.size != want.size:
        raise AssertionError(f"bisc gives shape {got.shape}, ONNX Runtime {want.shape}")
    if got.shape != want.shape:  # ArgMax keepdims: same data, unit axis dropped
        print(f"note: shapes differ only by unit axes: bisc {got.shape}, ORT {want.shape}")
    got, want = got.reshape(-1), want.reshape(-1)
    if np.issubdtype(want.dtype, np.integer):
        mismatches = int(np.count_nonzero(got.astype(np.int64) != want.astype(np.int64)))
        print(f"{name}: {mismatches} of {want.size} labels differ")
        if mismatches:
            raise AssertionError(f"{mismatches} labels differ from ONNX Runtime")
        return
    scale = float(np.abs(want).max())
    ratio = float(np.abs(got - want).max()) / scale if scale > 0 else float(np.abs(got).max())
    print(f"{name}: max|bisc - ort| / max|ort| = {ratio:.3e} (max|ort| {scale:.4g}, limit {TOLERANCE:g})")
    if not ratio <= TOLERANCE:
        raise AssertionError(f"relative difference {ratio:.3e} exceeds {TOLERANCE:g}")


def check_compiled(ctx, name, model, input_name, variant):
    """bisc compile on the ONNX file, then tests/capi/model_check.c against ONNX Runtime."""
    model_path = os.path.join(ctx.out, model)
    input_path = os.path.join(ctx.out, input_name)
    capi = os.path.join(os.path.dirname(HERE), "capi")
    lib = f"onnx_{variant}"
    with tempfile.TemporaryDirectory() as tmp:
        want = os.path.join(tmp, "ort.npy")
        ort_output(ctx, model_path, input_path, want)
        steps = [
            [ctx.bisc, "compile", model_path, "--name", lib, "-o", tmp],
            [ctx.cc, "-std=c11", "-O2", f"-I{capi}", f"-I{tmp}", f"-DMODEL={lib}", f'-DMODEL_HEADER="{lib}.h"',
             os.path.join(capi, "model_check.c"), f"-L{tmp}", f"-l{lib}", f"-Wl,-rpath,{tmp}", "-lm",
             "-o", os.path.join(tmp, "model_check")],
            [os.path.join(tmp, "model_check"), input_path, want, "2"],
        ]
        for cmd in steps:
            proc = run(cmd)
            print(proc.stdout.strip())
            if proc.returncode != 0:
                raise AssertionError(f"{os.path.basename(cmd[0])} failed ({proc.returncode}):\n{proc.stderr}")
        if "passed" not in proc.stdout:
            raise AssertionError("model_check did not report 'passed'")


def op_counts(ctx, model, extra=()):
    proc = run([ctx.bisc_opt, model, "--passes=default", "--print-ir", *extra])
    if proc.returncode != 0:
        raise AssertionError(f"bisc-opt --passes=default failed on {model}:\n{proc.stderr}")
    return collections.Counter(re.findall(r"= ([a-z_0-9]+)\(", proc.stdout))


def check_node_counts(ctx, name, model, variant):
    """The fusions fire on the ONNX-born graph as on the JSON one: same op counts after passes."""
    json_model = os.path.join(os.path.dirname(os.path.dirname(HERE)), "models", f"{variant}.json")
    shape = "x".join(str(d) for d in make_cases.SHAPE)
    from_json = op_counts(ctx, json_model, ["--input-shape", shape])
    from_onnx = op_counts(ctx, os.path.join(ctx.out, model))
    print(f"{name}: after the default pipeline, JSON {dict(sorted(from_json.items()))}")
    print(f"{name}: after the default pipeline, ONNX {dict(sorted(from_onnx.items()))}")
    if from_json != from_onnx:
        raise AssertionError(f"op counts differ: JSON - ONNX {dict(from_json - from_onnx)}, "
                             f"ONNX - JSON {dict(from_onnx - from_json)}")


def check_error(ctx, name, model, phrases):
    proc = run([ctx.bisc_opt, os.path.join(ctx.out, model)])
    print(proc.stderr.strip())
    if proc.returncode != 1:
        raise AssertionError(f"expected exit status 1, got {proc.returncode}")
    if not proc.stderr.startswith("bisc-opt: error: "):
        raise AssertionError("the message does not start with 'bisc-opt: error: '")
    missing = [p for p in phrases if p not in proc.stderr]
    if missing:
        raise AssertionError(f"the message lacks: {missing}")


def check_resolved(ctx, name, model):
    """The file that fails without a shape imports with --input-shape (bisc-opt and stats)."""
    path = os.path.join(ctx.out, model)
    for cmd in ([ctx.bisc_opt, path, "--input-shape", "1x3x16x24", "--print-ir"],
                [ctx.bisc, "stats", path, "--input-shape", "1x3x16x24"]):
        proc = run(cmd)
        if proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    if "f32[1,4,14,22]" not in run([ctx.bisc_opt, path, "--input-shape", "1x3x16x24", "--print-ir"]).stdout:
        raise AssertionError("the conv output is not f32[1,4,14,22] at input 1x3x16x24")


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["list", "variants", "prepare", "run"])
    p.add_argument("case", nargs="?")
    p.add_argument("--out")
    p.add_argument("--bin")
    p.add_argument("--ort-dir")
    p.add_argument("--variant", help="prepare: export this reference variant")
    p.add_argument("--cc", default="cc", help="C compiler for the compiled cases")
    a = p.parse_args(argv)
    cases = all_cases()
    if a.command == "list":
        print(";".join(cases))
        return 0
    if a.command == "variants":
        print(";".join(make_cases.REFERENCE_VARIANTS))
        return 0
    if a.command == "prepare":
        os.makedirs(a.out, exist_ok=True)
        if a.variant:
            make_cases.write_reference(a.out, a.variant)
        else:
            make_cases.write_cases(a.out)
        return 0
    kind, model, extra, oracle = cases[a.case]
    a.bisc, a.bisc_opt = os.path.join(a.bin, "bisc"), os.path.join(a.bin, "bisc-opt")
    try:
        if kind == "numeric":
            check_numeric(a, a.case, model, extra, oracle)
        elif kind == "compiled":
            check_compiled(a, a.case, model, extra, oracle)
        elif kind == "node_counts":
            check_node_counts(a, a.case, model, extra)
        elif kind == "error":
            check_error(a, a.case, model, extra)
        else:
            check_resolved(a, a.case, model)
    except AssertionError as e:
        print(f"FAIL {a.case}: {e}")
        return 1
    print(f"PASS {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
