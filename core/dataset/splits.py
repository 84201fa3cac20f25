"""Spatially blocked train/validation/test splits in which no two neighbouring chips differ.

1. Blocks: a square grid of ``block_size_m`` (in each chip's own CRS, anchored at its origin). A chip
   belongs to the block holding its centre, so a chip overlapping several blocks takes one block's split.
2. The occupied blocks, in a fixed order shuffled by ``seed``, go one by one to the split furthest below
   its share of the chips (relative to that share): the same chips and seed always give the same splits,
   and every split with a share gets a block as soon as there are enough blocks.
3. Neighbours: two chips that overlap or touch (share an edge or a corner) are neighbours; chips in
   different CRSs are compared by their longitude/latitude boxes, with a small margin. Where
   neighbours fall in different splits, chips are dropped in the order train, validation, test: a
   train chip touching a chip of another split is dropped, then a validation chip touching a test chip.
   Test chips are never dropped, and afterwards no two chips of different splits touch.
"""
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Sequence, Set, Tuple

import numpy as np

from ..util.errors import LabelMigrationError

SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)
_LONLAT_MARGIN = 1e-5   # degrees (about 1 m): boxes from different CRSs this close count as touching
_LONLAT_CELL = 0.05     # degrees: the cells that find candidate neighbours across CRSs

Box = Tuple[float, float, float, float]  # minx, miny, maxx, maxy


@dataclass(frozen=True)
class ChipPlace:
    crs: str                # the chip's CRS (any text naming it; equal text = same CRS)
    bounds: Box             # in that CRS
    lonlat: Box             # the chip's longitude/latitude box
    metres_per_unit: float = 1.0  # the CRS's unit in metres (1 for projected CRSs in metres)


@dataclass
class SplitResult:
    splits: Dict[int, str]           # chip index -> split, for the chips kept
    dropped: Set[int]                # chips dropped because a neighbour fell in another split
    blocks: Dict[str, int]           # split -> number of blocks


def check_fractions(fractions: Sequence[float]) -> Tuple[float, ...]:
    """The three shares normalised to sum 1; refused when negative or all zero."""
    if len(fractions) != 3 or any(f < 0 or not math.isfinite(f) for f in fractions) or sum(fractions) <= 0:
        raise LabelMigrationError(f"The split shares {list(fractions)} must be three numbers (train, validation, "
                                  f"test), none negative, not all zero.")
    total = float(sum(fractions))
    return tuple(f / total for f in fractions)


def assign_splits(places: Sequence[ChipPlace], block_size_m: float, fractions: Sequence[float] = DEFAULT_FRACTIONS,
                  seed: int = 0) -> SplitResult:
    """See the module doc."""
    if not block_size_m > 0:
        raise LabelMigrationError(f"The block size must be more than 0 m (not {block_size_m}).")
    shares = check_fractions(fractions)
    chip_blocks = [_block_of(place, block_size_m) for place in places]
    members: Dict[tuple, List[int]] = defaultdict(list)
    for index, block in enumerate(chip_blocks):
        members[block].append(index)
    order = sorted(members)
    order = [order[i] for i in np.random.default_rng(seed).permutation(len(order))]
    counts = [0, 0, 0]
    targets = [share * len(places) for share in shares]
    block_split: Dict[tuple, int] = {}
    blocks = {name: 0 for name in SPLITS}
    for block in order:
        choice = max((i for i in range(3) if shares[i] > 0), key=lambda i: ((targets[i] - counts[i]) / targets[i], -i))
        block_split[block] = choice
        counts[choice] += len(members[block])
        blocks[SPLITS[choice]] += 1
    split_of = [block_split[block] for block in chip_blocks]
    dropped = _drop_conflicts(places, split_of)
    return SplitResult({i: SPLITS[s] for i, s in enumerate(split_of) if i not in dropped}, dropped, blocks)


def _block_of(place: ChipPlace, block_size_m: float) -> tuple:
    size = block_size_m / place.metres_per_unit
    minx, miny, maxx, maxy = place.bounds
    return place.crs, math.floor((minx + maxx) / 2 / size), math.floor((miny + maxy) / 2 / size)


def neighbour_pairs(places: Sequence[ChipPlace]) -> Iterable[Tuple[int, int]]:
    """Every pair (i < j) of chips that overlap or touch; see the module doc."""
    found: Set[Tuple[int, int]] = set()
    by_crs: Dict[str, List[int]] = defaultdict(list)
    for index, place in enumerate(places):
        by_crs[place.crs].append(index)
    for indexes in by_crs.values():
        width = max(max(places[i].bounds[2] - places[i].bounds[0], places[i].bounds[3] - places[i].bounds[1])
                    for i in indexes) or 1.0
        tolerance = width * 1e-9
        found |= _touching([(i, places[i].bounds) for i in indexes], width, tolerance)
    if len(by_crs) > 1:
        for i, j in _touching([(i, p.lonlat) for i, p in enumerate(places)], _LONLAT_CELL, _LONLAT_MARGIN):
            if places[i].crs != places[j].crs:
                found.add((i, j))
    return sorted(found)


def _touching(boxes: List[Tuple[int, Box]], cell: float, tolerance: float) -> Set[Tuple[int, int]]:
    grid: Dict[Tuple[int, int], List[int]] = defaultdict(list)
    lookup = dict(boxes)
    for index, (minx, miny, maxx, maxy) in boxes:
        for cx in range(math.floor((minx - tolerance) / cell), math.floor((maxx + tolerance) / cell) + 1):
            for cy in range(math.floor((miny - tolerance) / cell), math.floor((maxy + tolerance) / cell) + 1):
                grid[cx, cy].append(index)
    found: Set[Tuple[int, int]] = set()
    for members in grid.values():
        for a_pos, a in enumerate(members):
            for b in members[a_pos + 1:]:
                if a != b and boxes_touch(lookup[a], lookup[b], tolerance):
                    found.add((min(a, b), max(a, b)))
    return found


def boxes_touch(first: Box, second: Box, tolerance: float = 0.0) -> bool:
    """Whether two boxes overlap or touch (an edge or a corner in common), within tolerance."""
    return (first[0] <= second[2] + tolerance and second[0] <= first[2] + tolerance
            and first[1] <= second[3] + tolerance and second[1] <= first[3] + tolerance)


def _drop_conflicts(places: Sequence[ChipPlace], split_of: List[int]) -> Set[int]:
    neighbours: Dict[int, Set[int]] = defaultdict(set)
    for i, j in neighbour_pairs(places):
        if split_of[i] != split_of[j]:
            neighbours[i].add(j)
            neighbours[j].add(i)
    dropped: Set[int] = set()
    for index in sorted(neighbours, key=lambda i: (split_of[i], i)):  # train first, then validation
        if any(other not in dropped and split_of[other] != split_of[index] for other in neighbours[index]):
            dropped.add(index)
    return dropped
