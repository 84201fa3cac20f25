"""trainsegmentation's settings (no PyTorch: the plugin reads them; the training process gets them as JSON)."""
from dataclasses import dataclass
from typing import Tuple


@dataclass
class TrainingOptions:
    epochs: int = 30
    batch_size: int = 8
    learning_rate: float = 0.003
    patch_size: int = 0                  # pixels; 0: whole chips
    seed: int = 0
    widths: Tuple[int, ...] = (16, 32, 64, 128)  # the U-Net's encoder widths
    threads: int = 0                     # PyTorch's CPU threads; 0: its default
