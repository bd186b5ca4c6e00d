"""Small Python view of a bisc JSON graph: shape inference, parameter and MAC counts, and a
reference interpreter on torch functional ops (used by tests/python and make_goldens.py).

    python3 models/bisc_graph.py models/bisenetv2.json [--input-shape 1x3x512x1024]
prints the node count, parameters and conv GMACs (inference graph and with training outputs).
"""
import json
import math
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def live_nodes(doc, training=False):
    """Nodes needed by the outputs (training_only outputs only if training)."""
    roots = [o["value"] for o in doc["outputs"] if training or not o.get("training_only")]
    live = live_names(doc["nodes"], roots)
    return [n for n in doc["nodes"] if n["name"] in live], live


def live_names(nodes, roots):
    """Names of the values `roots` depend on (nodes are dicts with "name" and "inputs")."""
    by_name = {n["name"]: n for n in nodes}
    stack, live = list(roots), set()
    while stack:
        n = stack.pop()
        if n in live:
            continue
        live.add(n)
        if n in by_name:
            stack.extend(by_name[n]["inputs"])
    return live


def _pool_out(i, k, s, p0, p1, d, ceil_mode):
    eff = d * (k - 1) + 1
    if ceil_mode:
        o = -(-(i + p0 + p1 - eff) // s) + 1
        if (o - 1) * s >= i + p0:  # the last window must start inside the input or left pad
            o -= 1
    else:
        o = (i + p0 + p1 - eff) // s + 1
    return o


def infer_shapes(doc, input_shape=None):
    shapes = {}
    for i in doc["inputs"]:
        shapes[i["name"]] = list(input_shape if input_shape is not None else i["shape"])
    for w in doc["weights"]:
        shapes[w["name"]] = list(w["shape"])
    for n in doc["nodes"]:
        op, a = n["op"], n.get("attrs", {})
        ins = [shapes[x] for x in n["inputs"]]
        x = ins[0]
        if op == "conv2d":
            w = ins[1]
            s = a.get("stride", [1, 1])
            p = a.get("pads", [0, 0, 0, 0])
            d = a.get("dilation", [1, 1])
            g = a.get("groups", 1)
            assert x[1] == w[1] * g, (n["name"], x, w, g)
            h = (x[2] + p[0] + p[2] - d[0] * (w[2] - 1) - 1) // s[0] + 1
            wd = (x[3] + p[1] + p[3] - d[1] * (w[3] - 1) - 1) // s[1] + 1
            out = [x[0], w[0], h, wd]
        elif op in ("max_pool", "avg_pool"):
            k, s = a["kernel"], a["stride"]
            p = a.get("pads", [0, 0, 0, 0])
            d = a.get("dilation", [1, 1])
            c = a.get("ceil_mode", False)
            out = [x[0], x[1], _pool_out(x[2], k[0], s[0], p[0], p[2], d[0], c),
                   _pool_out(x[3], k[1], s[1], p[1], p[3], d[1], c)]
        elif op == "global_avg_pool":
            out = [x[0], x[1], 1, 1]
        elif op in ("add", "mul"):
            b = ins[1]
            r = max(len(x), len(b))
            xa, ba = [1] * (r - len(x)) + x, [1] * (r - len(b)) + b
            out = []
            for u, v in zip(xa, ba):
                assert u == v or u == 1 or v == 1, (n["name"], x, b)
                out.append(max(u, v))
        elif op == "concat":
            ax = a.get("axis", 1)
            out = list(x)
            out[ax] = sum(t[ax] for t in ins)
        elif op == "resize":
            if len(ins) > 1:
                out = [x[0], x[1], ins[1][2], ins[1][3]]
            else:
                sc = a["scale"]
                out = [x[0], x[1], int(math.floor(x[2] * sc[0])), int(math.floor(x[3] * sc[1]))]
        elif op == "argmax":
            ax = a.get("axis", 1)
            out = x[:ax] + x[ax + 1:]
        elif op in ("batch_norm", "relu", "sigmoid", "dropout", "softmax", "log_softmax"):
            out = list(x)
        else:
            raise ValueError(f"unknown op {op}")
        shapes[n["name"]] = out
    return shapes


def conv_macs(doc, input_shape=None, training=False):
    shapes = infer_shapes(doc, input_shape)
    nodes, _ = live_nodes(doc, training)
    total = 0
    for n in nodes:
        if n["op"] == "conv2d":
            o = shapes[n["name"]]
            w = shapes[n["inputs"][1]]
            total += o[0] * o[1] * o[2] * o[3] * w[1] * w[2] * w[3]
    return total


def param_count(doc, training=False):
    """Trainable parameters read by the graph (BN running statistics excluded)."""
    nodes, _ = live_nodes(doc, training)
    wshape = {w["name"]: w["shape"] for w in doc["weights"]}
    used = {i for n in nodes for i in n["inputs"] if i in wshape}
    return sum(math.prod(wshape[k]) for k in used
               if not k.endswith(("running_mean", "running_var")))


def run(doc, weights, x, outputs=None):
    """Evaluate the graph with torch functional ops; returns {output name: tensor}."""
    import torch
    import torch.nn.functional as F
    env = dict(weights)
    env[doc["inputs"][0]["name"]] = x
    for n in doc["nodes"]:
        op, a = n["op"], n.get("attrs", {})
        ins = [env[i] for i in n["inputs"]]
        v = ins[0]
        if op == "conv2d":
            p = a.get("pads", [0, 0, 0, 0])
            if p[0] != p[2] or p[1] != p[3]:
                v = F.pad(v, [p[1], p[3], p[0], p[2]])
                p = [0, 0, 0, 0]
            r = F.conv2d(v, ins[1], ins[2] if len(ins) > 2 else None, a.get("stride", [1, 1]),
                         [p[0], p[1]], a.get("dilation", [1, 1]), a.get("groups", 1))
        elif op == "batch_norm":
            r = F.batch_norm(v, ins[3], ins[4], ins[1], ins[2], False, 0.0, a.get("eps", 1e-5))
        elif op == "relu":
            r = torch.relu(v)
        elif op == "sigmoid":
            r = torch.sigmoid(v)
        elif op == "add":
            r = v + ins[1]
        elif op == "mul":
            r = v * ins[1]
        elif op == "concat":
            r = torch.cat(ins, dim=a.get("axis", 1))
        elif op == "max_pool":
            p = a.get("pads", [0, 0, 0, 0])
            r = F.max_pool2d(v, a["kernel"], a["stride"], [p[0], p[1]], a.get("dilation", [1, 1]),
                             a.get("ceil_mode", False))
        elif op == "avg_pool":
            p = a.get("pads", [0, 0, 0, 0])
            r = F.avg_pool2d(v, a["kernel"], a["stride"], [p[0], p[1]], a.get("ceil_mode", False),
                             a.get("count_include_pad", True))
        elif op == "global_avg_pool":
            r = v.mean(dim=(2, 3), keepdim=True)
        elif op == "resize":
            mode = a.get("mode", "nearest")
            ac = a.get("align_corners", False) if mode == "bilinear" else None
            if len(ins) > 1:
                r = F.interpolate(v, size=ins[1].shape[2:], mode=mode, align_corners=ac)
            else:
                r = F.interpolate(v, scale_factor=a["scale"], mode=mode, align_corners=ac)
        elif op == "dropout":
            r = v
        elif op == "argmax":
            r = torch.argmax(v, dim=a.get("axis", 1)).to(torch.int32)
        elif op == "softmax":
            r = torch.softmax(v, dim=a.get("axis", 1))
        elif op == "log_softmax":
            r = torch.log_softmax(v, dim=a.get("axis", 1))
        else:
            raise ValueError(f"unknown op {op}")
        env[n["name"]] = r
    return {o["name"]: env[o["value"]] for o in doc["outputs"]
            if outputs is None or o["name"] in outputs}


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("json")
    p.add_argument("--input-shape")
    a = p.parse_args(argv)
    doc = load(a.json)
    shape = [int(v) for v in a.input_shape.split("x")] if a.input_shape else None
    for tr in (False, True):
        nodes, _ = live_nodes(doc, tr)
        print(f"{'with training outputs' if tr else 'inference':>22}: {len(nodes)} nodes, "
              f"{param_count(doc, tr):,} parameters, "
              f"{conv_macs(doc, shape, tr) / 1e9:.2f} conv GMACs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
