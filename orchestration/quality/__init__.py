"""Data quality: expectation suites (expectations/) and how they run against the warehouse."""
