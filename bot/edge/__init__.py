"""What every HTTP handler shares: the gateway context built once per process, reading
requests, WebSocket helpers, rate limits and the call directory."""
