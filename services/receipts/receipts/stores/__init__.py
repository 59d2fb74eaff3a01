"""SQL of the receipts service, one module per aggregate, named by intent."""
