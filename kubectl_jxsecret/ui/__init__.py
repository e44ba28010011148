"""kubectl jxsecret ui: the local web view (server, live state, page model, static page)."""
