"""The reporting service\x27s SQL, one module per concern, with intent names."""
