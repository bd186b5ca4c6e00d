"""The two files of a bisc model as models/export.py writes them: diff-friendly JSON and
F32 safetensors (plus a reader for the tests)."""
import json
import struct

import torch


def dumps_json(doc):
    """Stable, diff-friendly JSON: one weight / node / output per line."""
    def one(x):
        return json.dumps(x, separators=(", ", ": "))
    lines = ["{"]
    keys = list(doc.keys())
    for ki, k in enumerate(keys):
        v = doc[k]
        comma = "," if ki + 1 < len(keys) else ""
        if isinstance(v, list) and v:
            lines.append(f"  {json.dumps(k)}: [")
            for i, e in enumerate(v):
                lines.append("    " + one(e) + ("," if i + 1 < len(v) else ""))
            lines.append("  ]" + comma)
        else:
            lines.append(f"  {json.dumps(k)}: {one(v)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def safetensors_bytes(tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, off = [], 0
    for k, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)  # pad so the data section is 8-byte aligned
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def read_safetensors(path):
    """Read a F32 safetensors file into {name: torch.Tensor}."""
    import numpy as np
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for k, e in header.items():
        if k == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise ValueError(f"{k}: dtype {e['dtype']} not supported")
        b, en = e["data_offsets"]
        arr = np.frombuffer(data[b:en], dtype="<f4").reshape(e["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out
