"""Turn model records into table columns and cells, one module per domain.

Shared by the TUI tables and `opsdash snapshot`, so both show the same thing.
Rich only (no Textual); every untrusted value goes through `literal()`. Callers
import the domain module they need (`opsdash.views.containers`, ...): nothing is
re-exported here, so a new source's renderers are one new module, not an edit here.
"""
