"""ShopFlow: an e-commerce backend in one async Python process."""

__version__ = "0.1.0"
