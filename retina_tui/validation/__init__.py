"""Pure checks of what people type: image references, capability names, object names."""
