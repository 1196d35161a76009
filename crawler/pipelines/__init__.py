"""Item pipelines: extraction (HTML -> article record), then storage (-> archive)."""
