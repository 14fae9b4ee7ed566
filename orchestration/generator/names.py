"""First and last names by country, taken once from Faker's locale person providers.

Faker is never called per row: its name lists (with their frequency weights
where the locale has them) are concatenated into one array per kind, and numpy
draws indices by the person's country through a BlockSampler.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa

from orchestration.generator.geography import NAME_LOCALES
from orchestration.generator.sampling import BlockSampler


@dataclass(frozen=True)
class NamePool:
    """All names of one kind for every country, and a sampler by country index."""

    names: pa.StringArray
    sampler: BlockSampler

    def sample(self, rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
        return self.sampler.sample(rng, country)


def _names_and_weights(values) -> tuple[list[str], np.ndarray]:
    if isinstance(values, dict):
        names = [str(k).strip() for k in values]
        weights = np.array([float(v) for v in values.values()])
    else:
        names = [str(v).strip() for v in values]
        weights = np.ones(len(names))
    return names, weights


@cache
def name_pools() -> tuple[NamePool, NamePool]:
    """(first names, last names) for the countries of geography.COUNTRIES, in that order."""
    pools = []
    for attribute in ("first_names", "last_names"):
        all_names: list[str] = []
        blocks = []
        for locale in NAME_LOCALES:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
            names, weights = _names_and_weights(getattr(provider, attribute))
            all_names.extend(names)
            blocks.append(weights)
        pools.append(NamePool(pa.array(all_names, type=pa.string()), BlockSampler(blocks)))
    return pools[0], pools[1]
