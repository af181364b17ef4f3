"""The storefront: server-rendered pages over the components' interfaces, never their SQL."""
