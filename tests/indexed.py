"""function_app's indexed functions, shared by every test in the process.

`FunctionApp.get_functions()` may be called once per app (a second call raises), so tests that
inspect the index read it through this one cache rather than calling it themselves.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def app_functions() -> dict[str, Any]:
    """Function name -> the indexed function of function_app.app."""
    import function_app

    return {str(f.get_function_name()): f for f in function_app.app.get_functions()}
