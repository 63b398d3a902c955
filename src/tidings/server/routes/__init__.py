"""HTTP routes, one module per area. Routes parse, authorise and call one service."""
