"""Customer accounts: profile and preferences, the address book, wishlists, order history
and the dashboard, data export and erasure. Sign-in, passwords and sessions stay auth's:
this component calls auth's interface for them."""
