"""The app's pages beside the playground (Gradio multipage routes), each a ``build(demo)`` called inside
``demo.route(...)`` by ``ui.build_app``."""
