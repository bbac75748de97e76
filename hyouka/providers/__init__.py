"""Model providers and the one layer that calls them.

- :mod:`base`: the contract (one async ``generate``); :mod:`builtin`: the built-in types;
  :mod:`openai_compat`, :mod:`anthropic`, :mod:`llamacpp`, :mod:`python_app`, :mod:`echo`;
  :mod:`http`: the HTTP transport;
- :mod:`pool`: providers built from the config, each under its limits, shared by a run;
- :mod:`limits`: rate limits and calls in flight that adapt to 429s; :mod:`governed`: a
  provider under them, with the per-call timeout;
- :mod:`calls`: the retry loop and the stored row of a call.
"""
