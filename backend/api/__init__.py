"""HTTP handlers of the platform: they validate, delegate to the catalogue and answer JSON."""
