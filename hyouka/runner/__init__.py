"""The runner: variants × cases × samples, concurrent, cached, resumable."""
