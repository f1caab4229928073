"""Web layer: route handlers, one module per screen. Handlers parse, resolve, call one service, render."""
