"""Built-in jobs, one module each; function_app.py adds each one's timer with `add_timer`."""
