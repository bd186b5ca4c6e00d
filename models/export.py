#!/usr/bin/python3
"""Export a PyTorch segmentation network to a bisc model (NAME.json + NAME.safetensors).

    python3 models/export.py --model MODEL --input-shape 1x3x512x1024 -o DIR/NAME
                             [--checkpoint model.pth | --random-seed S] [--training-outputs]
                             [--num-classes N] [--arg KEY=VALUE ...] [--name NAME] [--no-weights]

MODEL is a bundled variant (bisenetv1_xception39, bisenetv1_resnet18, bisenetv1_resnet101,
bisenetv2, bisenetv2_large) or `path/to/file.py:factory` / `package.module:factory`, where
factory(**args) returns a torch.nn.Module taking one NCHW image tensor.

The model is traced with torch.fx (no data flows through it); every torch.nn leaf module and
every function call is mapped onto a bisc op (docs/json-format.md).  Anything else is rejected
with a message naming the module path or the function and where it was called (exit status 1).
The weights written are the state_dict entries the traced graph reads, under their state_dict
keys (num_batches_tracked is never written).
"""
import argparse
import importlib
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

# the API of this module (tests and scripts use export.X)
from bisc_files import dumps_json, read_safetensors, safetensors_bytes  # noqa: E402,F401
from fx_to_bisc import ExportError, export_graph  # noqa: E402


# ------------------------------------------------------------------------------------------------
# building the model
# ------------------------------------------------------------------------------------------------

def _bundled():
    from reference import VARIANTS
    return VARIANTS


def resolve_factory(spec):
    """'bisenetv2' | 'path/to/file.py:factory' | 'package.module:factory' -> (factory, bundled)"""
    variants = _bundled()
    if spec in variants:
        return variants[spec], True
    if ":" not in spec:
        raise ExportError(f"unknown model '{spec}': use one of {', '.join(variants)} or "
                          "path/to/file.py:factory")
    mod_spec, fname = spec.rsplit(":", 1)
    if mod_spec.endswith(".py") or os.sep in mod_spec:
        path = os.path.abspath(mod_spec)
        if not os.path.isfile(path):
            raise ExportError(f"model file '{mod_spec}' not found")
        d = os.path.dirname(path)
        if d not in sys.path:
            sys.path.insert(0, d)
        modname = "bisc_user_" + os.path.splitext(os.path.basename(path))[0]
        s = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(s)
        sys.modules[modname] = mod
        s.loader.exec_module(mod)
    else:
        mod = importlib.import_module(mod_spec)
    fac = getattr(mod, fname, None)
    if fac is None or not callable(fac):
        raise ExportError(f"'{mod_spec}' has no callable '{fname}'")
    return fac, False


def load_checkpoint(path):
    try:
        ck = torch.load(path, map_location="cpu")
    except Exception as e:
        raise ExportError(f"cannot read checkpoint '{path}': {e}") from e
    if isinstance(ck, nn.Module):
        ck = ck.state_dict()
    if isinstance(ck, dict):
        for k in ("state_dict", "model", "model_state_dict"):
            if k in ck and isinstance(ck[k], dict):
                ck = ck[k]
                break
    if not isinstance(ck, dict) or not all(isinstance(v, torch.Tensor) for v in ck.values()):
        raise ExportError(f"'{path}' does not hold a state_dict (tried the keys 'state_dict', "
                          "'model', 'model_state_dict')")
    return {(k[7:] if k.startswith("module.") else k): v for k, v in ck.items()}


def load_weights(model, sd, origin):
    own = model.state_dict()
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")]
    if missing:
        raise ExportError(f"{origin} lacks {len(missing)} tensors the model needs, e.g. "
                          + ", ".join(missing[:5]))
    bad = [k for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if bad:
        k = bad[0]
        raise ExportError(f"{origin}: shape mismatch for '{k}': {tuple(sd[k].shape)} in the file, "
                          f"{tuple(own[k].shape)} in the model ({len(bad)} mismatches)")
    unused = [k for k in sd if k not in own]
    model.load_state_dict({k: v for k, v in sd.items() if k in own}, strict=False)
    return unused


def build_model(spec, n_classes=None, training_outputs=False, args=None, checkpoint=None,
                seed=None, input_shape=None, log=None, need_weights=True):
    fac, bundled = resolve_factory(spec)
    kwargs = dict(args or {})
    if bundled:
        kwargs.setdefault("n_classes", 19 if n_classes is None else n_classes)
        kwargs.setdefault("aux_mode", "train" if training_outputs else "eval")
    elif n_classes is not None:
        kwargs.setdefault("n_classes", n_classes)
    model = fac(**kwargs)
    if not isinstance(model, nn.Module):
        raise ExportError(f"'{spec}' returned a {type(model).__name__}, not a torch.nn.Module")
    if checkpoint is not None:
        unused = load_weights(model, load_checkpoint(checkpoint), f"checkpoint '{checkpoint}'")
        if unused and log:
            log(f"note: {len(unused)} checkpoint tensors are not part of this model and were "
                f"ignored (e.g. {unused[0]})")
    elif seed is not None:
        from reference.weights import randomize, reference_state_dict
        if bundled:
            # drawn on the full model: eval and training exports of one seed share all tensors
            load_weights(model, reference_state_dict(spec, seed, kwargs["n_classes"]),
                         f"reference weights (seed {seed})")
        else:
            size = tuple(input_shape[2:]) if input_shape else None
            randomize(model, seed, input_channels=input_shape[1] if input_shape else 3,
                      **({"calib_size": size} if size else {}))
    elif bundled and need_weights:
        raise ExportError("a bundled variant needs --checkpoint or --random-seed")
    model.eval()
    return model


def export(spec, input_shape, out_prefix, name=None, checkpoint=None, seed=None,
           training_outputs=False, n_classes=None, args=None, write_weights=True, log=None):
    model = build_model(spec, n_classes, training_outputs, args, checkpoint, seed, input_shape,
                        log, need_weights=write_weights)
    name = name or os.path.basename(out_prefix)
    doc, weights = export_graph(model, input_shape, name, training_outputs)
    d = os.path.dirname(out_prefix)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(out_prefix + ".json", "w") as f:
        f.write(dumps_json(doc))
    if write_weights:
        meta = {"format": "pt", "producer": "bisc models/export.py", "model": name}
        with open(out_prefix + ".safetensors", "wb") as f:
            f.write(safetensors_bytes(weights, meta))
    return doc, weights


def parse_shape(s):
    try:
        dims = [int(v) for v in s.lower().split("x")]
    except ValueError:
        dims = []
    if len(dims) != 4 or any(v <= 0 for v in dims):
        raise argparse.ArgumentTypeError(f"expected NxCxHxW, got '{s}'")
    return dims


def parse_kv(s):
    import ast
    if "=" not in s:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{s}'")
    k, v = s.split("=", 1)
    try:
        v = ast.literal_eval(v)
    except (ValueError, SyntaxError):
        pass  # plain string
    return k, v


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="export.py",
        description="Export a PyTorch model to a bisc JSON graph + safetensors weights.",
        epilog="bundled variants: bisenetv1_xception39, bisenetv1_resnet18, bisenetv1_resnet101, "
               "bisenetv2, bisenetv2_large")
    p.add_argument("--model", required=True,
                   help="bundled variant name, or path/to/file.py:factory, or package.module:factory")
    p.add_argument("--input-shape", required=True, type=parse_shape, metavar="NxCxHxW")
    p.add_argument("-o", "--output", required=True, metavar="DIR/NAME",
                   help="writes DIR/NAME.json and DIR/NAME.safetensors")
    w = p.add_mutually_exclusive_group()
    w.add_argument("--checkpoint", metavar="FILE.pth",
                   help="state_dict to load (flat, or under 'state_dict'/'model'; 'module.' "
                        "prefixes are stripped)")
    w.add_argument("--random-seed", type=int, metavar="S",
                   help="deterministic well-conditioned random weights (models/reference/weights.py)")
    p.add_argument("--training-outputs", action="store_true",
                   help="also export the auxiliary/booster heads, marked training_only")
    p.add_argument("--num-classes", type=int, help="number of classes (bundled variants: default 19)")
    p.add_argument("--arg", action="append", type=parse_kv, default=[], metavar="KEY=VALUE",
                   help="keyword argument for the factory (Python literal), repeatable")
    p.add_argument("--name", help="model name stored in the JSON (default: basename of -o)")
    p.add_argument("--no-weights", action="store_true", help="write the JSON only")
    a = p.parse_args(argv)

    def log(msg):
        print(msg, file=sys.stderr)

    try:
        doc, weights = export(a.model, a.input_shape, a.output, a.name, a.checkpoint,
                              a.random_seed, a.training_outputs, a.num_classes, dict(a.arg),
                              not a.no_weights, log)
    except ExportError as e:
        print(f"export.py: error: {e}", file=sys.stderr)
        return 1
    n_params = sum(t.numel() for k, t in weights.items()
                   if not k.endswith(("running_mean", "running_var")))
    print(f"wrote {a.output}.json ({len(doc['nodes'])} nodes, {len(doc['weights'])} weights, "
          f"{n_params} parameters, outputs: {', '.join(o['name'] for o in doc['outputs'])})"
          + ("" if a.no_weights else f" and {a.output}.safetensors"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
