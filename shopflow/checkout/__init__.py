"""Carts, checkout, stock reservations, orders and payments."""
