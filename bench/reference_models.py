"""The PyTorch reference of a bundled variant with its deterministic weights (seed 0): the one
network every engine of bench/run times."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models"))


def reference_model(variant):
    import export
    from reference import VARIANTS
    from reference.weights import reference_state_dict
    model = VARIANTS[variant](n_classes=19, aux_mode="eval")
    export.load_weights(model, reference_state_dict(variant, 0), "reference weights")
    return model.eval()
