#!/usr/bin/python3
"""Regenerate the deterministic reference weights of the bundled models.

On request (--update-json) also the committed graphs models/VARIANT.json.

    python3 models/make_bundled.py --out DIR [--variants a,b] [--update-json]

For every variant this runs the equivalent of

    python3 models/export.py --model VARIANT --input-shape 1x3x512x1024 --training-outputs \
        --random-seed 0 -o DIR/VARIANT

which writes DIR/VARIANT.json and DIR/VARIANT.safetensors: the weights models/golden/*.logits.npy
were computed with (about 370 MB for all five, so they are never committed; the tests write them
into the build directory). The graph does not depend on the weights; `--update-json` also copies
DIR/VARIANT.json over models/VARIANT.json (only when the reference definitions change).
"""
import argparse
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import export  # noqa: E402
from reference import VARIANTS  # noqa: E402

INPUT_SHAPE = [1, 3, 512, 1024]
SEED = 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, metavar="DIR",
                   help="where VARIANT.json and VARIANT.safetensors go (e.g. the build directory)")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--update-json", action="store_true",
                   help="also copy the exported graphs over models/VARIANT.json")
    a = p.parse_args(argv)
    for v in a.variants.split(","):
        if v not in VARIANTS:
            p.error(f"unknown variant '{v}' (variants: {', '.join(VARIANTS)})")
        prefix = os.path.join(a.out, v)
        doc, _ = export.export(v, INPUT_SHAPE, prefix, seed=SEED, training_outputs=True)
        print(f"wrote {prefix}.json and .safetensors ({len(doc['nodes'])} nodes)")
        if a.update_json:
            shutil.copyfile(prefix + ".json", os.path.join(HERE, v + ".json"))
            print(f"wrote models/{v}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
