"""Shadow instances: per-application forecasters, their registry and the accuracy feedback loop."""
