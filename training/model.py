"""The cloud model's network: the project's U-Net, whose one home is core/segmentation_training/network.py
(trainsegmentation trains multi-class models with it too)."""
try:
    from ..core.segmentation_training.network import (SHAPE_PAIRS, CloudUNet, DecoderStep, SpectralShape,  # noqa: F401
                                                      conv_bn, parameter_count)
except ImportError:  # run as ``python -m training.cloud``: training and core are top-level packages side by side
    from core.segmentation_training.network import (SHAPE_PAIRS, CloudUNet, DecoderStep, SpectralShape,  # noqa: F401
                                                    conv_bn, parameter_count)
