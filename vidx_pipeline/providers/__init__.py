"""Provider quirks: how each producer writes its index text and lays out its files."""
