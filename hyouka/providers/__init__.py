"""Model providers: one async ``generate`` method each."""
