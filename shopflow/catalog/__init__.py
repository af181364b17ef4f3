"""The product catalog: categories, products, variants and stock per SKU."""
