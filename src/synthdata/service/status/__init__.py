"""The public status page: component health and open incidents, as HTML and as JSON."""
