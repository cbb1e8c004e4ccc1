"""Models: the manifest of known models and assets, and fetching them into the cache."""
