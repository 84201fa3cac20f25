"""Re-make the imagery subsets of tests/data from the full training data (README.md, *Train your own cloud model*).

    .venv/bin/python tests/data/make_subsets.py /path/to/cloud-data   # the folder training.cloud --data reads

Copies nothing else: the recorded catalogue answers under catalogue/ are the original files, unchanged.
"""
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ONCLOUDN_CHIPS = [0, 1]  # chip_id_1 and chip_id_2
BIOME_PATCHES = ["Forest_01_2715", "GrassCrops_09_2014"]


def subset(source: Path, target: Path, rows) -> None:
    """Every per-item array of source (first axis = the items) cut to rows; the other keys kept as they are."""
    with np.load(source) as archive:
        count = len(archive["chip_names"])
        arrays = {key: (archive[key][rows] if archive[key].ndim and archive[key].shape[0] == count else archive[key])
                  for key in archive.files}
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(target, **arrays)


def main(shared_data: Path) -> None:
    subset(shared_data / "oncloudn" / "oncloudn_5chips.npz", HERE / "imagery" / "oncloudn" / "oncloudn_2chips.npz",
           ONCLOUDN_CHIPS)
    with np.load(shared_data / "l8biome" / "l8biome_lkpeng.npz") as archive:
        names = [str(name) for name in archive["chip_names"]]
    subset(shared_data / "l8biome" / "l8biome_lkpeng.npz", HERE / "imagery" / "l8biome" / "l8biome_2patches.npz",
           [names.index(name) for name in BIOME_PATCHES])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
