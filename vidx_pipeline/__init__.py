"""vidx-pipeline: operational weather-model archives as virtual Icechunk datasets."""
