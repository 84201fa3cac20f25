"""trainsegmentation's core: a multi-class U-Net trained from an exported dataset (core.dataset) in a separate
process, exported to ONNX with Deepness-compatible metadata and a model card. Only network, trainer, worker and
onnx_export import PyTorch; the plugin imports runner (which starts the training process) and never them."""
