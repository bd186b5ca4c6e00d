"""Deterministic, well-conditioned random weights (see reference-data.md).

randomize(model, seed):
  * conv weights: Kaiming normal, std = sqrt(2 / fan_in), fan_in = in/groups * kH * kW;
    conv biases ~ U(-0.2, 0.2);
  * BatchNorm: gamma ~ U(0.5, 1.5), beta ~ U(-0.2, 0.2); the last BN of every residual branch
    (named by a block's `residual_last_bn` attribute) gets gamma ~ U(0.05, 0.15);
  * then the BN running statistics are calibrated: BNs in train mode, momentum=None (cumulative
    average), CALIB_BATCHES batches of CALIB_BATCH random images whose contrast (x1/4 .. x4)
    and per-channel brightness (N(0, 1)) vary per sample.
Everything is drawn from one torch.Generator seeded with `seed`, in named_modules() order, and
the calibration runs single-threaded with only the BNs in train mode (Dropout stays off), so the
result is bit-reproducible.
"""
import math

import torch
import torch.nn as nn

CALIB_BATCHES = 4
CALIB_BATCH = 2
CALIB_SIZE = (128, 256)  # multiple of 32 (CoinCheung upsamples by fixed factors)


def _uniform(shape, lo, hi, g):
    return torch.rand(shape, generator=g, dtype=torch.float32) * (hi - lo) + lo


def calibration_batch(g, batch=CALIB_BATCH, size=CALIB_SIZE, channels=3):
    """Random images with per-sample contrast 2^U(-2,2) and per-channel brightness N(0,1)."""
    x = torch.randn((batch, channels) + tuple(size), generator=g)
    contrast = torch.pow(2.0, _uniform((batch, 1, 1, 1), -2.0, 2.0, g))
    brightness = torch.randn((batch, channels, 1, 1), generator=g)
    return x * contrast + brightness


def randomize(model, seed, calibrate=True, input_channels=3, calib_size=CALIB_SIZE):
    g = torch.Generator().manual_seed(int(seed))
    small_gamma = set()
    for name, m in model.named_modules():
        path = getattr(m, "residual_last_bn", None)
        if path:
            small_gamma.add(f"{name}.{path}" if name else path)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]
                std = math.sqrt(2.0 / fan_in)
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * std)
                if m.bias is not None:
                    m.bias.copy_(_uniform(m.bias.shape, -0.2, 0.2, g))
            elif isinstance(m, nn.BatchNorm2d):
                if m.affine:
                    lo, hi = (0.05, 0.15) if name in small_gamma else (0.5, 1.5)
                    m.weight.copy_(_uniform(m.weight.shape, lo, hi, g))
                    m.bias.copy_(_uniform(m.bias.shape, -0.2, 0.2, g))
            elif len(list(m.parameters(recurse=False))) > 0:
                raise ValueError(f"randomize: no init rule for parameters of '{name}' "
                                 f"({type(m).__name__})")
    if calibrate:
        calibrate_bn(model, g, input_channels, calib_size)
    return model


def calibrate_bn(model, g, input_channels=3, size=CALIB_SIZE):
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d) and m.track_running_stats]
    saved = [(m, m.momentum) for m in bns]
    was_training = model.training
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # fixed summation order -> reproducible statistics
    try:
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
        # only the BNs run in train mode: Dropout (and anything else mode-dependent) stays in
        # eval mode, so no global RNG is consumed
        model.eval()
        for m in bns:
            m.train()
        with torch.no_grad():
            for _ in range(CALIB_BATCHES):
                model(calibration_batch(g, CALIB_BATCH, size, input_channels))
    finally:
        for m, mom in saved:
            m.momentum = mom
        torch.set_num_threads(threads)
        model.train(was_training)
    return model


def reference_state_dict(variant, seed, n_classes=19):
    """Weights of a bundled variant: drawn on the full (training) model, so the inference
    graph and the training graph of one seed share every tensor."""
    from reference import VARIANTS
    model = VARIANTS[variant](n_classes=n_classes, aux_mode="train")
    randomize(model, seed)
    return model.state_dict()
