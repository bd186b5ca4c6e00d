"""ONNX files for the ONNX frontend tests (tests/onnx/onnx_suite.py prepare).

Three kinds, all written to one directory:
  * the five PyTorch references of models/reference exported by torch.onnx.export (eval mode,
    reference weights of seed 0, 1x3x64x128) at opsets 11 and 13, plus V2 with dynamic axes;
  * small graphs built with onnx.helper, one per operator feature (Resize coordinate modes,
    Upsample, Pad feeding a pool, shape chains, Transpose-wrapped Softmax, CustomArgMax...);
  * broken files (truncated, missing initializer, unsupported ops, opset out of range...).
Each small graph comes with its input .npy; weights are drawn from a fixed numpy seed.
"""
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "models")

REFERENCE_VARIANTS = ["bisenetv1_xception39", "bisenetv1_resnet18", "bisenetv1_resnet101",
                      "bisenetv2", "bisenetv2_large"]
OPSETS = [11, 13]
SHAPE = (1, 3, 64, 128)
DYNAMIC_SHAPE = (1, 3, 96, 160)  # the size the dynamic and --input-shape cases run at


# ------------------------------------------------------------------------------------------
# PyTorch references
# ------------------------------------------------------------------------------------------

def reference_model(variant):
    sys.path.insert(0, MODELS)
    import export
    from reference import VARIANTS
    from reference.weights import reference_state_dict
    model = VARIANTS[variant](n_classes=19, aux_mode="eval")
    export.load_weights(model, reference_state_dict(variant, 0), "reference weights")
    return model.eval()


def export_reference(model, path, opset, dynamic=False, fold_bn=True):
    import torch
    kwargs = {}
    if not fold_bn:  # keep BatchNormalization nodes (the exporter folds them into the convs)
        kwargs.update(do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    else:
        kwargs["do_constant_folding"] = True
    if dynamic:
        kwargs["dynamic_axes"] = {"input": {0: "batch", 2: "height", 3: "width"},
                                  "logits": {0: "batch", 2: "height", 3: "width"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(SHAPE), path, opset_version=opset,
                          input_names=["input"], output_names=["logits"], **kwargs)


def golden_input(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    return x + 0.5 * rng.standard_normal((1, shape[1], 1, 1)).astype(np.float32)


def write_reference(out, variant):
    """One variant's exports (one ctest fixture each, so ctest can run them in parallel)."""
    import torch
    torch.set_num_threads(1)
    model = reference_model(variant)
    for opset in OPSETS:
        export_reference(model, os.path.join(out, f"{variant}.opset{opset}.onnx"), opset)
    if variant == "bisenetv1_xception39":  # resizes to the size of other tensors: Shape chains
        export_reference(model, os.path.join(out, f"{variant}.dynamic.onnx"), 11, dynamic=True)
    if variant == "bisenetv2":
        export_reference(model, os.path.join(out, "bisenetv2.dynamic.onnx"), 13, dynamic=True)
        export_reference(model, os.path.join(out, "bisenetv2.bn_unfolded.onnx"), 13, fold_bn=False)
        # the newest opset this torch writes, and opset 9, where bilinear becomes an Upsample
        # whose (asymmetric) coordinates differ from PyTorch's: bisc must refuse that one
        export_reference(model, os.path.join(out, "bisenetv2.opset17.onnx"), 17)
        export_reference(model, os.path.join(out, "bisenetv2.opset9.onnx"), 9)


# ------------------------------------------------------------------------------------------
# Small graphs, one feature each
# ------------------------------------------------------------------------------------------

RNG = np.random.default_rng(1234)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def conv_weight(name, out_ch, in_ch, k):
    return init(name, (RNG.standard_normal((out_ch, in_ch, k, k)) * (2.0 / (in_ch * k * k)) ** 0.5)
                .astype(np.float32))


def tensor_info(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, inits=(), opset=13, name="case"):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="bisc-tests")
    m.ir_version = 7
    return with_output_shapes(m)


def with_output_shapes(m):
    """The checker wants every graph output typed with a shape: take it from ONNX's inference."""
    try:
        inferred = onnx.shape_inference.infer_shapes(m)
    except Exception:  # opsets this onnx does not know: leave the outputs as they are
        return m
    known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for out in m.graph.output:
        if not out.type.tensor_type.HasField("shape") and out.name in known:
            out.type.CopyFrom(known[out.name].type)
    return m


def resize_case(shape, mode, coord, scales=None, sizes=None, nearest_mode="floor", opset=13):
    if opset < 11:  # Resize-10: X, scales; no coordinate modes
        node = helper.make_node("Resize", ["x", "scales"], ["y"], name="resize", mode=mode)
        return model([node], [tensor_info("x", shape)], [tensor_info("y", None)],
                     [init("scales", np.array(scales, np.float32))], opset)
    inits = [init("roi", np.array([], np.float32))]
    inputs = ["x", "roi"]
    if scales is not None:
        inits.append(init("scales", np.array(scales, np.float32)))
        inputs.append("scales")
    else:
        inits += [init("no_scales", np.array([], np.float32)), init("sizes", np.array(sizes, np.int64))]
        inputs += ["no_scales", "sizes"]
    node = helper.make_node("Resize", inputs, ["y"], name="resize", mode=mode,
                            coordinate_transformation_mode=coord, nearest_mode=nearest_mode)
    return model([node], [tensor_info("x", shape)], [tensor_info("y", None)], inits, opset)


def resize_like_case():
    """Resize to the size of another tensor through Shape -> Gather -> Unsqueeze -> Concat."""
    nodes = [
        helper.make_node("MaxPool", ["x"], ["small"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Shape", ["small"], ["small_shape"], name="shape_small"),
        helper.make_node("Slice", ["small_shape", "zero", "two"], ["nc"], name="nc"),
        helper.make_node("Shape", ["x"], ["x_shape"], name="shape_x"),
        helper.make_node("Gather", ["x_shape", "two_scalar"], ["h"], name="gather_h", axis=0),
        helper.make_node("Gather", ["x_shape", "three_scalar"], ["w"], name="gather_w", axis=0),
        helper.make_node("Unsqueeze", ["h", "axes0"], ["h1"], name="unsqueeze_h"),
        helper.make_node("Unsqueeze", ["w", "axes0"], ["w1"], name="unsqueeze_w"),
        helper.make_node("Concat", ["nc", "h1", "w1"], ["sizes"], name="sizes", axis=0),
        helper.make_node("Cast", ["sizes"], ["sizes64"], name="cast", to=TensorProto.INT64),
        helper.make_node("Resize", ["small", "", "", "sizes64"], ["up"], name="resize", mode="linear",
                         coordinate_transformation_mode="align_corners"),
        helper.make_node("Add", ["up", "x"], ["y"], name="add"),
    ]
    inits = [init("zero", np.array([0], np.int64)), init("two", np.array([2], np.int64)),
             init("two_scalar", np.array(2, np.int64)), init("three_scalar", np.array(3, np.int64)),
             init("axes0", np.array([0], np.int64))]
    return model(nodes, [tensor_info("x", [1, 3, 16, 24])], [tensor_info("y", None)], inits)


def upsample_case(opset):
    if opset >= 9:
        node = helper.make_node("Upsample", ["x", "scales"], ["y"], name="up", mode="nearest")
        inits = [init("scales", np.array([1, 1, 2, 3], np.float32))]
    else:
        node = helper.make_node("Upsample", ["x"], ["y"], name="up", mode="nearest", scales=[1.0, 1.0, 2.0, 3.0])
        inits = []
    return model([node], [tensor_info("x", [1, 3, 5, 7])], [tensor_info("y", None)], inits, opset)


def pad_pool_case(pool, relu_first):
    nodes, src = [], "x"
    if relu_first:
        nodes.append(helper.make_node("Relu", ["x"], ["r"], name="relu"))
        src = "r"
    nodes.append(helper.make_node("Pad", [src, "pads"], ["p"], name="pad", mode="constant"))
    nodes.append(helper.make_node(pool, ["p"], ["y"], name="pool", kernel_shape=[3, 3], strides=[2, 2]))
    inits = [init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))]
    return model(nodes, [tensor_info("x", [1, 4, 11, 14])], [tensor_info("y", None)], inits, 11)


def pool_case(pool, **attrs):
    node = helper.make_node(pool, ["x"], ["y"], name="pool", **attrs)
    return model([node], [tensor_info("x", [1, 4, 11, 14])], [tensor_info("y", None)])


def context_case():
    """CE-like: ReduceMean over H,W -> BatchNormalization -> Conv 1x1 -> Relu, broadcast Add,
    then Conv with auto_pad SAME_UPPER, Dropout, Identity, Concat, Sigmoid gate."""
    c = 8
    nodes = [
        helper.make_node("Conv", ["x", "w0", "b0"], ["f"], name="conv0", pads=[1, 1, 1, 1]),
        helper.make_node("ReduceMean", ["f"], ["g"], name="mean", axes=[2, 3], keepdims=1),
        helper.make_node("BatchNormalization", ["g", "gamma", "beta", "mean_", "var_"], ["gb"], name="bn",
                         epsilon=1e-5),
        helper.make_node("Conv", ["gb", "w1"], ["gc"], name="conv_gap"),
        helper.make_node("Relu", ["gc"], ["gr"], name="relu_gap"),
        helper.make_node("Add", ["f", "gr"], ["s"], name="add"),
        helper.make_node("Conv", ["s", "w2"], ["t"], name="conv_same", auto_pad="SAME_UPPER", strides=[2, 2]),
        helper.make_node("Dropout", ["t"], ["td"], name="drop"),
        helper.make_node("Identity", ["td"], ["ti"], name="ident"),
        helper.make_node("GlobalAveragePool", ["ti"], ["a"], name="gap"),
        helper.make_node("Sigmoid", ["a"], ["sa"], name="sigmoid"),
        helper.make_node("Mul", ["ti", "sa"], ["m"], name="gate"),
        helper.make_node("Concat", ["m", "ti"], ["y"], name="cat", axis=1),
    ]
    inits = [conv_weight("w0", c, 3, 3), init("b0", RNG.uniform(-0.2, 0.2, c).astype(np.float32)),
             init("gamma", RNG.uniform(0.5, 1.5, c).astype(np.float32)),
             init("beta", RNG.uniform(-0.2, 0.2, c).astype(np.float32)),
             init("mean_", RNG.uniform(-0.2, 0.2, c).astype(np.float32)),
             init("var_", RNG.uniform(0.5, 1.5, c).astype(np.float32)),
             conv_weight("w1", c, c, 1), conv_weight("w2", c, c, 3)]
    return model(nodes, [tensor_info("x", [1, 3, 15, 18])], [tensor_info("y", None)], inits)


def softmax_case(op, opset):
    """What torch exports below opset 13 for softmax over channels: Transpose, op, Transpose."""
    if opset < 13:
        nodes = [helper.make_node("Transpose", ["x"], ["t"], name="t1", perm=[0, 3, 2, 1]),
                 helper.make_node(op, ["t"], ["s"], name="softmax", axis=3),
                 helper.make_node("Transpose", ["s"], ["y"], name="t2", perm=[0, 3, 2, 1])]
    else:
        nodes = [helper.make_node(op, ["x"], ["y"], name="softmax", axis=1)]
    return model(nodes, [tensor_info("x", [1, 5, 6, 7])], [tensor_info("y", None)], opset=opset)


def argmax_case(custom, keepdims=0):
    if custom:  # as CoinCheung's export writes it: default domain, attribute dim, int32
        node = helper.make_node("CustomArgMax", ["x"], ["y"], name="argmax", dim=1)
        return model([node], [tensor_info("x", [1, 5, 6, 7])], [tensor_info("y", [1, 6, 7], TensorProto.INT32)])
    else:
        node = helper.make_node("ArgMax", ["x"], ["y"], name="argmax", axis=1, keepdims=keepdims)
    return model([node], [tensor_info("x", [1, 5, 6, 7])], [tensor_info("y", None, TensorProto.INT64)])


OP_CASES = {
    "resize_nearest_asymmetric": lambda: resize_case([1, 3, 5, 7], "nearest", "asymmetric", scales=[1, 1, 2, 3]),
    "resize_nearest_half_pixel_x2": lambda: resize_case([1, 3, 5, 7], "nearest", "half_pixel", scales=[1, 1, 2, 2],
                                                        nearest_mode="round_prefer_floor"),
    "resize_linear_half_pixel": lambda: resize_case([1, 3, 5, 7], "linear", "half_pixel", scales=[1, 1, 2, 4]),
    "resize_linear_pytorch_half_pixel": lambda: resize_case([1, 3, 8, 12], "linear", "pytorch_half_pixel",
                                                            sizes=[1, 3, 13, 19]),
    "resize_linear_align_corners": lambda: resize_case([1, 3, 5, 7], "linear", "align_corners", scales=[1, 1, 3, 2]),
    "resize_nearest_opset10": lambda: resize_case([1, 3, 5, 7], "nearest", "asymmetric",
                                                            scales=[1, 1, 2, 2], opset=10),
    "resize_shape_chain": resize_like_case,
    "upsample_opset9": lambda: upsample_case(9),
    "upsample_opset7": lambda: upsample_case(7),
    "pad_avgpool": lambda: pad_pool_case("AveragePool", False),
    "pad_maxpool_after_relu": lambda: pad_pool_case("MaxPool", True),
    "avgpool_count_include_pad": lambda: pool_case("AveragePool", kernel_shape=[3, 3], strides=[2, 2],
                                                   pads=[1, 1, 1, 1], count_include_pad=1),
    "avgpool_exclude_pad": lambda: pool_case("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    "maxpool_ceil": lambda: pool_case("MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                      ceil_mode=1),
    "context_block": context_case,
    "softmax_opset11": lambda: softmax_case("Softmax", 11),
    "log_softmax_opset11": lambda: softmax_case("LogSoftmax", 11),
    "softmax_opset13": lambda: softmax_case("Softmax", 13),
    "argmax": lambda: argmax_case(False),
    "custom_argmax": lambda: argmax_case(True),
    "argmax_keepdims": lambda: argmax_case(False, keepdims=1),
}

# The model ONNX Runtime runs in place of a case it cannot run itself.
ORACLE_STANDINS = {"custom_argmax": lambda: argmax_case(False)}


# ------------------------------------------------------------------------------------------
# Broken files
# ------------------------------------------------------------------------------------------

def tiny_conv_model(opset=13, drop_weight=False):
    nodes = [helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="conv"),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    inits = [] if drop_weight else [conv_weight("conv.weight", 4, 3, 3)]
    return model(nodes, [tensor_info("x", [1, 3, 8, 8])], [tensor_info("y", None)], inits, opset)


def unsupported_model():
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu"),
             helper.make_node("LeakyRelu", ["a"], ["b"], name="leaky", alpha=0.1),
             helper.make_node("Erf", ["b"], ["c"], name="erf"),
             helper.make_node("TopK", ["c", "k"], ["y", "idx"], name="topk", axis=1)]
    inits = [init("k", np.array([2], np.int64))]
    return model(nodes, [tensor_info("x", [1, 3, 8, 8])], [tensor_info("y", None)], inits)


def runtime_gather_model():
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu"),
             helper.make_node("Gather", ["a", "idx"], ["y"], name="gather_channels", axis=1)]
    inits = [init("idx", np.array([0, 2], np.int64))]
    return model(nodes, [tensor_info("x", [1, 3, 8, 8])], [tensor_info("y", None)], inits)


def lowering_errors_model():
    """Supported op types used in ways bisc cannot lower: each is reported, in one run."""
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu"),
             helper.make_node("Sub", ["a", "x"], ["b"], name="sub_runtime"),
             helper.make_node("Pad", ["a", "pads"], ["p"], name="pad"),
             helper.make_node("Sigmoid", ["p"], ["c"], name="sigmoid_after_pad"),
             helper.make_node("Transpose", ["a"], ["t"], name="transpose_out", perm=[0, 2, 3, 1])]
    inits = [init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))]
    return model(nodes, [tensor_info("x", [1, 3, 8, 8])],
                 [tensor_info("b", None), tensor_info("c", None), tensor_info("t", None)], inits)


def unsorted_model():
    m = tiny_conv_model()
    nodes = list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(reversed(nodes))
    return m


def dynamic_model():
    m = tiny_conv_model()
    dims = m.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    return m


BAD_CASES = {
    "missing_initializer": lambda: tiny_conv_model(drop_weight=True),
    "unsupported_ops": unsupported_model,
    "opset_too_old": lambda: tiny_conv_model(opset=6),
    "opset_too_new": lambda: tiny_conv_model(opset=18),
    "dynamic_unresolved": dynamic_model,
    "runtime_gather": runtime_gather_model,
    "lowering_errors": lowering_errors_model,
    "unsorted_nodes": unsorted_model,
    "resize_unsupported_rounding": lambda: resize_case([1, 3, 5, 7], "nearest", "asymmetric", scales=[1, 1, 3, 3],
                                                       nearest_mode="round_prefer_floor"),
}


def write_cases(out):
    np.save(os.path.join(out, "reference.input.npy"), golden_input(SHAPE, 20240601))
    np.save(os.path.join(out, "dynamic.input.npy"), golden_input(DYNAMIC_SHAPE, 7))
    for name, build in OP_CASES.items():
        m = build()
        onnx.save(m, os.path.join(out, f"{name}.onnx"))
        shape = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
        np.save(os.path.join(out, f"{name}.input.npy"), golden_input(tuple(shape), len(name)))
    for name, build in ORACLE_STANDINS.items():
        onnx.save(build(), os.path.join(out, f"{name}.oracle.onnx"))
    for name, build in BAD_CASES.items():
        onnx.save(build(), os.path.join(out, f"{name}.onnx"))
    np.save(os.path.join(out, "tiny.input.npy"), golden_input((1, 3, 8, 8), 3))
    # truncated: a conv model cut inside its weights
    data = tiny_conv_model().SerializeToString()
    with open(os.path.join(out, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) * 3 // 5])
    with open(os.path.join(out, "not_onnx.onnx"), "wb") as f:
        f.write(b"this is not a protobuf\n" * 4)
