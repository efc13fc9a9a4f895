"""Event tracking: what storefront visitors did (view, click, add_to_cart, purchase, impression)."""
