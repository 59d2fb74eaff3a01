"""SQL of the reconciliation service, one module per aggregate, named by intent; rows become domain objects here."""
