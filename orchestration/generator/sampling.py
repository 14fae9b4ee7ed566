"""Randomness and time for the generator: seeded sub-streams, vectorized samplers, µs clocks.

Every random choice comes from a numpy Generator (PCG64) whose seed is the user's
seed plus the *name* of what is being drawn (and the chunk number where there is
one). Adding a new feature therefore adds a new stream and never shifts the draws
of an existing table: seed 42 keeps meaning the same retailer as the generator grows.

Time is carried as int64 microseconds since the Unix epoch (naive UTC), the unit
DuckDB and Arrow use for TIMESTAMP, so arrays go to the warehouse without conversion.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
EPOCH = dt.datetime(1970, 1, 1)


def to_us(instant: dt.datetime) -> int:
    """A naive UTC datetime as microseconds since the epoch."""
    return (instant - EPOCH) // dt.timedelta(microseconds=1)


class Streams:
    """Independent, named random streams derived from one seed.

    `streams.rng("online.sessions", chunk)` always returns the same Generator
    state for the same (seed, name, chunk), whatever else was drawn before.
    """

    def __init__(self, seed: int):
        # SeedSequence wants non-negative entropy; map any int onto 64 bits.
        self.seed = int(seed) % (1 << 64)

    def rng(self, name: str, *keys: int) -> np.random.Generator:
        entropy = [self.seed, zlib.crc32(name.encode()), *(int(k) for k in keys)]
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


@dataclass
class Context:
    """What every builder needs: the scale, the clock and the streams."""

    customers: int
    seed: int
    as_of: dt.datetime
    as_of_us: int
    streams: Streams
    history_days: int = 730
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def start_us(self) -> int:
        return self.as_of_us - self.history_days * DAY

    def take_ids(self, name: str, n: int) -> np.ndarray:
        """Reserve n consecutive numbers of a global sequence (orders, transactions...).

        Chunks run in a fixed order, so the numbers are deterministic.
        """
        first = self.counters.get(name, 0)
        self.counters[name] = first + n
        return np.arange(first, first + n, dtype=np.int64)


class BlockSampler:
    """Weighted sampling from many small categorical distributions at once.

    Each block is one distribution (the first names of a country, the products of
    a category...). `sample(rng, blocks)` draws one item per row from the block
    named in that row, as global indices into the concatenated items, with one
    `searchsorted`: block k occupies the interval (k, k+1] of a single cumulative
    array, so `k + u` falls inside block k.
    """

    def __init__(self, weights_per_block: list[np.ndarray]):
        cums, offsets, position = [], [], 0
        for k, weights in enumerate(weights_per_block):
            w = np.asarray(weights, dtype=np.float64)
            if len(w) == 0 or w.sum() <= 0:
                raise ValueError(f"block {k} has no weight to sample from")
            c = np.cumsum(w) / w.sum()
            c[-1] = 1.0
            cums.append(k + c)
            offsets.append(position)
            position += len(w)
        self.cum = np.concatenate(cums)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.size = position

    def sample(self, rng: np.random.Generator, blocks: np.ndarray) -> np.ndarray:
        blocks = np.asarray(blocks, dtype=np.float64)
        target = blocks + rng.random(len(blocks))
        return np.minimum(np.searchsorted(self.cum, target, side="right"), self.size - 1)


def recent_times(rng: np.random.Generator, lo: np.ndarray | int, hi: np.ndarray | int, n: int, power: float):
    """Instants in [lo, hi] with density rising towards hi (power > 1: more recent activity)."""
    u = rng.random(n) ** (1.0 / power)
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    return lo + ((hi - lo).astype(np.float64) * u).astype(np.int64)


def uuids(rng: np.random.Generator, n: int) -> pa.StringArray:
    """n random version-4 UUID strings, built as bytes in numpy (no Python per row)."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexchars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    digits = np.empty((n, 32), dtype=np.uint8)
    digits[:, 0::2] = hexchars[raw >> 4]
    digits[:, 1::2] = hexchars[raw & 15]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for src, dst in (((0, 8), (0, 8)), ((8, 12), (9, 13)), ((12, 16), (14, 18)), ((16, 20), (19, 23))):
        out[:, dst[0] : dst[1]] = digits[:, src[0] : src[1]]
    out[:, 24:36] = digits[:, 20:32]
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out))


def group_rank(groups: np.ndarray) -> np.ndarray:
    """Position of each row within its run of equal, adjacent group values (0, 1, 2...)."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.ones(n, dtype=bool)
    starts[1:] = groups[1:] != groups[:-1]
    start_index = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return np.arange(n) - start_index


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-parent counts, the parent of each child row and the child's position in its parent."""
    counts = np.asarray(counts, dtype=np.int64)
    parent = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return parent, np.arange(len(parent)) - first[parent]


def timestamps(us: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """int64 µs → Arrow TIMESTAMP(us) with nulls where not valid."""
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.array(np.asarray(us, dtype=np.int64), type=pa.timestamp("us"), mask=mask)


def take_strings(values: pa.Array, index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """values[index] as an Arrow array, null where not valid (index may be -1 there)."""
    index = np.asarray(index, dtype=np.int64)
    if valid is None:
        return values.take(pa.array(index))
    return values.take(pa.array(np.where(valid, index, 0), mask=~np.asarray(valid, dtype=bool)))


def labels(values, index: np.ndarray, valid: np.ndarray | None = None) -> pa.DictionaryArray:
    """values[index] as a zero-copy Arrow dictionary array (DuckDB reads it as VARCHAR).

    For small vocabularies (event names, product ids, currencies): far cheaper
    than materializing millions of strings.
    """
    dictionary = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string())
    index = np.asarray(index)
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    if mask is not None:
        index = np.where(mask, 0, index)
    return pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32), mask=mask), dictionary)


def nullable(values: np.ndarray, valid: np.ndarray, type: pa.DataType | None = None) -> pa.Array:
    return pa.array(values, type=type, mask=~np.asarray(valid, dtype=bool))
