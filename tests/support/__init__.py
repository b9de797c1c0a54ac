"""Plain helpers, types and constants the tests share; fixtures stay in the conftest files.

Test modules import from here and never from one another or from a conftest."""
