"""Local servers that speak the external providers' published APIs."""
