"""SQL of the invoicing service, one module per aggregate, named by intent."""
