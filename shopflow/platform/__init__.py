"""What every component uses: settings, pools, errors, validation, metrics, caching."""
