"""``hyouka import``: outputs produced elsewhere as runs of external variants (docs/import.md).

- :mod:`hyouka.imports.rows`: the generic row (the interchange format) and its checks;
- :mod:`hyouka.imports.formats`: the readers (generic JSONL/CSV, promptfoo, Inspect AI);
- :mod:`hyouka.imports.importer`: matching cases and storing it all in one transaction.
"""
