"""The sample retailer behind `segue generate`: realistic, messy raw data plus the truth about it.

See README.md in this folder for what the data holds and where the mess is.
"""

from orchestration.generator.pipeline import CHUNK_SIZE, GENERATOR_VERSION, generate

__all__ = ["CHUNK_SIZE", "GENERATOR_VERSION", "generate"]
