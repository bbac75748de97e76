"""Live experiments: variants in front of real users, assigned by hash, measured honestly.

- :mod:`.spec`: the ``experiments:`` section of hyouka.yaml;
- :mod:`.allocation`: buckets, the hash and the sticky re-weighting rule (stdlib only: the
  client imports it);
- :mod:`.queries`: the tables' reads and writes; :mod:`.stats`: clustered estimates, the
  sequential tests and the sample-ratio check; :mod:`.analysis`: the live report.

docs/experiments.md explains the whole; docs/design/0010-live-experiments.md the choices.
"""
