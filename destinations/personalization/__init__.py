"""The personalization API: an on-site profile store, its HTTP service and its destination."""
