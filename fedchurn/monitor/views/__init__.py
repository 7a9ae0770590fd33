"""Page bodies: each `render(store)` lays out one dashboard page from the store's state."""
