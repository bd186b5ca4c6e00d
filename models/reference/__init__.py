"""PyTorch reference definitions of the BiSeNet variants bundled with bisc.

Written from docs/bisenet-architecture.md (shared docs), not copied from the public
repositories; the module and parameter names reproduce the public state_dict keys so
that their checkpoints load without renaming.
"""

from reference.bisenetv1 import bisenetv1_resnet18, bisenetv1_resnet101, bisenetv1_xception39
from reference.bisenetv2 import bisenetv2, bisenetv2_large

# short name -> factory(n_classes=19, aux_mode='eval'|'train'|'pred')
VARIANTS = {
    "bisenetv1_xception39": bisenetv1_xception39,
    "bisenetv1_resnet18": bisenetv1_resnet18,
    "bisenetv1_resnet101": bisenetv1_resnet101,
    "bisenetv2": bisenetv2,
    "bisenetv2_large": bisenetv2_large,
}
