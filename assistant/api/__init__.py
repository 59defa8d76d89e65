"""The assistant as a service: the HTTP routes (OpenAI-compatible chat, search, ask) and the MCP server, over the
same pipeline, store and queue as the page. Nothing here imports gradio: `ui.serve` mounts the page beside them."""
