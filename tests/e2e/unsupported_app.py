"""An app with a binding the local host does not support: it must refuse to start."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp()


@app.blob_trigger(arg_name="blob", path="inbox/{name}", connection="AzureWebJobsStorage")
def on_blob(blob: func.InputStream) -> None:
    """Never runs."""
