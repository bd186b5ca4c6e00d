"""torch.fx graph -> bisc JSON document: the heart of models/export.py.

The model is traced with torch.fx (no data flows through it); every torch.nn leaf module and
every function call is mapped onto a bisc op (docs/json-format.md).  Anything else raises
ExportError naming the module path or the function and where it was called.  The weights are
the state_dict entries the traced graph reads, under their state_dict keys.
"""
import operator

import bisc_graph
import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

class ExportError(Exception):
    pass


# ------------------------------------------------------------------------------------------------
# tracing
# ------------------------------------------------------------------------------------------------

class _Tracer(fx.Tracer):
    """Default leaf rule (every torch.nn module except containers is a leaf); records for each
    node the path of the module whose forward created it (`meta['bisc_scope']`)."""

    def __init__(self):
        super().__init__()
        self._scope = []

    def path_of_module(self, mod):
        try:
            return super().path_of_module(mod)
        except NameError:
            raise ExportError(
                f"a {type(mod).__name__} module called in '{self._current()}' is not a registered "
                "submodule of the model (modules must be attributes, not created in forward)")

    def _current(self):
        return self._scope[-1] if self._scope else ""

    def call_module(self, m, forward, args, kwargs):
        self._scope.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self._scope.pop()

    def create_node(self, *args, **kwargs):
        node = super().create_node(*args, **kwargs)
        node.meta["bisc_scope"] = self._current()
        return node


def trace(model):
    try:
        return _Tracer().trace(model)
    except ExportError:
        raise
    except Exception as e:  # fx.proxy.TraceError, TypeError from data-dependent control flow ...
        raise ExportError(f"torch.fx could not trace the model: {type(e).__name__}: {e}") from e


# ------------------------------------------------------------------------------------------------
# values during graph conversion
# ------------------------------------------------------------------------------------------------

class TRef:
    """A tensor: graph input, weight or node result."""

    def __init__(self, name, rank=4):
        self.name, self.rank = name, rank


class ShapeRef:
    """(part of) the shape of a tensor: dims is a tuple of dimension indices, or an int."""

    def __init__(self, tensor, dims):
        self.tensor, self.dims = tensor, dims


def _pair(v, what):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ExportError(f"{what}: expected 2 values, got {v!r}")
        return [int(v[0]), int(v[1])]
    return [int(v), int(v)]


def _fname(fn):
    mod = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__name__", repr(fn))
    if mod in ("_operator", "operator"):
        return f"operator.{name}"
    if mod.startswith("torch.nn.functional") or fn in _FUNCTIONAL:
        return f"torch.nn.functional.{name}"
    if mod.startswith("torch") or fn in _TORCH_FUNCS:
        return f"torch.{name}"
    return f"{mod}.{name}" if mod else name


_FUNCTIONAL = {getattr(F, n) for n in dir(F) if callable(getattr(F, n))}
_TORCH_FUNCS = {getattr(torch, n) for n in ("add", "mul", "cat", "relu", "sigmoid", "mean",
                                            "argmax", "softmax", "log_softmax", "flatten")
                if hasattr(torch, n)}

_ADD = {operator.add, operator.iadd, torch.add}
_MUL = {operator.mul, operator.imul, torch.mul}
_CAT = {torch.cat} | ({torch.concat} if hasattr(torch, "concat") else set())
_RELU = {F.relu, torch.relu, F.relu_, torch.relu_}
_SIGMOID = {torch.sigmoid, F.sigmoid}
_SOFTMAX = {F.softmax, torch.softmax}
_LOG_SOFTMAX = {F.log_softmax, torch.log_softmax}


class _Converter:
    def __init__(self, model, gm_graph, input_shape):
        self.model = model
        self.graph = gm_graph
        self.input_shape = list(input_shape)
        self.state = model.state_dict(keep_vars=True)
        self.nodes = []           # bisc node dicts in topological order
        self.weights = {}         # name -> tensor (insertion = first use)
        self.used_names = set()
        self.env = {}
        self.input_name = None

    # -- helpers ---------------------------------------------------------------------------------
    def unique(self, base):
        name, i = base, 1
        while name in self.used_names or name in self.state:
            name = f"{base}_{i}"
            i += 1
        self.used_names.add(name)
        return name

    def where(self, node):
        scope = node.meta.get("bisc_scope", "")
        return f"'{scope}'" if scope else "the model's forward"

    def weight(self, key, what):
        t = self.state.get(key)
        if t is None:
            raise ExportError(f"{what}: tensor '{key}' is not in the model's state_dict")
        if not t.is_floating_point():
            raise ExportError(f"{what}: tensor '{key}' has dtype {t.dtype}, expected a float type")
        if key not in self.weights:
            self.weights[key] = t.detach().to(torch.float32).contiguous()
        return TRef(key, t.dim())

    def emit(self, name, op, inputs, attrs=None, rank=4):
        node = {"name": name, "op": op, "inputs": [i.name for i in inputs]}
        if attrs:
            node["attrs"] = attrs
        self.nodes.append(node)
        return TRef(name, rank)

    def fn_name(self, node, base):
        scope = node.meta.get("bisc_scope", "")
        return self.unique(f"{scope}.{base}" if scope else base)

    def val(self, a, node, what):
        if isinstance(a, fx.Node):
            return self.env[a]
        raise ExportError(f"{what} in {self.where(node)}: expected a tensor, got a constant {a!r} "
                          "(ops with Python scalars are not supported)")

    def tensor(self, a, node, what):
        v = self.val(a, node, what)
        if not isinstance(v, TRef):
            raise ExportError(f"{what} in {self.where(node)}: expected a tensor, got a shape value")
        return v

    @staticmethod
    def arg(node, idx, name, default=None):
        if len(node.args) > idx:
            return node.args[idx]
        return node.kwargs.get(name, default)

    def channel_dim(self, dim, rank, node, what):
        if dim is None or int(dim) not in (1, 1 - rank):
            raise ExportError(f"{what} in {self.where(node)}: only dim=1 (channels) is supported, "
                              f"got dim={dim}")

    # -- conversion ------------------------------------------------------------------------------
    def run(self):
        out_node = None
        for node in self.graph.nodes:
            if node.op == "placeholder":
                if self.input_name is not None:
                    raise ExportError("the model's forward takes more than one input "
                                      f"('{node.target}'); bisc models take one image tensor")
                self.input_name = "input"
                self.used_names.add("input")
                self.env[node] = TRef("input", len(self.input_shape))
            elif node.op == "get_attr":
                self.env[node] = self.weight(node.target, f"attribute '{node.target}'")
            elif node.op == "call_module":
                self.env[node] = self.call_module(node)
            elif node.op == "call_function":
                self.env[node] = self.call_function(node)
            elif node.op == "call_method":
                self.env[node] = self.call_method(node)
            elif node.op == "output":
                out_node = node
        return out_node

    def call_module(self, node):
        path = node.target
        m = self.model.get_submodule(path)
        x = self.tensor(node.args[0] if node.args else None, node, f"module '{path}'") \
            if not isinstance(m, nn.Identity) else self.val(node.args[0], node, path)
        if len(node.args) + len(node.kwargs) != 1:
            raise ExportError(f"module '{path}' ({type(m).__name__}) called with more than one "
                              "argument")
        what = f"module '{path}' ({type(m).__name__})"

        def nm():
            return self.unique(path)

        if isinstance(m, nn.Identity):
            return x
        if type(m) is nn.Conv2d:
            if m.padding_mode != "zeros":
                raise ExportError(f"{what}: padding_mode '{m.padding_mode}' is not supported")
            k = list(m.kernel_size)
            d = list(m.dilation)
            if isinstance(m.padding, str):
                if m.padding == "valid":
                    pads = [0, 0, 0, 0]
                else:  # 'same' (stride 1): PyTorch puts the odd extra pixel at the end
                    th, tw = d[0] * (k[0] - 1), d[1] * (k[1] - 1)
                    pads = [th // 2, tw // 2, th - th // 2, tw - tw // 2]
            else:
                ph, pw = m.padding
                pads = [ph, pw, ph, pw]
            attrs = {}
            if list(m.stride) != [1, 1]:
                attrs["stride"] = list(m.stride)
            if pads != [0, 0, 0, 0]:
                attrs["pads"] = pads
            if d != [1, 1]:
                attrs["dilation"] = d
            if m.groups != 1:
                attrs["groups"] = m.groups
            ins = [x, self.weight(f"{path}.weight", what)]
            if m.bias is not None:
                ins.append(self.weight(f"{path}.bias", what))
            return self.emit(nm(), "conv2d", ins, attrs)
        if type(m) in (nn.BatchNorm2d, nn.SyncBatchNorm):  # SyncBN is BN at inference
            if not m.affine or not m.track_running_stats or m.running_mean is None:
                raise ExportError(f"{what}: BatchNorm2d needs affine=True and running statistics")
            ins = [x] + [self.weight(f"{path}.{s}", what)
                         for s in ("weight", "bias", "running_mean", "running_var")]
            attrs = {} if m.eps == 1e-5 else {"eps": float(m.eps)}
            return self.emit(nm(), "batch_norm", ins, attrs)
        if type(m) is nn.ReLU:
            return self.emit(nm(), "relu", [x])
        if type(m) is nn.Sigmoid:
            return self.emit(nm(), "sigmoid", [x])
        if type(m) in (nn.Dropout, nn.Dropout2d):
            return self.emit(nm(), "dropout", [x], self._dropout_attrs(m.p))
        if type(m) is nn.MaxPool2d:
            if m.return_indices:
                raise ExportError(f"{what}: return_indices=True is not supported")
            return self.emit(nm(), "max_pool", [x], self._pool_attrs(
                m.kernel_size, m.stride, m.padding, m.ceil_mode, dilation=m.dilation, what=what))
        if type(m) is nn.AvgPool2d:
            if m.divisor_override is not None:
                raise ExportError(f"{what}: divisor_override is not supported")
            return self.emit(nm(), "avg_pool", [x], self._pool_attrs(
                m.kernel_size, m.stride, m.padding, m.ceil_mode,
                count_include_pad=m.count_include_pad, what=what))
        if type(m) is nn.AdaptiveAvgPool2d:
            if _pair(m.output_size, what) != [1, 1]:
                raise ExportError(f"{what}: only output_size 1 (global average pooling) is "
                                  f"supported, got {m.output_size}")
            return self.emit(nm(), "global_avg_pool", [x])
        if type(m) is nn.Upsample:
            if m.size is not None:
                raise ExportError(f"{what}: a fixed output size {m.size} is not representable; "
                                  "use scale_factor or F.interpolate(size=other.shape[2:])")
            return self._resize(nm(), x, None, m.scale_factor, m.mode, m.align_corners,
                                m.recompute_scale_factor, False, what)
        if type(m) in (nn.Softmax, nn.LogSoftmax):
            self.channel_dim(m.dim, x.rank, node, what)
            op = "softmax" if type(m) is nn.Softmax else "log_softmax"
            return self.emit(nm(), op, [x])
        raise ExportError(f"unsupported module '{path}' ({type(m).__module__}.{type(m).__name__}) "
                          "- no bisc op for it")

    @staticmethod
    def _dropout_attrs(p):
        return {} if p == 0.5 else {"p": float(p)}

    @staticmethod
    def _pool_attrs(kernel, stride, padding, ceil_mode, dilation=None, count_include_pad=None,
                    what=""):
        k = _pair(kernel, what)
        s = _pair(stride if stride not in (None, [], ()) else kernel, what)
        p = _pair(padding, what)
        attrs = {"kernel": k, "stride": s}
        if p != [0, 0]:
            attrs["pads"] = [p[0], p[1], p[0], p[1]]
        if dilation is not None and _pair(dilation, what) != [1, 1]:
            attrs["dilation"] = _pair(dilation, what)
        if ceil_mode:
            attrs["ceil_mode"] = True
        if count_include_pad is not None and not count_include_pad:
            attrs["count_include_pad"] = False
        return attrs

    def _resize(self, name, x, like, scale, mode, align_corners, recompute, antialias, what):
        if mode not in ("nearest", "bilinear"):
            raise ExportError(f"{what}: resize mode '{mode}' is not supported "
                              "(only 'nearest' and 'bilinear')")
        if antialias:
            raise ExportError(f"{what}: antialias=True is not supported")
        attrs = {"mode": mode}
        if mode == "bilinear":
            attrs["align_corners"] = bool(align_corners)
        ins = [x]
        if like is not None:
            ins.append(like)
        else:
            if scale is None:
                raise ExportError(f"{what}: resize needs a scale factor or a size")
            sc = [float(v) for v in (scale if isinstance(scale, (tuple, list)) else (scale, scale))]
            if len(sc) != 2:
                raise ExportError(f"{what}: expected 2 scale factors, got {scale!r}")
            if recompute and any(v != int(v) for v in sc):
                raise ExportError(f"{what}: recompute_scale_factor=True with a non-integer scale "
                                  "is not supported")
            attrs["scale"] = sc
        return self.emit(name, "resize", ins, attrs)

    def _like_from_size(self, size, node, what):
        """Resolve size=other.size()[2:] (or .shape[2:], or (other.size(2), other.size(3)))."""
        if isinstance(size, fx.Node):
            v = self.env[size]
            if isinstance(v, ShapeRef) and v.dims in ((2, 3), (-2, -1)):
                return v.tensor
        elif isinstance(size, (tuple, list)) and len(size) == 2:
            vals = [self.env.get(s) if isinstance(s, fx.Node) else None for s in size]
            if all(isinstance(v, ShapeRef) for v in vals) and vals[0].tensor is vals[1].tensor \
                    and (vals[0].dims, vals[1].dims) in ((2, 3), (-2, -1)):
                return vals[0].tensor
        if isinstance(size, (int, tuple, list)) and not any(isinstance(s, fx.Node) for s in
                                                            (size if isinstance(size, (tuple, list))
                                                             else [size])):
            raise ExportError(f"{what} in {self.where(node)}: resize to the fixed size {size} is "
                              "not representable; use scale_factor or size=other.shape[2:]")
        raise ExportError(f"{what} in {self.where(node)}: the output size must be the spatial size "
                          "of another tensor (size=other.size()[2:])")

    def _binary(self, node, op, what):
        a = self.tensor(self.arg(node, 0, "input"), node, what)
        b = self.tensor(self.arg(node, 1, "other"), node, what)
        if node.kwargs.get("alpha", 1) != 1:
            raise ExportError(f"{what} in {self.where(node)}: alpha != 1 is not supported")
        return self.emit(self.fn_name(node, op), op, [a, b], rank=max(a.rank, b.rank))

    def _shape_getitem(self, v, idx, node):
        dims = v.dims
        if dims is None:
            dims = tuple(range(v.tensor.rank))
        if isinstance(dims, int):
            raise ExportError(f"indexing a shape element in {self.where(node)}")
        sel = dims[idx]
        return ShapeRef(v.tensor, sel if isinstance(sel, int) else tuple(sel))

    def _gap_from_mean(self, node, x, dim, keepdim, what):
        dims = tuple(sorted(int(d) % x.rank for d in (dim if isinstance(dim, (tuple, list))
                                                      else [dim]))) if dim is not None else None
        if x.rank != 4 or dims != (2, 3) or not keepdim:
            raise ExportError(f"{what} in {self.where(node)}: only the mean over dims (2, 3) with "
                              "keepdim=True (global average pooling) is supported")
        return self.emit(self.fn_name(node, "gap"), "global_avg_pool", [x])

    def call_function(self, node):
        fn = node.target
        what = _fname(fn)
        if fn is operator.getitem:
            base = self.env.get(node.args[0]) if isinstance(node.args[0], fx.Node) else None
            if isinstance(base, ShapeRef):
                return self._shape_getitem(base, node.args[1], node)
            if isinstance(base, (tuple, list)):
                return base[node.args[1]]
            raise ExportError(f"indexing/slicing a tensor (operator.getitem) in {self.where(node)} "
                              "is not supported")
        if fn is getattr:
            base = self.tensor(node.args[0], node, what)
            if node.args[1] == "shape":
                return ShapeRef(base, None)
            raise ExportError(f"attribute '.{node.args[1]}' of a tensor in {self.where(node)} is not "
                              "supported")
        if fn in _ADD:
            return self._binary(node, "add", what)
        if fn in _MUL:
            return self._binary(node, "mul", what)
        if fn in _CAT:
            xs = self.arg(node, 0, "tensors")
            xs = [self.tensor(t, node, what) for t in xs]
            self.channel_dim(self.arg(node, 1, "dim", 0), xs[0].rank, node, what)
            return self.emit(self.fn_name(node, "cat"), "concat", xs)
        if fn in _RELU:
            return self.emit(self.fn_name(node, "relu"), "relu",
                             [self.tensor(node.args[0], node, what)])
        if fn in _SIGMOID:
            return self.emit(self.fn_name(node, "sigmoid"), "sigmoid",
                             [self.tensor(node.args[0], node, what)])
        if fn is torch.mean:
            x = self.tensor(self.arg(node, 0, "input"), node, what)
            return self._gap_from_mean(node, x, self.arg(node, 1, "dim"),
                                       self.arg(node, 2, "keepdim", False), what)
        if fn is F.adaptive_avg_pool2d:
            x = self.tensor(self.arg(node, 0, "input"), node, what)
            if _pair(self.arg(node, 1, "output_size"), what) != [1, 1]:
                raise ExportError(f"{what} in {self.where(node)}: only output_size 1 is supported")
            return self.emit(self.fn_name(node, "gap"), "global_avg_pool", [x])
        if fn in (F.max_pool2d, F.avg_pool2d):
            x = self.tensor(self.arg(node, 0, "input"), node, what)
            k = self.arg(node, 1, "kernel_size")
            s = self.arg(node, 2, "stride", None)
            p = self.arg(node, 3, "padding", 0)
            if fn is F.max_pool2d:
                if self.arg(node, 6, "return_indices", False):
                    raise ExportError(f"{what}: return_indices=True is not supported")
                attrs = self._pool_attrs(k, s, p, self.arg(node, 5, "ceil_mode", False),
                                         dilation=self.arg(node, 4, "dilation", 1), what=what)
                return self.emit(self.fn_name(node, "max_pool"), "max_pool", [x], attrs)
            if self.arg(node, 6, "divisor_override", None) is not None:
                raise ExportError(f"{what}: divisor_override is not supported")
            attrs = self._pool_attrs(k, s, p, self.arg(node, 4, "ceil_mode", False),
                                     count_include_pad=self.arg(node, 5, "count_include_pad", True),
                                     what=what)
            return self.emit(self.fn_name(node, "avg_pool"), "avg_pool", [x], attrs)
        if fn in (F.interpolate, F.upsample):
            x = self.tensor(self.arg(node, 0, "input"), node, what)
            size = self.arg(node, 1, "size")
            scale = self.arg(node, 2, "scale_factor")
            like = None
            if size is not None:
                like = self._like_from_size(size, node, what)
            where = f"{what} in {self.where(node)}"
            return self._resize(self.fn_name(node, "resize"), x, like, scale,
                                self.arg(node, 3, "mode", "nearest"),
                                self.arg(node, 4, "align_corners", None),
                                self.arg(node, 5, "recompute_scale_factor", None),
                                self.arg(node, 6, "antialias", False), where)
        if fn in (F.dropout, F.dropout2d):
            x = self.tensor(self.arg(node, 0, "input"), node, what)
            return self.emit(self.fn_name(node, "dropout"), "dropout", [x],
                             self._dropout_attrs(self.arg(node, 1, "p", 0.5)))
        if fn is torch.argmax:
            x = self.tensor(self.arg(node, 0, "input"), node, what)
            return self._argmax(node, x, self.arg(node, 1, "dim"), self.arg(node, 2, "keepdim",
                                                                             False), what)
        if fn in _SOFTMAX or fn in _LOG_SOFTMAX:
            x = self.tensor(self.arg(node, 0, "input"), node, what)
            self.channel_dim(self.arg(node, 1, "dim"), x.rank, node, what)
            op = "softmax" if fn in _SOFTMAX else "log_softmax"
            return self.emit(self.fn_name(node, op), op, [x])
        raise ExportError(f"unsupported function {what} called in {self.where(node)} "
                          "- no bisc op for it")

    def _argmax(self, node, x, dim, keepdim, what):
        self.channel_dim(dim, x.rank, node, what)
        if keepdim:
            raise ExportError(f"{what} in {self.where(node)}: keepdim=True is not supported")
        return self.emit(self.fn_name(node, "argmax"), "argmax", [x], rank=x.rank - 1)

    def call_method(self, node):
        meth = node.target
        what = f"Tensor.{meth}"
        if meth == "size":
            x = self.tensor(node.args[0], node, what)
            dim = self.arg(node, 1, "dim")
            return ShapeRef(x, None if dim is None else int(dim))
        x = self.tensor(node.args[0], node, what)
        if meth == "contiguous":
            return x
        if meth in ("relu", "relu_"):
            return self.emit(self.fn_name(node, "relu"), "relu", [x])
        if meth in ("sigmoid", "sigmoid_"):
            return self.emit(self.fn_name(node, "sigmoid"), "sigmoid", [x])
        if meth in ("add", "add_", "mul", "mul_"):
            op = meth.rstrip("_")
            b = self.tensor(self.arg(node, 1, "other"), node, what)
            if node.kwargs.get("alpha", 1) != 1:
                raise ExportError(f"{what} in {self.where(node)}: alpha != 1 is not supported")
            return self.emit(self.fn_name(node, op), op, [x, b], rank=max(x.rank, b.rank))
        if meth == "mean":
            return self._gap_from_mean(node, x, self.arg(node, 1, "dim"),
                                       self.arg(node, 2, "keepdim", False), what)
        if meth == "argmax":
            return self._argmax(node, x, self.arg(node, 1, "dim"), self.arg(node, 2, "keepdim",
                                                                             False), what)
        if meth in ("softmax", "log_softmax"):
            self.channel_dim(self.arg(node, 1, "dim"), x.rank, node, what)
            return self.emit(self.fn_name(node, meth), meth, [x])
        raise ExportError(f"unsupported tensor method {what} called in {self.where(node)} "
                          "- no bisc op for it")


# ------------------------------------------------------------------------------------------------
# export
# ------------------------------------------------------------------------------------------------

def export_graph(model, input_shape, name, training_outputs=False):
    """Trace `model` (in eval mode) and return (bisc JSON document as dict, {weight: tensor})."""
    model.eval()
    graph = trace(model)
    conv = _Converter(model, graph, input_shape)
    out_node = conv.run()
    if conv.input_name is None:
        raise ExportError("the model's forward takes no input")
    res = out_node.args[0]
    outs = list(res) if isinstance(res, (tuple, list)) else [res]
    if not outs:
        raise ExportError("the model returns nothing")
    vals = []
    for i, o in enumerate(outs):
        v = conv.env.get(o) if isinstance(o, fx.Node) else None
        if not isinstance(v, TRef):
            if i == 0 or training_outputs:
                raise ExportError(f"model output {i} is not a tensor")
            continue
        vals.append(v)
    if not training_outputs:
        vals = vals[:1]
    names = list(getattr(model, "output_names", ()) or ())
    if len(names) < len(vals):
        names = ["logits"] + [f"aux{i}" for i in range(1, len(vals))]
    outputs = []
    for i, v in enumerate(vals):
        o = {"name": names[i], "value": v.name}
        if i > 0:
            o["training_only"] = True
        outputs.append(o)

    # keep only what the outputs need
    live = bisc_graph.live_names(conv.nodes, [v.name for v in vals])
    nodes = [n for n in conv.nodes if n["name"] in live]
    weights = {}
    for n in nodes:
        for i in n["inputs"]:
            if i in conv.weights and i not in weights:
                weights[i] = conv.weights[i]
    for v in vals:  # an output that is a weight itself
        if v.name in conv.weights and v.name not in weights:
            weights[v.name] = conv.weights[v.name]
    doc = {
        "format": "bisc",
        "version": 1,
        "name": name,
        "inputs": [{"name": "input", "dtype": "f32", "shape": list(input_shape)}],
        "weights": [{"name": k, "dtype": "f32", "shape": list(t.shape)} for k, t in weights.items()],
        "nodes": nodes,
        "outputs": outputs,
    }
    return doc, weights
