"""Japanese-aware text handling: normalisation and tokenisation."""
