"""Tests of models/: reference networks, exporter, bundled graphs and golden data.

    /usr/bin/python3 -m unittest discover -s tests/python
"""
import functools
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "models")
sys.path.insert(0, MODELS)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import bisc_graph  # noqa: E402
import export  # noqa: E402
import make_goldens  # noqa: E402
from reference import VARIANTS  # noqa: E402
from reference.weights import reference_state_dict  # noqa: E402

PY = sys.executable

# bisenet-architecture.md section 5 (n = 19): params inference / incl. aux, GMACs 512x1024 and
# 1024x2048 (conv multiply-adds of the inference graph).
DOC = {
    "bisenetv2": (3_358_627, 5_231_487, 24.60, 98.41),
    "bisenetv1_resnet18": (13_275_539, 13_425_721, 29.59, 118.34),
    "bisenetv1_xception39": (1_541_963, 1_842_289, 6.94, 27.76),
    "bisenetv1_resnet101": (47_638_803, 48_239_417, 109.01, 436.03),
}
# V2-Large has no public definition; these are the values of our interpretation (section 1.7),
# pinned so that an accidental change shows up.
PINNED = {"bisenetv2_large": (20_492_339, 22_641_679, 121.72, 486.88)}
# Two fp32 runs of V2-Large differ by up to ~1.5e-5 of max|logit| (the others ~5e-6); a wrong
# golden is off by O(1).
GOLDEN_REGEN_TOL = 5e-5


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@functools.lru_cache(maxsize=None)
def ref_weights(variant):
    """The seed-0 reference weights; under ctest, the copy the weights fixture just wrote with
    the same code (BISC_MODEL_WEIGHTS), which saves recomputing the BN calibration."""
    d = os.environ.get("BISC_MODEL_WEIGHTS")
    if d:
        return export.read_safetensors(os.path.join(d, variant + ".safetensors"))
    return reference_state_dict(variant, make_goldens.WEIGHT_SEED)


def bundled_doc(variant):
    return bisc_graph.load(os.path.join(MODELS, variant + ".json"))


def run_export_cli(*args):
    return subprocess.run([PY, os.path.join(MODELS, "export.py"), *args], capture_output=True,
                          text=True, timeout=120)


class ParamCounts(unittest.TestCase):
    def test_reference_models(self):
        for v, (inf, full, _, _) in {**DOC, **PINNED}.items():
            with self.subTest(variant=v):
                self.assertEqual(n_params(VARIANTS[v](aux_mode="eval")), inf)
                self.assertEqual(n_params(VARIANTS[v](aux_mode="train")), full)

    def test_bundled_json(self):
        for v, (inf, full, _, _) in {**DOC, **PINNED}.items():
            with self.subTest(variant=v):
                doc = bundled_doc(v)
                self.assertEqual(bisc_graph.param_count(doc, training=False), inf)
                self.assertEqual(bisc_graph.param_count(doc, training=True), full)

    def test_public_key_layouts(self):
        # one key per row of bisenet-architecture.md section 7, so that a checkpoint trained with
        # the public code loads without renaming
        keys = {
            "bisenetv2": [
                "detail.S1.0.conv.weight", "detail.S3.2.bn.running_var",
                "segment.S1S2.conv.conv.weight", "segment.S1S2.left.1.bn.bias",
                "segment.S1S2.fuse.conv.weight", "segment.S3.0.conv1.conv.weight",
                "segment.S3.0.dwconv1.0.weight", "segment.S4.0.dwconv2.1.running_mean",
                "segment.S5_4.0.conv2.1.weight", "segment.S5_4.0.shortcut.0.weight",
                "segment.S5_4.0.shortcut.3.bias", "segment.S3.1.dwconv.0.weight",
                "segment.S5_4.3.conv2.0.weight", "segment.S5_5.bn.running_mean",
                "segment.S5_5.conv_gap.conv.weight", "segment.S5_5.conv_last.bn.weight",
                "bga.left1.2.weight", "bga.left2.1.weight", "bga.right1.0.weight",
                "bga.right2.2.weight", "bga.conv.1.running_var", "head.conv.conv.weight",
                "head.conv_out.1.bias", "aux5_4.conv_out.0.1.conv.weight",
                "aux2.conv_out.1.weight"],
            "bisenetv1_resnet18": [
                "cp.resnet.conv1.weight", "cp.resnet.bn1.running_mean",
                "cp.resnet.layer4.1.conv2.weight", "cp.resnet.layer2.0.downsample.0.weight",
                "cp.resnet.layer3.0.downsample.1.running_var", "cp.arm16.conv.conv.weight",
                "cp.arm32.conv_atten.weight", "cp.arm32.bn_atten.bias",
                "cp.conv_head32.bn.weight", "cp.conv_avg.conv.weight", "sp.conv_out.bn.weight",
                "ffm.convblk.conv.weight", "ffm.conv.weight", "ffm.bn.running_mean",
                "conv_out.conv.conv.weight", "conv_out.conv_out.bias",
                "conv_out16.conv_out.weight", "conv_out32.conv.bn.weight"],
            "bisenetv1_xception39": [
                "context_path.conv1.conv.weight", "context_path.conv1.bn.weight",
                "context_path.layer2.7.residual_branch.2.conv1.weight",
                "context_path.layer3.0.residual_branch.0.point_wise_cbr.bn.running_var",
                "context_path.layer1.0.proj.conv1.weight",
                "context_path.layer1.0.proj.point_wise_cbr.conv.weight",
                "spatial_path.conv_7x7.conv.weight", "spatial_path.conv_1x1.bn.bias",
                "global_context.1.conv.weight", "arms.1.conv_3x3.bn.weight",
                "arms.0.channel_attention.1.bn.running_mean", "refines.1.conv.weight",
                "ffm.conv_1x1.conv.weight", "ffm.channel_attention.2.conv.weight",
                "heads.2.conv_3x3.conv.weight", "heads.2.conv_1x1.bias",
                "heads.0.conv_1x1.weight"],
            "bisenetv1_resnet101": [
                "context_path.conv1.0.weight", "context_path.conv1.1.running_var",
                "context_path.conv1.3.weight", "context_path.conv1.4.bias",
                "context_path.conv1.6.weight", "context_path.bn1.weight",
                "context_path.layer3.22.conv3.weight", "context_path.layer1.0.downsample.1.bias",
                "context_path.layer4.2.bn3.weight", "arms.0.conv_3x3.conv.weight",
                "heads.2.conv_1x1.weight"],
        }
        for v, want in keys.items():
            have = set(VARIANTS[v](aux_mode="train").state_dict())
            for k in want:
                self.assertIn(k, have, v)
        # the inference models' heads: TorchSeg keeps heads.2.*, CoinCheung drops the aux keys
        eval_keys = set(VARIANTS["bisenetv1_xception39"](aux_mode="eval").state_dict())
        self.assertIn("heads.2.conv_1x1.weight", eval_keys)
        self.assertFalse(any(k.startswith(("heads.0", "heads.1")) for k in eval_keys))
        self.assertFalse(any(k.startswith("aux") for k in VARIANTS["bisenetv2"]().state_dict()))

    def test_state_dict_tensor_counts(self):
        # section 5: V2 327 / 383, V1 206 / 222 state_dict tensors (incl. BN counters)
        for v, (a, b) in {"bisenetv2": (327, 383), "bisenetv1_resnet18": (206, 222)}.items():
            self.assertEqual(len(VARIANTS[v](aux_mode="eval").state_dict()), a)
            self.assertEqual(len(VARIANTS[v](aux_mode="train").state_dict()), b)


class Macs(unittest.TestCase):
    def test_macs(self):
        for v, (_, _, g512, g1024) in {**DOC, **PINNED}.items():
            with self.subTest(variant=v):
                doc = bundled_doc(v)
                m512 = bisc_graph.conv_macs(doc, [1, 3, 512, 1024]) / 1e9
                m1024 = bisc_graph.conv_macs(doc, [1, 3, 1024, 2048]) / 1e9
                # The doc rounds to 0.01; V1-R18 is 29.5847 (the doc's 29.59 = 118.34 / 4)
                self.assertLess(abs(m512 - g512), 0.006, m512)
                self.assertLess(abs(m1024 - g1024), 0.006, m1024)

    def test_x39_small(self):
        m = bisc_graph.conv_macs(bundled_doc("bisenetv1_xception39"), [1, 3, 360, 640]) / 1e9
        self.assertAlmostEqual(m, 3.07, delta=0.006)

    def test_conv_counts(self):
        # section 8: the inference graphs contain 56 convs (V2) and 35 (V1-R18)
        for v, n in {"bisenetv2": 56, "bisenetv1_resnet18": 35}.items():
            nodes, _ = bisc_graph.live_nodes(bundled_doc(v))
            self.assertEqual(sum(1 for x in nodes if x["op"] == "conv2d"), n)


class BundledGraphs(unittest.TestCase):
    def test_bundled_json_equals_fresh_export(self):
        for v in VARIANTS:
            with self.subTest(variant=v):
                model = VARIANTS[v](aux_mode="train")
                doc, _ = export.export_graph(model, [1, 3, 512, 1024], v, training_outputs=True)
                with open(os.path.join(MODELS, v + ".json")) as f:
                    self.assertEqual(f.read(), export.dumps_json(doc))

    def test_outputs_and_names(self):
        names = {"bisenetv2": ["logits", "aux2", "aux3", "aux4", "aux5_4"],
                 "bisenetv2_large": ["logits", "aux2", "aux3", "aux4", "aux5_4"],
                 "bisenetv1_resnet18": ["logits", "aux16", "aux32"],
                 "bisenetv1_xception39": ["logits", "aux0", "aux1"],
                 "bisenetv1_resnet101": ["logits", "aux0", "aux1"]}
        for v, want in names.items():
            doc = bundled_doc(v)
            self.assertEqual([o["name"] for o in doc["outputs"]], want)
            self.assertEqual([bool(o.get("training_only")) for o in doc["outputs"]],
                             [False] + [True] * (len(want) - 1))
            keys = set(VARIANTS[v](aux_mode="train").state_dict())
            for w in doc["weights"]:
                self.assertIn(w["name"], keys)
                self.assertFalse(w["name"].endswith("num_batches_tracked"))
            names_seen = [n["name"] for n in doc["nodes"]]
            self.assertEqual(len(names_seen), len(set(names_seen)))

    def test_specific_attrs(self):
        doc = bundled_doc("bisenetv2")
        nodes = {n["name"]: n for n in doc["nodes"]}
        self.assertEqual(nodes["bga.left2.2"]["op"], "avg_pool")
        self.assertEqual(nodes["bga.left2.2"]["attrs"],
                         {"kernel": [3, 3], "stride": [2, 2], "pads": [1, 1, 1, 1]})
        self.assertEqual(nodes["bga.up1"]["attrs"], {"mode": "nearest", "scale": [4.0, 4.0]})
        self.assertEqual(nodes["head.conv_out.2"]["attrs"],
                         {"mode": "bilinear", "align_corners": False, "scale": [8.0, 8.0]})
        self.assertEqual(nodes["segment.S5_5.gap"]["op"], "global_avg_pool")
        self.assertEqual(nodes["segment.S5_5.bn"]["inputs"][0], "segment.S5_5.gap")
        self.assertEqual(nodes["head.drop"], {"name": "head.drop", "op": "dropout",
                                              "inputs": ["head.conv.relu"], "attrs": {"p": 0.1}})
        ts = {n["name"]: n for n in bundled_doc("bisenetv1_xception39")["nodes"]}
        like = [n for n in ts.values() if n["op"] == "resize" and len(n["inputs"]) == 2]
        self.assertEqual(len(like), 3)
        self.assertTrue(all(n["attrs"] == {"mode": "bilinear", "align_corners": True}
                            for n in like))
        self.assertEqual(ts["log_softmax"]["op"], "log_softmax")


class Goldens(unittest.TestCase):
    def test_goldens_regenerate(self):
        x = make_goldens.golden_input()
        for v in VARIANTS:
            with self.subTest(variant=v):
                xin = np.load(os.path.join(MODELS, "golden", v + ".input.npy"))
                want = np.load(os.path.join(MODELS, "golden", v + ".logits.npy"))
                self.assertEqual(xin.dtype, np.float32)
                self.assertEqual(xin.shape, (1, 3, 64, 128))
                self.assertEqual(xin.tobytes(), x.numpy().tobytes())
                model = VARIANTS[v](aux_mode="eval")
                export.load_weights(model, ref_weights(v), "reference weights")
                model.eval()
                threads = torch.get_num_threads()
                with torch.no_grad():
                    torch.set_num_threads(1)  # as make_goldens.py
                    try:
                        got = model(x)[0].numpy()
                    finally:
                        torch.set_num_threads(threads)
                self.assertEqual(got.shape, want.shape)
                # Bit-identical on the machine that wrote them; elsewhere PyTorch may pick other
                # kernels (and calibrate slightly different BN statistics): allow fp32 noise.
                self.assertLess(np.abs(got - want).max() / np.abs(want).max(), GOLDEN_REGEN_TOL)
                # the exported graph (interpreted with torch ops) gives the same numbers
                doc, w = export.export_graph(model, [1, 3, 64, 128], v, False)
                with torch.no_grad():
                    z = bisc_graph.run(doc, w, x)["logits"].numpy()
                self.assertLess(np.abs(z - want).max() / np.abs(want).max(), 1e-5)


class ExportCli(unittest.TestCase):
    def test_deterministic_export(self):
        with tempfile.TemporaryDirectory() as d:
            r = run_export_cli("--model", "bisenetv2", "--input-shape", "1x3x64x128",
                               "--random-seed", "0", "--training-outputs", "-o", f"{d}/a")
            self.assertEqual(r.returncode, 0, r.stderr)
            export.export("bisenetv2", [1, 3, 64, 128], f"{d}/b", name="a", seed=0,
                          training_outputs=True)
            for ext in (".json", ".safetensors"):
                with open(f"{d}/a{ext}", "rb") as fa, open(f"{d}/b{ext}", "rb") as fb:
                    self.assertEqual(fa.read(), fb.read(), ext)
            # the weights are the reference weights of seed 0
            w = export.read_safetensors(f"{d}/a.safetensors")
            sd = ref_weights("bisenetv2")
            self.assertEqual(len(w), 321)
            for k, t in w.items():
                self.assertTrue(torch.equal(t, sd[k]), k)

    def test_checkpoint_roundtrip(self):
        # a TorchSeg-style checkpoint ({'model': ...} with 'module.' prefixes) loads unchanged
        sd = ref_weights("bisenetv1_xception39")
        with tempfile.TemporaryDirectory() as d:
            torch.save({"model": {"module." + k: v for k, v in sd.items()}, "epoch": 1},
                       f"{d}/ck.pth")
            export.export("bisenetv1_xception39", [1, 3, 64, 128], f"{d}/a", checkpoint=f"{d}/ck.pth")
            export.export("bisenetv1_xception39", [1, 3, 64, 128], f"{d}/b", name="a", seed=0)
            for ext in (".json", ".safetensors"):
                with open(f"{d}/a{ext}", "rb") as fa, open(f"{d}/b{ext}", "rb") as fb:
                    self.assertEqual(fa.read(), fb.read(), ext)
            doc = bisc_graph.load(f"{d}/a.json")
            self.assertEqual([o["name"] for o in doc["outputs"]], ["logits"])

    def test_checkpoint_errors(self):
        with tempfile.TemporaryDirectory() as d:
            # a checkpoint of another model: the missing tensors are named, no traceback
            torch.save(VARIANTS["bisenetv1_resnet18"]().state_dict(), f"{d}/r18.pth")
            r = run_export_cli("--model", "bisenetv2", "--checkpoint", f"{d}/r18.pth",
                               "--input-shape", "1x3x64x128", "-o", f"{d}/out")
            self.assertEqual(r.returncode, 1)
            self.assertIn("lacks", r.stderr)
            self.assertIn("detail.S1.0.conv.weight", r.stderr)
            self.assertNotIn("Traceback", r.stderr)
            self.assertFalse(os.path.exists(f"{d}/out.json"))
            # the right keys with a wrong shape (another number of classes) ...
            torch.save(VARIANTS["bisenetv2"](n_classes=5).state_dict(), f"{d}/n5.pth")
            with self.assertRaises(export.ExportError) as cm:
                export.export("bisenetv2", [1, 3, 64, 128], f"{d}/out", checkpoint=f"{d}/n5.pth")
            self.assertIn("head.conv_out.1.weight", str(cm.exception))
            self.assertIn("(5, 1024, 1, 1)", str(cm.exception))
            # ... which --num-classes fixes
            doc, _ = export.export("bisenetv2", [1, 3, 64, 128], f"{d}/out", n_classes=5,
                                   checkpoint=f"{d}/n5.pth")
            self.assertEqual(bisc_graph.infer_shapes(doc)[doc["outputs"][0]["value"]],
                             [1, 5, 64, 128])
            # not a checkpoint at all
            with open(f"{d}/junk.pth", "w") as f:
                f.write("not a checkpoint")
            with self.assertRaises(export.ExportError) as cm:
                export.export("bisenetv2", [1, 3, 64, 128], f"{d}/out2", checkpoint=f"{d}/junk.pth")
            self.assertIn("cannot read checkpoint", str(cm.exception))
            self.assertFalse(os.path.exists(f"{d}/out2.json"))

    def test_safetensors_layout(self):
        t = {"a.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3),
             "b": torch.tensor([1.5], dtype=torch.float32)}
        raw = export.safetensors_bytes(t, {"k": "v"})
        n = int.from_bytes(raw[:8], "little")
        self.assertEqual((8 + n) % 8, 0)
        import json
        h = json.loads(raw[8:8 + n])
        self.assertEqual(h["__metadata__"], {"k": "v"})
        self.assertEqual(h["a.weight"], {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]})
        self.assertEqual(h["b"]["data_offsets"], [24, 28])
        self.assertEqual(len(raw), 8 + n + 28)
        self.assertEqual(np.frombuffer(raw[8 + n + 24:], "<f4")[0], 1.5)

    def test_unsupported_module_cli(self):
        src = (
            "import torch, torch.nn as nn\n"
            "class Block(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.conv = nn.Conv2d(3, 8, 3, padding=1)\n"
            "        self.act = nn.GELU()\n"
            "    def forward(self, x):\n"
            "        return self.act(self.conv(x))\n"
            "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.body = nn.Sequential(Block())\n"
            "    def forward(self, x):\n"
            "        return self.body(x)\n"
            "class Flat(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.stem = Block2()\n"
            "    def forward(self, x):\n"
            "        return self.stem(x)\n"
            "class Block2(nn.Module):\n"
            "    def forward(self, x):\n"
            "        return torch.flatten(x, 1)\n"
            "def make():\n"
            "    return Net()\n"
            "def make_flat():\n"
            "    return Flat()\n"
        )
        with tempfile.TemporaryDirectory() as d:
            with open(f"{d}/user_net.py", "w") as f:
                f.write(src)
            r = run_export_cli("--model", f"{d}/user_net.py:make", "--input-shape", "1x3x32x32",
                               "-o", f"{d}/out")
            self.assertEqual(r.returncode, 1)
            self.assertIn("body.0.act", r.stderr)
            self.assertIn("GELU", r.stderr)
            self.assertNotIn("Traceback", r.stderr)
            self.assertFalse(os.path.exists(f"{d}/out.json"))
            # the function case, through the API
            fac, _ = export.resolve_factory(f"{d}/user_net.py:make_flat")
            with self.assertRaises(export.ExportError) as cm:
                export.export_graph(fac(), [1, 3, 32, 32], "x")
            self.assertIn("torch.flatten", str(cm.exception))
            self.assertIn("'stem'", str(cm.exception))

    def test_user_model_export_numerics(self):
        # a user module through path:factory, with functional ops and a size-like resize
        src = (
            "import torch, torch.nn as nn, torch.nn.functional as F\n"
            "class Net(nn.Module):\n"
            "    def __init__(self, n_classes=5):\n"
            "        super().__init__()\n"
            "        self.a = nn.Conv2d(3, 8, 3, 2, 1)\n"
            "        self.bn = nn.BatchNorm2d(8)\n"
            "        self.pool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)\n"
            "        self.b = nn.Conv2d(8, 8, 3, 1, 'same', groups=2, bias=False)\n"
            "        self.cls = nn.Conv2d(16, n_classes, 1)\n"
            "    def forward(self, x):\n"
            "        y = F.relu(self.bn(self.a(x)))\n"
            "        z = self.b(self.pool(y))\n"
            "        z = F.interpolate(z, size=y.shape[2:], mode='bilinear', align_corners=False)\n"
            "        g = y.mean((2, 3), keepdim=True).sigmoid()\n"
            "        h = torch.cat([y * g, z + y], dim=1)\n"
            "        h = F.avg_pool2d(h, 3, 1, 1, count_include_pad=False)\n"
            "        return F.interpolate(self.cls(h), scale_factor=2).softmax(dim=1).argmax(1)\n"
            "def make(n_classes=5):\n"
            "    return Net(n_classes)\n"
        )
        with tempfile.TemporaryDirectory() as d:
            with open(f"{d}/net2.py", "w") as f:
                f.write(src)
            doc, w = export.export(f"{d}/net2.py:make", [2, 3, 30, 46], f"{d}/n", seed=3,
                                   args={"n_classes": 7})
            model = export.build_model(f"{d}/net2.py:make", None, False, {"n_classes": 7},
                                       None, 3, [2, 3, 30, 46])
            x = torch.randn(2, 3, 30, 46)
            with torch.no_grad():
                want = model(x)
                got = bisc_graph.run(doc, export.read_safetensors(f"{d}/n.safetensors"), x)
            self.assertTrue(torch.equal(got["logits"].long(), want))
            ops = [n["op"] for n in doc["nodes"]]
            for op in ("max_pool", "avg_pool", "global_avg_pool", "concat", "softmax", "argmax"):
                self.assertIn(op, ops)
            shapes = bisc_graph.infer_shapes(doc)
            self.assertEqual(shapes[doc["outputs"][0]["value"]], [2, 30, 46])


if __name__ == "__main__":
    unittest.main()
